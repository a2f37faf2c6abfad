r"""The exact quadratic path near the trust-region hard case, against independent references.

Under test: ``flatlib.trust_region_max``, ``Quadratic.max_variation`` / ``level_distance`` /
``max_variation_with_bound`` and ``flatlib.max_variation`` on a ``Quadratic``.

The problem, in an orthonormal eigenbasis of ``Q`` (eigenvalues ``lam``, linear term ``c``)::

    P(r) = max_{|u| <= r}  c.u + ½ Σ lam_i u_i²

References written here, sharing no code with ``flatlib/quadratic.py``:

* **Lagrangian dual.** For ``mu >= mu0 = max(lam_max, 0)`` with ``mu > lam_i`` wherever
  ``c_i != 0``, maximizing ``c.u + ½ Σ lam_i u_i² + ½ mu (r² - |u|²)`` over all ``u`` gives

      D(mu) = ½ Σ_{c_i != 0} c_i² / (mu - lam_i) + ½ mu r²        (weak duality: D(mu) >= P(r)),

  and ``min_mu D(mu) = P(r)`` (one quadratic constraint: S-lemma, no duality gap). ``D`` is convex
  in ``mu``; we minimize it by golden section in ``tau = log(mu - mu0)`` (a monotone change of
  variable keeps it unimodal) and by bisection on the sign of its derivative, computing ``mu - lam_i`` as ``(mu0 - lam_i) + e^tau`` so that a
  minimizer within 1e-300 of the pole is resolved. Its minimizer satisfies ``s* <= |c|/r``
  because ``|c/(mu - lam)| <= |c|/(mu - mu0)``. The reference certifies itself: a feasible point
  built from the minimizing ``mu`` must reach the dual value to 1e-12 (see ``dual_reference``).
* **2-D polar grid.** The boundary circle sampled at 20 001 angles, refined by golden section
  around every local maximum of the samples, plus the interior stationary point when ``Q`` is
  negative definite.

Near-hard instances: the top eigenvalue has multiplicity 1–3, the gradient's component in the
top eigenspace is exactly 0 or 1e-16 … 1e-8 of the rest, the radius sits just below, at, or
just above the hard-case threshold ``r* = |c_rest / (mu0 - lam_rest)|`` (or far from it), the
eigenbasis is a permutation or a random rotation, and ``Q`` is negative definite, indefinite or
positive semidefinite (with exact zero eigenvalues).
"""
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import flatlib as fl
from flatlib import Quadratic, trust_region_max

GOLD = (np.sqrt(5.0) - 1.0) / 2.0
RTOL = 1e-10          # required relative accuracy of the value
FEAS = 1e-12          # |u| <= r (1 + FEAS)

Instance = namedtuple("Instance", "Q g lam c r x")


# ----------------------------------------------------------------------------- references

def golden_min(fun, a, b, iters=400):
    """Minimize a unimodal ``fun`` on ``[a, b]`` by golden section; returns ``(f_min, x_min)``,
    the smallest value seen and where.

    Near a pole the dual is flat to rounding over many decades of ``tau`` (``D(e^tau) = D(0) +
    O(e^tau)``), so a tie within rounding must not discard the right part: ties keep moving
    right (towards larger ``tau``), and the smallest value *seen* is returned, so moving right
    past a minimum that is flat to rounding costs nothing."""
    x1, x2 = b - GOLD * (b - a), a + GOLD * (b - a)
    f1, f2 = fun(x1), fun(x2)
    best = min((f1, x1), (f2, x2))
    for _ in range(iters):
        if f1 < f2 - 1e-14 * abs(f2):
            b, x2, f2 = x2, x1, f1
            x1 = b - GOLD * (b - a)
            f1 = fun(x1)
            best = min(best, (f1, x1))
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + GOLD * (b - a)
            f2 = fun(x2)
            best = min(best, (f2, x2))
        if b - a <= 1e-15 * max(1.0, abs(a), abs(b)):
            break
    return best


