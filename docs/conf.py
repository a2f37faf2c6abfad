"""Sphinx configuration of the flatlib book (``make book`` -> ``build/book/``).

Stack: Sphinx + myst-nb (reads the committed, executed notebooks; never re-runs them),
numpydoc (the library's docstrings are numpy style), autosummary (one page per public
object), sphinx-book-theme (the theme of executable books), and MathJax 3 served from
the ``sphinx-mathjax-offline`` package, so the math renders without any network access.

``_ext/flatlib_book.py`` copies the notebooks in, writes the API pages, and adds the
cross-links between notebooks and the functions they call.
"""
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import flatlib  # noqa: E402

project = "flatlib"
author = "flatlib developers"
copyright = "2025, flatlib developers"
release = version = flatlib.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx-mathjax-offline",
    "flatlib_book",
]

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
# .rst first: autosummary writes its stub pages with the first suffix
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# Notebooks: shown with their committed outputs, never executed by the build.
nb_execution_mode = "off"
nb_merge_streams = True
nb_output_folder = str(DOCS.parent / "build" / "book-doctrees" / "jupyter_execute")
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True   # $$...$$ inside a paragraph (as Jupyter renders it)
myst_heading_anchors = 3

# API reference
autosummary_generate = True
autosummary_imported_members = False

autodoc_typehints = "none"          # the numpy-style Parameters sections state the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
add_module_names = False

# Every unresolved reference to a flatlib object is an error (-W); references to outside
# libraries have no target in this offline book and are not checked.
nitpicky = True
# Private flatlib modules (``flatlib._ascent``) have no page either: named, not linked.
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|matplotlib|concurrent|collections|typing)(\..*)?"),
    (r"py:.*", r"flatlib(\.\w+)*\._\w+.*"),
]

html_theme = "sphinx_book_theme"
html_title = "flatlib"
html_static_path = ["_static"]
html_css_files = ["flatlib_book.css"]     # the reader's view: see the files' comments
html_js_files = ["flatlib_book.js"]
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "use_download_button": True,
}
# light by default: the figures are drawn on white (and an empty mode logs a JS error)
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
# the theme's "download source" button gives the executed .ipynb itself
html_copy_source = True
html_sourcelink_suffix = ""
