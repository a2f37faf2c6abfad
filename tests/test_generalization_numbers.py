"""Numbers printed by notebooks/07_flatness_and_generalization.ipynb, recomputed independently.

The notebook trains with ``flatlib.networks.training`` and measures with
``flatlib.networks.measures`` (exact HVPs, Lanczos, balancing by Newton's method).
Here the one-hidden-layer networks are trained again by a GD/SGD loop and a
backpropagation written from scratch (the same data split, He init and minibatch
permutations), λ_max comes from SciPy's ``eigsh`` on Hessian–vector products (directional
differentiation of that backward pass, checked against central differences of the gradient
on a random direction), the balanced point from its closed form for one hidden layer
(per neuron, ``c_j = (|w_out|² / (|w_in|² + b_j²))^{1/4}`` minimizes
``c²(|w_in|² + b²) + |w_out|²/c²``), and Kendall's τ-b and its bootstrap from pair counts.
Measures needing a high-dimensional ascent (f°, f¯, adaptive) are not recomputed here; they
are checked against SLSQP on small nets in ``tests/test_generalization.py``.

Expected strings: what the notebook prints with its default parameters (seed 0, 200
training images, the 12-net grid); each is compared with the independent recomputation.
"""

import numpy as np
from kendall_ref import tau_b
import pytest
from scipy.sparse.linalg import LinearOperator, eigsh

from flatlib.networks import load_digits

SEED, N_TRAIN = 0, 200
WIDTHS, LRS, BATCHES = [16, 32], [0.05, 0.15, 0.4], [None, 16]

# --- printed by the notebook (default run) -----------------------------------------------
PRINTED_GAPS = "test - train error: 0.070 to 0.093;  test - train loss: 0.30 to 0.32"
PRINTED_TAU = {  # (measure, kind): (error gap cell, loss gap cell)
    ("lambda_max", "raw"): ("+0.52 [+0.13, +0.87]", "+0.36 [-0.13, +0.77]"),
    ("lambda_max", "balanced"): ("+0.18 [-0.27, +0.63]", "+0.15 [-0.30, +0.57]"),
    ("sam", "raw"): ("-0.52 [-0.84, -0.07]", "-0.42 [-0.87, +0.08]"),
    ("sam", "balanced"): ("-0.65 [-0.92, -0.22]", "-0.55 [-0.97, -0.07]"),
}
PRINTED_TAU_LR_WIDTH = ("-0.18", "-0.75")
PRINTED_ATTACK_LAMBDA = "4.2 to 35"
PRINTED_ORBIT = ("1/4", "0.98", "1.04", "1.52")
PRINTED_GD = [  # eta, lambda_max at end (.2g), train loss (.1e), error gap (.2f)
    (0.02, "8.7", "5.9e-02", "0.18"), (0.05, "8.6", "3.0e-02", "0.17"), (0.10, "8.4", "1.6e-02", "0.18"),
    (0.15, "7.8", "1.1e-02", "0.19"), (0.20, "6.3", "7.8e-03", "0.17"), (0.25, "4.2", "5.8e-03", "0.16"),
    (0.30, "4.1", "2.4e-03", "0.14"),
]