def dual_reference(lam, c, r, check=True):
    """``min_{mu >= max(lam_max, 0)} D(mu)`` (module docstring): the exact value of ``P(r)``.

    Two searches for the minimizing ``s = mu - mu0``: golden section on ``D(e^tau)``, and
    bisection on the sign of ``D'(s) = ½ (r² - |c/(mu - lam)|²)`` (increasing in ``s``) in
    ``tau = log s``; ``upper`` is the least ``D`` over both and ``s = 0``.

    Self-check (``check=True``): at these ``mu`` (golden section finds the minimizer only to
    about sqrt(eps) relative: the dual is flat there), the Lagrangian maximizer ``u = c / (mu - lam)`` gives
    feasible points whose values are lower bounds: ``u`` itself if inside the ball, ``u``
    rescaled onto the sphere (its value is within second order of the optimum at radius ``r``:
    ``d/dalpha`` of the value of ``alpha u`` at 1 is ``mu |u|²``, the slope of the optimal value in
    the radius), and, when ``lam_max >= 0``, ``u`` with its top-eigenspace part replaced by the
    completion to the sphere along ``c_top`` (or a top axis). The reference is used only if the
    best of them is within 1e-12 of the dual upper bound, i.e. the reference is itself certified.
    """
    lam, c = np.asarray(lam, float), np.asarray(c, float)
    mu0 = max(float(lam.max()), 0.0)
    dall = mu0 - lam
    keep = c != 0
    c2, d = c[keep] ** 2, dall[keep]

    def D(s):
        den = d + s
        if np.any(den <= 0):
            return np.inf
        return 0.5 * float(np.sum(c2 / den)) + 0.5 * (mu0 + s) * r * r

    cn = np.sqrt(float(np.sum(c2)))
    svals = [0.0]
    if cn > 0.0:
        lo, hi = np.log(1e-300), np.log(cn / r) + 1.0
        svals.append(np.exp(golden_min(lambda t: D(np.exp(t)), lo, hi)[1]))
        # D'(s) = ½ (r² - |c/(d+s)|²) is increasing: bisection on its sign in log(s)
        phi2 = lambda t: float(np.sum(c2 / (d + np.exp(t)) ** 2))
        for _ in range(3000):
            mid = 0.5 * (lo + hi)
            if not lo < mid < hi:
                break
            if phi2(mid) > r * r:
                lo = mid
            else:
                hi = mid
        svals += [np.exp(lo), np.exp(hi)]
    upper = min(D(s) for s in svals)
    if not check:
        return upper
    # primal lower bounds at these mu
    pts = []
    for s in svals:
        u = np.zeros_like(c)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            u[keep] = c[keep] / (d + s)
        if not np.all(np.isfinite(u)):
            continue
        nu = np.linalg.norm(u)
        if nu > 0:
            pts.append(u * (r / nu))
        if nu <= r:
            pts.append(u)
        if lam.max() >= 0:
            top = dall == 0.0
            rest2 = float(np.sum(u[~top] ** 2))
            if rest2 <= r * r:
                ut = u[top]
                w = ut / np.linalg.norm(ut) if np.any(ut) else np.eye(top.sum())[0]
                v = u.copy()
                v[top] = w * np.sqrt(r * r - rest2)
                pts.append(v)
    vals = [float(c @ v + 0.5 * np.sum(lam * v * v)) for v in pts if np.linalg.norm(v) <= r * (1 + 1e-14)]
    lower = max(vals + [0.0])
    assert upper - lower <= 1e-12 * abs(upper) + 1e-15 * (np.max(np.abs(lam)) * r * r + cn * r), \
        ("reference not certified", lower, upper)
    return upper


