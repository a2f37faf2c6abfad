"""Issue 13 §7: no silent wrong answer on bad or extreme input.

One test per probe of the issue, each against a closed form derived here (or the named error the
principle asks for): for every public function and every numeric parameter, the right value or a
ValueError/TypeError naming the parameter; overflow handled by scaling, never by 0 or nan.
Each test says which broken implementation it catches.
"""
import warnings

import numpy as np
import pytest

import flatlib as fl
from flatlib import calculus, certify, sharpness, spectral, symmetry, flows
from flatlib.sharpness import sam_sharpness

A = np.array([3.0, -4.0])  # |A| = 5


def lin(y):
    return float(A @ y)


def lin_grad(y):
    return A


# ---------------------------------------------------------------- level_distance(xtol=...)

@pytest.mark.parametrize("xtol", [0, 0.0, 1e-16, 8e-16, 1e-12])
def test_level_distance_any_tolerance_gives_the_distance(xtol):
    # f = |y|² at 0: f¯(0, d) = √d. Catches: brentq's refusal of a tolerance below 4 eps read as
    # "f°(lo) >= d", which returned the upper end of the bracket (1.0, about 2x √0.3).
    res = fl.level_distance(lambda y: float(y @ y), [0.0, 0.0], 0.3, xtol=xtol)
    assert res.value == pytest.approx(np.sqrt(0.3), rel=max(1e-9, 10 * xtol))
    assert float(res.nearest @ res.nearest) >= 0.3  # attained: |f(nearest) - f(0)| >= d


@pytest.mark.parametrize("xtol, exc", [(np.nan, ValueError), (-1, ValueError), (np.inf, ValueError),
                                       ("1e-3", TypeError), (True, TypeError), (1e-3 + 0j, TypeError)])
def test_level_distance_bad_tolerance_is_named(xtol, exc):
    # Catches: a NaN or negative xtol reaching brentq (it then raised, and was read as a bracket).
    with pytest.raises(exc, match="xtol"):
        fl.level_distance(lambda y: float(y @ y), [0.0, 0.0], 0.3, xtol=xtol)


def test_level_distance_lets_the_users_error_through():
    # An error of f inside Brent's method was caught as "f°(lo) >= d" before.
    def f(y):
        if np.linalg.norm(y) > 0.4:
            raise ValueError("outside my domain")
        return float(y @ y)
    with pytest.raises(ValueError, match="outside my domain"):
        fl.level_distance(f, [0.0, 0.0], 0.3)


# ---------------------------------------------------------------- extreme radii

@pytest.mark.parametrize("r", [1e-300, 1e-200, 1e-160, 1e155, 1e200, 1e300])
def test_extreme_radii_linear_function(r):
    # f(y) = a·y: f°(x, r) = |a| r exactly (up to rounding). Catches: r² overflowing to inf (or
    # underflowing to 0) in the ascent, which returned 0 (r >= 1e154) or a value attained outside
    # the ball; the bracket with L = |a| must close on it too.
    res = fl.max_variation(lin, [0.0, 0.0], r)
    assert res.value == pytest.approx(5.0 * r, rel=1e-12)
    assert np.hypot(*res.argmax) <= r  # (hypot: |y|² itself would overflow)
    assert abs(lin(res.argmax)) == pytest.approx(res.value, rel=1e-15)
    br = fl.max_variation(lin, [0.0, 0.0], r, grad=lin_grad, lipschitz=5.0)
    assert br.status == "converged" and br.value == pytest.approx(5.0 * r, rel=1e-12)
    assert br.upper >= 5.0 * r * (1 - 1e-12) and br.upper <= 5.0 * r * (1 + 1e-3)


def test_extreme_radii_nonlinear_functions():
    # |y|^(1/2) at 0: f° = r^(1/2) for every r (r = 1e250: 1e125). ‖y‖² at 0 with r = 1e150:
    # f° = 1e300 (representable); r = 1e155: f° = 1e310 is not, a named error (not 0, not inf).
    sq = lambda y: float(np.sqrt(np.hypot(*y)))
    for r in (1e-250, 1e250):
        assert fl.max_variation(sq, [0.0, 0.0], r).value == pytest.approx(np.sqrt(r), rel=1e-9)
    quad = lambda y: float(y @ y)
    assert fl.max_variation(quad, [0.0, 0.0], 1e150).value == pytest.approx(1e300, rel=1e-9)
    with pytest.raises(ValueError, match="f returned inf|overflow"), np.errstate(over="ignore"):
        fl.max_variation(quad, [0.0, 0.0], 1e155)


