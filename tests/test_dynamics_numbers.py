"""Numbers printed by notebooks/08_dynamics_to_flat_minima.ipynb, recomputed independently.

The notebook runs ``flatlib.flows`` (GD, the gradient flow), ``flatlib.dynamics`` (normalized GD,
SAM, 1-SAM, the warm-started lambda_max tracker) on ``flatlib.networks.MLP``,
``flatlib.problems.DeepFactorization`` and ``DiagonalLinearNetwork``. Here:

* the digits network is a one-hidden-layer MSE network written from scratch (same split, same He
  draws, output layer zero), trained by a plain GD loop; lambda_max comes from SciPy's ``eigsh``
  started at random on central differences of that gradient; the flow from ``solve_ivp`` (RK23,
  the notebook's tolerances);
* normalized GD, SAM and 1-SAM are loops written here on an (X, Y) gradient of
  ½‖XYᵀ - M‖² (1-SAM draws its entries with the documented protocol: one
  ``integers(0, mn, size=n_steps)`` call of ``default_rng(seed)``); lambda_max at the end points
  from ``MatrixFactorization.hess`` (an independent implementation) and ``numpy.linalg.eigvalsh``;
* the deep factorizations' Hessians at minimizers are ``JᵀJ`` with the Jacobian ``J`` of the
  product built column by column from the product itself (it is affine in each entry, so
  ``J e_i = P(W + e_i) - P(W)`` exactly);
* the diagonal network's implicit bias is solved in the primal (SLSQP on the potential ``Q_α``),
  the minimal l1 interpolator by a different linear program (``t >= |β|``).

f° along the GD run (a local search in 2,410 dimensions) is recomputed with ``max_variation`` on
the independent network, started from the independent eigenvector: what is checked is the network
and its curvature, not the search.

Expected strings: what the notebook prints with its default parameters (seed 0, n_train 200).
"""
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import linprog, minimize
from scipy.sparse.linalg import LinearOperator, eigsh

from flatlib import max_variation
from flatlib.networks import load_digits
from flatlib.problems import MatrixFactorization
from nbparams import notebook_parameters

PARAMS = notebook_parameters("08_dynamics_to_flat_minima")
SEED, N_TRAIN = 0, 200
ETAS = [0.05, 0.1, 0.2, 0.3, 0.5]
TARGET = 0.1

# --- printed by the notebook (default run) ----------------------------------------------------
PRINTED_LAM0 = "5.21"
PRINTED_FLOW = ("47", "13.3", "0.00")
PRINTED_S1 = {  # eta: (regime, max |GD - flow|/flow, band low, band high, loss monotone)
    0.05: ("below", "0.00", "0.29", "0.33", True), 0.1: ("below", "0.01", "0.58", "0.66", True),
    0.2: ("edge", "0.29", "0.95", "1.07", False), 0.3: ("edge", "0.53", "0.94", "1.20", False),
    0.5: ("edge", "0.73", "1.02", "1.38", False)}
PRINTED_FCIRC = ("0.3", "0.64", "1.01", "0.4", "5.7")
PRINTED_S5 = {  # eta: (steps, max lambda, lambda at loss 0.1, ratio, ends)
    0.05: (937, "13.3", "13.3", "0.33", "below"), 0.1: (469, "13.3", "13.3", "0.66", "below"),
    0.2: (246, "11.3", "9.6", "0.96", "at"), 0.3: (161, "9.3", "7.0", "1.05", "at"),
    0.5: (98, "6.0", "4.4", "1.11", "at")}
PRINTED_SCALAR = {"constant": ("< 1e-6", "2.00"), 0.25: ("< 1e-6", "2.00"), 0.5: ("0.72", "6.76"),
                  1.0: ("0.96", "8.82"), "gd": ("1.00", "9.17")}
PRINTED_MF_HEAD = ("[5.328 1.109]", "10.657", "49.86", "51.50")
PRINTED_MF = {  # run: (||C||, lambda/2s1, trace/min, |X|^2/s1, |Y|^2/s1)
    "start": ("23.97", "2.5881", "1.8991", "4.695", "0.481"),
    "gd": ("23.97", "2.5884", "1.8993", "4.695", "0.482"),
    "ngd": ("0.85", "1.0000", "1.0626", "1.000", "1.000"),
    "ngd_dec": ("0.90", "1.0000", "1.0649", "1.000", "1.000"),
    "sam": ("0.64", "1.0000", "1.0529", "1.000", "1.000"),
    "1sam": ("2.96", "1.0366", "1.0002", "1.309", "0.764")}
