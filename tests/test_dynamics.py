"""flatlib.dynamics (normalized GD, SAM, 1-SAM, the lambda_max tracker) and the two problems of
notebook 08 (deep factorization, diagonal linear network), against closed forms derived here.

What each test catches is said in its docstring."""
import numpy as np
import pytest

from flatlib import gradient_descent, gradient_flow
from flatlib.dynamics import (normalized_gradient_descent, sam, step_schedule, stochastic_sam,
                              track_lambda_max)
from flatlib.problems import DeepFactorization, DiagonalLinearNetwork, MatrixFactorization
from flatlib.problems.deep_factorization import (balanced_factors, flattest_lambda_max, lambda_max_at_minimizer,
                                                 spectral_norm_products, transform_factors)
from flatlib.problems.diagonal_linear import gd_implicit_bias, min_l1_interpolator, sparse_regression


def scalar_grad(v):
    return (v[0] * v[1] - 1.0) * np.array([v[1], v[0]])


def low_rank(m, n, r, seed):
    g = np.random.default_rng(seed)
    return g.standard_normal((m, r)) @ g.standard_normal((r, n))


# --------------------------------------------------------------------------- normalized GD
def test_normalized_gd_on_a_1d_quadratic_is_the_sign_method():
    """Textbook: on ½λx² the direction is sign(x) whatever λ, so from 2.3 with α = 1 the iterates are
    1.3, 0.3, -0.7, then the 2-cycle {0.3, -0.7}. Catches a missing normalization (steps λ|x|) and a
    wrong sign."""
    for lam in (0.1, 1.0, 50.0):
        res = normalized_gradient_descent(lambda x: lam * x, [2.3], 1.0, 9)
        want = [2.3, 1.3, 0.3, -0.7, 0.3, -0.7, 0.3, -0.7, 0.3, -0.7]
        np.testing.assert_allclose(res.x[:, 0], want, atol=1e-12)
        np.testing.assert_allclose(res.t, np.arange(10.0), atol=1e-12)


def test_normalized_gd_decaying_steps_converge_on_a_quadratic():
    """With α_k = α/(k+1) (Σα_k = ∞, α_k -> 0) and an isotropic quadratic in R^3, the iterates stay on
    the ray through x0 and, once they first cross 0, |x_{k+1}| <= α_k. Catches a schedule applied with
    the wrong index or power."""
    x0 = np.array([3.0, -1.0, 2.0])
    res = normalized_gradient_descent(lambda x: 2.0 * x, x0, 1.0, 3000, schedule=1.0)
    a = 1.0 / np.arange(1, 3001)
    np.testing.assert_allclose(res.extra["step_sizes"], a, rtol=1e-14)
    np.testing.assert_allclose(res.t[1:], np.cumsum(a), rtol=1e-12)
    u = x0 / np.linalg.norm(x0)
    s = res.x @ u
    first = int(np.argmax(s < 0))                                       # first crossing of 0
    assert first > 0
    # on the line through x0 (a per-coordinate sign method would leave it)
    np.testing.assert_allclose(res.x[:first + 1], np.outer(s[:first + 1], u), atol=1e-12)
    nrm = np.linalg.norm(res.x, axis=1)
    assert np.all(nrm[first + 1:] <= a[first:len(s) - 1] + 1e-12)
    assert nrm[-1] < 1e-3
    # before the crossing the distance to 0 falls by exactly α_k
    np.testing.assert_allclose(np.diff(s[:first]), -a[:first - 1], atol=1e-12)


def test_step_schedule_values_and_validation():
    """α_k = α0/(k+1)^p; a bad step, schedule or callable output raises naming the argument."""
    a = step_schedule(0.3, 0.25)
    assert a(0) == pytest.approx(0.3) and a(15) == pytest.approx(0.3 / 2.0)
    assert step_schedule(0.3, lambda k: 0.1 * 0.5 ** k)(2) == pytest.approx(0.025)
    with pytest.raises(ValueError, match="step"):
        step_schedule(-1.0)
    with pytest.raises(ValueError, match="schedule"):
        step_schedule(1.0, "sqrtt")
    with pytest.raises(ValueError, match="schedule"):
        step_schedule(1.0, -0.5)
    with pytest.raises(ValueError, match="schedule"):
        step_schedule(1.0, lambda k: float("nan"))(0)