def test_extreme_radii_carry_into_sam_and_flatness_order():
    # SAM sharpness of a·y is |a| ρ; the flatness order of a·y is 1 with constant |a| on any grid.
    # Catches: f° = 0 from overflow, which made sam_sharpness 0 and flatness_order say "f is
    # constant" (order +inf).
    s = sam_sharpness(lin, [0.0, 0.0], 1e200, exact=True)
    assert s.value == pytest.approx(5e200, rel=1e-12)
    res = fl.flatness_order(lin, [0.0, 0.0], radii=[1e160, 1e180, 1e200, 1e220])
    assert res.order == pytest.approx(1.0, abs=1e-9)
    assert res.constant == pytest.approx(5.0, rel=1e-6)
    assert "constant" not in res.message


def test_certified_grid_at_extreme_radii():
    # |y| at 0 with L = 1: f° = r; the grid bracket must contain it, however large r is.
    for r in (1e-200, 1e200):
        b = certify.certified_max_variation(lambda y: float(np.linalg.norm(y / r)) * r, [0.0, 0.0],
                                            r, lipschitz=1.0, points_per_axis=41)
        assert b.lower <= r * (1 + 1e-12) and b.upper >= r * (1 - 1e-12)
        assert b.lower == pytest.approx(r, rel=1e-12)


# ---------------------------------------------------------------- quadratics near the largest float

def test_quadratic_near_the_largest_float():
    # q = ½ (1e308 y1² + y2²) at 0, r = 1: sup = ½ 1e308 = 5e307 (representable). Catches:
    # Q + Qᵀ overflowing to inf in the symmetrization (nan answers).
    Q = np.diag([1e308, 1.0])
    q = fl.Quadratic(Q)
    assert fl.max_variation(q, [0.0, 0.0], 1.0).value == pytest.approx(5e307, rel=1e-14)
    v, u = fl.trust_region_max(Q, np.zeros(2), 1.0)
    assert v == pytest.approx(5e307, rel=1e-14) and abs(abs(u[0]) - 1.0) < 1e-14
    res = fl.trust_region_max(Q, np.zeros(2), 1.0, full_output=True)
    assert res.exact and res.upper >= 5e307
    # 1.125e308 at r = 1.5; the level 1e307 at distance √(2e307/1e308) = √0.2
    assert q.max_variation([0.0, 0.0], 1.5)[0] == pytest.approx(1.125e308, rel=1e-14)
    assert q.level_distance([0.0, 0.0], 1e307)[0] == pytest.approx(np.sqrt(0.2), rel=1e-12)
    # r = 2: 2e308 is not representable: a named error, not inf or nan
    with pytest.raises(ValueError, match="cannot be represented"):
        fl.max_variation(q, [0.0, 0.0], 2.0)
    with pytest.raises(ValueError, match="cannot be represented"):
        fl.trust_region_max(Q, np.zeros(2), 2.0)


# ---------------------------------------------------------------- complex numbers

@pytest.mark.parametrize("call, name", [
    (lambda: fl.max_variation(lin, np.array([1 + 1j, 0.0]), 0.1), "x"),
    (lambda: fl.max_variation(lin, [0.0, 0.0], np.array([0.1 + 0j])), "radius"),
    (lambda: fl.max_variation(lin, [0.0, 0.0], 0.1, starts=[[1j, 1.0]]), "starts"),
    (lambda: fl.max_variation(lin, [0.0, 0.0], 0.1, lipschitz=5 + 0j), "lipschitz"),
    (lambda: fl.max_variation(lambda y: complex(y[0], 1.0), [0.0, 0.0], 0.1), "f"),
    (lambda: fl.max_variation(lambda Y: Y[:, 0] + 1j, [0.0, 0.0], 0.1, vectorized=True), "f"),
    (lambda: fl.max_variation(lin, [0.0, 0.0], 0.1, grad=lambda y: A + 1j), "grad"),
    (lambda: fl.max_variation(lin, [0.0, 0.0], 0.1, hess=lambda y: np.eye(2) * 1j), "hess"),
    (lambda: fl.level_distance(lin, [0.0, 0.0], np.array([0.1 + 1j])), "delta"),
    (lambda: fl.Quadratic(np.eye(2) * (1 + 1j)), "Q"),
    (lambda: fl.Quadratic(np.eye(2), [1j, 0.0]), "b"),
    (lambda: fl.trust_region_max(np.eye(2), np.array([1j, 0.0]), 1.0), "g"),
    (lambda: fl.hessian_lambda_max(lambda x, v: v * (1 + 1j), np.zeros(3)), "hvp"),
    (lambda: fl.hessian_trace(lambda x, v: v, np.zeros(3) + 1j), "x"),
    (lambda: calculus.first_order_constant(lambda y: A * 1j, [0.0, 0.0]), "grad"),
    (lambda: calculus.second_order_constant(np.eye(2) * 1j, [0.0, 0.0]), "hess"),
    (lambda: symmetry.symmetry_algebra(lin_grad, np.ones((4, 2)) * 1j), "samples"),
    (lambda: symmetry.conserved_quantities(np.eye(2)[None] * 1j), "generators"),
    (lambda: flows.gradient_flow(lin_grad, [0.0, 0.0], (0.0, 1j)), "t_span"),
    (lambda: flows.gradient_descent(lambda y: y * 1j, [1.0, 0.0], 0.1, 3), "grad"),
    (lambda: sharpness.sublevel_volume(lin, [0.0, 0.0], 0.1, box_halfwidth=1j), "box_halfwidth"),
])
def test_complex_numbers_are_refused_by_name(call, name):
    # Catches: numpy's float conversion, which drops the imaginary part with only a
    # ComplexWarning and computes on the real part.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would fail here too
        with pytest.raises(TypeError, match=name):
            call()