PRINTED_DLN = {  # (l1, error, support)
    "l1": ("3.00", "0.00", 3), "theory": ("5.13", "1.20", 40), "gd": ("5.15", "1.21", 40),
    "sam": ("5.31", "1.26", 37), "1sam": ("3.00", "0.00", 3)}
PRINTED_DEEP = [(2, 27, "2.84", "1.000"), (2, 27, "1.40", "1.000"), (2, 27, "1.16", "1.000"),
                (3, 36, "1.55", "1.093"), (3, 36, "1.94", "1.157"), (3, 36, "3.32", "1.006")]
PRINTED_TIE = ("0.4562", "2.1922", 101, "0.4562", "2.1919", "0.070")
PRINTED_DEPTH3 = (1478, 841, 637)


def fmt(x, d):
    s = f"{x:.{d}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def test_parameters_are_the_ones_checked_here():
    assert PARAMS["seed"] == SEED and PARAMS["n_train"] == N_TRAIN
    assert PARAMS["fast"] is False and PARAMS["full"] is False


# ================================================================= sections 1 and 5: the network
class Net:
    """One hidden ReLU layer, MSE against one-hot targets, flat layout [W1, b1, W2, b2]."""

    def __init__(self, X, y, h=32, k=10):
        self.X, self.T = X, np.eye(k)[y]
        self.N, self.d = X.shape
        self.h, self.k = h, k
        self.n = h * self.d + h + k * h + k

    def split(self, t):
        d, h, k = self.d, self.h, self.k
        W1 = t[:h * d].reshape(h, d)
        b1 = t[h * d:h * d + h]
        W2 = t[h * d + h:h * d + h + k * h].reshape(k, h)
        b2 = t[h * d + h + k * h:]
        return W1, b1, W2, b2

    def f(self, t):
        W1, b1, W2, b2 = self.split(t)
        out = np.maximum(self.X @ W1.T + b1, 0) @ W2.T + b2
        return 0.5 * np.sum((out - self.T) ** 2) / self.N

    def grad(self, t):
        W1, b1, W2, b2 = self.split(t)
        pre = self.X @ W1.T + b1
        a = np.maximum(pre, 0)
        e = (a @ W2.T + b2 - self.T) / self.N
        ga = (e @ W2) * (pre > 0)
        return np.concatenate([(ga.T @ self.X).ravel(), ga.sum(0), (e.T @ a).ravel(), e.sum(0)])

    def hvp(self, t, v):
        """Exact Hessian-vector product (the directional derivative of the backward pass above;
        relu'' = 0 off the kinks): central differences would straddle kinks."""
        W1, b1, W2, b2 = self.split(t)
        V1, c1, V2, c2 = self.split(v)
        pre = self.X @ W1.T + b1
        D = (pre > 0).astype(float)
        a = D * pre
        e = (a @ W2.T + b2 - self.T) / self.N
        da = D * (self.X @ V1.T + c1)
        de = (da @ W2.T + a @ V2.T + c2) / self.N
        dga = (de @ W2 + e @ V2) * D
        return np.concatenate([(dga.T @ self.X).ravel(), dga.sum(0), (de.T @ a + e.T @ da).ravel(), de.sum(0)])

    def lam(self, t, seed=0):
        A = LinearOperator((self.n, self.n), matvec=lambda v: self.hvp(t, np.ravel(v)), dtype=float)
        w, V = eigsh(A, k=1, which="LA", tol=1e-9, v0=np.random.default_rng(seed).standard_normal(self.n))
        return float(w[0]), V[:, 0]


def test_independent_hvp_against_central_differences():
    """The test's own HVP against central differences of its own gradient at a generic point."""
    X_raw, y, _, _ = load_digits(N_TRAIN, seed=0, standardize=False)
    net = Net(X_raw / 16.0, y)
    g = np.random.default_rng(5)
    t, v = 0.3 * g.standard_normal(net.n), g.standard_normal(net.n)
    h = 1e-7
    fd = (net.grad(t + h * v) - net.grad(t - h * v)) / (2 * h)
    assert np.linalg.norm(net.hvp(t, v) - fd) <= 1e-5 * np.linalg.norm(fd)


