r"""The calculus rules of the maximal variation, checked on random instances.

Notation: f°(x, r) = sup_{||y-x||<=r} |f(y) - f(x)|.

How a check can fail
--------------------
:func:`flatlib.max_variation` of a general function returns a value *attained* at its
``argmax``: a lower bound. A check "numerical LHS <= exact RHS" passes for a solver that
returns 0, so no check here has that form. Every number of the solver is instead compared
with a reference computed by other code:

* quadratics: the Lagrangian dual of the trust-region subproblem (:func:`trs_dual`, below;
  it shares no code with ``flatlib.quadratic``), to 1e-9 relative, two-sided;
* small smooth or nonsmooth functions (n <= 3): the certified grid bracket
  :func:`flatlib.certify.certified_max_variation` (grid + Lipschitz constant), whose lower
  end is attained and whose upper end is a true bound: the solver's value must lie in it
  (within ``SEARCH_RTOL`` below the lower end, see there);
* closed forms derived below (Taylor brackets, separable sums, Lipschitz outer maps of a
  function whose range on the ball is known exactly).

Every call of the solver also checks its certificate (:func:`mv`): the ``argmax`` lies in the
ball and attains the returned value. A rule "LHS <= RHS" is checked between a certified
*lower* value of the LHS and an exact or solver value of the RHS (so that an RHS that is too
small fails), and every such check is paired with an instance where both sides are equal
(so that a solver off by a factor, or returning 0, fails there). Each test says in a
``catches:`` comment which broken implementation it catches; ``tests/test_sabotage.py``
runs this file against sabotaged solvers and requires failures.

Closed forms derived here
-------------------------
* Quadratics q(y) = ½yᵀQy + bᵀy + c have exact profiles (``flatlib.Quadratic``), and the
  family is closed under a q + c, q∘A (A any matrix: ½yᵀAᵀQAy + (Aᵀb)ᵀy) and sums.
  Independent reference: with g = Qx + b, Q = V diag(λ) Vᵀ and c = Vᵀg,
  max_{||u||<=r} g·u + ½uᵀQu = min_{μ >= max(λ_max, 0), μ > λ_i where c_i != 0}
  ½ Σ c_i²/(μ - λ_i) + ½ μ r² (Lagrangian dual; no duality gap for one ball constraint, and
  every feasible μ gives an upper bound). The dual is convex in μ with derivative
  ½(r² - Σ c_i²/(μ-λ_i)²): bisection on its sign; the "down" side is the same with -Q, -g.
* Smooth test function s(y) = Σ_i sin(w_i·y + β_i) + ½ μ||y||²: ∇²s = -Σ sin(..) w_i w_iᵀ + μI,
  so ||∇²s||₂ <= H := Σ||w_i||² + |μ| everywhere, and by Taylor
  |s(x+u) - s(x) - ∇s(x)·u| <= ½ H ||u||²; hence |s°(x,r) - ||∇s(x)|| r| <= ½ H r², and
  ||∇s|| <= ||∇s(x)|| + H r on the ball (the Lipschitz constant of the grid bracket).
* Cubic-quartic perturbation of a quadratic at its critical point 0,
  p(y) = ½yᵀKy + γ(w·y)³ + δ||y||⁴: |p(u) - ½uᵀKu| <= |γ| ||w||³ r³ + |δ| r⁴, hence
  |p°(0,r) - ½||K||₂ r²| <= |γ| ||w||³ r³ + |δ| r⁴ (whichever side wins, including
  indefinite K whose "down" side -λ_min is the larger).
* |xy - 1| at (x, y) = (t, 1/t): f(x+u) = |y u₁ + x u₂ + u₁u₂| and |u₁u₂| <= r²/2, so
  |f°/r - ||(y, x)||| <= r/2; f'(x; u) = |(y, x)·u| and max_{||u||<=1} = ||(y, x)||.
* Separable sums of radial powers a||y₁-c₁||^p + b||y₂-c₂||^q at (c₁, c₂) (a pair of
  minima; profiles exactly a r^p, b r^q for every r). With t = r₁²/r² ∈ [0, 1]:
  - p = q < 2: max a t^{p/2} + b (1-t)^{p/2} = ||(a, b)||_{2/(2-p)} (Hölder, equality attainable);
  - p = q >= 2: t^{p/2} convex, maximum at a vertex: max(a, b) r^p;
  - p = 2, q = 4: a r² t + b r⁴ (1-t)² is convex in t: max(a r², b r⁴);
  - p = 1, q = 2: a r c + b r² (1-c²), c = r₁/r, stationary at c = a/(2br): value
    a²/(4b) + b r² if r >= a/(2b), else a r (c = 1).
  At a pair of minima of PSD quadratics (p = q = 2, a = ½λ_max(Q₁), b = ½λ_max(Q₂)) the
  rule gives ½ max(λ_max(Q₁), λ_max(Q₂)) r².
* Max/min: |max(α,β) - max(α',β')| <= max(|α-α'|, |β-β'|) (max is 1-Lipschitz for the
  sup-norm), pointwise in y; taking sup gives max(f,g)° <= max(f°, g°), at *every* point,
  with no condition; same for min. Equality cases: (i) if f >= g on the ball, max(f,g) = f
  there, and with g = αf + c, 0 < α < 1, g° = αf° <= f°, so max(f,g)° = f° = max(f°, g°)
  (c = (1-α)(f(x) - f°) - 1 makes f - g >= 1 on the ball; for min, c = (1-α)(f(x) + f°) + 1);
  (ii) with both pieces active: at a point where f(x) = 0, max(f, -f) = |f| has
  |f|° = sup |f(y)| = f° = max(f°, (-f)°), and min(f, -f) = -|f| the same.
  It is not an equality in general: max(x², 1)° = 0 at 0 while max(f°, g°) = r².
* Lipschitz outer map φ∘f with f continuous: the ball is connected, so f(B(x,r)) is the
  interval [f(x) - down, f(x) + up] (the two sides of f°, exact for a quadratic), and
  (φ∘f)°(x,r) = max_{t in that interval} |φ(t) - φ(f(x))|, attained at an end or at a
  critical point/kink of φ inside. Equality in (φ∘f)° <= L f°: φ(t) = L t on the interval
  (φ = L clip(t, lo, hi) with [lo, hi] containing it), or φ(t) = L|t - f(x)|.
* Oscillation: o(z) = z²(2 + sin log|z|) at 0 has o°(0,r)/r² = max_{s<=r} (s/r)²(2+sin log s),
  periodic in log r with period 2π, with range about [1, 3]; it crosses the constant 2 of
  2(z-1)² at the point 1 about twice per period, i.e. about 2·ln(10)/(2π) ≈ 0.73 times per decade.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flatlib import Quadratic, compare_flatness, flatness_order, max_variation
from flatlib.calculus import (directional_constant, first_order_constant, second_order_constant,
                              separable_max_variation)
from flatlib.certify import certified_max_variation

HYP = settings(max_examples=8, deadline=None, derandomize=True)
SEEDS = st.integers(0, 2**32 - 1)

# A local search stops at a local maximum: on maxima of two random quadratics in 2-D it
# ended up to 0.24% below the best point of a 401x401 grid (2 instances in 600). Its value
# must reach the certified lower end within this tolerance; a solver off by a factor 2, or
# returning 0, still fails by far.
SEARCH_RTOL = 1e-2
# The point x + u is rounded: ||fl(x + u) - x|| may exceed ||u|| by ~ eps ||x||.
ROUND = 4.5e-16
# grid points per axis of the certified brackets, by dimension (about 0.1 s each)
GRID = {1: 2001, 2: 201, 3: 41}


# ------------------------------------------------------------------ references and helpers

def trs_dual(Q, g, r):
    """max_{||u||<=r} g·u + ½uᵀQu by the Lagrangian dual (module docstring); independent of
    ``flatlib.quadratic``. Returns the dual value at the bisection's feasible end (an upper
    bound up to rounding; it equals the maximum to ~1e-12 relative)."""
    r = float(r)
    if r == 0.0:
        return 0.0
    lam, V = np.linalg.eigh(0.5 * (Q + Q.T))
    c = V.T @ np.asarray(g, dtype=float)
    keep = c != 0.0
    lam_k, c2 = lam[keep], c[keep] ** 2
    mu0 = max(float(lam[-1]), 0.0)
    cn = float(np.sqrt(np.sum(c2)))
    if cn == 0.0:
        return 0.5 * mu0 * r * r
    # at mu0 + cn/r every mu - λ_i >= cn/r, so Σ c_i²/(mu - λ_i)² <= r²: the derivative is >= 0
    # there (when cn/r is below the spacing of floats at mu0, step up to the next float)
    lo, hi = mu0, max(mu0 + cn / r, np.nextafter(mu0, np.inf))
    while np.sum(c2 / (hi - lam_k) ** 2) > r * r:
        hi = mu0 + 2.0 * (hi - mu0)
    while True:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        if np.sum(c2 / (mid - lam_k) ** 2) <= r * r:
            hi = mid
        else:
            lo = mid
    return float(0.5 * np.sum(c2 / (hi - lam_k)) + 0.5 * hi * r * r)


def quad_sides(q, x, r):
    """(sup q - q(x), q(x) - inf q) over B(x, r), by the dual reference."""
    x = np.asarray(x, dtype=float)
    g = q.Q @ x + q.b
    return trs_dual(q.Q, g, r), trs_dual(-q.Q, -g, r)


def quad_ref(q, x, r):
    return max(quad_sides(q, x, r))


def check_certificate(f, x, r, res):
    """The returned point lies in the ball and attains the returned value; ``upper`` (when
    given) is not below the value. Works for one radius or a profile."""
    x = np.asarray(x, dtype=float)
    fx = f(x)
    R, V = np.atleast_1d(r), np.atleast_1d(res.value)
    Y = np.atleast_2d(res.argmax)
    assert Y.shape == (R.size, x.size)
    for ri, yi, vi in zip(R, Y, V):
        assert np.linalg.norm(yi - x) <= ri * (1 + 1e-12) + ROUND * np.linalg.norm(x), \
            "argmax outside the ball"
        assert abs(f(yi) - fx) == pytest.approx(vi, rel=1e-9, abs=1e-12 * (1 + abs(fx))), \
            "value not attained at argmax"
    if res.upper is not None:
        assert np.all(np.asarray(res.upper) >= np.asarray(res.value))


def mvres(f, x, r, **kw):
    res = max_variation(f, x, r, **kw)
    check_certificate(f, x, r, res)
    return res


def mv(f, x, r, **kw):
    return mvres(f, x, r, **kw).value


def exact_mv(q, x, r):
    """max_variation of a Quadratic: flagged exact, certificate checked, value equal to the
    dual reference to 1e-9 relative, and ``upper`` not below it."""
    res = mvres(q, x, r)
    ref = quad_ref(q, x, r)
    assert res.exact
    assert res.value == pytest.approx(ref, rel=1e-9, abs=1e-14)
    assert res.upper >= ref * (1 - 1e-9) - 1e-14
    return res.value


def bracket(fv, x, r, L):
    """Certified bracket of f°(x, r) for a vectorized f (n <= 3)."""
    return certified_max_variation(fv, x, r, lipschitz=L, points_per_axis=GRID[len(x)],
                                   vectorized=True)


def in_bracket(value, b):
    """A solver value against a certified bracket: attained, so <= upper; a global search
    reaches the lower end (up to SEARCH_RTOL, see there)."""
    assert value <= b.upper * (1 + 1e-12)
    assert value >= b.lower * (1 - SEARCH_RTOL) - 1e-12


def rand_sym(rng, n, scale=1.0):
    A = rng.standard_normal((n, n))
    return scale * 0.5 * (A + A.T)


def rand_orth(rng, n):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def rand_quadratic(rng, n):
    return Quadratic(rand_sym(rng, n), rng.standard_normal(n), float(rng.standard_normal()))


def qbatch(q, Y):
    """q on the rows of Y."""
    return 0.5 * np.einsum("ki,ij,kj->k", Y, q.Q, Y) + Y @ q.b + q.c


def qlip(q, x, r):
    """Lipschitz constant of q on B(x, r): ||∇q(x)|| + ||Q||₂ r."""
    return float(np.linalg.norm(q.Q @ x + q.b) + np.linalg.norm(q.Q, 2) * r)


class SinSum:
    """s(y) = Σ sin(W y + β) + ½ μ ||y||², with gradient and a global Hessian bound."""

    def __init__(self, rng, n, k=3, mu=0.5):
        self.W = rng.standard_normal((k, n))
        self.beta = rng.uniform(0, 2 * np.pi, k)
        self.mu = mu
        self.H = float(np.sum(self.W ** 2) + abs(mu))

    def __call__(self, y):
        return float(np.sum(np.sin(self.W @ y + self.beta)) + 0.5 * self.mu * y @ y)

    def batch(self, Y):
        return np.sum(np.sin(Y @ self.W.T + self.beta), axis=1) + 0.5 * self.mu * np.sum(Y * Y, axis=1)

    def grad(self, y):
        return self.W.T @ np.cos(self.W @ y + self.beta) + self.mu * y

    def lip(self, x, r):
        return float(np.linalg.norm(self.grad(x)) + self.H * r)


def test_dual_reference_on_closed_forms():
    # catches: a wrong reference (every quadratic check below relies on it).
    # diag(3, 1), g ⟂ e₁ (hard case): u = (√0.75, 0.5), value 0.5 + ½(3·0.75 + 0.25) = 1.75;
    # diag(3, 1), g = 0: ½·3·r²; concave diag(-3, -1), g = (0.3, 0.1), r = 1: interior
    # maximum ½(0.09/3 + 0.01/1) = 0.02; linear: ||g|| r.
    Q = np.diag([3.0, 1.0])
    assert trs_dual(Q, [0.0, 1.0], 1.0) == pytest.approx(1.75, rel=1e-12)
    assert trs_dual(Q, [1e-13, 1e-13], 1.0) == pytest.approx(1.5, rel=1e-12)
    assert trs_dual(Q, [0.0, 0.0], 0.5) == pytest.approx(0.375, rel=1e-15)
    assert trs_dual(np.diag([-3.0, -1.0]), [0.3, 0.1], 1.0) == pytest.approx(0.02, rel=1e-12)
    assert trs_dual(np.zeros((2, 2)), [3.0, 4.0], 0.5) == pytest.approx(2.5, rel=1e-12)
    # against a fine polar grid in 2-D (rounds of the disc; resolution ~1e-4 relative)
    rng = np.random.default_rng(7)
    th = np.linspace(0, 2 * np.pi, 4001)
    for _ in range(5):
        Q2, g, r = rand_sym(rng, 2, 2.0), rng.standard_normal(2), float(rng.uniform(0.1, 2))
        U = np.concatenate([rho * np.stack([np.cos(th), np.sin(th)], 1) for rho in np.linspace(0, r, 101)])
        best = float(np.max(U @ g + 0.5 * np.einsum("ki,ij,kj->k", U, Q2, U)))
        assert best - 1e-12 <= trs_dual(Q2, g, r) <= best + 1e-3 * max(1.0, abs(best))


# ------------------------------------------------- rule 1: affine maps inside and outside

@HYP
@given(seed=SEEDS, a=st.floats(-5, 5).filter(lambda a: abs(a) > 1e-3), c=st.floats(-10, 10))
def test_outer_affine_quadratic_exact(seed, a, c):
    # catches: an exact quadratic path off by any factor (or 0) or with its argmax outside
    # the ball (exact_mv vs the dual), or not invariant under q -> a q + c.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    q = rand_quadratic(rng, n)
    aq = Quadratic(a * q.Q, a * q.b, a * q.c + c)
    x, r = rng.standard_normal(n), float(rng.uniform(0.01, 2))
    lhs, rhs = exact_mv(aq, x, r), abs(a) * exact_mv(q, x, r)
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-13)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=SEEDS, a=st.sampled_from([-3.0, -0.5, 0.25, 2.0]), c=st.floats(-10, 10))
def test_outer_affine_smooth(seed, a, c):
    # catches: a local search off by a factor or returning 0 (value outside the certified
    # bracket), an argmax outside the ball, or a value not scaling as |a|.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    s = SinSum(rng, n)
    x, r = rng.standard_normal(n), float(rng.uniform(0.05, 1))
    lhs = mv(lambda y: a * s(y) + c, x, r, grad=lambda y: a * s.grad(y))
    rhs = abs(a) * mv(s, x, r, grad=s.grad)
    in_bracket(rhs / abs(a), bracket(s.batch, x, r, s.lip(x, r)))
    assert lhs == pytest.approx(rhs, rel=1e-7)


@HYP
@given(seed=SEEDS)
def test_orthogonal_change_of_variables_quadratic_exact(seed):
    # (f∘Q)°(x, r) = f°(Qx, r), also for the affine isometry y -> Qy + v.
    # catches: an exact path that is wrong (vs the dual) or not rotation invariant.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    q = rand_quadratic(rng, n)
    Q, v = rand_orth(rng, n), rng.standard_normal(n)
    # q(Qy + v) = ½ yᵀQᵀ(q.Q)Qy + (Qᵀ(q.Q v + q.b))ᵀy + q(v)
    qQ = Quadratic(Q.T @ q.Q @ Q, Q.T @ (q.Q @ v + q.b), q(v))
    x, r = rng.standard_normal(n), float(rng.uniform(0.01, 2))
    assert exact_mv(qQ, x, r) == pytest.approx(exact_mv(q, Q @ x + v, r), rel=1e-9, abs=1e-13)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_orthogonal_change_of_variables_smooth(seed):
    # catches: a local search off by a factor or returning 0 (certified bracket), an argmax
    # outside the ball, a result that depends on the coordinates.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 4))
    s, Q = SinSum(rng, n), rand_orth(rng, n)
    x, r = rng.standard_normal(n), float(rng.uniform(0.05, 1))
    lhs = mv(lambda y: s(Q @ y), x, r, grad=lambda y: Q.T @ s.grad(Q @ y))
    rhs = mv(s, Q @ x, r, grad=s.grad)
    in_bracket(lhs, bracket(lambda Y: s.batch(Y @ Q.T), x, r, s.lip(Q @ x, r)))
    assert lhs == pytest.approx(rhs, rel=1e-7)


@HYP
@given(seed=SEEDS)
def test_linear_change_of_variables_quadratic_exact(seed):
    # (f∘A)°(x, r) <= f°(Ax, ||A||₂ r) for any (also rectangular) matrix A, both sides exact
    # (checked against the dual); equality for A = c·(orthogonal), which maps B(x, r) onto
    # B(Ax, c r).
    # catches: an exact path that is too small or too large (dual), in particular an RHS
    # that is too small (the inequality then fails on the general A, and the equality on A = cQ).
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    q = rand_quadratic(rng, m)
    A = rng.standard_normal((m, n))
    qA = Quadratic(A.T @ q.Q @ A, A.T @ q.b, q.c)
    x, r = rng.standard_normal(n), float(rng.uniform(0.01, 2))
    lhs, rhs = exact_mv(qA, x, r), exact_mv(q, A @ x, np.linalg.norm(A, 2) * r)
    assert lhs <= rhs * (1 + 1e-10) + 1e-13
    # equality case
    c, O = float(rng.uniform(0.2, 3)), rand_orth(rng, m)
    A = c * O
    qA = Quadratic(A.T @ q.Q @ A, A.T @ q.b, q.c)
    x = rng.standard_normal(m)
    assert exact_mv(qA, x, r) == pytest.approx(exact_mv(q, A @ x, c * r), rel=1e-9, abs=1e-13)


def test_linear_change_of_variables_can_be_strict():
    # f(y) = y₁² on R², A = diag(1, 3): (f∘A)° = r² but f°(Ax, 3r) = 9r².
    # catches: an exact path off by a factor, returning 0, or with its argmax outside the ball.
    q = Quadratic(np.diag([2.0, 0.0]))
    A = np.diag([1.0, 3.0])
    qA = Quadratic(A.T @ q.Q @ A)
    assert mv(qA, [0.0, 0.0], 0.1) == pytest.approx(0.01, rel=1e-12)
    assert mv(q, [0.0, 0.0], 0.3) == pytest.approx(0.09, rel=1e-12)


# ------------------------------------------------- rule 2: sums, max/min, Lipschitz outer maps

@HYP
@given(seed=SEEDS, alpha=st.floats(0.1, 3))
def test_sum_rule_quadratic_exact(seed, alpha):
    # (f+g)° <= f° + g°, and the reverse triangle inequality |f° - g°| <= (f+g)°
    # (from f = (f+g) - g), all three exact (checked against the dual); equality cases
    # g = αf: (f+g)° = (1+α) f° = f° + g°, and g = -αf: (f+g)° = |1-α| f° = |f° - g°|.
    # catches: an exact path that is too small or too large (dual, and the equality cases).
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    f, g = rand_quadratic(rng, n), rand_quadratic(rng, n)
    h = Quadratic(f.Q + g.Q, f.b + g.b, f.c + g.c)
    x, r = rng.standard_normal(n), float(rng.uniform(0.01, 2))
    hf, ff, gg = exact_mv(h, x, r), exact_mv(f, x, r), exact_mv(g, x, r)
    assert hf <= (ff + gg) * (1 + 1e-10) + 1e-13
    assert abs(ff - gg) <= hf * (1 + 1e-10) + 1e-13
    for s in (alpha, -alpha):
        g = Quadratic(s * f.Q, s * f.b, s * f.c)
        h = Quadratic(f.Q + g.Q, f.b + g.b, f.c + g.c)
        hf, gg = exact_mv(h, x, r), exact_mv(g, x, r)
        assert hf == pytest.approx(ff + gg if s > 0 else abs(ff - gg), rel=1e-9, abs=1e-13)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=SEEDS, alpha=st.floats(0.2, 2))
def test_sum_rule_smooth(seed, alpha):
    # (s₁+s₂)° <= s₁° + s₂°: the certified lower end of the LHS against the solver's RHS (an
    # RHS too small fails), each solver value inside its certified bracket; equality case
    # s₂ = α s₁, where (s₁+s₂)° = (1+α) s₁° = s₁° + s₂°.
    # catches: a local search off by a factor or returning 0, an argmax outside the ball.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    s1, s2 = SinSum(rng, n), SinSum(rng, n)
    x, r = rng.standard_normal(n), float(rng.uniform(0.05, 1))
    lhs = mv(lambda y: s1(y) + s2(y), x, r, grad=lambda y: s1.grad(y) + s2.grad(y))
    m1, m2 = mv(s1, x, r, grad=s1.grad), mv(s2, x, r, grad=s2.grad)
    b12 = bracket(lambda Y: s1.batch(Y) + s2.batch(Y), x, r, s1.lip(x, r) + s2.lip(x, r))
    in_bracket(lhs, b12)
    in_bracket(m1, bracket(s1.batch, x, r, s1.lip(x, r)))
    in_bracket(m2, bracket(s2.batch, x, r, s2.lip(x, r)))
    assert b12.lower <= (m1 + m2) * (1 + 1e-9)
    # equality case
    lhs = mv(lambda y: (1 + alpha) * s1(y), x, r, grad=lambda y: (1 + alpha) * s1.grad(y))
    m2 = mv(lambda y: alpha * s1(y), x, r, grad=lambda y: alpha * s1.grad(y))
    assert lhs == pytest.approx(m1 + m2, rel=1e-7)


@HYP
@given(seed=SEEDS, op=st.sampled_from(["max", "min"]), touching=st.booleans(),
       alpha=st.floats(0.1, 0.9))
def test_max_min_rule(seed, op, touching, alpha):
    # max(f,g)° <= max(f°, g°) (and min), f, g quadratics, at every point. `touching` puts x
    # on {f = g}, where both pieces are active.
    # (i) general instance: the certified lower end of the LHS (grid) <= the exact RHS (an
    #     RHS too small fails), and the local search on the nonsmooth composite lies in the
    #     certified bracket;
    # (ii) equality, one piece dominating on the ball: g = αf + c (module docstring);
    # (iii) equality, both pieces active: max(f̃, -f̃) = |f̃| (min: -|f̃|), f̃ = f - f(x).
    # catches: a solver (exact or local) that is too small (factor ½, 0) on either side of
    # the rule, a value above the certified bracket, an argmax outside the ball.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    f, g = rand_quadratic(rng, n), rand_quadratic(rng, n)
    x, r = rng.standard_normal(n), float(rng.uniform(0.05, 1))
    if touching:
        g = Quadratic(g.Q, g.b, g.c + f(x) - g(x))
    comb = np.maximum if op == "max" else np.minimum
    h = lambda y: float(comb(f(y), g(y)))
    rhs = max(exact_mv(f, x, r), exact_mv(g, x, r))
    b = bracket(lambda Y: comb(qbatch(f, Y), qbatch(g, Y)), x, r, max(qlip(f, x, r), qlip(g, x, r)))
    assert b.lower <= rhs * (1 + 1e-9) + 1e-12
    in_bracket(mv(h, x, r, n_starts=16), b)
    # (ii) one piece dominates on the ball
    fo = quad_ref(f, x, r)
    shift = (1 - alpha) * (f(x) - fo) - 1 if op == "max" else (1 - alpha) * (f(x) + fo) + 1
    g = Quadratic(alpha * f.Q, alpha * f.b, alpha * f.c + shift)
    h = lambda y: float(comb(f(y), g(y)))
    assert max(exact_mv(f, x, r), exact_mv(g, x, r)) == pytest.approx(fo, rel=1e-9)
    assert mv(h, x, r, n_starts=16) == pytest.approx(fo, rel=1e-7)
    # (iii) both pieces active at x
    ft = Quadratic(f.Q, f.b, f.c - f(x))
    h = lambda y: float(comb(ft(y), -ft(y)))
    assert mv(h, x, r, n_starts=16) == pytest.approx(fo, rel=1e-7)


def test_max_rule_is_not_an_equality():
    # max(y², 1) is constant near 0: its maximal variation vanishes there, max(f°, g°) = r².
    # catches: a solver that is not 0 on a locally constant function, or is off by a
    # factor (or 0) on y² and |y|, or puts the argmax outside the ball.
    h = lambda y: max(float(y[0] ** 2), 1.0)
    assert mv(h, [0.0], 0.5) == 0.0
    assert max(mv(Quadratic([[2.0]]), [0.0], 0.5), 0.0) == pytest.approx(0.25)
    # ... and equality can occur: max(y, -y) = |y| with f° = g° = |·|° = r.
    assert mv(lambda y: abs(float(y[0])), [0.0], 0.5) == pytest.approx(0.5, rel=1e-12)


def _sin_crit(lo, hi):
    k = np.arange(np.ceil((lo - np.pi / 2) / np.pi), np.floor((hi - np.pi / 2) / np.pi) + 1)
    return list(np.pi / 2 + np.pi * k)


# φ (L-Lipschitz), and the points where φ has a local extremum or kink inside [lo, hi]
PHIS = {
    "sin": (lambda t, L: L * np.sin(t), _sin_crit),
    "tanh": (lambda t, L: L * np.tanh(t - 0.3), lambda lo, hi: []),
    "abs": (lambda t, L: L * abs(t - 0.1), lambda lo, hi: [0.1] if lo <= 0.1 <= hi else []),
    "clip": (lambda t, L: L * np.clip(t, -0.5, 0.7), lambda lo, hi: []),
}


@HYP
@given(seed=SEEDS, phi=st.sampled_from(sorted(PHIS)), L=st.floats(0.1, 5))
def test_lipschitz_outer_map(seed, phi, L):
    # (φ∘f)° <= L f° for an L-Lipschitz φ, f a quadratic. The LHS is exact here: f(B) is the
    # interval [f(x) - down, f(x) + up] (sides from the dual), and (φ∘f)° is the largest
    # |φ(t) - φ(f(x))| over its ends and the critical points of φ inside (module docstring).
    # The solver on φ∘f must match it; the rule is checked with the exact path's f°; and two
    # equality cases (φ linear on the interval, φ = L|t - f(x)|) must give L f°.
    # catches: a solver too small (factor ½, 0) or too large on φ∘f, an exact path too small
    # (the RHS), an argmax outside the ball.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    f = rand_quadratic(rng, n)
    x, r = rng.standard_normal(n), float(rng.uniform(0.05, 1))
    ph, crit = PHIS[phi]
    fx = f(x)
    up, down = quad_sides(f, x, r)
    lo, hi = fx - down, fx + up
    exact = max(abs(ph(t, L) - ph(fx, L)) for t in [lo, hi] + crit(lo, hi))
    assert mv(lambda y: float(ph(f(y), L)), x, r, n_starts=16) == pytest.approx(exact, rel=1e-6, abs=1e-12)
    fo = exact_mv(f, x, r)
    assert exact <= L * fo * (1 + 1e-9) + 1e-12
    # equality: φ(t) = L t on [lo, hi] (clipped outside), and φ(t) = L |t - f(x)|
    lin = lambda y: float(L * np.clip(f(y), lo - 1.0, hi + 1.0))
    assert mv(lin, x, r) == pytest.approx(L * fo, rel=1e-7)
    assert mv(lambda y: float(L * abs(f(y) - fx)), x, r, n_starts=16) == pytest.approx(L * fo, rel=1e-7)


# ------------------------------------------------- rule 3: separable sums

def radial(a, p, c):
    """a ||y - c||^p with its gradient (0 at c); profile at c: exactly a r^p."""
    def f(y):
        return a * float(np.linalg.norm(y - c)) ** p

    def g(y):
        d = y - c
        nd = float(np.linalg.norm(d))
        return np.zeros_like(d) if nd == 0 else a * p * nd ** (p - 2) * d
    return f, g


def separable_closed_form(a, p, b, q, r):
    if p == q and p < 2:
        e = 2 / (2 - p)
        return r ** p * (a ** e + b ** e) ** (1 / e)
    if p == q:
        return max(a, b) * r ** p
    if (p, q) == (2, 4):
        return max(a * r ** 2, b * r ** 4)
    if (p, q) == (1, 2):
        return a * a / (4 * b) + b * r * r if r >= a / (2 * b) else a * r
    raise ValueError((p, q))


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=SEEDS, pq=st.sampled_from([(1, 1), (1.5, 1.5), (2, 2), (4, 4), (2, 4), (1, 2)]))
def test_separable_sum_at_pair_of_minima(seed, pq):
    # catches: separable_max_variation or the local search off the closed form (any factor,
    # 0), an argmax outside the ball.
    p, q = pq
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    a, b = rng.uniform(0.2, 3, 2)
    c1, c2 = rng.standard_normal(n1), rng.standard_normal(n2)
    f, fg = radial(a, p, c1)
    g, gg = radial(b, q, c2)
    h = lambda y: f(y[:n1]) + g(y[n1:])
    hg = lambda y: np.concatenate([fg(y[:n1]), gg(y[n1:])])
    for r in (0.05, 0.4, 1.5):
        exact = separable_closed_form(a, p, b, q, r)
        rule = separable_max_variation(lambda s: a * s ** p, lambda s: b * s ** q, r).value
        assert rule == pytest.approx(exact, rel=1e-10)
        num = mv(h, np.concatenate([c1, c2]), r, grad=hg)
        assert num == pytest.approx(exact, rel=1e-7)


@HYP
@given(seed=SEEDS)
def test_separable_sum_quadratics_exact(seed):
    # At a pair of minima of PSD quadratics the rule is an equality, with the closed form
    # ½ max(λ_max(Q₁), λ_max(Q₂)) r²; at other points the right-hand side is an upper bound
    # (triangle inequality), checked with the exact h° (dual) on the left, so that profiles
    # that are too small fail.
    # catches: Quadratic.max_variation (the profiles) or the exact path too small or too
    # large (closed form, dual), separable_max_variation wrong.
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    B1, B2 = rng.standard_normal((n1, n1)), rng.standard_normal((n2, n2))
    c1, c2 = rng.standard_normal(n1), rng.standard_normal(n2)
    # minima at c1, c2 (the gradient there is ~1e-17 from round-off, not exactly 0: this
    # once made the trust-region solver return NaN, see test_quadratic_tiny_linear_term)
    f = Quadratic(B1 @ B1.T, -(B1 @ B1.T) @ c1)
    g = Quadratic(B2 @ B2.T, -(B2 @ B2.T) @ c2)
    Z = np.zeros((n1, n2))
    h = Quadratic(np.block([[f.Q, Z], [Z.T, g.Q]]), np.concatenate([f.b, g.b]))
    for x1, x2, equal in ((c1, c2, True), (rng.standard_normal(n1), rng.standard_normal(n2), False)):
        for r in (0.1, 1.0):
            rule = separable_max_variation(lambda s: qmv(f, x1, s), lambda s: qmv(g, x2, s), r).value
            lhs = exact_mv(h, np.concatenate([x1, x2]), r)
            if equal:
                closed = 0.5 * max(np.linalg.eigvalsh(f.Q)[-1], np.linalg.eigvalsh(g.Q)[-1]) * r * r
                assert lhs == pytest.approx(closed, rel=1e-9)
                assert rule == pytest.approx(closed, rel=1e-9)
            else:
                assert lhs <= rule * (1 + 1e-9) + 1e-12


def qmv(q, x, r):
    """Quadratic.max_variation, with its point checked: in the ball, attaining the value."""
    v, y = q.max_variation(x, r)
    assert np.linalg.norm(y - x) <= r * (1 + 1e-12) + ROUND * np.linalg.norm(x)
    assert abs(q(y) - q(x)) == pytest.approx(v, rel=1e-9, abs=1e-12 * (1 + abs(q(x))))
    return v


def test_quadratic_tiny_linear_term():
    # Regression: at a point that is critical up to round-off the trust-region solver used
    # to divide by zero and return NaN (found with the separable rule on quadratics).
    # Expected: max_{||u||<=0.1} 1e-17 u₂ + ½(u₁² + 2u₂²) = 0.01 + 1e-18, at u = (0, ±0.1).
    # catches: trust_region_max returning NaN, a wrong value (factor, 0), a point off the ball.
    from flatlib import trust_region_max
    val, u = trust_region_max(np.diag([1.0, 2.0]), np.array([0.0, 1e-17]), 0.1)
    assert val == pytest.approx(0.01, rel=1e-12)
    assert abs(u[1]) == pytest.approx(0.1, rel=1e-12)
    assert np.linalg.norm(u) <= 0.1 * (1 + 1e-12)


def test_separable_array_radii_and_running_max():
    # catches: separable_max_variation wrong on radius arrays, with the vectorized profiles,
    # or on profiles that are not nondecreasing (circle instead of disc).
    r = np.array([0.0, 0.1, 1.0])
    res = separable_max_variation(lambda s: s, lambda s: s, r)
    np.testing.assert_allclose(res.value, np.sqrt(2) * r, rtol=1e-10)
    np.testing.assert_allclose(res.r1 ** 2 + res.r2 ** 2, r ** 2, rtol=1e-10)
    vec = separable_max_variation(lambda s: s, lambda s: s, r, vectorized=True)
    np.testing.assert_allclose(vec.value, res.value, rtol=1e-14)
    # a profile that is not nondecreasing is replaced by its running maximum (disc, not circle)
    bump = lambda s: float(np.exp(-((s - 0.5) / 0.05) ** 2))
    res = separable_max_variation(bump, lambda s: 0.0, 1.0)
    assert res.value == pytest.approx(1.0, rel=1e-9)
    assert res.r1 == pytest.approx(0.5, rel=1e-6)
    # the disc, not only the circle: a spike at small r₁ and a bump at small r₂
    res = separable_max_variation(lambda s: float(s > 0.1), lambda s: float(0.2 < s < 0.3), 1.0)
    assert res.value == 2.0 and res.r1 ** 2 + res.r2 ** 2 <= 1.0


# ------------------------------------------------- rule 4: differentiable, non-critical point

@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_first_order_expansion(seed):
    # two-sided Taylor bracket |f°/r - ||∇f(x)||| <= ½ H r at four radii (module docstring).
    # catches: a solver off by a factor or returning 0 (at r = 1e-4 the bracket is ~1e-4
    # relative), an argmax outside the ball; first_order_constant or directional_constant wrong.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    s = SinSum(rng, n)
    x = rng.standard_normal(n)
    G = first_order_constant(s.grad, x)
    assert G == pytest.approx(np.linalg.norm(s.grad(x)), rel=1e-15)
    radii = np.geomspace(1e-4, 1e-1, 4)
    prof = mvres(s, x, radii, grad=s.grad).value
    err = np.abs(prof / radii - G)
    assert np.all(err <= 0.5 * s.H * radii * (1 + 1e-6) + 1e-9)
    # the nonsmooth estimator agrees at a differentiable point
    assert directional_constant(s, x).value == pytest.approx(G, rel=1e-7, abs=1e-9)


# ------------------------------------------------- rule 5: C² critical point

@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=SEEDS, down_wins=st.booleans())
def test_second_order_expansion(seed, down_wins):
    # two-sided bracket |p° - ½||K||₂ r²| <= |γ| ||w||³ r³ + |δ| r⁴ (module docstring).
    # catches: a solver off by a factor or returning 0, or taking the wrong side (up/down);
    # an argmax outside the ball; second_order_constant wrong.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    K = rand_sym(rng, n)
    lam = np.linalg.eigvalsh(K)
    if n > 1 and (down_wins != (-lam[0] > lam[-1])):
        K = -K  # choose which side wins: indefinite or negative Hessians have the "down" side
    lam = np.linalg.eigvalsh(K)
    w, gam, dlt = rng.standard_normal(n), float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1))
    p = lambda y: float(0.5 * y @ K @ y + gam * (w @ y) ** 3 + dlt * (y @ y) ** 2)
    pg = lambda y: K @ y + 3 * gam * (w @ y) ** 2 * w + 4 * dlt * (y @ y) * y
    x = np.zeros(n)
    C = second_order_constant(lambda y: K, x, grad=pg)
    assert C == pytest.approx(0.5 * np.max(np.abs(lam)), rel=1e-12)
    radii = np.geomspace(1e-4, 1e-2, 3)
    res = mvres(p, x, radii, grad=pg, hess=lambda y: K)
    bound = abs(gam) * np.linalg.norm(w) ** 3 * radii ** 3 + abs(dlt) * radii ** 4
    assert np.all(np.abs(res.value - C * radii ** 2) <= bound * (1 + 1e-6) + 1e-14 * radii ** 2)
    # the side that wins is the one of max(λ_max, -λ_min)
    if n > 1 and abs(lam[-1] + lam[0]) > 0.1 * np.max(np.abs(lam)):
        side = "down" if -lam[0] > lam[-1] else "up"
        wins = res.down[0] > res.up[0]
        assert wins == (side == "down")
        assert second_order_constant(K, x, side=side) == pytest.approx(C)


def test_second_order_non_quadratic_minimum():
    # catches: a solver off the exact profile (factor, 0), an argmax outside the ball.
    # ½(xy-1)² at (1,1): Hessian (y,x)(y,x)ᵀ = [[1,1],[1,1]], ||·||₂ = 2 -> constant 1.
    f = lambda z: 0.5 * (z[0] * z[1] - 1.0) ** 2
    hess = lambda z: np.array([[z[1] ** 2, 2 * z[0] * z[1] - 1], [2 * z[0] * z[1] - 1, z[0] ** 2]])
    C = second_order_constant(hess, [1.0, 1.0])
    assert C == pytest.approx(1.0, rel=1e-15)
    radii = np.geomspace(1e-4, 1e-2, 3)
    ratio = mv(f, [1.0, 1.0], radii) / radii ** 2
    # exact profile (test_profiles): ½(√2 r + r²/2)² = r² + r³/√2 + r⁴/8
    np.testing.assert_allclose(ratio, 1 + radii / np.sqrt(2) + radii ** 2 / 8, rtol=1e-8)


# ------------------------------------------------- rule 6: Lipschitz, directionally differentiable

@HYP
@given(t=st.floats(0.1, 10))
def test_abs_xy_minus_one_on_the_hyperbola(t):
    # two-sided bracket |f°/r - ||(y, x)||| <= r/2 (module docstring).
    # catches: a solver off by a factor or returning 0, an argmax outside the ball;
    # directional_constant wrong (value or direction).
    f = lambda z: abs(z[0] * z[1] - 1.0)
    x = np.array([t, 1.0 / t])
    G = float(np.hypot(x[1], x[0]))
    est = directional_constant(f, x)
    assert est.value == pytest.approx(G, rel=1e-8)
    assert abs(abs(est.direction @ x[::-1]) - G) <= 1e-6 * G   # direction ∥ ±(y, x)
    exact = directional_constant(None, x, dirderiv=lambda u: abs(x[1] * u[0] + x[0] * u[1]))
    assert exact.value == pytest.approx(G, rel=1e-12)
    radii = np.geomspace(1e-4, 1e-1, 4)
    ratio = mv(f, x, radii) / radii
    assert np.all(np.abs(ratio - G) <= radii / 2 * (1 + 1e-6) + 1e-8)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_piecewise_linear_at_a_kink(seed):
    # f = max_i a_i·y + λ||y||₁ is positively homogeneous: f°(0, r) = r max_{||u||<=1} |f'(0;u)|
    # exactly, for every r. In 2-D max_variation finds the maximum reliably.
    # catches: directional_constant's estimate off the exact one; the solver off by a factor
    # or returning 0, an argmax outside the ball.
    rng = np.random.default_rng(seed)
    A, lam = rng.standard_normal((3, 2)), float(rng.uniform(0, 1))
    f = lambda y: float(np.max(A @ y) + lam * np.abs(y).sum())
    est = directional_constant(f, np.zeros(2))
    exact = directional_constant(None, np.zeros(2), dirderiv=f)
    assert est.value == pytest.approx(exact.value, rel=1e-9)
    assert mv(f, np.zeros(2), 0.3, n_starts=16) == pytest.approx(0.3 * exact.value, rel=1e-8)


def test_directional_constant_dimension_three_and_one():
    # ||y||₁ at 0: f'(0;u) = ||u||₁, max on the sphere sqrt(n) at (±1, ..., ±1)/sqrt(n).
    # catches: directional_constant wrong in dimension 3 or 1, or with the wrong sign (side).
    f = lambda y: float(np.abs(y).sum())
    res = directional_constant(f, np.zeros(3))
    assert res.value == pytest.approx(np.sqrt(3), rel=1e-8)
    assert res.sign == 1
    # 1-D: f(y) = max(2y, -y) at 0 -> constant 2, up side; -3|y| -> 3, down side.
    assert directional_constant(lambda y: max(2 * y[0], -y[0]), [0.0]).value == pytest.approx(2.0)
    res = directional_constant(lambda y: -3 * abs(y[0]), [0.0])
    assert res.value == pytest.approx(3.0) and res.sign == -1


# ------------------------------------------------- rule 7: definable functions, and an oscillation

@pytest.mark.parametrize("f, order", [
    (lambda y: y[0] ** 2, 2), (lambda y: abs(y[0]), 1), (lambda y: y[0] ** 4, 4),
    (lambda y: y[0] ** 3, 3), (lambda y: abs(y[0]) ** 1.5, 1.5),
    (lambda y: y[1] ** 4 * (1 + y[0] ** 2), 4),
    (lambda y: abs(y[0] * y[1]), 2), (lambda y: max(abs(y[0]), y[1] ** 2), 1),
])
def test_definable_flatness_order_is_rational(f, order):
    # catches: a solver that gets the exponent of the profile wrong (e.g. misses the leading
    # term, or returns 0: log 0); not a constant factor, which leaves the log-log slope alone.
    from fractions import Fraction
    res = flatness_order(f, np.zeros(2))
    assert res.order_rational == Fraction(order).limit_denominator(6)
    assert abs(res.order - order) <= 1e-3
    assert np.ptp(res.local_slopes) <= 1e-3


def osc(z):
    """z²(2 + sin log|z|): C¹, not C², and not definable in any o-minimal structure."""
    s = abs(z)
    return 0.0 if s == 0.0 else s * s * (2.0 + np.sin(np.log(s)))


def osc_prime(z):
    s = abs(z)
    return 0.0 if s == 0.0 else 2.0 * z * (2.0 + np.sin(np.log(s))) + z * np.cos(np.log(s))


def osc_fn(y):
    # near 0 the oscillating piece, near 1 the quadratic 2(z-1)²: f°(1, r) = 2r².
    return min(osc(y[0]), 2.0 * (y[0] - 1.0) ** 2)


def osc_grad(y):
    z = y[0]
    return np.array([osc_prime(z) if osc(z) <= 2.0 * (z - 1.0) ** 2 else 4.0 * (z - 1.0)])


def crossings(a, b):
    s = np.sign(a - b)
    s = s[s != 0]
    return int(np.sum(s[1:] != s[:-1]))


def test_oscillating_profiles_cross_infinitely_often():
    # catches: compare_flatness's profiles (max_variation through flatlib.preorder) off the
    # exact ones (any factor, 0), or the crossings miscounted.
    # exact profile of the oscillation at 0: running max of osc on a fine log grid
    ss = np.geomspace(1e-14, 1e-1, 200001)
    run = np.maximum.accumulate(np.array([osc(s) for s in ss]))
    counts = []
    for K in (3, 6, 9, 12):
        r = np.geomspace(1e-1, 10.0 ** -K, 15 * K)
        cmp = compare_flatness(osc_fn, [0.0], [1.0], radii=r, grad=osc_grad)
        assert cmp.sign is None                     # incomparable: the profiles cross
        # the numerical profiles are right
        # (near 1 the points 1 + u are resolved only to 2.2e-16 absolute: relative error
        # ~ 2 * 2.2e-16 / r in 2r²)
        assert np.all(np.abs(cmp.profile_y / (2 * cmp.radii ** 2) - 1) <= 1e-6 + 1e-15 / cmp.radii)
        exact = np.interp(np.log(cmp.radii), np.log(ss), run)
        np.testing.assert_allclose(cmp.profile_x, exact, rtol=1e-6)
        counts.append(crossings(cmp.profile_x, cmp.profile_y))
    # ~0.73 crossings per decade (two per period 2π of log r): grows without bound
    assert counts == sorted(counts) and counts[-1] >= counts[0] + 5
    for K, cnt in zip((3, 6, 9, 12), counts):
        assert abs(cnt - 2 * (K - 1) * np.log(10) / (2 * np.pi)) <= 2
    # the ratio f°(0,r)/r² keeps oscillating between ~1 and 3: no leading term c r^a
    ratio = cmp.profile_x / cmp.radii ** 2
    small = cmp.radii < 1e-6
    assert ratio[small].max() > 2.9 and ratio[small].min() < 1.1


def test_definable_pair_is_eventually_comparable():
    # contrast: for semialgebraic data the eventual order is total.
    # catches: compare_flatness giving no sign (or the wrong one) on eventually ordered profiles;
    # a solver wrong by the same factor at both points is not seen here (the tests above see it).
    f = lambda y: min(float(y[0] ** 2 + abs(y[0]) ** 3), 2.0 * (y[0] - 1.0) ** 2)
    r = np.geomspace(1e-1, 1e-8, 30)
    assert compare_flatness(f, [0.0], [1.0], radii=r).sign == -1


# ------------------------------------------------- input validation

@pytest.mark.parametrize("call, exc, word", [
    (lambda: first_order_constant(None, [1.0]), TypeError, "grad"),
    (lambda: first_order_constant(lambda y: np.ones(3), [1.0, 2.0]), ValueError, "grad"),
    (lambda: first_order_constant(lambda y: y, [np.nan]), ValueError, "x"),
    (lambda: first_order_constant(lambda y: "a", [1.0]), TypeError, "grad"),
    (lambda: second_order_constant(np.eye(3), [0.0, 0.0]), ValueError, "hess"),
    (lambda: second_order_constant(np.eye(2), [0.0, 0.0], side="left"), ValueError, "side"),
    (lambda: second_order_constant(np.eye(2), [1.0, 0.0], grad=lambda y: y), ValueError, "critical"),
    (lambda: second_order_constant(np.full((2, 2), np.inf), [0.0, 0.0]), ValueError, "hess"),
    (lambda: second_order_constant(None, [0.0]), TypeError, "hess"),
    (lambda: directional_constant(None, [0.0]), TypeError, "f"),
    (lambda: directional_constant(abs, [0.0], t=-1.0), ValueError, "t"),
    (lambda: directional_constant(lambda y: abs(y[0]), [0.0, 0.0], n_dirs=0), ValueError, "n_dirs"),
    (lambda: directional_constant(lambda y: np.nan, [0.0, 0.0]), ValueError, "f"),
    (lambda: directional_constant(lambda y: 1.0, [0.0, 0.0, 0.0], rng="a"), TypeError, "rng"),
    (lambda: separable_max_variation(1.0, lambda s: s, 1.0), TypeError, "prof1"),
    (lambda: separable_max_variation(lambda s: s, lambda s: s, -1.0), ValueError, "r"),
    (lambda: separable_max_variation(lambda s: s, lambda s: s, 1.0, n_grid=2), ValueError, "n_grid"),
    (lambda: separable_max_variation(lambda s: s, lambda s: np.nan, 1.0), ValueError, "prof2"),
    (lambda: separable_max_variation(lambda s: s, lambda s: 1.0, 1.0, vectorized=True), ValueError, "prof2"),
])
def test_bad_input_names_the_argument(call, exc, word):
    # catches: a silent NaN or a wrong exception type or message on bad input.
    with pytest.raises(exc, match=word):
        call()