# --- an independent one-hidden-layer network ------------------------------------------------
class Net:
    def __init__(self, d, h, k, X, y, loss="ce"):
        self.d, self.h, self.k, self.loss = d, h, k, loss
        self.X, self.y = X, y
        self.n = h * d + h + k * h + k
        self.T = np.eye(k)[y]

    def split(self, t):
        d, h, k = self.d, self.h, self.k
        i = 0
        W1 = t[i:i + h * d].reshape(h, d); i += h * d
        b1 = t[i:i + h]; i += h
        W2 = t[i:i + k * h].reshape(k, h); i += k * h
        b2 = t[i:i + k]
        return W1, b1, W2, b2

    def forward(self, t, X):
        W1, b1, W2, b2 = self.split(t)
        z1 = X @ W1.T + b1
        a1 = np.maximum(z1, 0)
        return z1, a1, a1 @ W2.T + b2

    def loss_grad(self, t, idx=None):
        X, y, T = (self.X, self.y, self.T) if idx is None else (self.X[idx], self.y[idx], self.T[idx])
        W1, b1, W2, b2 = self.split(t)
        z1, a1, out = self.forward(t, X)
        N = X.shape[0]
        if self.loss == "ce":
            m = out.max(axis=1, keepdims=True)
            e = np.exp(out - m)
            s = e.sum(axis=1, keepdims=True)
            L = float(np.mean(np.log(s[:, 0]) + m[:, 0] - out[np.arange(N), y]))
            dout = (e / s - T) / N
        else:
            R = out - T
            L = 0.5 * float(np.sum(R * R)) / N
            dout = R / N
        gW2 = dout.T @ a1
        gb2 = dout.sum(axis=0)
        da1 = dout @ W2
        dz1 = da1 * (z1 > 0)
        gW1 = dz1.T @ X
        gb1 = dz1.sum(axis=0)
        return L, np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])

    def f(self, t):
        return self.loss_grad(t)[0]

    def error(self, t, X, y):
        return float(np.mean(np.argmax(self.forward(t, X)[2], axis=1) != y))

    def loss_on(self, t, X, y):
        other = Net(self.d, self.h, self.k, X, y, self.loss)
        return other.f(t)

    def hvp(self, t, v):
        """Exact Hessian-vector product off the kinks (directional derivative of the
        backward pass written above)."""
        W1, b1, W2, b2 = self.split(t)
        V1, c1, V2, c2 = self.split(v)
        X, T, N = self.X, self.T, self.X.shape[0]
        z1, a1, out = self.forward(t, X)
        mask = (z1 > 0).astype(float)
        Rz1 = X @ V1.T + c1
        Ra1 = Rz1 * mask
        Rout = Ra1 @ W2.T + a1 @ V2.T + c2
        if self.loss == "ce":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            dout = (p - T) / N
            Rdout = (p * Rout - p * np.sum(p * Rout, axis=1, keepdims=True)) / N
        else:
            dout = (out - T) / N
            Rdout = Rout / N
        RgW2 = Rdout.T @ a1 + dout.T @ Ra1
        Rgb2 = Rdout.sum(axis=0)
        Rdz1 = (Rdout @ W2 + dout @ V2) * mask
        RgW1 = Rdz1.T @ X
        Rgb1 = Rdz1.sum(axis=0)
        return np.concatenate([RgW1.ravel(), Rgb1, RgW2.ravel(), Rgb2])

    def lambda_max(self, t):
        op = LinearOperator((self.n, self.n), matvec=lambda v: self.hvp(t, np.ravel(v)), dtype=float)
        v0 = np.random.default_rng(0).standard_normal(self.n)
        return float(eigsh(op, k=1, which="LA", v0=v0, tol=1e-10)[0][0])

    def rescale(self, t, c):
        W1, b1, W2, b2 = (a.copy() for a in self.split(t))
        return np.concatenate([(W1 * c[:, None]).ravel(), b1 * c, (W2 / c[None, :]).ravel(), b2])

    def balance(self, t):
        W1, b1, W2, _ = self.split(t)
        a = np.sum(W1 ** 2, axis=1) + b1 ** 2
        o = np.sum(W2 ** 2, axis=0)
        return self.rescale(t, (o / a) ** 0.25)


def he_init(d, h, k, seed):
    """He init in the library's layout (W ~ N(0, 2/fan_in), biases 0, one generator)."""
    g = np.random.default_rng(seed)
    W1 = g.standard_normal(h * d) * np.sqrt(2.0 / d)
    W2 = g.standard_normal(k * h) * np.sqrt(2.0 / h)
    return np.concatenate([W1, np.zeros(h), W2, np.zeros(k)])


