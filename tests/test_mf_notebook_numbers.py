"""Every number printed by notebooks/06_matrix_factorization.ipynb, recomputed independently.

The notebook computes f° with ``flatlib.max_variation`` (batched spectral projected gradient)
and Hessians with the library's exact ``hvp``. Here the Hessian comes from finite differences
of a gradient written from scratch, the maximal variation from SciPy's SLSQP on the (weighted)
ball, the distance to the level sets from the *primal* problem
``min ||u|| s.t. f(z + u) >= d`` (not through the duality used by ``level_distance``), and
orbit quantities from closed forms in ``P = G Gᵀ``. The expected values are the rounded
numbers the notebook prints with its default parameters (seed 0, m=4, n=3, r=2, fast=False:
grids of 121 points). Where the notebook's local searches end depends on the path, so it does not
print end points; the property it asserts there (every end point is a second-column scaling inside
the tie interval, with lambda_max = 2 sigma_1 and the balanced f°) is checked here on the whole
interval instead.
"""
import numpy as np
import pytest
from scipy.optimize import minimize

SEED, m, n, r = 0, 4, 3, 2
N_GRID = 121                     # n_grid of the notebook with fast = False


def low_rank(m, n, k, seed):
    g = np.random.default_rng(seed)
    A = g.standard_normal((m, k))
    B = g.standard_normal((n, k))
    return A @ B.T


def svd_balanced(M, r):
    U, s, Vt = np.linalg.svd(M)
    return U[:, :r] * np.sqrt(s[:r]), Vt[:r].T * np.sqrt(s[:r]), s


def loss(M, X, Y):
    R = X @ Y.T - M
    return 0.5 * float(np.sum(R * R))


def make_fg(M, r):
    mm, nn = M.shape

    def split(z):
        return z[: mm * r].reshape(mm, r), z[mm * r:].reshape(nn, r)

    def f(z):
        X, Y = split(z)
        return loss(M, X, Y)

    def g(z):
        X, Y = split(z)
        R = X @ Y.T - M
        return np.concatenate([(R @ Y).ravel(), (R.T @ X).ravel()])

    return f, g


def fd_hessian(g, z, h=1e-6):
    H = np.array([(g(z + h * e) - g(z - h * e)) / (2 * h) for e in np.eye(z.size)])
    return 0.5 * (H + H.T)


def fo_slsqp(M, X, Y, rho, a=1.0, b=1.0, n_random=8, seed=0):
    """max f(X+U, Y+V) - f(X, Y) over a||U||² + b||V||² <= ρ², by BFGS over the sphere.

    Along an X-only (or Y-only) line f is a convex quadratic, so f has no local maximum
    and the sup over the (weighted) ball is attained on its boundary: we maximize
    F(v) = f(z + ρ D^{-1/2} v/||v||) without constraints (BFGS), from the top eigenvectors
    of D^{-1/2} ∇²f D^{-1/2} (finite differences) and random directions.
    """
    r_ = X.shape[1]
    f, g = make_fg(M, r_)
    z = np.concatenate([X.ravel(), Y.ravel()])
    w = np.concatenate([np.full(X.size, a), np.full(Y.size, b)])
    Dm = 1 / np.sqrt(w)
    f0 = f(z)
    H = fd_hessian(g, z)
    lam, V = np.linalg.eigh(Dm[:, None] * H * Dm[None, :])

    def F(v):
        nv = np.linalg.norm(v)
        return -(f(z + rho * Dm * v / nv) - f0)

    def dF(v):
        nv = np.linalg.norm(v)
        vh = v / nv
        gu = rho * Dm * g(z + rho * Dm * vh)
        return -(gu - vh * (vh @ gu)) / nv

    rng = np.random.default_rng(seed)
    dirs = [V[:, -1], -V[:, -1]] + list(rng.standard_normal((n_random, z.size)))
    best = 0.0
    for d in dirs:
        res = minimize(F, d / np.linalg.norm(d), jac=dF, method="BFGS", options={"gtol": 1e-12, "maxiter": 2000})
        best = max(best, -float(res.fun))
    return best