# ---------------------------------------------------------------- compare_flatness(order_tol=-1)

@pytest.mark.parametrize("kw, name", [(dict(order_tol=-1.0), "order_tol"), (dict(order_tol=np.nan), "order_tol"),
                                      (dict(settle_tol=-0.1), "settle_tol"), (dict(rtol=np.inf), "rtol"),
                                      (dict(rtol="1e-6"), "rtol")])
def test_compare_flatness_tolerances_are_checked(kw, name):
    # Catches: order_tol = -1 making |a_x - a_y| > order_tol always true, so that a point was
    # "flatter than itself" (sign +1 with identical profiles).
    f = lambda z: 0.5 * (z[0] * z[1] - 1.0) ** 2
    with pytest.raises((ValueError, TypeError), match=name):
        fl.compare_flatness(f, [1.0, 1.0], [1.0, 1.0], mode="asymptotic", **kw)


def test_a_point_ties_with_itself():
    f = lambda z: 0.5 * (z[0] * z[1] - 1.0) ** 2
    for mode in ("eventual", "asymptotic"):
        assert fl.compare_flatness(f, [2.0, 0.5], [2.0, 0.5], mode=mode, order_tol=0.0).sign == 0


# ---------------------------------------------------------------- gradient_descent and the user's errors

def test_gradient_descent_lets_the_users_error_through():
    # ½|y|² with step 2.5 diverges (x_k = (-1.5)^k x_0). A gradient that refuses |y| > 1e4 by a
    # ValueError must reach the caller; before, any ValueError far from x0 was "diverged".
    def strict(y):
        if np.linalg.norm(y) > 1e4:
            raise ValueError("outside the model")
        return y
    with pytest.raises(ValueError, match="outside the model"):
        fl.gradient_descent(strict, [1.0, 0.0], 2.5, 100)
    with pytest.raises(ValueError, match="at the start"):
        fl.gradient_descent(lambda y: (_ for _ in ()).throw(ValueError("at the start")), [1.0], 0.1, 3)
    # a gradient that turns non-finite far from x0 is divergence, reported, not raised
    nonfinite = lambda y: y if np.linalg.norm(y) < 1e5 else np.full(2, np.inf)
    res = fl.gradient_descent(nonfinite, [1.0, 0.0], 2.5, 100)
    assert res.diverged and np.all(np.isfinite(res.x))
    # and the number of steps is exact: |x_k| = 1.5^k until 1.5^k >= 1e5, i.e. k = 29
    assert len(res.x) == int(np.ceil(np.log(1e5) / np.log(1.5))) + 1
    # the kept iterates are x_k = (-1.5)^k x_0 (catches iterates other than the GD steps)
    np.testing.assert_allclose(res.x, np.outer((-1.5) ** np.arange(len(res.x)), [1.0, 0.0]), rtol=1e-12, atol=0)


# ---------------------------------------------------------------- numeric parameters crash inside numpy

