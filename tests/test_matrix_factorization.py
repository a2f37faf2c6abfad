"""Matrix factorization f(X, Y) = ½||XYᵀ - M||²_F: balanced minima are the flat minima."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from scipy.optimize import minimize

from flatlib.problems.matrix_factorization import (
    MatrixFactorization,
    balanced_factors,
    conserved_matrix,
    hessian_spectrum_balanced,
    hessian_trace_global_min,
    is_balanced,
    orbit_point,
    random_global_min,
    trace_flat_factors,
)
from flatlib.spectral import hessian_lambda_max, hessian_trace


def low_rank(m, n, k, seed=0):
    g = np.random.default_rng(seed)
    return g.standard_normal((m, k)) @ g.standard_normal((n, k)).T


def paper_M_section3():
    """The M behind the numbers quoted for m=5, n=3, r=2 (identified by search:
    A, B standard normal from default_rng(0), A drawn first)."""
    g = np.random.default_rng(0)
    A = g.standard_normal((5, 2))
    B = g.standard_normal((3, 2))
    return A @ B.T


def random_G(r, seed, spread=1.0):
    g = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(g.standard_normal((r, r)))
    Q2, _ = np.linalg.qr(g.standard_normal((r, r)))
    return (Q1 * np.exp(spread * g.standard_normal(r))) @ Q2


SHAPES = [(3, 3, 1, 1), (4, 3, 2, 2), (5, 3, 2, 2), (5, 4, 3, 3), (3, 5, 2, 2),
          (6, 4, 2, 4), (4, 6, 3, 4), (7, 5, 3, 1), (2, 2, 2, 2)]


# ----------------------------------------------------------------------- oracle
@pytest.mark.parametrize("m,n,r", [(3, 2, 1), (4, 3, 2), (5, 6, 3)])
def test_grad_and_hvp_against_finite_differences(m, n, r):
    rng = np.random.default_rng(m * 100 + n * 10 + r)
    P = MatrixFactorization(rng.standard_normal((m, n)), r)
    z = rng.standard_normal(P.n)
    v = rng.standard_normal(P.n)
    h = 1e-6
    fd = np.array([(P.f(z + h * e) - P.f(z - h * e)) / (2 * h) for e in np.eye(P.n)])
    np.testing.assert_allclose(P.grad(z), fd, rtol=1e-6, atol=1e-6)
    fd_hvp = (P.grad(z + h * v) - P.grad(z - h * v)) / (2 * h)
    np.testing.assert_allclose(P.hvp(z, v), fd_hvp, rtol=1e-6, atol=1e-6)
    H = P.hess(z)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    np.testing.assert_allclose(H @ v, P.hvp(z, v), atol=1e-10)
    # the residual cache never serves a stale value
    z2 = z.copy()
    z2[0] += 1.0
    X2, Y2 = P.unpack(z2)
    assert np.isclose(P.f(z2), 0.5 * np.sum((X2 @ Y2.T - P.M) ** 2))
    assert np.isclose(P.f(z), 0.5 * np.sum((P.unpack(z)[0] @ P.unpack(z)[1].T - P.M) ** 2))


def test_pack_unpack_roundtrip_and_layout():
    P = MatrixFactorization(np.ones((3, 2)), 2)
    X = np.arange(6.0).reshape(3, 2)
    Y = -np.arange(4.0).reshape(2, 2)
    z = P.pack(X, Y)
    assert z.shape == (P.n,) == (10,)
    assert z[1] == X[0, 1] and z[6 + 3] == Y[1, 1]  # row-major
    X2, Y2 = P.unpack(z)
    assert np.array_equal(X, X2) and np.array_equal(Y, Y2)
    assert P.shape == (3, 2) and P.m == 3 and P.n_cols == 2 and P.rank == 2
    assert "MatrixFactorization" in repr(P)


def test_generators_are_symmetries_and_conserved_quantities():
    M = low_rank(4, 3, 2, seed=1)
    P = MatrixFactorization(M, 2)
    rng = np.random.default_rng(2)
    z = rng.standard_normal(P.n)
    gens = P.generators()
    assert gens.shape == (4, P.n, P.n)
    for A in gens:
        assert abs(P.grad(z) @ (A @ z)) < 1e-10          # <∇f(z), A z> = 0
        for t in (0.3, -0.7):
            assert np.isclose(P.f(expm(t * A) @ z), P.f(z), rtol=1e-10)
    # symmetric combinations give the entries of C = XᵀX - YᵀY
    C = P.conserved(z)
    Asym = 0.5 * (gens[0 * 2 + 1] + gens[1 * 2 + 0])
    assert np.allclose(Asym, Asym.T)
    assert np.isclose(z @ Asym @ z, C[0, 1])
    X, Y = P.unpack(z)
    np.testing.assert_allclose(C, X.T @ X - Y.T @ Y)
    np.testing.assert_allclose(P.conserved(X, Y), C)


def test_conserved_by_gradient_flow():
    P = MatrixFactorization(low_rank(4, 3, 2, seed=3), 2)
    z0 = np.random.default_rng(4).standard_normal(P.n)
    sol = solve_ivp(lambda t, z: -P.grad(z), (0, 2.0), z0, rtol=1e-11, atol=1e-12)
    zt = sol.y[:, -1]
    assert P.f(zt) < P.f(z0)
    np.testing.assert_allclose(P.conserved(zt), P.conserved(z0), atol=1e-7)


# ----------------------------------------------------------------------- global minima
@pytest.mark.parametrize("m,n,r,k", SHAPES)
def test_balanced_form(m, n, r, k):
    M = low_rank(m, n, k, seed=m + n + r + k)
    X, Y = balanced_factors(M, r)
    assert X.shape == (m, r) and Y.shape == (n, r)
    assert is_balanced(X, Y)
    np.testing.assert_allclose(X.T @ X, Y.T @ Y, atol=1e-10)
    U, s, Vt = np.linalg.svd(M)
    best = (U[:, :r] * s[:r]) @ Vt[:r]          # = M when rank M <= r (Eckart–Young otherwise)
    np.testing.assert_allclose(X @ Y.T, best, atol=1e-10)
    if k <= r:
        np.testing.assert_allclose(X @ Y.T, M, atol=1e-10)
    P = MatrixFactorization(M, r)
    assert np.linalg.norm(P.grad(P.pack(X, Y))) < 1e-10
    # an orthogonal Q keeps the point balanced and a global minimum
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((r, r)))
    Xq, Yq = balanced_factors(M, r, Q=Q)
    assert is_balanced(Xq, Yq)
    np.testing.assert_allclose(Xq @ Yq.T, X @ Y.T, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 1.5))
def test_loss_invariant_along_orbits(seed, spread):
    M = low_rank(5, 4, 3, seed=seed % 7)
    P = MatrixFactorization(M, 3)
    z = np.random.default_rng(seed).standard_normal(P.n)
    X, Y = P.unpack(z)
    X2, Y2 = orbit_point(X, Y, random_G(3, seed, spread))
    assert np.isclose(P.f(P.pack(X2, Y2)), P.f(z), rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.05, 2.0))
def test_kempf_ness_balanced_is_min_norm_on_orbit(seed, spread):
    M = low_rank(5, 3, 2, seed=seed % 5)
    X, Y = balanced_factors(M, 2)
    base = np.sum(X ** 2) + np.sum(Y ** 2)
    X2, Y2 = orbit_point(X, Y, random_G(2, seed, spread))
    other = np.sum(X2 ** 2) + np.sum(Y2 ** 2)
    assert other >= base * (1 - 1e-12)


def test_kempf_ness_local_minimization_over_G():
    M = low_rank(5, 4, 3, seed=2)
    X0, Y0 = random_global_min(M, 3, rng=5)              # start off balance
    assert not is_balanced(X0, Y0)

    def norm2(g):
        X, Y = orbit_point(X0, Y0, g.reshape(3, 3))
        return np.sum(X ** 2) + np.sum(Y ** 2)

    res = minimize(norm2, np.eye(3).ravel(), method="BFGS", options={"gtol": 1e-10})
    X, Y = orbit_point(X0, Y0, res.x.reshape(3, 3))
    Xb, Yb = balanced_factors(M, 3)
    assert np.isclose(res.fun, np.sum(Xb ** 2) + np.sum(Yb ** 2), rtol=1e-8)
    assert np.isclose(res.fun, 2 * np.linalg.svd(M, compute_uv=False)[:3].sum(), rtol=1e-8)
    assert is_balanced(X, Y, tol=1e-5)                   # the minimal-norm point is balanced


# ----------------------------------------------------------------------- Hessian spectrum
@pytest.mark.parametrize("m,n,r,k", SHAPES)
def test_closed_form_spectrum_matches_dense(m, n, r, k):
    M = low_rank(m, n, k, seed=10 * k + r)
    P = MatrixFactorization(M, r)
    X, Y = balanced_factors(M, r)
    ev = np.sort(np.linalg.eigvalsh(P.hess(P.pack(X, Y))))[::-1]
    cf = hessian_spectrum_balanced(M, r)
    assert cf.shape == ((m + n) * r,)
    np.testing.assert_allclose(ev, cf, atol=1e-9 * max(1.0, cf[0]))
    s = np.linalg.svd(M, compute_uv=False)
    assert np.isclose(cf[0], 2 * s[0])
    if k == r:  # the statement for rank M = r
        sr = s[:r]
        expect = np.concatenate([(sr[:, None] + sr[None, :]).ravel(),   # ordered pairs
                                 np.repeat(sr, (m - r) + (n - r)),
                                 np.zeros(r * r)])
        np.testing.assert_allclose(np.sort(expect)[::-1], cf, atol=1e-12)
        assert np.sum(np.abs(ev) < 1e-8 * s[0]) == r * r


def test_spectrum_multiset_is_ordered_pairs_not_unordered():
    # r = 2: σ₁+σ₂ appears twice (pairs (1,2) and (2,1)), 2σ₁ and 2σ₂ once each
    M = np.zeros((4, 3))
    M[0, 0], M[1, 1] = 3.0, 1.0
    ev = np.round(np.linalg.eigvalsh(MatrixFactorization(M, 2).hess(
        MatrixFactorization(M, 2).pack(*balanced_factors(M, 2)))), 9)
    vals, counts = np.unique(ev, return_counts=True)
    table = dict(zip(vals.tolist(), counts.tolist()))
    assert table == {0.0: 4, 1.0: 3, 2.0: 1, 3.0: 3, 4.0: 2, 6.0: 1}


@pytest.mark.parametrize("m,n,r,k", SHAPES)
def test_trace_formula(m, n, r, k):
    M = low_rank(m, n, k, seed=k)
    P = MatrixFactorization(M, r)
    X, Y = random_global_min(M, r, rng=k)
    z = P.pack(X, Y)
    assert np.isclose(np.trace(P.hess(z)), hessian_trace_global_min(X, Y), rtol=1e-12)
    assert np.isclose(np.trace(P.hess(z)), n * np.sum(X ** 2) + m * np.sum(Y ** 2), rtol=1e-12)
    w = np.random.default_rng(1).standard_normal(P.n)  # holds at any point
    assert np.isclose(np.trace(P.hess(w)), P.hessian_trace(w), rtol=1e-12)
    assert np.isclose(float(hessian_trace(P.hvp, z)), P.hessian_trace(z), rtol=1e-12)


def test_hutchinson_trace_on_a_larger_problem():
    M = low_rank(120, 80, 5, seed=3)
    P = MatrixFactorization(M, 5)
    z = P.pack(*random_global_min(M, 5, rng=1, scale=0.5))
    est = hessian_trace(P.hvp, z, n_samples=200, exact_if_n_le=100, rng=0)
    assert est.method == "hutchinson"
    assert abs(est.value - P.hessian_trace(z)) < 4 * est.stderr


# ----------------------------------------------------------------------- flatness on the orbit
@pytest.mark.parametrize("m,n,r,k", SHAPES)
def test_lambda_max_is_2sigma1_at_balanced_and_larger_elsewhere(m, n, r, k):
    M = low_rank(m, n, k, seed=k + 1)
    P = MatrixFactorization(M, r)
    s1 = np.linalg.svd(M, compute_uv=False)[0]
    lb = float(P.lambda_max(P.pack(*balanced_factors(M, r))))
    assert np.isclose(lb, 2 * s1, rtol=1e-10)
    for seed in range(5):
        X, Y = random_global_min(M, r, rng=seed, scale=0.7)
        assert float(P.lambda_max(P.pack(X, Y))) >= lb * (1 - 1e-10)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 2.0))
def test_lambda_max_minimized_at_balanced_property(seed, spread):
    M = low_rank(4, 3, 2, seed=seed % 11)
    P = MatrixFactorization(M, 2)
    X, Y = orbit_point(*balanced_factors(M, 2), random_G(2, seed, spread))
    s1 = np.linalg.svd(M, compute_uv=False)[0]
    assert float(P.lambda_max(P.pack(X, Y))) >= 2 * s1 * (1 - 1e-10)


def test_lanczos_matches_dense_to_1e8():
    M = low_rank(30, 25, 4, seed=9)
    P = MatrixFactorization(M, 4)                     # n = 220
    for z in (P.pack(*balanced_factors(M, 4)),
              P.pack(*random_global_min(M, 4, rng=2)),
              np.random.default_rng(3).standard_normal(P.n)):
        dense = np.linalg.eigvalsh(P.hess(z))
        lan = hessian_lambda_max(P.hvp, z, rng=1)
        assert lan.method == "lanczos"
        assert abs(lan.value - dense[-1]) <= 1e-8 * abs(dense[-1])


def test_trace_minimizer_differs_from_balanced_when_m_ne_n():
    M = paper_M_section3()                             # m=5, n=3, r=2
    m, n = M.shape
    P = MatrixFactorization(M, 2)
    Xb, Yb = balanced_factors(M, 2)
    Xt, Yt = trace_flat_factors(M, 2)
    np.testing.assert_allclose(Xt @ Yt.T, M, atol=1e-10)
    np.testing.assert_allclose(n * Xt.T @ Xt, m * Yt.T @ Yt, atol=1e-10)
    tb, tt = hessian_trace_global_min(Xb, Yb), hessian_trace_global_min(Xt, Yt)
    lb, lt = float(P.lambda_max(P.pack(Xb, Yb))), float(P.lambda_max(P.pack(Xt, Yt)))
    assert tt < tb and lt > lb
    trS = np.linalg.svd(M, compute_uv=False)[:2].sum()
    assert np.isclose(tb, (m + n) * trS) and np.isclose(tt, 2 * np.sqrt(m * n) * trS)
    # the numbers quoted in the paper's summary for this example
    assert (round(tb, 2), round(lb, 2), round(tt, 2), round(lt, 2)) == (46.95, 10.61, 45.46, 10.96)

    # trace_flat_factors is the minimizer of the trace over the whole orbit (local search over G)
    def trace_on_orbit(g):
        return hessian_trace_global_min(*orbit_point(Xb, Yb, g.reshape(2, 2)))

    for seed in range(3):
        g0 = random_G(2, seed, 0.5).ravel()
        res = minimize(trace_on_orbit, g0, method="BFGS", options={"gtol": 1e-10})
        assert np.isclose(res.fun, tt, rtol=1e-8)
        assert trace_on_orbit(g0) >= tt


def test_square_case_trace_minimizer_is_balanced():
    M = low_rank(4, 4, 2, seed=1)
    Xt, Yt = trace_flat_factors(M, 2)
    assert is_balanced(Xt, Yt)


def test_flow_example_singular_values():
    # the m=5, n=4, r=3 example: 2σ₁ = 13.59 and ||X||²+||Y||² = 2 tr Σ = 17.86 at the
    # balanced limit, reproduced by A, B standard normal from default_rng(2)
    M = low_rank(5, 4, 3, seed=2)
    s = np.linalg.svd(M, compute_uv=False)
    assert round(2 * s[0], 2) == 13.59 and round(2 * s[:3].sum(), 2) == 17.86


# ----------------------------------------------------------------------- maximal variation
def test_max_variation_at_balanced_is_sigma1_r2():
    pytest.importorskip("flatlib.profiles")
    M = low_rank(5, 4, 2, seed=4)
    P = MatrixFactorization(M, 2)
    s1 = np.linalg.svd(M, compute_uv=False)[0]
    z = P.pack(*balanced_factors(M, 2))
    rho = 1e-3
    val = P.max_variation(z, rho).value
    assert abs(val / (s1 * rho ** 2) - 1) < 2 * rho / np.sqrt(s1) + 1e-6   # σ₁ρ² + O(ρ³)
    assert val >= s1 * rho ** 2                                             # attained lower bound


def test_balanced_is_flattest_for_several_radii():
    pytest.importorskip("flatlib.profiles")
    M = low_rank(4, 3, 2, seed=0)
    P = MatrixFactorization(M, 2)
    zb = P.pack(*balanced_factors(M, 2))
    radii = np.array([0.05, 0.5, 2.0])
    fb = P.max_variation(zb, radii, side="up").value
    for seed in range(2):
        zo = P.pack(*random_global_min(M, 2, rng=seed, scale=0.6))
        fo = P.max_variation(zo, radii, side="up").value
        assert np.all(fb <= fo * (1 + 1e-8))


# ----------------------------------------------------------------------- bad input
def test_bad_inputs():
    with pytest.raises(ValueError, match="M"):
        MatrixFactorization(np.ones(3), 1)
    with pytest.raises(ValueError, match="M"):
        MatrixFactorization([[1.0, np.nan]], 1)
    with pytest.raises(ValueError, match="rank"):
        MatrixFactorization(np.ones((2, 2)), 0)
    P = MatrixFactorization(np.ones((3, 2)), 1)
    with pytest.raises(ValueError, match="z"):
        P.f(np.ones(4))
    with pytest.raises(ValueError, match="z"):
        P.grad(np.full(5, np.nan))
    with pytest.raises(ValueError, match="v"):
        P.hvp(np.ones(5), np.ones(3))
    with pytest.raises(ValueError, match="X"):
        P.pack(np.ones((2, 1)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="Y"):
        P.pack(np.ones((3, 1)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="r"):
        balanced_factors(np.ones((3, 2)), 3)
    with pytest.raises(ValueError, match="r"):
        hessian_spectrum_balanced(np.ones((3, 2)), 0)
    with pytest.raises(ValueError, match="Q"):
        balanced_factors(np.eye(2), 2, Q=np.ones((2, 2)))
    with pytest.raises(ValueError, match="G"):
        orbit_point(np.ones((3, 2)), np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="G"):
        orbit_point(np.ones((3, 2)), np.ones((2, 2)), np.eye(3))
    with pytest.raises(ValueError, match="columns"):
        conserved_matrix(np.ones((3, 2)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="X"):
        hessian_trace_global_min(np.full((2, 2), np.inf), np.ones((2, 2)))
    with pytest.raises(ValueError, match="tol"):
        is_balanced(np.ones((2, 1)), np.ones((2, 1)), tol=-1)
    with pytest.raises(ValueError, match="scale"):
        random_global_min(np.eye(2), 2, scale=np.nan)
    with pytest.raises(TypeError, match="M"):
        balanced_factors("abc", 1)
    big = MatrixFactorization(np.zeros((2000, 2000)), 2)
    with pytest.raises(ValueError, match="DENSE_MAX_N"):
        big.hess(np.zeros(big.n))


# ----------------------------------------------------------------------- local-global / ties
def test_local_minimizers_of_lambda_max_on_the_orbit_are_global():
    # the set of global minima is the orbit {(X_b G, Y_b G⁻ᵀ)}; local searches over G of the
    # leading flatness constant λ_max = 2 · lim f°/r² all end at the global value 2σ₁
    M = low_rank(5, 3, 2, seed=1)
    P = MatrixFactorization(M, 2)
    Xb, Yb = balanced_factors(M, 2)
    s1 = np.linalg.svd(M, compute_uv=False)[0]

    def lam(g):
        G = g.reshape(2, 2)
        if abs(np.linalg.det(G)) < 1e-8:
            return 1e6
        return np.linalg.eigvalsh(P.hess(P.pack(*orbit_point(Xb, Yb, G))))[-1]

    for seed in range(3):
        g0 = random_G(2, 100 + seed, 1.0).ravel()
        assert lam(g0) > 2 * s1 * (1 + 1e-3)
        res = minimize(lam, g0, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 20000})
        assert abs(res.fun / (2 * s1) - 1) < 1e-7


def test_flatness_ties_off_the_balanced_set():
    """Recorded finding: balanced minima are flat, but not the only flat ones.

    Scaling a column other than the top one, (X_b D, Y_b D⁻¹) with D = diag(1, c),
    leaves λ_max = 2σ₁ for c in a range around 1, and the whole profile f°(·, r)
    coincides with the balanced one at every radius tested."""
    pytest.importorskip("flatlib.profiles")
    M = low_rank(4, 3, 2, seed=0)
    P = MatrixFactorization(M, 2)
    Xb, Yb = balanced_factors(M, 2)
    X, Y = orbit_point(Xb, Yb, np.diag([1.0, 1.5]))
    assert not is_balanced(X, Y) and np.allclose(X @ Y.T, M)
    zb, zd = P.pack(Xb, Yb), P.pack(X, Y)
    assert np.isclose(float(P.lambda_max(zd)), float(P.lambda_max(zb)), rtol=1e-12)
    radii = np.array([0.05, 0.5, 2.0])
    fb = P.max_variation(zb, radii, side="up").value
    fd = P.max_variation(zd, radii, side="up").value
    np.testing.assert_allclose(fd, fb, rtol=1e-8)
    # ... whereas scaling the top column does change the flatness
    X3, Y3 = orbit_point(Xb, Yb, np.diag([1.5, 1.0]))
    assert float(P.lambda_max(P.pack(X3, Y3))) > float(P.lambda_max(zb)) * 1.01


# ----------------------------------------------------------------------- weighted norms, orbit search
# (added with notebook 06: weighted_balanced_factors, weighted_max_variation,
#  orbit_max_variation, flattest_on_orbit_search)
from flatlib.problems.matrix_factorization import (  # noqa: E402
    flattest_on_orbit_search,
    orbit_max_variation,
    weighted_balanced_factors,
    weighted_max_variation,
)


def _fo_sphere_bfgs(M, X, Y, rho, a, b, n_random=6):
    """Independent f°_w ("up" side): f has no local maximum (it is a convex quadratic along
    X-only lines), so the sup over the ellipsoid is on its boundary; BFGS over v with
    u = ρ D^{-1/2} v/||v||."""
    P = MatrixFactorization(M, X.shape[1])
    z = P.pack(X, Y)
    Dm = 1 / np.sqrt(np.concatenate([np.full(X.size, a), np.full(Y.size, b)]))
    f0 = P.f(z)

    def F(v):
        return -(P.f(z + rho * Dm * v / np.linalg.norm(v)) - f0)

    def dF(v):
        nv = np.linalg.norm(v)
        vh = v / nv
        gu = rho * Dm * P.grad(z + rho * Dm * vh)
        return -(gu - vh * (vh @ gu)) / nv

    H = np.linalg.eigh(Dm[:, None] * P.hess(z) * Dm[None, :])[1]
    g = np.random.default_rng(0)
    starts = [H[:, -1], -H[:, -1]] + list(g.standard_normal((n_random, P.n)))
    return max(-minimize(F, s, jac=dF, method="BFGS", options={"gtol": 1e-12}).fun for s in starts)


@pytest.mark.parametrize("a,b", [(1.0, 1.0), (3.0, 5.0), (4.0, 1.0)])
def test_weighted_balanced_factors(a, b):
    M = low_rank(5, 3, 2, seed=0)
    X, Y = weighted_balanced_factors(M, 2, a, b)
    np.testing.assert_allclose(X @ Y.T, M, atol=1e-10)
    np.testing.assert_allclose(a * X.T @ X, b * Y.T @ Y, atol=1e-10)
    if a == b:
        Xb, Yb = balanced_factors(M, 2)
        np.testing.assert_allclose(X, Xb, atol=1e-14)
    Xt, _ = trace_flat_factors(M, 2)
    np.testing.assert_allclose(weighted_balanced_factors(M, 2, 3, 5)[0], Xt, atol=1e-14)  # (a,b)=(n,m)
    with pytest.raises(ValueError, match="weight a"):
        weighted_balanced_factors(M, 2, 0.0, 1.0)
    with pytest.raises(ValueError, match="weight b"):
        weighted_balanced_factors(M, 2, 1.0, np.nan)


def test_weighted_max_variation_frobenius_matches_problem_method():
    M = low_rank(4, 3, 2, seed=0)
    P = MatrixFactorization(M, 2)
    g = np.random.default_rng(1)
    X, Y = g.standard_normal((4, 2)), g.standard_normal((3, 2))       # not a minimum
    radii = np.array([0.01, 0.3, 1.0])
    v1 = weighted_max_variation(M, X, Y, radii).value
    v2 = P.max_variation(P.pack(X, Y), radii).value
    np.testing.assert_allclose(v1, v2, rtol=1e-8)


@pytest.mark.parametrize("a,b", [(2.0, 0.5), (3.0, 5.0)])
def test_weighted_max_variation_against_independent_bfgs(a, b):
    M = low_rank(4, 3, 2, seed=3)
    g = np.random.default_rng(2)
    for X, Y in [weighted_balanced_factors(M, 2, a, b), random_global_min(M, 2, rng=4, scale=0.5),
                 (g.standard_normal((4, 2)), g.standard_normal((3, 2)))]:
        for rho in (0.05, 0.7):
            res = weighted_max_variation(M, X, Y, rho, a, b, side="up")
            ref = _fo_sphere_bfgs(M, X, Y, rho, a, b)
            assert abs(res.value / ref - 1) < 1e-8
            # argmax is mapped back to the original variables: in the ellipsoid, attains value
            P = MatrixFactorization(M, 2)
            u = res.argmax - P.pack(X, Y)
            w = np.concatenate([np.full(8, a), np.full(6, b)])
            assert np.sum(w * u * u) <= rho ** 2 * (1 + 1e-9)
            assert np.isclose(P.f(res.argmax) - P.f(P.pack(X, Y)), res.value, rtol=1e-10)


def test_weighted_max_variation_scaling_and_leading_constant():
    M = low_rank(5, 3, 2, seed=0)
    s1 = np.linalg.svd(M, compute_uv=False)[0]
    a, b = 3.0, 5.0
    X, Y = weighted_balanced_factors(M, 2, a, b)
    # norms (ta, tb) and (a, b): balls of radius ρ√t and ρ coincide
    v1 = weighted_max_variation(M, X, Y, 0.4, a, b, side="up").value
    v2 = weighted_max_variation(M, X, Y, 0.4 * np.sqrt(4.0), 4 * a, 4 * b, side="up").value
    assert np.isclose(v1, v2, rtol=1e-9)
    rho = 1e-3
    lead = weighted_max_variation(M, X, Y, rho, a, b, side="up").value / rho ** 2
    assert abs(lead * np.sqrt(a * b) / s1 - 1) < 5 * rho
    # the weighted-balanced point is flatter than the Frobenius-balanced one for this norm, and
    # conversely for the Frobenius norm
    Xb, Yb = balanced_factors(M, 2)
    for rho in (0.01, 1.0):
        assert weighted_max_variation(M, X, Y, rho, a, b, side="up").value < \
            weighted_max_variation(M, Xb, Yb, rho, a, b, side="up").value
        assert weighted_max_variation(M, Xb, Yb, rho, side="up").value < \
            weighted_max_variation(M, X, Y, rho, side="up").value


def test_orbit_max_variation_defaults_to_balanced_orbit():
    M = low_rank(4, 3, 2, seed=0)
    G = np.array([[1.3, 0.2], [-0.1, 0.8]])
    Xb, Yb = balanced_factors(M, 2)
    v1 = orbit_max_variation(M, G, 0.5).value
    v2 = weighted_max_variation(M, *orbit_point(Xb, Yb, G), 0.5, side="up").value
    assert v1 == v2
    # f° depends on G only through G Gᵀ: right orthogonal factors do not change it
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((2, 2)))
    assert np.isclose(orbit_max_variation(M, G @ Q, 0.5).value, v1, rtol=1e-9)


def test_flattest_on_orbit_search_small():
    M = low_rank(4, 3, 2, seed=0)
    res = flattest_on_orbit_search(M, 2, 0.5, n_starts=2, rng=0, maxfev=200)
    assert res.value.shape == (2,) and res.G.shape == (2, 2, 2) and res.P.shape == (2, 2, 2)
    np.testing.assert_allclose(res.P, res.G @ res.G.transpose(0, 2, 1))
    assert np.all(res.value_start > res.reference)
    assert np.all(np.abs(res.rel_gap) < 1e-6)            # the global (balanced) value is reached
    ref = _fo_sphere_bfgs(M, *balanced_factors(M, 2), 0.5, 1.0, 1.0)
    assert abs(res.reference / ref - 1) < 1e-9
    for G, v in zip(res.G, res.value):                  # reported values are those of the end points
        assert abs(_fo_sphere_bfgs(M, *orbit_point(*balanced_factors(M, 2), G), 0.5, 1.0, 1.0) / v - 1) < 1e-8
    for G, c in zip(res.G, res.imbalance):
        X, Y = orbit_point(*balanced_factors(M, 2), G)
        assert np.isclose(np.linalg.norm(conserved_matrix(X, Y)), c)
    assert "OrbitSearchResult" in repr(res)


def test_flattest_on_orbit_search_weighted_and_full_param():
    M = low_rank(5, 3, 2, seed=0)
    res = flattest_on_orbit_search(M, 2, 0.3, n_starts=1, rng=1, a=3.0, b=5.0, maxfev=200)
    Xw, Yw = weighted_balanced_factors(M, 2, 3.0, 5.0)
    assert abs(res.reference / _fo_sphere_bfgs(M, Xw, Yw, 0.3, 3.0, 5.0) - 1) < 1e-9
    assert np.all(np.abs(res.rel_gap) < 1e-6)
    r1 = flattest_on_orbit_search(low_rank(3, 2, 1, seed=1), 1, 0.3, n_starts=1, rng=0, param="full")
    assert abs(r1.rel_gap[0]) < 1e-7 and r1.imbalance[0] < 1e-3   # r = 1: the balanced point
    with pytest.raises(ValueError, match="param"):
        flattest_on_orbit_search(M, 2, 0.3, param="bad")
    with pytest.raises(ValueError, match="radius"):
        flattest_on_orbit_search(M, 2, -1.0)
    with pytest.raises(ValueError, match="spread"):
        flattest_on_orbit_search(M, 2, 0.3, spread=-1.0)