def level_distance_primal(M, X, Y, d, n_random=8, seed=0):
    """min ||u|| s.t. f(z + u) >= f(z) + d (SLSQP)."""
    f, g = make_fg(M, X.shape[1])
    z = np.concatenate([X.ravel(), Y.ravel()])
    f0 = f(z)
    lam, V = np.linalg.eigh(fd_hessian(g, z))
    rng = np.random.default_rng(seed)
    dirs = [V[:, -1], -V[:, -1]] + list(rng.standard_normal((n_random, z.size)))
    best = np.inf
    for v in dirs:
        v = v / np.linalg.norm(v)
        t = 1e-3
        while f(z + t * v) - f0 < d:
            t *= 1.5
        res = minimize(lambda u: float(u @ u), t * v, jac=lambda u: 2 * u, method="SLSQP",
                       constraints=[{"type": "ineq", "fun": lambda u: f(z + u) - f0 - d,
                                     "jac": lambda u: g(z + u)}],
                       options={"ftol": 1e-16, "maxiter": 1000})
        if f(z + res.x) - f0 >= d * (1 - 1e-7):
            best = min(best, float(np.sqrt(res.fun)))
    return best


def random_G(rng, r_, scale=1.0):
    """The draw of flatlib's random_global_min: Q1, Q2 Haar (QR), ξ ~ N(0, I)."""
    Q1, _ = np.linalg.qr(rng.standard_normal((r_, r_)))
    Q2, _ = np.linalg.qr(rng.standard_normal((r_, r_)))
    return (Q1 * np.exp(scale * rng.standard_normal(r_))) @ Q2


def orbit(X, Y, G):
    return X @ G, Y @ np.linalg.inv(G).T


@pytest.fixture(scope="module")
def ex():
    M = low_rank(m, n, r, SEED)
    Xb, Yb, s = svd_balanced(M, r)
    others = [orbit(Xb, Yb, random_G(np.random.default_rng(k), r, 0.5)) for k in (1, 2, 3)]
    # the notebook's second-column scalings, placed relative to the tie interval [1/c_hi, c_hi]:
    # inside c_hi^(1/2), its end c_hi = √(σ₁/σ₂), outside 1.25 c_hi
    c_hi = np.sqrt(s[0] / s[1])
    ties = [orbit(Xb, Yb, np.diag([1.0, c])) for c in (np.sqrt(c_hi), c_hi, 1.25 * c_hi)]
    return dict(M=M, Xb=Xb, Yb=Yb, s=s, others=others, ties=ties)


# --------------------------------------------------------------------- section 0-1
def test_singular_values_and_gradient_flow_start(ex):
    s = ex["s"]
    assert np.round(s[:r], 4).tolist() == [4.396, 0.7723]
    assert round(np.sqrt(np.linalg.eigvalsh(ex["M"] @ ex["M"].T)[-1]), 4) == 4.396
    rng = np.random.default_rng(SEED)
    z0 = 0.5 * rng.standard_normal((m + n) * r)
    X, Y = z0[: m * r].reshape(m, r), z0[m * r:].reshape(n, r)
    assert f"{loss(ex['M'], X, Y):.3f}" == "5.603"
    assert f"{np.linalg.norm(X.T @ X - Y.T @ Y):.3f}" == "0.985"


def test_kempf_ness_numbers(ex):
    s = ex["s"][:r]
    assert f"{2 * s.sum():.4f}" == "10.3367"
    # the notebook's 200 orbit points: rng = default_rng(seed), after one 14-vector draw
    rng = np.random.default_rng(SEED)
    rng.standard_normal((m + n) * r)
    vals = []
    for _ in range(200):
        G = random_G(rng, r, 1.0)
        Pm = G @ G.T                                 # ||XbG||² + ||YbG⁻ᵀ||² = tr ΣP + tr ΣP⁻¹
        vals.append(np.trace(np.diag(s) @ Pm) + np.trace(np.diag(s) @ np.linalg.inv(Pm)))
    assert f"{min(vals):.4f}" == "10.4733"


