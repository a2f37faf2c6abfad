r"""Flatness order and constant, and the flatness preorder between two points.

For a definable (e.g. semialgebraic) function the profile has a leading term,
:math:`f^\circ(x, r) = c\, r^a + o(r^a)` as :math:`r \to 0`, with :math:`a, c > 0`
(:math:`a` rational for semialgebraic :math:`f`). We call :math:`(a, c)` the
*flatness order and constant*.

The *flatness preorder*: :math:`x \preceq y` ("x is at least as flat as y") when
:math:`f^\circ(x,r) \le f^\circ(y,r)` for all small :math:`r>0` (the *eventual*
comparison, equivalently :math:`\bar f(x,d) \ge \bar f(y,d)` for all small
:math:`d`); the robust *asymptotic* variant compares leading terms,
:math:`\limsup_{r\to0} f^\circ(x,r)/f^\circ(y,r) \le 1`. Both are offered by
:func:`compare_flatness`; numerically each is evidence on a grid of small radii,
not a proof about every radius.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._validate import as_nonneg, as_point, as_scalar
from .profiles import max_variation

__all__ = ["flatness_order", "compare_flatness", "FlatnessOrderResult", "ComparisonResult",
           "DEFAULT_RADII", "STRONG_RADII"]

#: Default radii for fits and comparisons: 9 points from 1e-3 to 1e-1.
DEFAULT_RADII = np.geomspace(1e-3, 1e-1, 9)
#: Default radii for the strong comparison (every radius, not only small ones): 1e-3 to 10.
STRONG_RADII = np.geomspace(1e-3, 10.0, 13)


@dataclass
class FlatnessOrderResult:
    """Result of :func:`flatness_order`.

    Attributes
    ----------
    order, constant : float
        Least-squares fit of ``log f° = log c + a log r`` on ``radii``.
    order_rational : Fraction or None
        The nearest fraction with denominator <= 6 when within ``0.02`` of ``order``.
    constant_at_rational : float or None
        ``c`` refitted with the order fixed at ``order_rational``.
    local_slopes : ndarray
        Slopes of ``log f°`` between consecutive radii (should flatten out as ``r -> 0``).
    settled : bool
        Whether the local slopes over the smallest decade of radii agree within
        ``slope_tol``; if not (e.g. an oscillating, non-definable profile), there is no
        reliable leading term and ``order_rational`` is ``None``.
    residual : float
        Root-mean-square residual of the log-log fit.
    radii, values : ndarray
    message : str
    """

    order: float
    constant: float
    order_rational: object
    constant_at_rational: object
    local_slopes: np.ndarray
    settled: bool
    residual: float
    radii: np.ndarray
    values: np.ndarray
    message: str


@dataclass
class ComparisonResult:
    """Result of :func:`compare_flatness`.

    ``sign``: -1 if x is flatter, +1 if y is flatter, 0 if tied, ``None`` if the
    profiles cross on the grid (incomparable there). ``radii``, ``profile_x`` and
    ``profile_y`` are the evidence; ``ratio`` is ``profile_x / profile_y``.
    """

    sign: object
    mode: str
    radii: np.ndarray
    profile_x: np.ndarray
    profile_y: np.ndarray
    ratio: np.ndarray
    message: str


def _radii(radii, default=DEFAULT_RADII):
    if radii is None:
        return default.copy()
    r = np.atleast_1d(as_nonneg(radii, "radii", strictly_positive=True)).astype(float)
    return np.sort(r)


def _smallest_decade(r):
    """Indices of the radii within a factor 10 of the smallest (at least 3 when possible)."""
    k = int(np.sum(r <= 10.0 * r[0]))
    return slice(0, max(k, min(3, r.size)))


def flatness_order(f, x, radii=None, *, slope_tol=0.1, **kwargs):
    r"""Flatness order and constant :math:`(a, c)` with :math:`f^\circ(x,r) \approx c\,r^a` as :math:`r\to0`.

    Parameters
    ----------
    f, x
        As in :func:`flatlib.max_variation`.
    radii : 1-D array_like of positive floats, optional
        Radii of the fit (default ``DEFAULT_RADII``, 1e-3 to 1e-1); use small ones,
        since the fit measures the leading term only.
    slope_tol : float
        Largest spread of the local slopes over the smallest decade for the leading term
        to count as settled (finite, ``>= 0``).
    **kwargs
        Passed to :func:`flatlib.max_variation` (``grad``, ``hess``, ``rng`` ...).

    Returns
    -------
    FlatnessOrderResult

    Examples
    --------
    :math:`x^4` at 0 has order 4 and constant 1; :math:`|x|` has order 1:

    >>> res = flatness_order(lambda y: y[0] ** 4, [0.0])
    >>> res.order_rational, round(res.constant_at_rational, 6)
    (Fraction(4, 1), 1.0)
    >>> flatness_order(lambda y: abs(y[0]), [0.0]).order_rational
    Fraction(1, 1)
    """
    x = as_point(x, "x")
    r = _radii(radii)
    if r.size < 2:
        raise ValueError("radii must contain at least two radii")
    slope_tol = as_scalar(slope_tol, "slope_tol", low=0.0)
    res = max_variation(f, x, r, **kwargs)
    v = np.asarray(res.value, dtype=float)
    if np.any(v <= 0):
        return FlatnessOrderResult(np.inf, 0.0, None, None, np.full(r.size - 1, np.nan), False, np.nan, r, v,
                                   "f° vanishes at some radius: f is constant near x at that scale "
                                   "(order +inf)")
    lr, lv = np.log(r), np.log(v)
    A = np.column_stack([lr, np.ones_like(lr)])
    (a, logc), *_ = np.linalg.lstsq(A, lv, rcond=None)
    resid = float(np.sqrt(np.mean((A @ np.array([a, logc]) - lv) ** 2)))
    slopes = np.diff(lv) / np.diff(lr)
    dec = slopes[_smallest_decade(r)][: max(1, r.size - 1)]
    settled = bool(np.ptp(dec) <= slope_tol) if dec.size else False
    frac = Fraction(float(a)).limit_denominator(6)
    rational = frac if (settled and abs(float(frac) - a) <= 0.02) else None
    c_rat = None
    if rational is not None:
        # constant with the order fixed, from the smaller half of the radii
        h = max(2, r.size // 2)
        c_rat = float(np.exp(np.mean(lv[:h] - float(rational) * lr[:h])))
    msg = f"log-log least squares on {r.size} radii in [{r[0]:.3g}, {r[-1]:.3g}]"
    if not settled:
        msg += (f"; the local slopes over the smallest decade spread by {np.ptp(dec):.3g} > {slope_tol}: "
                "no settled leading term")
    return FlatnessOrderResult(float(a), float(np.exp(logc)), rational, c_rat, slopes, settled, resid, r, v,
                               msg)


def compare_flatness(f, x, y, *, mode="eventual", radii=None, rtol=1e-6, order_tol=0.05,
                     settle_tol=0.05, **kwargs):
    r"""Compare two points in the flatness preorder.

    Parameters
    ----------
    f : callable
    x, y : array_like, shape (n,)
    mode : {"eventual", "strong", "asymptotic"}
        ``"eventual"``: :math:`x \preceq y` iff :math:`f^\circ(x,r) \le f^\circ(y,r)(1+\mathrm{rtol})`
        at every radius of the grid (small radii by default). ``"strong"``: the same test on a
        grid of small *and* large radii (default ``STRONG_RADII``, 1e-3 to 10): evidence that
        the inequality holds for every radius, the strong flatness of the paper.
        ``"asymptotic"``: compare the leading terms
        :math:`c_x r^{a_x}` and :math:`c_y r^{a_y}`: a larger order is flatter; with equal orders
        (within ``order_tol``), compare :math:`\lim f^\circ(x,r)/f^\circ(y,r)`, estimated at the
        smallest radius, to 1 within ``rtol``. The verdict is ``None`` when the leading terms
        have not settled on the grid: local slopes spreading (see :func:`flatness_order`) or the
        ratio varying by more than ``settle_tol`` (relative) over the smallest decade of radii,
        as for oscillating, non-definable profiles whose ratio has no limit.
    radii : 1-D array_like, optional
        Default ``DEFAULT_RADII``.
    rtol : float
        Relative tolerance of the comparisons (finite, ``>= 0``).
    order_tol : float
        Orders closer than this count as equal (finite, ``>= 0``).
    settle_tol : float
        Largest relative variation of the ratio over the smallest decade (finite, ``>= 0``).
    **kwargs
        Passed to :func:`flatlib.max_variation`.

    Returns
    -------
    ComparisonResult
        ``sign = -1`` (x flatter), ``0`` (tie), ``+1`` (y flatter), ``None`` (incomparable on the grid).

    Examples
    --------
    On :math:`\tfrac12(xy-1)^2`, the balanced minimum ``(1, 1)`` is flatter than ``(2, 1/2)``:

    >>> f = lambda z: 0.5 * (z[0] * z[1] - 1.0) ** 2
    >>> compare_flatness(f, [1.0, 1.0], [2.0, 0.5]).sign
    -1
    """
    if mode not in ("eventual", "strong", "asymptotic"):
        raise ValueError(f"mode must be 'eventual', 'strong' or 'asymptotic', got {mode!r}")
    x = as_point(x, "x")
    y = as_point(y, "y")
    if y.size != x.size:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    r = _radii(radii, STRONG_RADII if mode == "strong" else DEFAULT_RADII)
    rtol = as_scalar(rtol, "rtol", low=0.0)
    order_tol = as_scalar(order_tol, "order_tol", low=0.0)
    settle_tol = as_scalar(settle_tol, "settle_tol", low=0.0)
    px = np.asarray(max_variation(f, x, r, **kwargs).value, dtype=float)
    py = np.asarray(max_variation(f, y, r, **kwargs).value, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(py > 0, px / py, np.where(px > 0, np.inf, 1.0))
    if mode in ("eventual", "strong"):
        x_le = bool(np.all(px <= py * (1 + rtol)))
        y_le = bool(np.all(py <= px * (1 + rtol)))
        if x_le and y_le:
            sign, msg = 0, "tie: the profiles agree to rtol at every radius"
        elif x_le:
            sign, msg = -1, "x is flatter at every radius of the grid"
        elif y_le:
            sign, msg = 1, "y is flatter at every radius of the grid"
        else:
            sign, msg = None, "the profiles cross on the grid: incomparable there"
        return ComparisonResult(sign, mode, r, px, py, ratio, msg)
    ox = flatness_order(f, x, r, **kwargs)
    oy = flatness_order(f, y, r, **kwargs)
    dec = ratio[_smallest_decade(r)]
    spread = float(np.max(dec) / np.min(dec) - 1.0) if np.all(np.isfinite(dec)) and np.min(dec) > 0 else np.inf
    if not (ox.settled and oy.settled):
        sign = None
        msg = "no settled leading term (local slopes spread over the smallest decade): cannot compare"
    elif abs(ox.order - oy.order) > order_tol:
        sign = -1 if ox.order > oy.order else 1
        msg = f"orders differ: a_x = {ox.order:.3f}, a_y = {oy.order:.3f} (higher order is flatter)"
    elif spread > settle_tol:
        sign = None
        msg = (f"same order {ox.order:.3f}, but the ratio of profiles varies by {spread:.3g} over the "
               "smallest decade: no limit on the grid, cannot compare")
    else:
        lim = ratio[0]
        if lim < 1 - rtol:
            sign = -1
        elif lim > 1 + rtol:
            sign = 1
        else:
            sign = 0
        msg = f"same order {ox.order:.3f}; ratio of profiles at the smallest radius {lim:.6g}"
    return ComparisonResult(sign, mode, r, px, py, ratio, msg)
