"""Benchmark: discovering the symmetry algebra of matrix factorization from gradients.

Problem: f(X, Y) = ½||XYᵀ - M||²_F, X ∈ R^{m×r}, Y ∈ R^{n×r}, M Gaussian (seed 0),
n_params = (m + n) r.  The linear symmetry algebra is gl(r) acting by
(X, Y) -> (XA, -YAᵀ): dimension r² (expected, derived, not fitted).

Two routes of flatlib.symmetry.symmetry_algebra, timed end to end (sampling,
gradient evaluations, SVD, basis assembly):

  dense       all n_params² unknowns; 2·n_params² Gaussian samples (the documented
              recommendation); cost O(n_params⁶) time, O(n_params⁴) memory.
  candidates  search restricted to the span of p = 2r² + 4 sparse candidates: the r²
              true generators (X, Y) -> (X E_ab, -Y E_abᵀ), r² decoys
              (X, Y) -> (X E_ab, +Y E_abᵀ) (never symmetries) and 4 random sparse
              diagonal decoys; 2p samples.  Cost dominated by the 2p gradient
              evaluations, O(p · m n r).  Square M up to 512 × 512, then tall
              M (m × 512, m doubling) so that n_params keeps growing within memory.

For each route sizes grow until one run exceeds the 10 s budget (or a memory cap);
reported: seconds, dim found, dim expected, singular-value gap, whether the found
algebra equals the true one (projector distance < 1e-8, dense route; coefficient
check, candidate route).

BLAS runs single-threaded unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS are set by
the caller: on a shared, loaded machine multi-threaded LAPACK SVD timings were
observed to vary by 10× from run to run (oversubscription), single-threaded ones
are reproducible.  The header line prints the setting.

Final line: ``largest_n_within_10s=<n> seconds=<t> dim_found=<k> dim_expected=<r²>``
for the largest n_params handled within 10 s by either route.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")   # must precede the numpy import

import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from flatlib.symmetry import symmetry_algebra  # noqa: E402

try:
    from flatlib.problems.matrix_factorization import MatrixFactorization
except ModuleNotFoundError:  # fallback: inline gradient with the same row-major layout
    MatrixFactorization = None

BUDGET = 10.0
R = 2
DENSE_MAX_ENTRIES = 1.5e8      # S × n² constraint matrix (1.2 GB) cap for the dense route
RESIDUAL_MAX_ENTRIES = 2.5e7   # m × n residual cap for the candidate route
N_COLS_MAX = 512               # candidate route: M is m × min(m, 512)


def mf_grad(m, n, r, seed=0):
    M = np.random.default_rng(seed).standard_normal((m, n))
    if MatrixFactorization is not None:
        return MatrixFactorization(M, r).grad
    k = m * r

    def grad(z):
        X, Y = z[:k].reshape(m, r), z[k:].reshape(n, r)
        Res = X @ Y.T - M
        return np.concatenate([(Res @ Y).ravel(), (Res.T @ X).ravel()])
    return grad


def unit(r, a, b):
    E = np.zeros((r, r))
    E[a, b] = 1.0
    return E


def block_generator(m, n, r, E, sign_y):
    """Sparse operator of (X, Y) -> (X E, sign_y · Y Eᵀ) on row-major z."""
    return sp.block_diag([sp.kron(sp.eye(m), sp.csr_matrix(E.T)),
                          sign_y * sp.kron(sp.eye(n), sp.csr_matrix(E))], format="csr")


def dense_true_projector(m, n, r):
    N = (m + n) * r
    V = np.array([block_generator(m, n, r, unit(r, a, b), -1.0).toarray().ravel()
                  for a in range(r) for b in range(r)]).T
    Qm, _ = np.linalg.qr(V)
    return Qm, N


def run_dense(m, n, r, rng):
    N = (m + n) * r
    grad = mf_grad(m, n, r)
    t = time.perf_counter()
    samples = rng.standard_normal((2 * N * N, N))
    res = symmetry_algebra(grad, samples, full_output=True)
    sec = time.perf_counter() - t
    Qm, _ = dense_true_projector(m, n, r)
    B = res.basis.reshape(res.dim, -1).T
    ok = res.dim == r * r and np.linalg.norm(B - Qm @ (Qm.T @ B)) < 1e-8
    return N, sec, res, ok


def run_candidates(m, n, r, rng):
    N = (m + n) * r
    grad = mf_grad(m, n, r)
    t = time.perf_counter()
    true = [block_generator(m, n, r, unit(r, a, b), -1.0) for a in range(r) for b in range(r)]
    decoys = [block_generator(m, n, r, unit(r, a, b), +1.0) for a in range(r) for b in range(r)]
    decoys += [sp.diags(rng.standard_normal(N) * (rng.random(N) < 0.5)).tocsr() for _ in range(4)]
    cand = true + decoys
    samples = rng.standard_normal((2 * len(cand), N))
    res = symmetry_algebra(grad, samples, candidates=cand, full_output=True)
    sec = time.perf_counter() - t
    # the found coefficients must live on the r² true candidates only
    c = res.coefficients
    ok = res.dim == r * r and np.abs(c[:, r * r:]).max(initial=0.0) < 1e-8
    return N, sec, res, ok, len(cand)


def main():
    rng = np.random.default_rng(0)
    src = "flatlib.problems.matrix_factorization" if MatrixFactorization is not None else "inline gradient"
    print(f"# symmetry_algebra on matrix factorization, r = {R}, dim expected = r² = {R * R}; "
          f"gradient from {src}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    best = {}

    print("# route=dense (n² unknowns, 2n² samples)")
    print(f"{'n_params':>9} {'m':>5} {'n':>5} {'seconds':>9} {'dim':>4} {'gap':>9} {'correct':>7}")
    for m in [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 18, 20]:
        nn = m
        N = (m + nn) * R
        if 2.0 * N ** 4 > DENSE_MAX_ENTRIES:
            print(f"# dense route stops: constraint matrix {2 * N ** 4:.2e} entries > cap")
            break
        N, sec, res, ok = run_dense(m, nn, R, rng)
        print(f"{N:9d} {m:5d} {nn:5d} {sec:9.3f} {res.dim:4d} {res.gap:9.2e} {str(ok):>7}", flush=True)
        if sec <= BUDGET and ok:
            best["dense"] = (N, sec, res.dim)
        if sec > BUDGET:
            break

    print("# route=candidates (p = 2r² + 4 sparse candidates, 2p samples)")
    print(f"{'n_params':>9} {'m':>6} {'n':>6} {'seconds':>9} {'dim':>4} {'gap':>9} {'correct':>7}")
    m = 8
    while True:
        nn = min(m, N_COLS_MAX)        # tall M beyond N_COLS_MAX: n_params grows, memory ~ m·n
        if m * nn > RESIDUAL_MAX_ENTRIES:
            print(f"# candidate route stops: residual m·n = {m * nn:.2e} > memory cap")
            break
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            N, sec, res, ok, p = run_candidates(m, nn, R, rng)
        print(f"{N:9d} {m:6d} {nn:6d} {sec:9.3f} {res.dim:4d} {res.gap:9.2e} {str(ok):>7}", flush=True)
        if sec <= BUDGET and ok:
            best["candidates"] = (N, sec, res.dim)
        if sec > BUDGET:
            break
        m *= 2

    for route, (N, sec, k) in best.items():
        print(f"route={route} largest_n_within_10s={N} seconds={sec:.3f} dim_found={k} "
              f"dim_expected={R * R}")
    if not best:
        print("largest_n_within_10s=0 seconds=nan dim_found=0 dim_expected=4")
        return 1
    route, (N, sec, k) = max(best.items(), key=lambda kv: kv[1][0])
    print(f"largest_n_within_10s={N} seconds={sec:.3f} dim_found={k} dim_expected={R * R}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