def train(net, t, lr, bs, seed, thr, steps):
    N = net.X.shape[0]
    rng = np.random.default_rng(seed)
    every = 1 if bs is None else -(-N // bs)
    perm, pos, k = None, N, 0
    while True:
        if k % every == 0 or k == steps:
            L = net.f(t)
            if (thr > 0 and L <= thr) or k == steps:
                return t, k, L
        if bs is None:
            g = net.loss_grad(t)[1]
        else:
            if pos >= N:
                perm, pos = rng.permutation(N), 0
            idx = np.sort(perm[pos:pos + bs])
            pos += bs
            g = net.loss_grad(t, idx)[1]
        t = t - lr * g
        k += 1


def tau_cell(x, y, n_boot=1000, seed=0):
    x, y = np.asarray(x, float), np.asarray(y, float)
    t = tau_b(x, y)
    g = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = g.integers(0, len(x), len(x))
        v = tau_b(x[idx], y[idx])
        if v is not None:
            boots.append(v)
    lo, hi = np.quantile(boots, [0.025, 0.975])

    def fmt(v):
        s = f"{v:+.2f}"
        return "+0.00" if s == "-0.00" else s
    return f"{fmt(t)} [{fmt(lo)}, {fmt(hi)}]"


@pytest.fixture(scope="module")
def grid():
    Xtr, ytr, Xte, yte = load_digits(N_TRAIN, SEED)
    out = []
    for w in WIDTHS:
        for lr in LRS:
            for b in BATCHES:
                net = Net(64, w, 10, Xtr, ytr)
                t, steps, L = train(net, he_init(64, w, 10, SEED), lr, b, SEED, 0.01, 6000)
                tb = net.balance(t)
                row = dict(w=w, lr=lr, b=b, net=net, theta=t, loss=L, converged=L <= 0.01,
                           gap_error=net.error(t, Xte, yte) - net.error(t, Xtr, ytr),
                           gap_loss=net.loss_on(t, Xte, yte) - L)
                for kind, th in (("raw", t), ("balanced", tb)):
                    g = net.loss_grad(th)[1]
                    row[kind, "lambda_max"] = net.lambda_max(th)
                    row[kind, "sam"] = net.f(th + 0.1 * g / np.linalg.norm(g)) - net.f(th)
                out.append(row)
    return out, (Xtr, ytr, Xte, yte)


def test_every_net_converged_and_gap_ranges(grid):
    rows, _ = grid
    assert all(r["converged"] for r in rows)
    ge = np.array([r["gap_error"] for r in rows])
    gl = np.array([r["gap_loss"] for r in rows])
    got = (f"test - train error: {ge.min():.3f} to {ge.max():.3f};  "
           f"test - train loss: {gl.min():.2f} to {gl.max():.2f}")
    assert got == PRINTED_GAPS


def test_kendall_tau_table_for_lambda_max_and_sam(grid):
    rows, _ = grid
    ge = [r["gap_error"] for r in rows]
    gl = [r["gap_loss"] for r in rows]
    for (name, kind), (cell_e, cell_l) in PRINTED_TAU.items():
        m = [r[kind, name] for r in rows]
        assert tau_cell(m, ge) == cell_e, (name, kind, "error")
        assert tau_cell(m, gl) == cell_l, (name, kind, "loss")
    t_lr = tau_b([r["lr"] for r in rows], ge)
    t_w = tau_b([r["w"] for r in rows], ge)
    assert (f"{t_lr:+.2f}", f"{t_w:+.2f}") == PRINTED_TAU_LR_WIDTH


def test_rescaling_attack_on_the_first_net(grid):
    rows, (Xtr, ytr, Xte, yte) = grid
    r0 = rows[0]
    net, t = r0["net"], r0["theta"]
    gen = np.random.default_rng(SEED)
    lam0 = r0["raw", "lambda_max"]
    lamb0 = r0["balanced", "lambda_max"]
    ratios = []
    out0 = net.forward(t, Xte)[2]
    for _ in range(4):
        c = np.exp(gen.uniform(np.log(0.1), np.log(10.0), net.h))
        ta = net.rescale(t, c)
        assert np.max(np.abs(net.forward(ta, Xte)[2] - out0)) < 1e-12 * np.max(np.abs(out0))
        assert net.error(ta, Xte, yte) == net.error(t, Xte, yte)
        ratios.append(net.lambda_max(ta) / lam0)
        # balanced point of the attacked net = balanced point of the net (closed form)
        assert np.max(np.abs(net.balance(ta) - net.balance(t))) < 1e-12 * np.max(np.abs(t))
        assert abs(net.lambda_max(net.balance(ta)) / lamb0 - 1) < 1e-6
    assert f"{min(ratios):.2g} to {max(ratios):.2g}" == PRINTED_ATTACK_LAMBDA


def test_balanced_point_is_nearly_not_exactly_flattest_on_the_orbit(grid):
    rows, _ = grid
    net, t = rows[0]["net"], rows[0]["theta"]
    tb = net.balance(t)
    U = np.random.default_rng(SEED + 1).standard_normal((4, net.h))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    ts = np.linspace(-1.0, 1.0, 9)
    lam = np.array([[net.lambda_max(net.rescale(tb, np.exp(s * u))) for s in ts] for u in U])
    i0 = 4
    n_min = int(np.sum(np.argmin(lam, axis=1) == i0))
    ends = np.concatenate([lam[:, 0], lam[:, -1]]) / lam[0, i0]
    got = (f"{n_min}/4", f"{lam.min() / lam[0, i0]:.2f}", f"{ends.min():.2f}", f"{ends.max():.2f}")
    assert got == PRINTED_ORBIT


def test_large_steps_end_flatter_table(grid):
    _, (Xtr, ytr, Xte, yte) = grid
    for eta, lam_s, loss_s, gap_s in PRINTED_GD:
        net = Net(64, 32, 10, Xtr, ytr, loss="mse")
        t, steps, L = train(net, he_init(64, 32, 10, SEED), eta, None, 0, 0.0, 2000)
        lam = net.lambda_max(t)
        assert lam <= 2 / eta
        gap = net.error(t, Xte, yte) - net.error(t, Xtr, ytr)
        assert (f"{lam:.2g}", f"{L:.1e}", f"{gap:.2f}") == (lam_s, loss_s, gap_s), eta


def test_independent_hvp_matches_central_differences(grid):
    rows, _ = grid
    net, t = rows[0]["net"], rows[0]["theta"]
    v = np.random.default_rng(3).standard_normal(net.n)
    v /= np.linalg.norm(v)
    # central differences are a valid reference only if no pre-activation changes sign:
    # |Δz| <= h ||v|| (||x|| + 1) per sample, kept below the smallest |z|
    z1 = net.forward(t, net.X)[0]
    h = 0.1 * float(np.min(np.abs(z1))) / (np.max(np.linalg.norm(net.X, axis=1)) + 1)
    assert h > 1e-9
    fd = (net.loss_grad(t + h * v)[1] - net.loss_grad(t - h * v)[1]) / (2 * h)
    hv = net.hvp(t, v)
    assert np.linalg.norm(fd - hv) < 1e-4 * np.linalg.norm(hv)