def polar_reference(Q, g, r):
    """2-D only: max over the disc by a dense boundary grid refined by golden section, and the
    interior stationary point when Q is negative definite."""
    f = lambda u: float(g @ u + 0.5 * u @ Q @ u)
    on_circle = lambda t: f(r * np.array([np.cos(t), np.sin(t)]))
    th = np.linspace(0.0, 2 * np.pi, 20001)
    E = np.stack([np.cos(th), np.sin(th)], 1)
    vals = r * E @ g + 0.5 * r * r * np.einsum("ij,jk,ik->i", E, Q, E)
    h = th[1] - th[0]
    best = float(np.max(vals))
    # refine every local maximum of the samples: near the hard case the two maxima on the
    # circle differ by ~ 2 |c_top| r, less than the sampling error ~ |Q| r² h²
    peaks = np.flatnonzero((vals >= np.roll(vals, 1)) & (vals >= np.roll(vals, -1)))
    # a (nearly) isotropic Q makes the samples (nearly) constant and almost every sample a tie
    # "peak": refine the 8 highest only (the circle has at most 2 true local maxima in 2-D)
    peaks = peaks[np.argsort(vals[peaks])[-8:]]
    for i in peaks:
        best = max(best, -golden_min(lambda t: -on_circle(t), th[i] - h, th[i] + h)[0])
    if np.all(np.linalg.eigvalsh(Q) < 0):
        u = np.linalg.solve(Q, -g)
        if np.linalg.norm(u) <= r:
            best = max(best, f(u))
    return best


def both_sides_reference(inst, r):
    """``q°(x, r) = max(P_up(r), P_down(r))``; the down side is the problem for (-Q, -g)."""
    up = dual_reference(inst.lam, inst.c, r)
    down = dual_reference(-inst.lam, -inst.c, r)
    return up, down


def floor(inst, r):
    """Absolute tolerance floor: the eigendecomposition's backward error moves the value by
    about n·eps·(|Q| r² + |g| r); 1e-13 covers n <= 60 with a margin."""
    qn = float(np.max(np.abs(inst.lam)))
    return 1e-13 * (qn * r * r + np.linalg.norm(inst.c) * r) + 1e-300


# ----------------------------------------------------------------------------- instances

def build_instance(seed, n, mult, kind, basis, top_exp, rkind, rexp, with_x=False):
    """A near-hard trust-region instance (see the module docstring); ``lam``, ``c`` exact."""
    rng = np.random.default_rng(seed)
    m = min(mult, n)
    nr = n - m
    scale = 10.0 ** rng.uniform(-1.0, 1.0)
    gap = scale * 10.0 ** rng.uniform(-3.0, 0.0)
    if kind == "negdef":
        lmax = -scale * rng.uniform(0.05, 1.0)
        rest = lmax - gap - scale * rng.uniform(0.0, 2.0, nr)
    elif kind == "psd":
        lmax = scale
        rest = rng.uniform(0.0, lmax - gap, nr)
        rest[rng.random(nr) < 0.25] = 0.0            # exact zero eigenvalues
    else:
        lmax = scale * rng.uniform(0.2, 1.0)
        rest = rng.uniform(-2.0 * scale, lmax - gap, nr)
    lam = np.concatenate([rest, np.full(m, lmax)])
    c_rest = scale * rng.normal(size=nr)
    c_rest[rng.random(nr) < 0.15] = 0.0              # exact zeros off the top too
    rn = np.linalg.norm(c_rest)
    if top_exp is None:
        c_top = np.zeros(m)                          # exactly the hard case
    else:
        v = rng.normal(size=m)
        c_top = v / np.linalg.norm(v) * 10.0 ** top_exp * (rn if rn > 0 else scale)
    c = np.concatenate([c_rest, c_top])
    mu0 = max(lmax, 0.0)
    rstar = float(np.linalg.norm(c_rest / (mu0 - rest))) if nr else 0.0
    if rstar == 0.0:
        r = rng.uniform(0.1, 2.0)
    elif rkind == "below":
        r = rstar * (1.0 - 10.0 ** rexp)
    elif rkind == "above":
        r = rstar * (1.0 + 10.0 ** rexp)
    elif rkind == "at":
        r = rstar
    else:
        r = rstar * 10.0 ** rng.uniform(-1.0, 1.0)
    if basis == "diagonal":
        V = np.eye(n)[:, rng.permutation(n)]
    else:
        V, R = np.linalg.qr(rng.normal(size=(n, n)))
        V = V * np.sign(np.diag(R))
    Q = (V * lam) @ V.T
    Q = 0.5 * (Q + Q.T)
    g = V @ c
    x = 0.3 * rng.normal(size=n) if with_x else np.zeros(n)
    return Instance(Q, g, lam, c, float(r), x)


