"""Property-based test of the principle of issue 13 §7, on every public entry point of the core.

For every public function (``flatlib.__all__`` and the public functions of ``flatlib.calculus``,
``certify``, ``sharpness``, ``spectral``, ``symmetry``, ``flows``; ``flatlib.dynamics`` belongs to
another module's tests) and every parameter, Hypothesis replaces the parameter of a valid call by
a value drawn from its class (extreme finite numbers, NaN and infinities, complex numbers, empty
arrays, booleans, strings, ``None``, wrong shapes; for callables, functions returning such values
or raising the user's own exception) and checks the principle:

* the call returns the *right value*: finite, and equal to the closed form of the case (given in
  each spec below) wherever one is known; or
* it raises ``ValueError`` or ``TypeError`` whose message names the parameter (an overflow of the
  answer itself may instead be named as such: "returned inf", "cannot be represented"); or
* the user's own exception (``UserError`` below, raised inside a callable) reaches the caller
  unchanged.

Anything else fails the test: a crash inside numpy or scipy (``UFuncTypeError``, "could not
convert string to float", ``MemoryError``), a silent NaN, a discarded imaginary part
(``ComplexWarning`` is an error here), a wrong value.

A coverage test fails when a public function has no spec, so that a new function cannot escape.
Runtime: about 20 s on one core (the number of examples per spec is set by its cost).
"""
from __future__ import annotations

import inspect
import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import flatlib as fl
from flatlib import calculus, certify, flows, sharpness, spectral, symmetry

EPS = np.finfo(float).eps
BIG = np.finfo(float).max
A = np.array([3.0, -4.0])  # |A| = 5


class UserError(Exception):
    """Raised by the user's own functions: must reach the caller unchanged."""


def raise_user(*a):
    raise UserError("the user's own error")


# ---------------------------------------------------------------- classes of values

FLOATS = [0.0, -0.0, 5e-324, 1e-300, 1e-8, 0.5, 2.0, 1e300, BIG, -1.0, -1e300, np.nan, np.inf, -np.inf,
          1 + 1j, complex(0.5, 0.0), True, False, "0.1", "abc", b"1", [], [0.1, 0.2], [[0.1]],
          np.array([]), None, np.float32(0.5), np.float64(np.nan)]
INTS = [0, -1, 1, 2, 3, 2 ** 31, 2 ** 63, 10 ** 30, 1.5, 2.0, np.nan, np.inf, True, "3", 3 + 0j, [], None,
        np.int64(3), [2]]
POINTS2 = [[], [np.nan, 0.0], [np.inf, 0.0], [1 + 1j, 0.0], [True, False], ["a", "b"], "ab", [[0.0, 0.0]],
           [0.0], [0.0, 0.0, 0.0], [1e308, 1e308], [5e-324, 0.0], [1e-300, -1e-300], [1e300, 0.0],
           [-1e300, 1e300], None, 0.5, [0.3, -0.2], np.array([0.3, -0.2], dtype=np.float32), [2, 1]]
MATRICES = ([np.diag([v, 1.0]) for v in (0.0, 5e-324, 1e-300, 1e300, BIG, -BIG, -1.0)]
            + [[], [[np.nan, 0.0], [0.0, 1.0]], [[np.inf, 0.0], [0.0, 1.0]], np.eye(2) * (1 + 1j),
               np.eye(2, dtype=bool), [["a", "b"], ["c", "d"]], np.eye(3), np.ones(2), None, 1.0,
               np.zeros((2, 2, 2))])
ARRAYS = [[], [np.nan], [-0.1, 0.2], [[0.1]], ["a"], [1j], [1e-300, 1e300], [0.0, 0.1], None, 0.1,
          [True, False], [5e-324, 1.0], [0.1, 0.2, 0.4]]
FLAGS = [None, 0, 1, "yes", "", 1.0, np.nan, [True], np.True_, True, False]
CHOICES = ["", "LEFT", None, 1, np.nan, True, ["both"], b"both"]
RNGS = [-1, 1.5, "seed", True, np.nan, [1], None, 0, 7, 2 ** 63, np.random.default_rng(3)]
CALLABLES = [None, 1.0, "f", [], lambda *a: np.nan, lambda *a: np.inf, lambda *a: 1 + 1j,
             lambda *a: "a", lambda *a: True, lambda *a: np.array([]), lambda *a: np.ones(7),
             lambda *a: np.full(2, np.nan), raise_user]
SPANS = [(0.0, 1.0j), (1.0, 0.0), (0.0, np.inf), (np.nan, 1.0), (), (0.0, 1.0, 2.0), "ab", None,
         (0.0, 1e300), (-1e300, 0.0), (0.0, 5e-324), (True, 2.0)]
