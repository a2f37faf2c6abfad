"""flatlib.curvature, MLP.hvp on blocks and FactoredMatrixFactorization: correctness only.

References are independent of the code under test: operators with a spectrum chosen by the
test (``Q diag(λ) Qᵀ``), dense ``eigvalsh`` of Hessians assembled column by column from the
single-vector HVP, closed forms (matrix factorization, ReLU rescaling), scipy's Wasserstein
distance.  Speed lives in ``benchmarks/bench_curvature.py``.
"""
import numpy as np
import pytest
import scipy.stats

from flatlib.curvature import (block_hvp, block_measures, deflated_hutchinson, hessian_diagonal,
                               hessian_topk, hutchinson, hutchpp, spectral_density, wasserstein1)
from flatlib.networks import MLP
from flatlib.problems import FactoredMatrixFactorization, MatrixFactorization
from flatlib.problems.matrix_factorization import hessian_spectrum_balanced


def operator(lam, seed=0):
    """``H = Q diag(lam) Qᵀ`` with a Haar-random ``Q``; returns (H, batched hvp)."""
    lam = np.asarray(lam, dtype=float)
    Q = np.linalg.qr(np.random.default_rng(seed).standard_normal((lam.size, lam.size)))[0]
    H = (Q * lam) @ Q.T
    H = 0.5 * (H + H.T)
    return H, (lambda x, V: H @ V)


def explicit_residuals(H, res):
    Y = res.eigenvectors
    return np.linalg.norm(H @ Y - Y * res.eigenvalues, axis=0)


SPECTRUM = np.r_[np.linspace(10.0, 6.0, 8), np.linspace(3.0, -2.0, 392)]


# ---------------------------------------------------------------------------- top-k
@pytest.mark.parametrize("block_size", [1, 3])
def test_topk_matches_known_spectrum_with_exact_residuals(block_size):
    # catches: wrong Ritz ordering, a residual formula that is not ‖Hy - θy‖, lost orthogonality
    H, hv = operator(SPECTRUM)
    res = hessian_topk(hv, np.zeros(400), k=8, tol=1e-10, block_size=block_size, batched=True, rng=1)
    assert res.all_converged and res.method == "lanczos"
    np.testing.assert_allclose(res.eigenvalues, SPECTRUM[:8], rtol=1e-10)
    np.testing.assert_allclose(res.residuals, explicit_residuals(H, res), rtol=0, atol=1e-12 * 10)
    assert np.all(res.residuals <= 1e-10 * np.abs(res.eigenvalues))
    np.testing.assert_allclose(res.eigenvectors.T @ res.eigenvectors, np.eye(8), atol=1e-12)
    # the basis is orthonormal and `projected` is its Rayleigh quotient
    V = res.basis
    np.testing.assert_allclose(V.T @ V, np.eye(V.shape[1]), atol=1e-12)
    np.testing.assert_allclose(res.projected, V.T @ H @ V, atol=1e-10)


def test_topk_thick_restart_and_unbatched_hvp():
    # a basis of 14 vectors for k = 8 forces many restarts; a broken restart (lost coupling,
    # wrong kept vectors) returns wrong values or stalls at the budget
    H, _ = operator(SPECTRUM, seed=3)
    res = hessian_topk(lambda x, v: H @ v, np.zeros(400), k=8, tol=1e-9, max_basis=14, rng=0)
    assert res.n_restarts > 3 and res.all_converged
    np.testing.assert_allclose(res.eigenvalues, SPECTRUM[:8], rtol=1e-9)
    assert np.all(explicit_residuals(H, res) <= 1.01e-9 * np.abs(res.eigenvalues) + 1e-13)


def test_topk_smallest_and_arpack():
    H, hv = operator(SPECTRUM, seed=4)
    lo = hessian_topk(hv, np.zeros(400), k=3, which="SA", tol=1e-10, batched=True)
    np.testing.assert_allclose(lo.eigenvalues, np.sort(SPECTRUM)[:3], rtol=1e-9)
    ar = hessian_topk(hv, np.zeros(400), k=5, tol=1e-10, method="arpack", batched=True)
    np.testing.assert_allclose(ar.eigenvalues, SPECTRUM[:5], rtol=1e-9)
    np.testing.assert_allclose(ar.residuals, explicit_residuals(H, ar), atol=1e-12)
    assert ar.n_hvp_verify == 5


