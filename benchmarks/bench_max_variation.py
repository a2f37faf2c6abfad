"""Benchmark: flatlib.max_variation vs a plain scipy baseline on closed-form cases.

Each case is a smooth function with a known f°(x, r). Both solvers get the
gradient and the same number of random starts; the baseline is SLSQP
(scipy.optimize.minimize) with the ball constraint r² - ||y - x||² >= 0, run
for both sides (max f and min f) from the same kind of starts (the gradient
direction and random points on the sphere), keeping the best.

The quadratic_general cases take their exact value from the Lagrangian dual of the two
trust-region subproblems (``trs_dual``, written here, no flatlib code). Times are CPU times
of this process (best of 5 runs for both solvers, 1 for n = 1000).

Prints one line per case and, last, the summary line
    speedup_vs_scipy=<median time ratio> max_rel_err=<worst relative error of flatlib vs closed form>
Usage: python benchmarks/bench_max_variation.py [--quick]
"""
import os
import sys
import time

# One BLAS thread for both solvers (unless set by the caller): on a shared 2-core machine,
# threaded BLAS inside SLSQP's dense solves made the baseline's timings vary several-fold.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from flatlib import max_variation  # noqa: E402


def case_quadratic_critical(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    Q = A + A.T
    f = lambda y: 0.5 * np.einsum("...i,...i->...", y, y @ Q)
    grad = lambda y: y @ Q
    lam = np.linalg.eigvalsh(Q)
    r = 0.5
    exact = 0.5 * np.max(np.abs(lam)) * r * r  # at a critical point: ½‖Q‖₂ r²
    return f"quadratic_critical_n{n}", f, grad, np.zeros(n), r, exact


def trs_dual(Q, g, r):
    r"""Independent reference for :math:`\max_{\|u\| \le r} g^\top u + \tfrac12 u^\top Q u`
    (shares no code with flatlib): the Lagrangian dual

    .. math:: \min_{\mu \ge \mu_0} d(\mu), \quad
              d(\mu) = \tfrac12 \sum_i \frac{g_i^2}{\mu - \lambda_i} + \tfrac12 \mu r^2,
              \quad \mu_0 = \max(\lambda_{\max}, 0),

    in the eigenbasis of Q (``g_i`` the coordinates of g). The trust-region subproblem has no
    duality gap, and every feasible ``mu`` gives an upper bound. ``d`` is convex, so its minimum
    is where ``d'(mu) = ½ (r² - Σ g_i²/(mu - λ_i)²)`` changes sign, found by bisection on
    ``[mu_0, mu_0 + |g|/r]`` (``d' >= 0`` at the right end since every ``mu - λ_i >= |g|/r``);
    if ``d' >= 0`` already at ``mu_0`` the minimum is there (``g_i = 0`` terms with
    ``λ_i = mu_0`` drop out: the hard case)."""
    lam, V = np.linalg.eigh(Q)
    gi2 = (V.T @ g) ** 2
    mu0 = max(lam[-1], 0.0)

    def gap(mu):  # mu - lambda_i, and the terms with g_i = 0 masked out
        return mu - lam

    def dprime(mu):
        d = gap(mu)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(gi2 > 0, gi2 / d ** 2, 0.0)
        return 0.5 * (r * r - t.sum())

    def dual(mu):
        d = gap(mu)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(gi2 > 0, gi2 / d, 0.0)
        return 0.5 * t.sum() + 0.5 * mu * r * r

    if dprime(mu0) >= 0:
        return dual(mu0)
    lo, hi = mu0, mu0 + np.sqrt(gi2.sum()) / r
    for _ in range(200):  # bisection to the last bit
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if dprime(mid) < 0:
            lo = mid
        else:
            hi = mid
    return dual(hi)  # d'(hi) >= 0 > d'(lo): the minimizer is in [lo, hi], one ulp wide


def case_quadratic_general(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    Q = A + A.T
    b = rng.standard_normal(n) / np.sqrt(n)
    f = lambda y: 0.5 * np.einsum("...i,...i->...", y, y @ Q) + y @ b
    grad = lambda y: y @ Q + b
    x = rng.standard_normal(n) / np.sqrt(n)
    r = 1.0
    g = Q @ x + b
    # f° = the larger of the two trust-region subproblems (max f - f(x), f(x) - min f),
    # each from its dual: an independent reference, not flatlib.trust_region_max
    return f"quadratic_general_n{n}", f, grad, x, r, max(trs_dual(Q, g, r), trs_dual(-Q, -g, r))


def case_log_radial(n, seed):
    # f = log(1 + ||y||²) at 0: f° = log(1 + r²)
    sq = lambda y: np.einsum("...i,...i->...", y, y)
    f = lambda y: np.log1p(sq(y))
    grad = lambda y: 2 * y / (1 + sq(y))[..., None]
    r = 0.8
    return f"log_radial_n{n}", f, grad, np.zeros(n), r, np.log1p(r * r)


def case_ridge(n, seed):
    # f = t + t², t = a.y: on the ball around x, t - t_x ranges over [-|a| r, |a| r].
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    a /= np.linalg.norm(a)
    x = 0.3 * a
    f = lambda y: y @ a + (y @ a) ** 2
    grad = lambda y: (1 + 2 * (y @ a))[..., None] * a
    r = 0.4
    tx = a @ x
    h = lambda t: t + t * t
    ts = np.array([tx - r, tx + r, -0.5]) if abs(-0.5 - tx) <= r else np.array([tx - r, tx + r])
    exact = np.max(np.abs(h(ts) - h(tx)))
    return f"ridge_n{n}", f, grad, x, r, exact


def case_scalar_factorization(n, seed):
    f = lambda z: 0.5 * (z[..., 0] * z[..., 1] - 1.0) ** 2
    grad = lambda z: (z[..., 0] * z[..., 1] - 1.0)[..., None] * z[..., ::-1]
    r = 0.3  # < 1/sqrt(2): f° = ½(√2 r + r²/2)² (see tests/test_profiles.py)
    return "scalar_factorization_n2", f, grad, np.ones(2), r, 0.5 * (np.sqrt(2) * r + 0.5 * r * r) ** 2


def scipy_baseline(f, grad, x, r, n_starts, seed):
    rng = np.random.default_rng(seed)
    n = x.size
    gx = grad(x)
    dirs = [gx / np.linalg.norm(gx)] if np.linalg.norm(gx) > 0 else []
    R = rng.standard_normal((n_starts, n))
    dirs += list(R / np.linalg.norm(R, axis=1, keepdims=True))
    fx = f(x)
    cons = {"type": "ineq", "fun": lambda u: r * r - u @ u, "jac": lambda u: -2 * u}
    best = 0.0
    for s in (1.0, -1.0):
        for d in dirs:
            res = minimize(lambda u: -s * (f(x + u) - fx), s * r * d, jac=lambda u: -s * grad(x + u),
                           constraints=[cons], method="SLSQP", options={"ftol": 1e-12, "maxiter": 200})
            u = res.x
            if u @ u <= r * r * (1 + 1e-9):
                best = max(best, s * (f(x + u) - fx))
    return best


def timed(fun, repeat):
    """Best of ``repeat`` runs, in CPU time of this process (``time.process_time``; one BLAS
    thread, so CPU time = compute time): on a shared machine, wall-clock minima favour the
    short calls (flatlib, ~1 ms) over the long ones (SLSQP, 10-100 ms), which are more often
    preempted. The same clock for both solvers."""
    ts = []
    for _ in range(repeat):
        t0 = time.process_time()
        out = fun()
        ts.append(time.process_time() - t0)
    return out, min(ts)


def main(quick=False):
    sizes = [2, 10, 100] if quick else [2, 10, 100, 1000]
    cases = []
    for n in sizes:
        for make in (case_quadratic_critical, case_quadratic_general, case_log_radial, case_ridge):
            cases.append(make(n, seed=n))
    cases.append(case_scalar_factorization(2, 0))
    ratios, ratios_scalar, errs, base_errs = [], [], [], []
    print("All functions are numpy expressions valid on one point (n,) or a batch (k, n).")
    print("'vec' = flatlib with vectorized=True (all starts in one call); 'scalar' = one point per call.")
    print(f"{'case':<26}{'vec s':>9}{'scalar s':>10}{'scipy s':>10}{'ratio vec':>10}{'ratio sc':>9}"
          f"{'rel err':>10}{'scipy err':>10}")
    for name, f, grad, x, r, exact in cases:
        n = x.size
        n_starts = 8 if n <= 100 else 2
        repeat = 5 if n <= 100 else 1  # the same count for both solvers
        fs = lambda y: float(f(y))
        res, t_ours = timed(lambda: max_variation(f, x, r, grad=grad, n_starts=n_starts, rng=0,
                                                  vectorized=True), repeat)
        res_s, t_sc = timed(lambda: max_variation(fs, x, r, grad=grad, n_starts=n_starts, rng=0), repeat)
        base, t_base = timed(lambda: scipy_baseline(fs, grad, x, r, n_starts, seed=0), repeat)
        err = max(abs(res.value - exact), abs(res_s.value - exact)) / exact
        berr = abs(base - exact) / exact
        ratios.append(t_base / t_ours)
        ratios_scalar.append(t_base / t_sc)
        errs.append(err)
        base_errs.append(berr)
        print(f"{name:<26}{t_ours:9.4f}{t_sc:10.4f}{t_base:10.4f}{t_base / t_ours:10.1f}{t_base / t_sc:9.1f}"
              f"{err:10.1e}{berr:10.1e}", flush=True)
    # the same ratios as a table: one row per case family, one column per dimension n
    table = {}
    for (name, *_), ratio in zip(cases, ratios):
        fam, n = name.rsplit("_n", 1)
        table.setdefault(fam, {})[int(n)] = ratio
    ns = sorted({n for row in table.values() for n in row})
    print("speedup (vec) per case and n:")
    print(f"{'case':<22}" + "".join(f"{'n=' + str(n):>9}" for n in ns))
    for fam, row in table.items():
        print(f"{fam:<22}" + "".join(f"{row[n]:9.1f}" if n in row else f"{'-':>9}" for n in ns))
    print(f"cases={len(cases)} vec_ratio_range=[{min(ratios):.1f}, {max(ratios):.1f}] "
          f"scipy_max_rel_err={max(base_errs):.1e}")
    print(f"speedup_vs_scipy_scalar_f={np.median(ratios_scalar):.1f}")
    print(f"speedup_vs_scipy={np.median(ratios):.1f} max_rel_err={max(errs):.1e}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