POOLS = {"float": FLOATS, "int": INTS, "point": POINTS2, "matrix": MATRICES, "array": ARRAYS,
         "flag": FLAGS, "choice": CHOICES, "rng": RNGS, "callable": CALLABLES, "span": SPANS}


def pool(kind):
    return st.sampled_from(POOLS[kind])


# ---------------------------------------------------------------- helpers for the checks

def norm(v):
    v = np.asarray(v, dtype=float)
    m = np.max(np.abs(v)) if v.size else 0.0
    return 0.0 if m == 0 else m * float(np.linalg.norm(v / m))


def close(a, b, rel=1e-9, abs_=0.0):
    return abs(a - b) <= rel * max(abs(a), abs(b)) + abs_


def dim2(Y):
    """The test functions are functions of 2 variables: another dimension is the user's error."""
    Y = np.asarray(Y, dtype=float)
    if Y.shape[-1:] != (2,):
        raise UserError(f"a function of 2 variables called on shape {Y.shape}")
    return Y


def lin(Y):
    return dim2(Y) @ A


def lin_grad(Y):
    return np.broadcast_to(A, np.shape(dim2(Y))).copy()


def sxy(z):
    z = dim2(z)
    return 0.5 * (z[..., 0] * z[..., 1] - 1.0) ** 2


def sxy_grad(z):
    z = dim2(z)
    return (z[..., 0] * z[..., 1] - 1.0)[..., None] * z[..., ::-1]


D3 = np.diag([3.0, -1.0, 2.0])


def hvp3(x, v):
    if np.shape(v) != (3,):
        raise UserError(f"a Hessian of 3 variables applied to shape {np.shape(v)}")
    return D3 @ v


def radii_of(kw, key):
    return np.atleast_1d(np.asarray(kw[key], dtype=float))


def is_default(kw, spec, key):
    return key not in kw or kw[key] is spec.base.get(key)


# ---------------------------------------------------------------- the specs

class Spec:
    def __init__(self, name, fn, base, kinds, check, examples=15, call=None):
        self.name, self.fn, self.base, self.kinds, self.check = name, fn, base, kinds, check
        self.examples, self.call = examples, call or (lambda **kw: fn(**kw))

    def __repr__(self):
        return self.name


def check_max_variation(kw, res):
    r = radii_of(kw, "radius")
    x = np.asarray(kw["x"], dtype=float)
    slack = 16 * EPS * 5 * (norm(x) + r) + 1e-320  # rounding (of subnormals too)
    v = np.atleast_1d(res.value)
    assert np.all(np.isfinite(v)) and np.all(v >= 0)
    assert np.all(v <= 5 * r * (1 + 1e-12) + slack)            # f° = |A| r, never above
    if isinstance(kw.get("max_evals"), int) and kw["max_evals"] >= 20_000:
        assert np.all(v >= 5 * r * (1 - 1e-9) - slack)          # the gradient start is exact
    if res.upper is not None:
        assert np.all(np.atleast_1d(res.upper) >= 5 * r * (1 - 1e-12) - slack)
    am = np.atleast_2d(res.argmax)
    assert np.all(np.isfinite(am))
    assert all(norm(a - x) <= ri * (1 + 1e-12) for a, ri in zip(am, r))


def check_level_distance(kw, res):
    d = np.atleast_1d(np.asarray(kw["delta"], dtype=float))
    x = np.asarray(kw["x"], dtype=float)
    v = np.atleast_1d(res.value)
    xtol = kw.get("xtol", 1e-12)
    for vi, di in zip(v, d):
        if np.isinf(vi):  # no point found within max_radius: only when the distance is beyond it
            mr = kw.get("max_radius") or min(1e6 * (1 + norm(x)), 1e300)
            assert di / 5 > mr * (1 - 1e-9) or norm(x) > 1e3
        else:
            assert vi >= di / 5 * (1 - 1e-9)                    # attained: an upper bound
            if norm(x) <= 1e3 and di / 5 > 1e-300:  # (below: subnormal, not resolved)
                assert close(vi, di / 5, rel=max(1e-8, 10 * xtol))


def check_flatness_order(kw, res):
    x = np.asarray(kw["x"], dtype=float)
    if norm(x) <= 1e3:
        ax = abs(float(A @ x))
        ref = 2 * ax * 5 * res.radii + 25 * res.radii ** 2  # f° of (A·y)²
        assert np.allclose(res.values, ref, rtol=1e-6, atol=0)
    assert np.isfinite(res.order) or "vanishes" in res.message