# --------------------------------------------------------------------- section 2
def test_spectrum_multiset_by_finite_differences(ex):
    f, g = make_fg(ex["M"], r)
    z = np.concatenate([ex["Xb"].ravel(), ex["Yb"].ravel()])
    ev = np.linalg.eigvalsh(fd_hessian(g, z))
    vals, counts = np.unique(np.round(np.abs(ev), 4), return_counts=True)
    assert dict(zip(vals.tolist(), counts.tolist())) == {8.792: 1, 5.1683: 2, 4.396: 3, 1.5447: 1,
                                                          0.7723: 3, 0.0: 4}
    assert f"{ev[-1]:.4f}" == "8.7920" == f"{2 * ex['s'][0]:.4f}"


# --------------------------------------------------------------------- section 3
def test_tie_interval_on_second_column_path(ex):
    f, g = make_fg(ex["M"], r)
    s = ex["s"]
    ts = np.linspace(-1.5, 1.5, N_GRID)
    tied = []
    for t in ts:
        X, Y = orbit(ex["Xb"], ex["Yb"], np.diag([1.0, np.exp(t)]))
        lam = np.linalg.eigvalsh(fd_hessian(g, np.concatenate([X.ravel(), Y.ravel()])))[-1]
        tied.append(abs(lam / (2 * s[0]) - 1) < 1e-6)
    assert f"{ts[np.array(tied)].max():.3f}" == "0.850"
    assert f"{0.5 * np.log(s[0] / s[1]):.3f}" == "0.870"
    # the tie interval of the column scale c = e^t: at its ends max(σ₁ + c²σ₂, σ₁ + σ₂/c²) = 2σ₁
    c_lo, c_hi = "0.419", "2.386"
    assert f"{np.sqrt(s[1] / s[0]):.3f}" == c_lo and f"{np.sqrt(s[0] / s[1]):.3f}" == c_hi
    for c in (float(c_hi), 1 / float(c_hi)):
        assert abs(max(s[0] + c ** 2 * s[1], s[0] + s[1] / c ** 2) / (2 * s[0]) - 1) < 1e-3


# --------------------------------------------------------------------- section 4
PROFILE = {  # radius: balanced, random #1, #2, #3, c = 1.54 (in), 2.39 (end), 2.98 (out) (as printed)
    1e-3: ["4.3975e-06", "4.6445e-06", "5.0967e-06", "1.7913e-05", "4.3975e-06", "4.3975e-06", "5.6324e-06"],
    1e-1: ["4.5455e-02", "4.7888e-02", "5.2308e-02", "1.7950e-01", "4.5455e-02", "4.5455e-02", "5.6409e-02"],
    1.0: ["6.0036e+00", "6.2341e+00", "6.6339e+00", "1.8720e+01", "6.0036e+00", "6.0036e+00", "6.3621e+00"],
    10.0: ["3.1722e+03", "3.2094e+03", "3.2695e+03", "4.8062e+03", "3.1722e+03", "3.1722e+03", "3.1722e+03"],
}
MIN_RATIO = [1.012, 1.031, 1.515]     # printed min over radii of f°(random #k) / f°(balanced)


