r"""Rank correlation of a measure with the generalization gap: Kendall's τ, overall and controlled.

* :func:`kendall_tau_ci`: Kendall's τ-b over all networks, with a percentile bootstrap interval.
  Pooled over networks that differ in several hyperparameters, τ mixes the effect of each
  hyperparameter on the measure and on the gap (a measure that merely tracks the width ranks
  nets by width).
* :func:`granulated_kendall`: the *granulated* coefficient of Jiang et al. (ICLR 2020). For an
  axis ``i`` (width, learning rate, ...), the nets are grouped by the values of every *other*
  axis; within a group only hyperparameter ``i`` varies, and ``ψ_i`` is the mean over the
  groups of τ(measure, gap) within the group.  ``Ψ`` is the mean of ``ψ_i`` over the axes.
  ``ψ_i > 0``: changing hyperparameter ``i`` moves the measure and the gap the same way.
  A group whose gap is constant is left out; one whose measure is constant counts as τ = 0.
* :func:`within_group_tau`: τ inside each group of a labelling (e.g. each width), with
  bootstrap intervals.

Bootstrap intervals of ``ψ_i`` resample the groups of axis ``i`` with replacement; those of ``Ψ``
resample the groups of every axis independently and average.
"""
from __future__ import annotations

import numbers

import numpy as np

from dataclasses import dataclass, field

from .._validate import as_rng

__all__ = ["kendall_tau_ci", "granulated_kendall", "GranulatedKendall", "within_group_tau"]


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
    idx = np.stack([gen.integers(0, k, k) for _ in range(int(n_boot))])
    boots = _resampled_tau_b(x, y, idx)
    boots = boots[np.isfinite(boots)]
    if not boots.size:
        return tau, float("nan"), float("nan")
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return tau, float(lo), float(hi)


def _resampled_tau_b(x, y, idx, block=256):
    r"""τ-b of every resample ``(x[idx[b]], y[idx[b]])`` from pair counts, without forming the
    resamples: with ``c`` the multiplicities of the nets in a resample and ``S_x = sign(x_i − x_j)``,
    ``P − Q = ½ cᵀ(S_x∘S_y)c`` (copies of one net tie in both and count in neither), and the pairs
    not tied in ``x`` number ``½ cᵀ|S_x|c``, so ``τ_b = cᵀ(S_x∘S_y)c / sqrt(cᵀ|S_x|c · cᵀ|S_y|c)``
    (all sums of integers, exact in floating point); ``nan`` where undefined."""
    k = x.size
    Sx = np.sign(x[:, None] - x[None, :])
    Sy = np.sign(y[:, None] - y[None, :])
    A, Ax, Ay = Sx * Sy, np.abs(Sx), np.abs(Sy)
    out = np.empty(idx.shape[0])
    for s in range(0, idx.shape[0], block):
        rows = idx[s:s + block]
        C = np.zeros((rows.shape[0], k))
        np.add.at(C, (np.arange(rows.shape[0])[:, None], rows), 1.0)
        num = np.einsum("bi,bi->b", C @ A, C)
        den = np.einsum("bi,bi->b", C @ Ax, C) * np.einsum("bi,bi->b", C @ Ay, C)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:s + block] = np.where(den > 0, num / np.sqrt(np.where(den > 0, den, 1.0)), np.nan)
    return out


def _tau(x, y):
    """τ-b within a group: ``nan`` (group dropped) when the gap is constant (nothing to rank),
    ``0`` when only the measure is constant (it ranks nothing)."""
    if np.all(y == y[0]):
        return float("nan")
    if np.all(x == x[0]):
        return 0.0
    return float(_resampled_tau_b(x, y, np.arange(x.size)[None, :])[0])


@dataclass
class GranulatedKendall:
    """Result of :func:`granulated_kendall`.

    Attributes
    ----------
    psi : dict
        ``{axis: ψ_axis}`` (mean within-group τ).
    psi_ci : dict
        ``{axis: (low, high)}`` bootstrap intervals.
    Psi : float
        Mean of ``psi`` over the axes of ``average_over``.
    Psi_ci : (float, float)
    n_groups : dict
        ``{axis: number of groups with a defined τ}``.
    group_taus : dict
        ``{axis: ndarray of the within-group τ}``.
    """

    psi: dict
    psi_ci: dict
    Psi: float
    Psi_ci: tuple
    n_groups: dict
    group_taus: dict = field(repr=False)


def _check_xy(measure, gap):
    x = np.asarray(measure, dtype=float)
    y = np.asarray(gap, dtype=float)
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"measure and gap must be 1-D of the same length, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("measure and gap must be finite")
    return x, y


