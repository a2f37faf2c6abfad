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
    for pattern in ("docs/*.py", "docs/*.md", "docs/_ext/*.py", "docs/_templates/**/*",
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
        if not _book_is_current():
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


_IMAGES = "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
_TYPESET = ("(window.MathJax && MathJax.startup && MathJax.startup.promise) ? "
            "MathJax.startup.promise.then(() => 'typeset') : 'no MathJax'")
# prose only: code cells, outputs and code spans may show a "$" legitimately
_PROSE_DOLLARS = """(() => { const a = document.querySelector('article').cloneNode(true);
  a.querySelectorAll('div.cell, pre, code, .highlight, mjx-container, script').forEach(e => e.remove());
  return (a.innerText.match(/\\$/g) || []).length; })()"""


def _readme_figures():
    return len(re.findall(r"!\[[^\]]*\]\(figures/[^)]+\.png\)", (ROOT / "README.md").read_text()))


def _open(browser, server, page, shot):
    browser.open(server + page)
    typeset = browser.evaluate(_TYPESET, await_promise=True)
    browser.evaluate("Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))",
                     await_promise=True)
    browser.screenshot(SHOTS / shot)
    images = browser.evaluate(_IMAGES)
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert not broken, f"{page}: images not loaded: {broken}"
    errors = browser.errors()
    assert not errors, f"{page}: {errors}"
    outside = [u for u in browser.requested_urls() if not u.startswith((server, "data:", "about:"))]
    assert not outside, f"{page} requested outside the book: {outside}"
    return typeset, images


def _math(browser, page):
    n_math = browser.evaluate("document.querySelectorAll('mjx-container').length")
    n_err = browser.evaluate("document.querySelectorAll('mjx-merror').length")
    assert n_math > 0, f"{page}: no typeset math"
    assert n_err == 0, f"{page}: {n_err} TeX errors"
    assert browser.evaluate(_PROSE_DOLLARS) == 0, f"{page}: unrendered $...$ left in the prose"
    return n_math


def test_browser_landing_page(browser, server):
    _, images = _open(browser, server, "index.html", "landing.png")
    assert len(images) >= _readme_figures() > 0, "README figures missing from the landing page"
    titles = browser.evaluate("Array.from(document.querySelectorAll('nav a')).map(a => a.textContent)")
    assert any("API reference" in t for t in titles)


def test_browser_notebook_page(browser, server):
    nb = NOTEBOOKS[0]
    page = f"notebooks/{nb.stem}.html"
    typeset, images = _open(browser, server, page, "notebook.png")
    assert typeset == "typeset", f"{page}: {typeset}"
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    n_png = sum("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", []))
    assert len(images) >= n_png > 0
    _math(browser, page)
    # the box of functions used, with working links, right under the title
    hrefs = browser.evaluate("Array.from(document.querySelectorAll('.flatlib-functions-used a'))"
                             ".map(a => a.href)")
    assert any("/api/generated/flatlib.profiles.max_variation.html" in h for h in hrefs), hrefs
    browser.evaluate("document.querySelector('img[src*=\"_images\"], .cell_output img').scrollIntoView()")
    browser.screenshot(SHOTS / "notebook-figure.png")


def test_browser_api_page(browser, server):
    page = "api/generated/flatlib.profiles.max_variation.html"
    typeset, _ = _open(browser, server, page, "api.png")
    assert typeset == "typeset", f"{page}: {typeset}"
    _math(browser, page)
    text = browser.evaluate("document.querySelector('article').innerText")
    assert ">>>" in text, "the example is not shown"
    back = browser.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.href)"
                            ".filter(h => h.includes('/notebooks/'))")
    assert any(NOTEBOOKS[0].stem in h for h in back), back
