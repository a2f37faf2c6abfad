"""Every number printed by notebooks/04_symmetries_conservation.ipynb, recomputed independently.

The notebook calls ``flatlib.symmetry`` / ``flatlib.flows`` on the ``flatlib.problems``
classes.  Here nothing of flatlib is imported: the gradients are written from scratch (the
ReLU data are regenerated from the documented recipe), the algebra and its symmetric /
antisymmetric parts are null spaces of hand-built constraint matrices (the charges directly
as ``{S = Sᵀ : <∇f(x_s), S x_s> = 0}``), flows are integrated with ``scipy.integrate.solve_ivp``
(DOP853, not the library's LSODA), gradient descent is a plain loop, and the nonsmooth flow is
solved in closed form.  Expected values are derived by hand in the comments, or are the rounded
numbers the notebook prints with its default parameters (seed 0).
"""
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

SEED = 0
SAMPLE_FACTOR = 2
ROT_N = 4
D_RELU, H_RELU, N_RELU, N_SMALL = 2, 3, 20, 1
M_MF, N_MF, R_MF = 3, 2, 2
T = 2.0
ETAS_DRIFT = np.geomspace(1e-3, 3e-2, 7)
X0 = np.array([3.0, 0.1])
GTOL, N_STEPS_MAX = 1e-12, 20000


# ----------------------------------------------------------------------------- problems
def grad_sf(v):
    r = v[0] * v[1] - 1.0
    return r * np.array([v[1], v[0]])


def f_sf(v):
    return 0.5 * (v[0] * v[1] - 1.0) ** 2


def grad_abs(v):
    return np.sign(v[0] * v[1] - 1.0) * np.array([v[1], v[0]])


def grad_deep(v):
    x, y, z = v
    return (x * y * z - 1.0) * np.array([y * z, x * z, x * y])


def f_deep(v):
    return 0.5 * (v[0] * v[1] * v[2] - 1.0) ** 2


def grad_rot(v):                   # f = 1/4 (|v|^2 - 1)^2
    return (v @ v - 1.0) * v