@pytest.mark.parametrize("schedule", ["constant", 0.25, 0.5, 1.0])
def test_normalized_gd_imbalance_law_on_scalar_factorization(schedule):
    """Derived in flatlib.dynamics: on ½(xy-1)² each normalized step multiplies x²-y² by exactly
    1 - α_k²/(x_k²+y_k²), independent of the residual. Checked step by step (relative 1e-10) over 300
    steps. Catches a step not normalized (factor 1 - α²r²) or normalized by ‖∇f‖² (factor depends on r)."""
    res = normalized_gradient_descent(scalar_grad, [3.0, 0.1], 0.2, 300, schedule=schedule)
    assert not res.converged and len(res.x) == 301
    q = res.x[:, 0] ** 2 - res.x[:, 1] ** 2
    factor = 1.0 - res.extra["step_sizes"] ** 2 / np.sum(res.x[:-1] ** 2, axis=1)
    np.testing.assert_allclose(q[1:], q[:-1] * factor, rtol=1e-10)


def test_normalized_gd_stops_at_a_critical_point_and_validates():
    res = normalized_gradient_descent(scalar_grad, [2.0, 0.5], 0.1, 10)
    assert res.converged and len(res.x) == 1
    with pytest.raises(ValueError, match="x0"):
        normalized_gradient_descent(scalar_grad, [np.nan, 1.0], 0.1, 10)
    with pytest.raises(ValueError, match="step"):
        normalized_gradient_descent(scalar_grad, [1.0, 1.0], 0.0, 10)
    with pytest.raises(ValueError, match="n_steps"):
        normalized_gradient_descent(scalar_grad, [1.0, 1.0], 0.1, 0)
    with pytest.raises(ValueError, match="grad"):
        normalized_gradient_descent(lambda v: np.array([np.nan, 0.0]), [1.0, 1.0], 0.1, 3)
    with pytest.raises(TypeError, match="grad"):
        normalized_gradient_descent(3.0, [1.0, 1.0], 0.1, 3)


def test_normalized_gd_divergence_is_reported():
    """f = -x⁴/4 pushes outwards; with a blowup radius the run stops with finite iterates only."""
    res = normalized_gradient_descent(lambda x: -x ** 3, [1.0], 1.0, 100, blowup=10.0)
    assert res.diverged and np.all(np.abs(res.x) <= 10.0)


# --------------------------------------------------------------------------- GD conservation laws
def test_gd_scalar_imbalance_is_multiplied_by_one_minus_eta2_r2():
    """PAPER §4: on ½(xy-1)² one GD step multiplies x²-y² by 1 - η²r², r = xy - 1 (exact recursion,
    checked at every step to 1e-10 relative, for a small and a large step)."""
    for eta in (0.01, 0.3):
        res = gradient_descent(scalar_grad, [3.0, 0.1], eta, 400)
        x, y = res.x[:, 0], res.x[:, 1]
        q, r = x ** 2 - y ** 2, x * y - 1.0
        np.testing.assert_allclose(q[1:], q[:-1] * (1.0 - eta ** 2 * r[:-1] ** 2), rtol=1e-10)


def test_gd_matrix_imbalance_changes_by_eta2_times_the_exact_term():
    """For ½‖XYᵀ-M‖² one GD step changes C = XᵀX - YᵀY by exactly η²(YᵀRᵀRY - XᵀRRᵀX), R = XYᵀ - M
    (the O(η) terms cancel). Right-hand side computed here from X, Y, M, independently of the problem's
    gradient. Catches a first-order drift (e.g. a gradient with a wrong factor in one block)."""
    M = low_rank(5, 3, 2, 0)
    P = DeepFactorization(M, 2, 2)
    g = np.random.default_rng(1)
    z0 = P.pack([g.standard_normal((2, 3)), 2.0 * g.standard_normal((5, 2))])
    eta = 0.01
    res = gradient_descent(P.grad, z0, eta, 50)
    for a, b in zip(res.x[:-1], res.x[1:]):
        Yt, X = P.unpack(a)
        Y = Yt.T
        R = X @ Y.T - M
        C0 = X.T @ X - Y.T @ Y
        Yt1, X1 = P.unpack(b)
        C1 = X1.T @ X1 - Yt1 @ Yt1.T
        np.testing.assert_allclose(C1 - C0, eta ** 2 * (Y.T @ R.T @ R @ Y - X.T @ R @ R.T @ X),
                                   atol=1e-12 * max(1.0, np.abs(C0).max()))
        assert np.abs(C1 - C0).max() > 0                      # it does move (O(η²), not zero)


