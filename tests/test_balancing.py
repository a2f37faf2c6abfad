"""Tests of flatlib.problems.balancing against closed forms and independent integrations."""
import numpy as np
import pytest
from scipy.integrate import cumulative_simpson, solve_ivp

from flatlib.problems.balancing import BalancingFlowResult, balancing_flow, orbit_balanced_point
from flatlib.flows import conserved_flow
from flatlib.problems.matrix_factorization import MatrixFactorization, balanced_factors, random_global_min
from flatlib.symmetry import conserved_quantities


def low_rank(m, n, r, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, r)) @ rng.standard_normal((n, r)).T, rng


# ----------------------------------------------------------------- scalar closed form
@pytest.mark.parametrize("x0,y0", [(3.0, 1 / 3), (0.25, 4.0), (-2.0, -0.5), (2.0, 1.5), (0.5, -0.1)])
def test_scalar_closed_form(x0, y0):
    """On xy = c: x² = |c| e^θ, y² = |c| e^{-θ}, C = x² - y² = 2|c| sinh θ, and
    C' = -2C(x² + y²) gives θ' = -4|c| sinh θ, i.e. tanh(θ/2) = tanh(θ₀/2) e^{-4|c| t}."""
    c = x0 * y0
    t = np.linspace(0.0, 3.0, 61)
    res = balancing_flow([[x0]], [[y0]], (0.0, 3.0), t_eval=t)
    theta0 = np.log(x0 ** 2 / abs(c))
    theta = 2 * np.arctanh(np.tanh(theta0 / 2) * np.exp(-4 * abs(c) * t))
    x = np.sign(x0) * np.sqrt(abs(c)) * np.exp(theta / 2)
    y = np.sign(y0) * np.sqrt(abs(c)) * np.exp(-theta / 2)
    np.testing.assert_allclose(res.X[:, 0, 0], x, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.Y[:, 0, 0], y, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.product[:, 0, 0], c, rtol=1e-11)


# ----------------------------------------------------------------- matrix case
@pytest.fixture(scope="module")
def mf_run():
    m, n, r = 5, 4, 3
    M, rng = low_rank(m, n, r, 7)
    X0, Y0 = random_global_min(M, r, rng=rng, scale=1.0)
    t = np.concatenate([[0.0], np.geomspace(1e-5, 2.0, 3000)])   # graded: fast initial transient
    return M, X0, Y0, t, balancing_flow(X0, Y0, (0.0, 2.0), t_eval=t)


def test_riccati(mf_run):
    """X = X₀G, P = GGᵀ solves P' = 2(B - PAP): XXᵀ = X₀PX₀ᵀ, YᵀY-free check via X."""
    M, X0, Y0, t, res = mf_run
    A, B = X0.T @ X0, Y0.T @ Y0
    r = A.shape[0]

    def ric(_, p):
        P = p.reshape(r, r)
        return (2 * (B - P @ A @ P)).ravel()

    sol = solve_ivp(ric, (0, t[-1]), np.eye(r).ravel(), t_eval=t[::300], rtol=1e-12, atol=1e-14,
                    method="DOP853")
    for k, p in zip(range(0, t.size, 300), sol.y.T):
        P = p.reshape(r, r)
        np.testing.assert_allclose(res.X[k] @ res.X[k].T, X0 @ P @ X0.T, rtol=1e-8, atol=1e-9)
        Pi = np.linalg.inv(P)
        np.testing.assert_allclose(res.Y[k] @ res.Y[k].T, Y0 @ Pi @ Y0.T, rtol=1e-8, atol=1e-9)


def test_identities_integrated(mf_run):
    """||z(t)||² - ||z(0)||² = -2∫tr C², C(t) - C(0) = -∫(CS + SC), XYᵀ constant."""
    M, X0, Y0, t, res = mf_run
    lhs = res.sq_norm - res.sq_norm[0]
    rhs = -2 * cumulative_simpson(res.tr_C2, x=t, initial=0.0)
    assert np.max(np.abs(lhs - rhs)) <= 1e-6 * res.sq_norm[0]
    C, S = res.C, res.S
    dC = -(C @ S + S @ C)
    intC = cumulative_simpson(dC, x=t, axis=0, initial=0.0)
    assert np.max(np.abs(C - C[0] - intC)) <= 1e-6 * np.max(np.abs(C[0]))
    assert np.max(np.abs(res.product - M)) <= 1e-10 * np.max(np.abs(M))
    assert np.all(np.diff(res.sq_norm) <= 1e-13 * res.sq_norm[0])
    assert np.all(np.diff(res.C_norm) <= 1e-12 * res.C_norm[0])