def relu_problem(d, h, N, seed, teacher_width=2, noise=0.1):
    """Data, loss and gradient of sum_j a_j relu(w_j . x) with square loss / (2N),
    flat layout [a_1..a_h, w_1, ..., w_h]; default start drawn after the data."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    Wt = rng.standard_normal((teacher_width, d))
    at = rng.standard_normal(teacher_width)
    y = np.maximum(X @ Wt.T, 0.0) @ at + noise * rng.standard_normal(N)
    n = h * (1 + d)
    x0 = rng.standard_normal(n)

    def split(th):
        return th[:h], th[h:].reshape(h, d)

    def f(th):
        a, W = split(th)
        res = np.maximum(X @ W.T, 0.0) @ a - y
        return 0.5 * float(res @ res) / N

    def grad(th):
        a, W = split(th)
        pre = X @ W.T
        res = np.maximum(pre, 0.0) @ a - y
        ga = np.maximum(pre, 0.0).T @ res
        gW = (res[:, None] * (pre > 0) * a).T @ X
        return np.concatenate([ga, gW.ravel()]) / N

    return f, grad, n, x0


def mf_problem(M, r):
    m, n = M.shape

    def split(z):
        return z[: m * r].reshape(m, r), z[m * r:].reshape(n, r)

    def f(z):
        X, Y = split(z)
        return 0.5 * float(np.sum((X @ Y.T - M) ** 2))

    def grad(z):
        X, Y = split(z)
        R = X @ Y.T - M
        return np.concatenate([(R @ Y).ravel(), (R.T @ X).ravel()])

    return f, grad, split, (m + n) * r


def relu_charge_basis(d, h):
    """Per-neuron charges diag(-1 on a_j, +1 on w_j), Frobenius-normalized."""
    n = h * (1 + d)
    out = []
    for j in range(h):
        S = np.zeros((n, n))
        S[j, j] = -1.0
        idx = h + j * d + np.arange(d)
        S[idx, idx] = 1.0
        out.append(S / np.sqrt(1 + d))
    return out


def orthonormal(mats):
    V = np.array([np.asarray(S, float).ravel() for S in mats]).T
    Qm, _ = np.linalg.qr(V)
    n = int(round(np.sqrt(V.shape[0])))
    return [Qm[:, i].reshape(n, n) for i in range(Qm.shape[1])]


# ----------------------------------------------------------------------------- table
def sym_basis(n, sign):
    """Frobenius-orthonormal basis of the symmetric (sign=+1) / antisymmetric (-1) matrices."""
    out = []
    for i in range(n):
        for j in range(i, n):
            if i == j and sign < 0:
                continue
            E = np.zeros((n, n))
            E[i, j] = 1.0
            E[j, i] = sign * 1.0 if i != j else 1.0
            out.append(E / np.linalg.norm(E))
    return out


def null_dim(rows, basis=None, tol=1e-8, scale=None):
    """Dimension of {A (in span basis) : <g_s x_sᵀ, A> = 0}, s_kept/s_max and the gap.
    Singular values <= tol * scale count as zero (scale: s_max of the unrestricted problem, so
    that an identically zero restricted system, e.g. skew A for g(|x|²), is not rescaled)."""
    M = rows if basis is None else rows @ np.array([B.ravel() for B in basis]).T
    p = M.shape[1]
    s = np.linalg.svd(M, compute_uv=False)
    s = np.concatenate([s, np.zeros(p - s.size)])
    rank = int(np.sum(s > tol * (s[0] if scale is None else scale)))
    gap = np.inf if rank == p or s[rank] == 0 else s[rank - 1] / s[rank]
    return p - rank, s[rank - 1] / s[0], gap


def table_rows():
    rng = np.random.default_rng(SEED)
    M = rng.standard_normal((M_MF, N_MF))
    _, g_relu, n_relu, _ = relu_problem(D_RELU, H_RELU, N_RELU, SEED)
    _, g_small, _, _ = relu_problem(D_RELU, H_RELU, N_SMALL, SEED)
    _, g_mf, _, n_mf = mf_problem(M, R_MF)
    probs = [("sf", grad_sf, 2), ("abs", grad_abs, 2), ("deep", grad_deep, 3), ("rot", grad_rot, ROT_N),
             ("relu", g_relu, n_relu), ("relu_small", g_small, n_relu), ("mf", g_mf, n_mf)]
    out = {}
    for name, g, n in probs:
        S = rng.standard_normal((SAMPLE_FACTOR * n * n, n))      # same draws as the notebook
        G = np.array([g(x) for x in S])
        keep = np.linalg.norm(G, axis=1) > 0     # a zero gradient gives no equation
        G, S = G[keep], S[keep]
        rows = np.einsum("si,sj->sij", G / np.linalg.norm(G, axis=1, keepdims=True),
                         S / np.linalg.norm(S, axis=1, keepdims=True)).reshape(len(S), -1)
        dim, kept, gap = null_dim(rows)
        smax = np.linalg.norm(rows, 2)
        n_sym = null_dim(rows, sym_basis(n, +1), scale=smax)[0]
        n_skew = null_dim(rows, sym_basis(n, -1), scale=smax)[0]
        out[name] = (n, dim, n_sym, n_skew, kept, gap)
    return out


@pytest.fixture(scope="module")
def table():
    return table_rows()


# hand-derived: (dimension of the algebra, charges = dim g∩Sym, isometries = dim g∩Skew)
d_m = D_RELU - N_SMALL                       # coordinates of each w_j orthogonal to the single datum
n_relu = H_RELU * (1 + D_RELU)
EXPECTED = {
    "sf": (1, 1, 0), "abs": (1, 1, 0), "deep": (2, 2, 0),
    "rot": (ROT_N * (ROT_N - 1) // 2, 0, ROT_N * (ROT_N - 1) // 2),       # so(n)
    "relu": (H_RELU, H_RELU, 0),                                        # per-neuron rescalings
    # N < d: rescalings + free rows for the h(d-m) coordinates q orthogonal to the data;
    # symmetric ones: rescalings + Sym on the q block, antisymmetric: Skew on the q block
    "relu_small": (H_RELU + H_RELU * d_m * n_relu,
                   H_RELU + H_RELU * d_m * (H_RELU * d_m + 1) // 2,
                   H_RELU * d_m * (H_RELU * d_m - 1) // 2),
    "mf": (R_MF ** 2, R_MF * (R_MF + 1) // 2, R_MF * (R_MF - 1) // 2),  # gl(r) = Sym + Skew
}
# the "σ kept" column printed by the notebook (2 significant digits)
PRINTED_KEPT = {"sf": "0.34", "abs": "0.55", "deep": "0.29", "rot": "0.33", "relu": "0.058",
                "relu_small": "0.19", "mf": "0.011"}
PRINTED_DIM_CHARGES = {"sf": (2, 1, 1), "abs": (2, 1, 1), "deep": (3, 2, 2), "rot": (4, 6, 0),
                       "relu": (9, 3, 3), "relu_small": (9, 30, 9), "mf": (10, 4, 3)}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_symmetry_table(table, name):
    n, dim, n_sym, n_skew, kept, gap = table[name]
    assert (dim, n_sym, n_skew) == EXPECTED[name]
    assert (n, dim, n_sym) == PRINTED_DIM_CHARGES[name]
    if name in ("relu_small",):
        assert n_sym + n_skew < dim          # not closed under transposition (others = 18)
    else:
        assert n_sym + n_skew == dim
    assert f"{kept:.2g}" == PRINTED_KEPT[name]
    assert gap > 1e10                        # printed as ">1e10"


def test_known_generators_are_symmetries():
    """<∇f(x), A x> = 0 at random points for the hand-written generators."""
    rng = np.random.default_rng(3)
    for g, A in [(grad_sf, np.diag([1.0, -1.0])), (grad_abs, np.diag([1.0, -1.0])),
                 (grad_deep, np.diag([1.0, -1.0, 0.0])), (grad_deep, np.diag([0.0, 1.0, -1.0]))]:
        for x in rng.standard_normal((5, A.shape[0])):
            assert abs(g(x) @ (A @ x)) < 1e-12 * (1 + np.linalg.norm(g(x)) * np.linalg.norm(x) ** 2)
    _, g_relu, n, _ = relu_problem(D_RELU, H_RELU, N_RELU, SEED)
    for S in relu_charge_basis(D_RELU, H_RELU):
        for x in rng.standard_normal((5, n)):
            assert abs(g_relu(x) @ (S @ x)) < 1e-12


def test_printed_charge_formulas_span_the_known_charges():
    # printed: "x^2 - y^2" for both scalar problems, and for the deep scalar
    # "-x^2 + z^2;  -0.5 x^2 + y^2 - 0.5 z^2": both in span{x²-y², y²-z²} and independent
    printed = np.array([[-1.0, 0.0, 1.0], [-0.5, 1.0, -0.5]])
    known = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    assert np.linalg.matrix_rank(printed) == 2
    assert np.linalg.matrix_rank(np.vstack([printed, known])) == 2


# ----------------------------------------------------------------------------- gradient flows
def flow(grad, x0, t1=T):
    sol = solve_ivp(lambda t, x: -grad(x), (0.0, t1), x0, method="DOP853", rtol=1e-12, atol=1e-14,
                    dense_output=True)
    return sol.sol(np.linspace(0.0, t1, 201)).T


def mf_setup():
    rng = np.random.default_rng(SEED)
    M = rng.standard_normal((M_MF, N_MF))
    f, g, split, n = mf_problem(M, R_MF)
    return f, g, split, np.random.default_rng(SEED + 1).standard_normal(n)


def test_gradient_flow_losses_and_conservation():
    f_relu, g_relu, _, x0_relu = relu_problem(D_RELU, H_RELU, N_RELU, SEED)
    f_mf, g_mf, split, x0_mf = mf_setup()
    cases = [  # (f, grad, x0, charges, printed f(0), printed f(T))
        (f_sf, grad_sf, X0, lambda x: [x[0] ** 2 - x[1] ** 2], "0.2450", "0.0000"),
        (f_deep, grad_deep, np.array([2.0, 1.0, 0.3]),
         lambda x: [x[0] ** 2 - x[1] ** 2, x[1] ** 2 - x[2] ** 2], "0.0800", "0.0000"),
        (f_relu, g_relu, x0_relu,
         lambda x: [x[j] ** 2 - np.sum(x[H_RELU + j * D_RELU: H_RELU + (j + 1) * D_RELU] ** 2)
                    for j in range(H_RELU)], "4.8879", "0.0736"),
        (f_mf, g_mf, x0_mf,
         lambda z: (lambda X, Y: (X.T @ X - Y.T @ Y).ravel())(*split(z)), "1.4995", "0.0748"),
    ]
    for f, g, x0, Q, f0, f1 in cases:
        xs = flow(g, x0)
        assert f"{f(xs[0]):.4f}" == f0 and f"{f(xs[-1]):.4f}" == f1
        q = np.array([Q(x) for x in xs])
        scale = 0.5 * np.max(np.sum(xs ** 2, axis=1))
        assert np.abs(q - q[0]).max() / scale < 1e-8
        fv = np.array([f(x) for x in xs])
        assert np.all(np.diff(fv) <= 1e-12)
    X, Y = split(x0_mf)
    C0 = X.T @ X - Y.T @ Y
    assert np.round(C0, 4).tolist() == [[0.6271, 0.4623], [0.4623, 2.1483]]


# ----------------------------------------------------------------------------- drift slopes
def drift_slopes(grad, x0, charges):
    """charges: Frobenius-orthonormal symmetric matrices; returns the two fitted slopes."""
    S = np.array(charges)
    ps, tot = [], []
    for eta in ETAS_DRIFT:
        xs = [np.array(x0, float)]
        for _ in range(int(round(T / eta))):
            xs.append(xs[-1] - eta * grad(xs[-1]))
        xs = np.array(xs)
        q = 0.5 * np.einsum("ti,kij,tj->tk", xs, S, xs)
        scale = 0.5 * np.max(np.sum(xs ** 2, axis=1))
        dq = np.diff(q, axis=0)
        # exact per-step change: eta²/2 <g, S g>
        G = np.array([grad(x) for x in xs[:-1]])
        np.testing.assert_allclose(dq, 0.5 * eta ** 2 * np.einsum("ti,kij,tj->tk", G, S, G),
                                   rtol=0, atol=1e-12 * scale)
        ps.append(np.mean(np.linalg.norm(dq, axis=1)) / scale)
        tot.append(np.linalg.norm(q[-1] - q[0]) / scale)
    le = np.log(ETAS_DRIFT)
    return np.polyfit(le, np.log(ps), 1)[0], np.polyfit(le, np.log(tot), 1)[0]


def test_drift_slopes():
    _, g_relu, _, x0_relu = relu_problem(D_RELU, H_RELU, N_RELU, SEED)
    cases = [
        (grad_sf, X0, [np.diag([1.0, -1.0]) / np.sqrt(2)], "2.04", "1.04"),
        (grad_deep, [2.0, 1.0, 0.3], orthonormal([np.diag([1.0, -1.0, 0.0]), np.diag([0.0, 1.0, -1.0])]),
         "2.02", "1.02"),
        (g_relu, x0_relu, relu_charge_basis(D_RELU, H_RELU), "2.01", "1.01"),
    ]
    for g, x0, S, p_step, p_tot in cases:
        s_step, s_tot = drift_slopes(g, x0, S)
        assert f"{s_step:.2f}" == p_step and f"{s_tot:.2f}" == p_tot
        assert abs(s_step - 2.0) <= 0.1 and abs(s_tot - 1.0) <= 0.1


# ----------------------------------------------------------------------------- large steps
def gd_scalar(eta, x0=X0):
    """Plain gradient descent on 1/2 (xy-1)^2 with the notebook's stopping rules:
    converged when ||grad|| <= 1e-12; diverged when ||x|| > 1e8 max(1, ||x0||) or not finite."""
    x, y = float(x0[0]), float(x0[1])
    blow = 1e8 * max(1.0, math.hypot(x, y))
    for k in range(N_STEPS_MAX):
        r = x * y - 1.0
        gx, gy = r * y, r * x
        if math.hypot(gx, gy) <= GTOL:
            return "converged", k, (x, y)
        x, y = x - eta * gx, y - eta * gy
        if not (math.isfinite(x) and math.isfinite(y)) or math.hypot(x, y) > blow:
            return "diverged", k + 1, None
    return "neither", N_STEPS_MAX, (x, y)


def test_large_step_reported_values():
    # printed: limit point, lambda_max = x²+y² and 2/eta (the step counts are not printed: they
    # depend on the last bits of the gradient norm at the stopping test)
    printed = {0.01: ("3.0162", "0.3315", "9.21", "200.00"),
               0.2: ("2.9375", "0.3404", "8.74", "10.00"),
               0.3: ("1.5054", "0.6643", "2.71", "6.67")}
    for eta, (x_p, y_p, lam_p, two_p) in printed.items():
        status, k, (x, y) = gd_scalar(eta)
        lam = x * x + y * y
        assert status == "converged" and 0 < k < N_STEPS_MAX
        assert (f"{x:.4f}", f"{y:.4f}", f"{lam:.2f}", f"{2 / eta:.2f}") == (x_p, y_p, lam_p, two_p)
        # at the minimum xy = 1 the Hessian [[y², 2xy-1], [2xy-1, x²]] has eigenvalues 0 and x²+y²,
        # and x²+y² = sqrt((x²-y²)² + 4)
        assert abs(x * y - 1.0) < 1e-10
        H = np.array([[y * y, 2 * x * y - 1], [2 * x * y - 1, x * x]])
        assert abs(np.linalg.eigvalsh(H).max() - lam) < 1e-9
        assert abs(lam - math.hypot(x * x - y * y, 2.0)) < 1e-9
        assert lam <= 2.0 / eta
    assert gd_scalar(0.45)[0] == "diverged"


def test_imbalance_recursion():
    # (x² - y²)⁺ = (1 - η² r²)(x² - y²) with r = xy - 1, exactly
    rng = np.random.default_rng(1)
    for x, y in rng.standard_normal((10, 2)):
        eta = 0.3
        r = x * y - 1.0
        xn, yn = x - eta * r * y, y - eta * r * x
        assert abs((xn ** 2 - yn ** 2) - (1 - eta ** 2 * r ** 2) * (x ** 2 - y ** 2)) < 1e-12


def gd_path(eta, x0=X0):
    """The iterates of gd_scalar (same stopping rules), until convergence or a blow-up past 1e4."""
    x, y = float(x0[0]), float(x0[1])
    path = [(x, y)]
    for _ in range(N_STEPS_MAX):
        r = x * y - 1.0
        if math.hypot(r * y, r * x) <= GTOL:
            break
        x, y = x - eta * r * y, y - eta * r * x
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > 1e4:
            break
        path.append((x, y))
    return np.array(path)


def test_imbalance_grows_only_beyond_sqrt2():
    """|x² - y²| is multiplied by |1 - η² r²| (test_imbalance_recursion), which exceeds 1 iff η|r| > √2.
    Printed: 14 runs with such a step, all step sizes from 0.385 on, 9 converged and 5 diverged."""
    grid = np.round(np.arange(0.005, 0.45 + 1e-9, 0.005), 6)
    grew = []
    for eta in grid:
        P = gd_path(eta)
        D = P[:, 0] ** 2 - P[:, 1] ** 2
        r = P[:-1, 0] * P[:-1, 1] - 1.0
        tol = 1e-12 * np.sum(P[1:] ** 2, axis=1)
        up = np.abs(D[1:]) - np.abs(D[:-1]) > tol
        beyond = eta * np.abs(r) > math.sqrt(2.0)
        assert np.array_equal(up, beyond), eta
        if beyond.any():
            grew.append(eta)
            assert np.flatnonzero(beyond)[0] == 2          # the third step, the same in every such run
    grew = np.array(grew)
    status = {eta: gd_scalar(eta)[0] for eta in grew}
    n_conv = sum(v == "converged" for v in status.values())
    n_div = sum(v == "diverged" for v in status.values())
    assert (grew.size, f"{grew.min():.3f}", n_conv, n_div) == (14, "0.385", 9, 5)
    assert np.array_equal(grew, grid[grid >= grew.min()])
    # first threshold from the exact first steps: eta |r_2| crosses sqrt(2) between 0.380 and 0.385
    def r2(eta):
        x, y = gd_path(eta)[2]
        return x * y - 1.0
    assert 0.380 * abs(r2(0.380)) < math.sqrt(2) < 0.385 * abs(r2(0.385))


def test_large_step_grid_summary():
    grid = np.round(np.arange(0.005, 0.45 + 1e-9, 0.005), 6)
    res = {eta: gd_scalar(eta) for eta in grid}
    conv = np.array([e for e, r in res.items() if r[0] == "converged"])
    div = np.array([e for e, r in res.items() if r[0] == "diverged"])
    other = [e for e, r in res.items() if r[0] == "neither"]
    assert (grid.size, conv.size, div.size, len(other)) == (90, 85, 5, 0)
    assert f"{conv.max():.3f}" == "0.425" and f"{div.min():.3f}" == "0.430"
    lam = np.array([res[e][2][0] ** 2 + res[e][2][1] ** 2 for e in conv])
    assert np.all(lam <= 2.0 / conv)
    assert f"{np.max(lam * conv / 2):.3f}" == "0.891"


# ----------------------------------------------------------------------------- nonsmooth case
def test_subgradient_flow_closed_form():
    # from (3, 0.1), xy < 1: x' = y, y' = x, so x = 3 cosh t + 0.1 sinh t, y = 0.1 cosh t + 3 sinh t,
    # xy = 0.3 cosh 2t + 4.505 sinh 2t; x² - y² = 8.99 for all t.
    t_hit = brentq(lambda t: 0.3 * np.cosh(2 * t) + 4.505 * np.sinh(2 * t) - 1.0, 0.0, 1.0, xtol=1e-15)
    x = 3 * np.cosh(t_hit) + 0.1 * np.sinh(t_hit)
    y = 0.1 * np.cosh(t_hit) + 3 * np.sinh(t_hit)
    assert f"{t_hit:.5f}" == "0.07699"
    assert f"{x * x - y * y:.6f}" == "8.990000"
    # end point: xy = 1 and x² - y² = D  =>  x² = (D + sqrt(D² + 4)) / 2
    D = 8.99
    xe = math.sqrt((D + math.hypot(D, 2.0)) / 2)
    assert abs(x - xe) < 1e-12 and abs(y - 1 / xe) < 1e-12
    assert (f"{xe:.5f}", f"{1 / xe:.5f}") == ("3.01660", "0.33150")
    # the gradient flow of 1/2 (xy-1)^2 ends at the same point (same conserved hyperbola)
    xg = flow(grad_sf, X0, 20.0)[-1]
    assert np.linalg.norm(xg - [xe, 1 / xe]) < 1e-6
    # its limit: lambda_max = x² + y² = sqrt(D² + 4), printed 9.21 in the figure
    assert f"{math.hypot(D, 2.0):.2f}" == "9.21"
