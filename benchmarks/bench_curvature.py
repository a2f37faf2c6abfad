"""Benchmark: curvature at scale against PyHessian's algorithms, in Hessian-vector products.

Networks: ReLU MLPs on 500 training images of scikit-learn's digits (``load_digits(500, 0)``),
widths (64, 64, 10) = 4,810, (64, 128, 64, 10) = 17,226 and (64, 256, 256, 10) = 85,002
parameters, cross-entropy, He init (seed 0), full-batch GD with η = 0.1 until the training loss
is <= 0.01.  One BLAS thread (set below before numpy loads), so timings are reproducible.

1. Top-k eigenvalues (k = 1, 5, 10, 20, 50).  flatlib: ``hessian_topk`` (thick-restart Lanczos,
   residual tolerance 1e-4 relative, self-stopping: no reference used).  Peer: a faithful numpy
   port of PyHessian's ``hessian.eigenvalues`` (power iteration, deflation by
   orthonormalization against the eigenvectors found, random normal start per pair), run
   (a) with its defaults maxIter=100, tol=1e-3 and (b) to equal accuracy: pair i stops as soon
   as its Rayleigh quotient is within 1e-4 relative of the reference λ_i (an oracle stop, in the
   peer's favour), at most 3000 products per pair (k = 50: one seed).  References: dense ``eigvalsh`` of the
   Hessian assembled from products with unit vectors (<= 5k parameters), above that a block
   Lanczos run at residual 1e-10 whose residuals are recomputed explicitly
   (|λ - θ| <= ‖Hy - θy‖).  Columns: products (median over 3 seeds), the largest relative
   error of the k eigenvalues against the reference, and the ratios
   peer(1e-4) / flatlib(1e-4) and peer(defaults) / flatlib stopped (oracle) at the accuracy
   the peer reached with its defaults.  ARPACK (scipy ``eigsh``, tol 1e-4) is listed too.
2. Trace.  Exact trace: dense (4,810) or the sum of the exact diagonal from products with unit
   vectors (17,226); the 85k net is skipped (85k products).  For each estimator the smallest
   budget m on one grid (12 ... 960) from which the median relative error over 20 seeds stays
   <= 1% at every larger grid budget: plain Rademacher Hutchinson (running means of one pool of
   probes per seed, read at the grid budgets; also its budget predicted from the probe
   variance, m = (0.6745 sd / (0.01 tr))²), Hutch++,
   Lanczos-deflated Hutchinson (m/2 Lanczos steps, m/2 projected probes), and the deflated
   variant reusing a top-10 run (its products counted).  PyHessian's ``trace`` with its
   defaults (maxIter=100, tol=1e-3) is listed with its products and median error.
3. Batched HVPs: vectors per second of ``MLP.hvp(θ, V)`` with V of shape (p, 16) against 16
   calls ``MLP.hvp(θ, v)``, median of 7 interleaved repetitions, on the trained nets (N = 500)
   and on minibatch-sized problems (N = 32, 128).
4. SLQ: ``spectral_density`` (100 Lanczos steps as PyHessian's default iter=100; 1 and 8
   vectors) against the dense eigenvalues of the 4,810-parameter net: Wasserstein-1 distance,
   and its quadrature bound π(b - a)/(4m).  Figure ``build/figures-bench/curvature_slq_density`` (the
   17,226-parameter net at θ and at balance(θ)) and ``build/figures-bench/curvature_per_layer`` (per-layer
   λ_max, trace, f° of the 4,810-parameter net at θ, a random rescaling Tθ, balance(θ) and
   balance(Tθ)).
5. Factored matrix factorization ½‖XYᵀ - ABᵀ‖², m = 60,000, n = 40,000, r = q = 10
   ((m + n) r = 10⁶ parameters), σ_k = 10 · 0.8^(k-1) with Haar-random singular vectors:
   λ_max at the balanced minimizer by Lanczos (residual <= 1e-9 · λ) against 2σ₁, wall-clock
   seconds (balanced factors + Lanczos), and the balanced closed forms at that size.

Last line: ``params=<int> topk_hvp_ratio=<float> trace_hvp_ratio=<float> batch_hvp_speedup=<float>
mf_params=<int> mf_seconds=<float> mf_rel_err=<float>`` with ``params`` the largest net,
``topk_hvp_ratio`` the smallest peer(1e-4)/flatlib ratio at k = 10 over the nets of 10k-100k
parameters, ``trace_hvp_ratio`` the smallest Hutchinson / Lanczos-deflated budget ratio over the
nets (Hutchinson's budget: the measured one or its variance prediction, whichever is smaller), ``batch_hvp_speedup`` the smallest k = 16 throughput ratio over the trained nets (N = 500).
``--quick`` runs a reduced version (no 85k net, fewer seeds) and ``--only=topk,trace,batched,slq,mf``
some sections, for development.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from flatlib.curvature import (block_measures, deflated_hutchinson, hessian_diagonal,  # noqa: E402
                               hessian_topk, hutchpp, spectral_density, wasserstein1)
from flatlib.networks import MLP, load_digits  # noqa: E402
from flatlib.problems import FactoredMatrixFactorization  # noqa: E402

QUICK = "--quick" in sys.argv
ONLY = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), None)
WIDTHS = [(64, 64, 10), (64, 128, 64, 10)] + ([] if QUICK else [(64, 256, 256, 10)])
DENSE_MAX = 5000
KS = (1, 5, 10, 20, 50)
PEER_EQUAL_MAX_K = {4810: 50, 17226: 50, 85002: 20}   # the oracle peer is slow on the 85k net
SEEDS = (0, 1, 2) if not QUICK else (0,)
TRACE_SEEDS = 20 if not QUICK else 8
RTOL = 1e-4
GRID = [12, 18, 24, 30, 36, 42, 48, 60, 72, 84, 96, 120, 144, 168, 192, 240, 300, 360, 480, 600, 720, 960]


# ----------------------------------------------------------------------------- the peer
def pyhessian_eigenvalues(hvp, n, top_n, *, maxIter=100, tol=1e-3, rng=0, target=None, rtol=None):
    """PyHessian ``hessian.eigenvalues`` (power iteration with deflation), ported to numpy.

    Per pair: a random normal start, normalized; then up to ``maxIter`` times
    ``v <- orthonormalize(v, eigenvectors)``, ``Hv``, ``λ = <Hv, v>``, ``v <- Hv/‖Hv‖``,
    stop when ``|λ_prev - λ| / (|λ_prev| + 1e-6) < tol``; the eigenvalue kept is ``λ_prev``
    and the eigenvector the last ``v``.  With ``target``: stop pair i when
    ``|λ - target[i]| <= rtol |target[i]|`` instead (an oracle stop at a given accuracy).
    Returns (eigenvalues, products, products per pair)."""
    gen = np.random.default_rng(rng)
    values, vectors, per = [], [], []
    for i in range(top_n):
        value = None
        v = gen.standard_normal(n)
        v /= np.linalg.norm(v)
        for it in range(maxIter):
            if vectors:
                E = np.array(vectors)
                v = v - E.T @ (E @ v)
                v /= np.linalg.norm(v)
            Hv = hvp(v)
            tmp = float(Hv @ v)
            v = Hv / np.linalg.norm(Hv)
            if target is not None:
                value = tmp
                if abs(tmp - target[i]) <= rtol * abs(target[i]):
                    break
            elif value is None:
                value = tmp
            elif abs(value - tmp) / (abs(value) + 1e-6) < tol:
                break
            else:
                value = tmp
        values.append(value)
        vectors.append(v)
        per.append(it + 1)
    return np.array(values), int(sum(per)), per


def pyhessian_trace(hvp, n, *, maxIter=100, tol=1e-3, rng=0):
    """PyHessian ``hessian.trace``: Rademacher probes until the running mean moves by less
    than ``tol`` relative (or ``maxIter`` probes).  Returns (estimate, products)."""
    gen = np.random.default_rng(rng)
    vals, trace = [], 0.0
    for _ in range(maxIter):
        z = gen.integers(0, 2, n).astype(float) * 2.0 - 1.0
        vals.append(float(z @ hvp(z)))
        if abs(np.mean(vals) - trace) / (abs(trace) + 1e-6) < tol:
            break
        trace = float(np.mean(vals))
    return float(np.mean(vals)), len(vals)


# ----------------------------------------------------------------------------- helpers
def trained(widths, n_train=500, lr=0.1, threshold=0.01, steps=20000):
    X, y, _, _ = load_digits(n_train, 0)
    net = MLP(widths, X, y)
    theta = net.init(0)
    for step in range(steps):
        val, g = net.value_and_grad(theta)
        if val <= threshold:
            break
        theta = theta - lr * g
    return net, theta, step, val


def layer_blocks(net):
    """Per-layer index blocks (weights and biases of layer l) from the views of ``net.layers``."""
    ids = np.arange(net.n, dtype=float)
    return {f"layer{l}": np.concatenate([W.ravel(), b]).astype(int)
            for l, (W, b) in enumerate(net.layers(ids), start=1)}


def max_rel(values, ref):
    values = np.sort(np.asarray(values))[::-1]
    return float(np.max(np.abs(values - ref[:values.size]) / np.abs(ref[:values.size])))


def lanczos_oracle(hvp, x, k, ref, rtol, seed):
    """Products at which all top-k Ritz values are first within rtol of the reference."""
    hit = {}

    def cb(n_hvp, vals, res):
        if vals.size >= k and max_rel(vals[:k], ref) <= rtol:
            hit.setdefault("n", n_hvp)
            return True
        return False

    res = hessian_topk(hvp, x, k=k, tol=1e-14, rng=seed, callback=cb, max_hvp=20000)
    return hit.get("n", res.n_hvp)


def fmt(v, width=9):
    if isinstance(v, str):
        return v.rjust(width)
    if isinstance(v, (int, np.integer)):
        return str(int(v)).rjust(width)
    return f"{v:.3g}".rjust(width)


def reference_spectrum(net, theta, kmax):
    t = time.perf_counter()
    if net.n <= DENSE_MAX:
        H = hessian_dense(net, theta)
        ev = np.linalg.eigvalsh(H)[::-1]
        how = f"dense eigvalsh ({time.perf_counter() - t:.0f} s)"
        return ev, how, H
    ref = hessian_topk(net.hvp, theta, k=kmax + 4, tol=1e-10, block_size=4, batched=True, rng=12345)
    Y = ref.eigenvectors
    explicit = np.linalg.norm(net.hvp(theta, Y) - Y * ref.eigenvalues, axis=0)
    bound = float(np.max(explicit / np.abs(ref.eigenvalues)))
    how = (f"block Lanczos, explicit residuals <= {bound:.1e} relative "
           f"({ref.n_hvp} products, {time.perf_counter() - t:.0f} s)")
    return ref.eigenvalues, how, None


def hessian_dense(net, theta):
    H = np.empty((net.n, net.n))
    eye_block = 256
    for s in range(0, net.n, eye_block):
        E = np.zeros((net.n, min(eye_block, net.n - s)))
        E[np.arange(s, s + E.shape[1]), np.arange(E.shape[1])] = 1.0
        H[:, s:s + E.shape[1]] = net.hvp(theta, E)
    return 0.5 * (H + H.T)


def first_budget(budgets, medians, target=0.01):
    """Smallest budget from which every median on the grid is <= target (None if none)."""
    ok = np.asarray(medians) <= target
    for i in range(len(budgets)):
        if ok[i:].all():
            return budgets[i]
    return None


# ----------------------------------------------------------------------------- sections
def section_topk(nets):
    print("\n== 1. top-k Hessian eigenvalues: products (median over seeds "
          f"{list(SEEDS)}), relative accuracy vs the reference ==", flush=True)
    head = ["params", "k", "flatlib", "err", "oracle", "arpack", "peer1e-4", "ratio", "peerdef",
            "peer_err", "fl@peer", "ratio_def"]
    rows, ratios_k10 = [], {}
    for net, theta, ref, _ in nets:
        hv = lambda v, net=net, theta=theta: net.hvp(theta, v)   # noqa: E731
        for k in KS:
            fl = [hessian_topk(net.hvp, theta, k=k, tol=RTOL, rng=s) for s in SEEDS]
            n_fl = int(np.median([r.n_hvp for r in fl]))
            err_fl = max(max_rel(r.eigenvalues, ref) for r in fl)
            assert all(r.all_converged for r in fl)
            n_or = int(np.median([lanczos_oracle(net.hvp, theta, k, ref, RTOL, s) for s in SEEDS]))
            ar = hessian_topk(net.hvp, theta, k=k, tol=RTOL, method="arpack", rng=SEEDS[0])
            pd = [pyhessian_eigenvalues(hv, net.n, k, rng=s) for s in SEEDS]
            n_pd = int(np.median([p[1] for p in pd]))
            err_pd = float(np.median([max_rel(p[0], ref) for p in pd]))
            n_flpd = int(np.median([lanczos_oracle(net.hvp, theta, k, ref, err_pd, s) for s in SEEDS]))
            if k <= PEER_EQUAL_MAX_K[net.n]:
                pe = [pyhessian_eigenvalues(hv, net.n, k, rng=s, maxIter=3000, target=ref, rtol=RTOL)
                      for s in (SEEDS if k <= 20 else SEEDS[:1])]      # k = 50: one seed (slow)
                capped = any(max(p[2]) >= 3000 for p in pe)
                n_pe = int(np.median([p[1] for p in pe]))
                ratio = n_pe / n_fl
                pe_s = (">=" if capped else "") + str(n_pe)
            else:
                ratio, pe_s = float("nan"), "-"
            ratio_def = n_pd / n_flpd
            if k == 10:
                ratios_k10[net.n] = ratio
            row = [net.n, k, n_fl, err_fl, n_or, ar.n_hvp, pe_s, ratio, n_pd, err_pd, n_flpd, ratio_def]
            rows.append(row)
            print(" ".join(fmt(v) for v in row) if len(rows) > 1 else
                  " ".join(fmt(h) for h in head) + "\n" + " ".join(fmt(v) for v in row), flush=True)
    print("flatlib = hessian_topk self-stopped at residual <= 1e-4 |θ| (err: its largest relative "
          "eigenvalue error); oracle = Lanczos stopped when all k values are within 1e-4; "
          "peer1e-4 = PyHessian power iteration stopped (oracle) at 1e-4, ratio = peer1e-4 / flatlib; "
          "peerdef = PyHessian defaults (peer_err its accuracy), fl@peer = Lanczos stopped at that "
          "accuracy, ratio_def = peerdef / fl@peer.")
    finite = [(r[7], r[0], r[1]) for r in rows if np.isfinite(r[7])]
    lo = min(finite)
    lo_def = min((r[11], r[0], r[1]) for r in rows)
    print(f"smallest ratio at equal accuracy: {lo[0]:.2f} (params={lo[1]}, k={lo[2]}); "
          f"at the peer's defaults: {lo_def[0]:.2f} (params={lo_def[1]}, k={lo_def[2]})")
    big = [ratios_k10[n] for n in ratios_k10 if 10_000 <= n <= 100_000]
    return min(big) if big else float("nan")


def section_trace(nets):
    print(f"\n== 2. trace: smallest budget with median relative error <= 1% over {TRACE_SEEDS} "
          "seeds ==", flush=True)
    print(" ".join(fmt(h) for h in ["params", "exact", "hutch", "hutch++", "deflated", "defl_top10",
                                    "ratio", "ratio++", "pyh_hvp", "pyh_err"]))
    ratios = []
    for net, theta, _, H in nets:
        if net.n > 20000:
            print(f"{net.n:>9} skipped: the exact trace needs {net.n} products")
            continue
        t = time.perf_counter()
        exact = float(np.trace(H)) if H is not None else float(
            hessian_diagonal(net.hvp, theta, batched=True, block=64).sum())
        t_exact = time.perf_counter() - t
        seeds = range(TRACE_SEEDS)
        # Hutchinson: the running means of one pool of probes per seed, read at the grid budgets
        pool = GRID[-1]
        curves, probe_vals = [], []
        for s in seeds:
            gen = np.random.default_rng(10_000 + s)
            vals = []
            for c in range(0, pool, 64):
                Z = gen.integers(0, 2, (net.n, min(64, pool - c))).astype(float) * 2.0 - 1.0
                vals.append(np.einsum("ij,ij->j", Z, net.hvp(theta, Z)))
            vals = np.concatenate(vals)
            probe_vals.append(vals)
            run = np.cumsum(vals) / np.arange(1, pool + 1)
            curves.append(np.abs(run - exact) / abs(exact))
        med_h = np.median(np.array(curves), axis=0)[np.array(GRID) - 1]
        m_h = first_budget(GRID, med_h)
        sd = float(np.std(np.concatenate(probe_vals), ddof=1))
        m_pred = (0.6745 * sd / (0.01 * abs(exact))) ** 2
        grid = [B for B in GRID if B <= 480]
        med_pp, med_df = [], []
        for B in grid:
            e_pp = [abs(hutchpp(net.hvp, theta, B, batched=True, rng=s).value - exact) / abs(exact)
                    for s in seeds]
            e_df = [abs(deflated_hutchinson(net.hvp, theta, B - B // 2, n_lanczos=B // 2, batched=True,
                                            rng=s).value - exact) / abs(exact) for s in seeds]
            med_pp.append(float(np.median(e_pp)))
            med_df.append(float(np.median(e_df)))
            if B >= 48 and max(med_pp[-3:]) <= 0.005 and max(med_df[-3:]) <= 0.005:
                break                           # both well below 1% on three grid points
        grid = grid[:len(med_pp)]
        m_pp = first_budget(grid, med_pp)
        m_df = first_budget(grid, med_df)
        # reuse a top-10 run: its products + g probes
        top = [hessian_topk(net.hvp, theta, k=10, tol=RTOL, rng=100 + s) for s in seeds]
        g_grid = [2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128]
        med_t = [float(np.median([abs(deflated_hutchinson(net.hvp, theta, g, top[i], batched=True,
                                                          rng=s).value - exact) / abs(exact)
                                  for i, s in enumerate(seeds)])) for g in g_grid]
        g_ok = first_budget(g_grid, med_t)
        n_top = int(np.median([t.n_hvp for t in top]))
        m_t = None if g_ok is None else n_top + g_ok
        pyh = [pyhessian_trace(lambda v: net.hvp(theta, v), net.n, rng=s) for s in seeds]
        pyh_n = int(np.median([p[1] for p in pyh]))
        pyh_err = float(np.median([abs(p[0] - exact) / abs(exact) for p in pyh]))
        # the peer's budget: the measured one, or the variance prediction when that is smaller
        # (the running means of one pool per seed are correlated across budgets, so the measured
        # rule can overshoot); the ratio is then conservative
        m_peer = min(m_h or pool, m_pred)
        ratio = m_peer / m_df if m_df else float("nan")
        ratio_pp = m_peer / m_pp if m_pp else float("nan")
        ratios.append(ratio)
        print(" ".join(fmt(v) for v in [net.n, exact, m_h or f">{pool}", m_pp or f">{grid[-1]}",
                                        m_df or f">{grid[-1]}", m_t or "-", ratio, ratio_pp, pyh_n, pyh_err]),
              flush=True)
        line = f"          Hutchinson budget predicted from the probe variance: m ≈ {m_pred:.0f}"
        if H is not None:
            offdiag = float(np.sum(H * H) - np.sum(np.diag(H) ** 2))
            pred = (0.6745 * np.sqrt(2 * offdiag) / (0.01 * exact)) ** 2
            line += f"; from 2(‖H‖_F² - Σ H_ii²): m ≈ {pred:.0f}"
        print(line)
        print("          median relative errors on the grid " + str(GRID[:len(med_h)]) + ":")
        for name, meds in (("hutch", med_h), ("hutch++", med_pp), ("deflated", med_df)):
            print(f"          {name:>9}: " + " ".join(f"{v:.4f}" for v in meds))
        print(f"          exact trace from {'dense H' if H is not None else f'{net.n} unit-vector products'} "
              f"in {t_exact:.0f} s; defl_top10 = top-10 run ({n_top} products) + {g_ok} probes")
    print("hutch = plain Rademacher Hutchinson (the peer), deflated = m/2 Lanczos steps + m/2 probes "
          "(flatlib.curvature.deflated_hutchinson), ratio = hutch' / deflated, ratio++ = hutch' / hutch++ "
          "with hutch' = min(hutch, the variance prediction); "
          "pyh = PyHessian trace() with its defaults (products, median relative error).")
    return min(ratios) if ratios else float("nan")


def _time_pair(f1, f2, reps=7):
    a, b = [], []
    for _ in range(reps):
        t = time.perf_counter()
        f1()
        a.append(time.perf_counter() - t)
        t = time.perf_counter()
        f2()
        b.append(time.perf_counter() - t)
    return float(np.median(a)), float(np.median(b))


def hvp_flops(net):
    """Floating-point operations of one HVP: (shared by a block, per vector).  Per layer
    (``d × d'`` weights, ``N`` samples) a product costs ``2Ndd'``: the forward pass (1) and the
    gradient backward pass (1 below the last layer) are shared; the R-forward (1, +1 below the
    first layer) and the R-backward (1, +3 below the first layer) are per vector."""
    N = net.X.shape[0]
    shared = per = 0
    for l in range(len(net.widths) - 1):
        unit = 2 * N * net.widths[l] * net.widths[l + 1]
        shared += unit * (1 + (l > 0))
        per += unit * (2 + 4 * (l > 0))
    return shared, per


def gemm_rate():
    A = np.random.default_rng(0).standard_normal((1000, 1000))
    A @ A
    t = time.perf_counter()
    for _ in range(5):
        A @ A
    return 5 * 2e9 / (time.perf_counter() - t)


def section_batched(nets):
    print("\n== 3. batched HVPs: vectors per second, k = 1 (16 calls) vs k = 16 (one call), "
          "median of 7 ==", flush=True)
    peak = gemm_rate()
    print(f"one core's dense matrix product (1000 x 1000): {peak / 1e9:.1f} GFLOP/s")
    print(" ".join(fmt(h, 11) for h in ["widths", "N", "params", "vec/s k=1", "vec/s k=16", "speedup",
                                        "GFLOP/s k=1", "flop ratio"]))
    X, y, _, _ = load_digits(500, 0)
    cases = [(net, theta, True) for net, theta, _, _ in nets]
    for widths, N in [((64, 16, 10), 32), ((64, 64, 10), 32), ((64, 64, 10), 128),
                      ((64, 128, 64, 10), 32), ((64, 128, 64, 10), 128)]:
        net = MLP(widths, X[:N], y[:N])
        cases.append((net, net.init(0), False))
    trained_speedups = []
    for net, theta, is_trained in cases:
        V = np.random.default_rng(0).standard_normal((net.n, 16))
        cols = [np.ascontiguousarray(c) for c in V.T]
        net.hvp(theta, V)
        t1, t16 = _time_pair(lambda: [net.hvp(theta, c) for c in cols], lambda: net.hvp(theta, V))
        sp = t1 / t16
        if is_trained:
            trained_speedups.append(sp)
        shared, per = hvp_flops(net)
        bound = (shared + per) / (shared / 16 + per)
        print(" ".join(fmt(v, 11) for v in ["-".join(map(str, net.widths)), net.X.shape[0], net.n,
                                             16 / t1, 16 / t16, sp, 16 * (shared + per) / t1 / 1e9, bound]),
              flush=True)
    print("first rows: the trained nets (N = 500 samples); then minibatch-sized problems. "
          "flop ratio = (shared + per-vector flops) / (shared/16 + per-vector flops): the largest "
          "speedup the flop count allows if every matrix product ran at the same speed in both (the "
          "single-vector HVP also pays call overhead and memory-bound elementwise steps, so the measured "
          "speedup can exceed it).")
    return min(trained_speedups)


def section_slq_and_layers(nets):
    from flatlib.figures import savefig, style
    import matplotlib.pyplot as plt

    print("\n== 4. SLQ spectral density against dense eigenvalues; figures ==", flush=True)
    net, theta, ref, H = nets[0]
    a, b = float(ref[-1]), float(ref[0])
    for nv in (1, 8):
        for m in (30, 100):
            d = spectral_density(net.hvp, theta, n_steps=m, n_vectors=nv, batched=True, rng=0)
            pts, mass = d.atoms()
            w1 = wasserstein1(pts, mass, ref)
            print(f"params={net.n} steps={m} vectors={nv}: W1(SLQ, dense spectrum) = {w1:.3e} "
                  f"(spectrum [{a:.3g}, {b:.3g}]; quadrature part <= π(b-a)/(4m) = {np.pi * (b - a) / (4 * m):.2e}); "
                  f"{d.n_hvp} products")
    style()
    net2, theta2, _, _ = nets[1]
    bal = net2.balance(theta2)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for pt, lab in ((theta2, "trained θ"), (bal, "balance(θ)")):
        d = spectral_density(net2.hvp, pt, n_steps=100, n_vectors=8, batched=True, rng=0)
        pts, _ = d.atoms()
        lo, hi = float(pts.min()), float(pts.max())
        grid = np.linspace(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo), 2000)
        sigma = np.sqrt(1e-5 * max(1.0, hi - lo))
        ax.semilogy(grid, d.density(grid, sigma) + 1e-7, label=f"{lab} (λ_max {hi:.3f})")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density (SLQ, Gaussian broadening)")
    ax.set_title(f"Hessian spectrum, digits MLP {'-'.join(map(str, net2.widths))} ({net2.n} parameters)")
    ax.legend()
    # build/, not figures/: every figure in figures/ is made by a notebook (07 draws these from the library)
    os.environ["FLATLIB_FIGURES_DIR"] = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                   "build", "figures-bench")
    savefig(fig, "curvature_slq_density")
    plt.close(fig)
    print("figure: build/figures-bench/curvature_slq_density.{png,pdf}")

    # per-layer measures: θ, a random rescaling Tθ, and their balanced points
    blocks = layer_blocks(net)
    T = net.rescale(theta, net.random_scales(0))
    points = [("θ", theta), ("Tθ", T), ("balance(θ)", net.balance(theta)), ("balance(Tθ)", net.balance(T))]
    table = {}
    for lab, pt in points:
        table[lab] = block_measures(net.hvp, pt, blocks, f=net.f, grad=net.grad, radius=0.1, batched=True,
                                    exact_trace_max=DENSE_MAX, rng=0)
    print(f"per-layer measures, params={net.n} (λ_max, exact trace, f° at r = 0.1 on the layer's ball):")
    for lab, _ in points:
        print(f"  {lab:>12}: " + "; ".join(f"{k}: λ_max {m.lambda_max:.6g}, trace {m.trace:.6g}, "
                                          f"f° {float(m.max_variation):.6g}" for k, m in table[lab].items()))
    b1, b2 = table["balance(θ)"], table["balance(Tθ)"]
    dev = max(max(abs(b1[k].lambda_max - b2[k].lambda_max) / b1[k].lambda_max,
                  abs(b1[k].trace - b2[k].trace) / abs(b1[k].trace)) for k in blocks)
    print(f"  balanced points: largest relative difference of λ_max and trace {dev:.1e}")
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.2))
    names = list(blocks)
    xs = np.arange(len(names))
    for ax, (attr, title) in zip(axes, (("lambda_max", "λ_max of the layer block"),
                                        ("trace", "trace of the layer block"),
                                        ("max_variation", "f° on the layer's ball, r = 0.1"))):
        for i, (lab, _) in enumerate(points):
            ax.bar(xs + (i - 1.5) * 0.2, [float(getattr(table[lab][k], attr)) for k in names], 0.2, label=lab)
        ax.set_xticks(xs, names)
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 8)                # room for the legend above the bars
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7, ncol=2, loc="upper left")
    # build/, not figures/: every figure in figures/ is made by a notebook (07 draws these from the library)
    os.environ["FLATLIB_FIGURES_DIR"] = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                   "build", "figures-bench")
    savefig(fig, "curvature_per_layer")
    plt.close(fig)
    print("figure: build/figures-bench/curvature_per_layer.{png,pdf}")


def section_mf():
    print("\n== 5. factored matrix factorization ½‖XYᵀ - ABᵀ‖² at a balanced minimizer ==", flush=True)
    m, n, r = 60_000, 40_000, 10
    sigma = 10.0 * 0.8 ** np.arange(r)
    p = FactoredMatrixFactorization.with_singular_values(m, n, sigma, rng=0)
    t0 = time.perf_counter()
    X, Y = p.balanced_factors()
    z = p.pack(X, Y)
    res = hessian_topk(p.hvp, z, k=1, tol=1e-9, rng=0)
    seconds = time.perf_counter() - t0
    lam = float(res.eigenvalues[0])
    exact = 2.0 * sigma[0]
    rel = abs(lam - exact) / exact
    print(f"m={m} n={n} r={r}: {p.n} parameters; λ_max = {lam!r} vs 2σ₁ = {exact}: relative error {rel:.1e}; "
          f"residual {res.residuals[0]:.1e}; {res.n_hvp} products, {seconds:.2f} s (balanced factors + Lanczos)")
    # closed forms at that size
    scale = float(np.sum(sigma ** 2))
    print(f"  f = {p.f(z):.1e} (½‖M‖² = {0.5 * scale:.1f}); ‖∇f‖ = {np.linalg.norm(p.grad(z)):.1e}; "
          f"‖XᵀX - YᵀY‖ = {np.linalg.norm(X.T @ X - Y.T @ Y):.1e}; ‖XᵀX - diag σ‖ = "
          f"{np.linalg.norm(X.T @ X - np.diag(sigma)):.1e}")
    t = time.perf_counter()
    top = hessian_topk(p.hvp, z, k=10, tol=1e-9, block_size=2, batched=True, rng=0)
    closed = p.balanced_eigenvalues(10)
    print(f"  top-10 eigenvalues (block Lanczos, b = 2): largest |λ_i - closed form| = "
          f"{np.max(np.abs(top.eigenvalues - closed)):.1e} (values {np.round(closed, 4).tolist()}); "
          f"{top.n_hvp} products, {time.perf_counter() - t:.1f} s")
    tr_closed = (m + n) * float(sigma.sum())
    est = hutchpp(p.hvp, z, 60, batched=True, rng=0)
    print(f"  trace: closed form (m + n) Σσ = {tr_closed:.6g}, n‖X‖² + m‖Y‖² = {p.hessian_trace(z):.6g}, "
          f"Hutch++ (60 products) {est.value:.6g} ± {est.stderr:.1g}")
    idx = np.random.default_rng(0).choice(p.n, 200, replace=False)
    diag = hessian_diagonal(p.hvp, z, batched=True, index=idx, block=50)
    XtX, YtY = X.T @ X, Y.T @ Y
    closed_diag = np.where(idx < m * r, np.diag(YtY)[idx % r], np.diag(XtX)[idx % r])
    print(f"  200 random diagonal entries: largest |H_ii - closed form ((YᵀY)_kk or (XᵀX)_kk)| = "
          f"{np.max(np.abs(diag - closed_diag)):.1e}")
    return p.n, seconds, rel


def main():
    t_all = time.perf_counter()
    nan = float("nan")
    run = (lambda key: ONLY is None or key in ONLY)  # noqa: E731
    need_nets = any(run(k) for k in ("topk", "trace", "batched", "slq"))
    need_ref = any(run(k) for k in ("topk", "trace", "slq"))
    nets = []
    for widths in (WIDTHS if need_nets else []):
        t = time.perf_counter()
        net, theta, steps, loss = trained(widths)
        ev, how, H = reference_spectrum(net, theta, max(KS)) if need_ref else (None, "not needed", None)
        top3 = "" if ev is None else f"; top-3 {np.round(ev[:3], 5).tolist()}"
        print(f"net {widths}: {net.n} parameters, GD {steps} steps to loss {loss:.4f}; reference: {how}{top3} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
        nets.append((net, theta, ev, H))
    topk_ratio = section_topk(nets) if run("topk") else nan
    trace_ratio = section_trace(nets) if run("trace") else nan
    batch_speedup = section_batched(nets) if run("batched") else nan
    if run("slq"):
        section_slq_and_layers(nets)
    mf_params, mf_seconds, mf_rel = section_mf() if run("mf") else (0, nan, nan)
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s")
    print(f"params={max((n.n for n, *_ in nets), default=0)} topk_hvp_ratio={topk_ratio:.2f} "
          f"trace_hvp_ratio={trace_ratio:.2f} batch_hvp_speedup={batch_speedup:.2f} mf_params={mf_params} "
          f"mf_seconds={mf_seconds:.2f} mf_rel_err={mf_rel:.1e}")


if __name__ == "__main__":
    main()