def test_gd_deep_imbalances_change_by_eta2_times_gradient_grams():
    """Depth 3: C_l⁺ - C_l = η²(G_{l+1}ᵀG_{l+1} - G_l G_lᵀ) with G_l = ∇_{W_l} f, because
    W_{l+1}ᵀG_{l+1} = G_l W_lᵀ."""
    M = low_rank(4, 3, 2, 2)
    P = DeepFactorization(M, 2, 3)
    z = np.random.default_rng(3).standard_normal(P.n)
    eta = 0.02
    for _ in range(20):
        G = P.unpack(P.grad(z))
        z1 = z - eta * P.grad(z)
        dC = P.charges(z1) - P.charges(z)
        want = np.array([G[l + 1].T @ G[l + 1] - G[l] @ G[l].T for l in range(2)]) * eta ** 2
        np.testing.assert_allclose(dC, want, atol=1e-11)
        z = z1


# --------------------------------------------------------------------------- SAM
@pytest.mark.parametrize("inner", ["one_step", "exact"])
@pytest.mark.parametrize("eta,lam,rho", [(0.1, 4.0, 0.2), (0.3, 2.0, 0.05), (0.05, 30.0, 0.1)])
def test_sam_on_a_quadratic_ends_in_the_two_cycle(inner, eta, lam, rho):
    """Textbook (Bartlett, Long & Bousquet 2023): on ½λx² SAM is x⁺ = (1-ηλ)x - ηλρ sign(x) and ends in
    the 2-cycle ±ηλρ/(2-ηλ) (0 < ηλ < 2). Catches an ascent of the wrong sign (it would converge to 0
    faster), a missing normalization of the ascent (cycle size ∝ ρλ|x|) or a descent at x instead of x+e."""
    c = eta * lam * rho / (2.0 - eta * lam)
    n = 400 if inner == "one_step" else 120
    res = sam(lambda x: lam * x, [1.3], eta, rho, n, inner=inner, f=lambda x: 0.5 * lam * float(x @ x))
    tail = res.x[-6:, 0]
    np.testing.assert_allclose(np.abs(tail), c, rtol=1e-6)
    assert np.all(np.sign(tail[1:]) == -np.sign(tail[:-1]))            # alternates sides
    np.testing.assert_allclose(res.extra["ascent_norms"][-5:], rho, rtol=1e-6)


def test_sam_on_an_anisotropic_quadratic_bounces_along_the_top_eigenvector():
    """On ½xᵀHx, H = diag(4, 1, 0.5), one-step and exact SAM end in the 2-cycle ±c e_1 along the top
    eigenvector, c = ηλ₁ρ/(2-ηλ₁) (the other components die out)."""
    H = np.diag([4.0, 1.0, 0.5])
    eta, rho = 0.1, 0.2
    c = eta * 4.0 * rho / (2.0 - eta * 4.0)
    for inner, n, tol in (("one_step", 400, 1e-10), ("exact", 300, 1e-6)):
        res = sam(lambda x: H @ x, [1.0, -2.0, 0.7], eta, rho, n, inner=inner, f=lambda x: 0.5 * x @ H @ x)
        np.testing.assert_allclose(np.abs(res.x[-1, 0]), c, rtol=tol)
        assert np.abs(res.x[-1, 1:]).max() < 10 * tol


