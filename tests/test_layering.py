"""The import graph is one-directional: the core never imports problems, figures or the CLI."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "flatlib"
CORE = ["_validate", "_ascent", "quadratic", "profiles", "preorder", "calculus", "certify", "spectral",
        "sharpness", "symmetry", "flows"]
FORBIDDEN = ("problems", "matrix_factorization", "figures", "reproduce", "__main__", "matplotlib")


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")
            for a in node.names:
                yield a.name


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_upper_layers(module):
    names = list(_imports(PKG / f"{module}.py"))
    bad = [n for n in names if any(part in FORBIDDEN for part in n.replace(".", " ").split())]
    assert not bad, f"flatlib/{module}.py imports {bad}"
