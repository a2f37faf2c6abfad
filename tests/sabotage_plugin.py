"""A pytest plugin that breaks flatlib on purpose (used by ``tests/test_sabotage.py``).

Load it with ``-p sabotage_plugin`` (``tests/`` on ``PYTHONPATH``) and choose the sabotage with
the environment variable ``FLATLIB_SABOTAGE``.

The maximal variation (``max_variation``, ``trust_region_max``, the ``Quadratic`` methods):

``half``     every maximal variation returned is half the true one (``value``, ``up``, ``down``
             and ``upper`` halved; the maximizer is unchanged);
``zero``     every maximal variation returned is 0 (``upper`` too);
``outside``  the value is kept but the returned maximizer is moved out of the ball, to distance
             ``2 r`` from the centre in the same direction (``1e-3`` from it when ``r = 0``);
``upper``    every certified upper end (of ``max_variation`` and of the grid bracket of
             ``flatlib.certify``) is 1% too low (the bracket's width shrunk by 1% and its
             upper end moved down by 1% of ``|lower|``);

the other computations, each off by a little:

``eig``      ``hessian_lambda_max``, ``hessian_lambda_min`` and ``hessian_trace``
             (``flatlib.spectral``) return 1.01 times the value;
``curv``     ``flatlib.curvature``: the eigenvalues of ``hessian_topk``, the traces of
             ``hutchinson``, ``hutchpp`` and ``deflated_hutchinson``, ``hessian_diagonal``, the
             nodes of ``spectral_density`` and the ``lambda_max`` and ``trace`` of
             ``block_measures`` are 1.01 times the true ones;
``calculus`` the leading constants of ``flatlib.calculus`` (first/second order, directional,
             separable sums) are 1.01 times the true ones;
``sharp``    ``epsilon_sharpness``, ``sam_sharpness`` and ``sublevel_volume`` return 1.01 times
             their values;
``symmetry`` ``symmetry_algebra`` returns its basis with 1e-3 of a non-symmetry (``E_12``) mixed
             into the first element, and the charges of ``conserved_quantities`` are 1.01 times
             the true ones;
``flow``     every trajectory of ``flatlib.flows`` has its states after the first scaled by
             ``1 + 1e-4``;
``dyn``      ``flatlib.dynamics``: the same for the trajectories of normalized GD, SAM and
             stochastic SAM, and ``track_lambda_max`` returns 1.01 times the eigenvalues;
``net``      ``flatlib.networks``: the value of ``ball_max`` (the ascent on a ball behind every
             searched network measure), ``measures.lambda_max``, ``measures.hessian_trace`` and
             the input gradient of ``robustness.input_gradient`` are 1.01 times the computed
             ones; the robust accuracy of ``pgd_robust_accuracy`` and Kendall's τ of
             ``kendall_tau_ci``, ``within_group_tau`` and ``granulated_kendall`` (ψ, Ψ) are 0.99
             times theirs;
``none``     the same wrappers, returning the results unchanged (the control run: the wrapping
             alone must break nothing).

Each entry point is replaced under every name a loaded ``flatlib`` module binds it to
(``flatlib.max_variation``, ``flatlib.preorder.max_variation``, ``flatlib.sharpness.hessian_trace``,
...), so that every caller sees the sabotaged result. A call made *inside* another sabotaged
call of the same group (``max_variation`` of a ``Quadratic`` calling
``max_variation_with_bound``; ``block_measures`` calling ``hessian_topk``) is passed through, so
each result is sabotaged once; a call of another group is sabotaged as any call (under ``half``,
the ``max_variation`` inside ``sam_sharpness`` is halved).

Several test files can share one run (one process per sabotage keeps the start-up cost of
``tests/test_sabotage.py`` low). Each file stops at its first failure: once a test of a file
has failed, the file's remaining tests are skipped (``-x`` per file). For each file the run
records which sabotages could have acted there: the modes whose entry points returned a result
they would change (``upper`` only for results with a certified upper end), and the seconds its
tests took. The terminal summary prints one line per file::

    flatlib sabotage: none; file tests/test_spectral.py; seconds 1.4; touched: eig

A sabotage whose entry points a file never calls is "not applicable" to that file, which
``tests/test_sabotage.py`` reads from the control run.

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
import pytest

MODES = ("none", "half", "zero", "outside", "upper", "eig", "curv", "calculus", "sharp", "symmetry",
         "flow", "dyn", "net")
MV_MODES = ("half", "zero", "outside", "upper")
MODE = os.environ.get("FLATLIB_SABOTAGE")   # None: imported, not loaded as the plugin

VALUE_FIELDS = ("value", "up", "down", "upper")
POINT_FIELDS = ("argmax", "u")
EPS = 0.01          # relative error of the "off by a little" sabotages
FLOW_EPS = 1e-4     # relative error of the sabotaged trajectories
_depth = {}         # nesting depth of sabotaged calls per group: only the outermost result changes
TOUCHED = {}        # test file -> the modes that would have changed some result computed there
SECONDS = {}        # test file -> seconds its tests took (setup, call, teardown)
FAILED_FILES = set()  # test files with a failed test (their other tests are skipped)
_current = ["(outside any test file)"]  # the test file being collected or run


def _outside(x, y, r):
    """A point at distance 2r from x in the direction of y - x (any direction if y = x)."""
    d = np.asarray(y, dtype=float) - x
    nd = float(np.linalg.norm(d))
    if nd == 0.0:
        d, nd = np.eye(x.size)[0], 1.0
    return x + d * ((2.0 * r if r > 0 else 1e-3) / nd)


def _times(v, s):
    return float(v) * s if np.ndim(v) == 0 else np.asarray(v, dtype=float) * s


def _value(v):
    if v is None or MODE not in ("half", "zero"):
        return v
    return _times(v, 0.5 if MODE == "half" else 0.0)


def _point(y, x, r):
    if y is None or MODE != "outside":
        return y
    x = np.asarray(x, dtype=float).ravel()
    if np.ndim(r) == 0:
        return _outside(x, y, float(r))
    return np.array([_outside(x, yi, float(ri)) for yi, ri in zip(y, r)])


def _replace(res, **new):
    if dataclasses.is_dataclass(res):
        return dataclasses.replace(res, **new)
    return res._replace(**new)


def _fields(res):
    if dataclasses.is_dataclass(res):
        return {f.name for f in dataclasses.fields(res)}
    return set(getattr(res, "_fields", ()))


def _mv_touched(res):
    """The modes that would change a maximal-variation result."""
    modes = {"half", "zero", "outside"}
    if getattr(res, "upper", None) is not None:
        modes.add("upper")
    return modes


def _mv_change(centre_radius):
    """The maximal-variation sabotages of a result; ``centre_radius(args, kwargs, res) -> (x, r)``
    (zeros for a trust-region step ``u``)."""
    def change(res, args, kwargs):
        if MODE not in MV_MODES:
            return res
        names = _fields(res)
        if MODE == "upper":  # only the certified upper end, 1% too low
            if "upper" in names and getattr(res, "upper") is not None:
                return _replace(res, upper=_times(res.upper, 1.0 - EPS))
            return res
        x, r = centre_radius(args, kwargs, res)
        if names:
            new = {k: _value(getattr(res, k)) for k in VALUE_FIELDS if k in names}
            new.update({k: _point(getattr(res, k), x, r) for k in POINT_FIELDS if k in names})
            return _replace(res, **new)
        if isinstance(res, tuple) and len(res) == 2:  # (value, point)
            return (_value(res[0]), _point(res[1], x, r))
        raise TypeError(f"sabotage_plugin does not know the result type {type(res).__name__}")
    return change


def _scaled(fields, factor=1.0 + EPS):
    """A change multiplying the numeric ``fields`` of a result (a float, an array, a dataclass
    or a named tuple) by ``factor``; ``fields=None``: the result itself."""
    def change(res, args, kwargs):
        if fields is None or isinstance(res, (float, np.floating, np.ndarray)):
            return _times(res, factor)
        names = _fields(res)
        return _replace(res, **{k: _times(getattr(res, k), factor) for k in fields
                                if k in names and getattr(res, k) is not None})
    return change


def _symmetry_change(res, args, kwargs):
    """``symmetry_algebra``: 1e-3 E_12 mixed into the first basis element (dense bases)."""
    basis = res.basis if hasattr(res, "basis") else res
    if not isinstance(basis, np.ndarray) or basis.ndim != 3 or basis.shape[0] == 0 or basis.shape[2] < 2:
        return res
    bad = basis.copy()
    bad[0, 0, 1] += 1e-3
    bad[0] /= np.linalg.norm(bad[0])
    if hasattr(res, "basis"):
        return dataclasses.replace(res, basis=bad)
    return bad


def _charges_change(res, args, kwargs):
    """``conserved_quantities``: charges 1.01 times the true ones."""
    res.matrices = res.matrices * (1.0 + EPS)
    return res


def _trajectory_change(res, args, kwargs):
    """A trajectory with its states after the first scaled by 1 + 1e-4 (the result's other
    fields are left as computed)."""
    res.x = np.array(res.x, dtype=float, copy=True)
    res.x[1:] *= 1.0 + FLOW_EPS
    return res


def _density_change(res, args, kwargs):
    return dataclasses.replace(res, nodes=[np.asarray(n, dtype=float) * (1.0 + EPS) for n in res.nodes])


def _blocks_change(res, args, kwargs):
    return {k: dataclasses.replace(b, lambda_max=b.lambda_max * (1.0 + EPS), trace=b.trace * (1.0 + EPS))
            for k, b in res.items()}


def _net_lambda_change(res, args, kwargs):
    lam, vec, resid = res
    return lam * (1.0 + EPS), vec, resid


def _input_gradient_change(res, args, kwargs):
    loss, G, out = res
    return loss, G * (1.0 + EPS), out


def _tau_change(res, args, kwargs):
    tau, lo, hi = res
    return tau * (1.0 - EPS), lo, hi


def _groups_change(res, args, kwargs):
    return {k: (t * (1.0 - EPS),) + tuple(rest) for k, (t, *rest) in res.items()}


def _psi_change(res, args, kwargs):
    return dataclasses.replace(res, psi={k: v * (1.0 - EPS) for k, v in res.psi.items()},
                               Psi=res.Psi * (1.0 - EPS))


def _guarded(orig, group, modes, change, touched=None):
    """Wrap ``orig``: call it; unless called inside a call of the same ``group``, record the
    ``modes`` that would change the result (``touched(res)`` if given) and, under one of them,
    return ``change(res, args, kwargs)``."""
    @functools.wraps(orig)
    def wrapper(*args, **kwargs):
        _depth[group] = _depth.get(group, 0) + 1
        try:
            res = orig(*args, **kwargs)
        finally:
            _depth[group] -= 1
        if _depth[group]:
            return res
        TOUCHED.setdefault(_current[0], set()).update(touched(res) if touched is not None else modes)
        if MODE not in modes:
            return res
        return change(res, args, kwargs)
    wrapper._sabotage_original = orig
    return wrapper


def _arg(args, kwargs, i, name):
    return args[i] if len(args) > i else kwargs[name]


def _entry_points():
    """``[(module, attribute, group, modes, change, touched)]``: every function replaced."""
    from flatlib import calculus, certify, curvature, dynamics, flows, profiles, quadratic, sharpness
    from flatlib import spectral, symmetry
    from flatlib.networks import measures, ranking, robustness, search

    # max_variation(f, x, radius, ...): the result carries its radius (radii)
    mv = _mv_change(lambda a, k, res: (_arg(a, k, 1, "x"), res.radius))
    # trust_region_max(Q, g, r): the step u is measured from 0
    trm = _mv_change(lambda a, k, res: (np.zeros(np.size(_arg(a, k, 1, "g"))), _arg(a, k, 2, "r")))

    def cert_change(res, args, kwargs):
        return dataclasses.replace(res, upper=res.lower + (1.0 - EPS) * (res.upper - res.lower)
                                   - EPS * abs(res.lower))

    plus = _scaled(("value",))
    table = [(profiles, "max_variation", "mv", MV_MODES, mv, _mv_touched),
             (quadratic, "trust_region_max", "mv", MV_MODES, trm, _mv_touched),
             (certify, "certified_max_variation", "cert", ("upper",), cert_change, None)]
    table += [(spectral, n, "eig", ("eig",), plus, None)
              for n in ("hessian_lambda_max", "hessian_lambda_min", "hessian_trace")]
    table += [(curvature, "hessian_topk", "curv", ("curv",), _scaled(("eigenvalues",)), None),
              (curvature, "hessian_diagonal", "curv", ("curv",), _scaled(None), None),
              (curvature, "spectral_density", "curv", ("curv",), _density_change, None),
              (curvature, "block_measures", "curv", ("curv",), _blocks_change, None)]
    table += [(curvature, n, "curv", ("curv",), plus, None)
              for n in ("hutchinson", "hutchpp", "deflated_hutchinson")]
    table += [(calculus, n, "calculus", ("calculus",), _scaled(("value",)), None)
              for n in ("first_order_constant", "second_order_constant", "directional_constant",
                        "separable_max_variation")]
    table += [(sharpness, n, "sharp", ("sharp",), _scaled(("value", "increase", "volume")), None)
              for n in ("epsilon_sharpness", "sam_sharpness", "sublevel_volume")]
    table += [(symmetry, "symmetry_algebra", "symmetry", ("symmetry",), _symmetry_change, None),
              (symmetry, "conserved_quantities", "symmetry", ("symmetry",), _charges_change, None)]
    table += [(flows, n, "flow", ("flow",), _trajectory_change, None)
              for n in ("gradient_flow", "gradient_descent", "subgradient_flow", "subgradient_descent",
                        "conserved_flow")]
    table += [(dynamics, n, "dyn", ("dyn",), _trajectory_change, None)
              for n in ("normalized_gradient_descent", "sam", "stochastic_sam")]
    table += [(dynamics, "track_lambda_max", "dyn", ("dyn",), _scaled(("values",)), None),
              (search, "ball_max", "net", ("net",), _scaled(("value",)), None),
              (measures, "lambda_max", "net", ("net",), _net_lambda_change, None),
              (measures, "hessian_trace", "net", ("net",), _scaled(None), None),
              (robustness, "input_gradient", "net", ("net",), _input_gradient_change, None),
              (robustness, "pgd_robust_accuracy", "net", ("net",), _scaled(None, 1.0 - EPS), None),
              (ranking, "kendall_tau_ci", "net", ("net",), _tau_change, None),
              (ranking, "within_group_tau", "net", ("net",), _groups_change, None),
              (ranking, "granulated_kendall", "net", ("net",), _psi_change, None)]
    return table


def install():
    """Replace the entry points (idempotent); returns the names replaced."""
    import flatlib
    from flatlib import quadratic

    if getattr(flatlib, "_sabotaged", None):
        return flatlib._sabotaged
    for extra in ("flatlib.problems", "flatlib.networks", "flatlib.dynamics", "flatlib.curvature"):
        importlib.import_module(extra)  # load the modules that may bind the names too
    table = []
    for mod, attr, group, modes, change, touched in _entry_points():
        orig = getattr(mod, attr)
        table.append((attr, _guarded(orig, group, modes, change, touched), orig))
    replaced = []
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name == "flatlib" or name.startswith("flatlib.")):
            continue
        for attr, new, old in table:
            if getattr(mod, attr, None) is old:
                setattr(mod, attr, new)
                replaced.append(f"{name}.{attr}")
    Q = quadratic.Quadratic
    # Quadratic.max_variation(self, x, r, side) and max_variation_with_bound(self, x, r, side)
    centre = _mv_change(lambda a, k, res: (_arg(a, k, 1, "x"), _arg(a, k, 2, "r")))
    for meth in ("max_variation", "max_variation_with_bound"):
        if hasattr(Q, meth):
            setattr(Q, meth, _guarded(getattr(Q, meth), "mv", MV_MODES, centre, _mv_touched))
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


def _file(nodeid):
    return nodeid.split("::", 1)[0]


def pytest_collectstart(collector):
    # a test module's import (module-level computations) belongs to its file
    if MODE is not None and collector.nodeid.endswith(".py"):
        _current[0] = collector.nodeid


def pytest_collectreport(report):
    if MODE is not None and report.failed:
        FAILED_FILES.add(_file(report.nodeid))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if MODE is None:
        return
    _current[0] = _file(item.nodeid)
    if _current[0] in FAILED_FILES:
        pytest.skip("sabotage_plugin: an earlier test of this file failed")


def pytest_runtest_logreport(report):
    if MODE is None:
        return
    f = _file(report.nodeid)
    SECONDS[f] = SECONDS.get(f, 0.0) + report.duration
    if report.failed:
        FAILED_FILES.add(f)


def pytest_terminal_summary(terminalreporter):
    if MODE is None:
        return
    import flatlib
    names = getattr(flatlib, "_sabotaged", None) or ["nothing"]
    write = terminalreporter.write_line
    write(f"flatlib sabotage: {MODE}; replaced: {' '.join(names)}")
    for f in sorted(set(SECONDS) | set(TOUCHED)):
        touched = [m for m in MODES if m in TOUCHED.get(f, ())] or ["nothing"]
        write(f"flatlib sabotage: {MODE}; file {f}; seconds {SECONDS.get(f, 0.0):.1f}; "
              f"touched: {' '.join(touched)}")
