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
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

from flatlib_modules import PACKAGE, SKIP_MODULES, public_modules  # beside this file; no Sphinx needed there

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
NOTEBOOKS = ROOT / "notebooks"


# --------------------------------------------------------------------------- the scan
def _resolve(qualified):
    """The flatlib object named by a dotted path, or None if it is not one.

    First as Python evaluates it, attribute by attribute from the top package (importing a
    submodule only where the attribute is missing), so that ``flatlib.networks.sweep`` is the
    function the package exports under that name; failing that, from the longest importable
    module prefix (``flatlib.networks.sweep.sweep``, where the package attribute shadows the
    module)."""
    parts = qualified.split(".")
    obj = None
    try:
        obj = importlib.import_module(parts[0])
        for i, attr in enumerate(parts[1:], start=2):
            obj = getattr(obj, attr) if hasattr(obj, attr) else importlib.import_module(".".join(parts[:i]))
        return obj
    except ImportError:
        pass
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


_ENTRY = re.compile(r"^([A-Za-z_][\w.]*(?:, [A-Za-z_][\w.]*)*)\s{2,}(\S.*)$")
_HEADING = re.compile(r"^[-=~]{3,}$")


def _rst_escape(text):
    return re.sub(r"([\\*`|_])", r"\\\1", text)


def _overview_link(modname, name):
    """reST for a name in a package overview: a link to its page when it has one."""
    for path in (f"{modname}.{name}", name):
        if path in public_modules():          # a module (before a function of the same name)
            return f":mod:`{name} <{path}>`"
        obj = _resolve(path) if path.startswith(PACKAGE) else None
        if inspect.ismodule(obj) and obj.__name__ in public_modules():
            return f":mod:`{name} <{obj.__name__}>`"
        canon = canonical_name(obj)
        if canon:
            role = "class" if inspect.isclass(obj) else "func"
            return f":{role}:`{name} <{canon}>`"
    return f"``{name}``"


def package_overview(modname, doc):
    """reST lines for a package docstring written as a plain-text overview.

    A line underlined with dashes is a heading (a rubric); a run of two or more aligned
    ``name   description`` lines (names separated by ", ") is a two-column table whose names
    link to their pages and whose descriptions are shown as written (escaped); every other
    line is reST as it stands."""
    src = doc.splitlines()
    out, i = [], 0
    while i < len(src):
        line = src[i]
        if line.strip() and i + 1 < len(src) and _HEADING.match(src[i + 1].strip()):
            out += ["", f".. rubric:: {line.strip()}", ""]
            i += 2
            continue
        j = i
        while j < len(src) and _ENTRY.match(src[j]):
            j += 1
        if j - i >= 2:
            out += ["", ".. list-table::", "   :class: flatlib-overview", ""]
            for entry in src[i:j]:
                names, desc = _ENTRY.match(entry).groups()
                links = ", ".join(_overview_link(modname, n) for n in names.split(", "))
                out += [f"   * - {links}", f"     - {_rst_escape(desc)}"]
            out.append("")
            i = j
            continue
        out.append(line)
        i += 1
    return out


def _module_page(modname):
    own, reexported = _members(modname)
    title = modname
    mod = importlib.import_module(modname)
    if hasattr(mod, "__path__"):
        # package docstrings are plain-text overviews: headings, aligned "name  description"
        # lines (turned into a linked table) and reST paragraphs
        lines = [title, "=" * len(title), "", f".. py:module:: {modname}", ""]
        lines += package_overview(modname, inspect.getdoc(mod) or "") + [""]
    else:
        lines = [title, "=" * len(title), "", f".. automodule:: {modname}", ""]
    lines += [f".. currentmodule:: {modname}", ""]
    if own:
        # no signatures in the table: they do not wrap (non-breaking spaces) and the
        # object's own page shows them
        lines += [".. rubric:: Defined here", "", ".. autosummary::", "   :toctree: generated",
                  "   :nosignatures:", ""]
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
    at = section.index(title) + 1 if title is not None else 0
    if at < len(section) and isinstance(section[at], nodes.block_quote):
        at += 1          # after the opening box (what the paper says, what the notebook adds)
    section.insert(at, box)


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