def test_limit_is_orbit_balanced_point():
    m, n, r = 5, 4, 3
    M, rng = low_rank(m, n, r, 3)
    X0, Y0 = random_global_min(M, r, rng=rng, scale=0.7)
    s = np.linalg.svd(M, compute_uv=False)
    res = balancing_flow(X0, Y0, (0.0, 80.0), t_eval=[0.0, 80.0])
    X1, Y1 = res.X_final, res.Y_final
    Xb, Yb, nmin = orbit_balanced_point(X0, Y0)
    # balanced, on the orbit, minimal norm 2 tr Σ = 2||M||_*
    np.testing.assert_allclose(Xb.T @ Xb, Yb.T @ Yb, atol=1e-10)
    np.testing.assert_allclose(Xb @ Yb.T, M, atol=1e-10)
    assert nmin == pytest.approx(2 * s[:r].sum(), rel=1e-12)
    assert np.sum(Xb ** 2) + np.sum(Yb ** 2) == pytest.approx(nmin, rel=1e-12)
    # the flow limit equals it up to a right orthogonal factor
    Q = np.linalg.lstsq(Xb, X1, rcond=None)[0]
    np.testing.assert_allclose(Q.T @ Q, np.eye(r), atol=1e-8)
    np.testing.assert_allclose(Yb @ Q, Y1, atol=1e-8)
    np.testing.assert_allclose(res.sq_norm[-1], nmin, rtol=1e-10)
    # and balanced_factors up to orthogonal: X XᵀX= U Σ Uᵀ is unique
    Xs, Ys = balanced_factors(M, r)
    np.testing.assert_allclose(X1 @ X1.T, Xs @ Xs.T, atol=1e-8)
    np.testing.assert_allclose(Y1 @ Y1.T, Ys @ Ys.T, atol=1e-8)


def test_min_norm_is_the_minimum_over_the_orbit():
    """Kempf–Ness: random orbit points have a larger squared norm than the balanced one."""
    m, n, r = 4, 3, 2
    M, rng = low_rank(m, n, r, 11)
    X0, Y0 = random_global_min(M, r, rng=rng)
    _, _, nmin = orbit_balanced_point(X0, Y0)
    for _ in range(200):
        G = rng.standard_normal((r, r))
        X, Y = X0 @ G, Y0 @ np.linalg.inv(G).T
        assert np.sum(X ** 2) + np.sum(Y ** 2) >= nmin * (1 - 1e-12)


def test_same_path_as_conserved_flow():
    """conserved_flow integrates the same path with time τ = 2(m+n) t."""
    m, n, r = 3, 2, 2
    M, rng = low_rank(m, n, r, 5)
    P = MatrixFactorization(M, r)
    X0, Y0 = random_global_min(M, r, rng=rng)
    Q = conserved_quantities(P.generators())
    t = np.linspace(0.0, 1.0, 11)
    a = balancing_flow(X0, Y0, (0.0, 1.0), t_eval=t)
    s = 2 * (m + n)
    b = conserved_flow(Q, P.pack(X0, Y0), (0.0, s * 1.0), t_eval=s * t, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.packed(), b.x, atol=1e-8)


def test_rank_deficient_input_and_validation():
    res = balancing_flow(np.zeros((3, 2)), np.zeros((2, 2)), (0.0, 1.0))
    assert isinstance(res, BalancingFlowResult) and np.all(res.X == 0)
    with pytest.raises(ValueError, match="full column rank"):
        orbit_balanced_point(np.ones((3, 2)), np.eye(2))
    with pytest.raises(ValueError, match="columns"):
        balancing_flow(np.ones((3, 2)), np.ones((2, 3)), (0.0, 1.0))
    with pytest.raises(ValueError, match="t_span"):
        balancing_flow(np.ones((3, 2)), np.ones((2, 2)), (1.0, 0.0))
    with pytest.raises(ValueError, match="t_eval"):
        balancing_flow(np.ones((3, 2)), np.ones((2, 2)), (0.0, 1.0), t_eval=[0.5, 0.2])
    with pytest.raises(ValueError, match="method"):
        balancing_flow(np.ones((3, 2)), np.ones((2, 2)), (0.0, 1.0), method="Euler")
    with pytest.raises(ValueError, match="rtol"):
        balancing_flow(np.ones((3, 2)), np.ones((2, 2)), (0.0, 1.0), rtol=0.0)
    with pytest.raises(ValueError, match="X"):
        balancing_flow([[np.nan]], [[1.0]], (0.0, 1.0))
