"""The networks package flatlib.networks: its public names, the split of the rescaling symmetry
out of the model, and the deprecated aliases under flatlib.problems (one release)."""
import importlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import flatlib.networks as nets
from flatlib.networks import MLP, rescaling


def test_flatlib_networks_is_an_attribute_of_flatlib():
    """``import flatlib as fl; fl.networks.MLP`` in a fresh interpreter (no prior import of the
    subpackage: a lazy attribute or an eager import must provide it)."""
    code = "import flatlib as fl; print(fl.networks.MLP.__module__, fl.problems.MatrixFactorization.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["flatlib.networks.mlp", "MatrixFactorization"]


@pytest.mark.parametrize("old, new", [("flatlib.problems.mlp", "flatlib.networks.mlp"),
                                      ("flatlib.problems.digits", "flatlib.networks.digits"),
                                      ("flatlib.problems.training", "flatlib.networks.training"),
                                      ("flatlib.problems.generalization", "flatlib.networks.measures")])
def test_old_module_names_warn_and_give_the_same_objects(old, new):
    """The alias modules re-export the very objects of the new modules, and importing them
    warns (in a fresh interpreter: a module already imported would not warn again)."""
    code = (f"import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            f"try:\n    import {old}\nexcept DeprecationWarning as w:\n    print('warned:', w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("warned: ") and new.rsplit(".", 1)[0] in out.stdout, \
        out.stdout + out.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        o, n = importlib.import_module(old), importlib.import_module(new)
    shared = [name for name in n.__all__ if name in o.__all__]
    assert shared and all(getattr(o, name) is getattr(n, name) for name in shared)


@pytest.mark.parametrize("name", ["MLP", "load_digits", "train", "TrainResult", "sweep", "train_from_config"])
def test_old_package_attributes_warn_and_resolve(name):
    import flatlib.problems as probs

    with pytest.warns(DeprecationWarning, match=f"flatlib.networks.{name}"):
        obj = getattr(probs, name)
    assert obj is getattr(nets, name)
    with pytest.raises(AttributeError, match="no_such_name"):
        probs.no_such_name


def test_model_delegates_the_symmetry_to_the_rescaling_module():
    """The MLP methods and the rescaling functions are the same maps (one implementation), and the
    model class no longer carries the balancing machinery itself."""
    rng = np.random.default_rng(3)
    net = MLP((3, 4, 5, 2), rng.standard_normal((9, 3)), rng.integers(0, 2, 9))
    th = net.init(rng)
    c = net.random_scales(1)
    assert np.array_equal(net.rescale(th, c), rescaling.rescale(net, th, c))
    assert np.array_equal(net.charges(th), rescaling.charges(net, th))
    assert np.array_equal(net.balance(th), rescaling.balance(net, th))
    assert np.array_equal(net.generator_diagonals(), rescaling.generator_diagonals(net))
    for private in ("_balance_newton", "_balance_flow", "_norm_hessian", "_in_out"):
        assert not hasattr(MLP, private), private


NETWORK_MODULES = ["mlp", "rescaling", "digits", "training", "sweep", "search", "measures", "robustness",
                   "ranking", "study"]


@pytest.mark.parametrize("name", NETWORK_MODULES)
def test_every_public_function_and_class_has_an_example(name):
    """Like tests/test_docs.py for the core: every public callable of every networks module states
    a runnable example (result containers and constants excepted)."""
    import inspect

    mod = importlib.import_module(f"flatlib.networks.{name}")
    missing = []
    for attr in mod.__all__:
        obj = getattr(mod, attr)
        if not callable(obj) or (inspect.isclass(obj) and attr.endswith(("Result", "Measures", "Error",
                                                                             "Kendall"))):
            continue
        if ">>>" not in (inspect.getdoc(obj) or ""):
            missing.append(attr)
    assert not missing, f"flatlib.networks.{name}: no example in {missing}"