def test_topk_block_resolves_multiplicity():
    lam = np.r_[7.0, 7.0, 7.0, np.linspace(0.0, 5.0, 197)]
    H, hv = operator(lam, seed=5)
    blk = hessian_topk(hv, np.zeros(200), k=4, block_size=3, tol=1e-10, batched=True)
    np.testing.assert_allclose(blk.eigenvalues, [7.0, 7.0, 7.0, 5.0], rtol=1e-9)


def test_topk_resume_reuses_basis():
    H, hv = operator(SPECTRUM, seed=6)
    first = hessian_topk(hv, np.zeros(400), k=3, tol=1e-10, batched=True)
    more = hessian_topk(hv, np.zeros(400), k=6, tol=1e-10, batched=True, resume=first)
    np.testing.assert_allclose(more.eigenvalues, SPECTRUM[:6], rtol=1e-10)
    assert more.n_hvp > first.n_hvp          # counts are cumulative
    again = hessian_topk(hv, np.zeros(400), k=3, tol=1e-10, batched=True, resume=more)
    assert again.n_hvp == more.n_hvp          # already converged: no new product
    np.testing.assert_allclose(explicit_residuals(H, more), more.residuals, atol=1e-12)


def test_topk_callback_and_budget():
    H, hv = operator(SPECTRUM, seed=7)
    seen = []
    res = hessian_topk(hv, np.zeros(400), k=4, tol=1e-12, batched=True,
                       callback=lambda n, v, r: seen.append(n) or n >= 10)
    assert res.n_hvp == 10 and seen[-1] == 10 and "callback" in res.message
    res = hessian_topk(hv, np.zeros(400), k=8, tol=1e-14, batched=True, max_hvp=12)
    assert res.n_hvp == 12 and not res.all_converged


def small_net(widths=(5, 6, 4, 3), N=40, loss="cross_entropy", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, widths[0]))
    y = rng.integers(0, widths[-1], N) if loss == "cross_entropy" else rng.standard_normal((N, widths[-1]))
    net = MLP(widths, X, y, loss=loss)
    return net, net.init(seed) + 0.1 * rng.standard_normal(net.n)


def dense_from_single(net, theta):
    E = np.eye(net.n)
    H = np.column_stack([net.hvp(theta, E[:, i]) for i in range(net.n)])
    return 0.5 * (H + H.T)


def test_topk_on_network_against_dense_eigvalsh():
    net, theta = small_net(widths=(8, 12, 10, 4), N=60)
    H = dense_from_single(net, theta)
    ev = np.linalg.eigvalsh(H)[::-1]
    res = hessian_topk(net.hvp, theta, k=6, tol=1e-10, batched=True, block_size=2, rng=0)
    assert res.method == "lanczos"
    np.testing.assert_allclose(res.eigenvalues, ev[:6], rtol=1e-8)
    np.testing.assert_allclose(res.residuals, explicit_residuals(H, res), atol=1e-11 * ev[0])


def test_topk_small_dimension_is_dense_and_inputs_checked():
    H, hv = operator([3.0, 1.0, -2.0, 0.5])
    res = hessian_topk(hv, np.zeros(4), k=2, batched=True)
    assert res.method == "assembled"
    np.testing.assert_allclose(res.eigenvalues, [3.0, 1.0], rtol=1e-12)
    with pytest.raises(ValueError, match="k must be"):
        hessian_topk(hv, np.zeros(4), k=5, batched=True)
    with pytest.raises(ValueError, match="which"):
        hessian_topk(hv, np.zeros(4), k=1, which="LM")
    with pytest.raises(TypeError, match="hvp"):
        hessian_topk(3.0, np.zeros(4), k=1)
    with pytest.raises(ValueError, match="tol"):
        hessian_topk(hv, np.zeros(4), k=1, tol=-1.0)
    with pytest.raises(ValueError, match="hvp"):
        hessian_topk(lambda x, v: np.full(400, np.nan), np.zeros(400), k=1)
    with pytest.raises(ValueError, match="hvp"):
        hessian_topk(lambda x, v: np.ones(3), np.zeros(400), k=1)
    with pytest.raises(ValueError, match="x"):
        hessian_topk(hv, [0.0, np.inf, 0.0, 0.0], k=1)
    with pytest.raises(TypeError, match="hvp"):
        hessian_topk(lambda x, v: 1j * v, np.zeros(400), k=1)
    with pytest.raises(TypeError, match="hvp"):
        hutchpp(lambda x, v: "abc", np.zeros(400), n_hvp=6)