def check_compare(kw, res):
    ax, ay = abs(float(A @ np.asarray(kw["x"], float))), abs(float(A @ np.asarray(kw["y"], float)))
    if max(ax, ay) <= 1e3:
        assert np.allclose(res.profile_x, 10 * ax * res.radii + 25 * res.radii ** 2, rtol=1e-6)
        assert np.allclose(res.profile_y, 10 * ay * res.radii + 25 * res.radii ** 2, rtol=1e-6)
    if kw["x"] is COMPARE_BASE["x"] and kw["y"] is COMPARE_BASE["y"] and \
            kw.get("rtol", 1e-6) < 0.1 and kw.get("order_tol", 0.05) < 0.5:
        assert res.sign == -1  # 25 r² is below 3 r + 25 r²: x is flatter, in every mode


def check_quadratic(kw, res):
    Q, b = kw["Q"], kw["b"]
    Q = np.asarray(Q, dtype=float)
    b = np.zeros(len(Q)) if b is None else np.asarray(b, dtype=float)
    if np.allclose(Q, np.diag(np.diag(Q))) and not np.any(b):
        assert close(res.value, 0.5 * np.max(np.abs(np.diag(Q))), rel=1e-12)   # ½ ‖Q‖ r², r = 1
    if np.array_equal(Q, np.eye(len(Q))):
        assert close(res.value, norm(b) + 0.5, rel=1e-12)                     # |b| r + ½ r²


def check_trust_region(kw, res):
    Q = np.asarray(kw["Q"], dtype=float)
    g = np.asarray(kw["g"], dtype=float)
    r = float(kw["r"])
    v = res.value if hasattr(res, "value") else res[0]
    assert np.isfinite(v)
    if np.allclose(Q, np.diag(np.diag(Q))) and not np.any(g):
        assert close(v, 0.5 * max(np.max(np.diag(Q)), 0.0) * r * r, rel=1e-12)
    if np.array_equal(Q, np.eye(2)):
        assert close(v, norm(g) * r + 0.5 * r * r, rel=1e-12)


def check_quadratic_methods(kw, res):
    x = np.asarray(kw["x"], dtype=float)
    r, side = float(kw["r"]), kw["side"]
    nx = norm(x)
    up = nx * r + 0.5 * r * r
    down = nx * r - 0.5 * r * r if r <= nx else 0.5 * nx * nx
    ref = {"both": max(up, down), "up": up, "down": down}[side]
    assert close(res.value, ref, rel=1e-10, abs_=1e-300)


def check_eig(which):
    def check(kw, res):
        w = kw.get("which", which)
        ref = {"LA": 3.0, "SA": -1.0, "trace": 4.0}[w]
        tol = 1e-8
        if getattr(res, "method", "") == "lanczos":
            tol += 30 * kw.get("tol", 1e-10)
        assert close(float(res), ref, rel=0.0, abs_=tol)
    return check


def check_symmetry(kw, res):
    basis = res.basis if hasattr(res, "basis") else res
    if isinstance(basis, np.ndarray):
        assert np.all(np.isfinite(basis))
    if is_default(kw, SYM_SPEC, "samples") and kw.get("tol") is None and kw.get("candidates") is None:
        assert np.asarray(basis).shape == (1, 2, 2)
        assert np.allclose(np.abs(np.asarray(basis)[0]), np.diag([1.0, 1.0]) / np.sqrt(2), atol=1e-8)


def check_conserved(kw, res):
    if kw["generators"] is CONSERVED_BASE["generators"] and (kw.get("tol") is None or kw["tol"] < 0.5):
        assert res.k == 1
        assert close(abs(float(res([3.0, 0.1])[0])), (9.0 - 0.01) / (2 * np.sqrt(2)), rel=1e-12)


def check_gradient_flow(kw, res):
    assert np.all(np.isfinite(res.x)) and np.all(np.isfinite(res.t))
    if res.success and kw["grad"] is FLOW_BASE["grad"] and kw.get("rtol", 1e-10) <= 1e-8 \
            and kw.get("atol", 1e-12) <= 1e-10 and kw.get("method", "LSODA") != "RK23":
        x0 = np.atleast_1d(np.asarray(kw["x0"], dtype=float))
        if norm(x0) <= 1e3:
            t = np.asarray(res.t) - float(np.asarray(kw["t_span"], dtype=float)[0])
            assert np.allclose(res.x, np.exp(-t)[:, None] * x0[None, :], rtol=1e-6, atol=1e-8)