def test_exact_sam_ascent_point_is_the_maximizer_of_the_ball():
    """On f = ½xᵀHx with H = diag(3, 1) at x = (0.1, 1) the one-step ascent follows Hx ∝ (0.3, 1) but the
    maximizer of f over B(x, ρ) (ρ = 2) lies near the top eigen-direction: the exact SAM step differs from
    the one-step one, and its ascent point attains max f over the ball (checked against a fine polar
    grid of the sphere)."""
    H = np.diag([3.0, 1.0])
    f = lambda x: 0.5 * x @ H @ x          # noqa: E731
    x0, rho = np.array([0.1, 1.0]), 2.0
    th = np.linspace(0, 2 * np.pi, 200001)
    ys = x0 + rho * np.stack([np.cos(th), np.sin(th)], axis=1)
    fmax = np.max(0.5 * (3 * ys[:, 0] ** 2 + ys[:, 1] ** 2))
    ex = sam(lambda x: H @ x, x0, 0.01, rho, 1, inner="exact", f=f)
    one = sam(lambda x: H @ x, x0, 0.01, rho, 1)
    # x1 = x0 - η H y  =>  y = H⁻¹ (x0 - x1)/η
    y_ex = np.linalg.solve(H, (x0 - ex.x[1]) / 0.01)
    y_one = np.linalg.solve(H, (x0 - one.x[1]) / 0.01)
    assert f(y_ex) == pytest.approx(fmax, rel=1e-8)
    assert f(y_one) < fmax - 0.1


def test_sam_validation():
    with pytest.raises(ValueError, match="rho"):
        sam(lambda x: x, [1.0], 0.1, -1.0, 10)
    with pytest.raises(ValueError, match="inner"):
        sam(lambda x: x, [1.0], 0.1, 0.1, 10, inner="two_step")
    with pytest.raises(TypeError, match="f is required"):
        sam(lambda x: x, [1.0], 0.1, 0.1, 10, inner="exact")


def test_stochastic_sam_with_identical_samples_is_full_batch_sam():
    """With every sample loss equal to f, 1-SAM is full-batch one-step SAM, iterate for iterate.
    Catches a 1-SAM that ascends with one sample and descends with another, or mis-normalizes."""
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    g = lambda x: H @ x + np.array([0.3, -0.2]) * np.sin(x[0])     # noqa: E731 (not a quadratic)
    a = stochastic_sam(lambda x, i: g(x), 7, [1.0, 2.0], 0.1, 0.05, 200, rng=4)
    b = sam(g, [1.0, 2.0], 0.1, 0.05, 200)
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-14)


def test_stochastic_sam_uses_one_sample_per_step():
    """Sample losses f_i = ½(x - c_i)²: a step with sample i moves x towards c_i - ρ sign(x - c_i)
    by the fraction η. Rebuild the whole trajectory from the drawn indices (same rng stream)."""
    c = np.array([-1.0, 0.5, 2.0])
    eta, rho = 0.3, 0.1
    res = stochastic_sam(lambda x, i: x - c[i], 3, [4.0], eta, rho, 50, rng=11)
    idx = np.random.default_rng(11).integers(0, 3, size=50)
    x = 4.0
    for k, i in enumerate(idx):
        y = x + rho * np.sign(x - c[i])
        x = x - eta * (y - c[i])
        assert res.x[k + 1, 0] == pytest.approx(x, abs=1e-13)


# --------------------------------------------------------------------------- tracker
def test_tracker_matches_dense_eigenvalues_along_a_gd_run():
    """Depth-3 factorization (36 parameters, Lanczos path): warm-started and cold values agree with
    numpy.linalg.eigvalsh of the dense Hessian at every recorded point (1e-8 relative)."""
    M = low_rank(5, 4, 3, 5)
    P = DeepFactorization(M, 3, 3)
    z0 = np.random.default_rng(6).standard_normal(P.n) * 0.8
    run = gradient_descent(P.grad, z0, 0.01, 300, record_every=30)
    warm = track_lambda_max(P.hvp, run.x, rng=0)
    cold = track_lambda_max(P.hvp, run.x, rng=0, warm_start=False)
    dense = np.array([np.linalg.eigvalsh(P.hess(z))[-1] for z in run.x])
    assert warm.method == "lanczos" and P.n == 36
    np.testing.assert_allclose(warm.values, dense, rtol=1e-8)
    np.testing.assert_allclose(cold.values, dense, rtol=1e-8)
    for v, z, lam in zip(warm.eigenvectors, run.x, warm.values):          # eigenpairs, not just values
        np.testing.assert_allclose(P.hvp(z, v), lam * v, atol=1e-6 * lam)


