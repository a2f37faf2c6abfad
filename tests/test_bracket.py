"""The bracket value <= f°(x, r) <= upper closed by branch and bound (flatlib/bracket.py).

Every reference value here is derived in this file (closed forms, a one-dimensional fixed
point, dense grids), never produced by max_variation itself. Each test says which broken
implementation it catches.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flatlib import Quadratic, level_distance, max_variation

SIGMA = 0.05  # width of the narrow bump


def bump_centre(n):
    c = np.zeros(n)
    if n == 1:
        c[0] = 0.8
    else:
        c[:2] = [0.6, np.sqrt(0.8 ** 2 - 0.6 ** 2)]  # |c| = 0.8
    return c


def bump(n):
    c = bump_centre(n)
    return lambda Y: np.exp(-((Y - c) ** 2).sum(-1) / (2 * SIGMA ** 2)) + 0.1 * Y[..., 0]


def bump_true_up(n):
    """sup over B(0, 1) of f(y) = G(y) + 0.1 y_1, G(y) = exp(-|y - c|²/(2σ²)), minus f(0).

    Stationarity: -(y - c) G(y)/σ² + 0.1 e_1 = 0, so y = c + δ e_1 with δ = 0.1 σ² / G(δ),
    G(δ) = exp(-δ²/(2σ²)): a contraction (δ ≈ 2.5e-4 << σ), solved by iteration. The value
    there is G(δ) + 0.1 (c_1 + δ) >= 1. Elsewhere f is smaller: on the sphere |y - c| >= 0.2,
    so f <= exp(-0.04/(2σ²)) + 0.1 = e^-8 + 0.1 (and a second stationary point would need
    G = 0.1σ²/δ with δ >= 0.2 away, impossible). f(0) = exp(-0.64/(2σ²)) = e^-128 ≈ 0.
    """
    c = bump_centre(n)
    d = 0.0
    for _ in range(100):
        d = 0.1 * SIGMA ** 2 / np.exp(-d * d / (2 * SIGMA ** 2))
    return np.exp(-d * d / (2 * SIGMA ** 2)) + 0.1 * (c[0] + d) - np.exp(-(c @ c) / (2 * SIGMA ** 2))


# Hessian bound of the bump: ∇²G = G [(y-c)(y-c)ᵀ/σ⁴ - I/σ²] has norm G max(1, |y-c|²/σ² - 1)/σ²
# <= max_t max(1, t - 1) e^{-t/2} / σ² = 1/σ² (at t = 0; (t-1)e^{-t/2} <= 2e^{-3/2} < 1).
H_BUMP = 1.0 / SIGMA ** 2
# Lipschitz constant: |∇G| = G |y-c|/σ² <= e^{-1/2}/σ (at |y-c| = σ), plus 0.1.
L_BUMP = np.exp(-0.5) / SIGMA + 0.1


def in_bracket(res, true, rel=1e-12):
    return res.value <= true * (1 + rel) + 1e-300 and res.upper >= true * (1 - rel)


# ---------------------------------------------------------------- closed forms

@pytest.mark.parametrize("n", [1, 2, 3])
def test_linear_function_bracket_contains_norm_times_radius(n):
    # f(y) = a·y: f°(x, r) = |a| r. With a loose constant (1.5|a|) the ball bound 1.5|a|r is far
    # from the value, so the branch and bound must do the work. Catches: a cell bound that is
    # too small (half-width instead of half-diagonal, no allowance for the projected point),
    # which would put `upper` below |a| r; and a `converged` status with a wide bracket.
    rng = np.random.default_rng(n)
    a = rng.normal(size=n)
    x = rng.normal(size=n)
    r = 0.7
    true = np.linalg.norm(a) * r
    f = lambda Y: Y @ a
    for kw in (dict(lipschitz=1.5 * np.linalg.norm(a)), dict(hess_bound=1.0),
               dict(hess_bound=1.0, grad=lambda Y: np.tile(a, (len(Y), 1)))):
        res = max_variation(f, x, r, vectorized=True, **kw)
        assert in_bracket(res, true, rel=1e-9), kw
        assert res.converged and res.status == "converged"
        assert res.upper - res.value <= 1e-3 * res.value * (1 + 1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kw", [dict(hess_bound=H_BUMP), dict(lipschitz=L_BUMP),
                                dict(hess_bound=H_BUMP, lipschitz=L_BUMP)], ids=["H", "L", "HL"])
def test_narrow_bump_bracket_closes_on_the_true_value(n, kw):
    # The local search alone sees only the linear part (0.1); the bracket must find the bump.
    # Catches: an incumbent that is never improved (value stays 0.1, fails the bracket), cells
    # dropped while their bound is above the value (upper < true), a budget stop reported
    # as converged, a bracket not closed to rtol.
    f = bump(n)
    true = bump_true_up(n)
    local = max_variation(f, np.zeros(n), 1.0, vectorized=True, rtol=None, **kw)
    if n > 1:  # the case the bracket is for (in 1-D the local starts may find the bump)
        assert local.value < 0.2 < true
    res = max_variation(f, np.zeros(n), 1.0, vectorized=True, **kw)
    assert res.status == "converged" and res.converged
    assert in_bracket(res, true)
    assert res.upper - res.value <= 1e-3 * res.value * (1 + 1e-12)
    # the incumbent is polished by the local ascent: the exact local maximum, not a cell point
    assert res.value == pytest.approx(true, rel=1e-8)
    assert abs(f(res.argmax[None, :])[0] - f(np.zeros((1, n)))[0]) == res.value  # attained
    assert np.linalg.norm(res.argmax) <= 1.0


def test_narrow_bump_scalar_function_and_user_gradient():
    # Same in 2-D through the row-by-row path and with the exact gradient (no differences).
    c = bump_centre(2)
    G = lambda y: np.exp(-((y - c) @ (y - c)) / (2 * SIGMA ** 2))
    f = lambda y: float(G(y) + 0.1 * y[0])
    grad = lambda y: -(y - c) * G(y) / SIGMA ** 2 + np.array([0.1, 0.0])
    true = bump_true_up(2)
    for kw in (dict(hess_bound=H_BUMP), dict(hess_bound=H_BUMP, grad=grad)):
        res = max_variation(f, [0.0, 0.0], 1.0, **kw)
        assert res.converged and in_bracket(res, true)
        assert res.upper - res.value <= 1e-3 * res.value * (1 + 1e-12)


def test_both_sides_are_bounded():
    # down side of the bump: f >= 0.1 y_1 >= -0.1 on the ball, with f(-e_1) = -0.1 + G(-e_1),
    # G(-e_1) = exp(-|e_1 + c|²/(2σ²)) = exp(-2.84/0.005) = e^-568; f(0) = e^-128. So
    # f(0) - min f = 0.1 to 1e-50. Catches: a bound that ignores the sign of the side (the down
    # bracket would then be bounded by the up value, ~1.06) or values of the wrong side.
    f = bump(2)
    down = max_variation(f, [0.0, 0.0], 1.0, vectorized=True, hess_bound=H_BUMP, side="down")
    assert down.converged and in_bracket(down, 0.1, rel=1e-12)
    assert down.upper <= 0.1 * (1 + 1e-3)
    assert np.isnan(down.up) and down.down == down.value
    up = max_variation(f, [0.0, 0.0], 1.0, vectorized=True, hess_bound=H_BUMP, side="up")
    assert up.converged and in_bracket(up, bump_true_up(2))


def test_scalar_factorization_profile():
    # ½(xy-1)² at (1, 1), r < 1/√2: f° = ½(√2 r + r²/2)² (derived in test_profiles.py).
    # On B((1,1), R): |xy - 1| <= √2 R + R²/2 =: m and |(x, y)| <= √2 + R, so
    # L = m (√2 + R) and ‖∇²f‖ = ‖(y,x)(y,x)ᵀ + (xy-1)[[0,1],[1,0]]‖ <= (√2 + R)² + m.
    # Catches: a profile that loses the per-radius bracket (upper of another radius),
    # non-monotone values, or a status that is not per radius.
    radii = np.array([0.3, 0.01, 0.1, 0.0, 0.6])
    R = radii.max()
    m = np.sqrt(2) * R + R * R / 2
    f = lambda Y: 0.5 * (Y[:, 0] * Y[:, 1] - 1.0) ** 2
    exact = 0.5 * (np.sqrt(2) * radii + 0.5 * radii ** 2) ** 2
    for kw in (dict(lipschitz=m * (np.sqrt(2) + R)), dict(hess_bound=(np.sqrt(2) + R) ** 2 + m)):
        res = max_variation(f, [1.0, 1.0], radii, vectorized=True, max_evals=200_000, **kw)
        assert res.status.shape == radii.shape
        assert np.all(res.value <= exact * (1 + 1e-12)) and np.all(res.upper >= exact * (1 - 1e-12))
        # the constants are those of the largest ball: loose for r = 0.01 with L (L r / (ε f°)
        # ~ 2e5 there), where the budget may stop the search; closed at the other radii
        big = radii >= 0.1
        assert np.all(res.converged[big]) and np.all(np.isin(res.status, ["converged", "budget"]))
        ok = res.converged & (radii > 0)
        assert np.all(res.upper[ok] - res.value[ok] <= 1e-3 * res.value[ok] * (1 + 1e-12))
        order = np.argsort(radii)
        assert np.all(np.diff(res.value[order]) >= 0) and np.all(np.diff(res.upper[order]) >= 0)
        assert res.value[3] == res.upper[3] == 0.0


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 3), st.integers(0, 2 ** 31 - 1), st.floats(0.05, 2.0))
def test_quadratics_against_the_exact_solver(n, seed, r):
    # Generic random quadratics: the trust-region closed form (Quadratic) is the reference.
    # Catches: a Hessian-bound cell bound with a wrong constant (e.g. ¼ H ρ² for ½ H ρ²), a
    # missing gradient-error term, or the ball term with the wrong sign, any of which lets
    # `upper` drop below the exact value on some instance.
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    Q = A + A.T
    b = rng.normal(size=n)
    x = rng.normal(size=n)
    q = Quadratic(Q, b)
    exact = q.max_variation(x, r)[0]
    Hn = np.linalg.norm(Q, 2)
    f = lambda Y: 0.5 * np.einsum("ij,jk,ik->i", Y, Q, Y) + Y @ b
    res = max_variation(f, x, r, vectorized=True, hess_bound=Hn)
    assert res.converged
    assert res.value <= exact * (1 + 1e-9) and res.upper >= exact * (1 - 1e-12)
    assert res.upper - res.value <= 1e-3 * res.value * (1 + 1e-12)


# ---------------------------------------------------------------- the cell bounds alone

def raw_bracket(f, x, r, budget, **const):
    """close_bracket with nothing found beforehand (incumbent 0), no local ascent and no ball
    bound: `upper` is then the largest bound of the cells kept, the quantity under test."""
    from flatlib._ascent import BatchFunction, BatchGradient
    from flatlib.bracket import close_bracket

    n = x.size
    F = BatchFunction(f, n, True)
    Gr = BatchGradient(None, F, n, True)
    fx = float(F(x[None, :])[0])
    inc = {s: (0.0, np.zeros(n)) for s in (+1, -1)}
    return close_bracket(F, Gr, x, fx, r, (+1, -1), lipschitz=const.get("L"),
                         hess_bound=const.get("H"), user_grad=False, incumbent=inc, rtol=1e-3,
                         atol=0.0, max_evals=budget, upper0=np.inf, polish=False)


def raw_cases():
    rng = np.random.default_rng(7)
    a = rng.normal(size=2)
    yield "linear", (lambda Y: Y @ a), rng.normal(size=2), 0.8, np.linalg.norm(a) * 0.8, \
        dict(L=np.linalg.norm(a), H=0.0)
    yield "bump", bump(2), np.zeros(2), 1.0, bump_true_up(2), dict(L=L_BUMP, H=H_BUMP)
    Q = np.array([[1.0, 2.0], [2.0, -3.0]])
    q = Quadratic(Q, np.array([0.5, -1.0]))
    xq = np.array([0.2, 0.4])
    fq = lambda Y: 0.5 * np.einsum("ij,jk,ik->i", Y, Q, Y) + Y @ np.array([0.5, -1.0])
    gmax = np.linalg.norm(Q @ xq + [0.5, -1.0]) + np.linalg.norm(Q, 2) * 0.6
    yield "quadratic", fq, xq, 0.6, q.max_variation(xq, 0.6)[0], dict(L=gmax, H=np.linalg.norm(Q, 2))
    # tents, where the Lipschitz bound is attained: f = max(0, 1 - 5|y - y*|) with |y*| > 1/5,
    # so f(0) = 0, sup f = 1 at y*, f >= 0: f°(0, 1) = 1; L = 5 exactly (no Hessian bound).
    # (Peaks placed off the cell centres, near cell corners at some level.)
    for ys in ([0.4137, -0.2291], [-0.459, -0.483], [-0.2, -0.077, -0.472], [0.481, 0.186, 0.15]):
        ys = np.array(ys)
        yield "tent", (lambda Y, ys=ys: np.maximum(0.0, 1.0 - 5.0 * np.linalg.norm(Y - ys, axis=-1))), \
            np.zeros(ys.size), 1.0, 1.0, dict(L=5.0)
    # quadratics ±1.5 |y - z|², where ½ H ρ² is attained (H = 3, L = 3 (1 + |z|)): for +, sup f =
    # 1.5 (1 + |z|)² at -z/|z| and inf f = 0 at z; for -, the same with the sides exchanged; with
    # f(0) = ±1.5 |z|², f°(0, 1) = 1.5 (1 + |z|)² - 1.5 |z|² either way.
    for sg, z in ((1, [0.3, 0.1]), (1, [0.05, -0.472]), (-1, [-0.015, 0.481]), (-1, [0.009, 0.011, 0.253])):
        z = np.array(z)
        nz = np.linalg.norm(z)
        yield "quadratic ±", (lambda Y, z=z, sg=sg: sg * 1.5 * ((Y - z) ** 2).sum(-1)), np.zeros(z.size), \
            1.0, 1.5 * (1 + nz) ** 2 - 1.5 * nz ** 2, dict(L=3 * (1 + nz), H=3.0)


@pytest.mark.parametrize("which", ["L", "H"])
@pytest.mark.parametrize("budget", [30, 300, 3000, 30000])
def test_cell_bounds_alone_never_cut_off_the_maximum(which, budget):
    # Without the ascent, the value comes only from cell points (below the true value) and the
    # pruning only from the cell bounds, so `upper >= true` at every budget tests the bounds
    # themselves (with the ascent, upper >= value >= true would hold whatever the bounds).
    # Catches (each checked by sabotage): half-width instead of half-diagonal (the tents),
    # a halved Lipschitz term, ¼ H ρ² instead of ½ H ρ² (the ± quadratics), a ball term that is
    # too small, boxes meeting the ball near the sphere dropped; and (budget 30000) an
    # incumbent not updated from the cell points, which never converges.
    for name, f, x, r, true, const in raw_cases():
        if which not in const:
            continue
        out = raw_bracket(f, x, r, budget, **{which: const[which]})
        value = max(v for v, _ in out.best.values())
        assert out.upper >= true * (1 - 1e-12), (name, out.upper, true)
        assert value <= true * (1 + 1e-12), name
        if budget == 30000 and x.size <= 2:  # enough to close these from the cell points alone
            assert out.status == "converged", name
        if out.status == "converged":
            assert value >= true / (1 + 1e-3) * (1 - 1e-12), name


# ---------------------------------------------------------------- finite differences

def test_hess_bound_without_grad_is_a_true_and_tight_bound():
    # f(y) = ½ (y-x)ᵀQ(y-x) + g·(y-x) with Q = diag(2, -1), g = ∇f(x) = (-0.5, 0): g lies along
    # the top eigenvector (eigenvalue 2 = ‖Q‖₂ = H), so the maximum over the ball is at
    # u = r g/|g| and equals the Taylor bound exactly: f° = |g| r + ½ H r².
    # One-sided differences (step d, towards +e_i at the centre) overestimate ∂_1 f by
    # ½ Q_11 d = d, i.e. shrink |g_1| by d: `upper` = (|g̃| + E) r + ½ H r² is >= f° only if
    # E >= d; the implementation's E is ½ H d √2 ≈ 1.41 d (plus rounding). x is far from 0 so
    # that the step sits at its floor 1e-9 |x|_∞ = 2e-5, where the truncation, not the rounding
    # allowance (~1e-9 here), dominates E.
    # Catches: hess_bound silently ignored without grad (upper None), an error bound that is
    # missing or halved (upper < f° by ~0.3 d r), and a gross overestimate (not tight to 1e-4).
    Q = np.diag([2.0, -1.0])
    x = np.array([1e4, -2e4])
    g = np.array([-0.5, 0.0])
    f = lambda y: float(0.5 * (y - x) @ Q @ (y - x) + g @ (y - x))
    for r in (1e-3, 0.1, 1.0):
        true = 0.5 * r + r * r
        res = max_variation(f, x, r, hess_bound=2.0, rtol=None)
        assert res.upper is not None and res.status == "bound"
        assert res.upper >= true * (1 - 1e-12)
        assert res.upper <= true * (1 + 1e-4)
        assert res.value == pytest.approx(true, rel=1e-9)
        closed = max_variation(f, x, r, hess_bound=2.0)
        assert closed.converged and closed.value <= true * (1 + 1e-12) <= closed.upper * (1 + 1e-12)


# ---------------------------------------------------------------- budget

def test_budget_in_six_dimensions_reports_an_honest_bracket():
    # In n = 6 the cells needed grow like (L r / ε)^6: a 20 000-evaluation budget is reached.
    # Catches: a loop that ignores the budget (hangs or runs far past it), a "converged"
    # status on an open bracket, and an upper end below the true value.
    n = 6
    true = bump_true_up(n)
    res = max_variation(bump(n), np.zeros(n), 1.0, vectorized=True, lipschitz=L_BUMP, max_evals=20_000)
    assert res.status == "budget" and not res.converged
    assert in_bracket(res, true)
    assert res.upper - res.value > 1e-3 * res.value
    assert res.nfev + res.ngev <= 20_000  # the whole call: local search and bracket
    assert "budget" in res.message


# ---------------------------------------------------------------- random smooth functions

@st.composite
def trig_sums(draw):
    """f(y) = Σ_k a_k sin(w_k·y + φ_k): L = Σ|a_k||w_k| and H = Σ|a_k||w_k|² bound ∇f and ∇²f."""
    n = draw(st.integers(1, 3))
    m = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    a = rng.normal(size=m)
    w = rng.normal(size=(m, n)) * draw(st.floats(0.5, 6.0))
    ph = rng.uniform(0, 2 * np.pi, size=m)
    x = rng.normal(size=n)
    r = draw(st.floats(0.1, 1.5))
    return n, a, w, ph, x, r


def dense_grid_max(f, x, r, n):
    """max |f(y) - f(x)| over a fine grid of the ball (a lower bound of f°, independent)."""
    k = {1: 20001, 2: 601, 3: 81}[n]
    ax = np.linspace(-r, r, k)
    U = np.stack(np.meshgrid(*([ax] * n), indexing="ij"), -1).reshape(-1, n)
    U = U[np.einsum("ij,ij->i", U, U) <= r * r]
    return np.max(np.abs(f(x + U) - f(x[None, :])[0]))


def dense_grid_upper(f, x, r, n, L):
    """An upper bound of f° independent of flatlib: every y of the ball is within h √n / 2 of a
    point g of the cubic grid of spacing h on [-r, r]^n, hence of its projection P(g) on the ball
    (projection is nonexpansive and fixes y); so f° <= max |f(P(g)) - f(x)| + L h √n / 2."""
    k = {1: 20001, 2: 601, 3: 81}[n]
    ax = np.linspace(-r, r, k)
    h = ax[1] - ax[0]
    U = np.stack(np.meshgrid(*([ax] * n), indexing="ij"), -1).reshape(-1, n)
    nu = np.linalg.norm(U, axis=1)
    U[nu > r] *= (r / nu[nu > r])[:, None]
    vals = np.abs(f(x + U) - f(x[None, :])[0])
    return np.max(vals) * (1 + 1e-12) + L * h * np.sqrt(n) / 2 + 1e-12


@settings(max_examples=12, deadline=None)
@given(trig_sums(), st.sampled_from(["L", "H", "HL"]))
def test_upper_never_below_a_dense_grid(case, which):
    # The grid maximum is attained, so it is <= f° <= upper; a converged bracket must also have
    # value >= grid max / (1 + rtol). Catches: any too-small cell bound (upper below the grid
    # maximum on some instance), a wrong covering (cells meeting the ball dropped), and a
    # `converged` status whose value misses the global maximum.
    n, a, w, ph, x, r = case
    f = lambda Y: np.sin(Y @ w.T + ph) @ a
    L = float(np.sum(np.abs(a) * np.linalg.norm(w, axis=1)))
    H = float(np.sum(np.abs(a) * np.linalg.norm(w, axis=1) ** 2))
    kw = {"L": dict(lipschitz=L), "H": dict(hess_bound=H), "HL": dict(lipschitz=L, hess_bound=H)}[which]
    res = max_variation(f, x, r, vectorized=True, max_evals=50_000, **kw)
    ref = dense_grid_max(f, x, r, n)
    assert res.upper >= ref * (1 - 1e-12)
    # an independent upper bound of f° (the grid plus L times its covering radius): the value
    # cannot exceed it. (`value <= upper` could not fail: profiles.py enforces it.) Catches a
    # value that is not attained in the ball (a point outside it, or `upper` returned as value).
    assert res.value <= dense_grid_upper(f, x, r, n, L)
    # attained (to the rounding of a batched matrix product, which depends on the batch size)
    assert abs(f(res.argmax[None, :])[0] - f(x[None, :])[0]) == pytest.approx(res.value, rel=1e-12, abs=1e-15)
    assert np.linalg.norm(res.argmax - x) <= r
    if res.converged:
        assert res.value >= ref / (1 + 1e-3) * (1 - 1e-12)


# ---------------------------------------------------------------- constants refuted by the search

def docstring_bump():
    c = np.array([0.6, np.sqrt(0.64 - 0.36)])
    return lambda Y: np.exp(-((Y - c) ** 2).sum(-1) / (2 * 0.05 ** 2)) + 0.1 * Y[..., 0]


def test_false_lipschitz_constant_of_the_docstring_bump_is_refuted():
    # The docstring's bump has the slope 0.1 y_1: the search attains 0.1 at y = (1, 0) > L r = 0.05.
    # Before, the result said "converged" with upper 0.1 (the bracket from a false constant).
    # Catches: a bound of the whole ball silently raised to the value attained.
    with pytest.raises(ValueError, match=r"lipschitz = 0.05 is contradicted.*0\.1"):
        max_variation(docstring_bump(), [0.0, 0.0], 1.0, vectorized=True, lipschitz=0.05)
    with pytest.raises(ValueError, match="lipschitz"):  # also with rtol=None (the bound alone)
        max_variation(docstring_bump(), [0.0, 0.0], 1.0, vectorized=True, lipschitz=0.05, rtol=None)
    # the true constant (e^-1/2 / σ + 0.1) is accepted and closes on the bump
    res = max_variation(docstring_bump(), [0.0, 0.0], 1.0, vectorized=True, lipschitz=L_BUMP)
    assert res.status == "converged" and in_bracket(res, bump_true_up(2))


def test_false_hessian_bound_is_refuted():
    # H = 1 for the bump whose Hessian reaches 1/σ² = 400: the Taylor bound of the whole ball is
    # 0.1 + ½ = 0.6 < 1.06, the height the search finds. Catches the same masking as above.
    with pytest.raises(ValueError, match="hess_bound = 1 is contradicted"):
        max_variation(docstring_bump(), [0.0, 0.0], 1.0, vectorized=True, hess_bound=1.0)


def test_false_lipschitz_constant_refuted_by_a_sampled_gradient():
    # f = sin(10 y_1)/10 varies by at most 0.2 < L r = 0.5 on the unit ball, so no value refutes
    # L = 0.5; its gradient cos(10 y_1) e_1 has norm 1 at y = 0. Catches: exact gradients seen by
    # the search not compared with L.
    f = lambda y: float(np.sin(10 * y[0]) / 10)
    g = lambda y: np.array([np.cos(10 * y[0]), 0.0])
    with pytest.raises(ValueError, match="lipschitz = 0.5 is contradicted.*gradient"):
        max_variation(f, [0.0, 0.0], 1.0, grad=g, lipschitz=0.5)
    assert max_variation(f, [0.0, 0.0], 1.0, grad=g, lipschitz=1.0).value == pytest.approx(0.1, rel=1e-9)


@pytest.mark.parametrize("L", [1.5, 2.0])
def test_false_lipschitz_constant_refuted_inside_the_branch_and_bound(L):
    # The tent max(0, 1 - 5|y - y*|) (true L = 5) is flat (0) where the local starts land and
    # L r >= 1 = f°, so only the branch and bound can see the contradiction: a point of a box whose
    # value exceeds the bound the constant gave to the box's parent. Catches: cell values never
    # compared with the bound of the cell that contains them.
    ys = np.array([0.4137, -0.2291])
    f = lambda Y: np.maximum(0.0, 1.0 - 5.0 * np.linalg.norm(Y - ys, axis=-1))
    with pytest.raises(ValueError, match="contradicted by the search.*box containing"):
        max_variation(f, [0.0, 0.0], 1.0, vectorized=True, lipschitz=L, n_starts=0)


# ---------------------------------------------------------------- the default budget

def three_bumps():
    """Three narrow Gaussians in 3-D: f(y) = Σ h_k exp(-|y - c_k|²/(2σ²)), σ = 0.05, centres
    >= 0.8 apart and >= 0.6 from 0. sup over B(0, 1) = h_max = 1.09 at c_3 (the others add
    <= 2 exp(-0.64/(2σ²)) ~ 1e-55 there); f(0) <= 3.14 exp(-0.36/(2σ²)) = 2e-31; so f° = 1.09 to
    1e-15. Hessian bound: each term has ‖∇²‖ <= h_k/σ² (as for the bump above), so
    H = Σ h_k / σ²."""
    C = np.array([[0.5, 0.3, -0.2], [-0.4, 0.5, 0.3], [0.1, -0.6, 0.4]])
    h = np.array([1.0, 1.05, 1.09])
    sig = 0.05
    f = lambda Y: (h * np.exp(-((Y[:, None, :] - C[None]) ** 2).sum(-1) / (2 * sig ** 2))).sum(-1)
    return f, float(h.sum() / sig ** 2), 1.09


def test_default_budget_closes_three_bumps_in_3d():
    # A case like the held-out one: the old default (2e5 evaluations per radius) stopped
    # at "budget"; the default budget (1e6 for the whole call) closes it to 1e-3 (measured:
    # 4.4e5 evaluations, 0.8 s on one core of the CI machine). Catches a default too small to
    # close easy low-dimensional cases.
    f, H, true = three_bumps()
    res = max_variation(f, np.zeros(3), 1.0, vectorized=True, hess_bound=H)
    assert res.status == "converged"
    assert res.value <= true * (1 + 1e-12) and res.upper >= true * (1 - 1e-12)
    assert res.upper - res.value <= 1e-3 * res.value * (1 + 1e-12)
    assert res.nfev + res.ngev <= 1_000_000


@pytest.mark.parametrize("max_evals", [5, 9, 50, 400, 3_000, 40_000])
@pytest.mark.parametrize("kw", [dict(hess_bound=H_BUMP), dict(lipschitz=L_BUMP),
                                dict(hess_bound=H_BUMP, grad="exact")], ids=["H", "L", "Hgrad"])
def test_evaluations_never_exceed_max_evals(max_evals, kw):
    # nfev + ngev <= max_evals, for the whole call (local search, centre gradient, every radius of
    # a profile, polishing ascents), at every budget, with finite differences or a gradient.
    # Before, max_evals bounded only the branch and bound of each radius (3135 evaluations for
    # max_evals = 3000). Catches any evaluation outside the budget's accounting.
    c = bump_centre(2)
    G = lambda Y: np.exp(-((Y - c) ** 2).sum(-1) / (2 * SIGMA ** 2))
    kw = dict(kw)
    if kw.get("grad") == "exact":
        kw["grad"] = lambda Y: -(Y - c) * (G(Y) / SIGMA ** 2)[:, None] + np.array([0.1, 0.0])
    need = 1 + (1 if "grad" in kw else 2 * 2)  # f(x) and the gradient at x
    if max_evals < need:
        with pytest.raises(ValueError, match="max_evals"):
            max_variation(bump(2), np.zeros(2), [0.3, 1.0], vectorized=True, max_evals=max_evals, **kw)
        return
    res = max_variation(bump(2), np.zeros(2), [0.3, 1.0], vectorized=True, max_evals=max_evals, **kw)
    assert res.nfev + res.ngev <= max_evals
    true = [max(dense_grid_max(bump(2), np.zeros(2), 0.3, 2), 0.03), bump_true_up(2)]
    assert np.all(res.upper >= np.array(true) * (1 - 1e-9))  # valid brackets at every budget
    assert np.all(np.abs(bump(2)(res.argmax) - bump(2)(np.zeros((1, 2)))) == res.value)


# ---------------------------------------------------------------- reprs and strings

def test_reprs_show_every_documented_field():
    # Catches a repr that hides fields the docstring lists (argmax, nearest, the bracket).
    res = max_variation(lambda y: float(y @ y), [0.0, 0.0], 0.5, lipschitz=1.0)
    text = repr(res)
    for name in ("value", "argmax", "upper", "up", "down", "radius", "side", "status", "converged",
                 "nfev", "ngev", "exact", "message"):
        assert f"{name}=" in text, name
    ld = level_distance(lambda y: float(y @ y), [0.0, 0.0], 0.25, grad=lambda y: 2 * y)
    for name in ("value", "nearest", "delta", "nfev", "exact", "message"):
        assert f"{name}=" in repr(ld), name
