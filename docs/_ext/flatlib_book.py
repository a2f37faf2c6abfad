"""Sphinx extension of the flatlib book: the pieces generated at build time.

1. The executed notebooks ``notebooks/NN_*.ipynb`` are copied into ``docs/notebooks/``
   (myst-nb renders their committed outputs; ``nb_execution_mode = "off"``).
2. The API reference ``docs/api/`` is written from the package itself: one page per public
   module (every importable ``flatlib`` module not starting with ``_``, its ``__all__``), and
   autosummary writes one page per public function or class, documented where it is defined.
3. Cross-links, from one scan of the notebooks' code cells (:func:`notebook_uses`): each
   notebook page gets a box listing the flatlib functions it calls (``:func:`` links), and each
   API page a "Used in the notebooks" section linking back. Nothing in the notebooks is edited.

The scan reads the code with :mod:`ast`: ``import flatlib as fl`` then ``fl.max_variation(...)``,
``from flatlib.flows import gradient_flow`` then ``gradient_flow(...)``, and dotted chains
``flatlib.problems.MatrixFactorization``. Each name is resolved by importing it and is reported
under its canonical name ``obj.__module__ + "." + obj.__qualname__`` (so a re-export such as
``flatlib.max_variation`` links to ``flatlib.profiles.max_variation``).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = "flatlib"
# the command line (documented by ``python -m flatlib --help``), not a library interface
SKIP_MODULES = {"flatlib.__main__", "flatlib.reproduce",
                # deprecated aliases of flatlib.networks (one release): documented there
                "flatlib.problems.mlp", "flatlib.problems.digits", "flatlib.problems.training",
                "flatlib.problems.generalization"}


# --------------------------------------------------------------------------- the scan
def _resolve(qualified):
    """The flatlib object named by a dotted path, or None if it is not one."""
    parts = qualified.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def canonical_name(obj):
    """``module.qualname`` of a public flatlib function or class, else None."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return None
    module = getattr(obj, "__module__", "") or ""
    if not (module == PACKAGE or module.startswith(PACKAGE + ".")):
        return None
    if any(part.startswith("_") for part in module.split(".")[1:]) or obj.__name__.startswith("_"):
        return None
    return f"{module}.{obj.__qualname__}"


def _code_of(notebook):
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        # IPython magics and shell escapes are not Python: blank them out
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines()]
        yield "\n".join(lines)