# ---------------------------------------------------------------------------- traces
LOW_RANK = np.r_[np.arange(5.0, 0.0, -1.0), np.zeros(295)]


def test_hutchpp_exact_on_low_rank():
    # the sketch of 10 vectors captures the range of a rank-5 matrix: the estimate is exact;
    # an implementation that forgets to project the probes double-counts the head
    H, hv = operator(LOW_RANK, seed=8)
    for seed in range(3):
        est = hutchpp(hv, np.zeros(300), n_hvp=30, batched=True, rng=seed)
        assert abs(est.value - 15.0) < 1e-9 and est.n_hvp == 30


def test_deflated_exact_when_krylov_space_contains_range():
    # rank 5 with distinct eigenvalues: 6 Lanczos steps span the range, P H P = 0
    H, hv = operator(LOW_RANK, seed=9)
    est = deflated_hutchinson(hv, np.zeros(300), 4, n_lanczos=6, batched=True, rng=1)
    assert abs(est.value - 15.0) < 1e-9 and est.n_hvp == 10


@pytest.mark.parametrize("method", ["hutchinson", "hutch++", "deflated", "deflated-topk"])
def test_trace_estimators_unbiased(method):
    # mean of 300 independent estimates within 4 standard errors of the exact trace
    # (deterministic seeds; a biased estimator, e.g. unprojected probes, is off by many)
    lam = np.r_[50.0, 30.0, 20.0, np.random.default_rng(2).uniform(-1.0, 2.0, 117)]
    H, hv = operator(lam, seed=10)
    x = np.zeros(lam.size)
    top = hessian_topk(hv, x, k=2, tol=1e-3, batched=True)
    vals = []
    for s in range(300):
        if method == "hutchinson":
            vals.append(hutchinson(hv, x, n_hvp=6, batched=True, rng=s).value)
        elif method == "hutch++":
            vals.append(hutchpp(hv, x, n_hvp=6, batched=True, rng=s).value)
        elif method == "deflated":
            vals.append(deflated_hutchinson(hv, x, 3, n_lanczos=2, batched=True, rng=s).value)
        else:
            vals.append(deflated_hutchinson(hv, x, 3, top, batched=True, rng=s).value)
    vals = np.array(vals)
    se = vals.std(ddof=1) / np.sqrt(vals.size)
    assert abs(vals.mean() - lam.sum()) < 4 * se + 1e-9


def test_exact_diagonal_and_trace_of_network_and_factorization():
    # network: the batched diagonal against the dense Hessian built from single-vector products
    net, theta = small_net()
    H = dense_from_single(net, theta)
    d = hessian_diagonal(net.hvp, theta, batched=True, block=7)
    np.testing.assert_allclose(d, np.diag(H), rtol=1e-10, atol=1e-14)
    # factorization: closed-form trace n‖X‖² + m‖Y‖² at an arbitrary point
    p = FactoredMatrixFactorization.with_singular_values(30, 20, [3.0, 2.0, 1.0], rank=2, rng=0)
    z = np.random.default_rng(1).standard_normal(p.n)
    X, Y = p.unpack(z)
    closed = 20 * np.sum(X * X) + 30 * np.sum(Y * Y)
    assert abs(hessian_diagonal(p.hvp, z).sum() - closed) < 1e-10 * closed
    sub = np.array([0, 5, 59, 60, 99])
    assert np.allclose(hessian_diagonal(p.hvp, z, index=sub),
                       np.where(sub < 60, np.diag(Y.T @ Y)[sub % 2], np.diag(X.T @ X)[sub % 2]))


def test_trace_inputs_checked():
    H, hv = operator(LOW_RANK)
    with pytest.raises(ValueError, match="n_hvp"):
        hutchpp(hv, np.zeros(300), n_hvp=3, batched=True)
    with pytest.raises(ValueError, match="n_hvp"):
        hutchinson(hv, np.zeros(300), n_hvp=1, batched=True)
    with pytest.raises(TypeError, match="eig"):
        deflated_hutchinson(hv, np.zeros(300), 4, eig="top", batched=True)
    with pytest.raises(ValueError, match="n_probes"):
        deflated_hutchinson(hv, np.zeros(300), 1, n_lanczos=3, batched=True)


