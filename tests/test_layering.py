"""The import graph is one-directional: core below, problems above, notebooks (and the CLI) on top.

Layers, by rank (a module may import only modules of its own rank or below):

0  core       ``flatlib/*.py`` except the top-layer modules below (and the package ``flatlib``)
1  problems   ``flatlib/problems/*.py``: worked problems, which use the core;
   networks   ``flatlib/networks/*.py``: the networks (model, data, training, measures, study),
              at the same rank (they use the core and ``flatlib.problems.base``; the deprecated
              aliases ``flatlib.problems.mlp`` etc. re-export them)
2  top        ``flatlib/figures.py``, ``flatlib/reproduce.py``, ``flatlib/provenance.py``, ``flatlib/__main__.py``
              (used by the notebooks and the command line)

matplotlib is imported by the top layer only.  Every import statement is checked, including
the ones inside function bodies, with relative imports resolved to absolute module names.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "flatlib"
TOP = {"flatlib.figures", "flatlib.reproduce", "flatlib.provenance", "flatlib.__main__"}
RANK_NAMES = {0: "core", 1: "problems/networks", 2: "top"}
MIDDLE = ("flatlib.problems", "flatlib.networks")


def _module_name(path):
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _rank(module):
    """Layer of a flatlib module name, or None for a module outside flatlib."""
    if module != "flatlib" and not module.startswith("flatlib."):
        return None
    if any(module == t or module.startswith(t + ".") for t in TOP):
        return 2
    if any(module == m or module.startswith(m + ".") for m in MIDDLE):
        return 1
    return 0


def _imports(path):
    """Absolute names of every module ``path`` imports (from-imports also yield ``pkg.name``)."""
    return list(_imports_of_source(path.read_text(), _module_name(path), path.name == "__init__.py"))


def _imports_of_source(src, name, is_package):
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target
            for a in node.names:
                yield f"{target}.{a.name}"


MODULES = sorted(PKG.rglob("*.py"))


def test_every_module_has_a_layer():
    names = {_module_name(p) for p in MODULES}
    assert TOP <= names, f"top-layer modules missing: {TOP - names}"
    assert any(_rank(n) == 1 for n in names) and any(_rank(n) == 0 for n in names)
    assert {"flatlib.networks", "flatlib.networks.mlp", "flatlib.problems"} <= names
    assert _rank("flatlib.networks.mlp") == _rank("flatlib.problems.base") == 1


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG.parent)))
def test_module_imports_only_its_layer_or_below(path):
    me = _module_name(path)
    rank = _rank(me)
    bad = [n for n in _imports(path) if (_rank(n) or 0) > rank]
    if rank < 2:
        bad += [n for n in _imports(path) if n.split(".")[0] == "matplotlib"]
    assert not bad, (f"{me} ({RANK_NAMES[rank]}) imports {sorted(set(bad))}: "
                     "core below, problems and networks above, figures/CLI/notebooks on top")


def test_importing_the_core_loads_no_upper_layer():
    """At run time too (string imports, import hooks): ``import flatlib`` and every core module
    leave ``flatlib.problems``, ``flatlib.networks``, the top layer and matplotlib unloaded."""
    core = [n for n in map(_module_name, MODULES) if _rank(n) == 0]
    code = ("import importlib, sys\n"
            f"for m in {core!r}: importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m.startswith(('flatlib.problems', 'flatlib.networks', 'matplotlib'))\n"
            f"             or m in {sorted(TOP)!r})\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"the core loads upper layers: {out.stdout.strip()}"


def test_checker_resolves_relative_imports():
    """A call-time ``from .problems.base import Problem`` in a core module (the import this file
    exists to forbid) and ``from .. import figures`` in a problem are both seen as upward."""
    core = list(_imports_of_source("def g():\n    from .problems.base import Problem\n",
                                   "flatlib.probe", False))
    assert "flatlib.problems.base" in core and _rank("flatlib.probe") == 0
    prob = list(_imports_of_source("from .. import figures\nfrom .base import Problem\n",
                                   "flatlib.problems.probe", False))
    assert "flatlib.figures" in prob and "flatlib.problems.base" in prob
    assert _rank("flatlib.figures") == 2 > _rank("flatlib.problems.probe") == 1
    pkg = list(_imports_of_source("from .base import Problem\n", "flatlib.problems", True))
    assert pkg == ["flatlib.problems.base", "flatlib.problems.base.Problem"]
    net = list(_imports_of_source("from ..figures import show\nfrom ..problems.base import Problem\n",
                                  "flatlib.networks.probe", False))
    assert "flatlib.figures" in net and _rank("flatlib.figures") > _rank("flatlib.networks.probe") == 1
    assert _rank("flatlib.problems.base.Problem") == _rank("flatlib.networks.probe")