def test_tracker_follows_a_crossing_and_ignores_large_negative_eigenvalues():
    """H(s) = diag(-200, 1, ..., 49) + s e_2 e_2ᵀ: the largest *algebraic* eigenvalue is max(49, 1 + s);
    the warm start from the old top eigenvector must still find the new one after the crossing."""
    D = np.concatenate([[-200.0], np.arange(1.0, 50.0)])

    def hvp(x, v):
        w = D * v
        w[1] += x[0] * v[1]
        return w

    s = np.arange(0.0, 120.0, 7.0)
    xs = np.zeros((s.size, 50))
    xs[:, 0] = s
    tr = track_lambda_max(hvp, xs, rng=3)
    np.testing.assert_allclose(tr.values, np.maximum(49.0, 1.0 + s), rtol=1e-9)


def test_tracker_small_problems_and_validation():
    tr = track_lambda_max(lambda x, v: np.array([[2.0, 1.0], [1.0, 2.0]]) @ v, np.zeros((3, 2)))
    np.testing.assert_allclose(tr.values, 3.0)
    assert tr.method == "assembled" and tr.total_hvp == 6
    with pytest.raises(ValueError, match="xs"):
        track_lambda_max(lambda x, v: v, np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="hvp"):
        track_lambda_max(lambda x, v: np.ones(2), np.zeros((1, 30)))
    with pytest.raises(ValueError, match="tol"):
        track_lambda_max(lambda x, v: v, np.zeros((1, 30)), tol=-1.0)


# --------------------------------------------------------------------------- deep factorization
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_deep_factorization_derivatives_against_finite_differences(depth):
    M = low_rank(4, 3, 2, depth)
    P = DeepFactorization(M, 2, depth)
    g = np.random.default_rng(depth)
    z, v = g.standard_normal(P.n), g.standard_normal(P.n)
    h = 1e-6
    fd = np.array([(P.f(z + h * e) - P.f(z - h * e)) / (2 * h) for e in np.eye(P.n)])
    np.testing.assert_allclose(P.grad(z), fd, atol=1e-6 * max(1.0, np.abs(fd).max()))
    fdh = (P.grad(z + h * v) - P.grad(z - h * v)) / (2 * h)
    np.testing.assert_allclose(P.hvp(z, v), fdh, atol=1e-6 * max(1.0, np.abs(fdh).max()))
    np.testing.assert_allclose(sum(P.sample_grad(z, k) for k in range(P.n_samples)), P.grad(z), atol=1e-12)


def test_depth_two_is_matrix_factorization():
    """W_1 = Yᵀ, W_2 = X: same loss and same Hessian spectrum as the independent MatrixFactorization."""
    M = low_rank(5, 3, 2, 7)
    D, F = DeepFactorization(M, 2, 2), MatrixFactorization(M, 2)
    g = np.random.default_rng(8)
    X, Y = g.standard_normal((5, 2)), g.standard_normal((3, 2))
    zd, zf = D.pack([Y.T, X]), F.pack(X, Y)
    assert D.f(zd) == pytest.approx(F.f(zf), rel=1e-13)
    np.testing.assert_allclose(np.linalg.eigvalsh(D.hess(zd)), np.linalg.eigvalsh(F.hess(zf)), atol=1e-9)


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_lambda_max_at_minimizer_against_dense_and_lanczos(depth, seed):
    """The reduced formula λ_max(Σ_l B_lᵀB_l ⊗ A_lA_lᵀ) equals the dense Hessian's top eigenvalue and
    Lanczos' at random global minimizers (random GL(r) orbit points of the balanced one); it is at least
    L σ₁^{2(L-1)/L} and at most Σ_l ‖A_l‖²‖B_l‖² (equal at depth 2: ‖X‖₂² + ‖Y‖₂²)."""
    M = low_rank(5, 4, 3, 10 + seed)
    P = DeepFactorization(M, 3, depth)
    g = np.random.default_rng(seed)
    Ws = transform_factors(balanced_factors(M, 3, depth),
                           [np.eye(3) + 0.4 * g.standard_normal((3, 3)) for _ in range(depth - 1)])
    z = P.pack(Ws)
    assert P.f(z) < 1e-20
    dense = np.linalg.eigvalsh(P.hess(z))[-1]
    lanczos = track_lambda_max(P.hvp, z[None], rng=seed).values[0]
    exact = P.lambda_max_at_minimizer(z)
    assert exact == pytest.approx(dense, rel=1e-10)
    assert lanczos == pytest.approx(dense, rel=1e-8)
    prods = spectral_norm_products(Ws)
    assert flattest_lambda_max(M, depth) < exact <= np.sum(prods ** 2) * (1 + 1e-12)
    if depth == 2:
        X, Yt = Ws[1], Ws[0]
        assert exact == pytest.approx(np.linalg.norm(X, 2) ** 2 + np.linalg.norm(Yt, 2) ** 2, rel=1e-12)
        assert exact == pytest.approx(np.sum(prods ** 2), rel=1e-12)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_balanced_minimizer_attains_the_flattest_value(depth):
    """At the balanced minimizer λ_max = L σ₁^{2(L-1)/L} (dense Hessian), every product ‖A_l‖‖B_l‖ equals
    σ₁^{(L-1)/L}, and every conserved matrix vanishes."""
    M = low_rank(4, 4, 2, 20 + depth)
    s1 = np.linalg.norm(M, 2)
    P = DeepFactorization(M, 2, depth)
    Ws = balanced_factors(M, 2, depth)
    z = P.pack(Ws)
    assert np.linalg.eigvalsh(P.hess(z))[-1] == pytest.approx(depth * s1 ** (2 * (depth - 1) / depth), rel=1e-10)
    np.testing.assert_allclose(spectral_norm_products(Ws), s1 ** ((depth - 1) / depth), rtol=1e-12)
    assert np.abs(P.charges(z)).max() < 1e-12


