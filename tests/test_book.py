"""The book (``make book``): built with warnings as errors, cross-linked, and read in a browser.

The build (Sphinx + myst-nb + numpydoc, ``docs/``) runs with ``-W --keep-going``, so a
broken reference fails it. ``make test`` builds it first; here the build is reused when it
is newer than every source, and rebuilt otherwise.

Static checks on the HTML: one page per notebook in order, every figure of every notebook
present, each notebook's "flatlib functions used" links resolving to API pages that link
back, every public function or class page carrying its runnable example.

Browser check: headless Chromium (Debian's ``chromium``), driven over the DevTools protocol
(``tests/browser_check.py``), opens the landing page, a notebook page and an API page from a
local ``http.server`` on 127.0.0.1. Each page: every ``<img>`` loaded (``naturalWidth > 0``),
as many as the sources have; no JavaScript exception, console error or failed load. Math:
MathJax 3 is served from the ``sphinx-mathjax-offline`` package (copied into
``_static/mathjax``); the browser resolves no host but 127.0.0.1 and the test asserts that
every request went to the local server, that MathJax typeset the math (``mjx-container``
elements, no ``mjx-merror``), and that no ``$`` of unrendered TeX is left in the prose.
Screenshots go to ``build/book-screenshots/``. Without Chromium the browser test is
skipped with that reason (under ``CI`` it fails instead: ``.ci/run`` installs Chromium).
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="docs extra not installed: pip install -e '.[docs]'")
pytest.importorskip("myst_nb", reason="docs extra not installed: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "build" / "book"
SHOTS = ROOT / "build" / "book-screenshots"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
BUILD = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(ROOT / "build" / "book-doctrees"), str(ROOT / "docs"), str(BOOK)]

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import flatlib_book  # noqa: E402  (the scan under test)

BUILD_LOCK = threading.Lock()


def _sources():
    yield ROOT / "README.md"
    for pattern in ("docs/*.py", "docs/*.md", "docs/_ext/*.py", "docs/_templates/**/*", "docs/_static/*",
                    "notebooks/*.ipynb", "notebooks/*.md", "flatlib/**/*.py", "figures/*.png",
                    "CONTRIBUTING.md"):
        yield from ROOT.glob(pattern)


def _book_is_current():
    stamp = BOOK / ".buildinfo"
    if not stamp.exists() or not (BOOK / "_static" / "mathjax" / "tex-chtml.js").exists():
        return False
    built = stamp.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in _sources() if p.is_file())


@pytest.fixture(scope="session")
def book():
    """build/book, (re)built with warnings as errors unless newer than every source."""
    with BUILD_LOCK:
        # FLATLIB_BOOK_REUSE=1: test build/book as it is (when iterating on the tests themselves)
        reuse = os.environ.get("FLATLIB_BOOK_REUSE") == "1" and (BOOK / "index.html").exists()
        if not reuse and not _book_is_current():
            proc = subprocess.run(BUILD, cwd=ROOT, capture_output=True, text=True, timeout=900)
            assert proc.returncode == 0, (
                "the book does not build with warnings as errors (make book):\n"
                + (proc.stderr or proc.stdout)[-6000:])
    return BOOK


def _links(html_path):
    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs = []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.hrefs.append(dict(attrs).get("href") or "")

    p = P()
    p.feed(html_path.read_text(encoding="utf-8"))
    return p.hrefs


def _target(page, href):
    """The local file a relative link of ``page`` points to (None for external or anchors)."""
    if not href or href.startswith(("#", "http:", "https:", "mailto:")):
        return None
    return (page.parent / href.split("#", 1)[0]).resolve()


def _box_links(html_path):
    """hrefs inside the "flatlib functions used" box of a notebook page."""
    text = html_path.read_text(encoding="utf-8")
    m = re.search(r'<div class="[^"]*flatlib-functions-used[^"]*">(.*?)</div>', text, re.S)
    return [] if m is None else re.findall(r'href="([^"]+)"', m.group(1))


def _used_in_links(html_path):
    """hrefs of the "Used in the notebooks" list of an API page."""
    text = html_path.read_text(encoding="utf-8")
    m = re.search(r"Used in the notebooks</p>\s*<ul[^>]*>(.*?)</ul>", text, re.S)
    return [] if m is None else re.findall(r'href="([^"]+)"', m.group(1))


# --------------------------------------------------------------------------- the scan
def _notebook(tmp_path, *cells):
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": src} for src in cells] + [{"cell_type": "markdown", "metadata": {},
                                                           "source": "fl.level_distance in prose"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_scan_resolves_aliases_imports_and_reexports(tmp_path):
    nb = _notebook(tmp_path,
                   "import numpy as np\nimport flatlib as fl\n%matplotlib inline\n",
                   "from flatlib.flows import gradient_flow as gf, gradient_descent\n"
                   "from flatlib import problems\n",
                   "v = fl.max_variation(f, x, 0.1).value\nres = gf(f, x0)\n"
                   "p = problems.ScalarFactorization()\nq = fl.Quadratic(np.eye(2))\n")
    assert flatlib_book.notebook_uses(nb) == [   # in the order of first use
        "flatlib.profiles.max_variation",       # re-export resolved to where it is defined
        "flatlib.flows.gradient_flow",          # used under its alias gf
        "flatlib.problems.scalar.ScalarFactorization",   # through the subpackage
        "flatlib.quadratic.Quadratic",
    ]  # gradient_descent is imported but never called; markdown cells are not code


def test_scan_ignores_a_local_variable_shadowing_nothing(tmp_path):
    # "fl" is a flow result here, not the package: its attributes are not flatlib functions
    nb = _notebook(tmp_path, "from flatlib.flows import gradient_flow\nfl = gradient_flow(f, x)\n"
                             "fl.x_final, fl.f_values\n")
    assert flatlib_book.notebook_uses(nb) == ["flatlib.flows.gradient_flow"]


# --------------------------------------------------------------------------- the reader's view
def test_fold_a_cell_that_only_plots():
    # catches: plotting code left in view (names bound by plotting calls, loops over axes)
    src = ("fig, axes = plt.subplots(1, 2)\nt = np.linspace(0, 1, 50)\n"
           "for ax, k in zip(axes, (1, 2)):\n    ax.plot(t, t ** k)\n    ax.set_title(f'k = {k}')\n"
           "show(fig, '01_x')\n")
    assert flatlib_book.classify_cell(src, used_later=set(), library={"max_variation"}) == (0, ("plotting",))


def test_fold_only_the_checks_after_the_call_into_flatlib():
    # catches: folding the call into flatlib, or leaving the checks in view
    src = ("res = max_variation(f, x, 0.1)\nvals = [res.value]\n"
           "print(f'{res.value:.4f}')\n# checks: the closed form\nassert abs(res.value - 0.1) < 1e-9\n"
           "for v in vals:\n    assert v > 0\n")
    split, kinds = flatlib_book.classify_cell(src, used_later=set(), library={"max_variation"})
    # vals only feeds the checks: it is folded with them
    assert src.splitlines()[split] == "vals = [res.value]" and kinds == ("checks", "printing")
    split, _ = flatlib_book.classify_cell(src, used_later={"vals"}, library={"max_variation"})
    assert src.splitlines()[split] == "print(f'{res.value:.4f}')"


def test_never_fold_a_flatlib_call_or_a_value_used_later():
    # catches: a call into flatlib hidden inside a print, or an assignment a later cell reads
    lib = {"max_variation"}
    assert flatlib_book.classify_cell("print(max_variation(f, x, 0.1).value)\nassert True\n",
                                      library=lib) == (1, ("checks",))   # the print stays in view
    # g is read by a later cell: it stays in view (and so does everything above it)
    assert flatlib_book.classify_cell("fig, ax = plt.subplots()\ng = np.ones(3)\nax.plot(g)\n",
                                      used_later={"g"}, library=lib) == (2, ("plotting",))
    assert flatlib_book.classify_cell("fig, ax = plt.subplots()\ng = np.ones(3)\nax.plot(g)\n",
                                      library=lib) == (0, ("plotting",))
    # a cell that only prints stays as written (there is nothing to fold but the printing)
    assert flatlib_book.classify_cell("print(1)\n", library=lib) == (None, ())


def test_free_names_respect_comprehensions_loops_and_order():
    free, bound = flatlib_book.free_names("y = [p for p in pts]\nfor k in range(3):\n"
                                          "    lo, hi = k, k\n    print(lo, hi, z)\nw = y\n")
    assert free == {"pts", "range", "print", "z"} and {"y", "k", "lo", "hi", "w"} <= bound


_TAU = """Kendall tau with the gap over 12 nets  [bootstrap 95% interval]
measure              raw, error gap    balanced, error gap
fcirc_r1       +0.43 [+0.08, +0.78]   -0.03 [-0.43, +0.40]
-fbar          -0.06 [-0.64, +0.40]   +0.12 [-0.41, +0.54]
lambda_max     +0.52 [+0.13, +0.87]   +0.18 [-0.27, +0.63]
"""


def test_printed_table_with_spaces_inside_cells_and_a_title_line():
    # catches: an interval split at its inner spaces, a title taken for the header
    pieces = flatlib_book.split_printed_tables(_TAU)
    assert [k for k, _ in pieces] == ["text", "table"]
    assert pieces[0][1].startswith("Kendall tau")
    header, rows = pieces[1][1]
    assert header == ["measure", "raw, error gap", "balanced, error gap"]
    assert rows[0] == ["fcirc_r1", "+0.43 [+0.08, +0.78]", "-0.03 [-0.43, +0.40]"]
    assert len(rows) == 3


def test_printed_table_single_space_header_and_single_space_columns():
    # 01's table (header words one space apart) and 03's (numbers one space apart)
    header, rows = flatlib_book.parse_text_table([
        "       minimum lambda_max    f°(x,r)",
        "        (1, 1)   2.000000   0.074037",
        "      (2, 0.5)   4.250000   0.141892"])
    assert header == ["minimum", "lambda_max", "f°(x,r)"] and rows[1] == ["(2, 0.5)", "4.250000", "0.141892"]
    header, rows = flatlib_book.parse_text_table([
        "  alpha    lam_max SAM 1-step  SAM exact",
        "   0.01 10000.0001          0 5.0000e+01",
        "    0.1   100.0100          0 5.0020e-01",
        "      1     2.0000          0 1.0720e-02"])
    assert header == ["alpha", "lam_max", "SAM 1-step", "SAM exact"]
    assert rows[0] == ["0.01", "10000.0001", "0", "5.0000e+01"]


def test_prose_and_check_lists_are_not_headed_tables():
    # catches: prose lines read as a table; a list of checks given a header
    prose = ["start: f <= 1e-20: True;  ||C|| = 38.1103;  λ_max = 42.8111",
             "the flow keeps f constant and the charges decay to zero quickly",
             "end (t = 25): ||C|| <= 1e-9: True; ||X||²+||Y||² = 17.8632;  λ_max = 13.5946"]
    assert flatlib_book.parse_text_table(prose) is None
    header, rows = flatlib_book.parse_text_table([
        "PASS  every net reached the training loss threshold             stop_reason",
        "PASS  no run diverged                                           stop_reason",
        "PASS  lambda_max at the end <= 2/eta for every step size        "])
    assert header is None and rows[2] == ["PASS", "lambda_max at the end <= 2/eta for every step size", ""]


def test_package_overview_links_names_and_escapes_descriptions():
    lines = flatlib_book.package_overview("flatlib", "Title line.\n\nModules\n-------\n"
                                          "flatlib.spectral   Hessian |lambda| and ||x||_2\n"
                                          "max_variation      f°(x, r) = sup_{||y-x|| <= r} |f(y) - f(x)|\n")
    text = "\n".join(lines)
    assert ".. rubric:: Modules" in text and ".. list-table::" in text
    assert ":mod:`flatlib.spectral <flatlib.spectral>`" in text
    assert ":func:`max_variation <flatlib.profiles.max_variation>`" in text
    assert r"\|lambda\|" in text and r"sup\_{\|\|y-x\|\|" in text


def test_landing_page_names():
    assert flatlib_book._api_target("flatlib.max_variation(..., lipschitz=L)") == \
        ("func", "flatlib.profiles.max_variation")
    assert flatlib_book._api_target("flatlib/spectral.py") == ("mod", "flatlib.spectral")
    assert flatlib_book._api_target("compare_flatness") == ("func", "flatlib.preorder.compare_flatness")
    assert flatlib_book._api_target("figures/") is None      # a folder, not flatlib.figures
    assert flatlib_book._api_target("make") is None


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_what_the_paper_says(nb):
    # every notebook opens (first markdown cell, right under its title) with a box: what the
    # paper says (its abstract), what the notebook adds, what is numerical evidence only
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()
    assert cells[0]["cell_type"] == "markdown" and first[0].startswith("# "), nb.stem
    box = []
    for line in first[1:]:
        if line.startswith(">"):
            box.append(line)
        elif box:
            break
    text = "\n".join(box)
    for label in ("**What the paper says", "**What this notebook adds", "**Numerical evidence only"):
        assert label in text, f"{nb.stem}: the opening box lacks {label}**"


# --------------------------------------------------------------------------- the built site
def test_one_page_per_notebook_in_order(book):
    index = (book / "index.html").read_text(encoding="utf-8")
    positions = [index.find(f'href="notebooks/{nb.stem}.html"') for nb in NOTEBOOKS]
    assert NOTEBOOKS and all(p >= 0 for p in positions), "a notebook is missing from the landing page"
    assert positions == sorted(positions), "notebooks are not listed in order"
    for nb in NOTEBOOKS:
        assert (book / "notebooks" / f"{nb.stem}.html").exists(), nb.stem


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_page_has_its_outputs_and_links_to_the_functions_it_calls(book, nb):
    page = book / "notebooks" / f"{nb.stem}.html"
    html = page.read_text(encoding="utf-8")
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    n_png = sum("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", []))
    assert html.count("<img") >= n_png, f"{nb.stem}: {n_png} figures in the notebook"
    # the page's download button gives the committed, executed notebook
    downloads = [h for h in re.findall(r'href="([^"]+)"[^>]*\s+class="[^"]*btn-download-source', html)]
    assert downloads and _target(page, downloads[0]).read_bytes() == nb.read_bytes(), downloads
    uses = flatlib_book.notebook_uses(nb)
    assert uses, f"{nb.stem}: the scan found no flatlib call"
    hrefs = _box_links(page)
    linked = {href.rsplit("#", 1)[-1]: _target(page, href) for href in hrefs}
    assert sorted(linked) == sorted(uses) and len(hrefs) == len(uses), \
        f"{nb.stem}: box links {hrefs} for {uses}"
    for name, target in linked.items():
        assert target is not None and target.exists(), f"{nb.stem}: {name} -> {target}"
        # the API page links back to this notebook
        back = [_target(target, h) for h in _used_in_links(target)]
        assert page.resolve() in back, f"{target.name} does not link back to {nb.stem}"


def _api_objects():
    """(canonical name, object) of every function and class with a page of its own."""
    for modname in flatlib_book.public_modules():
        for name, canon in flatlib_book._members(modname)[0]:
            obj = flatlib_book._resolve(canon)
            if callable(obj):
                yield canon, obj


def test_every_api_page_shows_its_mathematics_and_example(book):
    import inspect

    import flatlib

    objects = dict(_api_objects())
    # the package's front door: every function and class it exports has a page
    for name in flatlib.__all__:
        canon = flatlib_book.canonical_name(getattr(flatlib, name))
        assert canon is None or canon in objects, f"flatlib.{name} has no API page"
    n_examples = 0
    for canon, obj in objects.items():
        page = book / "api" / "generated" / f"{canon}.html"
        assert page.exists(), canon
        html = page.read_text(encoding="utf-8")
        doc = inspect.getdoc(obj) or ""
        if ">>>" in doc:
            n_examples += 1
            assert "&gt;&gt;&gt;" in html, f"{canon}: its example is not on its page"
        if ":math:" in doc or ".. math::" in doc:
            assert 'class="math' in html, f"{canon}: its mathematics is not on its page"
    assert n_examples >= 20


def test_mathjax_is_served_from_the_book(book):
    for page in ("notebooks/01_flatness_definitions.html", "api/generated/flatlib.profiles.max_variation.html"):
        html = (book / page).read_text(encoding="utf-8")
        srcs = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', html, re.I)
        assert srcs and all(not s.startswith(("http:", "https:", "//")) for s in srcs), srcs
        assert all(_target(book / page, s.split("?")[0]).exists() for s in srcs), srcs


# --------------------------------------------------------------------------- in a browser
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from browser_check import Browser, find_chromium

    binary = find_chromium()
    if binary is None:
        msg = "Chromium not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{msg}: CI must run the browser test of the book (.ci/run installs Chromium)")
        pytest.skip(f"{msg}: browser test of the book skipped")
    with Browser(binary) as b:
        yield b


@pytest.fixture(scope="module")
def server(book):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(book)))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


_TYPESET = ("(window.MathJax && MathJax.startup && MathJax.startup.promise) ? "
            "MathJax.startup.promise.then(() => 'typeset') : 'no MathJax'")


def _pages():
    """Every page of the book a reader reaches: the landing page, each notebook, the API
    index, each module and each object page (named from the sources, before the build)."""
    pages = ["index.html"] + [f"notebooks/{nb.stem}.html" for nb in NOTEBOOKS] + ["api/index.html"]
    for modname in flatlib_book.public_modules():
        pages.append(f"api/{modname}.html")
        pages += [f"api/generated/{canon}.html" for _, canon in flatlib_book._members(modname)[0]]
    return pages


PAGES = _pages()
# The one thing allowed to scroll sideways: source code (notebook input cells and docstring
# examples), which is not wrapped, so that what is shown is what runs. Printed outputs,
# tables and prose must fit their column.
SCROLLABLE_BY_DESIGN = "source code (notebook inputs, docstring examples)"


def _shot_name(page):
    return page.removesuffix(".html").replace("/", "__") + ".png"


def _open(browser, server, page):
    browser.open(server + page)
    typeset = browser.evaluate(_TYPESET, await_promise=True)
    browser.evaluate("Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))",
                     await_promise=True)
    return typeset


@pytest.mark.parametrize("page", PAGES)
def test_browser_page(browser, server, page):
    """One page in headless Chromium: rendered markup, tables, widths, images, math, names,
    one search box; a screenshot of it in build/book-screenshots/."""
    from browser_check import PAGE_REPORT

    typeset = _open(browser, server, page)
    if page == "index.html" or page.startswith("notebooks/"):
        browser.screenshot_page(SHOTS / _shot_name(page))
    else:
        browser.screenshot(SHOTS / _shot_name(page))
    r = browser.evaluate(PAGE_REPORT)
    errors = browser.errors()
    outside = [u for u in browser.requested_urls() if not u.startswith((server, "data:", "about:"))]
    problems = []
    if r["raw"]:
        problems.append(f"unrendered markup ($, :role:, ``) in the text: {r['raw'][:5]}")
    if r["ragged"]:
        problems.append(f"table rows with another number of cells than the header: {r['ragged'][:5]}")
    if r["overflowing"] or r["pageWide"]:
        problems.append(f"wider than the column (only {SCROLLABLE_BY_DESIGN} may scroll): "
                        f"{r['overflowing'][:5]}, page wider than the window: {r['pageWide']}")
    broken = [i["src"] for i in r["images"] if not i["ok"]]
    if broken:
        problems.append(f"images not loaded: {broken}")
    if r["math"]["errors"]:
        problems.append(f"TeX errors: {r['math']['errors'][:5]}")
    if r["math"]["sources"] and (typeset != "typeset" or not r["math"]["typeset"]):
        problems.append(f"{r['math']['sources']} formulas, MathJax: {typeset}, {r['math']['typeset']} typeset")
    if r["midword"]:
        problems.append(f"names broken inside a word: {r['midword'][:5]}")
    if r["searchBoxes"] != 1:
        problems.append(f"{r['searchBoxes']} search boxes")
    if r["nbval"] and page.startswith("notebooks/"):
        problems.append("nbval markers shown")
    if errors:
        problems.append(f"browser errors: {errors[:5]}")
    if outside:
        problems.append(f"requests outside the book: {outside[:5]}")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def _readme_figures():
    return len(re.findall(r"!\[[^\]]*\]\(figures/[^)]+\.png\)", (ROOT / "README.md").read_text()))


def test_browser_landing_page(browser, server):
    from browser_check import PAGE_REPORT

    _open(browser, server, "index.html")
    r = browser.evaluate(PAGE_REPORT)
    figures = [i for i in r["images"] if i["inArticle"]]
    assert len(figures) >= _readme_figures() > 0, "README figures missing from the landing page"
    # figures as wide as the column (a two-column grid shrank 1200-px figures to 300 px)
    column = browser.evaluate("document.querySelector('article').getBoundingClientRect().width")
    small = [(i["src"], i["shown"]) for i in figures if i["shown"] < min(i["natural"], column) * 0.9]
    assert not small, f"figures shrunk below the column width {column:.0f}px: {small}"
    # each opens at full size: a link to the image itself
    unlinked = [i["src"] for i in figures if not (i["link"] or "").endswith(i["src"].rsplit("/", 1)[-1])]
    assert not unlinked, f"figures that do not open at full size: {unlinked}"
    # notebook names and numbers, flatlib functions and modules link to their pages
    links = dict()
    for text, href in r["codeLinks"]:
        links.setdefault(text, set()).add(href)
    for nb in NOTEBOOKS:
        for name in (nb.stem, nb.stem[:2]):
            for href in links.get(name, ()):
                assert href and href.endswith(f"/notebooks/{nb.stem}.html"), (name, href)
    named = [t for t in links if t.startswith("flatlib.") and flatlib_book._api_target(t)]
    assert len(named) >= 5, named
    for text in named + [t for t in ("max_variation", "compare_flatness") if t in links]:
        assert all(h and "/api/" in h for h in links[text]), (text, links[text])
    assert sum(bool(links.get(nb.stem)) for nb in NOTEBOOKS) >= 3
    # the README's $...$ math typeset in the book
    assert r["math"]["typeset"] >= 20 and not r["math"]["errors"]
    titles = browser.evaluate("Array.from(document.querySelectorAll('nav a')).map(a => a.textContent)")
    assert any("API reference" in t for t in titles)


def test_browser_sidebar_numbers_the_notebooks(browser, server):
    _open(browser, server, "index.html")
    nav = browser.evaluate("Array.from(document.querySelectorAll('nav.bd-links a'))"
                           ".map(a => [a.textContent.trim(), a.href])")
    numbered = [(t, h) for t, h in nav if "/notebooks/" in h]
    assert [h.rsplit("/", 1)[-1] for _, h in numbered] == [f"{nb.stem}.html" for nb in NOTEBOOKS]
    for (text, _), nb in zip(numbered, NOTEBOOKS):
        assert text.startswith(nb.stem.split("_", 1)[0] + " · "), text


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_browser_notebook_reader_view(browser, server, nb):
    """Plotting and checking code folded, figures and printed results shown, figures open at
    full size, printed tables as HTML tables."""
    from browser_check import PAGE_REPORT

    page = f"notebooks/{nb.stem}.html"
    _open(browser, server, page)
    r = browser.evaluate(PAGE_REPORT)
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    n_png = sum("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", []))
    figures = [i for i in r["images"] if i["inArticle"]]
    assert len(figures) >= n_png > 0
    assert r["folded"] >= 1, f"{page}: no code folded"
    # every figure visible (not inside a closed toggle) and linked to itself
    hidden = browser.evaluate("Array.from(document.querySelectorAll('article img'))"
                              ".filter(i => i.closest('details:not([open])')).length")
    assert hidden == 0, f"{page}: {hidden} figures folded away"
    unlinked = [i["src"] for i in figures if not (i["link"] or "").endswith(i["src"].rsplit("/", 1)[-1])]
    assert not unlinked, unlinked
    # printed results are not folded either
    folded_out = browser.evaluate("document.querySelectorAll('details:not([open]) .cell_output').length")
    assert folded_out == 0, f"{page}: printed results folded away"
    # and the folded code is still there, one click away
    n_code = sum(c["cell_type"] == "code" for c in cells)
    shown = browser.evaluate("document.querySelectorAll('article .cell_input').length")
    assert shown == n_code, f"{page}: {shown} code cells for {n_code}"
    # the "flatlib functions used" box, with working links, right under the title
    hrefs = browser.evaluate("Array.from(document.querySelectorAll('.flatlib-functions-used a')).map(a => a.href)")
    assert hrefs and all("/api/generated/flatlib." in h for h in hrefs), hrefs


def test_browser_printed_table_of_notebook_07(browser, server):
    page = "notebooks/07_flatness_and_generalization.html"
    _open(browser, server, page)
    heads = browser.evaluate("Array.from(document.querySelectorAll('table.flatlib-printed-table'))"
                             ".map(t => Array.from(t.querySelectorAll('th')).map(c => c.innerText.trim()))")
    # the tau / Psi tables (error gap, loss gap, robust error at two radii)
    tau = [h for h in heads if "Psi balanced" in h]
    assert tau == [["measure", "tau raw", "tau balanced", "Psi raw", "Psi balanced"]] * 4, tau
    browser.screenshot_element(SHOTS / "07_tau_table.png", "Array.from(document.querySelectorAll("
                               "'table.flatlib-printed-table')).find(t => t.innerText.includes('Psi balanced'))")


@pytest.mark.parametrize("page", ["index.html", "notebooks/07_flatness_and_generalization.html"])
def test_browser_narrow_screen(browser, server, page):
    from browser_check import PAGE_REPORT

    browser.resize(420, 900)
    try:
        _open(browser, server, page)
        browser.screenshot(SHOTS / ("narrow-" + _shot_name(page)))
        r = browser.evaluate(PAGE_REPORT)
        search = browser.evaluate("Array.from(document.querySelectorAll('.search-button__button'))"
                                  ".filter(e => e.offsetParent !== null).length")
    finally:
        browser.resize(1280, 900)
    # on a phone a printed table of five columns may scroll sideways in its own box (the
    # theme's scrollable table container); the page itself and every printed text may not
    wide = [o for o in r["overflowing"] if not o.startswith("div.pst-scrollable-table-container")]
    assert not r["pageWide"] and not wide, wide[:5]
    assert search == 1, f"{search} search buttons on a narrow screen"


def test_browser_api_page_example_and_backlinks(browser, server):
    page = "api/generated/flatlib.profiles.max_variation.html"
    _open(browser, server, page)
    text = browser.evaluate("document.querySelector('article').innerText")
    assert ">>>" in text, "the example is not shown"
    back = browser.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.href)"
                            ".filter(h => h.includes('/notebooks/'))")
    assert any(NOTEBOOKS[0].stem in h for h in back), back


def test_landing_page_names_the_cell_that_made_each_figure(book):
    """Under every landing-page figure that figures/MANIFEST.json records: a link to the
    notebook page's anchor of the cell that made it; and that anchor's cell does call
    show()/savefig() with the figure's name (read from the notebook, not from the manifest)."""
    import json

    import nbformat

    man = json.loads((ROOT / "figures" / "MANIFEST.json").read_text())["figures"]
    html = (book / "index.html").read_text()
    shown = re.findall(r'<img[^>]*src="_images/([^"/]+)\.png"', html)
    assert shown, "no figure on the landing page"
    for name in dict.fromkeys(shown):
        e = man.get(name)
        assert e is not None, f"{name}.png is shown but not in MANIFEST.json"
        link = re.search(rf'{re.escape(name)}\.png: made by <a class="reference internal" '
                         rf'href="notebooks/([^"#]+)\.html#cell-(\d+)"', html)
        assert link, f"no provenance line under {name}.png"
        nb = nbformat.read(ROOT / "notebooks" / f"{link.group(1)}.ipynb", as_version=4)
        cell = nb.cells[int(link.group(2)) - 1]
        assert cell.cell_type == "code" and name in cell.source, (name, link.groups(), cell.source[:200])
        page = (book / "notebooks" / f"{link.group(1)}.html").read_text()
        assert f'id="cell-{link.group(2)}"' in page
