"""Numbers printed by notebooks/07_flatness_and_generalization.ipynb, recomputed independently.

The notebook reads the study (``results/network_study.csv``) and computes τ and the granulated
Ψ with ``flatlib.networks.ranking``; it trains and measures live with ``flatlib.networks``
(exact HVPs, Lanczos, balancing by Newton's method). Here:

* τ-b is counted pair by pair (``tests/kendall_ref.py``) and Ψ grouped by hand from the CSV's
  columns (Jiang et al.'s definition: for each axis, τ inside every group of nets that share
  all the other hyperparameters, averaged; Ψ the mean over the five axes);
* the networks of the live sections are trained again by a GD loop and a backpropagation
  written from scratch (the same data split and He initialization), λ_max comes from SciPy's
  ``eigsh`` on Hessian–vector products (directional differentiation of that backward pass,
  checked against central differences of the gradient), the trace from the dense Hessian built
  from those products, and the balanced point from its closed form for one hidden layer (per
  neuron, ``c_j = (|w_out|² / (|w_in|² + b_j²))^{1/4}`` minimizes ``c²(|w_in|² + b²) + |w_out|²/c²``);
* the rescaling attack's λ_max ratios (the same log-uniform scales drawn by hand), the strength
  check's summary (from the two CSVs), and section 10's dense spectrum (numpy's ``eigvalsh`` of
  that dense Hessian) and per-layer λ_max and trace (the diagonal blocks of the same matrix).

The expected strings are read from the committed notebook's outputs, so a rebuilt notebook is
checked as it is.
"""
import json
import re
from pathlib import Path

import numpy as np
from kendall_ref import tau_b
import pytest
from scipy.sparse.linalg import LinearOperator, eigsh

from flatlib.networks import load_digits
from flatlib.networks.study import read_study

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks" / "07_flatness_and_generalization.ipynb"
MEASURES = ("fcirc_r1", "fcirc_r2", "fbar", "lambda_max", "trace", "sam", "asam")
SHORT = {"fcirc_r1": "f°(r1)", "fcirc_r2": "f°(r2)", "fbar": "-f¯(d)", "lambda_max": "λ_max", "trace": "trace",
         "sam": "SAM", "asam": "adaptive"}


def _printed():
    nb = json.loads(NB.read_text())
    out = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            for o in c.get("outputs", []):
                if o.get("output_type") == "stream" and o.get("name") == "stdout":
                    out += "".join(o["text"]).splitlines()
    return out


def _fmt(t):
    s = f"{t:+.2f}"
    return "+0.00" if s == "-0.00" else s


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




# --- the study tables: tau and Psi from the CSV ---------------------------------------------
def _psi(x, y, H, axes):
    """Mean over the axes of the mean within-group tau-b (brute force)."""
    k = len(x)
    vals = []
    for a in axes:
        others = [b for b in H if b != a]
        groups = {}
        for j in range(k):
            groups.setdefault(tuple(H[b][j] for b in others), []).append(j)
        taus = []
        for idx in groups.values():
            ys = [y[j] for j in idx]
            if len(idx) < 2 or len(set(ys)) == 1:
                continue
            t = tau_b([x[j] for j in idx], ys)
            taus.append(0.0 if t is None else t)
        vals.append(sum(taus) / len(taus))
    return sum(vals) / len(vals)


@pytest.fixture(scope="module")
def study():
    return read_study(ROOT / "results" / "network_study.csv")


@pytest.mark.parametrize("target", ["error gap", "loss gap", "robust error, eps1", "robust error, eps2"])
def test_tau_and_psi_tables(study, target):
    lines = _printed()
    i = next(j for j, l in enumerate(lines) if l.startswith(f"{target}: Kendall tau pooled"))
    rows = [r for r in study if r["stop_reason"] == "loss_threshold"]
    y = {"error gap": [r["gap_error"] for r in rows], "loss gap": [r["gap_loss"] for r in rows],
         "robust error, eps1": [1 - r["robust_acc_eps1"] for r in rows],
         "robust error, eps2": [1 - r["robust_acc_eps2"] for r in rows]}[target]
    H = {"width": [r["width"] for r in rows], "depth": [r["depth"] for r in rows], "lr": [r["lr"] for r in rows],
         "batch": [r["batch_size"] for r in rows], "n_train": [r["n_train"] for r in rows],
         "seed": [r["seed"] for r in rows]}
    axes5 = ["width", "depth", "lr", "batch", "n_train"]
    for k, m in enumerate(MEASURES):
        line = lines[i + 2 + k]
        assert line.startswith(SHORT[m]), line
        printed = re.findall(r"([+-]\d\.\d\d) \[", line)
        got = []
        for kind in ("raw", "balanced"):
            x = [(-1 if m == "fbar" else 1) * r[f"{kind}_{m}"] for r in rows]
            got.append(_fmt(tau_b(x, y)))
        for kind in ("raw", "balanced"):
            x = [(-1 if m == "fbar" else 1) * r[f"{kind}_{m}"] for r in rows]
            got.append(_fmt(_psi(x, y, H, axes5)))
        assert printed == got, (target, m, printed, got)


