"""A pytest plugin that breaks flatlib's solvers on purpose (used by ``tests/test_sabotage.py``).

Load it with ``-p sabotage_plugin`` (``tests/`` on ``PYTHONPATH``) and choose the sabotage with
the environment variable ``FLATLIB_SABOTAGE``:

``half``     every maximal variation returned is half the true one (``value``, ``up``, ``down``
             and ``upper`` halved; the maximizer is unchanged);
``zero``     every maximal variation returned is 0 (``upper`` too);
``outside``  the value is kept but the returned maximizer is moved out of the ball, to distance
             ``2 r`` from the centre in the same direction (``1e-3`` from it when ``r = 0``);
``none``     the same wrappers, returning the solvers' results unchanged (the control run:
             the wrapping alone must break nothing).

Entry points replaced: :func:`flatlib.profiles.max_variation` (every function, quadratics
included), :func:`flatlib.trust_region_max` (both return forms), and the methods
``Quadratic.max_variation`` and ``Quadratic.max_variation_with_bound`` (when present), under
every name a loaded ``flatlib`` module binds them to (``flatlib.max_variation``,
``flatlib.preorder.max_variation``, ...), so that every caller, including ``flatness_order``,
``compare_flatness``, ``level_distance`` and ``Quadratic.level_distance``, sees the sabotaged
result. A call made *inside* another sabotaged call (``max_variation`` of a ``Quadratic``
calling ``max_variation_with_bound``) is passed through, so each result is sabotaged once.
The certified grid bracket (``flatlib.certify``) is left intact: it is a reference of the tests.

Hypothesis runs without shrinking and without its example database here, so a failing
property test stops at its first failing example and leaves no trace.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import sys

import numpy as np

MODES = ("none", "half", "zero", "outside")
MODE = os.environ.get("FLATLIB_SABOTAGE")   # None: imported, not loaded as the plugin

VALUE_FIELDS = ("value", "up", "down", "upper")
POINT_FIELDS = ("argmax", "u")
_depth = 0  # nesting depth of sabotaged calls: only the outermost result is changed


def _outside(x, y, r):
    """A point at distance 2r from x in the direction of y - x (any direction if y = x)."""
    d = np.asarray(y, dtype=float) - x
    nd = float(np.linalg.norm(d))
    if nd == 0.0:
        d, nd = np.eye(x.size)[0], 1.0
    return x + d * ((2.0 * r if r > 0 else 1e-3) / nd)


def _value(v):
    if v is None or MODE not in ("half", "zero"):
        return v
    s = 0.5 if MODE == "half" else 0.0
    return float(v) * s if np.ndim(v) == 0 else np.asarray(v, dtype=float) * s


def _point(y, x, r):
    if y is None or MODE != "outside":
        return y
    x = np.asarray(x, dtype=float).ravel()
    if np.ndim(r) == 0:
        return _outside(x, y, float(r))
    return np.array([_outside(x, yi, float(ri)) for yi, ri in zip(y, r)])


def _sabotage(res, x, r):
    """The result ``res`` with its values and maximizer sabotaged; ``x`` the centre (zeros for
    a trust-region step ``u``), ``r`` the radius (radii)."""
    if MODE == "none":
        return res
    if dataclasses.is_dataclass(res):
        names = {f.name for f in dataclasses.fields(res)}
        new = {k: _value(getattr(res, k)) for k in VALUE_FIELDS if k in names}
        new.update({k: _point(getattr(res, k), x, r) for k in POINT_FIELDS if k in names})
        return dataclasses.replace(res, **new)
    if hasattr(res, "_fields"):  # named tuple
        new = {k: _value(getattr(res, k)) for k in VALUE_FIELDS if k in res._fields}
        new.update({k: _point(getattr(res, k), x, r) for k in POINT_FIELDS if k in res._fields})
        return res._replace(**new)
    if isinstance(res, tuple) and len(res) == 2:  # (value, point)
        return (_value(res[0]), _point(res[1], x, r))
    raise TypeError(f"sabotage_plugin does not know the result type {type(res).__name__}")


def _guarded(orig, centre_radius):
    """Wrap ``orig``: call it, then sabotage the result unless called inside a sabotaged call.
    ``centre_radius(args, kwargs, result) -> (x, r)``."""
    @functools.wraps(orig)
    def wrapper(*args, **kwargs):
        global _depth
        _depth += 1
        try:
            res = orig(*args, **kwargs)
        finally:
            _depth -= 1
        if _depth:
            return res
        x, r = centre_radius(args, kwargs, res)
        return _sabotage(res, x, r)
    wrapper._sabotage_original = orig
    return wrapper


def _arg(args, kwargs, i, name):
    return args[i] if len(args) > i else kwargs[name]


def install():
    """Replace the entry points (idempotent); returns the names replaced."""
    import flatlib
    from flatlib import profiles, quadratic

    if getattr(flatlib, "_sabotaged", None):
        return flatlib._sabotaged
    try:  # load the modules that may bind the names too
        importlib.import_module("flatlib.problems")
    except ImportError:
        pass
    orig_mv, orig_trm = profiles.max_variation, quadratic.trust_region_max
    # max_variation(f, x, radius, ...): the result carries its radius (radii)
    mv = _guarded(orig_mv, lambda a, k, res: (_arg(a, k, 1, "x"), res.radius))
    # trust_region_max(Q, g, r): the step u is measured from 0
    trm = _guarded(orig_trm, lambda a, k, res: (np.zeros(np.size(_arg(a, k, 1, "g"))), _arg(a, k, 2, "r")))
    replaced = []
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name == "flatlib" or name.startswith("flatlib.")):
            continue
        for attr, new, old in (("max_variation", mv, orig_mv), ("trust_region_max", trm, orig_trm)):
            if getattr(mod, attr, None) is old:
                setattr(mod, attr, new)
                replaced.append(f"{name}.{attr}")
    Q = quadratic.Quadratic
    # Quadratic.max_variation(self, x, r, side) and max_variation_with_bound(self, x, r, side)
    for meth in ("max_variation", "max_variation_with_bound"):
        if hasattr(Q, meth):
            setattr(Q, meth, _guarded(getattr(Q, meth),
                                      lambda a, k, res: (_arg(a, k, 1, "x"), _arg(a, k, 2, "r"))))
            replaced.append(f"flatlib.quadratic.Quadratic.{meth}")
    flatlib._sabotaged = replaced
    return replaced


def pytest_configure(config):
    # Only as a plugin with FLATLIB_SABOTAGE set (importing this module, e.g. under
    # --doctest-modules, changes nothing). This runs after tests/conftest.py has loaded its
    # Hypothesis profile and before the test modules are imported: they bind the replaced
    # names, and their @settings inherit the unspecified options from the profile below.
    if MODE is None:
        return
    if MODE not in MODES:
        raise ValueError(f"FLATLIB_SABOTAGE must be one of {MODES}, got {MODE!r}")
    install()
    from hypothesis import Phase, settings

    settings.register_profile("sabotage", parent=settings.default, database=None,
                              derandomize=True, deadline=None,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    settings.load_profile("sabotage")


def pytest_terminal_summary(terminalreporter):
    if MODE is None:
        return
    import flatlib
    names = getattr(flatlib, "_sabotaged", None) or ["nothing"]
    terminalreporter.write_line(f"flatlib sabotage: {MODE}; replaced: {' '.join(names)}")