def granulated_kendall(measure, gap, hyper, *, average_over=None, n_boot=1000, rng=0, level=0.95):
    r"""Jiang et al.'s granulated Kendall coefficient: ``ψ_i`` per axis and ``Ψ`` (module docstring).

    Parameters
    ----------
    measure, gap : array_like (k,)
    hyper : dict
        ``{axis: array (k,)}`` the hyperparameter values of every net (any hashable values).
        Groups for axis ``i`` are the nets sharing the values of all the other axes.
    average_over : sequence of str, optional
        Axes averaged into ``Ψ`` (default: all; e.g. leave out a seed axis, whose ``ψ`` says
        whether the measure follows the seed-to-seed changes of the gap).
    n_boot : int >= 1
    rng : int
    level : float in (0, 1)

    Returns
    -------
    GranulatedKendall

    Examples
    --------
    Four nets on a 2 × 2 grid of axes ``a`` and ``b``: along ``a`` the measure follows the gap
    in both groups (``ψ_a = 1``), along ``b`` it goes against it in both (``ψ_b = -1``), while
    τ pooled over the four nets is ``(2 - 4)/6``:

    >>> m, gap, hyper = [3, 4, 1, 2], [1, 2, 3, 4], {"a": [0, 1, 0, 1], "b": [0, 0, 1, 1]}
    >>> res = granulated_kendall(m, gap, hyper, n_boot=50)
    >>> res.psi, res.Psi, res.n_groups
    ({'a': 1.0, 'b': -1.0}, 0.0, {'a': 2, 'b': 2})
    >>> round(kendall_tau_ci(m, gap, n_boot=10)[0], 4)
    -0.3333
    """
    x, y = _check_xy(measure, gap)
    k = x.size
    if not isinstance(hyper, dict) or not hyper:
        raise TypeError("hyper must be a nonempty dict {axis: values}")
    cols = {}
    for a, v in hyper.items():
        v = list(v)
        if len(v) != k:
            raise ValueError(f"hyper[{a!r}] has {len(v)} values for {k} nets")
        cols[a] = [repr(t) for t in v]
    axes = list(cols)
    avg = axes if average_over is None else list(average_over)
    if set(avg) - set(axes):
        raise ValueError(f"average_over names unknown axes {sorted(set(avg) - set(axes))}")
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    gen = as_rng(rng)
    taus = {}
    for a in axes:
        others = [b for b in axes if b != a]
        groups = {}
        for j in range(k):
            groups.setdefault(tuple(cols[b][j] for b in others), []).append(j)
        t = [_tau(x[idx], y[idx]) for idx in groups.values() if len(idx) >= 2]
        taus[a] = np.array([v for v in t if np.isfinite(v)])
    psi = {a: float(np.mean(taus[a])) if taus[a].size else float("nan") for a in axes}
    qs = [(1 - level) / 2, (1 + level) / 2]
    boots = {a: taus[a][gen.integers(0, taus[a].size, (int(n_boot), taus[a].size))].mean(axis=1)
             if taus[a].size else np.full(int(n_boot), np.nan) for a in axes}
    psi_ci = {a: tuple(float(q) for q in np.quantile(boots[a], qs)) for a in axes}
    Psi = float(np.mean([psi[a] for a in avg]))
    Pb = np.mean([boots[a] for a in avg], axis=0)
    return GranulatedKendall(psi, psi_ci, Psi, tuple(float(q) for q in np.quantile(Pb, qs)),
                             {a: int(taus[a].size) for a in axes}, taus)


def within_group_tau(measure, gap, labels, *, n_boot=1000, rng=0, level=0.95):
    """Kendall's τ with a bootstrap interval inside each group of ``labels`` (e.g. the width).

    Returns
    -------
    dict
        ``{label: (tau, low, high, n)}`` for every label with at least 3 nets, sorted by label.

    Examples
    --------
    Inside each width the measure follows the gap; pooled, it does not:

    >>> out = within_group_tau([1, 2, 3, 10, 11, 12], [5, 6, 7, 1, 2, 3], [16, 16, 16, 32, 32, 32], n_boot=20)
    >>> {w: t[0] for w, t in out.items()}
    {16: 1.0, 32: 1.0}
    >>> round(kendall_tau_ci([1, 2, 3, 10, 11, 12], [5, 6, 7, 1, 2, 3], n_boot=20)[0], 3)
    -0.2
    """
    x, y = _check_xy(measure, gap)
    lab = list(labels)
    if len(lab) != x.size:
        raise ValueError(f"labels has {len(lab)} entries for {x.size} nets")
    out = {}
    for v in sorted(set(lab)):
        idx = np.array([j for j, t in enumerate(lab) if t == v])
        if idx.size >= 3:
            t, lo, hi = kendall_tau_ci(x[idx], y[idx], n_boot=n_boot, rng=rng, level=level)
            out[v] = (t, lo, hi, int(idx.size))
    return out