def check_gradient_descent(kw, res):
    assert np.all(np.isfinite(res.x))
    if not res.diverged and kw["grad"] is GD_BASE["grad"] and kw.get("gtol", 0.0) == 0.0:
        eta = float(kw["step"])
        x = np.asarray(kw["x0"], dtype=float).copy()
        for _ in range(int(kw["n_steps"])):  # the same iteration, written out independently
            x = x - eta * x
        assert np.allclose(res.x_final, x, rtol=1e-12, atol=0)


def check_subgradient_flow(kw, res):
    assert np.all(np.isfinite(res.x))
    if res.converged and kw["g"] is SF_BASE["g"] and kw["grad_g"] is SF_BASE["grad_g"]:
        x0 = np.asarray(kw["x0"], dtype=float)
        t_hit, t0 = res.extra["t_hit"], float(np.asarray(kw["t_span"], float)[0])
        if abs(t0) <= 1e6:  # (t_hit - t0 is not resolved from t0 = -1e300)
            assert close(t_hit - t0, abs(x0[0] - 1.0), rel=1e-6, abs_=1e-9)
        if res.t[-1] >= t_hit:  # the last output time is after the kink set was reached
            assert close(res.x_final[0], 1.0, rel=0, abs_=1e-7)


def check_subgradient_descent(kw, res):
    assert np.all(np.isfinite(res.x))
    if not res.diverged and kw["subgrad"] is SD_BASE["subgrad"]:
        eta, x = float(kw["step"]), np.asarray(kw["x0"], dtype=float).copy()
        sched = kw.get("schedule", "harmonic")
        for k in range(int(kw["n_steps"])):
            ek = {"constant": eta, "sqrt": eta / np.sqrt(k + 1.0), "harmonic": eta / (k + 1.0)}[sched]
            x = x - ek * SD_BASE["subgrad"](x)
        assert np.allclose(res.x_final, x, rtol=1e-12, atol=1e-15)


def check_conserved_flow(kw, res):
    assert np.all(np.isfinite(res.x))
    if res.success and is_default(kw, CF_BASE_SPEC, "x0") and kw.get("rtol", 1e-10) <= 1e-8 \
            and kw.get("atol", 1e-12) <= 1e-10:
        xy = res.x[:, 0] * res.x[:, 1]
        assert np.allclose(xy, 0.3, rtol=1e-6)  # f is constant on the orbit: xy = 0.3 throughout


def check_certified(kw, res):
    r = float(kw["radius"])
    x = np.asarray(kw["x"], dtype=float)
    assert res.lower <= res.upper
    if float(kw["lipschitz"]) >= 1.0:  # a true constant of |y|: the bracket holds f° = r
        assert res.lower <= r * (1 + 1e-12) + 4 * EPS * norm(x)
        assert res.upper >= r * (1 - 1e-12)


def check_first_order(kw, res):
    assert close(res, 5.0, rel=1e-15)


def check_second_order(kw, res):
    side = kw.get("side", "both")
    lam = np.linalg.eigvalsh(np.asarray(kw["hess"], dtype=float))  # independent: numpy's eigvalsh
    up, down = max(lam[-1], 0.0), max(-lam[0], 0.0)
    assert close(res, 0.5 * {"both": max(up, down), "up": up, "down": down}[side], rel=1e-12)


def check_directional(kw, res):
    assert res.value <= 5.0 * (1 + 1e-6)
    if kw.get("n_dirs") is None and kw["f"] is DIR_BASE["f"] and kw.get("dirderiv") is None:
        assert close(res.value, 5.0, rel=1e-6)


def check_separable(kw, res):
    r = np.atleast_1d(np.asarray(kw["r"], dtype=float))
    if kw["prof1"] is SEP_BASE["prof1"] and kw["prof2"] is SEP_BASE["prof2"]:
        # the refinement is as fine as xatol asks; the grid of 257 angles alone: 1e-4
        rel = 1e-9 if kw.get("xatol", 1e-12) <= 1e-6 else 1e-4
        if np.any(r < 1e-300):  # subnormal radii: the profiles' values are rounded subnormals
            return
        assert np.allclose(np.atleast_1d(res.value), np.sqrt(5) * r, rtol=rel)
        assert np.all(np.atleast_1d(res.value) <= np.sqrt(5) * r * (1 + 1e-12))


def check_epsilon(kw, res):
    x = np.atleast_1d(np.asarray(kw["x"], dtype=float))
    eps = float(kw["eps"])
    w = eps * (np.abs(x) + 1.0) if kw.get("box", "relative") == "relative" else np.full(2, eps)
    fx = 0.5 * float(x @ x)
    inc = 0.5 * float(np.sum((np.abs(x) + w) ** 2)) - fx  # convex: the max over the box at a vertex
    ref = (100.0 if kw.get("percent", True) else 1.0) * inc / (1.0 + fx)
    assert res.value <= ref * (1 + 1e-9) + 1e-300
    if kw.get("corners", "auto") in ("auto", True) and norm(x) <= 1e3:
        assert close(res.value, ref, rel=1e-9)