def test_tie_interval_is_the_spectral_norm_balanced_set():
    """Depth 2, rank 2: scaling column 2 of the balanced pair by c (X e_2 -> c X e_2, Y e_2 -> Y e_2/c)
    keeps λ_max = 2σ₁ (dense Hessian, to 1e-10) exactly for c² ∈ [σ₂/σ₁, σ₁/σ₂], where
    ‖X‖₂² = ‖Y‖₂² = σ₁; outside, λ_max = ‖X‖₂² + ‖Y‖₂² > 2σ₁."""
    M = low_rank(5, 4, 2, 30)
    s = np.linalg.svd(M, compute_uv=False)
    lo, hi = np.sqrt(s[1] / s[0]), np.sqrt(s[0] / s[1])
    P = DeepFactorization(M, 2, 2)
    Wb = balanced_factors(M, 2, 2)
    for c in (0.5 * lo, 0.98 * lo, 1.02 * lo, 1.0, 0.99 * hi, 1.01 * hi, 2 * hi):
        Ws = transform_factors(Wb, [[1.0, c]])
        lam = np.linalg.eigvalsh(P.hess(P.pack(Ws)))[-1]
        nX, nY = np.linalg.norm(Ws[1], 2) ** 2, np.linalg.norm(Ws[0], 2) ** 2
        inside = lo <= c <= hi
        assert (abs(lam - 2 * s[0]) < 1e-10 * s[0]) == inside, c
        assert (abs(nX - s[0]) < 1e-10 * s[0] and abs(nY - s[0]) < 1e-10 * s[0]) == inside, c
        assert lam == pytest.approx(nX + nY, rel=1e-10)


def test_equal_spectral_norms_alone_are_not_flat():
    """σ₁ = σ₂ = 2 and a shear G = [[1, 0.8], [0, 1]]: ‖X G‖₂ = ‖Y G^{-ᵀ}‖₂ (equal products) but both
    exceed √σ₁, and λ_max > 2σ₁: the level σ₁^{(L-1)/L} is part of the flatness condition."""
    g = np.random.default_rng(0)
    U, _ = np.linalg.qr(g.standard_normal((4, 2)))
    V, _ = np.linalg.qr(g.standard_normal((3, 2)))
    M = 2.0 * U @ V.T
    P = DeepFactorization(M, 2, 2)
    Ws = transform_factors(balanced_factors(M, 2, 2), [np.array([[1.0, 0.8], [0.0, 1.0]])])
    prods = spectral_norm_products(Ws)
    assert prods[0] == pytest.approx(prods[1], rel=1e-12) and prods[0] > np.sqrt(2.0) * 1.1
    assert np.linalg.eigvalsh(P.hess(P.pack(Ws)))[-1] > 4.0 * 1.5


