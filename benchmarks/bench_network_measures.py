"""Benchmark: the study's default measures on a trained 17,226-parameter digits MLP.

Network: widths (64, 128, 64, 10), cross-entropy on 500 training images of scikit-learn's
digits, He init (seed 0), full-batch GD with η = 0.1 until the training loss is ≤ 0.01 (the
net of ``bench_network_flatness.py``).

Timed, with the defaults of :func:`flatlib.networks.network_measures` (the settings of the
network study: escalating multistart search, ``SEARCH_DEFAULTS``):

1. ``f°(θ, r)`` at ``r = 0.1`` and ``r = 0.5`` alone (``max_variation_net``, with the Lanczos
   eigenvector start), with its evidence (starts, hits);
2. the whole ``network_measures`` call (seven measures, raw and balanced).

Baseline measured in the same run: the pre-study setting (``flatlib.max_variation`` with 2 random
starts, ``tol=1e-4``, ``max_iter=50`` and the eigenvector start), whose values the audit found
up to 79% too low.  ``ratio`` = default time / baseline time; the values and their ratio are
printed so that the cost of the strength can be read against what it buys.

Last line: ``params=… fcirc_r1_s=… fcirc_r2_s=… all_measures_s=… ratio_r2=…``.
"""
from __future__ import annotations

import time

import numpy as np

from flatlib.networks.measures import lambda_max, max_variation_net, network_measures
from flatlib.networks.training import model_from_config, train_from_config
from flatlib.profiles import max_variation

CONFIG = dict(n_train=500, hidden=(128, 64), lr=0.1, steps=5000, loss_threshold=0.01)


def main():
    res = train_from_config(CONFIG)
    model, _, _ = model_from_config(CONFIG)
    th = res.theta
    print(f"net {model.widths}: {model.n} parameters, {res.steps} GD steps to loss {res.loss:.4f}")
    _, vec, _ = lambda_max(model, th)
    out = {}
    for r in (0.1, 0.5):
        t0 = time.perf_counter()
        base = max_variation(model.f, th, r, grad=model.grad, vectorized=True, n_starts=2, rng=0, tol=1e-4,
                             max_iter=50, starts=vec)
        tb = time.perf_counter() - t0
        t0 = time.perf_counter()
        sr = max_variation_net(model, th, r, starts=[vec])
        td = time.perf_counter() - t0
        out[r] = (td, tb)
        print(f"f°(θ, {r}): default {sr.value:.6g} in {td:.1f} s ({sr.starts} starts, {sr.hits} hits, "
              f"converged {sr.converged}); pre-study setting {base.value:.6g} in {tb:.2f} s "
              f"(value ratio {sr.value / base.value:.3f}, time ratio {td / tb:.0f}x)")
    t0 = time.perf_counter()
    m = network_measures(model, th)
    ta = time.perf_counter() - t0
    print("all measures, raw:      " + ", ".join(f"{k} {v:.4g}" for k, v in m.raw.items()))
    print("all measures, balanced: " + ", ".join(f"{k} {v:.4g}" for k, v in m.balanced.items()))
    print(f"params={model.n} fcirc_r1_s={out[0.1][0]:.1f} fcirc_r2_s={out[0.5][0]:.1f} all_measures_s={ta:.1f} "
          f"ratio_r2={out[0.5][0] / out[0.5][1]:.0f}")


if __name__ == "__main__":
    main()