def _dotted(node):
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def notebook_uses(notebook):
    """Canonical names of the flatlib functions and classes a notebook's code refers to,
    in the order of their first use (cell by cell, line by line)."""
    aliases = {}       # local name -> dotted flatlib path it was imported as
    trees = []
    for src in _code_of(notebook):
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        trees.append(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == PACKAGE or a.name.startswith(PACKAGE + "."):
                        if a.asname:
                            aliases[a.asname] = a.name
                        else:
                            aliases[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == PACKAGE or node.module.startswith(PACKAGE + "."):
                    for a in node.names:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    used = {}
    for tree in trees:
        nodes_ = [n for n in ast.walk(tree) if isinstance(n, (ast.Attribute, ast.Name))]
        for node in sorted(nodes_, key=lambda n: (n.lineno, n.col_offset)):
            dotted = _dotted(node)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            if head not in aliases:
                continue
            path = aliases[head] + ("." + rest if rest else "")
            name = canonical_name(_resolve(path))
            if name:
                used.setdefault(name, len(used))
    return sorted(used, key=used.get)


# --------------------------------------------------------------------------- generated sources
def public_modules():
    """Importable public modules of the package, sorted (the package itself first)."""
    pkg = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(pkg.__path__, PACKAGE + "."):
        if info.name in SKIP_MODULES or any(p.startswith("_") for p in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return sorted(names, key=lambda n: (n.count("."), n))


def _members(modname):
    """(defined here, re-exported) public objects of a module, from its ``__all__``."""
    mod = importlib.import_module(modname)
    own, reexported = [], []
    names = getattr(mod, "__all__", None)
    if names is None:   # no __all__: the public functions and classes defined in the module
        names = [n for n, o in vars(mod).items()
                 if not n.startswith("_") and getattr(o, "__module__", None) == modname]
    for name in names:
        obj = getattr(mod, name)
        if inspect.ismodule(obj):
            continue
        canon = canonical_name(obj)
        if canon is None:
            # public data (a default configuration, a constant) of a plain module is its own
            if not (hasattr(mod, "__path__") or callable(obj) or name.startswith("_")):
                own.append((name, f"{modname}.{name}"))
            continue
        (own if canon == f"{modname}.{name}" else reexported).append((name, canon))
    return own, reexported


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _module_page(modname):
    own, reexported = _members(modname)
    title = modname
    mod = importlib.import_module(modname)
    if hasattr(mod, "__path__"):
        # package docstrings are plain-text overviews (aligned tables): shown as written
        doc = inspect.getdoc(mod) or ""
        lines = [title, "=" * len(title), "", f".. py:module:: {modname}", "", "::", ""]
        lines += [("    " + line).rstrip() for line in doc.splitlines()] + [""]
    else:
        lines = [title, "=" * len(title), "", f".. automodule:: {modname}", ""]
    lines += [f".. currentmodule:: {modname}", ""]
    if own:
        lines += [".. rubric:: Defined here", "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name, _ in own] + [""]
    if reexported:
        lines += [".. rubric:: Also available here", "",
                  f"Imported into ``{modname}`` from where they are defined:", ""]
        for name, canon in reexported:
            role = "class" if inspect.isclass(_resolve(canon)) else "func"
            lines.append(f"* ``{modname}.{name}``: :{role}:`{canon}`")
        lines.append("")
    return "\n".join(lines)


def write_sources(app, config=None):
    # notebooks, byte for byte (stale copies of removed notebooks are dropped)
    dest = DOCS / "notebooks"
    dest.mkdir(exist_ok=True)
    wanted = {p.name for p in NOTEBOOKS.glob("[0-9]*.ipynb")}
    for old in dest.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name in sorted(wanted):
        src, dst = NOTEBOOKS / name, dest / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
    # API reference
    api = DOCS / "api"
    modules = public_modules()
    # autosummary (re)writes one stub per documented object; drop stubs of objects gone
    # (not the whole folder: a concurrent build in the same checkout may be reading it)
    stubs = {f"{m}.{name}.rst" for m in modules for name, _ in _members(m)[0]}
    for old in (api / "generated").glob("*.rst"):
        if old.name not in stubs:
            old.unlink(missing_ok=True)
    index = ["API reference", "=============", "",
             "Every public function and class of flatlib, documented where it is defined: its",
             "mathematics, its parameters and a runnable example, and the notebooks that call it.",
             "", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {m}" for m in modules] + [""]
    _write(api / "index.rst", "\n".join(index))
    for m in modules:
        _write(api / f"{m}.rst", _module_page(m))
    for old in api.glob("flatlib*.rst"):
        if old.stem not in modules:
            old.unlink()
    # contributor documentation
    contributing = ROOT / "CONTRIBUTING.md"
    if contributing.exists():
        page = "```{include} ../CONTRIBUTING.md\n:relative-images:\n```\n"
    else:
        page = ("# Contributing\n\n```{include} ../notebooks/CONVENTIONS.md\n:heading-offset: 1\n```\n")
    _write(DOCS / "contributing.md", page)
    # the cross-link index, from the committed notebooks
    uses = {p.stem: notebook_uses(p) for p in sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))}
    used_by = {}
    for nb, names in uses.items():
        for name in names:
            used_by.setdefault(name, []).append(nb)
    app.flatlib_uses, app.flatlib_used_by = uses, used_by


# --------------------------------------------------------------------------- the cross-links
def _xref(name):
    role = "class" if inspect.isclass(_resolve(name)) else "func"
    short = name.rsplit(".", 1)[-1] + ("" if role == "class" else "()")
    text = nodes.literal(short, short, classes=["xref", "py", f"py-{role}"])
    ref = addnodes.pending_xref("", text, refdomain="py", reftype=role, reftarget=name,
                                refexplicit=True, refwarn=True, **{"py:module": None, "py:class": None})
    return ref


def add_functions_used(app, doctree):
    """Insert the "flatlib functions used" box under the title of each notebook page."""
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    names = getattr(app, "flatlib_uses", {}).get(docname.split("/", 1)[1])
    if not names:
        return
    box = nodes.admonition(classes=["flatlib-functions-used", "seealso"])
    box += nodes.title("", "flatlib functions used in this notebook")
    by_module = {}          # modules in the order of first use, names likewise
    for name in names:
        by_module.setdefault(name.rsplit(".", 1)[0], []).append(name)
    items = nodes.bullet_list()
    for module, members in by_module.items():
        para = nodes.paragraph()
        para += nodes.literal(module, module)
        para += nodes.Text(": ")
        for i, name in enumerate(members):
            if i:
                para += nodes.Text(", ")
            para += _xref(name)
        items += nodes.list_item("", para)
    box += items
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        doctree.insert(0, box)
        return
    title = next(iter(section.findall(nodes.title)), None)
    section.insert(section.index(title) + 1 if title is not None else 0, box)


def add_used_in(app, what, name, obj, options, lines):
    """Append "Used in the notebooks" (links back) to the docstring of an API object."""
    notebooks = getattr(app, "flatlib_used_by", {}).get(name)
    if not notebooks or what not in ("function", "class", "exception"):
        return
    lines += ["", ".. rubric:: Used in the notebooks", ""]
    lines += [f"* :doc:`/notebooks/{nb}`" for nb in notebooks] + [""]


def resolve_alias(app, env, node, contnode):
    """Resolve a reference to a flatlib object by another name than where it is documented.

    ``:func:`flatlib.max_variation``` (a re-export) or ``:func:`max_variation``` written in a
    module that imports it point to the page of ``flatlib.profiles.max_variation``. Tried in
    turn: the name as written; in the current module (and class); for a bare method name in a
    module docstring, the one public class of the module that has it; in the enclosing
    packages. A name none of these finds stays unresolved (an error under ``-W``).
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module:
        candidates.append(f"{module}.{target}")
        if cls:
            candidates.append(f"{module}.{cls}.{target}")
        elif node["reftype"] in ("meth", "attr") and "." not in target:
            # a method named in a module docstring: the one public class of the module having it
            owners = [n for n, _ in _members(module)[0] if hasattr(_resolve(f"{module}.{n}"), target)]
            if len(owners) == 1:
                candidates.append(f"{module}.{owners[0]}.{target}")
        # a name the enclosing packages export (``MLP.balance`` in a module of flatlib.problems)
        parts = module.split(".")
        candidates += [".".join(parts[:i] + [target]) for i in range(len(parts) - 1, 0, -1)]
    for path in candidates:
        if not path.startswith(PACKAGE):
            continue
        canon = canonical_name(_resolve(path))
        if canon and canon != target:
            domain = env.get_domain("py")
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canon,
                                       node, contnode)
    return None


class RepositoryLinks(SphinxPostTransform):
    """Links between repository files in the included README / CONTRIBUTING / notebooks.

    On GitHub ``[guide](CONTRIBUTING.md)`` in the README is a link to a file; in the book it
    becomes a link to the page that shows that file (``CONTRIBUTING.md`` -> contributing,
    ``README.md`` -> the landing page, ``notebooks/NN.ipynb`` -> its page). A repository file
    without a page (a script, a folder) keeps its text without a link. A link to a file that
    does not exist is left to MyST, which reports it (an error under ``-W``).
    """

    default_priority = 8          # before MyST's reference resolver (9)
    PAGES = {"README.md": "index", "CONTRIBUTING.md": "contributing"}

    def run(self, **kwargs):
        docname = self.env.docname
        base = NOTEBOOKS if docname.startswith("notebooks/") else ROOT
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst" or node.get("refdomain") == "doc":
                continue
            target = node.get("reftarget", "")
            if not target or ":" in target or target.startswith("#"):
                continue
            path = (base / target.split("#", 1)[0]).resolve()
            if not path.exists() or ROOT not in path.parents:
                continue
            rel = path.relative_to(ROOT).as_posix()
            page = self.PAGES.get(rel)
            if page is None and rel.startswith("notebooks/") and path.suffix == ".ipynb":
                page = f"notebooks/{path.stem}"
            content = node[0].deepcopy() if len(node) else nodes.literal(target, target)
            if page is not None and page in self.env.all_docs:
                ref = nodes.reference("", "", internal=True,
                                      refuri=self.app.builder.get_relative_uri(docname, page))
                ref += content
                node.replace_self(ref)
            else:
                node.replace_self(content)


def skip_data_members(app, what, name, obj, skip, options):
    """Classes list their methods and properties; data fields are in the Attributes section."""
    if what == "class" and not (inspect.isroutine(obj) or isinstance(obj, property)):
        return True
    return None


def setup(app):
    # before autosummary looks for its stub files and Sphinx discovers the sources
    app.connect("config-inited", write_sources)
    app.connect("doctree-read", add_functions_used)
    app.connect("missing-reference", resolve_alias)
    app.connect("autodoc-skip-member", skip_data_members)
    app.add_post_transform(RepositoryLinks)
    # after numpydoc (priority 500) has turned the numpy sections into reST
    app.connect("autodoc-process-docstring", add_used_in, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