# --- section 9: lambda_max along GD against 2/eta -------------------------------------------
ETAS = [0.02, 0.05, 0.1, 0.15, 0.2, 0.25]


def test_gd_trajectory_table():
    lines = _printed()
    i = next(j for j, l in enumerate(lines) if l.startswith("lambda_max at initialization"))
    Xtr, ytr, _, _ = load_digits(200, 0)
    lam0 = None
    for k, eta in enumerate(ETAS):
        net = Net(64, 32, 10, Xtr, ytr, loss="mse")
        t = he_init(64, 32, 10, 0)
        lams, steps, losses = [], [], []
        for step in range(2001):
            L, g = net.loss_grad(t)
            losses.append(L)
            if step % 20 == 0:
                lams.append(net.lambda_max(t))
                steps.append(step)
            if step < 2000:
                t = t - eta * g
        lam0 = lams[0] if lam0 is None else lam0
        losses, lams, steps = np.array(losses), np.array(lams), np.array(steps)
        j = np.flatnonzero(losses <= 0.05)
        at = lams[np.flatnonzero(steps >= j[0])[0]] if j.size else float("nan")
        expect = (f"{eta:5.2f} {2 / eta:6.1f} {lams.max() * eta / 2:18.2f} {lams[-1]:8.2f} {lams[-1] * eta / 2:14.2f} "
                  f"{losses[-1]:9.1e} {(f'{at:.2f}' if np.isfinite(at) else 'not reached'):>16s} "
                  f"{lams[-1] / lams[steps >= 100].min():20.3f}")
        assert lines[i + 2 + k] == expect, (lines[i + 2 + k], expect)
    assert lines[i] == f"lambda_max at initialization {lam0:.1f}"


# --- section 6: the live net's curvature measures -------------------------------------------
def test_live_net_lambda_trace_sam_raw_and_balanced():
    lines = _printed()
    Xtr, ytr, _, _ = load_digits(50, 0)
    net = Net(64, 8, 10, Xtr, ytr)
    t, steps, L = train(net, he_init(64, 8, 10, 0), 0.1, None, 0, 0.01, 40000)
    assert L <= 0.01
    got = {}
    for kind, th in (("raw", t), ("balanced", net.balance(t))):
        H = np.array([net.hvp(th, e) for e in np.eye(net.n)])
        g = net.loss_grad(th)[1]
        got[kind] = dict(lambda_max=net.lambda_max(th), trace=float(np.trace(H)),
                         sam=net.f(th + 0.1 * g / np.linalg.norm(g)) - net.f(th))
    for m in ("lambda_max", "trace", "sam"):
        line = next(l for l in lines if l.startswith(f"{SHORT[m]:10s} ") and "e" in l.split()[1])
        raw, bal = line.split()[1:3]
        assert (raw, bal) == (f"{got['raw'][m]:.4e}", f"{got['balanced'][m]:.4e}"), (m, line, got)
    assert f"{steps} GD steps" in next(l for l in lines if l.startswith("net ") and "parameters" in l)


# --- section 8: lambda_max along the orbit ---------------------------------------------------
def test_orbit_lambda_max_line():
    lines = _printed()
    line = next(l for l in lines if l.startswith("lambda_max: smallest at the balanced point"))
    Xtr, ytr, _, _ = load_digits(100, 0)
    net = Net(64, 16, 10, Xtr, ytr)
    t, _, L = train(net, he_init(64, 16, 10, 0), 0.1, None, 0, 0.01, 40000)
    tb = net.balance(t)
    U = np.random.default_rng(1).standard_normal((3, 16))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    ts = np.array([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0])
    lam = np.array([[net.lambda_max(net.rescale(tb, np.exp(s * u))) for s in ts] for u in U])
    i0 = 3
    rr = lam / lam[:, [i0]]
    arg = np.unravel_index(np.argmin(rr), rr.shape)
    expect = (f"lambda_max: smallest at the balanced point on {np.sum(np.argmin(lam, axis=1) == i0)}/3 paths; "
              f"min over the paths / value at balance = {rr.min():.3f} (direction {arg[0] + 1}, t = {ts[arg[1]]:+.2f}); "
              f"at |t| = 1: {min(rr[:, 0].min(), rr[:, -1].min()):.2f} to {max(rr[:, 0].max(), rr[:, -1].max()):.2f}")
    assert line == expect