@pytest.fixture(scope="module")
def network():
    X_raw, y, _, _ = load_digits(N_TRAIN, seed=0, standardize=False)
    net = Net(X_raw / 16.0, y)
    g = np.random.default_rng(SEED)
    W1 = g.standard_normal(32 * 64) * np.sqrt(2.0 / 64)     # He draws, layer by layer (the output layer's
    t0 = np.zeros(net.n)                                     # draws come after and are zeroed anyway)
    t0[:32 * 64] = W1
    runs = {}
    for eta in ETAS:
        x, xs, fs = t0.copy(), [t0.copy()], [net.f(t0)]
        while fs[-1] > TARGET:
            x = x - eta * net.grad(x)
            xs.append(x)
            fs.append(net.f(x))
        every = max(1, int(round(1.0 / eta)))
        idx = np.unique(np.r_[np.arange(0, len(xs), every), len(xs) - 1])
        lams = [net.lam(xs[i]) for i in idx]
        runs[eta] = dict(loss=np.array(fs), idx=idx, t=idx * eta, lam=np.array([l for l, _ in lams]),
                         vec=[v for _, v in lams], xs=[xs[i] for i in idx])
    t_flow = 1.15 * runs[ETAS[0]]["t"][-1]
    sol = solve_ivp(lambda t, y: -net.grad(y), (0.0, t_flow), t0, method="RK23", rtol=1e-4, atol=1e-7,
                    t_eval=np.arange(0.0, t_flow, 1.0))
    loss = np.array([net.f(y) for y in sol.y.T])
    k = int(np.argmax(loss <= TARGET))
    flow_lam = np.array([net.lam(y)[0] for y in sol.y.T[:k + 1]])
    return net, runs, sol.t[:k + 1], flow_lam


def test_section1_flow_and_initialization(network):
    net, runs, ft, fl = network
    assert net.n == 2410
    assert fmt(fl[0], 2) == PRINTED_LAM0
    assert (f"{ft[-1]:.0f}", f"{fl[-1]:.1f}", fmt(max(0.0, -np.diff(fl).min()), 2)) == PRINTED_FLOW


def test_section1_table(network):
    net, runs, ft, fl = network
    for eta in ETAS:
        R = runs[eta]
        regime = "below" if 2 / eta > 1.1 * fl.max() else "edge" if 2 / eta < 0.9 * fl.max() else "between"
        lf = np.interp(R["t"], ft, fl)
        dev = np.max(np.abs(R["lam"] - lf) / lf)
        half = R["t"] >= R["t"][-1] / 2
        band = (R["lam"][half].min() * eta / 2, R["lam"][half].max() * eta / 2)
        mono = bool(np.all(np.diff(R["loss"]) <= 0))
        assert (regime, fmt(dev, 2), fmt(band[0], 2), fmt(band[1], 2), mono) == PRINTED_S1[eta], eta


def test_section5_table(network):
    net, runs, ft, fl = network
    for eta in ETAS:
        R = runs[eta]
        ratio = R["lam"][-1] * eta / 2
        got = (len(R["loss"]) - 1, f"{R['lam'].max():.1f}", f"{R['lam'][-1]:.1f}", fmt(ratio, 2),
               "at" if ratio >= 0.9 else "below")
        assert got == PRINTED_S5[eta], eta


def test_section1_fcirc_along_gd(network):
    """f° at r = 0.05 along the eta = 0.3 run (12 points), from the independent network and eigenvector."""
    net, runs, ft, fl = network
    eta = float(PRINTED_FCIRC[0])
    R = runs[eta]
    r = 0.05
    pick = np.unique(np.linspace(0, len(R["t"]) - 1, 12).round().astype(int))
    fc = np.array([max_variation(net.f, R["xs"][k], r, grad=net.grad, n_starts=2, starts=R["vec"][k], rng=SEED,
                                 tol=1e-6, max_iter=100).value for k in pick])
    slope = np.array([np.linalg.norm(net.grad(R["xs"][k])) * r for k in pick])
    curv = 0.5 * R["lam"][pick] * r ** 2
    up = slope + curv
    assert (fmt(np.min(fc / up), 2), fmt(np.max(fc / up), 2)) == PRINTED_FCIRC[1:3]
    assert (f"{np.min(slope / curv):.1f}", f"{np.max(slope / curv):.1f}") == PRINTED_FCIRC[3:]


# ================================================================= section 2: normalized GD
def scalar_grad(v):
    return (v[0] * v[1] - 1.0) * np.array([v[1], v[0]])