@pytest.mark.parametrize("rho", sorted(PROFILE))
def test_max_variation_table(ex, rho):
    pts = [(ex["Xb"], ex["Yb"])] + ex["others"] + ex["ties"]
    got = [fo_slsqp(ex["M"], X, Y, rho) for X, Y in pts]
    for v, want in zip(got, PROFILE[rho]):
        assert abs(v / float(want) - 1) < 1.5e-4, (rho, v, want)
    assert all(v >= got[0] * (1 - 1e-8) for v in got)
    assert abs(got[4] / got[0] - 1) < 1e-8 and abs(got[5] / got[0] - 1) < 1e-8      # tied at every radius
    s = ex["s"]
    if rho == 1e-3:   # c = 1.25 c_hi: f° ≈ ½ λ_max ρ², λ_max = σ₁ + c²σ₂ = (1 + 1.25²) σ₁ (top eigenvalue)
        c_out = 1.25 * np.sqrt(s[0] / s[1])
        assert abs(got[6] / got[0] - (s[0] + c_out ** 2 * s[1]) / (2 * s[0])) < 2e-3
        assert abs((s[0] + c_out ** 2 * s[1]) / (2 * s[0]) - (1 + 1.25 ** 2) / 2) < 1e-12
    if rho == 10.0:   # the printed minima over radii are attained at the largest radius
        assert [round(v / got[0], 3) for v in got[1:4]] == MIN_RATIO


def test_level_distance_table(ex):
    want = {1e-2: ["0.0473", "0.0461", "0.0440", "0.0236", "0.0473", "0.0473", "0.0421"],
            1.0: ["0.4437", "0.4344", "0.4191", "0.2356", "0.4437", "0.4437", "0.4161"]}
    pts = [(ex["Xb"], ex["Yb"])] + ex["others"] + ex["ties"]
    for d, row in want.items():
        got = [level_distance_primal(ex["M"], X, Y, d) for X, Y in pts]
        assert [f"{v:.4f}" for v in got] == row, (d, got)


# --------------------------------------------------------------------- section 5
def test_orbit_search_table(ex):
    M, Xb, Yb, s = ex["M"], ex["Xb"], ex["Yb"], ex["s"]
    ref = fo_slsqp(M, Xb, Yb, 0.5)
    assert f"{ref:.6f}" == "1.292133"
    # starting points: flattest_on_orbit_search draws G0 from default_rng(seed) like random_G
    rng = np.random.default_rng(SEED)
    starts = [orbit(Xb, Yb, random_G(rng, r, 1.0)) for _ in range(6)]
    want_fo = ["6.9049", "4.4411", "1.4339", "3.3133", "14.1886", "6.0284"]
    want_C = ["53.749", "33.353", "4.341", "27.166", "113.498", "46.605"]
    for (X, Y), wf, wc in zip(starts, want_fo, want_C):
        assert abs(fo_slsqp(M, X, Y, 0.5) / float(wf) - 1) < 2e-5
        assert f"{np.linalg.norm(X.T @ X - Y.T @ Y):.3f}" == wc
    # the property asserted at the (unprinted) end points holds on the whole tie interval:
    # G = diag(1, c), c in [√(σ₂/σ₁), √(σ₁/σ₂)]: λ_max = 2σ₁ (finite differences), f°(0.5) balanced,
    # ||XᵀX - YᵀY|| = σ₂|c² - 1/c²|, largest at the ends: C_tie = σ₁ - σ₂²/σ₁ (the notebook asks
    # for an end point with at least 0.1 C_tie)
    c_lo, c_hi = np.sqrt(s[1] / s[0]), np.sqrt(s[0] / s[1])
    X, Y = orbit(Xb, Yb, np.diag([1.0, c_hi]))
    assert np.linalg.norm(X.T @ X - Y.T @ Y) == pytest.approx(s[0] - s[1] ** 2 / s[0], rel=1e-10)
    assert [f"{c_lo:.2f}", f"{c_hi:.2f}"] == ["0.42", "2.39"]
    f, g = make_fg(M, r)
    for c in (c_lo, 0.55, 1.8, c_hi):
        X, Y = orbit(Xb, Yb, np.diag([1.0, c]))
        lam = np.linalg.eigvalsh(fd_hessian(g, np.concatenate([X.ravel(), Y.ravel()])))[-1]
        assert abs(lam / (2 * s[0]) - 1) < 1e-6, c
        assert abs(fo_slsqp(M, X, Y, 0.5) / ref - 1) < 1e-8, c
        assert np.linalg.norm(X.T @ X - Y.T @ Y) == pytest.approx(s[1] * abs(c ** 2 - 1 / c ** 2), rel=1e-10)