def test_deep_factorization_validation():
    with pytest.raises(ValueError, match="depth"):
        DeepFactorization(np.eye(2), 2, 1)
    P = DeepFactorization(np.eye(2), 2, 3)
    with pytest.raises(ValueError, match="Ws"):
        P.pack([np.eye(2), np.eye(2)])
    with pytest.raises(ValueError, match="not a global minimizer"):
        P.lambda_max_at_minimizer(np.ones(P.n))
    with pytest.raises(ValueError, match="k must be"):
        P.sample_grad(np.ones(P.n), 4)
    with pytest.raises(ValueError, match="x"):
        P.f(np.ones(P.n + 1))


# --------------------------------------------------------------------------- diagonal linear network
def test_diagonal_network_derivatives():
    X, y, _ = sparse_regression(6, 9, 2, rng=1)
    net = DiagonalLinearNetwork(X, y)
    g = np.random.default_rng(2)
    z, w = g.standard_normal(net.n), g.standard_normal(net.n)
    h = 1e-6
    fd = np.array([(net.f(z + h * e) - net.f(z - h * e)) / (2 * h) for e in np.eye(net.n)])
    np.testing.assert_allclose(net.grad(z), fd, atol=1e-6 * np.abs(fd).max())
    fdh = (net.grad(z + h * w) - net.grad(z - h * w)) / (2 * h)
    np.testing.assert_allclose(net.hvp(z, w), fdh, atol=1e-6 * np.abs(fdh).max())


def test_gradient_flow_reaches_the_implicit_bias_solution():
    """Woodworth et al. (2020): from u = v = α𝟙 the gradient flow interpolates at
    argmin Q_α(β) s.t. Xβ = y. The flow (LSODA, tight tolerances) and the dual Newton solve agree to 1e-5;
    the solution is an interpolator and of the form 2α² sinh(Xᵀμ). Catches a wrong constant in the
    potential (e.g. α instead of α², or sinh(Xᵀμ/2))."""
    X, y, _ = sparse_regression(5, 8, 2, rng=3)
    net = DiagonalLinearNetwork(X, y)
    for alpha in (0.3, 1.0):
        b = gd_implicit_bias(X, y, alpha)
        np.testing.assert_allclose(X @ b, y, atol=1e-10)
        mu = np.linalg.lstsq(X.T, np.arcsinh(b / (2 * alpha ** 2)), rcond=None)[0]
        np.testing.assert_allclose(X.T @ mu, np.arcsinh(b / (2 * alpha ** 2)), atol=1e-8)
        flow = gradient_flow(net.grad, net.init(alpha), (0.0, 4000.0), t_eval=[0.0, 4000.0], rtol=1e-11,
                             atol=1e-13)
        assert net.f(flow.x_final) < 1e-18
        np.testing.assert_allclose(net.beta(flow.x_final), b, atol=1e-5)


def test_implicit_bias_tends_to_min_l1_for_small_alpha():
    """Q_α ~ ‖β‖₁ log(1/α²) as α -> 0: the implicit-bias solution's ℓ1 norm approaches the LP minimum,
    and the LP's solution is checked against the best basic feasible solution (all supports of size N)."""
    from itertools import combinations

    X, y, _ = sparse_regression(3, 7, 1, rng=5)
    best = min(np.abs(sol).sum() for S in combinations(range(7), 3)
               for sol in [np.zeros(7)] if np.linalg.matrix_rank(X[:, S]) == 3
               for _ in [sol.__setitem__(list(S), np.linalg.solve(X[:, S], y))])
    l1 = min_l1_interpolator(X, y)
    assert np.abs(l1).sum() == pytest.approx(best, rel=1e-9)
    np.testing.assert_allclose(X @ l1, y, atol=1e-9)
    gap = [np.abs(gd_implicit_bias(X, y, a)).sum() / best - 1 for a in (1.0, 0.1, 1e-3)]
    assert gap[0] > gap[1] > gap[2] >= -1e-9 and gap[2] < 0.01


