"""Benchmark: worst-case sharpness and λ_max of a trained digits MLP (≥ 10,000 parameters).

Network: widths (64, 128, 64, 10) = 17,226 parameters, cross-entropy on 500 training
images of scikit-learn's digits (``load_digits(500, seed=0)``), He init (seed 0), full-batch
GD with η = 0.1 until the training loss is ≤ 0.01 (``flatlib.networks.training``).

1. Worst-case sharpness ``max_{||δ|| ≤ ρ} f(θ + δ) - f(θ)``, ρ = 0.1 (near-quadratic) and 0.5:
   * flatlib: ``max_variation(side="up")`` (batched spectral projected gradient from the
     gradient direction, the top Hessian eigenvector by Lanczos, and 0 or 2 random starts);
   * a re-implementation of APGD as used for worst-case sharpness by Andriushchenko et al.
     (2023), after Croce & Hein (2020): from θ, step η₀ = 2ρ along the normalized gradient,
     projection on the ball, momentum 0.75
     (``x_{k+1} = P(x_k + 0.75 (z_{k+1} - x_k) + 0.25 (x_k - x_{k-1}))``,
     ``z_{k+1} = P(x_k + η g_k/||g_k||)``), step halved at the checkpoints
     ``p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)`` when fewer
     than 75% of the steps since the last checkpoint increased the objective, or when the
     step was not halved at the last checkpoint and the best value did not improve (then
     restart from the best point); best iterate kept.
   Same gradient budget: APGD gets exactly the number of gradient evaluations flatlib used
   (one per iteration).  ``fmax_ratio_vs_apgd`` = the smallest, over radii and settings, of
   flatlib's value / APGD's (≥ 1: flatlib finds at least as sharp a direction at equal cost).
2. λ_max to 1e-6 relative: Lanczos (``hessian_lambda_max``, ARPACK) against power iteration
   (PyHessian's method: ``v ← Hv/||Hv||``, Rayleigh quotient), both stopped once within 1e-6
   of a reference (Lanczos at tol 1e-12); counts of Hessian–vector products.
   ``lanczos_hvp_ratio`` = power-iteration HVPs / Lanczos HVPs.

Last line: ``params=… fmax_ratio_vs_apgd=… lanczos_hvp_ratio=… seconds=…`` with ``seconds``
the longest wall-clock time of flatlib's f° (``max_variation`` plus the Lanczos start).
"""
from __future__ import annotations

import time

import numpy as np

from flatlib.profiles import max_variation
from flatlib.networks.training import model_from_config, train_from_config
from flatlib.spectral import hessian_lambda_max

CONFIG = dict(n_train=500, hidden=(128, 64), lr=0.1, steps=5000, loss_threshold=0.01)
RHOS = (0.1, 0.5)
SETTINGS = ((0, 1e-8, 200), (2, 1e-8, 200))   # (random starts, tol, max_iter) of max_variation


def apgd(f, grad, x0, rho, n_iter, momentum=0.75):
    """APGD ascent of f on the ball ||x - x0|| <= rho with n_iter gradient evaluations."""
    def proj(x):
        d = x - x0
        nd = np.linalg.norm(d)
        return x if nd <= rho else x0 + d * (rho / nd)

    # checkpoints
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    checks = sorted({int(np.ceil(q * n_iter)) for q in p[1:] if q < 1})
    eta = 2.0 * rho
    f0 = f(x0)
    x_prev = x0.copy()
    x = x0.copy()
    fx = f0
    g = grad(x)
    n_grad = 1
    best_x, best_f = x.copy(), fx
    succ = 0
    last_check, best_at_last, halved_last = 0, best_f, False
    k = 0
    while n_grad < n_iter:
        gn = np.linalg.norm(g)
        step = g / gn if gn > 0 else np.zeros_like(g)
        z = proj(x + eta * step)
        x_new = z if k == 0 else proj(x + momentum * (z - x) + (1 - momentum) * (x - x_prev))
        f_new = f(x_new)
        if f_new > fx:
            succ += 1
        x_prev, x, fx = x, x_new, f_new
        if fx > best_f:
            best_x, best_f = x.copy(), fx
        k += 1
        if k in checks:
            cond1 = succ < 0.75 * (k - last_check)
            cond2 = (not halved_last) and best_f <= best_at_last
            if cond1 or cond2:
                eta *= 0.5
                halved_last = True
                x_prev = best_x.copy()
                x, fx = best_x.copy(), best_f
            else:
                halved_last = False
            succ, last_check, best_at_last = 0, k, best_f
        g = grad(x)
        n_grad += 1
    return best_f - f0, n_grad