VALLEY = {0.01: ("0.43", "2.33"), 0.05: ("0.43", "2.33"), 0.5: ("0.40", "2.49"), 5.0: ("0.33", "3.03")}


@pytest.mark.parametrize("rho", sorted(VALLEY))
def test_valley_edges(ex, rho):
    """Printed grid edges of {c : f°(diag(1, c), ρ) = f°(balanced, ρ)}: tied at the edges, not at
    the grid neighbours outside."""
    M, Xb, Yb = ex["M"], ex["Xb"], ex["Yb"]
    ref = fo_slsqp(M, Xb, Yb, rho)
    cs = np.exp(np.linspace(np.log(np.sqrt(0.02)), np.log(np.sqrt(50.0)), N_GRID))
    lo, hi = VALLEY[rho]
    i_lo = int(np.argmin(np.abs(cs - float(lo))))
    i_hi = int(np.argmin(np.abs(cs - float(hi))))
    assert (f"{cs[i_lo]:.2f}", f"{cs[i_hi]:.2f}") == (lo, hi)
    for i, tied in [(i_lo, True), (i_hi, True), (i_lo - 1, False), (i_hi + 1, False)]:
        X, Y = orbit(Xb, Yb, np.diag([1.0, cs[i]]))
        assert (abs(fo_slsqp(M, X, Y, rho) / ref - 1) < 1e-8) == tied, (rho, cs[i])


# --------------------------------------------------------------------- section 6-7 (m=5, n=3)
@pytest.fixture(scope="module")
def ex5():
    M = low_rank(5, 3, 2, 0)
    Xb, Yb, s = svd_balanced(M, 2)
    c = (5 / 3) ** 0.25
    return dict(M=M, Xb=Xb, Yb=Yb, s=s, Xt=c * Xb, Yt=Yb / c)


def test_trace_table(ex5):
    M, s = ex5["M"], ex5["s"][:2]
    f, g = make_fg(M, 2)
    rows = []
    for X, Y in [(ex5["Xb"], ex5["Yb"]), (ex5["Xt"], ex5["Yt"])]:
        ev = np.linalg.eigvalsh(fd_hessian(g, np.concatenate([X.ravel(), Y.ravel()])))
        rows.append((f"{ev.sum():.2f}", f"{ev[-1]:.2f}", f"{np.linalg.norm(3 * X.T @ X - 5 * Y.T @ Y):.3f}",
                     f"{np.linalg.norm(X.T @ X - Y.T @ Y):.3f}"))
    assert rows == [("46.95", "10.61", "10.669", "0.000"), ("45.46", "10.96", "0.000", "2.755")]
    # closed forms: traces (m+n) tr Σ and 2√(mn) tr Σ, λ_max 2σ₁ and σ₁(√(m/n) + √(n/m))
    assert (f"{8 * s.sum():.2f}", f"{2 * np.sqrt(15) * s.sum():.2f}") == (rows[0][0], rows[1][0])
    assert (f"{2 * s[0]:.2f}", f"{s[0] * (np.sqrt(5 / 3) + np.sqrt(3 / 5)):.2f}") == (rows[0][1], rows[1][1])
    # closed forms: 2||Σ||_F and |√(m/n) - √(n/m)| ||Σ||_F
    assert f"{2 * np.linalg.norm(s):.3f}" == "10.669"
    assert f"{(np.sqrt(5 / 3) - np.sqrt(3 / 5)) * np.linalg.norm(s):.3f}" == "2.755"