def test_diagonal_network_validation():
    with pytest.raises(ValueError, match="y"):
        DiagonalLinearNetwork(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="X"):
        DiagonalLinearNetwork(np.full((3, 2), np.inf), np.ones(3))
    with pytest.raises(ValueError, match="alpha"):
        DiagonalLinearNetwork(np.ones((1, 2)), np.ones(1)).init(0.0)
    with pytest.raises(ValueError, match="full row rank"):
        gd_implicit_bias(np.ones((2, 3)), np.ones(2), 1.0)


# --------------------------------------------------------------------------- bad input names the argument
@pytest.mark.parametrize("call, exc, word", [
    (lambda: normalized_gradient_descent(lambda x: np.ones(3), [1.0, 2.0], 0.1, 5), ValueError, "grad"),
    (lambda: normalized_gradient_descent(scalar_grad, [1.0, 2.0], 0.1, 5, record_every=0), ValueError, "record_every"),
    (lambda: normalized_gradient_descent(scalar_grad, [1.0, 2.0], 0.1, 5, gtol=-1.0), ValueError, "gtol"),
    (lambda: normalized_gradient_descent(scalar_grad, [1.0, 2.0], 0.1, 5, blowup=-1.0), ValueError, "blowup"),
    (lambda: normalized_gradient_descent(scalar_grad, "ab", 0.1, 5), TypeError, "x0"),
    (lambda: normalized_gradient_descent(scalar_grad, [1.0, 2.0], [0.1, 0.2], 5), ValueError, "step"),
    (lambda: sam(lambda x: np.array([np.nan, 0.0]), [1.0, 2.0], 0.1, 0.1, 5), ValueError, "grad"),
    (lambda: sam(scalar_grad, [1.0, 2.0], np.inf, 0.1, 5), ValueError, "step"),
    (lambda: sam(scalar_grad, [1.0, 2.0], 0.1, 0.1, 5, inner="exact", f=lambda x: np.nan), ValueError, "f"),
    (lambda: sam(scalar_grad, [1.0, 2.0], 0.1, 0.1, 5, inner="exact", f=lambda x: "a"), TypeError, "f"),
    (lambda: sam(scalar_grad, [1.0, 2.0], 0.1, 0.1, 5, inner="exact", f=lambda x: 0.0, n_starts=-1), ValueError,
     "n_starts"),
    (lambda: stochastic_sam(lambda x, i: x, 0, [1.0], 0.1, 0.1, 5), ValueError, "n_samples"),
    (lambda: stochastic_sam(lambda x, i: np.ones(2), 3, [1.0], 0.1, 0.1, 5), ValueError, "sample_grad"),
    (lambda: stochastic_sam(lambda x, i: np.array([np.nan]), 3, [1.0], 0.1, 0.1, 5), ValueError, "sample_grad"),
    (lambda: stochastic_sam(lambda x, i: x, 3, [1.0], 0.1, 0.1, 5, rng=-1), ValueError, "rng"),
    (lambda: track_lambda_max(lambda x, v: v, np.zeros((1, 30)), mix=-0.1), ValueError, "mix"),
    (lambda: track_lambda_max(lambda x, v: v, [["a", "b", "c"]]), TypeError, "xs"),
    (lambda: track_lambda_max(lambda x, v: v, np.zeros((2, 3)), hess=lambda x: np.eye(2)), ValueError, "hess"),
    (lambda: DeepFactorization([[1.0, np.nan]], 1, 2), ValueError, "M"),
    (lambda: DeepFactorization(np.eye(2), 0, 2), ValueError, "rank"),
    (lambda: transform_factors(balanced_factors(np.eye(2), 2, 2), [np.zeros((2, 2))]), ValueError, "Gs"),
    (lambda: transform_factors(balanced_factors(np.eye(2), 2, 2), []), ValueError, "Gs"),
    (lambda: lambda_max_at_minimizer([np.ones((2, 3)), np.ones((2, 4))]), ValueError, "Ws"),
    (lambda: DiagonalLinearNetwork(np.eye(2), [1.0, 0.0]).sample_grad(np.ones(4), 2), ValueError, "i"),
    (lambda: DiagonalLinearNetwork(np.eye(2), [1.0, 0.0]).f(np.ones(3)), ValueError, "x"),
    (lambda: sparse_regression(5, 3, 4), ValueError, "sparsity"),
])
def test_bad_input_raises_naming_the_argument(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
