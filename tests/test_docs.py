"""Every public function and class states its mathematics and carries a runnable example
(the examples themselves run under ``pytest --doctest-modules flatlib``).

The modules are every public module of the package, found as the book finds them
(``docs/_ext/flatlib_book.py``: importable, no ``_`` in the path), so a new module (the
``flatlib.networks`` package, say) is covered without editing this file. Left out: the top
layer (figures and provenance of a run: helpers of the notebooks and of ``python -m
flatlib``, not library interfaces), and the containers a function returns (dataclasses,
exceptions and warnings), documented with the function that returns them.
"""
import dataclasses
import importlib
import inspect
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
from flatlib_modules import public_modules  # noqa: E402  (importable without Sphinx)

TOP_LAYER = {"flatlib.figures", "flatlib.provenance"}
MODULES = [m for m in public_modules() if m not in TOP_LAYER]


def _container(obj):
    return inspect.isclass(obj) and (dataclasses.is_dataclass(obj) or issubclass(obj, (Exception, Warning))
                                     or obj.__name__.endswith(("Result", "Bracket")) or obj.__name__ == "SharpnessTable")


def _public(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # moved names, kept for one release
        mod = importlib.import_module(module)
        names = getattr(mod, "__all__", [])
        objects = [(name, getattr(mod, name)) for name in names]
    for name, obj in objects:
        if inspect.ismodule(obj) or not callable(obj) or _container(obj):
            continue
        yield name, obj


def test_the_networks_and_problems_packages_are_covered():
    assert {"flatlib.profiles", "flatlib.problems.matrix_factorization", "flatlib.networks.mlp",
            "flatlib.networks.rescaling"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_public_objects_have_docstring_and_example(module):
    missing = [name for name, obj in _public(module) if ">>>" not in (inspect.getdoc(obj) or "")]
    assert not missing, f"{module}: no runnable example in {missing}"
