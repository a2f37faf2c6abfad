"""A small headless-Chromium driver over the Chrome DevTools Protocol (CDP).

Used by ``tests/test_book.py`` to open pages of the built book in a real browser. It needs
only the Debian ``chromium`` binary and ``websocket-client`` (no Playwright, no browser
download). Chromium is started with ``--remote-debugging-port=0``; the port it picked is read
from ``DevToolsActivePort`` in its profile directory, and the test talks to the page target
over one websocket.

Network: every host name other than ``127.0.0.1``/``localhost`` resolves to nothing
(``--host-resolver-rules``), and every request the page makes is recorded, so a test can
assert that nothing was fetched from outside (MathJax included).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket  # websocket-client

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium():
    """Path of a Chromium binary, or None."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one page, driven over CDP."""

    def __init__(self, binary, width=1280, height=900, timeout=60.0):
        self.timeout = timeout
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="flatlib-chromium-")
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--mute-audio",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "about:blank"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            port = self._port()
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
            page = next(t for t in targets if t.get("type") == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout,
                                                  suppress_origin=True)
        except BaseException:
            self.close()
            raise
        self._id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def _port(self):
        path = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if path.exists():
                text = path.read_text().split()
                if text:
                    return int(text[0])
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its debugging port")

    # -- protocol
    def call(self, method, **params):
        self._id += 1
        my_id = self._id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, method, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        for ev in self.events:
            if ev["method"] == method:
                return ev
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise TimeoutError(method)

    def evaluate(self, expression, await_promise=False):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                        awaitPromise=await_promise)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression[:80]}: {res['exceptionDetails']}")
        return res["result"].get("value")

    # -- pages
    def open(self, url):
        """Navigate and wait for the load event; returns the events of this page."""
        self.events = []
        nav = self.call("Page.navigate", url=url)
        if nav.get("errorText"):
            raise RuntimeError(f"{url}: {nav['errorText']}")
        self.wait_event("Page.loadEventFired")

    def errors(self):
        """JavaScript exceptions, console errors and failed loads logged since the last open."""
        out = []
        for ev in self.events:
            m, p = ev["method"], ev["params"]
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append("console.error: " + " ".join(str(a.get("value", a.get("description")))
                                                        for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error" \
                    and not p["entry"].get("url", "").endswith("/favicon.ico"):  # the browser's own request
                out.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append(f"failed to load: {p.get('errorText')} ({p.get('type')})")
        return out

    def requested_urls(self):
        return [ev["params"]["request"]["url"] for ev in self.events
                if ev["method"] == "Network.requestWillBeSent"]

    def screenshot(self, path, full_height_max=None):
        """PNG of the viewport (or of the page down to ``full_height_max`` pixels)."""
        params = {"format": "png"}
        if full_height_max:
            h = min(int(self.evaluate("document.documentElement.scrollHeight")), full_height_max)
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": 1280, "height": h, "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(data))

    def screenshot_element(self, path, selector_js, margin=8, max_height=2400):
        """PNG of the element ``selector_js`` (a JavaScript expression giving an element).

        The viewport is made tall enough for the element (its width, hence the layout, is
        unchanged) and the theme's fixed header is hidden while the picture is taken."""
        box = self.evaluate(f"""(() => {{ const e = {selector_js}; if (!e) return null;
            const r = e.getBoundingClientRect();
            return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }})()""")
        if box is None:
            raise LookupError(f"no element for {selector_js}")
        x, y, w, h = box
        h = min(h + 2 * margin, max_height)
        self.call("Emulation.setDeviceMetricsOverride", width=self.width,
                  height=int(max(self.height, h + 2)), deviceScaleFactor=1, mobile=False)
        # fixed and sticky bars (the theme's headers, the skip link) would cover the element
        self.evaluate("""Array.from(document.querySelectorAll('body *')).filter(e =>
            ['fixed', 'sticky'].includes(getComputedStyle(e).position)).forEach(e =>
            { e.dataset.shotVisibility = e.style.visibility; e.style.visibility = 'hidden'; })""")
        try:
            self.evaluate(f"window.scrollTo(0, {max(y - margin, 0)})")
            clip = {"x": max(x - margin, 0), "y": max(y - margin, 0), "width": w + 2 * margin,
                    "height": h, "scale": 1}
            data = self.call("Page.captureScreenshot", format="png", clip=clip)["data"]
        finally:
            self.evaluate("document.querySelectorAll('[data-shot-visibility]').forEach(e =>"
                          " { e.style.visibility = e.dataset.shotVisibility; delete e.dataset.shotVisibility; })")
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                      deviceScaleFactor=1, mobile=False)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(data))

    def screenshot_page(self, path, max_height=12000):
        """PNG of the whole page down to ``max_height`` pixels: the viewport is made as tall
        as the page (its width, hence the layout, is unchanged) for the picture."""
        h = min(int(self.evaluate("document.documentElement.scrollHeight")), max_height)
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=max(h, self.height),
                  deviceScaleFactor=1, mobile=False)
        try:
            self.evaluate("window.scrollTo(0, 0)")
            data = self.call("Page.captureScreenshot", format="png",
                             clip={"x": 0, "y": 0, "width": self.width, "height": h, "scale": 1})["data"]
        finally:
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                      deviceScaleFactor=1, mobile=False)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(data))

    def resize(self, width, height=None):
        """A new viewport (a narrow screen, say); the next ``open`` lays the page out for it."""
        self.width, self.height = width, height or self.height
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- page checks
# One pass over the rendered page (``article``, the sidebar for names), returning plain data
# for the test to assert on. Kept here so that tests/test_book.py and a manual run share it.
PAGE_REPORT = r"""(() => {
  const article = document.querySelector('article') || document.body;
  const CODE = 'pre, div.highlight, mjx-container, script, style, .MathJax';

  // 1. markup that should have been rendered: TeX dollars, reST roles, double backticks
  // (a "$" may stand in inline code, as in $FLATLIB_FIGURES_DIR; a role or a double backtick
  // may not: reST was shown unrendered)
  const strip = sel => { const c = article.cloneNode(true); c.querySelectorAll(sel).forEach(e => e.remove());
                         return c.textContent; };
  const raw = [];
  const scan = (text, re) => { for (const m of text.matchAll(re))
      raw.push(text.slice(Math.max(0, m.index - 50), m.index + 50).replace(/\s+/g, ' ')); };
  scan(strip(CODE + ', code'), /\$/g);
  const withCode = strip(CODE);
  scan(withCode, /:(class|func|meth|attr|mod|math|ref|doc|obj|data|exc):`/g);
  scan(withCode, /``/g);

  // 2. tables: every row has as many cells (colspans counted) as the header
  const width = row => Array.from(row.cells).reduce((s, c) => s + (c.colSpan || 1), 0);
  const ragged = [];
  article.querySelectorAll('table').forEach((t, k) => {
    const rows = Array.from(t.rows);
    if (!rows.length) return;
    const n = width(rows[0]);
    rows.forEach((r, i) => { if (width(r) !== n)
      ragged.push(`table ${k}, row ${i}: ${width(r)} cells, header ${n}: ` + r.innerText.slice(0, 80)); });
  });

  // 3. horizontal overflow: printed outputs and tables must fit; code input may scroll
  const wide = e => e.scrollWidth > e.clientWidth + 1;
  const label = e => (e.innerText || '').trim().split('\n')[0].slice(0, 80);
  const overflowing = [], scrollable = [];
  article.querySelectorAll('.cell_output pre, .cell_output, table, .pst-scrollable-table-container, p, dl, li')
    .forEach(e => { if (wide(e)) overflowing.push(e.tagName.toLowerCase() + '.' + e.className + ': ' + label(e)); });
  article.querySelectorAll('pre').forEach(e => {
    if (!e.closest('.cell_output') && wide(e)) scrollable.push(label(e)); });
  const pageWide = document.documentElement.scrollWidth > window.innerWidth + 1;

  // 4. images
  const images = Array.from(document.images).map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0,
      natural: i.naturalWidth, shown: Math.round(i.getBoundingClientRect().width),
      link: (i.closest('a') || {}).href || null, inArticle: article.contains(i)}));

  // 5. MathJax
  const math = {typeset: document.querySelectorAll('mjx-container').length,
                errors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent),
                sources: article.querySelectorAll('.math').length};

  // 6. names broken inside a word (two letters or digits on different lines)
  const midword = [];
  const split = el => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const s = node.textContent;
      if (s.length < 12) continue;
      let prevTop = null, prevWord = false;
      for (let i = 0; i < s.length; i++) {
        const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
        const rect = r.getClientRects()[0];
        const word = /[A-Za-z0-9]/.test(s[i]);
        if (rect && prevTop !== null && word && prevWord && rect.top > prevTop + 2) {
          midword.push(s.slice(Math.max(0, i - 30), i) + '|' + s.slice(i, i + 30)); break; }
        if (rect) prevTop = rect.top;
        prevWord = word;
      }
    }
  };
  document.querySelectorAll('article code, article h1, nav.bd-links a, .bd-toc-nav a, dt.sig').forEach(e => {
    if (e.getClientRects().length) split(e); });

  // 7. the reader's view
  const searchBoxes = Array.from(document.querySelectorAll('.search-button-field, .bd-search'))
    .filter(e => e.offsetParent !== null).length;
  const folded = article.querySelectorAll('details.hide.above-input').length;
  const nav = Array.from(document.querySelectorAll('nav.bd-links a')).map(a => [a.textContent.trim(), a.href]);
  const codeLinks = Array.from(article.querySelectorAll('code')).map(c => [c.textContent, (c.closest('a') || {}).href || null]);
  return {raw, ragged, overflowing, scrollable, pageWide, images, math, midword, searchBoxes,
          folded, nav, codeLinks, nbval: (article.textContent.match(/NBVAL_/g) || []).length};
})()"""
