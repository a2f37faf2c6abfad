// The flatlib book: small changes to the rendered pages (docs/_ext/flatlib_book.py does the rest).
document.addEventListener("DOMContentLoaded", () => {
  // Every figure opens at full size on click.
  document.querySelectorAll("article img").forEach((img) => {
    if (img.closest("a")) return;
    const link = document.createElement("a");
    link.href = img.getAttribute("src");
    link.className = "flatlib-zoom";
    link.title = "Open the figure at full size";
    img.replaceWith(link);
    link.appendChild(img);
  });

  // Long dotted names (flatlib.problems.matrix_factorization) may break after ".", "/" or
  // "_", and nowhere else: a <wbr> after each.
  const selectors = "article h1, article code.literal, nav.bd-links a, .bd-toc-nav a, dt.sig";
  document.querySelectorAll(selectors).forEach((el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) texts.push(walker.currentNode);
    texts.forEach((node) => {
      const s = node.textContent;
      if (s.length < 16 || !/[A-Za-z0-9][._/][A-Za-z0-9]/.test(s)) return;
      const parts = s.split(/(?<=[A-Za-z0-9][._/])(?=[A-Za-z0-9])/);
      if (parts.length < 2) return;
      const frag = document.createDocumentFragment();
      parts.forEach((part, i) => {
        if (i) frag.appendChild(document.createElement("wbr"));
        frag.appendChild(document.createTextNode(part));
      });
      node.replaceWith(frag);
    });
  });
});