def check_sam(kw, res):
    rho = float(kw["rho"])
    assert np.isfinite(res.value)
    if norm(np.asarray(kw["x"], dtype=float)) > 1e10:
        return  # |f(x + e) - f(x)| = 5 rho is below the rounding of f near x
    if not kw.get("exact", False) and kw.get("gtol", 0.0) >= 5.0:
        assert res.value == 0.0  # the gradient counts as 0: the one-step estimate is 0 (documented)
    else:
        assert close(res.value, 5.0 * rho, rel=1e-9, abs_=1e-300)


def check_sublevel(kw, res):
    level = float(kw["level"])
    x = np.asarray(kw["x"], dtype=float)
    assert np.isfinite(res.volume) and res.volume >= 0
    if res.resolved and not res.touches_boundary and res.method == "grid":
        # {½|y|² <= ½|x|² + level}: a disc of area 2π (½|x|² + level)
        assert abs(res.volume - 2 * np.pi * (0.5 * float(x @ x) + level)) <= res.grid_error + 1e-12


def check_table(kw, res):
    row = res[0]
    if kw["x_points"] is not TABLE_BASE["x_points"]:
        assert all(np.isfinite(row[c]) for c in ("f", "eps_sharpness", "sam_exact", "max_variation"))
        return
    assert row["f"] == 0.0
    if all(kw.get(k) is None for k in ("grad", "hvp", "hess")):
        assert np.isnan(row["lambda_max"])  # no second-order information: documented as nan
    else:
        assert close(row["lambda_max"], 2.0, rel=1e-6)
    r = float(kw["radius"])
    if 0 < r < 0.5:  # ½(√2 r + r²/2)²; a lower bound when fewer starts than the base's are used
        ref = 0.5 * (np.sqrt(2) * r + 0.5 * r * r) ** 2
        assert row["max_variation"] <= ref * (1 + 1e-9)
        if kw["n_starts"] >= 2:
            assert close(row["max_variation"], ref, rel=1e-6)


def check_rng(kw, res):
    assert isinstance(res, np.random.Generator)


def apply_operator(out, x):
    """Apply the product returned once, at x and to e_1 (its own errors are then named here)."""
    n = np.atleast_1d(np.asarray(x, dtype=float)).size
    out[0](np.zeros(n), np.eye(n)[0])
    return out


def check_operator(kw, res):
    H, how = res  # the product was applied once in the call (its errors are named there)
    if kw["f"] is OPERATOR_F and kw["x"] is OPERATOR_BASE["x"] and \
            all(kw.get(k) is None for k in ("grad", "hvp", "hess")):
        assert np.allclose(H(np.zeros(2), np.array([1.0, 0.0])), [2.0, 0.0], atol=1e-6)


# valid calls (each parameter kind listed; closed forms in the checks above)
MV_BASE = dict(f=lin, x=[0.0, 0.0], radius=0.5, max_evals=20_000)  # (a huge constant: a short run)
COMPARE_BASE = dict(f=lambda Y: (dim2(Y) @ A) ** 2, x=[0.0, 0.0], y=[0.1, 0.0])
FLOW_BASE = dict(grad=lambda y: y, x0=[1.0, -2.0], t_span=(0.0, 1.0))
GD_BASE = dict(grad=lambda y: y, x0=[1.0, -2.0], step=0.5, n_steps=10)
SF_BASE = dict(g=lambda y: y[0] - 1.0, grad_g=lambda y: np.array([1.0, 0.0]), x0=[3.0, 0.0],
               t_span=(0.0, 5.0))
SD_BASE = dict(subgrad=lambda y: np.array([np.sign(y[0] - 1.0), 0.0]), x0=[3.0, 0.0], step=0.5,
               n_steps=20)
DIR_BASE = dict(f=lambda y: abs(float(A @ dim2(y))), x=[0.0, 0.0])
SEP_BASE = dict(prof1=lambda s: s, prof2=lambda s: 2 * s, r=0.5)
SAMPLES = np.random.default_rng(0).normal(size=(8, 2))
CONSERVED_BASE = dict(generators=np.diag([1.0, -1.0]))
TABLE_BASE = dict(f=sxy, x_points=[[1.0, 1.0]], grad=sxy_grad, radius=0.01, rho=0.01, level=1e-2,
                  box_halfwidth=0.5, n_samples=900, n_starts=2)