def test_independent_hvp_matches_central_differences():
    Xtr, ytr, _, _ = load_digits(50, 0)
    net = Net(64, 8, 10, Xtr, ytr)
    t, _, _ = train(net, he_init(64, 8, 10, 0), 0.1, None, 0, 0.01, 40000)
    v = np.random.default_rng(3).standard_normal(net.n)
    v /= np.linalg.norm(v)
    # central differences are a valid reference only if no pre-activation changes sign:
    # |Δz| <= h ||v|| (||x|| + 1) per sample, kept below the smallest |z|
    z1 = net.forward(t, net.X)[0]
    h = 0.1 * float(np.min(np.abs(z1))) / (np.max(np.linalg.norm(net.X, axis=1)) + 1)
    assert h > 1e-12
    fd = (net.loss_grad(t + h * v)[1] - net.loss_grad(t - h * v)[1]) / (2 * h)
    hv = net.hvp(t, v)
    assert np.linalg.norm(fd - hv) < 1e-4 * np.linalg.norm(hv)


# --- section 7: the rescaling attack on the live net ---------------------------------------
def test_rescaling_attack_lambda_max_ratios():
    lines = _printed()
    Xtr, ytr, _, _ = load_digits(50, 0)
    net = Net(64, 8, 10, Xtr, ytr)
    t, _, _ = train(net, he_init(64, 8, 10, 0), 0.1, None, 0, 0.01, 40000)
    lam0 = net.lambda_max(t)
    gen = np.random.default_rng(0)                      # the notebook's seed; scales log-uniform in [1/10, 10]
    ratios = [net.lambda_max(net.rescale(t, np.exp(gen.uniform(np.log(0.1), np.log(10.0), 8)))) / lam0
              for _ in range(4)]
    line = next(l for l in lines if l.startswith(f"{SHORT['lambda_max']:10s} ") and " to " in l)
    assert line.split()[1:4] == [f"{min(ratios):.2g}", "to", f"{max(ratios):.2g}"], (line, ratios)


# --- section 2: the strength check, from the two CSVs ---------------------------------------
def test_strength_check_summary_line(study):
    lines = _printed()
    strong = read_study(ROOT / "results" / "strength_check.csv")
    keys = ("n_train", "hidden", "lr", "batch_size", "seed")
    by = {tuple(r[k] for k in keys): r for r in study}
    devs = []
    for s in strong:
        r = by[tuple(s[k] for k in keys)]
        for kind in ("raw", "balanced"):
            for m in ("fcirc_r1", "fcirc_r2", "fbar", "asam"):
                devs.append(abs(r[f"{kind}_{m}"] / s[f"strong_{kind}_{m}"] - 1))
    devs = np.array(devs)
    expect = (f"all searched values: {np.sum(devs < 0.01)}/{devs.size} within 1%, {np.sum(devs < 0.001)}/{devs.size} "
              f"within 0.1%; largest deviation {devs.max():.2%}")
    assert expect in lines, expect


# --- section 10: the Hessian spectrum and the per-layer blocks ------------------------------
@pytest.fixture(scope="module")
def orbit_net():
    Xtr, ytr, _, _ = load_digits(100, 0)
    net = Net(64, 16, 10, Xtr, ytr)
    t, _, L = train(net, he_init(64, 16, 10, 0), 0.1, None, 0, 0.01, 40000)
    assert L <= 0.01
    E = np.eye(net.n)
    out = {}
    for lab, th in (("θ", t), ("balance(θ)", net.balance(t))):
        H = np.array([net.hvp(th, e) for e in E])
        out[lab] = 0.5 * (H + H.T)
    return net, out


def test_dense_spectrum_line(orbit_net):
    net, H = orbit_net
    lines = _printed()
    for lab, Hm in H.items():
        ev = np.linalg.eigvalsh(Hm)
        line = next(l for l in lines if l.split()[:1] == [lab] and len(l.split()) == 7 and "e" not in l.split()[1])
        f = line.split()
        assert f[1] == f"{ev[-1]:.6f}" and f[2] == f"{ev[-1]:.6f}", (line, ev[-1])
        assert (f[5], f[6]) == (str(np.sum(ev < -1e-3)), str(np.sum(ev > 1e-3))), line


def test_per_layer_blocks_at_theta_and_balance(orbit_net):
    net, H = orbit_net
    lines = _printed()
    i1 = 16 * 64 + 16                                    # layer 1: W1 and b1 come first
    blocks = {"layer1": slice(0, i1), "layer2": slice(i1, net.n)}
    for lab, Hm in H.items():
        line = next(l for l in lines if l.split()[:1] == [lab] and len(l.split()) == 7 and "e" in l.split()[1])
        f = line.split()
        got = []
        for b in blocks.values():
            B = Hm[b, b]
            got += [f"{np.linalg.eigvalsh(B)[-1]:.4e}", f"{np.trace(B):.4e}"]
        assert [f[1], f[2], f[4], f[5]] == got, (line, got)