def instances(with_x=False, n=st.integers(2, 60)):
    return st.builds(
        build_instance,
        seed=st.integers(0, 2**32 - 1),
        n=n,
        mult=st.integers(1, 3),
        kind=st.sampled_from(["negdef", "indef", "psd"]),
        basis=st.sampled_from(["diagonal", "rotated"]),
        top_exp=st.one_of(st.none(), st.floats(-16.0, -8.0)),
        rkind=st.sampled_from(["below", "at", "above", "far"]),
        rexp=st.floats(-12.0, -1.0),
        with_x=st.just(with_x),
    )


def quadratic_of(inst):
    """The quadratic with gradient ``g`` at ``inst.x``: ``b = g - Q x``."""
    return Quadratic(inst.Q, inst.g - inst.Q @ inst.x)


# ----------------------------------------------------------------------------- trust_region_max

def check_point(Q, g, r, v, u, tol):
    assert np.all(np.isfinite(u)) and np.isfinite(v)
    assert np.linalg.norm(u) <= r * (1 + FEAS), (np.linalg.norm(u), r)
    attained = float(g @ u + 0.5 * u @ Q @ u)
    assert abs(attained - v) <= 1e-12 * abs(v) + tol, (attained, v)


@settings(max_examples=200, deadline=None)
@given(inst=instances())
def test_trust_region_max_near_hard_case(inst):
    # Catches: a completion added to an already nonzero coordinate (point outside the ball,
    # value too high), a completion skipped (value too low), a secular root that stalls at the
    # pole; any value off by more than 1e-10 relative from the dual minimum.
    Q, g, r = inst.Q, inst.g, inst.r
    tol = floor(inst, r)
    ref = dual_reference(inst.lam, inst.c, r)
    v, u = trust_region_max(Q, g, r)
    check_point(Q, g, r, v, u, tol)
    assert abs(v - ref) <= RTOL * abs(ref) + tol, (v, ref)


@settings(max_examples=200, deadline=None)
@given(inst=instances())
def test_trust_region_max_certified_upper(inst):
    # Catches: an `upper` that is the attained value (not a bound) when that value is low, an
    # `exact` flag claimed with an open gap, a bound below the true maximum.
    Q, g, r = inst.Q, inst.g, inst.r
    tol = floor(inst, r)
    ref = dual_reference(inst.lam, inst.c, r)
    res = trust_region_max(Q, g, r, full_output=True)
    check_point(Q, g, r, res.value, res.u, tol)
    assert res.upper >= res.value
    assert res.upper >= ref - tol, (res.upper, ref)
    assert res.upper <= ref + RTOL * abs(ref) + tol, (res.upper, ref)   # and a tight one
    assert res.exact                                                    # certified on this family
    assert res.upper - res.value <= 1e-12 * res.upper + 1e-300
    assert res.mu >= max(inst.lam.max(), 0.0) - 1e-12 * np.max(np.abs(inst.lam))
    v, u = trust_region_max(Q, g, r)                                    # the same answer unpacked
    assert v == res.value and np.array_equal(u, res.u)


@settings(max_examples=60, deadline=None)
@given(inst=instances(n=st.just(2)))
def test_trust_region_max_2d_polar_grid(inst):
    # The same family in 2-D against a reference that uses no duality at all.
    # catches: the completion added to a nonzero coordinate, a secular solve stopped after 3
    # Newton steps, a value scaled by 1 - 1e-9 (checked with sabotaged solvers).
    Q, g, r = inst.Q, inst.g, inst.r
    tol = floor(inst, r)
    ref = polar_reference(Q, g, r)
    v, u = trust_region_max(Q, g, r)
    check_point(Q, g, r, v, u, tol)
    assert abs(v - ref) <= RTOL * abs(ref) + tol, (v, ref)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("top_exp", [None, -16.0, -12.0, -8.0])
