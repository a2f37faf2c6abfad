"""Tests of flatlib.sharpness against closed forms derived here.

Closed forms used
-----------------
* q(y) = ½ yᵀQy, Q = diag(q) ⪰ 0: ∇²q = Q, so λ_max = max q_i, tr = Σ q_i.
  Over the box |y_i - x_i| <= w_i the separable convex q is maximal at the vertex
  farthest from 0 in each coordinate: max = ½ Σ q_i (|x_i| + w_i)².
  SAM exact at 0: max_{||e||<=ρ} ½ eᵀQe = ½ λ_max ρ².  One step at 0: ∇q(0) = 0 → 0.
* linear ℓ(y) = gᵀy: ℓ(x + ρ g/||g||) - ℓ(x) = ρ ||g|| = max_{||e||<=ρ} gᵀe.
* ellipse {½ yᵀQy <= c} = {yᵀ(Q/2c)y <= 1} has area π / sqrt(det(Q/2c)) = 2πc/√det Q;
  in 3-D the ellipsoid has volume (4/3)π (2c)^{3/2} / √det Q; in 1-D the interval
  {½ q y² <= c} has length 2 sqrt(2c/q).
* f(x,y) = y⁴(1 + x²): ∇²f(t,0) = 0 (every term has a factor y² at least), so all
  Hessian measures vanish on {y = 0}; f°((t,0), r) = max_{u²+v²<=r²} v⁴(1+(t+u)²)
  - increasing in v², so attained with v² = r² - u² - computed by a fine 1-D
  search in u below; it is ≈ (1 + t²) r⁴.
* f(x,y) = ½(xy - 1)²: ∇f = (xy-1)(y, x); at a zero of xy - 1 the Hessian is
  (y, x)(y, x)ᵀ, so λ_max = tr = x² + y² = α² + 1/α² at (α, 1/α).
  ε-sharpness: f(α+u, 1/α+v) = ½(u/α + αv + uv)², and over |u|<=a, |v|<=b,
  |u/α + αv + uv| <= a/α + αb + ab with equality at (a, b) (α > 0), so
  max = ½ (a/α + αb + ab)²; relative box: a = ε(α+1), b = ε(1/α+1).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flatlib import sharpness as S
from flatlib.sharpness import (BoxBoundaryWarning, epsilon_sharpness, hessian_lambda_max,
                               hessian_trace, sam_sharpness, sublevel_volume)


def _has_max_variation():
    try:
        from flatlib.profiles import max_variation  # noqa: F401
    except ImportError:
        return False
    return True


needs_mv = pytest.mark.skipif(not _has_max_variation(),
                              reason="flatlib.profiles.max_variation not available yet")

HYP = settings(max_examples=25, deadline=None, derandomize=True)


# ------------------------------------------------------------------ helpers

def quad(q):
    q = np.asarray(q, dtype=float)
    return (lambda y: 0.5 * float(np.sum(q * y * y)),
            lambda y: q * y,
            lambda y, v: q * v)


def dinh_f(z):
    return 0.5 * (z[0] * z[1] - 1.0) ** 2


def dinh_grad(z):
    return (z[0] * z[1] - 1.0) * np.array([z[1], z[0]])


def dinh_hvp(z, v):
    return dinh_hess(z) @ v


def dinh_hess(z):
    x, y = z
    return np.array([[y * y, 2 * x * y - 1.0], [2 * x * y - 1.0, x * x]])


def degen_f(z):
    return z[1] ** 4 * (1.0 + z[0] ** 2)


def degen_grad(z):
    return np.array([2.0 * z[0] * z[1] ** 4, 4.0 * z[1] ** 3 * (1.0 + z[0] ** 2)])


def degen_hvp(z, v):
    x, y = z
    H = np.array([[2 * y ** 4, 8 * x * y ** 3], [8 * x * y ** 3, 12 * y ** 2 * (1 + x * x)]])
    return H @ v


def degen_mv_reference(t, r, m=200_001):
    u = np.linspace(-r, r, m)
    return float(np.max((r * r - u * u) ** 2 * (1.0 + (t + u) ** 2)))


# ------------------------------------------------------------------ Hessian measures (re-exported)

def test_reexports_are_the_spectral_functions():
    from flatlib import spectral
    assert S.hessian_lambda_max is spectral.hessian_lambda_max
    assert S.hessian_trace is spectral.hessian_trace


def test_quadratic_hessian_measures():
    q = np.array([3.0, 0.5, 2.0])
    _, _, hvp = quad(q)
    assert float(hessian_lambda_max(hvp, np.zeros(3))) == pytest.approx(3.0, abs=1e-12)
    assert float(hessian_trace(hvp, np.zeros(3))) == pytest.approx(5.5, abs=1e-12)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 1.0, 2.0, 5.0])
def test_dinh_hessian_closed_form(alpha):
    x = np.array([alpha, 1.0 / alpha])
    expected = alpha ** 2 + alpha ** -2
    assert dinh_f(x) == pytest.approx(0.0, abs=1e-30)
    assert float(hessian_lambda_max(dinh_hvp, x)) == pytest.approx(expected, rel=1e-12)
    assert float(hessian_lambda_max(dinh_hvp, x, hess=dinh_hess)) == pytest.approx(expected, rel=1e-12)
    assert float(hessian_trace(dinh_hvp, x)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("t", [0.0, 0.5, 1.0, 2.0])
def test_degenerate_minima_hessian_blind(t):
    x = np.array([t, 0.0])
    assert float(hessian_lambda_max(degen_hvp, x)) == 0.0
    assert float(hessian_trace(degen_hvp, x)) == 0.0
    one = sam_sharpness(degen_f, x, 0.1, grad=degen_grad)
    assert one.value == 0.0 and np.all(one.displacement == 0.0)
    assert "gradient vanishes" in one.message


# ------------------------------------------------------------------ ε-sharpness

@pytest.mark.parametrize("use_grad", [True, False])
@pytest.mark.parametrize("corners", [True, False])
def test_eps_sharpness_diag_quadratic_at_zero(use_grad, corners):
    q = np.array([2.0, 0.0, 0.7])
    f, g, _ = quad(q)
    eps = 0.05
    res = epsilon_sharpness(f, np.zeros(3), eps, grad=g if use_grad else None, corners=corners)
    expected = 100.0 * 0.5 * np.sum(q * eps ** 2)
    assert res.value == pytest.approx(expected, rel=1e-8)
    assert res.increase == pytest.approx(expected / 100.0, rel=1e-8)
    assert np.all(np.abs(res.argmax) <= eps * (1 + 1e-12))
    assert res.nfev > 0 and (res.ngev > 0) == use_grad


def test_eps_sharpness_diag_quadratic_general_point_relative_and_absolute():
    q = np.array([1.0, 3.0])
    f, g, _ = quad(q)
    x = np.array([0.4, -1.5])
    eps = 0.1
    fx = f(x)
    for box, w in (("relative", eps * (np.abs(x) + 1)), ("absolute", np.full(2, eps))):
        res = epsilon_sharpness(f, x, eps, grad=g, box=box)
        top = 0.5 * np.sum(q * (np.abs(x) + w) ** 2)
        assert res.value == pytest.approx(100 * (top - fx) / (1 + fx), rel=1e-10)
        np.testing.assert_allclose(res.halfwidth, w)
        np.testing.assert_allclose(np.abs(res.argmax), np.abs(x) + w, rtol=1e-10)


def test_eps_sharpness_interior_maximum_found_by_lbfgsb():
    # f(y) = 1 - ||y - c||² has its max 1 at c, inside the box; no vertex is optimal.
    c = np.array([0.05, -0.02])
    f = lambda y: 1.0 - float(np.sum((y - c) ** 2))  # noqa: E731
    x = np.zeros(2)
    fx = 1.0 - c @ c
    for grad in (None, lambda y: -2.0 * (y - c)):
        res = epsilon_sharpness(f, x, 0.1, grad=grad, box="absolute", corners=False, n_starts=3)
        assert res.value == pytest.approx(100 * (1.0 - fx) / (1 + fx), rel=1e-6)
        np.testing.assert_allclose(res.argmax, c, atol=1e-4)


def test_eps_sharpness_percent_and_zero_eps():
    f, g, _ = quad([1.0, 2.0])
    x = np.array([0.3, 0.1])
    a = epsilon_sharpness(f, x, 0.02, grad=g)
    b = epsilon_sharpness(f, x, 0.02, grad=g, percent=False)
    assert a.value == pytest.approx(100 * b.value, rel=1e-12)
    assert a.percent and not b.percent
    z = epsilon_sharpness(f, x, 0.0, grad=g)
    assert z.value == 0.0 and np.array_equal(z.argmax, x)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 4.0])
def test_eps_sharpness_dinh_closed_form(alpha):
    x = np.array([alpha, 1.0 / alpha])
    eps = 0.01
    for box in ("relative", "absolute"):
        a, b = (eps * (alpha + 1), eps * (1 / alpha + 1)) if box == "relative" else (eps, eps)
        expected = 100 * 0.5 * (a / alpha + alpha * b + a * b) ** 2
        res = epsilon_sharpness(dinh_f, x, eps, grad=dinh_grad, box=box)
        assert res.value == pytest.approx(expected, rel=1e-9)


def test_eps_sharpness_dinh_varies_along_orbit():
    eps = 0.01
    vals = [epsilon_sharpness(dinh_f, [a, 1 / a], eps, grad=dinh_grad).value
            for a in (1.0, 2.0, 4.0, 8.0)]
    # same loss 0 at every point, sharpness growing with the imbalance: roughly
    # (a/α + αb)² ∝ (2 + α + 1/α)² for the relative box
    assert all(v2 > v1 for v1, v2 in zip(vals, vals[1:]))
    assert vals[-1] > 5 * vals[0]


@HYP
@given(c=st.floats(0.0, 50.0), x0=st.floats(-2, 2), x1=st.floats(-2, 2))
def test_eps_sharpness_under_constant_shift(c, x0, x1):
    # Adding c leaves the increase max f - f(x) unchanged but not the value:
    # value(f + c) = value(f) (1 + f(x)) / (1 + f(x) + c).
    f, g, _ = quad([1.0, 0.5])
    x = np.array([x0, x1])
    base = epsilon_sharpness(f, x, 0.05, grad=g)
    shifted = epsilon_sharpness(lambda y: f(y) + c, x, 0.05, grad=g)
    fx = f(x)
    assert shifted.increase == pytest.approx(base.increase, rel=1e-9, abs=1e-12)
    assert shifted.value == pytest.approx(base.value * (1 + fx) / (1 + fx + c), rel=1e-9, abs=1e-12)


@HYP
@given(q=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=4), eps=st.floats(0.0, 0.5))
def test_eps_sharpness_property_diag_psd(q, eps):
    q = np.array(q)
    f, g, _ = quad(q)
    res = epsilon_sharpness(f, np.zeros(q.size), eps, grad=g)
    assert res.value == pytest.approx(50.0 * np.sum(q) * eps ** 2, rel=1e-9, abs=1e-14)
    assert res.value >= 0.0


def test_eps_sharpness_is_reproducible():
    f = lambda y: float(np.sin(3 * y[0]) * np.cos(2 * y[1]) + y @ y)  # noqa: E731
    a = epsilon_sharpness(f, [0.2, -0.1], 0.3, rng=7, corners=False)
    b = epsilon_sharpness(f, [0.2, -0.1], 0.3, rng=7, corners=False)
    assert a.value == b.value and np.array_equal(a.argmax, b.argmax)


# ------------------------------------------------------------------ SAM

@HYP
@given(g=st.lists(st.floats(-5, 5), min_size=1, max_size=5).filter(lambda v: np.linalg.norm(v) > 1e-3),
       rho=st.floats(0.0, 3.0), shift=st.floats(-3, 3))
def test_sam_one_step_exact_for_linear(g, rho, shift):
    g = np.array(g)
    x = np.full(g.size, shift)
    res = sam_sharpness(lambda y: float(g @ y), x, rho, grad=lambda y: g)
    assert res.value == pytest.approx(rho * np.linalg.norm(g), rel=1e-9, abs=1e-12)
    assert np.linalg.norm(res.displacement) == pytest.approx(rho, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(res.point, x + res.displacement)


def test_sam_one_step_zero_at_minimum():
    f, g, _ = quad([4.0, 1.0])
    res = sam_sharpness(f, np.zeros(2), 0.3, grad=g)
    assert res.value == 0.0 and res.grad_norm == 0.0 and not res.exact
    assert np.array_equal(res.point, np.zeros(2))
    assert "gradient vanishes" in res.message and "exact=True" in res.message


def test_sam_one_step_closed_form_off_minimum():
    q = np.array([4.0, 1.0])
    f, g, _ = quad(q)
    x = np.array([0.5, -1.0])
    rho = 0.2
    gx = q * x
    e = rho * gx / np.linalg.norm(gx)
    res = sam_sharpness(f, x, rho, grad=g)
    assert res.value == pytest.approx(gx @ e + 0.5 * np.sum(q * e * e), rel=1e-12)


def test_sam_gtol():
    f, g, _ = quad([1.0])
    res = sam_sharpness(f, [1e-9], 0.1, grad=g, gtol=1e-6)
    assert res.value == 0.0
    res = sam_sharpness(f, [1e-9], 0.1, grad=g)
    assert res.value > 0.0


@needs_mv
@pytest.mark.parametrize("q", [[3.0, 1.0], [0.5, 0.5, 2.0], [1.0, 0.0]])
def test_sam_exact_quadratic_at_min(q):
    f, g, _ = quad(q)
    rho = 0.3
    n = len(q)
    res = sam_sharpness(f, np.zeros(n), rho, grad=g, exact=True)
    assert res.exact
    assert res.value == pytest.approx(0.5 * max(q) * rho ** 2, rel=1e-6)
    assert np.linalg.norm(res.displacement) <= rho * (1 + 1e-9)
    assert f(res.point) - f(np.zeros(n)) == pytest.approx(res.value, rel=1e-9)
    if res.upper is not None:
        assert res.upper >= res.value * (1 - 1e-9)
    # derivative-free too
    res2 = sam_sharpness(f, np.zeros(n), rho, exact=True)
    assert res2.value == pytest.approx(0.5 * max(q) * rho ** 2, rel=1e-5)


@needs_mv
def test_sam_exact_linear():
    g = np.array([1.0, -2.0, 2.0])
    res = sam_sharpness(lambda y: float(g @ y), np.ones(3), 0.5, grad=lambda y: g, exact=True)
    assert res.value == pytest.approx(1.5, rel=1e-8)


@needs_mv
@settings(max_examples=10, deadline=None, derandomize=True)
@given(q=st.lists(st.floats(0.0, 5.0), min_size=2, max_size=3), rho=st.floats(0.01, 1.0),
       shift=st.floats(-1.0, 1.0))
def test_sam_exact_dominates_one_step(q, rho, shift):
    q = np.array(q)
    f, g, _ = quad(q)
    x = np.full(q.size, shift)
    one = sam_sharpness(f, x, rho, grad=g)
    ex = sam_sharpness(f, x, rho, grad=g, exact=True)
    assert ex.value >= one.value - 1e-12
    # without grad the exact route is the core search alone (no one-step candidate added)
    ex_free = sam_sharpness(f, x, rho, exact=True)
    assert ex_free.value >= one.value - 1e-9 * max(1.0, abs(one.value))
    assert ex.value >= 0.0
    if shift == 0.0:  # at the minimum: one-step 0, exact ½ λ_max ρ²
        assert one.value == 0.0
        assert ex.value == pytest.approx(0.5 * q.max() * rho ** 2, rel=1e-6, abs=1e-12)


@needs_mv
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sam_exact_matches_trust_region_closed_form(seed):
    # q(y) = ½ yᵀQy + bᵀy, Q indefinite, off a critical point: the exact SAM sharpness is
    # the trust-region maximum max_{||e||<=ρ} gᵀe + ½ eᵀQe, solved in closed form by
    # flatlib.Quadratic; the black-box (multistart) route must agree with it.
    from flatlib import Quadratic
    gen = np.random.default_rng(seed)
    B = gen.standard_normal((3, 3))
    Q = 0.5 * (B + B.T)
    b = gen.standard_normal(3)
    q = Quadratic(Q, b)
    x = gen.standard_normal(3)
    rho = 0.7
    closed = sam_sharpness(q, x, rho, exact=True)          # closed-form path of the core
    ref, _ = q.max_variation(x, rho, side="up")
    assert closed.value == pytest.approx(ref, rel=1e-10)
    black = sam_sharpness(lambda y: q(y), x, rho, exact=True)  # no grad: pure search
    assert black.value == pytest.approx(ref, rel=1e-6)
    one = sam_sharpness(lambda y: q(y), x, rho, grad=q.grad)
    assert one.value <= ref + 1e-12


@needs_mv
@pytest.mark.parametrize("t", [0.0, 1.0, 2.0])
def test_degenerate_minima_max_variation_separates(t):
    from flatlib.profiles import max_variation
    x = np.array([t, 0.0])
    r = 0.1
    ref = degen_mv_reference(t, r)
    assert ref == pytest.approx((1 + t * t) * r ** 4, rel=0.05)
    mv = max_variation(degen_f, x, r, grad=degen_grad)
    assert float(np.asarray(mv.value).reshape(-1)[0]) == pytest.approx(ref, rel=1e-5)
    ex = sam_sharpness(degen_f, x, r, grad=degen_grad, exact=True)
    assert ex.value == pytest.approx(ref, rel=1e-5)


# ------------------------------------------------------------------ sublevel volume

@pytest.mark.parametrize("Q,c", [(np.array([[2.0, 0.5], [0.5, 1.0]]), 0.3),
                                 (np.diag([1.0, 9.0]), 0.5)])
def test_sublevel_ellipse_area(Q, c):
    f = lambda y: 0.5 * float(y @ Q @ y)  # noqa: E731
    fv = lambda Y: 0.5 * np.einsum("ij,jk,ik->i", Y, Q, Y)  # noqa: E731
    area = 2 * np.pi * c / np.sqrt(np.linalg.det(Q))
    hw = 1.2 * np.sqrt(2 * c * np.diag(np.linalg.inv(Q)))  # the ellipse's extent is sqrt(2c (Q⁻¹)_ii)
    grid = sublevel_volume(fv, np.zeros(2), c, box_halfwidth=hw, grid=401, vectorized=True)
    assert grid.method == "grid" and not grid.touches_boundary
    assert abs(grid.volume - area) <= max(grid.grid_error, 1e-3 * area)
    assert grid.volume == pytest.approx(area, rel=5e-3)
    mc = sublevel_volume(f, np.zeros(2), c, box_halfwidth=hw, n_samples=20_000,
                         connected=False, rng=3)
    assert mc.method == "monte-carlo" and not mc.touches_boundary
    assert abs(mc.volume - area) <= 4 * mc.stderr
    assert mc.log_stderr == pytest.approx(mc.stderr / mc.volume)
    lg = sublevel_volume(fv, np.zeros(2), c, box_halfwidth=hw, grid=401, vectorized=True, log=True)
    assert lg.value == pytest.approx(math.log(grid.volume)) and lg.log_volume == lg.value


def test_sublevel_1d_and_3d():
    q = 4.0
    c = 0.5
    res = sublevel_volume(lambda y: 0.5 * q * y[0] ** 2, [0.0], c, box_halfwidth=1.0, grid=2001)
    assert res.volume == pytest.approx(2 * np.sqrt(2 * c / q), abs=2e-3)
    qd = np.array([1.0, 2.0, 4.0])
    fv = lambda Y: 0.5 * (Y * Y) @ qd  # noqa: E731
    vol = 4 / 3 * np.pi * (2 * c) ** 1.5 / np.sqrt(np.prod(qd))
    res3 = sublevel_volume(fv, np.zeros(3), c, box_halfwidth=1.1, grid=81, vectorized=True)
    assert not res3.touches_boundary
    assert res3.volume == pytest.approx(vol, rel=0.03)


def test_sublevel_connected_component_only():
    # double well: {(x²-1)² + y² <= c} has two mirror components, around (±1, 0);
    # each has area ∫ 2 sqrt(c - (x²-1)²) dx over x > 0 (reference by quadrature)
    from scipy.integrate import quad as integrate
    c = 0.05
    lo, hi = math.sqrt(1 - math.sqrt(c)), math.sqrt(1 + math.sqrt(c))
    area, _ = integrate(lambda s: 2 * math.sqrt(max(c - (s * s - 1) ** 2, 0.0)), lo, hi)
    fv = lambda Y: (Y[:, 0] ** 2 - 1) ** 2 + Y[:, 1] ** 2  # noqa: E731
    x = np.array([1.0, 0.0])
    one = sublevel_volume(fv, x, c, box_halfwidth=[2.3, 0.3], grid=1201, vectorized=True)
    both = sublevel_volume(fv, x, c, box_halfwidth=[2.3, 0.3], n_samples=200_000,
                           connected=False, vectorized=True)
    assert not one.touches_boundary and not both.touches_boundary
    assert one.volume == pytest.approx(area, rel=0.01)
    assert abs(both.volume - 2 * area) <= 4 * both.stderr


def test_sublevel_flags_and_warns_when_touching_box():
    # degenerate valley y⁴(1+x²) <= 1e-2 is unbounded along x
    with pytest.warns(BoxBoundaryWarning, match="lower bound"):
        res = sublevel_volume(degen_f, [0.0, 0.0], 1e-2, box_halfwidth=1.0, grid=101)
    assert res.touches_boundary and "LOWER BOUND" in res.message
    with pytest.warns(BoxBoundaryWarning):
        mc = sublevel_volume(degen_f, [0.0, 0.0], 1e-2, box_halfwidth=1.0, n_samples=5000,
                             connected=False)
    assert mc.touches_boundary
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = sublevel_volume(degen_f, [0.0, 0.0], 1e-2, box_halfwidth=1.0, grid=51, warn=False)
    assert quiet.touches_boundary


def test_sublevel_zero_level_strict_min():
    f, _, _ = quad([1.0, 1.0])
    with pytest.warns(S.GridResolutionWarning):
        res = sublevel_volume(f, [0.0, 0.0], 0.0, box_halfwidth=1.0, grid=51)
    # only the centre cell (x itself) satisfies f <= f(x): flagged as under-resolved
    assert res.volume == pytest.approx((2.0 / 51) ** 2)
    assert not res.resolved and "UNDER-RESOLVED" in res.message
    with pytest.warns(S.GridResolutionWarning):
        mc = sublevel_volume(f, [0.0, 0.0], 0.0, box_halfwidth=1.0, n_samples=1000,
                             connected=False)
    assert mc.volume == 0.0 and mc.log_volume == -math.inf and "below resolution" in mc.message
    assert not mc.resolved


def test_sublevel_thin_valley_flagged_as_under_resolved():
    # the band {|xy - 1| <= 0.014} around (1, 1) is ~0.02 thick; cells of 0.02 cut it into
    # pieces: the flood fill then misses most of it -> must be flagged, never silent
    with pytest.warns(S.GridResolutionWarning):
        coarse = sublevel_volume(dinh_f, [1.0, 1.0], 1e-4, box_halfwidth=1.0, grid=101)
    assert not coarse.resolved
    fine = sublevel_volume(lambda Y: 0.5 * (Y[:, 0] * Y[:, 1] - 1) ** 2, [1.0, 1.0], 1e-4,
                           box_halfwidth=0.2, grid=1601, vectorized=True, warn=False)
    assert fine.resolved and fine.touches_boundary
    # reference: area of {|xy - 1| <= s} ∩ [0.8, 1.2]², s = sqrt(2 level), by quadrature in x
    from scipy.integrate import quad as integrate
    s = math.sqrt(2e-4)
    area, _ = integrate(lambda u: max(0.0, min(1.2, (1 + s) / u) - max(0.8, (1 - s) / u)),
                        0.8, 1.2, points=[(1 - s) / 1.2, (1 + s) / 1.2], limit=200)
    assert fine.volume == pytest.approx(area, rel=0.02)


def test_sublevel_volume_flatter_is_bigger():
    # degenerate minima (t, 0): the valley is narrower where 1 + t² is larger
    vals = []
    for t in (0.0, 1.0, 2.0):
        with pytest.warns(BoxBoundaryWarning):  # the valley is cut by the box along x
            res = sublevel_volume(degen_f, [t, 0.0], 1e-3, box_halfwidth=[0.05, 0.5], grid=201)
        assert res.touches_boundary
        vals.append(res.volume)
    assert vals[0] > vals[1] > vals[2]


# ------------------------------------------------------------------ bad input

def test_bad_inputs():
    f, g, _ = quad([1.0, 1.0])
    x = np.zeros(2)
    with pytest.raises(ValueError, match="x"):
        epsilon_sharpness(f, [np.nan, 0.0], 0.1)
    with pytest.raises(ValueError, match="eps"):
        epsilon_sharpness(f, x, -0.1)
    with pytest.raises(ValueError, match="box"):
        epsilon_sharpness(f, x, 0.1, box="ball")
    with pytest.raises(ValueError, match="f"):
        epsilon_sharpness(lambda y: -2.0, x, 0.1)
    with pytest.raises(ValueError, match="f returned nan"):
        epsilon_sharpness(lambda y: float("nan"), x, 0.1)
    with pytest.raises(TypeError, match="f must return a scalar"):
        epsilon_sharpness(lambda y: y, x, 0.1)
    with pytest.raises(ValueError, match="grad"):
        epsilon_sharpness(f, x, 0.1, grad=lambda y: np.zeros(3))
    with pytest.raises(ValueError, match="x must be a 1-D"):
        epsilon_sharpness(f, np.zeros((2, 2)), 0.1)
    with pytest.raises(ValueError, match="rho"):
        sam_sharpness(f, x, -1.0, grad=g)
    with pytest.raises(TypeError, match="grad"):
        sam_sharpness(f, x, 0.1)
    with pytest.raises(ValueError, match="grad"):
        sam_sharpness(f, x, 0.1, grad=lambda y: np.array([np.inf, 0.0]))
    with pytest.raises(ValueError, match="f returned"):
        sam_sharpness(lambda y: float("nan"), x, 0.1, grad=g)
    with pytest.raises(ValueError, match="x must be finite"):
        sam_sharpness(f, [np.inf, 0.0], 0.1, grad=g)
    with pytest.raises(ValueError, match="level"):
        sublevel_volume(f, x, -1.0, box_halfwidth=1.0)
    with pytest.raises(ValueError, match="box_halfwidth"):
        sublevel_volume(f, x, 1.0, box_halfwidth=0.0)
    with pytest.raises(ValueError, match="box_halfwidth"):
        sublevel_volume(f, x, 1.0, box_halfwidth=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="n <= 3"):
        sublevel_volume(lambda y: 0.0, np.zeros(4), 1.0, box_halfwidth=1.0)
    with pytest.raises(ValueError, match="f returned"):
        sublevel_volume(lambda y: float("nan") if y[0] > 0.5 else 0.0, x, 1.0,
                        box_halfwidth=1.0, grid=11)
    with pytest.raises(TypeError, match="vectorized"):
        sublevel_volume(lambda Y: Y, x, 1.0, box_halfwidth=1.0, grid=11, vectorized=True)
    with pytest.raises(ValueError, match="n_samples"):
        sublevel_volume(f, x, 1.0, box_halfwidth=1.0, n_samples=0)
    with pytest.raises(TypeError, match="f must be callable"):
        sublevel_volume(3.0, x, 1.0, box_halfwidth=1.0)


# ------------------------------------------------------------------ the table

@needs_mv
def test_table_dinh_and_degenerate():
    pts = [[1.0, 1.0], [2.0, 0.5], [4.0, 0.25]]
    t = S.sharpness_table(dinh_f, pts, grad=dinh_grad, hvp=dinh_hvp, radius=0.05, eps=1e-3,
                          rho=0.05, level=1e-3, box_halfwidth=3.0, n_samples=10_000)
    assert len(t) == 3 and set(S.COLUMNS) <= set(t[0])
    lam = np.array([a * a + 1 / (a * a) for a in (1.0, 2.0, 4.0)])
    np.testing.assert_allclose(t.column("lambda_max"), lam, rtol=1e-10)
    np.testing.assert_allclose(t.column("trace"), lam, rtol=1e-10)
    np.testing.assert_allclose(t.column("sam_one_step"), 0.0, atol=0.0)
    # at a minimum: exact SAM ≈ ½ λ_max ρ², and f°(x, r) ≈ ½ λ_max r²
    np.testing.assert_allclose(t.column("sam_exact"), 0.5 * lam * 0.05 ** 2, rtol=0.1)
    np.testing.assert_allclose(t.column("max_variation"), 0.5 * lam * 0.05 ** 2, rtol=0.1)
    for col in ("lambda_max", "eps_sharpness", "sam_exact", "max_variation"):
        v = t.column(col)
        assert np.all(np.diff(v) > 0), col  # the balanced point (1, 1) is the flattest
    assert not any(t.column("sublevel_resolved"))  # 101 cells of 0.06: the band is too thin
    assert all("under-resolved" in " ".join(r["notes"]) for r in t)
    assert "lambda_max" in str(t)

    d = S.sharpness_table(degen_f, [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], grad=degen_grad,
                          hvp=degen_hvp, radius=0.1, rho=0.1, level=1e-4,
                          box_halfwidth=[0.3, 0.5], n_samples=10_000)
    assert np.all(d.column("lambda_max") == 0) and np.all(d.column("trace") == 0)
    assert np.all(d.column("sam_one_step") == 0)
    mv = d.column("max_variation")
    np.testing.assert_allclose(mv, [degen_mv_reference(t, 0.1) for t in (0.0, 1.0, 2.0)], rtol=1e-4)
    assert mv[0] < mv[1] < mv[2]
    assert all("gradient vanishes" in " ".join(r["notes"]) for r in d)


@needs_mv
def test_table_without_derivatives_and_higher_dim():
    f, _, _ = quad([1.0, 2.0, 3.0])
    t = S.sharpness_table(f, np.zeros((1, 3)), radius=0.1, rho=0.1, n_starts=2)
    row = t[0]
    assert math.isnan(row["lambda_max"]) and math.isnan(row["sam_one_step"])
    assert math.isnan(row["sublevel_volume"])
    assert row["sam_exact"] == pytest.approx(0.5 * 3 * 0.01, rel=1e-5)
    assert any("n <= 2" in s for s in row["notes"])


def test_table_bad_input():
    with pytest.raises(ValueError, match=r"x_points\[1\]"):
        S.sharpness_table(dinh_f, [[1.0, 1.0], [np.nan, 1.0]], grad=dinh_grad)
    with pytest.raises(ValueError, match="x_points"):
        S.sharpness_table(dinh_f, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="rho"):
        S.sharpness_table(dinh_f, [[1.0, 1.0]], rho=-1.0)