def power_iteration(hvp, n, ref, rtol=1e-6, max_hvp=20000, seed=0):
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    lam = 0.0
    for k in range(1, max_hvp + 1):
        w = hvp(v)
        lam = float(v @ w)
        if abs(lam - ref) <= rtol * abs(ref):
            return lam, k
        v = w / np.linalg.norm(w)
    return lam, max_hvp


def main():
    t0 = time.perf_counter()
    res = train_from_config(CONFIG)
    model, _, _ = model_from_config(res.extra["config"])
    theta = res.theta
    print(f"network {model.widths}: {model.n} parameters, {model.X.shape[0]} samples; GD "
          f"{res.steps} steps to loss {res.loss:.4f} ({time.perf_counter() - t0:.1f} s)", flush=True)

    # --- worst-case sharpness at equal gradient budget
    t = time.perf_counter()
    ev = hessian_lambda_max(model.hvp, theta, tol=1e-6, rng=0)
    t_ev = time.perf_counter() - t
    ratios, times = [], []
    for rho in RHOS:
        for n_starts, tol, max_iter in SETTINGS:
            t = time.perf_counter()
            mv = max_variation(model.f, theta, rho, grad=model.grad, side="up", vectorized=True,
                               n_starts=n_starts, starts=ev.eigenvector, rng=0, tol=tol, max_iter=max_iter)
            t_fl = time.perf_counter() - t + t_ev
            t = time.perf_counter()
            val_apgd, used = apgd(model.f, model.grad, theta, rho, int(mv.ngev))
            t_ap = time.perf_counter() - t
            ratios.append(mv.value / val_apgd)
            times.append(t_fl)
            print(f"rho = {rho}: flatlib ({n_starts} random starts, tol {tol:g}) {mv.value:.8g} "
                  f"({mv.ngev} gradients, {t_fl:.2f} s incl. Lanczos {ev.n_hvp} HVPs) | APGD {val_apgd:.8g} "
                  f"({used} gradients, {t_ap:.2f} s) | ratio {ratios[-1]:.5f}", flush=True)
    ratio, t_fl = min(ratios), max(times)

    # --- lambda_max: Lanczos vs power iteration to 1e-6 relative
    ref = hessian_lambda_max(model.hvp, theta, tol=1e-12, rng=1).value
    lan = hessian_lambda_max(model.hvp, theta, tol=1e-7, rng=0)
    err_lan = abs(lan.value - ref) / abs(ref)
    t = time.perf_counter()
    lam_pow, n_pow = power_iteration(lambda v: model.hvp(theta, v), model.n, ref)
    t_pow = time.perf_counter() - t
    err_pow = abs(lam_pow - ref) / abs(ref)
    print(f"lambda_max reference {ref:.10g}; Lanczos {lan.n_hvp} HVPs (rel. err {err_lan:.1e}); "
          f"power iteration {n_pow} HVPs (rel. err {err_pow:.1e}, {t_pow:.2f} s)")
    hvp_ratio = n_pow / lan.n_hvp
    print(f"params={model.n} fmax_ratio_vs_apgd={ratio:.4f} lanczos_hvp_ratio={hvp_ratio:.1f} seconds={t_fl:.2f}")


if __name__ == "__main__":
    main()