def ngd_loop(grad, z, alphas):
    """Normalized GD written here; stops where the gradient vanishes exactly."""
    for a in alphas:
        g = grad(z)
        n = np.linalg.norm(g)
        if n == 0.0:
            break
        z = z - a * g / n
    return z


def test_section2_scalar():
    z0 = np.array([3.0, 0.1])
    q0 = z0[0] ** 2 - z0[1] ** 2
    k = np.arange(20000)
    cases = {"constant": np.full(20000, 0.1), 0.25: 0.5 / (k + 1) ** 0.25, 0.5: 0.5 / (k + 1) ** 0.5,
             1.0: 0.5 / (k + 1.0)}
    for key, alphas in cases.items():
        z = ngd_loop(scalar_grad, z0, alphas)
        q = z[0] ** 2 - z[1] ** 2
        txt = "< 1e-6" if abs(q / q0) < 1e-6 else f"{q / q0:.2f}"
        assert (txt, f"{np.sqrt(q ** 2 + 4):.2f}") == PRINTED_SCALAR[key], key
    z = z0.copy()
    for _ in range(20000):
        z = z - 0.1 * scalar_grad(z)
    q = z[0] ** 2 - z[1] ** 2
    assert (f"{q / q0:.2f}", f"{np.sqrt(q ** 2 + 4):.2f}") == PRINTED_SCALAR["gd"]


class MF:
    """½‖XYᵀ - M‖² on (X, Y) pairs, with an entry-wise gradient for 1-SAM (entry k = i n + j)."""

    def __init__(self, M):
        self.M = M
        self.m, self.n = M.shape

    def grad(self, X, Y):
        R = X @ Y.T - self.M
        return R @ Y, R.T @ X

    def entry_grad(self, X, Y, k):
        i, j = divmod(k, self.n)
        rij = X[i] @ Y[j] - self.M[i, j]
        gX, gY = np.zeros_like(X), np.zeros_like(Y)
        gX[i], gY[j] = rij * Y[j], rij * X[i]
        return gX, gY


def mf_setup():
    rng = np.random.default_rng(SEED)
    M = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 3))
    U, s, Vt = np.linalg.svd(M)
    Xb, Yb = U[:, :2] * np.sqrt(s[:2]), Vt[:2].T * np.sqrt(s[:2])
    G = np.array([[2.0, 0.5], [0.0, 0.7]])
    X0 = Xb @ G + 0.3 * rng.standard_normal((5, 2))
    Y0 = Yb @ np.linalg.inv(G).T
    return M, s[:2], X0, Y0


def mf_run(P, X, Y, kind, n_steps, seed=SEED):
    norm = lambda gX, gY: np.sqrt(np.sum(gX ** 2) + np.sum(gY ** 2))    # noqa: E731
    if kind == "1sam":
        idx = np.random.default_rng(seed).integers(0, P.m * P.n, size=n_steps)
    for k in range(n_steps):
        if kind == "gd":
            gX, gY = P.grad(X, Y)
            X, Y = X - 0.01 * gX, Y - 0.01 * gY
        elif kind in ("ngd", "ngd_dec"):
            gX, gY = P.grad(X, Y)
            nn = norm(gX, gY)
            if nn == 0.0:
                break
            a = 0.2 if kind == "ngd" else 1.0 / (k + 1) ** 0.25
            X, Y = X - a * gX / nn, Y - a * gY / nn
        elif kind == "sam":
            gX, gY = P.grad(X, Y)
            nn = norm(gX, gY)
            hX, hY = P.grad(X + 0.5 * gX / nn, Y + 0.5 * gY / nn)
            X, Y = X - 0.02 * hX, Y - 0.02 * hY
        else:
            gX, gY = P.entry_grad(X, Y, int(idx[k]))
            nn = norm(gX, gY)
            eX, eY = (0.1 * gX / nn, 0.1 * gY / nn) if nn > 0 else (0.0, 0.0)
            hX, hY = P.entry_grad(X + eX, Y + eY, int(idx[k]))
            X, Y = X - 0.05 * hX, Y - 0.05 * hY
    for _ in range(50000):                                  # land on the minimizers
        gX, gY = P.grad(X, Y)
        if np.sqrt(np.sum(gX ** 2) + np.sum(gY ** 2)) <= 1e-12:
            break
        X, Y = X - 0.02 * gX, Y - 0.02 * gY
    return X, Y