@pytest.mark.parametrize("rkind", ["below", "at", "above"])
def test_trust_region_max_2d_3d_grid_of_cases(n, top_exp, rkind):
    # Deterministic sweep of the near-hard corner (multiplicity up to n - 1, both radii sides).
    for seed in range(6):
        for mult in range(1, n):
            for kind in ("indef", "psd"):
                inst = build_instance(seed, n, mult, kind, "rotated" if seed % 2 else "diagonal",
                                      top_exp, rkind, -9.0 + seed)
                tol = floor(inst, inst.r)
                ref = dual_reference(inst.lam, inst.c, inst.r)
                res = trust_region_max(inst.Q, inst.g, inst.r, full_output=True)
                check_point(inst.Q, inst.g, inst.r, res.value, res.u, tol)
                assert abs(res.value - ref) <= RTOL * abs(ref) + tol, (res.value, ref)
                assert res.upper >= ref - tol
                if n == 2:
                    assert abs(polar_reference(inst.Q, inst.g, inst.r) - ref) <= RTOL * ref + tol


# ----------------------------------------------------------------------------- literal cases

# Q = diag(3, 1), x = 0, r = 1, b = (eps, beta). The up side is max_{|u|<=1} b.u + ½(3u₁² + u₂²).
# With eps = 0 it is the hard case: mu = 3 (top eigenvalue), u₂ = beta/(3 - 1) = beta/2 and
# u₁ = ±sqrt(1 - beta²/4) completes to the sphere, so
#     P = beta·beta/2 + ½(3(1 - beta²/4) + beta²/4) = 3/2 + beta²/4
# (beta = 0: 1.5; beta = 1/2: 1.5625; beta = 1: 1.75), valid while beta/2 <= 1.
# The max is |b|·r-Lipschitz in b, so eps != 0 moves it by at most |eps| (<= 3e-12 here).
# The down side max_{|u|<=1} -b.u - ½(3u₁² + u₂²) is concave; its value is at most
# max_u (|beta| |u₂| - ½u₂²) + |eps| <= beta²/2 + |eps| < 3/2 + beta²/4, so q° is the up side.
LITERAL = [((1e-13, 1e-13), 1.5, 2e-13), ((1e-12, 0.5), 1.5625, 1e-12), ((3e-12, 1.0), 1.75, 3e-12)]


@pytest.mark.parametrize("b, exact, slack", LITERAL)
def test_literal_hard_cases_from_the_issue(b, exact, slack):
    Q, b = np.diag([3.0, 1.0]), np.array(b)
    x = np.zeros(2)
    v, u = trust_region_max(Q, b, 1.0)
    assert np.linalg.norm(u) <= 1.0 + FEAS
    assert abs(v - exact) <= slack + 1e-15
    full = trust_region_max(Q, b, 1.0, full_output=True)
    assert full.upper >= exact - slack and full.upper - exact <= slack + 1e-14
    q = Quadratic(Q, b)
    qv, qy = q.max_variation(x, 1.0)
    assert abs(qv - exact) <= slack + 1e-15 and np.linalg.norm(qy) <= 1.0 + FEAS
    assert abs(q(qy) - q(x)) == pytest.approx(qv, rel=1e-14)
    res = fl.max_variation(q, x, 1.0)
    assert abs(res.value - exact) <= slack + 1e-15
    assert res.upper >= exact - slack               # an upper bound, not an under-estimate
    assert np.linalg.norm(res.argmax) <= 1.0 + FEAS
    d, y = q.level_distance(x, exact)
    assert abs(d - 1.0) <= 1e-9 and np.linalg.norm(y) <= d * (1 + FEAS)


# ----------------------------------------------------------------------------- Quadratic methods

def at_point(inst):
    """The instance as a Quadratic at ``inst.x``: ``(q, x, r, tol, up, down)`` with both sides'
    dual references and a tolerance floor widened by the rounding of ``Qx`` at ``x != 0``."""
    q, x, r = quadratic_of(inst), inst.x, inst.r
    tol = floor(inst, r) + 1e-14 * np.max(np.abs(inst.lam)) * np.linalg.norm(x) * r
    up, down = both_sides_reference(inst, r)
    return q, x, r, tol, up, down


def check_attained(q, x, r, value, y, tol):
    """``y`` lies in the ball and ``|q(y) - q(x)|`` is the returned value; the difference
    q(y) - q(x) in floating point carries a rounding error of a few eps |q(x)|."""
    assert np.linalg.norm(y - x) <= r * (1 + FEAS)
    assert abs(abs(q(y) - q(x)) - value) <= 1e-12 * value + tol + 4e-16 * abs(q(x))


