r"""Rank correlation of a measure with the generalization gap: Kendall's τ with a bootstrap interval.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._validate import as_rng

__all__ = ["kendall_tau_ci"]


def kendall_tau_ci(measure, gap, n_boot=1000, rng=0, level=0.95):
    r"""Kendall's τ (τ-b, :func:`scipy.stats.kendalltau`) of ``measure`` with ``gap``, and a
    percentile bootstrap interval.

    τ-b ``= (P - Q) / sqrt((P + Q + T_x)(P + Q + T_y))`` over pairs of networks (``P``
    concordant, ``Q`` discordant, ``T`` ties in one variable only).  The interval: the
    ``(1 ± level)/2`` quantiles of τ over ``n_boot`` resamples of the networks with
    replacement (resamples where τ is undefined, e.g. a constant column, are dropped).

    Parameters
    ----------
    measure, gap : array_like (k,), finite, k >= 3
    n_boot : int >= 1
    rng : int or numpy.random.Generator
    level : float in (0, 1)

    Returns
    -------
    (tau, low, high) : tuple of float

    Examples
    --------
    >>> tau, lo, hi = kendall_tau_ci([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], n_boot=200)
    >>> round(tau, 6)                 # 8 concordant, 2 discordant pairs
    0.6
    >>> bool(-1 <= lo <= tau <= hi <= 1)
    True
    """
    from scipy.stats import kendalltau


    x = np.asarray(measure, dtype=float)
    y = np.asarray(gap, dtype=float)
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"measure and gap must be 1-D of the same length, got {x.shape} and {y.shape}")
    if x.size < 3:
        raise ValueError(f"measure needs at least 3 values, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("measure and gap must be finite")
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    tau = float(kendalltau(x, y).statistic)
    gen = as_rng(rng)
    k = x.size
    boots = []
    for _ in range(int(n_boot)):
        idx = gen.integers(0, k, k)
        t = kendalltau(x[idx], y[idx]).statistic
        if np.isfinite(t):
            boots.append(t)
    if not boots:
        return tau, float("nan"), float("nan")
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return tau, float(lo), float(hi)