def test_sections_2_and_3_matrix_factorization():
    M, s, X0, Y0 = mf_setup()
    m, n = M.shape
    trace_min = 2 * np.sqrt(m * n) * s.sum()
    assert (np.array2string(np.round(s, 3)), f"{2 * s[0]:.3f}", f"{trace_min:.2f}",
            f"{(m + n) * s.sum():.2f}") == PRINTED_MF_HEAD
    P, H = MF(M), MatrixFactorization(M, 2)
    steps = {"start": 0, "gd": 5000, "ngd": 5000, "ngd_dec": 10000, "sam": 5000, "1sam": 15000}
    for kind, n_steps in steps.items():
        X, Y = mf_run(P, X0.copy(), Y0.copy(), "gd" if kind == "start" else kind, n_steps)
        lam = np.linalg.eigvalsh(H.hess(H.pack(X, Y)))[-1]
        got = (f"{np.linalg.norm(X.T @ X - Y.T @ Y):.2f}", f"{lam / (2 * s[0]):.4f}",
               f"{(n * np.sum(X ** 2) + m * np.sum(Y ** 2)) / trace_min:.4f}",
               f"{np.linalg.norm(X, 2) ** 2 / s[0]:.3f}", f"{np.linalg.norm(Y, 2) ** 2 / s[0]:.3f}")
        assert got == PRINTED_MF[kind], kind
        assert H.f(H.pack(X, Y)) < 1e-8


# ================================================================= section 3: diagonal network
def test_section3_diagonal_network():
    g = np.random.default_rng(SEED)                          # sparse_regression's documented draws
    X = g.standard_normal((20, 40))
    beta_star = np.zeros(40)
    beta_star[:3] = g.choice([-1.0, 1.0], size=3)
    y = X @ beta_star
    N, d, alpha = 20, 40, 0.3

    def grad(z):
        u, v = z[:d], z[d:]
        gb = X.T @ (X @ (u * u - v * v) - y) / N
        return np.concatenate([2 * u * gb, -2 * v * gb])

    def sgrad(z, i):
        u, v = z[:d], z[d:]
        r = X[i] @ (u * u - v * v) - y[i]
        return np.concatenate([2 * r * u * X[i], -2 * r * v * X[i]])

    def land(z):
        for _ in range(3000):
            z = z - 0.05 * grad(z)
        return z

    z0 = np.full(2 * d, alpha)
    z = z0.copy()
    for _ in range(10000):
        z = z - 0.05 * grad(z)
    ends = {"gd": z}
    z = z0.copy()
    for _ in range(10000):
        gz = grad(z)
        z = z - 0.05 * grad(z + 0.05 * gz / np.linalg.norm(gz))
    ends["sam"] = land(z)
    z = z0.copy()
    idx = np.random.default_rng(SEED).integers(0, N, size=20000)
    for i in idx:
        gz = sgrad(z, i)
        nn = np.linalg.norm(gz)
        z = z - 0.05 * sgrad(z + (0.05 * gz / nn if nn > 0 else 0.0), i)
    ends["1sam"] = land(z)

    def q(b):
        zz = b / alpha ** 2
        return alpha ** 2 * np.sum(2 - np.sqrt(4 + zz ** 2) + zz * np.arcsinh(zz / 2))

    start = np.linalg.lstsq(X, y, rcond=None)[0]
    res = minimize(q, start, jac=lambda b: np.arcsinh(b / (2 * alpha ** 2)), method="SLSQP",
                   constraints=[{"type": "eq", "fun": lambda b: X @ b - y, "jac": lambda b: X}],
                   options=dict(ftol=1e-14, maxiter=2000))
    lp = linprog(np.r_[np.zeros(d), np.ones(d)], A_ub=np.block([[np.eye(d), -np.eye(d)], [-np.eye(d), -np.eye(d)]]),
                 b_ub=np.zeros(2 * d), A_eq=np.hstack([X, np.zeros((N, d))]), b_eq=y, bounds=(None, None))
    betas = {"l1": lp.x[:d], "theory": res.x}
    betas.update({k: z[:d] ** 2 - z[d:] ** 2 for k, z in ends.items()})
    for key, b in betas.items():
        got = (f"{np.abs(b).sum():.2f}", f"{np.linalg.norm(b - beta_star):.2f}", int(np.sum(np.abs(b) > 0.01)))
        assert got == PRINTED_DLN[key], key


# ================================================================= section 4: two notions of balance
def product(Ws):
    P = Ws[0]
    for W in Ws[1:]:
        P = W @ P
    return P