@settings(max_examples=100, deadline=None)
@given(inst=instances(with_x=True))
def test_quadratic_max_variation_and_bound(inst):
    # Both sides through Quadratic, at a point x != 0 (b = g - Qx).
    # catches: multiplier computed as mu - lam from mu = lam_max + s (precision lost at the pole),
    # the completion added to a nonzero coordinate, an early-stopped secular solve, a wrong side.
    q, x, r, tol, up, down = at_point(inst)
    ref = max(up, down)
    v, y = q.max_variation(x, r)
    check_attained(q, x, r, v, y, tol)
    assert abs(v - ref) <= RTOL * ref + tol, (v, ref)
    for side, sref in (("up", up), ("down", down)):
        sv, sy = q.max_variation(x, r, side=side)
        assert abs(sv - max(sref, 0.0)) <= RTOL * abs(sref) + tol
        assert np.linalg.norm(sy - x) <= r * (1 + FEAS)
    res = q.max_variation_with_bound(x, r)
    value, argmax, upper = res[:3]
    assert value == v and np.array_equal(argmax, y)
    assert upper >= value and upper >= ref - tol and upper <= ref + RTOL * ref + tol
    assert res.exact and upper - value <= 1e-12 * upper + 1e-300
    assert abs(res.up - max(up, 0.0)) <= RTOL * abs(up) + tol
    assert abs(res.down - max(down, 0.0)) <= RTOL * abs(down) + tol


@settings(max_examples=60, deadline=None)
@given(inst=instances(with_x=True))
def test_flatlib_max_variation_on_quadratic(inst):
    # End to end through flatlib.max_variation (profiles.py): value, upper, exact, argmax.
    # catches: upper set to a value that is too low, exact claimed with an open gap, and the
    # solver sabotages above.
    q, x, r, tol, up, down = at_point(inst)
    ref = max(up, down)
    res = fl.max_variation(q, x, r)
    assert abs(res.value - ref) <= RTOL * ref + tol, (res.value, ref)
    check_attained(q, x, r, res.value, res.argmax, tol)
    assert res.upper >= res.value and res.upper >= ref - tol
    assert res.upper <= ref + RTOL * ref + tol                 # a tight bound, not a loose one
    assert res.exact and res.status == "exact"                 # certified on this family ...
    assert res.upper - res.value <= 1e-12 * res.upper + 1e-300  # ... and the claim holds
    prof = fl.max_variation(q, x, np.array([0.5 * r, r]))
    assert abs(prof.value[1] - ref) <= RTOL * ref + tol
    assert np.all(prof.upper >= prof.value)


@settings(max_examples=40, deadline=None)
@given(inst=instances(with_x=True))
def test_quadratic_level_distance_near_hard_case(inst):
    # d* = inf{r : q°(x, r) >= delta} with delta = q°(x, r0): the reference profile at d* is
    # delta (up to the bisection's last step), and the nearest point is in the level set.
    # catches: a profile too high near the hard case (d* too small), or too low (d* too large).
    q, x, r0 = quadratic_of(inst), inst.x, inst.r
    delta = max(both_sides_reference(inst, r0))
    if not delta > 0:
        return
    d, y = q.level_distance(x, delta)
    assert np.isfinite(d)
    tol = floor(inst, d) + 1e-14 * np.max(np.abs(inst.lam)) * np.linalg.norm(x) * d
    at_d = max(both_sides_reference(inst, d))
    assert abs(at_d - delta) <= 1e-9 * delta + tol, (at_d, delta, d, r0)
    assert np.linalg.norm(y - x) <= d * (1 + FEAS)
    assert abs(q(y) - q(x)) >= delta * (1 - 1e-10) - tol
    res = fl.level_distance(q, x, delta)
    assert res.value == d


