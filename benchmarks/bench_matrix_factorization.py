"""Benchmark: Hessian λ_max and maximal variation for matrix factorization at scale.

Problem: f(X, Y) = ½||XYᵀ - M||²_F with X ∈ R^{m×r}, Y ∈ R^{n×r}, evaluated at the
balanced global minimizer X = U_r Σ_r^{1/2}, Y = V_r Σ_r^{1/2}, where the exact answers
are known: λ_max = 2σ₁ (next eigenvalue σ₁ + σ₂) and f°(x, ρ) = σ₁ρ² + O(ρ³).

Target M (chosen for a clear spectral gap): M = U diag(σ) Vᵀ with U, V Haar-random
orthonormal (QR of Gaussian, seed 0) and σ_k = 10 · 0.8^(k-1), k = 1..r (rank M = r).
So λ_max = 20 and the next eigenvalue is 18 (relative gap 0.1).

Reported per size:
  * Lanczos (flatlib.spectral.hessian_lambda_max on the factor-form hvp): seconds,
    number of Hessian-vector products, relative error |λ - 2σ₁| / 2σ₁;
  * dense eigvalsh of the assembled Hessian where feasible ((m+n)r <= 2000): seconds, rel. error;
  * tracemalloc peak of the Lanczos call (numpy buffers are traced) and the process maxrss;
  * f°(x, ρ) via flatlib.max_variation (side="up", which equals f° at a global minimum
    since f >= f(x)), ρ = 1e-3: seconds and |f° / (σ₁ρ²) - 1| (≈ ρ/√(2σ₁) from the
    ρ³ term, i.e. ≈ 2.2e-4 here), and its gap to the explicit lower bound
    σ₁ρ² + ρ³√(σ₁/2) + ρ⁴/8 attained along the top eigendirection.

Last line: ``largest_params=<N> lambda_max_rel_err=<e> seconds=<t>`` where <t> is the
wall-clock time of hessian_lambda_max at the largest size (residual formation included).
"""
from __future__ import annotations

import resource
import sys
import time
import tracemalloc

import numpy as np

from flatlib.problems.matrix_factorization import MatrixFactorization, balanced_factors
from flatlib.spectral import hessian_lambda_max

SIZES = [(50, 40, 3), (200, 150, 5), (500, 500, 10), (2000, 2000, 20)]
DENSE_LIMIT = 2000
RHO = 1e-3


def make_M(m, n, r, seed=0):
    g = np.random.default_rng(seed)
    U, _ = np.linalg.qr(g.standard_normal((m, r)))
    V, _ = np.linalg.qr(g.standard_normal((n, r)))
    s = 10.0 * 0.8 ** np.arange(r)
    return (U * s) @ V.T, s


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    do_fo = "--no-fo" not in argv
    try:
        from flatlib.profiles import max_variation  # noqa: F401
    except ImportError:
        do_fo = False
    print(f"{'m':>5} {'n':>5} {'r':>3} {'params':>7} | {'lanczos_s':>9} {'n_hvp':>5} {'rel_err':>9} | "
          f"{'dense_s':>8} {'dense_err':>9} | {'peak_MB':>7} | {'fo_s':>7} {'fo_relerr':>9} {'fo_vs_lb':>9}")
    last = None
    for m, n, r in SIZES:
        M, s = make_M(m, n, r)
        P = MatrixFactorization(M, r)
        z = P.pack(*balanced_factors(M, r))
        exact = 2 * s[0]

        tracemalloc.start()
        t0 = time.perf_counter()
        res = hessian_lambda_max(P.hvp, z, rng=0, tol=1e-12)
        t_lan = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        err = abs(res.value - exact) / exact

        d_s = d_err = float("nan")
        if P.n <= DENSE_LIMIT:
            t0 = time.perf_counter()
            ev = np.linalg.eigvalsh(P.hess(z))
            d_s = time.perf_counter() - t0
            d_err = abs(ev[-1] - exact) / exact

        fo_s = fo_err = fo_lb = float("nan")
        if do_fo:
            from flatlib.profiles import max_variation
            t0 = time.perf_counter()
            mv = max_variation(P.f, z, RHO, grad=P.grad, side="up", n_starts=2, rng=0)
            fo_s = time.perf_counter() - t0
            fo_err = abs(mv.value / (s[0] * RHO ** 2) - 1)
            lb = s[0] * RHO ** 2 + RHO ** 3 * np.sqrt(s[0] / 2) + RHO ** 4 / 8
            fo_lb = (mv.value - lb) / lb
        P._cache_R = None  # drop the m×n residual before the next size

        print(f"{m:5d} {n:5d} {r:3d} {P.n:7d} | {t_lan:9.3f} {res.n_hvp:5d} {err:9.2e} | "
              f"{d_s:8.3f} {d_err:9.2e} | {peak / 2**20:7.1f} | {fo_s:7.2f} {fo_err:9.2e} {fo_lb:9.2e}",
              flush=True)
        last = (P.n, err, t_lan)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process maxrss: {rss:.0f} MB; M = U diag(10·0.8^k) Vᵀ (Haar U, V, seed 0); rho = {RHO}")
    print(f"largest_params={last[0]} lambda_max_rel_err={last[1]:.3e} seconds={last[2]:.3f}")


if __name__ == "__main__":
    main()