# ---------------------------------------------------------------------------- SLQ
def test_slq_exact_measure_with_enough_steps():
    # diagonal H and Rademacher probes: (uᵀe_i)² = 1/n, so once the Krylov space is invariant
    # (4 distinct eigenvalues) the SLQ measure *is* the spectral measure
    lam = np.repeat([-1.0, 0.5, 2.0, 9.0], [40, 30, 20, 10])
    res = spectral_density(lambda x, v: lam * v, np.zeros(100), n_steps=20, n_vectors=3, rng=4)
    pts, mass = res.atoms()
    assert wasserstein1(pts, mass, lam) < 1e-12
    assert res.n_hvp == 3 * 4                  # every run stopped at the invariant subspace


def test_slq_within_gauss_quadrature_bound():
    # diagonal H with 500 distinct eigenvalues: the probe measure equals the spectral measure,
    # so W1(SLQ, spectrum) <= π(b - a)/(4m) (Jackson, degree 2m - 1); uniform weights or the
    # last (instead of first) eigenvector components violate it by far
    lam = np.sort(np.random.default_rng(0).gamma(0.5, 2.0, 500))
    for m in (5, 10, 20):
        res = spectral_density(lambda x, V: lam[:, None] * V, np.zeros(500), n_steps=m, batched=True, rng=m)
        pts, mass = res.atoms()
        assert abs(mass.sum() - 1.0) < 1e-12
        assert wasserstein1(pts, mass, lam) <= np.pi * (lam[-1] - lam[0]) / (4 * m)


