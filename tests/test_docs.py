"""Every public function and class states its mathematics and carries a runnable example
(the examples themselves run under ``pytest --doctest-modules flatlib``)."""
import importlib
import inspect

import pytest

MODULES = ["profiles", "preorder", "quadratic", "calculus", "certify", "spectral", "sharpness", "symmetry",
           "flows", "dynamics", "problems.matrix_factorization", "problems.balancing", "problems.deep_factorization",
           "problems.diagonal_linear", "problems"]


def _public(module):
    mod = importlib.import_module(f"flatlib.{module}")
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        # result containers and warnings are documented where they are returned
        if inspect.isclass(obj) and (name.endswith(("Result", "Warning", "Bracket")) or name == "SharpnessTable"):
            continue
        yield name, obj


@pytest.mark.parametrize("module", MODULES)
def test_public_objects_have_docstring_and_example(module):
    missing = [name for name, obj in _public(module) if ">>>" not in (inspect.getdoc(obj) or "")]
    assert not missing, f"flatlib.{module}: no runnable example in {missing}"