OPERATOR_F = lambda y: float(y[0] ** 2)  # noqa: E731  (Hessian diag(2, 0))
OPERATOR_BASE = dict(f=OPERATOR_F, x=np.zeros(2))

SPECS = [
    Spec("max_variation", fl.max_variation, MV_BASE,
         dict(f="callable", x="point", radius="float", grad="callable", hess="callable", lipschitz="float",
              hess_bound="float", side="choice", n_starts="int", starts="matrix", rng="rng", tol="float",
              max_iter="int", vectorized="flag", rtol="float", atol="float", max_evals="int",
              allow_finite_differences="flag"), check_max_variation, examples=40),
    Spec("level_distance", fl.level_distance, dict(f=lin, x=[0.0, 0.0], delta=1.0),
         dict(f="callable", x="point", delta="float", grad="callable", hess="callable", side="choice",
              max_radius="float", n_starts="int", rng="rng", tol="float", xtol="float", vectorized="flag",
              allow_finite_differences="flag"), check_level_distance, examples=20),
    Spec("flatness_order", fl.flatness_order, dict(f=COMPARE_BASE["f"], x=[0.0, 0.0]),
         dict(f="callable", x="point", radii="array", slope_tol="float", rng="rng", n_starts="int"),
         check_flatness_order, examples=15),
    Spec("compare_flatness", fl.compare_flatness, COMPARE_BASE,
         dict(f="callable", x="point", y="point", mode="choice", radii="array", rtol="float",
              order_tol="float", settle_tol="float"), check_compare, examples=12),
    Spec("Quadratic", fl.Quadratic, dict(Q=np.eye(2), b=None, c=0.0),
         dict(Q="matrix", b="point", c="float"), check_quadratic, examples=25,
         call=lambda **kw: (lambda q: fl.max_variation(q, np.zeros(q.n), 1.0))(fl.Quadratic(**kw))),
    Spec("Quadratic.max_variation_with_bound", fl.Quadratic.max_variation_with_bound,
         dict(x=[0.3, -0.4], r=0.2, side="both"), dict(x="point", r="float", side="choice"),
         check_quadratic_methods, examples=25,
         call=lambda **kw: fl.Quadratic(np.eye(2)).max_variation_with_bound(**kw)),
    Spec("Quadratic.level_distance", fl.Quadratic.level_distance, dict(x=[0.3, -0.4], d=0.1, side="both"),
         dict(x="point", d="float", side="choice"),
         lambda kw, res: None if np.isinf(res[0]) else (
             np.isfinite(res[0]) and res[0] >= 0 or pytest.fail("not finite")), examples=20,
         call=lambda **kw: fl.Quadratic(np.eye(2)).level_distance(**kw)),
    Spec("trust_region_max", fl.trust_region_max, dict(Q=np.eye(2), g=[0.0, 0.0], r=1.0),
         dict(Q="matrix", g="point", r="float", full_output="flag"), check_trust_region, examples=30),
    Spec("hessian_lambda_max", fl.hessian_lambda_max, dict(f=hvp3, x=np.zeros(3)),
         dict(f="callable", x="point", grad="callable", hvp="callable", hess="callable", n="int",
              tol="float", rng="rng", which="choice", dense_max_n="int", assemble_max_n="int",
              maxiter="int", allow_finite_differences="flag"), check_eig("LA"), examples=30),
    Spec("hessian_lambda_min", fl.hessian_lambda_min, dict(f=hvp3, x=np.zeros(3)),
         dict(f="callable", x="point", grad="callable", hvp="callable", hess="callable", n="int",
              tol="float", rng="rng", dense_max_n="int", assemble_max_n="int", maxiter="int",
              allow_finite_differences="flag"), check_eig("SA"), examples=20),
    Spec("hessian_trace", fl.hessian_trace, dict(f=hvp3, x=np.zeros(3)),
         dict(f="callable", x="point", grad="callable", hvp="callable", hess="callable", n="int",
              n_samples="int", rng="rng", exact_if_n_le="int", allow_finite_differences="flag"),
         check_eig("trace"), examples=20),
    Spec("hessian_operator", spectral.hessian_operator, OPERATOR_BASE,
         dict(f="callable", x="point", grad="callable", hvp="callable", hess="callable",
              allow_finite_differences="flag"), check_operator, examples=15,
         call=lambda **kw: apply_operator(spectral.hessian_operator(**kw), kw["x"])),
    Spec("resolve_rng", spectral.resolve_rng, dict(rng=None), dict(rng="rng", name="choice"), check_rng),
    Spec("symmetry_algebra", fl.symmetry_algebra, dict(grad=sxy_grad, samples=SAMPLES),
         dict(grad="callable", samples="matrix", tol="float", candidates="matrix", full_output="flag"),
         check_symmetry, examples=20),
    Spec("conserved_quantities", fl.conserved_quantities, CONSERVED_BASE,
         dict(generators="matrix", tol="float"), check_conserved),
    Spec("gradient_flow", fl.gradient_flow, FLOW_BASE,
         dict(grad="callable", x0="point", t_span="span", t_eval="array", rtol="float", atol="float",
              method="choice", charges="callable", f="callable", blowup="float"), check_gradient_flow,
         examples=25),
    Spec("gradient_descent", fl.gradient_descent, GD_BASE,
         dict(grad="callable", x0="point", step="float", n_steps="int", charges="callable", f="callable",
              gtol="float", blowup="float", record_every="int"), check_gradient_descent, examples=25),
    Spec("subgradient_flow", fl.subgradient_flow, SF_BASE,
         dict(g="callable", grad_g="callable", x0="point", t_span="span", t_eval="array", rtol="float",
              atol="float", method="choice", charges="callable", blowup="float"), check_subgradient_flow,
         examples=20),
    Spec("subgradient_descent", fl.subgradient_descent, SD_BASE,
         dict(subgrad="callable", x0="point", step="float", n_steps="int", schedule="choice",
              charges="callable", f="callable", blowup="float", record_every="int"),
         check_subgradient_descent, examples=20),
    Spec("conserved_flow", fl.conserved_flow,
         dict(charges=fl.conserved_quantities(np.diag([1.0, -1.0])), x0=[3.0, 0.1], t_span=(0.0, 5.0)),
         dict(charges="callable", x0="point", t_span="span", t_eval="array", rtol="float", atol="float",
              method="choice", f="callable", blowup="float"), check_conserved_flow, examples=15),
    Spec("certified_max_variation", fl.certified_max_variation,
         dict(f=lambda Y: np.hypot(dim2(Y)[..., 0], dim2(Y)[..., 1]), x=[0.0, 0.0], radius=0.5,
              lipschitz=1.0, points_per_axis=41),  # (hypot: |y| of 1e-300 does not underflow)
         dict(f="callable", x="point", radius="float", lipschitz="float", points_per_axis="int",
              vectorized="flag", max_points="int"), check_certified, examples=25),
    Spec("first_order_constant", calculus.first_order_constant, dict(grad=lambda y: A, x=[1.0, 2.0]),
         dict(grad="callable", x="point"), check_first_order),
    Spec("second_order_constant", calculus.second_order_constant,
         dict(hess=np.diag([2.0, -6.0]), x=[0.0, 0.0]),
         dict(hess="matrix", x="point", grad="callable", gtol="float", side="choice"), check_second_order),
    Spec("directional_constant", calculus.directional_constant, DIR_BASE,
         dict(f="callable", x="point", dirderiv="callable", n_dirs="int", t="float", richardson="flag",
              n_refine="int", rng="rng"), check_directional, examples=15),
    Spec("separable_max_variation", calculus.separable_max_variation, SEP_BASE,
         dict(prof1="callable", prof2="callable", r="float", n_grid="int", vectorized="flag",
              xatol="float"), check_separable),
    Spec("epsilon_sharpness", sharpness.epsilon_sharpness,
         dict(f=lambda y: 0.5 * float(np.asarray(y) @ np.asarray(y)), x=[0.0, 0.0], eps=0.1),
         dict(f="callable", x="point", eps="float", grad="callable", box="choice", percent="flag",
              rng="rng", n_starts="int", corners="flag", max_iter="int", tol="float"), check_epsilon),
    Spec("sam_sharpness", sharpness.sam_sharpness, dict(f=lin, x=[0.0, 0.0], rho=0.1, grad=lin_grad),
         dict(f="callable", x="point", rho="float", grad="callable", exact="flag", hess="callable",
              n_starts="int", rng="rng", tol="float", max_iter="int", gtol="float"), check_sam),
    Spec("sublevel_volume", sharpness.sublevel_volume,
         dict(f=lambda Y: 0.5 * np.sum(dim2(Y) ** 2, axis=-1), x=[0.0, 0.0], level=0.5,
              box_halfwidth=1.5, grid=101),
         dict(f="callable", x="point", level="float", box_halfwidth="float", n_samples="int", rng="rng",
              connected="flag", grid="int", log="flag", vectorized="flag", warn="flag"), check_sublevel),
    Spec("sharpness_table", sharpness.sharpness_table, TABLE_BASE,
         dict(f="callable", x_points="matrix", grad="callable", hvp="callable", hess="callable",
              radius="float", eps="float", rho="float", level="float", box_halfwidth="float",
              box="choice", percent="flag", n_samples="int", n_starts="int", rng="rng",
              vectorized="flag", corners="flag", gtol="float"), check_table, examples=12),
]
SYM_SPEC = next(s for s in SPECS if s.name == "symmetry_algebra")
CF_BASE_SPEC = next(s for s in SPECS if s.name == "conserved_flow")