# --------------------------------------------------------------------------- the reader's view
# Code cells: the call into flatlib stays in view; plotting, printing and checking code is
# folded behind a toggle (its outputs stay visible). Decided from the code itself, so no
# notebook needs tags: a statement is *presentation* when it plots (matplotlib, or a name a
# plotting call returned), prints, checks (``assert``), or only feeds such statements, and
# calls no flatlib function (``flatlib.figures`` aside). A cell made only of presentation
# statements is folded whole; a cell ending with a run of them shows its head and folds the
# tail.
PLOT_ROOTS = frozenset({"plt", "matplotlib", "mpl", "show", "style", "savefig"})
PRINT_NAMES = frozenset({"print", "display"})
NBVAL_MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*\n?", re.M)


def _root(node):
    """The name at the root of ``a.b(c).d[e]``, else None."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Starred):
            node = node.value
        else:
            break
    return node.id if isinstance(node, ast.Name) else None


_SCOPES = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp, ast.Lambda,
           ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _stores(node):
    """Names bound by ``node`` in the enclosing scope (not inside comprehensions, lambdas,
    function or class bodies)."""
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.add(n.id)
        if n is not node and isinstance(n, _SCOPES):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(n.name)
            continue
        stack.extend(ast.iter_child_nodes(n))
    return out


def _bound(stmt):
    """Names a statement binds (assignment targets, loop variables, defs, imports)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return _stores(stmt)


def _args(a):
    return {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs} | \
        {x.arg for x in (a.vararg, a.kwarg) if x is not None}


def _free(node):
    """Names ``node`` reads that it does not bind first (comprehension variables, lambda and
    function parameters and loop variables are local)."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        local, free = set(), set()
        for gen in node.generators:
            free |= _free(gen.iter) - local
            local |= _stores(gen.target)
            for cond in gen.ifs:
                free |= _free(cond) - local
        for part in ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]):
            free |= _free(part) - local
        return free
    if isinstance(node, ast.Lambda):
        return (_free(node.body) - _args(node.args)) | _union(node.args.defaults + node.args.kw_defaults)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        outer = node.decorator_list + node.args.defaults + node.args.kw_defaults
        return (_block(node.body) - _args(node.args)) | _union(outer)
    if isinstance(node, ast.For):
        return _free(node.iter) | (_block(node.body) - _stores(node.target)) | _block(node.orelse)
    if isinstance(node, (ast.While, ast.If)):
        return _free(node.test) | _block(node.body) | _block(node.orelse)
    if isinstance(node, ast.With):
        bound = set().union(*(_stores(i.optional_vars) for i in node.items if i.optional_vars))
        return _union([i.context_expr for i in node.items]) | (_block(node.body) - bound)
    return _union(list(ast.iter_child_nodes(node)))


def _union(items):
    return set().union(*(_free(x) for x in items if x is not None))


def _block(stmts):
    """Free names of a statement sequence: a name bound by a statement is not free in the
    statements after it."""
    free, bound = set(), set()
    for stmt in stmts:
        free |= _free(stmt) - bound
        bound |= _bound(stmt)
    return free


def _loaded(stmt):
    return _free(stmt)


def free_names(source):
    """Names a cell reads before binding them (what it takes from earlier cells), and the
    names it binds at its top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(), set()
    return _block(tree.body), set().union(*(_bound(s) for s in tree.body))


def _flatlib_names(sources):
    """Local names under which the notebook imported flatlib (or something from it), except
    the figure helpers: calling one of them is a call into the library."""
    names = set()
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == PACKAGE and a.name != f"{PACKAGE}.figures":
                        names.add((a.asname or a.name).split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] == PACKAGE and node.module != f"{PACKAGE}.figures":
                    names |= {a.asname or a.name for a in node.names if a.name != "figures"}
    return names


def _kind(stmt, plot, library, needed):
    """'plot', 'print', 'check' or 'data' (feeds presentation only) for a presentation
    statement; None for a statement the reader should see."""
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]
    if any(_root(c.func) in library for c in calls):
        return None                        # a call into flatlib stays in view
    if isinstance(stmt, ast.Assert):
        return "check"
    if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
        return "data"
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        root = _root(stmt.value.func)
        if root in plot:
            return "plot"
        if isinstance(stmt.value.func, ast.Name) and stmt.value.func.id in PRINT_NAMES:
            return "print"
        func = stmt.value.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if last.startswith(("assert", "check")):
            return "check"
        return None
    if isinstance(stmt, (ast.For, ast.While, ast.If, ast.With)):
        own = set()
        if isinstance(stmt, ast.For):
            own = {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
        elif isinstance(stmt, ast.With):
            own = {n.id for item in stmt.items if item.optional_vars is not None
                   for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)}
        if own & needed:
            return None
        kinds = [_kind(s, plot, library, needed) for s in stmt.body + getattr(stmt, "orelse", [])]
        if not kinds or None in kinds:
            return None
        for k in ("plot", "check", "print"):
            if k in kinds:
                return k
        return "data"
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.FunctionDef)):
        if _bound(stmt) & needed:
            return None
        value = getattr(stmt, "value", None)
        return "plot" if value is not None and _root(value) in plot else "data"
    return None