CASES = [
    # (callable taking the bad value, parameter name, bad values)
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, tol=v), "tol", ["a", np.nan, -1.0, 0.0, [1e-3], True]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, lipschitz=5.0, rtol=v), "rtol",
     ["a", np.nan, -1.0, [1e-3, 1.0], 1 + 1j]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, lipschitz=5.0, atol=v), "atol", ["a", np.nan, -1.0]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, starts=v), "starts",
     ["abc", [[np.nan, 1.0]], [[0.0, 0.0]], [[1.0, 2.0, 3.0]], [], True]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, n_starts=v), "n_starts", [-1, 1.5, "3", 10 ** 12, True]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, max_iter=v), "max_iter", [0, 1.5, "3", True]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, max_evals=v), "max_evals", [0, 2, 1.5, "3"]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, vectorized=v), "vectorized", ["yes", 1, None]),
    (lambda v: fl.max_variation(lin, [0.0, 0.0], 0.1, rng=v), "rng", ["seed", -1, 1.5, True]),
    (lambda v: fl.level_distance(lin, [0.0, 0.0], 0.1, max_radius=v), "max_radius", [0.0, -1.0, np.nan, "1"]),
    (lambda v: fl.flatness_order(lin, [0.0, 0.0], slope_tol=v), "slope_tol", ["a", np.nan, -0.1, [0.1]]),
    (lambda v: fl.hessian_lambda_max(lambda x, w: w, np.zeros(3), dense_max_n=v), "dense_max_n",
     ["a", np.nan, 1.5, -1, True]),
    (lambda v: fl.hessian_lambda_max(lambda x, w: w, np.zeros(3), assemble_max_n=v), "assemble_max_n",
     ["a", np.nan, 2.5]),
    (lambda v: fl.hessian_lambda_max(lambda x, w: w, np.zeros(3), tol=v), "tol", ["a", np.nan, -1.0]),
    (lambda v: fl.hessian_lambda_max(lambda x, w: w, np.zeros(30), maxiter=v), "maxiter", [0, "a", 1.5]),
    (lambda v: fl.hessian_trace(lambda x, w: w, np.zeros(3), exact_if_n_le=v), "exact_if_n_le",
     ["a", np.nan, 1.5, -1, True]),
    (lambda v: fl.hessian_trace(lambda x, w: w, np.zeros(3), n_samples=v), "n_samples", [0, "a", 10 ** 12]),
    (lambda v: calculus.second_order_constant(np.eye(2), [0.0, 0.0], gtol=v), "gtol", ["a", np.nan, -1.0]),
    (lambda v: calculus.directional_constant(lin, [0.0, 0.0], t=v), "t", ["a", 0.0, np.inf]),
    (lambda v: calculus.directional_constant(lin, [0.0, 0.0], n_dirs=v), "n_dirs", [0, 2.5, "a", 10 ** 12]),
    (lambda v: calculus.separable_max_variation(lambda s: s, lambda s: s, 0.1, xatol=v), "xatol",
     ["a", 0.0, np.nan]),
    (lambda v: calculus.separable_max_variation(lambda s: s, lambda s: s, 0.1, n_grid=v), "n_grid",
     [2, 2.5, "a", 10 ** 12]),
    (lambda v: certify.certified_max_variation(lin, [0.0, 0.0], 0.1, lipschitz=5.0, max_points=v),
     "max_points", [0, "a", 1.5]),
    (lambda v: sharpness.epsilon_sharpness(lambda y: float(y @ y), [0.0, 0.0], 0.1, tol=v), "tol",
     ["a", 0.0, np.nan]),
    (lambda v: sharpness.epsilon_sharpness(lambda y: float(y @ y), [1.0, 1.0], v), "eps",
     ["a", -1.0, np.nan, [0.1], 1e308]),  # 1e308 (|x_i| + 1): corners beyond the largest float
    (lambda v: sam_sharpness(lin, [0.0, 0.0], 0.1, grad=lin_grad, gtol=v), "gtol", ["a", -1.0, np.nan]),
    (lambda v: sharpness.sublevel_volume(lin, [0.0, 0.0], 0.1, box_halfwidth=1.0, grid=v), "grid",
     [0, 1.5, 10 ** 6]),
    (lambda v: sharpness.sublevel_volume(lin, [0.0, 0.0], 0.1, box_halfwidth=v), "box_halfwidth",
     [0.0, -1.0, 1e308]),
    (lambda v: symmetry.symmetry_algebra(lin_grad, np.ones((4, 2)), tol=v), "tol", ["0.1", 1.5, np.nan, True]),
    (lambda v: flows.gradient_descent(lin_grad, [0.0, 0.0], v, 3), "step", [0.0, -1.0, "a", np.inf]),
    (lambda v: flows.gradient_descent(lin_grad, [0.0, 0.0], 0.1, v), "n_steps", [0, 1.5, 10 ** 12]),
    (lambda v: flows.gradient_descent(lin_grad, [0.0, 0.0], 0.1, 3, gtol=v), "gtol", ["a", -1.0]),
    (lambda v: flows.gradient_flow(lin_grad, [0.0, 0.0], (0.0, 1.0), rtol=v), "rtol", [0.0, "a", np.nan]),
    (lambda v: flows.gradient_flow(lin_grad, [0.0, 0.0], (0.0, 1.0), blowup=v), "blowup", [0.0, "a"]),
]


@pytest.mark.parametrize("call, name, values", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_numeric_parameters_raise_named_errors(call, name, values):
    # Catches: a parameter passed unchecked to numpy or scipy (UFuncTypeError, "could not convert
    # string to float", "cannot convert float NaN to integer", a MemoryError for 10**12 starts).
    for v in values:
        with pytest.raises((ValueError, TypeError), match=name):
            call(v)