# the parameter values that are valid and whose answer a check above knows (others may be refused)
OVERFLOW = re.compile(r"returned -?inf|overflow|cannot be represented|exceeds the largest float|"
                      r"beyond 1\.8e308|not representable|returned non-finite")  # (inf - inf = nan)


def names_param(msg, names):
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", msg) for n in names)


def run_case(spec, param, value):
    kw = dict(spec.base)
    kw[param] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                    # RuntimeWarnings of the user's functions
        warnings.simplefilter("error", np.exceptions.ComplexWarning if hasattr(np, "exceptions")
                              else np.ComplexWarning)       # a dropped imaginary part is an error
        try:
            res = spec.call(**kw)
        except UserError:
            return "user"                                  # the user's own error reached the caller
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            names = {param} | ({"f", "grad", "hess", "hvp", "g", "grad_g", "subgrad", "prof1", "prof2",
                                "charges", "dirderiv", "fun"} & set(spec.kinds))
            assert names_param(msg, [param]) or (OVERFLOW.search(msg) and names_param(msg, names)) \
                or (spec.kinds[param] == "callable" and names_param(msg, names)), (
                f"{spec.name}({param}={value!r}) raised {type(exc).__name__} not naming {param!r}: {msg}")
            return "named"
    spec.check(kw, res)
    return "value"