def test_sides_and_validation():
    # Q = diag(3, -5), g = (0, 1), r = 1: up side is the hard case of diag(3, -5):
    # mu = 3, u₂ = 1/(3+5) = 1/8, u₁ = sqrt(1 - 1/64): 1/8 + ½(3·63/64 - 5/64) = 1/8 + 184/128 = 1.5625.
    # Down side: max -u₂ - ½(3u₁² - 5u₂²), i.e. -Q = diag(-3, 5) with c = (0, -1) on the top
    # eigenvector (not hard): mu = 6 solves 1/(mu - 5) = 1, u = (0, -1), value 1 + 5/2 = 3.5.
    q = Quadratic(np.diag([3.0, -5.0]), [0.0, 1.0])
    x = np.zeros(2)
    up = q.max_variation_with_bound(x, 1.0, side="up")
    assert up.value == pytest.approx(1.5625, rel=1e-14) and np.isnan(up.down) and up.exact
    dn = q.max_variation_with_bound(x, 1.0, side="down")
    assert dn.value == pytest.approx(3.5, rel=1e-14) and np.isnan(dn.up) and dn.exact
    both = q.max_variation_with_bound(x, 1.0)
    assert both.value == dn.value and both.up == up.value and both.down == dn.value
    assert both.upper >= 3.5 and both.upper - 3.5 <= 1e-12 * 3.5
    res = fl.max_variation(q, x, 1.0, side="up")
    assert res.value == pytest.approx(1.5625, rel=1e-14) and res.exact and np.isnan(res.down)
    with pytest.raises(ValueError, match="side"):
        q.max_variation_with_bound(x, 1.0, side="sideways")
    with pytest.raises(ValueError, match="radius"):
        q.max_variation_with_bound(x, -1.0)
    with pytest.raises(ValueError, match="r"):
        trust_region_max(np.eye(2), np.ones(2), -0.5)
    with pytest.raises((ValueError, TypeError), match="r"):
        trust_region_max(np.eye(2), np.ones(2), [0.5, 1.0], full_output=True)
    with pytest.raises(ValueError, match="g"):
        trust_region_max(np.eye(2), np.array([np.nan, 1.0]), 1.0)
    with pytest.raises(ValueError, match="Q"):
        trust_region_max(np.eye(3), np.ones(2), 1.0)


@pytest.mark.parametrize("r", [1e-200, 1e-100, 1.0, 1e100])
def test_extreme_radii(r):
    # The solver works on the unit ball with |lam| and |c|/r scaled out. For Q = diag(3, 1),
    # g = (0, 1): at r <= 1/2 (u₂ = 1/(mu - 1) reaches r before mu reaches 3) the maximizer is
    # u = (0, r) for r small enough that mu = 1/r + 1 > 3: value r + r²/2; at r = 1 the hard
    # case 7/4 (literal case above); at r = 1e100 the hard case 3/2 r² + 1/4 (u₂ = 1/2).
    Q, g = np.diag([3.0, 1.0]), np.array([0.0, 1.0])
    res = trust_region_max(Q, g, r, full_output=True)
    exact = {1e-200: 1e-200, 1e-100: 1e-100 + 0.5e-200, 1.0: 1.75, 1e100: 1.5e200}[r]
    assert res.value == pytest.approx(exact, rel=1e-14)
    assert res.exact and res.upper == pytest.approx(exact, rel=1e-12)
    assert np.all(np.isfinite(res.u)) and np.max(np.abs(res.u)) <= r * (1 + 1e-15)


@pytest.mark.parametrize("ctop", [1e-305, 1e-310, 5e-324])
@pytest.mark.parametrize("scale", [1e-20, 1.0, 1e20])
def test_subnormal_top_component(ctop, scale):
    # g = scale (ctop, 1), Q = scale diag(3, 1), r = 1: within |ctop| scale of the hard case
    # 7/4 scale (literal cases above). The secular root mu - 3 ~ ctop is subnormal or below:
    # only the hard-case candidate (u_rest = 1/2 completed to the sphere) reaches 7/4.
    # catches: a solver without the hard-case candidate (returns 3/2 scale, flagged inexact).
    res = trust_region_max(scale * np.diag([3.0, 1.0]), scale * np.array([ctop, 1.0]), 1.0,
                           full_output=True)
    assert res.value == pytest.approx(1.75 * scale, rel=1e-14)
    assert res.exact and res.upper == pytest.approx(1.75 * scale, rel=1e-12)
    assert np.linalg.norm(res.u) <= 1 + FEAS