def test_density_is_the_gaussian_mixture():
    lam = np.repeat([0.0, 1.0], [3, 1])
    res = spectral_density(lambda x, v: lam * v, np.zeros(4), n_steps=4, rng=0)
    sigma = 0.1
    t = np.array([0.0, 0.5, 1.0])
    want = (0.75 * np.exp(-t ** 2 / (2 * sigma ** 2)) + 0.25 * np.exp(-(t - 1) ** 2 / (2 * sigma ** 2))) \
        / (sigma * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(res.density(t, sigma), want, rtol=1e-10, atol=1e-14)
    grid = np.linspace(-1.0, 2.0, 30001)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    assert abs(trapezoid(res.density(grid, sigma), grid) - 1.0) < 1e-6
    with pytest.raises(ValueError, match="sigma"):
        res.density(t, 0.0)


def test_wasserstein1_against_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(17), rng.uniform(-1, 3, 9)
    wa, wb = rng.uniform(0, 1, 17), rng.uniform(0, 1, 9)
    assert abs(wasserstein1(a, wa, b, wb) - scipy.stats.wasserstein_distance(a, b, wa, wb)) < 1e-12
    with pytest.raises(ValueError, match="b_weights"):
        wasserstein1(a, None, b, -wb)


# ---------------------------------------------------------------------------- blocks / layers
def layer_blocks(net):
    ids = np.arange(net.n, dtype=float)
    return {f"layer{l}": np.concatenate([W.ravel(), b]).astype(int)
            for l, (W, b) in enumerate(net.layers(ids), start=1)}


def test_block_hvp_and_measures_against_dense_block():
    net, theta = small_net(widths=(6, 7, 5, 3), N=50)
    H = dense_from_single(net, theta)
    blocks = layer_blocks(net)
    for batched in (True, False):
        out = block_measures(net.hvp, theta, blocks, batched=batched, tol=1e-12)
        for name, idx in blocks.items():
            Hb = H[np.ix_(idx, idx)]
            hb = block_hvp(net.hvp, idx, net.n, batched=batched)
            u = np.random.default_rng(0).standard_normal((idx.size, 3))
            np.testing.assert_allclose(hb(theta, u), Hb @ u, rtol=1e-10, atol=1e-13)
            assert abs(out[name].lambda_max - np.linalg.eigvalsh(Hb)[-1]) < 1e-9 * np.abs(Hb).max()
            assert out[name].trace_exact and abs(out[name].trace - np.trace(Hb)) < 1e-10 * np.abs(Hb).max() * idx.size


def test_block_max_variation_on_a_quadratic_block():
    # f = ½ zᵀHz: on the block {0, 1} at z = 0, f°(r) = λ_max(H_II) r² / 2 exactly
    H = np.array([[4.0, 1.0, 3.0], [1.0, 2.0, 0.0], [3.0, 0.0, 9.0]])
    out = block_measures(lambda z, v: H @ v, np.zeros(3), {"I": [0, 1]}, f=lambda z: 0.5 * z @ H @ z,
                         grad=lambda z: H @ z, radius=[0.1, 1.0])
    lam = np.linalg.eigvalsh(H[:2, :2])[-1]
    np.testing.assert_allclose(out["I"].max_variation, 0.5 * lam * np.array([0.01, 1.0]), rtol=1e-8)


def test_per_layer_measures_under_rescaling_and_balancing():
    net, theta = small_net(widths=(4, 5, 3), N=30)
    blocks = {"in": layer_blocks(net)["layer1"],                  # W1 and b1
              "out_w": np.arange(net.n - 3 * 5 - 3, net.n - 3)}    # W2 only
    base = block_measures(net.hvp, theta, blocks, tol=1e-12)
    # closed form: scaling every hidden neuron by c divides the incoming block's Hessian by c²
    # and multiplies the outgoing weights' block by c² (the function is unchanged)
    c = 3.0
    scaled = block_measures(net.hvp, net.rescale(theta, np.full(5, c)), blocks, tol=1e-12)
    assert abs(scaled["in"].lambda_max - base["in"].lambda_max / c ** 2) < 1e-9 * base["in"].lambda_max
    assert abs(scaled["in"].trace - base["in"].trace / c ** 2) < 1e-9 * abs(base["in"].trace)
    assert abs(scaled["out_w"].lambda_max - base["out_w"].lambda_max * c ** 2) < 1e-9 * scaled["out_w"].lambda_max
    # random rescalings T: raw measures move, measures at balance(Tθ) equal those at balance(θ)
    bal = block_measures(net.hvp, net.balance(theta), blocks, f=net.f, grad=net.grad, radius=0.2, tol=1e-12)
    moved = 0
    for seed in range(3):
        T = net.rescale(theta, net.random_scales(seed))
        raw = block_measures(net.hvp, T, blocks, tol=1e-12)
        moved += abs(raw["in"].lambda_max / base["in"].lambda_max - 1) > 0.1
        other = block_measures(net.hvp, net.balance(T), blocks, f=net.f, grad=net.grad, radius=0.2, tol=1e-12)
        for k in blocks:
            assert abs(other[k].lambda_max - bal[k].lambda_max) < 1e-8 * bal[k].lambda_max
            assert abs(other[k].trace - bal[k].trace) < 1e-8 * abs(bal[k].trace)
            assert abs(other[k].max_variation - bal[k].max_variation) < 1e-6 * bal[k].max_variation
    assert moved >= 2


def test_block_inputs_checked():
    with pytest.raises(ValueError, match="index"):
        block_hvp(lambda x, v: v, [0, 5], 3)
    with pytest.raises(ValueError, match="repeated"):
        block_hvp(lambda x, v: v, [1, 1], 3)
    with pytest.raises(TypeError, match="blocks"):
        block_measures(lambda x, v: v, np.zeros(3), [0, 1])
    with pytest.raises(TypeError, match="f"):
        block_measures(lambda x, v: v, np.zeros(3), {"a": [0]}, radius=0.1)


# ---------------------------------------------------------------------------- batched MLP.hvp
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("widths", [(3, 2), (5, 6, 4, 3), (4, 3, 3, 3, 2)])
def test_mlp_block_hvp_equals_columns(widths, loss):
    net, theta = small_net(widths=widths, N=25, loss=loss)
    V = np.random.default_rng(1).standard_normal((net.n, 5))
    cols = np.column_stack([net.hvp(theta, c) for c in V.T])
    np.testing.assert_allclose(net.hvp(theta, V), cols, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="v"):
        net.hvp(theta, np.ones((net.n + 1, 2)))
    with pytest.raises(ValueError, match="v"):
        net.hvp(theta, np.full((net.n, 2), np.nan))


def test_mlp_block_hvp_across_chunks():
    # N * width large enough that the columns go in several chunks
    rng = np.random.default_rng(0)
    net = MLP((10, 300, 4), rng.standard_normal((600, 10)), rng.integers(0, 4, 600))
    theta = net.init(0)
    V = rng.standard_normal((net.n, 5))
    cols = np.column_stack([net.hvp(theta, c) for c in V.T])
    np.testing.assert_allclose(net.hvp(theta, V), cols, rtol=1e-11, atol=1e-13)


# ---------------------------------------------------------------------------- factored factorization
def test_factored_matches_dense_matrix_factorization():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((9, 3)), rng.standard_normal((7, 3))
    p = FactoredMatrixFactorization(A, B, 2)
    q = MatrixFactorization(A @ B.T, 2)
    z = rng.standard_normal(p.n)
    assert abs(p.f(z) - q.f(z)) < 1e-10 * q.f(z)
    np.testing.assert_allclose(p.grad(z), q.grad(z), rtol=1e-10, atol=1e-12)
    V = rng.standard_normal((p.n, 4))
    np.testing.assert_allclose(p.hvp(z, V), np.column_stack([q.hvp(z, c) for c in V.T]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p.singular_values(), np.linalg.svd(A @ B.T, compute_uv=False)[:3], rtol=1e-12)
    # Eckart–Young (rank M = 3 > r = 2): the closed-form spectrum equals the dense one
    X, Y = p.balanced_factors()
    zb = p.pack(X, Y)
    np.testing.assert_allclose(p.balanced_eigenvalues(), hessian_spectrum_balanced(A @ B.T, 2), atol=1e-10)
    np.testing.assert_allclose(p.balanced_eigenvalues(), np.linalg.eigvalsh(q.hess(zb))[::-1], atol=1e-9)


def test_factored_f_has_no_cancellation_at_the_minimum():
    # ½‖XYᵀ‖² - <XYᵀ, M> + ½‖M‖² would lose every digit here (‖M‖² = 1e16): moving Y[0, 1]
    # by t from the balanced point gives XYᵀ - M = t X[:, 1] e_0ᵀ, so f = ½ t² σ₂ exactly
    p = FactoredMatrixFactorization.with_singular_values(50, 40, [1e8, 1.0], rng=0)
    X, Y = p.balanced_factors()
    z = p.pack(X, Y)
    assert p.f(z) < 1e-12
    t = 1e-3
    e = np.zeros(p.n)
    e[50 * 2 + 1] = t
    # rounding of [X, A][Y, -B]ᵀ is ~ ε ‖M‖ = 1e-8 against a residual of size t: 1e-5 relative
    assert abs(p.f(z + e) - 0.5 * t ** 2) < 1e-5 * 0.5 * t ** 2
    Xe, Ye = p.unpack(z + e)
    naive = 0.5 * (np.sum((Xe.T @ Xe) * (Ye.T @ Ye)) - 2 * np.sum((Xe.T @ p.A) * (Ye.T @ p.B))
                   + np.sum((p.A.T @ p.A) * (p.B.T @ p.B)))
    assert abs(naive - 0.5 * t ** 2) > 1e3 * 0.5 * t ** 2      # what the Gram-matrix formula gives


def test_factored_balanced_closed_forms_at_moderate_size():
    sigma = 10.0 * 0.8 ** np.arange(4)
    p = FactoredMatrixFactorization.with_singular_values(3000, 2000, sigma, rng=1)
    X, Y = p.balanced_factors()
    z = p.pack(X, Y)
    assert p.f(z) < 1e-20 and np.linalg.norm(p.grad(z)) < 1e-10
    np.testing.assert_allclose(X.T @ X, np.diag(sigma), atol=1e-11)
    np.testing.assert_allclose(Y.T @ Y, np.diag(sigma), atol=1e-11)
    top = hessian_topk(p.hvp, z, k=7, tol=1e-11, block_size=2, batched=True, rng=0)
    # σ_i + σ_j over ordered pairs, and σ_i (multiplicity m + n - 2r); the zeros are below
    closed = np.sort(np.r_[(sigma[:, None] + sigma[None, :]).ravel(), sigma])[::-1][:7]
    np.testing.assert_allclose(p.balanced_eigenvalues(7), closed, rtol=1e-12)
    np.testing.assert_allclose(top.eigenvalues, closed, rtol=1e-10)
    assert abs(p.hessian_trace(z) - 5000 * sigma.sum()) < 1e-9 * 5000 * sigma.sum()
    assert p.lambda_max_balanced() == pytest.approx(2 * sigma[0], rel=1e-14)


def test_factored_inputs_checked():
    with pytest.raises(ValueError, match="columns"):
        FactoredMatrixFactorization(np.ones((3, 2)), np.ones((4, 3)), 1)
    with pytest.raises(ValueError, match="rank"):
        FactoredMatrixFactorization(np.ones((3, 2)), np.ones((4, 2)), 4)
    p = FactoredMatrixFactorization(np.ones((3, 1)), np.ones((2, 1)), 1)
    with pytest.raises(ValueError, match="v"):
        p.hvp(np.zeros(5), np.ones(4))
    with pytest.raises(ValueError, match="z"):
        p.f(np.full(5, np.nan))