def test_trace_flat_vs_balanced_ratios(ex5):
    want = [1.0328, 1.0314, 1.023, 1.0074]
    for rho, w in zip([1e-3, 0.1, 1.0, 10.0], want):
        q = fo_slsqp(ex5["M"], ex5["Xt"], ex5["Yt"], rho) / fo_slsqp(ex5["M"], ex5["Xb"], ex5["Yb"], rho)
        assert round(q, 4) == w


def test_weighted_norm_numbers(ex5):
    M, Xb, Yb, s1 = ex5["M"], ex5["Xb"], ex5["Yb"], ex5["s"][0]
    tw = np.linspace(-0.9, 0.9, N_GRID)
    for (a, b), t_hat, t_pred, lead, pred in [((1.0, 1.0), "0.000", "0.000", "5.3062", "5.3045"),
                                             ((3.0, 5.0), "0.135", "0.128", "1.3698", "1.3696"),
                                             ((4.0, 1.0), "-0.345", "-0.347", "2.6529", "2.6523")]:
        tp = 0.25 * np.log(b / a)
        assert f"{tp:.3f}".replace("-0.000", "0.000") == t_pred
        assert f"{s1 / np.sqrt(a * b):.4f}" == pred
        c = (b / a) ** 0.25
        v = fo_slsqp(M, c * Xb, Yb / c, 1e-3, a, b) / 1e-6
        assert abs(v / float(lead) - 1) < 2e-4
        # the grid argmin: the printed t is the grid point nearest the prediction, and f°_w is
        # smaller there than at both grid neighbours
        i = int(np.argmin(np.abs(tw - float(t_hat))))
        assert f"{tw[i]:.3f}".replace("-0.000", "0.000") == t_hat
        assert i == int(np.argmin(np.abs(tw - tp)))
        fv = [fo_slsqp(M, np.exp(t) * Xb, np.exp(-t) * Yb, 0.3, a, b, n_random=4) for t in tw[i - 1:i + 2]]
        assert fv[1] < fv[0] and fv[1] < fv[2]
    # the order of balanced and trace-flat reverses for the norm 3||U||² + 5||V||²
    for rho, w in zip([1e-3, 0.1, 1.0, 10.0], [1.0328, 1.0321, 1.0268, 1.0114]):
        q = fo_slsqp(M, Xb, Yb, rho, 3.0, 5.0) / fo_slsqp(M, ex5["Xt"], ex5["Yt"], rho, 3.0, 5.0)
        assert round(q, 4) == w
    assert f"{fo_slsqp(M, ex5['Xt'], ex5['Yt'], 0.3, 3.0, 5.0):.5f}" == "0.12910"
    assert f"{fo_slsqp(M, Xb, Yb, 0.3, 3.0, 5.0):.5f}" == "0.13306"
    # the weighted search's threshold 0.1 √(ab) (σ₁ - σ₂²/σ₁): in the variables (√a X, √b Y) the
    # target is √(ab) M, whose tie interval ends at ||aXᵀX - bYᵀY|| = √(ab) (σ₁ - σ₂²/σ₁)
    s_ = ex5["s"]
    assert f"{0.1 * np.sqrt(15.0) * (s_[0] - s_[1] ** 2 / s_[0]):.2f}" == "2.03"
    c = np.sqrt(s_[0] / s_[1])                       # the end of the tie interval of √(ab) M
    Xw, Yw = (5 / 3) ** 0.25 * Xb, Yb / (5 / 3) ** 0.25         # (b/a)^(1/4) X_b, (a/b)^(1/4) Y_b
    Xe, Ye = Xw @ np.diag([1.0, c]), Yw @ np.diag([1.0, 1 / c])
    assert np.linalg.norm(3 * Xe.T @ Xe - 5 * Ye.T @ Ye) == pytest.approx(np.sqrt(15.0) * (s_[0] - s_[1] ** 2 / s_[0]),
                                                                          rel=1e-10)