# FLATLIB_FUZZ=k multiplies the examples by k and draws them at random (exploration); the default
# is the derandomized run of make test
EXPLORE = int(os.environ.get("FLATLIB_FUZZ", "0") or 0)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_principle_right_value_or_named_error(spec):
    @settings(max_examples=3 * spec.examples * max(EXPLORE, 1), deadline=None, derandomize=not EXPLORE,
              database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        param = data.draw(st.sampled_from(sorted(spec.kinds)), label="parameter")
        value = data.draw(pool(spec.kinds[param]), label="value")
        run_case(spec, param, value)

    run()


def test_every_value_class_of_max_variation_radius():
    # All the extreme values of the radius, one by one (the cases of the issue: 1e155 and beyond
    # returned 0): the right value |A| r, or a named error.
    spec = SPECS[0]
    outcomes = {repr(v): run_case(spec, "radius", v) for v in FLOATS}
    assert outcomes[repr(1e300)] == outcomes[repr(5e-324)] == outcomes[repr(1e-300)] == "value"
    assert outcomes[repr(np.nan)] == outcomes[repr(1 + 1j)] == outcomes[repr("0.1")] == "named"


# ---------------------------------------------------------------- coverage of the public API

def public_functions():
    mods = [fl, calculus, certify, sharpness, spectral, symmetry, flows]
    out = set()
    for m in mods:
        names = getattr(m, "__all__", None) or [n for n in dir(m) if not n.startswith("_")]
        for n in names:
            obj = getattr(m, n)
            if inspect.isfunction(obj) or (inspect.isclass(obj) and not n.endswith(("Result", "Warning",
                                                                                    "Table", "Bracket"))
                                           and obj.__module__.startswith("flatlib")):
                out.add(obj.__name__)
    return out


def test_every_public_entry_point_has_a_spec():
    # A new public function without a spec here fails: the principle must cover it.
    covered = {s.name.split(".")[0] for s in SPECS}
    missing = public_functions() - covered - {"ConservedQuantities"}  # built by conserved_quantities
    assert not missing, f"public functions without a fuzz spec: {sorted(missing)}"


def test_every_parameter_of_a_spec_is_fuzzed():
    # The kinds list every parameter of the function (but *args/**kwargs and private ones).
    for spec in SPECS:
        if "." in spec.name:
            continue
        fn = spec.fn.__init__ if inspect.isclass(spec.fn) else spec.fn
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"
                  and p.name not in ("who", "max_variation_kwargs")]
        missing = {p.name for p in params} - set(spec.kinds)
        allowed = {"flatness_order": {"n_starts", "rng"}}.get(spec.name, set())  # via **kwargs
        assert not missing, f"{spec.name}: parameters not fuzzed: {sorted(missing)}"
        assert set(spec.kinds) - {p.name for p in params} <= allowed, spec.name