def classify_cell(source, used_later=frozenset(), library=frozenset()):
    """How much of a code cell to fold: ``(split_line, kinds)``.

    ``split_line`` is None (show the whole cell), 0 (fold the whole cell) or the index of the
    first line of the folded tail; ``kinds`` names what the folded part does ("plotting",
    "checks", "printing"). ``used_later``: names later cells read from this one;
    ``library``: the local names of flatlib functions and modules.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None, ()
    if not tree.body:
        return None, ()
    plot = set(PLOT_ROOTS)
    changed = True
    while changed:      # names returned by plotting calls (fig, ax = plt.subplots(), ...)
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                hit = node.value is not None and _root(node.value) in plot
            elif isinstance(node, ast.For):     # for ax, data in zip(axes, ...)
                hit = bool(_free(node.iter) & plot)
            else:
                continue
            if hit:
                new = _bound(node) if isinstance(node, (ast.Assign, ast.AnnAssign)) else \
                    {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
                if new - plot:
                    plot |= new
                    changed = True
    needed = set(used_later)
    kinds = [None] * len(tree.body)
    for i in range(len(tree.body) - 1, -1, -1):
        stmt = tree.body[i]
        kinds[i] = _kind(stmt, plot, library, needed)
        if kinds[i] is None:
            needed |= _loaded(stmt)
    start = len(tree.body)
    while start > 0 and kinds[start - 1] is not None:
        start -= 1
    tail = kinds[start:]
    if not any(k in ("plot", "check") for k in tail):
        return None, ()       # nothing to fold but printing: keep the cell as written
    names = [w for k, w in (("plot", "plotting"), ("check", "checks"), ("print", "printing")) if k in tail]
    if start == 0:
        return 0, tuple(names)
    lines = source.splitlines()
    first = tree.body[start].lineno - 1
    if getattr(tree.body[start], "decorator_list", None):
        first = min(d.lineno for d in tree.body[start].decorator_list) - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1             # the comment introducing the tail goes with it
    return first, tuple(names)


def _cell_source(cell):
    for node in cell.findall(nodes.literal_block):
        parent = node.parent
        if isinstance(parent, nodes.container) and parent.get("nb_element") == "cell_code_source":
            return node
    return None


class ReadersView(SphinxPostTransform):
    """Notebook pages: fold presentation code, drop nbval markers from the shown source,
    render printed aligned tables as HTML tables. Runs before myst-nb wraps hidden input
    (its ``HideInputCells``, priority 199)."""

    default_priority = 190
    formats = ("html",)

    def run(self, **kwargs):
        if not self.env.docname.startswith("notebooks/"):
            return
        cells = [c for c in self.document.findall(nodes.container) if c.get("nb_element") == "cell_code"]
        sources = []
        for cell in cells:
            block = _cell_source(cell)
            sources.append(NBVAL_MARKER.sub("", block.astext()) if block is not None else "")
        library = _flatlib_names(sources)
        scans = [free_names(s) for s in sources]
        for k, cell in enumerate(cells):
            for out in list(cell.findall(nodes.literal_block)):
                if "stream" in out.get("classes", []):
                    _tabulate_output(out)
            block = _cell_source(cell)
            if block is None:
                continue
            if NBVAL_MARKER.search(block.astext()):
                text = NBVAL_MARKER.sub("", block.astext())
                block.children = [nodes.Text(text)]
                block.rawsource = text
            tags = cell.get("cell_metadata", {}).get("tags", [])
            if "parameters" in tags or cell.get("hide_mode") or any(t.startswith(("hide", "remove")) for t in tags):
                continue
            used_later, shadowed = set(), set()
            for free, bound in scans[k + 1:]:
                used_later |= free - shadowed
                shadowed |= bound
            split, kinds = classify_cell(sources[k], used_later, library)
            if split is None:
                continue
            prompt = f"Show code ({', '.join(kinds)})"
            if split == 0:
                cell["hide_mode"] = "input"
                cell["prompt_show"], cell["prompt_hide"] = prompt, "Hide code"
                cell["classes"].append("flatlib-folded")
                continue
            from myst_nb.sphinx_ import HideCodeCellNode

            lines = sources[k].splitlines(keepends=True)
            head, tail = "".join(lines[:split]).rstrip() + "\n", "".join(lines[split:])
            shown = block.deepcopy()
            shown.children, shown.rawsource = [nodes.Text(head)], head
            hidden = block.deepcopy()
            hidden.children, hidden.rawsource = [nodes.Text(tail)], tail
            wrap = HideCodeCellNode(prompt_show=prompt, prompt_hide="Hide code")
            wrap["classes"] += ["above-input", "flatlib-folded-tail"]
            wrap += hidden
            parent = block.parent
            index = parent.index(block)
            parent.remove(block)
            parent.insert(index, shown)
            parent.insert(index + 1, wrap)


# Printed tables. A block of lines is an aligned table when the character columns blank in
# every data row split the rows into at least two columns. Between two columns the data rows
# leave a gap; a gap of a single space in some row is ambiguous ("+0.43 [+0.08, +0.78]" is one
# cell, "10000.0001 10000.0001" two): a header line decides (two columns when different header
# phrases, separated by two spaces or more, stand over them), and without one it is one cell.
# A column with no data joins the one under which its header stands; a header word goes to
# the column it overlaps, else to that of the next word to its right.
_NUMBER = re.compile(r"[<>≈~]?\s*[+\-−]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+\-]?\d+)?%?")
_NUMERIC = re.compile(r"^[\[(<>≈~]*\s*[+\-−]?(?:\d|\.\d|inf\b|nan\b)")


def _runs(line, sep):
    """(start, end) of the runs of ``line`` separated by ``sep`` spaces or more."""
    pattern = r"\S+(?: {1,%d}\S+)*" % (sep - 1) if sep > 1 else r"\S+"
    return [(m.start(), m.end()) for m in re.finditer(pattern, line)]


def _overlap(a, b):
    return min(a[1], b[1]) - max(a[0], b[0])


def _blank_spans(lines, width):
    blank = [all(p[i] == " " for p in lines) for i in range(width)]
    spans, i = [], 0
    while i < width:
        if blank[i]:
            i += 1
            continue
        j = i
        while j < width and not blank[j]:
            j += 1
        spans.append([i, j])
        i = j
    return spans


def _assign(spans, runs, line):
    """Header text per column: each run to the column it overlaps; a run overlapping several
    is split into words; a word overlapping none goes with the next word to its right that
    overlaps one (right-aligned headers), or to the nearest column."""
    words = []
    for run in runs:
        cols = [k for k, sp in enumerate(spans) if _overlap(sp, run) > 0]
        if len(cols) <= 1:
            words.append((run, cols[0] if cols else None))
            continue
        for w in _runs(line[run[0]:run[1]], 1):
            w = (run[0] + w[0], run[0] + w[1])
            cols = [k for k, sp in enumerate(spans) if _overlap(sp, w) > 0]
            words.append((w, cols[0] if cols else None))
    cells = [[] for _ in spans]
    for n, (w, col) in enumerate(words):
        if col is None:
            col = next((c for _, c in words[n + 1:] if c is not None), None)
        if col is None:
            col = min(range(len(spans)), key=lambda k: max(spans[k][0] - w[1], w[0] - spans[k][1], 0))
        cells[col].append(line[w[0]:w[1]])
    return [" ".join(c) for c in cells]


def _parse(lines, with_header):
    width = max(len(line) for line in lines)
    padded = [line.ljust(width) for line in lines]
    head, data = (padded[0], padded[1:]) if with_header else (None, padded)
    spans = _blank_spans(data, width)
    phrases = _runs(head, 2) if head is not None else []
    k = 0
    while k < len(spans) - 1:
        (a0, a1), (b0, b1) = spans[k], spans[k + 1]
        gaps = []
        for p in data:
            left, right = p[a0:a1].rstrip(), p[b0:b1]
            if left.strip() and right.strip():
                gaps.append(b0 + len(right) - len(right.lstrip()) - (a0 + len(left)))
        over_left = {n for n, ph in enumerate(phrases) if _overlap(ph, (a0, a1)) > 0}
        over_right = {n for n, ph in enumerate(phrases) if _overlap(ph, (b0, b1)) > 0}
        header_splits = bool(over_left and over_right and not (over_left & over_right))
        if gaps and min(gaps) < 2 and not header_splits:
            spans[k:k + 2] = [[a0, b1]]
        else:
            k += 1
    k = 0
    while k < len(spans) and len(spans) > 1:   # columns without data join their neighbour
        a0, a1 = spans[k]
        if all(not p[a0:a1].strip() for p in data):
            if k + 1 < len(spans):
                spans[k + 1][0] = a0
            else:
                spans[k - 1][1] = a1
            del spans[k]
        else:
            k += 1
    rows = [[p[a:b].strip() for a, b in spans] for p in data]
    # two columns at least (three rows if only two); empty cells only in the last column
    if len(spans) < 2 or len(rows) < (3 if len(spans) == 2 else 2):
        return None
    if any(not cell for row in rows for cell in row[:-1]) or not any(r[-1] for r in rows):
        return None
    header = _assign(spans, phrases, head) if head is not None else None
    return header, rows


def _is_header(header, rows):
    """A header line has text, no number for a cell, and stands over a row with numbers."""
    return (any(header) and not any(_NUMBER.fullmatch(c) for c in header if c)
            and any(_NUMERIC.match(c) for c in rows[0]))


def _prose(line):
    """A line with a single run of text (single spaces only) that is not a list of numbers."""
    tokens = line.split()
    return len(_runs(line, 2)) < 2 and not (
        len(tokens) >= 2 and 2 * sum(bool(_NUMBER.fullmatch(t)) for t in tokens) >= len(tokens))


def parse_text_table(lines):
    """``(header, rows)`` of an aligned text table (``header`` None when its first line is a
    row), or None if ``lines`` is not one."""
    # every line has two runs of text at least (separated by two spaces or more): a line of
    # prose is never a row
    if len(lines) < 3 or any("\t" in line or _prose(line) for line in lines):
        return None
    headed = _parse(lines, with_header=True)
    plain = _parse(lines, with_header=False)
    if headed is not None and (_is_header(*headed) or plain is None or len(headed[1][0]) > len(plain[1][0])):
        return headed
    return plain


def _strict_header(table):
    header, rows = table
    return header is not None and _is_header(header, rows)


def _table_score(table):
    """Prefer more cells (a row of prose among the rows merges columns), then a header."""
    header, rows = table
    return (len(rows[0]) * len(rows), header is not None)


def split_printed_tables(text):
    """A printed output as pieces ``("text", str)`` and ``("table", (header, rows))``."""
    lines = text.split("\n")
    pieces, buf, i = [], [], 0

    def table_at(i):
        end = i
        while end < len(lines) and lines[end].strip():
            end += 1
        best = None
        for j in range(i + 3, end + 1):
            table = parse_text_table(lines[i:j])
            if table and (best is None or _table_score(table) >= _table_score(best[1])):
                best = (j, table)
        return best

    while i < len(lines):
        found = table_at(i)
        if found:
            nxt = table_at(i + 1)   # a title line above the header: keep it as text
            if nxt and not _strict_header(found[1]) and _strict_header(nxt[1]):
                found = None
        if found:
            if buf:
                pieces.append(("text", "\n".join(buf) + "\n"))
                buf = []
            pieces.append(("table", found[1]))
            i = found[0]
        else:
            buf.append(lines[i])
            i += 1
    rest = "\n".join(buf)
    if rest.strip():
        pieces.append(("text", rest))
    return pieces


_TOKEN = re.compile(r"\[[^\]\s]*(?: [^\]\s]+){0,2}\]|\([^)\s]*(?: [^)\s]+){0,2}\)|\S+")


def _table_node(table):
    header, rows = table
    n = len(rows[0])
    node = nodes.table(classes=["flatlib-printed-table"])
    group = nodes.tgroup(cols=n)
    node += group
    for _ in range(n):
        group += nodes.colspec(colwidth=1)

    def row(cells, head=False):
        r = nodes.row()
        for cell in cells:
            entry = nodes.entry(classes=["num"] if (not head and _NUMERIC.match(cell)) else [])
            para = nodes.paragraph(cell)
            # a cell wraps between its tokens, never inside "[+0.08, +0.78]" or "(1, 1)"
            for n, token in enumerate(_TOKEN.findall(cell)):
                if n:
                    para += nodes.Text(" ")
                para += nodes.inline(token, token, classes=["nowrap"])
            entry += para
            r += entry
        return r

    if header is not None:
        group += nodes.thead("", row(header, head=True))
    body = nodes.tbody()
    for cells in rows:
        body += row(cells)
    group += body
    return node


def _tabulate_output(block):
    pieces = split_printed_tables(block.astext())
    if not any(kind == "table" for kind, _ in pieces):
        return
    box = nodes.container(classes=["output", "stream", "flatlib-printed"])
    for kind, payload in pieces:
        if kind == "table":
            box += _table_node(payload)
        else:
            text = block.deepcopy()
            text.children, text.rawsource = [nodes.Text(payload)], payload
            box += text
    block.replace_self(box)


# --------------------------------------------------------------------------- titles and links
def number_notebook_title(app, doctree):
    """Notebook pages are titled ``NN · Title`` (NN from the file name), so the sidebar,
    the page and the browser tab carry the number the README uses."""
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    m = re.match(r"(\d+)_", docname.split("/", 1)[1])
    section = next(iter(doctree.findall(nodes.section)), None)
    if m is None or section is None:
        return
    title = next(iter(section.findall(nodes.title)), None)
    if title is not None and not title.astext().startswith(m.group(1)):
        title.insert(0, nodes.Text(f"{m.group(1)} · "))


def _notebook_pages(env):
    return {d.split("/", 1)[1]: d for d in env.found_docs if d.startswith("notebooks/")}


class LandingLinks(SphinxPostTransform):
    """On the landing page (the README), inline code naming a notebook (``07_...`` or its
    number ``07``), a flatlib function, class or module (``flatlib.max_variation``,
    ``max_variation``, ``flatlib.problems.MLP``, ``flatlib/spectral.py``) links to its page.
    The README stays plain Markdown for GitHub; the links exist only in the book."""

    default_priority = 7          # before RepositoryLinks (8) and the resolver (10)

    def run(self, **kwargs):
        if self.env.docname != self.config.root_doc:
            return
        pages = _notebook_pages(self.env)
        by_number = {}
        for stem, doc in pages.items():
            by_number.setdefault(stem.split("_", 1)[0], []).append(doc)
        for lit in list(self.document.findall(nodes.literal)):
            if isinstance(lit.parent, (nodes.reference, addnodes.pending_xref, nodes.literal_block)):
                continue
            text = lit.astext().strip()
            doc = pages.get(text)
            if doc is None and re.fullmatch(r"\d\d", text) and len(by_number.get(text, [])) == 1:
                doc = by_number[text][0]
            if doc is not None:
                ref = nodes.reference("", "", internal=True,
                                      refuri=self.app.builder.get_relative_uri(self.env.docname, doc))
                ref += lit.deepcopy()
                lit.replace_self(ref)
                continue
            target = _api_target(text)
            if target is not None:
                role, name = target
                xref = addnodes.pending_xref("", lit.deepcopy(), refdomain="py", reftype=role,
                                             reftarget=name, refexplicit=True, refwarn=True,
                                             **{"py:module": None, "py:class": None})
                lit.replace_self(xref)


def _api_target(text):
    """(role, canonical name) of the flatlib object or module ``text`` names, else None.

    ``flatlib.x.y`` and ``flatlib/x/y.py`` may name a module, a function or a class; a bare
    name (``max_variation``) only a function or class that ``flatlib`` exports, so that a
    word such as ``figures/`` (a folder) is not taken for a module."""
    name = re.split(r"[(\s\[]", text, maxsplit=1)[0].rstrip(".,;:")
    if name.startswith(PACKAGE + "/"):
        name = name.removesuffix(".py").strip("/").replace("/", ".")
    elif not (name == PACKAGE or name.startswith(PACKAGE + ".")):
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            return None
        obj = getattr(importlib.import_module(PACKAGE), name, None) if name in getattr(
            importlib.import_module(PACKAGE), "__all__", ()) else None
        canon = canonical_name(obj)
        return None if canon is None else ("class" if inspect.isclass(obj) else "func", canon)
    if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
        return None
    obj = _resolve(name)
    if inspect.ismodule(obj):
        return ("mod", obj.__name__) if obj.__name__ in public_modules() else None
    canon = canonical_name(obj)
    return None if canon is None else ("class" if inspect.isclass(obj) else "func", canon)


class FigureGrids(SphinxPostTransform):
    """Markdown tables used as figure grids (every cell an image, or empty) become the
    figures one under the other, each as wide as the column: in a two-column grid a
    1200-pixel figure shrank to a third of its size and its legend could not be read."""

    default_priority = 6

    def run(self, **kwargs):
        for table in list(self.document.findall(nodes.table)):
            entries = list(table.findall(nodes.entry))
            images = list(table.findall(nodes.image))
            # (an image's astext() is its alt text: look at the text nodes themselves)
            if not images or any(t.strip() for e in entries for t in e.findall(nodes.Text)):
                continue
            box = nodes.container(classes=["flatlib-figure-grid"])
            for img in images:
                box += nodes.paragraph("", "", img.deepcopy())
            table.replace_self(box)


class FigureProvenance(SphinxPostTransform):
    """Every code cell of a notebook page gets the anchor ``cell-K`` (K: its 1-based position
    in the notebook, as ``figures/MANIFEST.json`` counts); under every figure of the landing
    page, a line names the notebook cell that made it, linked to that anchor, with the
    parameters of the run (from the manifest that ``python -m flatlib reproduce`` writes)."""

    default_priority = 9          # after FigureGrids (6) and the landing links (7, 8)

    def run(self, **kwargs):
        docname = self.env.docname
        if docname.startswith("notebooks/"):
            for cell in self.document.findall(nodes.container):
                if cell.get("nb_element") == "cell_code" and cell.get("cell_index") is not None:
                    cell["ids"].append(f"cell-{cell['cell_index'] + 1}")
            return
        if docname != self.config.root_doc:
            return
        manifest = figure_manifest()
        pages = _notebook_pages(self.env)
        for img in list(self.document.findall(nodes.image)):
            m = re.search(r"figures/([^/]+)\.png$", img.get("uri", ""))
            entry = manifest.get(m.group(1)) if m else None
            if entry is None or entry.get("notebook") not in pages:
                continue
            holder = img.parent if isinstance(img.parent, (nodes.paragraph, nodes.reference)) else img
            if isinstance(holder, nodes.reference) and isinstance(holder.parent, nodes.paragraph):
                holder = holder.parent
            uri = self.app.builder.get_relative_uri(docname, pages[entry["notebook"]])
            where = f"cell {entry['cell']}" if entry.get("cell") else "the notebook"
            anchor = f"#cell-{entry['cell']}" if entry.get("cell") else ""
            params = ", ".join(f"{k} = {v}" for k, v in entry.get("parameters", {}).items()
                               if k in ("seed", "fast", "full"))
            line = nodes.paragraph(classes=["flatlib-figure-source"])
            line += nodes.Text(f"{m.group(1)}.png: made by ")
            ref = nodes.reference("", "", internal=True, refuri=uri + anchor)
            ref += nodes.literal(text=f"{entry['notebook']}, {where}")
            line += ref
            if params:
                line += nodes.Text(f" ({params})")
            holder.parent.insert(holder.parent.index(holder) + 1, line)


def figure_manifest():
    """``{figure name: entry}`` of ``figures/MANIFEST.json`` (empty if it is missing)."""
    path = Path(__file__).resolve().parents[2] / "figures" / "MANIFEST.json"
    try:
        return json.loads(path.read_text())["figures"]
    except (OSError, ValueError, KeyError):
        return {}


def setup(app):
    # before autosummary looks for its stub files and Sphinx discovers the sources
    app.connect("config-inited", write_sources)
    app.connect("doctree-read", number_notebook_title, priority=100)   # before the title collector
    app.connect("doctree-read", add_functions_used)
    app.connect("missing-reference", resolve_alias)
    app.connect("autodoc-skip-member", skip_data_members)
    app.add_post_transform(RepositoryLinks)
    app.add_post_transform(LandingLinks)
    app.add_post_transform(FigureGrids)
    app.add_post_transform(FigureProvenance)
    app.add_post_transform(ReadersView)
    # after numpydoc (priority 500) has turned the numpy sections into reST
    app.connect("autodoc-process-docstring", add_used_in, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