def jacobian(Ws):
    """Columns J e_i = P(W + e_i) - P(W): the product is affine in each single entry."""
    P0 = product(Ws)
    cols = []
    for l, W in enumerate(Ws):
        for a in range(W.shape[0]):
            for b in range(W.shape[1]):
                E = [w.copy() for w in Ws]
                E[l][a, b] += 1.0
                cols.append((product(E) - P0).ravel())
    return np.array(cols).T


def balanced(M, r, L):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    S = np.diag(s[:r] ** (1.0 / L))
    return [S @ Vt[:r]] + [S.copy() for _ in range(L - 2)] + [U[:, :r] @ S]


def orbit(Ws, Gs):
    out = []
    for l, W in enumerate(Ws):
        left = Gs[l] if l < len(Gs) else np.eye(W.shape[0])
        right = np.linalg.inv(Gs[l - 1]) if l > 0 else np.eye(W.shape[1])
        out.append(left @ W @ right)
    return out


def lam_at_min(Ws):
    J = jacobian(Ws)
    return np.linalg.eigvalsh(J @ J.T)[-1]                   # = top eigenvalue of the Hessian JᵀJ


def test_section4_exact_formula_rows():
    got = []
    for depth in (2, 3):
        for trial in range(3):
            g = np.random.default_rng(100 * SEED + 10 * depth + trial)
            Md = g.standard_normal((5, 3)) @ g.standard_normal((3, 4))
            Ws = orbit(balanced(Md, 3, depth), [np.eye(3) + 0.3 * g.standard_normal((3, 3)) for _ in range(depth - 1)])
            lam = lam_at_min(Ws)
            s1 = np.linalg.norm(Md, 2)
            flattest = depth * s1 ** (2 * (depth - 1) / depth)
            bound = 0.0
            for l in range(depth):
                A = product(Ws[l + 1:]) if l < depth - 1 else np.eye(5)
                B = product(Ws[:l]) if l > 0 else np.eye(4)
                bound += np.linalg.norm(A, 2) ** 2 * np.linalg.norm(B, 2) ** 2
            n_par = sum(W.size for W in Ws)
            got.append((depth, n_par, f"{lam / flattest:.2f}", f"{bound / lam:.3f}"))
    assert got == PRINTED_DEEP


def test_section4_tie_interval_and_depth3_grid():
    M, s, _, _ = mf_setup()
    H = MatrixFactorization(M, 2)
    U, sv, Vt = np.linalg.svd(M)
    Xb, Yb = U[:, :2] * np.sqrt(sv[:2]), Vt[:2].T * np.sqrt(sv[:2])
    lo, hi = np.sqrt(s[1] / s[0]), np.sqrt(s[0] / s[1])
    cs = np.geomspace(lo / 3, hi * 3, 241)
    flat, cf = [], []
    for c in cs:
        X, Y = Xb * [1.0, c], Yb / [1.0, c]
        flat.append(abs(np.linalg.eigvalsh(H.hess(H.pack(X, Y)))[-1] - 2 * s[0]) < 1e-10 * s[0])
        cf.append(np.linalg.norm(X.T @ X - Y.T @ Y))
    flat, cf = np.array(flat), np.array(cf)
    got = (f"{lo:.4f}", f"{hi:.4f}", int(flat.sum()), f"{cs[flat].min():.4f}", f"{cs[flat].max():.4f}",
           f"{np.min(cf[np.abs(cs - 1) > 1e-9]):.3f}")
    assert got == PRINTED_TIE

    W3 = balanced(M, 2, 3)
    g3 = np.geomspace(0.2, 5.0, 61)
    s1 = np.linalg.norm(M, 2)
    target, lev = 3 * s1 ** (4 / 3), s1 ** (2 / 3)
    nflat = nsuff = nonly = 0
    for c1 in g3:
        for c2 in g3:
            Ws = orbit(W3, [np.diag([1.0, c1]), np.diag([1.0, c2])])
            fl = lam_at_min(Ws) <= target * (1 + 1e-10)
            prods = np.array([np.linalg.norm(product(Ws[l + 1:]) if l < 2 else np.eye(M.shape[0]), 2)
                              * np.linalg.norm(product(Ws[:l]) if l > 0 else np.eye(M.shape[1]), 2)
                              for l in range(3)])
            su = np.all(np.abs(prods - lev) <= 1e-10 * lev)
            nflat += fl
            nsuff += su
            nonly += fl and not su
    assert (nflat, nsuff, nonly) == PRINTED_DEPTH3
