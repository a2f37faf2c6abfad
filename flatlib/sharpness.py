"""Classical sharpness measures, side by side with the maximal variation.

Every measure here is evaluated at a point ``x`` of a loss ``f: R^n -> R``:

* Hessian ``λ_max`` and trace (re-exported from :mod:`flatlib.spectral`);
* the ε-sharpness of Keskar et al. (2017), a maximum over a box;
* the SAM sharpness ``max_{||e|| <= ρ} f(x + e) - f(x)``, by SAM's one
  first-order ascent step or exactly (through :func:`flatlib.max_variation`
  with ``side="up"``);
* the (log-)volume of the connected component of a sublevel set that holds
  ``x`` (small dimension only);
* :func:`sharpness_table` puts all of them, and the maximal variation
  ``f°(x, r) = sup_{||y-x|| <= r} |f(y) - f(x)|``, in one table.

The point of the table: at a critical point the Hessian measures and SAM's
one-step estimate see only second-order information (the one-step estimate is
even exactly 0 there), while ``f°`` sees the whole neighbourhood. At the
degenerate minima ``(t, 0)`` of ``f(x, y) = y⁴ (1 + x²)`` every Hessian measure
is 0, yet ``f°((t, 0), r) ≈ (1 + t²) r⁴`` tells the points apart.

Randomness (multistart points, Monte Carlo samples) comes from ``rng``:
``None`` is the fixed seed 0, an ``int`` is a seed, a
:class:`numpy.random.Generator` is used as is; so every result is reproducible.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.optimize import minimize

from ._results import ScalarResult
from ._validate import (as_bool, as_int, as_nonneg, as_point, as_positive_int, as_scalar,
                        check_callable, scalar_fn, vector_fn)
from .spectral import hessian_lambda_max, hessian_trace, resolve_rng

__all__ = [
    "BoxBoundaryWarning",
    "GridResolutionWarning",
    "EpsilonSharpnessResult",
    "SamSharpnessResult",
    "SharpnessTable",
    "SublevelVolumeResult",
    "epsilon_sharpness",
    "hessian_lambda_max",
    "hessian_trace",
    "sam_sharpness",
    "sharpness_table",
    "sublevel_volume",
]


class BoxBoundaryWarning(UserWarning):
    """The sublevel set reaches the boundary of the sampling box, so the
    reported volume is only a lower bound."""


class GridResolutionWarning(UserWarning):
    """The grid is too coarse for the sublevel component (fewer than half of
    its cells are interior cells): the volume is unreliable and thin parts of
    the set may have been cut off. Refine ``grid`` or shrink the box."""


def _max_variation():
    """The core :func:`flatlib.profiles.max_variation` (imported lazily so that
    the package ``__init__`` may import this module in any order)."""
    from .profiles import max_variation
    return max_variation


# --------------------------------------------------------------------------
# ε-sharpness (Keskar et al. 2017)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class EpsilonSharpnessResult(ScalarResult):
    """Result of :func:`epsilon_sharpness`.

    Attributes
    ----------
    value : float
        ``scale · (max_{y ∈ C_ε} f(y) - f(x)) / (1 + f(x))`` with ``scale = 100``
        if ``percent`` else ``1`` (``float(result)`` returns it).
    argmax : ndarray (n,)
        The best point ``y`` found in the box.
    increase : float
        ``max_{y ∈ C_ε} f(y) - f(x)`` (no normalization, no factor 100).
    fx : float
        ``f(x)``.
    halfwidth : ndarray (n,)
        Half-widths ``w_i`` of the box ``|y_i - x_i| <= w_i``.
    nfev, ngev : int
        Evaluations of ``f`` and of ``grad``.
    n_starts : int
        Number of L-BFGS-B runs.
    percent : bool
    message : str
    """

    value: float
    argmax: np.ndarray = field(repr=False)
    increase: float
    fx: float
    halfwidth: np.ndarray = field(repr=False)
    nfev: int
    ngev: int
    n_starts: int
    percent: bool
    message: str



def epsilon_sharpness(f, x, eps, *, grad=None, box="relative", percent=True, rng=None,
                      n_starts=10, corners="auto", max_iter=500, tol=1e-12):
    """ε-sharpness of Keskar et al. (2017), full-space version (``A = I``).

    .. math::

        φ_{x,f}(ε) = 100 · \\frac{\\max_{y ∈ C_ε} f(y) - f(x)}{1 + f(x)},
        \\qquad C_ε = \\{ y : |y_i - x_i| <= ε (|x_i| + 1) \\}.

    The factor 100 (a percentage) is Keskar et al.'s convention; ``percent=False``
    drops it. ``box="absolute"`` uses the box ``|y_i - x_i| <= ε`` instead. The
    normalization ``1 + f(x)`` presumes a loss with ``f(x) > -1`` (e.g. ``f >= 0``);
    otherwise a ``ValueError`` is raised. Because of that denominator the
    measure is **not** invariant under adding a constant to ``f``: ``f + c``
    gives ``value · (1 + f(x)) / (1 + f(x) + c)``.

    The box-constrained maximization is solved as Keskar et al. did: L-BFGS-B
    (:func:`scipy.optimize.minimize` on ``-f``) with multistart, using ``grad`` when
    given and finite differences otherwise. Starts: ``x`` itself, the corner
    ``x + w · sign ∇f(x)`` (when ``grad`` is given), the best box vertex (when
    vertices are evaluated, see ``corners``), and ``n_starts`` uniform random
    points of the box. The result is a lower bound of the true maximum
    (exact for convex ``f``, whose maximum over a box is at a vertex, when
    ``corners`` enumerates the vertices).

    Parameters
    ----------
    f : callable
        ``f(y) -> float`` on 1-D float arrays.
    x : array_like (n,)
        The point (finite).
    eps : float
        Box size ``ε >= 0``.
    grad : callable, optional
        ``grad(y) -> (n,)`` gradient of ``f``.
    box : {"relative", "absolute"}
        Half-widths ``ε (|x_i| + 1)`` (Keskar et al.) or ``ε``.
    percent : bool
        Multiply by 100 (default, Keskar et al.'s convention).
    rng : None, int or numpy.random.Generator
        Source of the random starts (default: fixed seed 0).
    n_starts : int
        Number of random starts (>= 0).
    corners : "auto", bool
        Evaluate ``f`` at all ``2ⁿ`` box vertices (``"auto"``: when ``n <= 10``).
    max_iter : int
        L-BFGS-B iteration cap per start.
    tol : float
        L-BFGS-B ``ftol`` and ``gtol``.

    Returns
    -------
    EpsilonSharpnessResult

    Raises
    ------
    ValueError
        Non-finite ``x``, negative or non-finite ``eps``, unknown ``box``,
        ``f(x) <= -1``, ``f`` returning NaN, ``grad`` of wrong shape.
    TypeError
        ``f`` not callable or not returning a real scalar.

    Examples
    --------
    For ``f(y) = ½||y||²`` at ``x = 0`` the box is ``[-ε, ε]ⁿ`` and the maximum
    ``½ n ε²`` sits at a vertex: with ``n = 2``, ``ε = 0.1`` the value is
    ``100 · 0.01 = 1``.

    >>> import numpy as np
    >>> res = epsilon_sharpness(lambda y: 0.5 * y @ y, np.zeros(2), 0.1, grad=lambda y: y)
    >>> round(res.value, 10), np.abs(res.argmax).round(10).tolist()
    (1.0, [0.1, 0.1])
    >>> round(epsilon_sharpness(lambda y: 0.5 * y @ y, np.zeros(2), 0.1, percent=False).value, 10)
    0.01
    """
    x = as_point(x, "x")
    n = x.shape[0]
    eps = as_scalar(eps, "eps", low=0.0)
    if box not in ("relative", "absolute"):
        raise ValueError(f"box must be 'relative' or 'absolute', got {box!r}")
    percent = as_bool(percent, "percent")
    n_starts = _nonneg_int(n_starts, "n_starts")
    max_iter = as_positive_int(max_iter, "max_iter")
    tol = as_scalar(tol, "tol", low=0.0, low_open=True)
    if isinstance(corners, str) and corners == "auto":
        corners = n <= 10
    elif not isinstance(corners, (bool, np.bool_)):
        raise ValueError(f"corners must be 'auto', True or False, got {corners!r}")
    elif corners and n > 20:
        raise ValueError(f"corners=True needs 2**n vertex evaluations; n = {n} is too large")
    gen = resolve_rng(rng)
    fw = scalar_fn(f, "f")
    gw = vector_fn(grad, n, "grad") if grad is not None else None
    with np.errstate(over="ignore"):
        w_check = eps * (np.abs(x) + 1.0) if box == "relative" else np.full(n, eps)
    if not np.all(np.isfinite(x + w_check)) or not np.all(np.isfinite(x - w_check)):
        raise ValueError(f"eps = {eps:g} gives a box whose corners overflow (beyond 1.8e308)")

    fx = fw(x)
    if not 1.0 + fx > 0.0:
        raise ValueError(f"epsilon_sharpness normalizes by 1 + f(x), which needs f(x) > -1; "
                         f"got f(x) = {fx!r} (shift f by a constant, or use percent/box "
                         f"on a loss bounded below by 0)")
    w = eps * (np.abs(x) + 1.0) if box == "relative" else np.full(n, eps)
    scale = 100.0 if percent else 1.0
    if eps == 0.0:
        return EpsilonSharpnessResult(0.0, x.copy(), 0.0, fx, w, fw.ncalls, 0, 0, bool(percent),
                                      "eps = 0: the box is the point x")
    lo, hi = x - w, x + w
    best = _Incumbent(x, fx)
    starts = _box_starts(fw, gw, x, w, corners, n_starts, gen, best)
    n_runs = _lbfgsb_box_ascent(fw, gw, starts, lo, hi, max_iter, tol, best)
    increase = max(best.f - fx, 0.0)
    value = scale * increase / (1.0 + fx)
    msg = (f"L-BFGS-B multistart ({n_runs} runs{', all 2^n vertices evaluated' if corners else ''}) "
           f"over the {box} box; value is a lower bound of the exact maximum")
    return EpsilonSharpnessResult(float(value), best.y, float(increase), fx, w, fw.ncalls,
                                  gw.ncalls if gw is not None else 0, n_runs, bool(percent), msg)


class _Incumbent:
    """The best point of the box seen so far: ``(y, f(y))`` with the largest ``f`` (the first
    one found on ties)."""

    def __init__(self, y, fy):
        self.y, self.f = y.copy(), fy

    def consider(self, y, fy):
        if fy > self.f:
            self.y, self.f = np.array(y, dtype=float), fy


def _box_starts(fw, gw, x, w, corners, n_starts, gen, best):
    """Starting points of the ascent in the box ``|y_i - x_i| <= w_i``, in this order:
    ``x``; the vertex ``x + w · sign ∇f(x)`` that a first-order model of ``f`` maximizes (when
    ``∇f(x) ≠ 0``); the best of the ``2ⁿ`` vertices (when ``corners``; every vertex is
    evaluated; a convex ``f`` attains its maximum over a box at a vertex, so the result is
    then exact); then
    ``n_starts`` uniform points of the box. Every evaluated vertex updates ``best``."""
    n = x.shape[0]
    starts = [x.copy()]
    if gw is not None:
        g0 = gw(x)
        if np.any(g0 != 0.0):
            c = x + w * np.where(g0 >= 0.0, 1.0, -1.0)
            best.consider(c, fw(c))
            starts.append(c)
    if corners:
        signs = np.array(np.meshgrid(*([[-1.0, 1.0]] * n), indexing="ij")).reshape(n, -1).T
        vals = []
        for s in signs:
            v = x + w * s
            fv = fw(v)
            vals.append(fv)
            best.consider(v, fv)
        starts.append(x + w * signs[int(np.argmax(vals))])
    lo, hi = x - w, x + w
    for _ in range(n_starts):
        starts.append(lo + (hi - lo) * gen.random(n))
    return starts


def _lbfgsb_box_ascent(fw, gw, starts, lo, hi, max_iter, tol, best):
    """Maximize ``f`` over the box ``[lo, hi]`` by L-BFGS-B on ``-f`` from each start (with
    ``-∇f`` when ``gw`` is given, else 2-point finite differences); every end point, clipped
    to the box, updates ``best``. Returns the number of runs."""
    jac = (lambda y: -gw(y)) if gw is not None else "2-point"
    bounds = list(zip(lo, hi))
    n_runs = 0
    for y0 in starts:
        res = minimize(lambda y: -fw(y), y0, jac=jac, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": max_iter, "ftol": tol, "gtol": tol})
        n_runs += 1
        y = np.clip(res.x, lo, hi)
        best.consider(y, fw(y) if not np.array_equal(y, res.x) else -float(res.fun))
    return n_runs


# --------------------------------------------------------------------------
# SAM sharpness
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SamSharpnessResult(ScalarResult):
    """Result of :func:`sam_sharpness`.

    Attributes
    ----------
    value : float
        ``f(x + e) - f(x)`` for the returned perturbation ``e``
        (``float(result)`` returns it).
    point : ndarray (n,)
        ``x + e``.
    displacement : ndarray (n,)
        ``e`` (``||e|| <= ρ``).
    exact : bool
        ``True``: ``value`` estimates ``max_{||e|| <= ρ} f(x+e) - f(x)`` (a lower
        bound from the multistart search, certified from above by ``upper`` when
        available); ``False``: SAM's one-step estimate.
    grad_norm : float or None
        ``||∇f(x)||`` (``None`` if ``grad`` was not given).
    upper : float or None
        Certified upper bound of the exact SAM sharpness, when the core provides one.
    nfev : int
        Evaluations of ``f`` (as reported by the core for ``exact=True``).
    rho : float
    message : str
    """

    value: float
    point: np.ndarray = field(repr=False)
    displacement: np.ndarray = field(repr=False)
    exact: bool
    grad_norm: float | None
    upper: float | None
    nfev: int
    rho: float
    message: str



def sam_sharpness(f, x, rho, *, grad=None, exact=False, hess=None, n_starts=8, rng=None,
                  tol=1e-10, max_iter=500, gtol=0.0):
    """SAM sharpness ``S_ρ(x) = max_{||e|| <= ρ} f(x + e) - f(x)`` (Euclidean ball).

    * ``exact=False`` (what SAM uses): one normalized first-order ascent step
      ``e = ρ ∇f(x) / ||∇f(x)||`` and the value ``f(x + e) - f(x)``. It is exact
      for linear ``f`` (``ρ ||∇f||``) but blind at a critical point: when
      ``||∇f(x)|| <= gtol`` (default: exactly 0) the step is ``e = 0`` and the
      estimate is ``0``, whatever the curvature — the message says so.
    * ``exact=True``: the maximum itself, computed by the core
      ``flatlib.max_variation(f, x, rho, grad=grad, side="up", ...)``, i.e.
      the one-sided maximal variation. When ``grad`` is given the one-step
      point is also tried, and the larger of the two values is returned (both
      are lower bounds of the maximum). For ``C²`` ``f`` at a local minimum,
      ``S_ρ(x) = ½ λ_max ρ² + o(ρ²)``.

    Parameters
    ----------
    f : callable
        ``f(y) -> float``.
    x : array_like (n,)
    rho : float
        Radius ``ρ >= 0``.
    grad : callable
        ``grad(y) -> (n,)``; required for ``exact=False``, optional (passed to the
        core) for ``exact=True``.
    exact : bool
    hess, n_starts, rng, tol, max_iter
        Passed to :func:`flatlib.max_variation` when ``exact=True``.
    gtol : float
        Gradient norm at or below which the one-step displacement is 0.

    Returns
    -------
    SamSharpnessResult

    Raises
    ------
    ValueError
        Non-finite ``x``, negative ``rho``, ``f``/``grad`` returning NaN or a
        wrong shape.
    TypeError
        ``grad`` missing for ``exact=False``; ``f`` not returning a scalar.

    Examples
    --------
    For a linear function the single step is exact: ``ρ ||g||``.

    >>> import numpy as np
    >>> g = np.array([3.0, 4.0])
    >>> res = sam_sharpness(lambda y: g @ y, np.zeros(2), 0.1, grad=lambda y: g)
    >>> round(res.value, 12), res.point.round(12).tolist()
    (0.5, [0.06, 0.08])

    At the minimum of ``½||y||²`` the gradient vanishes: the one-step estimate
    is 0 although the exact value is ``½ ρ²``.

    >>> res = sam_sharpness(lambda y: 0.5 * y @ y, np.zeros(2), 0.1, grad=lambda y: y)
    >>> res.value, res.message.startswith("gradient vanishes")
    (0.0, True)
    """
    x = as_point(x, "x")
    n = x.shape[0]
    rho = as_scalar(rho, "rho", low=0.0)
    gtol = as_scalar(gtol, "gtol", low=0.0)
    exact = as_bool(exact, "exact")
    # the arguments of the exact computation are checked whichever mode is used
    _nonneg_int(n_starts, "n_starts")
    as_positive_int(max_iter, "max_iter")
    as_scalar(tol, "tol", low=0.0, low_open=True)
    resolve_rng(rng)
    if hess is not None:
        check_callable(hess, "hess")
    fw = scalar_fn(f, "f")
    gw = vector_fn(grad, n, "grad") if grad is not None else None
    if not exact and gw is None:
        raise TypeError("sam_sharpness(exact=False) needs grad: the one-step estimate "
                        "uses e = rho * grad(x) / ||grad(x)||")
    fx = fw(x)

    one = None
    gnorm = None
    if gw is not None:
        g = gw(x)
        with np.errstate(over="ignore"):
            gnorm = float(np.linalg.norm(g))
        if not np.isfinite(gnorm):  # the squares overflow: scale first
            m = float(np.max(np.abs(g)))
            gnorm = m * float(np.linalg.norm(g / m))
        if gnorm <= gtol or rho == 0.0:
            e = np.zeros(n)
            val = 0.0
            if rho == 0.0:
                msg1 = "rho = 0: the ball is the point x"
            else:
                msg1 = (f"gradient vanishes at x (||grad f(x)|| = {gnorm:.3g} <= gtol = {gtol:g}): "
                        f"the one-step ascent direction is undefined, so SAM's displacement is 0 "
                        f"and its estimate is 0 whatever the curvature; use exact=True")
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                e = rho * g / gnorm
            if not np.all(np.isfinite(e)):  # rho |g| overflows: the same direction, scaled first
                gs = g / np.max(np.abs(g))
                e = rho * (gs / np.linalg.norm(gs))
            val = fw(x + e) - fx
            msg1 = f"one first-order ascent step e = rho g/||g|| (||g|| = {gnorm:.6g})"
        one = (float(val), x + e, e, msg1)

    if not exact:
        val, pt, e, msg = one
        return SamSharpnessResult(val, pt, e, False, gnorm, None, fw.ncalls, float(rho), msg)

    if rho == 0.0:
        return SamSharpnessResult(0.0, x.copy(), np.zeros(n), True, gnorm, 0.0, fw.ncalls, 0.0,
                                  "rho = 0: the ball is the point x")
    mv = _max_variation()(f, x, rho, grad=grad, hess=hess, side="up", n_starts=n_starts,
                          rng=rng, tol=tol, max_iter=max_iter)
    val = float(np.asarray(mv.value).reshape(-1)[0])
    pt = np.asarray(mv.argmax, dtype=float).reshape(-1)
    upper = getattr(mv, "upper", None)
    if upper is not None:
        upper = float(np.asarray(upper).reshape(-1)[0])
    msg = f"exact SAM sharpness via max_variation(side='up'): {getattr(mv, 'message', '')}".rstrip(": ")
    if one is not None and one[0] > val:
        val, pt = one[0], one[1]
        msg += "; the one-step point gave a larger value and is returned"
    nfev = int(getattr(mv, "nfev", 0)) + fw.ncalls
    return SamSharpnessResult(val, pt, pt - x, True, gnorm, upper, nfev, float(rho), msg)


# --------------------------------------------------------------------------
# Sublevel-set volume
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SublevelVolumeResult(ScalarResult):
    """Result of :func:`sublevel_volume`.

    Attributes
    ----------
    value : float
        ``log_volume`` if ``log=True`` else ``volume`` (``float(result)``).
    volume : float
        Estimated volume (Lebesgue measure) of the set, restricted to the box.
    log_volume : float
        ``log(volume)`` (``-inf`` when no sample/cell is in the set).
    stderr : float or None
        Monte Carlo standard error of ``volume`` (``None`` for the grid method).
    log_stderr : float or None
        ``stderr / volume`` (delta method), ``None`` for the grid method.
    grid_error : float or None
        Grid method only: volume of the component's boundary cells, a heuristic
        scale of the discretization error (``None`` for Monte Carlo).
    touches_boundary : bool
        The set (component) reaches the box boundary: ``volume`` is then only a
        **lower bound** of the volume of the component (a
        :class:`BoxBoundaryWarning` is also emitted).
    resolved : bool
        Grid method: at least half of the component's cells are interior cells
        (all their face neighbours are in the component). ``False`` means the
        grid is too coarse for the component (a :class:`GridResolutionWarning`
        is emitted): a component only one or two cells thick, possibly cut
        into pieces along a thin valley, or reduced to the cell of ``x``.
        Monte Carlo: at least 100 samples fell in the set.
    method : str
        ``"grid"`` (flood fill of the component containing ``x``) or
        ``"monte-carlo"`` (fraction of uniform samples × box volume).
    n_eval : int
        Evaluations of ``f``.
    level : float
    box_halfwidth : ndarray (n,)
    message : str
    """

    value: float
    volume: float
    log_volume: float
    stderr: float | None
    log_stderr: float | None
    grid_error: float | None
    touches_boundary: bool
    resolved: bool
    method: str
    n_eval: int
    level: float
    box_halfwidth: np.ndarray = field(repr=False)
    message: str



def _evaluate_many(fw, Y, vectorized, name="f"):
    """f on the rows of Y (N, n) -> (N,) finite floats."""
    if not vectorized:
        return np.array([fw(y) for y in Y])
    v = fw.f(Y)
    fw.ncalls += Y.shape[0]
    v = np.asarray(v)
    if v.dtype == bool or not np.issubdtype(v.dtype, np.number):
        raise TypeError(f"{name} (vectorized) must return real numbers, got dtype {v.dtype}")
    v = v.astype(float)
    if v.shape != (Y.shape[0],):
        if v.size == Y.shape[0]:
            v = v.reshape(-1)
        else:
            raise TypeError(f"{name} (vectorized) must map an array of shape {Y.shape} to shape "
                            f"({Y.shape[0]},), got {v.shape}")
    bad = ~np.isfinite(v)
    if np.any(bad):
        raise ValueError(f"{name} returned {v[bad][0]} at the point {Y[np.flatnonzero(bad)[0]]}")
    return v


def sublevel_volume(f, x, level, *, box_halfwidth, n_samples=40_000, rng=None, connected=True,
                    grid=None, log=False, vectorized=False, warn=True):
    """Volume of the sublevel set ``S = {y : f(y) <= f(x) + level}`` near ``x``.

    Only the part of ``S`` inside the box ``B = {y : |y_i - x_i| <= h_i}`` is seen.

    * ``connected=True`` (``n <= 3``): the connected component of ``S ∩ B``
      containing ``x``, by flood fill on a cell-centred grid of ``B``
      (:func:`scipy.ndimage.label`, face connectivity; ``x`` is the centre of
      the middle cell): ``volume = #cells × cell volume``. ``grid`` cells per
      axis (odd; default ``≈ n_samples^{1/n}``). No standard error; the volume
      of the component's boundary cells is returned as ``grid_error``.
    * ``connected=False``: plain Monte Carlo with ``N = n_samples`` uniform
      points of ``B``: ``volume = p̂ · vol(B)`` with ``p̂`` the fraction of
      points in ``S`` and standard error ``vol(B) sqrt(p̂ (1 - p̂) / N)``. This
      counts every component of ``S`` in the box.

    When the component (grid) or the set (Monte Carlo, checked with extra
    samples on the faces of ``B``) reaches the boundary of ``B``, the result is
    flagged (``touches_boundary=True``) and a :class:`BoxBoundaryWarning` is
    emitted (``warn=False`` silences it, the flag stays): the estimate is then a
    lower bound only. The sublevel volume depends on the box and the level, and
    in dimension ``n`` it scales like ``level^{n/2}`` at a nondegenerate
    minimum: compare points with the same ``level``.

    Parameters
    ----------
    f : callable
        ``f(y) -> float`` (or, with ``vectorized=True``, ``f(Y) -> (N,)`` on
        arrays ``Y`` of shape ``(N, n)``).
    x : array_like (n,)
    level : float
        ``level >= 0``.
    box_halfwidth : float or array_like (n,)
        Half-widths ``h_i > 0`` of the box.
    n_samples : int
        Monte Carlo sample size, or grid budget (total number of cells).
    rng : None, int or numpy.random.Generator
        Monte Carlo source (default: fixed seed 0); unused by the grid.
    connected : bool
    grid : int, optional
        Cells per axis for the grid (rounded up to odd).
    log : bool
        Return ``log(volume)`` as ``value``.
    vectorized : bool
    warn : bool

    Returns
    -------
    SublevelVolumeResult

    Raises
    ------
    ValueError
        Non-finite ``x``; negative ``level``; non-positive ``box_halfwidth``;
        ``connected=True`` with ``n > 3``; ``f`` returning NaN.

    Examples
    --------
    The disc ``{½||y||² <= ½}`` has area ``π``:

    >>> import numpy as np
    >>> res = sublevel_volume(lambda y: 0.5 * y @ y, np.zeros(2), 0.5, box_halfwidth=1.5,
    ...                       grid=301)
    >>> res.method, bool(abs(res.volume - np.pi) < 0.01), res.touches_boundary
    ('grid', True, False)
    >>> mc = sublevel_volume(lambda y: 0.5 * y @ y, np.zeros(2), 0.5, box_halfwidth=1.5,
    ...                      n_samples=20000, connected=False)
    >>> bool(abs(mc.volume - np.pi) < 4 * mc.stderr)
    True
    """
    x = as_point(x, "x")
    n = x.shape[0]
    level = as_scalar(level, "level", low=0.0)
    h = as_nonneg(box_halfwidth, "box_halfwidth", strictly_positive=True)
    h = np.full(n, h) if np.isscalar(h) else np.asarray(h, dtype=float)
    if h.shape != (n,):
        raise ValueError(f"box_halfwidth must be a scalar or have length {n}, got shape {h.shape}")
    with np.errstate(over="ignore"):
        if not (np.all(np.isfinite(x + h)) and np.all(np.isfinite(x - h))
                and np.isfinite(np.prod(2.0 * h))):
            raise ValueError("box_halfwidth gives a box whose corners or volume overflow "
                             "(beyond 1.8e308)")
    n_samples = as_int(n_samples, "n_samples", low=1, high=_MAX_CELLS)
    connected = as_bool(connected, "connected")
    log = as_bool(log, "log")
    vectorized = as_bool(vectorized, "vectorized")
    warn = as_bool(warn, "warn")
    fw = scalar_fn(f, "f")
    fx = fw(x) if not vectorized else float(_evaluate_many(fw, x[None, :], True)[0])
    thr = fx + level
    box_vol = float(np.prod(2.0 * h))
    if connected:
        if n > 3:
            raise ValueError(f"sublevel_volume(connected=True) is for dimension n <= 3 "
                             f"(grid flood fill), got n = {n}; use connected=False")
        if grid is None:
            m = max(3, int(round(n_samples ** (1.0 / n))))
        else:
            m = as_positive_int(grid, "grid")
            if m ** n > _MAX_CELLS:
                raise ValueError(f"grid = {m} gives {m}**{n} cells, more than {_MAX_CELLS}")
        est = _grid_component_volume(fw, x, h, thr, m + 1 if m % 2 == 0 else m, vectorized)
    else:
        est = _monte_carlo_volume(fw, x, h, thr, n_samples, resolve_rng(rng), vectorized)
    volume = est["count"] * est["unit"]
    log_volume = math.log(volume) if volume > 0 else -math.inf
    stderr = est["stderr"]
    log_stderr = stderr / volume if stderr is not None and volume > 0 else None
    msg = _flag_sublevel_result(est, volume, h, warn)
    value = log_volume if log else volume
    return SublevelVolumeResult(float(value), float(volume), float(log_volume), stderr, log_stderr,
                                est["grid_error"], est["touches"], est["resolved"], est["method"],
                                fw.ncalls, float(level), h, msg)


def _grid_component_volume(fw, x, h, thr, m, vectorized):
    """Grid step of :func:`sublevel_volume`: the component of ``{f <= thr}`` that holds ``x``.

    The box ``|y_i - x_i| <= h_i`` is cut into ``mⁿ`` cells (``m`` odd) whose centres form the
    grid, ``x`` being the centre of the middle cell. The cells with ``f(centre) <= thr`` are
    labelled by face connectivity (:func:`scipy.ndimage.label`); the component of ``x`` has
    ``count`` cells of volume ``unit = vol(box) / mⁿ``. It touches the box when it holds a cell
    of a face; its boundary cells (those not all of whose face neighbours are in it) give the
    error scale ``grid_error``, and it is resolved when at least half of its cells are interior.
    """
    n = x.shape[0]
    axes = [x[i] + h[i] * ((2.0 * np.arange(m) + 1.0) / m - 1.0) for i in range(n)]
    mid = (m - 1) // 2
    for i in range(n):
        axes[i][mid] = x[i]
    mesh = np.meshgrid(*axes, indexing="ij")
    Y = np.column_stack([c.ravel() for c in mesh])
    mask = _evaluate_many(fw, Y, vectorized).reshape((m,) * n) <= thr
    labels, _ = ndimage.label(mask)
    comp = labels == labels[(mid,) * n]
    unit = float(np.prod(2.0 * h)) / m ** n
    count = int(comp.sum())
    faces = [np.take(comp, idx, axis=ax) for ax in range(n) for idx in (0, m - 1)]
    n_inner = int(ndimage.binary_erosion(comp, border_value=1).sum())
    return dict(method="grid", count=count, unit=unit, stderr=None,
                grid_error=float((count - n_inner) * unit),
                touches=bool(any(fc.any() for fc in faces)), resolved=2 * n_inner >= count,
                n_inside=count, desc=f"flood fill of the component of x on a "
                                     f"{'x'.join([str(m)] * n)} grid")


def _monte_carlo_volume(fw, x, h, thr, n_samples, gen, vectorized):
    """Monte Carlo step of :func:`sublevel_volume`: ``vol({f <= thr} ∩ box) ≈ p̂ · vol(box)``.

    ``p̂`` is the fraction of ``N = n_samples`` uniform points of the box in the set, with
    standard error ``vol(box) sqrt(p̂ (1 - p̂) / N)`` (so ``count = p̂`` and ``unit = vol(box)``).
    Whether the set reaches the box boundary is checked on ``max(2n, min(N/10, 4000))`` further
    uniform points of the faces; the estimate is resolved when at least 100 points fell in
    the set.
    """
    n = x.shape[0]
    box_vol = float(np.prod(2.0 * h))
    Y = x + h * (2.0 * gen.random((n_samples, n)) - 1.0)
    inside = _evaluate_many(fw, Y, vectorized) <= thr
    p = float(inside.mean())
    n_face = max(2 * n, min(n_samples // 10, 4000))
    F = x + h * (2.0 * gen.random((n_face, n)) - 1.0)
    axis = gen.integers(0, n, size=n_face)
    side = np.where(gen.random(n_face) < 0.5, -1.0, 1.0)
    F[np.arange(n_face), axis] = x[axis] + side * h[axis]
    return dict(method="monte-carlo", count=p, unit=box_vol,
                stderr=box_vol * math.sqrt(p * (1.0 - p) / n_samples), grid_error=None,
                touches=bool(np.any(_evaluate_many(fw, F, vectorized) <= thr)),
                resolved=int(inside.sum()) >= 100, n_inside=int(inside.sum()),
                desc=f"Monte Carlo fraction of {n_samples} uniform points x box volume "
                     f"(all components)")


def _flag_sublevel_result(est, volume, h, warn):
    """The message of :func:`sublevel_volume`, and its warnings: an under-resolved estimate
    (:class:`GridResolutionWarning`) and a set reaching the box, whose volume is then only a
    lower bound (:class:`BoxBoundaryWarning`)."""
    msg = est["desc"]
    if volume == 0:
        msg += "; no sample/cell in the set: volume below resolution"
    if not est["resolved"]:
        if est["method"] == "grid":
            msg += ("; UNDER-RESOLVED: fewer than half of the component's cells are interior "
                    "(refine grid or shrink the box)")
        else:
            msg += (f"; UNDER-RESOLVED: only {est['n_inside']} samples in the set "
                    f"(increase n_samples)")
        if warn:
            warnings.warn(f"sublevel_volume: {msg.split('; ')[-1]}", GridResolutionWarning,
                          stacklevel=3)
    if est["touches"]:
        msg += "; the set reaches the box boundary: the volume is only a LOWER BOUND"
        if warn:
            warnings.warn(f"sublevel_volume: the sublevel set reaches the boundary of the box "
                          f"(halfwidth {h.tolist()}); the volume {volume:.6g} is only a lower bound",
                          BoxBoundaryWarning, stacklevel=3)
    return msg


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

COLUMNS = ("f", "lambda_max", "trace", "eps_sharpness", "sam_one_step", "sam_exact",
           "max_variation", "sublevel_volume", "sublevel_touches_box", "sublevel_resolved")


@dataclass
class SharpnessTable:
    """Rows of :func:`sharpness_table`, one dict per point.

    Each row has the keys ``"x"`` and those of ``columns``, plus ``"notes"``
    (a list of strings). Missing measures are ``nan`` (with a note).
    ``table[i]`` is row ``i``; ``table.column(name)`` an array over the points;
    ``str(table)`` a plain-text rendering.
    """

    rows: list
    columns: tuple = COLUMNS
    params: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def column(self, name):
        """Values of one measure over the points, as a float array."""
        if name not in self.columns:
            raise KeyError(f"unknown column {name!r}; columns are {self.columns}")
        return np.array([row[name] for row in self.rows], dtype=float)

    def to_text(self, precision=4):
        head = ["x"] + list(self.columns)
        lines = []
        for row in self.rows:
            cells = [np.array2string(np.asarray(row["x"]), precision=precision, separator=",")]
            for c in self.columns:
                v = row[c]
                cells.append(str(bool(v)) if isinstance(v, (bool, np.bool_)) else f"{v:.{precision}g}")
            lines.append(cells)
        widths = [max(len(head[j]), *(len(r[j]) for r in lines)) if lines else len(head[j])
                  for j in range(len(head))]
        out = ["  ".join(head[j].rjust(widths[j]) for j in range(len(head)))]
        out += ["  ".join(r[j].rjust(widths[j]) for j in range(len(head))) for r in lines]
        return "\n".join(out)

    def __str__(self):
        return self.to_text()


def _hvp_from(n, grad, hvp, hess):
    """Choose a Hessian-vector product: given hvp, else from hess, else central
    differences of grad (error O(h²)), else None."""
    if hvp is not None:
        return check_callable(hvp, "hvp"), None
    if hess is not None:
        check_callable(hess, "hess")
        return (lambda y, v: np.asarray(hess(y), dtype=float) @ v), None
    if grad is not None:
        gw = vector_fn(grad, n, "grad")

        def fd_hvp(y, v):
            nv = np.linalg.norm(v)
            if nv == 0.0:
                return np.zeros(n)
            t = 1e-5 * max(1.0, np.linalg.norm(y)) / nv
            return (gw(y + t * v) - gw(y - t * v)) / (2.0 * t)

        return fd_hvp, "Hessian from central differences of grad (error O(1e-10))"
    return None, None


def sharpness_table(f, x_points, *, grad=None, hvp=None, hess=None, radius=0.1, eps=1e-3,
                    rho=0.05, level=1e-2, box_halfwidth=1.0, box="relative", percent=True,
                    n_samples=40_000, n_starts=8, rng=None, vectorized=False,
                    max_variation_kwargs=None, corners="auto", gtol=0.0):
    """All sharpness measures of this module, and ``f°``, at each of several points.

    For each point ``x`` (row):

    ======================== ======================================================
    ``f``                    ``f(x)``
    ``lambda_max``           largest Hessian eigenvalue (:func:`hessian_lambda_max`)
    ``trace``                Hessian trace (:func:`hessian_trace`)
    ``eps_sharpness``        Keskar et al. ε-sharpness, ``eps``, ``box``, ``percent``
    ``sam_one_step``         SAM one ascent step of radius ``rho`` (0 at critical points)
    ``sam_exact``            ``max_{||e|| <= rho} f(x+e) - f(x)``
    ``max_variation``        ``f°(x, radius) = sup_{||y-x|| <= radius} |f(y) - f(x)|``
    ``sublevel_volume``      volume of the component of ``{f <= f(x) + level}``
                             containing ``x`` in the box of half-width
                             ``box_halfwidth`` (grid flood fill; only ``n <= 2``)
    ``sublevel_touches_box`` the component reaches the box (volume = lower bound)
    ``sublevel_resolved``    the grid resolves the component (else: unreliable)
    ======================== ======================================================

    The Hessian is taken from ``hvp``, else ``hess``, else central differences
    of ``grad``; without any of them the Hessian columns are ``nan``. Without
    ``grad`` the one-step SAM column is ``nan`` (and the other measures use
    finite differences or derivative-free search). The same ``rng`` seed is used
    at every point, so the table is reproducible.

    Parameters
    ----------
    f : callable
    x_points : array_like (k, n)
        The points (rows).
    grad, hvp, hess : callable, optional
    radius, eps, rho, level : float
        Parameters of the measures (all ``>= 0``).
    box_halfwidth : float
        Sampling box of the sublevel volume.
    box, percent : passed to :func:`epsilon_sharpness`.
    n_samples : int
        Grid budget of the sublevel volume.
    n_starts : int
        Multistart count for ε-sharpness and the maximal variation.
    corners : passed to :func:`epsilon_sharpness` (``True`` enumerates every box vertex,
        exact for functions convex in each coordinate; ``"auto"`` does so for ``n <= 10``).
    gtol : float
        Passed to :func:`sam_sharpness`: a gradient of norm ``<= gtol`` counts as zero, so
        that a point critical up to round-off gets the one-step value 0.
    rng : None or int
        Seed (a Generator is not allowed, so every point sees the same seed).
    vectorized : bool
        ``f`` accepts arrays ``(N, n)`` (speeds up the sublevel volume).
    max_variation_kwargs : dict, optional
        Extra keyword arguments of :func:`flatlib.max_variation`.

    Returns
    -------
    SharpnessTable

    Examples
    --------
    The reparametrized minima ``(α, 1/α)`` of ``½(xy - 1)²`` all have loss 0, but
    ``λ_max = tr = α² + 1/α²``; SAM's one step is blind (0) at every one of them,
    while its exact value and ``f°(x, r)`` are ``≈ ½ λ_max r²``. The sublevel
    component is a band along the hyperbola ``xy = 1``, cut by the box:

    >>> import numpy as np
    >>> f = lambda z: 0.5 * (z[0] * z[1] - 1.0) ** 2
    >>> g = lambda z: (z[0] * z[1] - 1.0) * np.array([z[1], z[0]])
    >>> t = sharpness_table(f, [[1.0, 1.0], [2.0, 0.5]], grad=g, radius=0.01, rho=0.01,
    ...                     level=1e-2, box_halfwidth=0.5)
    >>> t.column("lambda_max").round(6).tolist(), t.column("sam_one_step").tolist()
    ([2.0, 4.25], [0.0, 0.0])
    >>> (t.column("sam_exact") / (0.5 * 0.01 ** 2)).round(2).tolist()
    [2.01, 4.26]
    >>> bool(t[0]["sublevel_touches_box"]), bool(t[0]["sublevel_resolved"])
    (True, True)
    """
    fcheck = check_callable(f, "f")
    pts = _table_points(x_points)
    n = pts[0].shape[0]
    radius = as_scalar(radius, "radius", low=0.0)
    eps = as_scalar(eps, "eps", low=0.0)
    rho = as_scalar(rho, "rho", low=0.0)
    gtol = as_scalar(gtol, "gtol", low=0.0)
    vectorized = as_bool(vectorized, "vectorized")
    n_samples = as_int(n_samples, "n_samples", low=1, high=_MAX_CELLS)
    _nonneg_int(n_starts, "n_starts")
    if level is not None:
        level = as_scalar(level, "level", low=0.0)
        as_nonneg(box_halfwidth, "box_halfwidth", strictly_positive=True)
    if rng is not None and not isinstance(rng, (int, np.integer)):
        raise TypeError("rng must be None or an int seed in sharpness_table "
                        "(the same seed is used at every point)")
    hvp_fn, hvp_note = _hvp_from(n, grad, hvp, hess)
    mv_kw = dict(grad=grad, hess=hess, n_starts=n_starts, rng=rng)
    mv_kw.update(max_variation_kwargs or {})

    rows = []
    for x in pts:
        row, notes = {"x": x, "f": scalar_fn(fcheck, "f")(x)}, []
        _hessian_columns(row, notes, hvp_fn, hvp_note, x, hess if hvp is None else None, rng)
        row["eps_sharpness"] = epsilon_sharpness(f, x, eps, grad=grad, box=box, percent=percent,
                                                 rng=rng, n_starts=n_starts, corners=corners).value
        _sam_and_variation_columns(row, notes, f, x, grad, rho, radius, gtol, mv_kw)
        _sublevel_columns(row, notes, f, x, level, box_halfwidth, n_samples, rng, vectorized)
        row["notes"] = notes
        rows.append(row)
    params = dict(radius=radius, eps=eps, rho=rho, level=level, box_halfwidth=box_halfwidth,
                  box=box, percent=percent, n_samples=n_samples, n_starts=n_starts, rng=rng)
    return SharpnessTable(rows, COLUMNS, params)


def _table_points(x_points):
    """The rows of ``x_points`` as finite 1-D points (one point may be given as a 1-D array)."""
    from ._validate import _real_array
    pts = _real_array(x_points, "x_points", "a (k, n) array of real numbers")
    if np.ndim(pts) == 1:
        pts = pts[None, :]
    if np.ndim(pts) != 2 or pts.shape[0] == 0:
        raise ValueError(f"x_points must be a (k, n) array of points, got shape {np.shape(pts)}")
    return [as_point(p, f"x_points[{i}]") for i, p in enumerate(pts)]


def _hessian_columns(row, notes, hvp_fn, hvp_note, x, hess, rng):
    """``lambda_max`` (Lanczos) and ``trace`` (exact, or a Hutchinson estimate) of ``∇²f(x)``,
    ``nan`` when no second-order information was given."""
    if hvp_fn is None:
        row["lambda_max"] = row["trace"] = math.nan
        notes.append("no hvp/hess/grad: Hessian measures not computed")
        return
    lam = hessian_lambda_max(hvp_fn, x, hess=hess, rng=rng)
    tr = hessian_trace(hvp_fn, x, rng=rng)
    row["lambda_max"], row["trace"] = float(lam), float(tr)
    if tr.stderr:
        notes.append(f"trace is a Hutchinson estimate (stderr {tr.stderr:.3g})")
    if hvp_note:
        notes.append(hvp_note)


def _sam_and_variation_columns(row, notes, f, x, grad, rho, radius, gtol, mv_kw):
    """SAM's one-step estimate ``f(x + ρ ∇f/||∇f||) - f(x)`` (0 at a critical point), the exact
    SAM sharpness ``max_{||e|| <= ρ} f(x+e) - f(x)`` (``max_variation`` with ``side="up"``; any
    point evaluated is a lower bound, so the one-step value also bounds it from below) and the
    maximal variation ``f°(x, radius)``."""
    max_variation = _max_variation()
    if grad is not None:
        one = sam_sharpness(f, x, rho, grad=grad, gtol=gtol)
        row["sam_one_step"] = one.value
        if one.grad_norm == 0.0:
            notes.append("gradient vanishes: SAM one-step estimate is 0")
    else:
        row["sam_one_step"] = math.nan
        notes.append("no grad: SAM one-step not computed")
    if rho == 0.0:
        row["sam_exact"] = 0.0
    else:
        up = max_variation(f, x, rho, side="up", **mv_kw)
        row["sam_exact"] = float(np.asarray(up.value).reshape(-1)[0])
        if not math.isnan(row["sam_one_step"]):
            row["sam_exact"] = max(row["sam_exact"], row["sam_one_step"])
    if radius == 0.0:
        row["max_variation"] = 0.0
    else:
        mv = max_variation(f, x, radius, side="both", **mv_kw)
        row["max_variation"] = float(np.asarray(mv.value).reshape(-1)[0])


def _sublevel_columns(row, notes, f, x, level, box_halfwidth, n_samples, rng, vectorized):
    """Volume of the component of ``{f <= f(x) + level}`` holding ``x`` (grid flood fill, only
    for ``n <= 2``), whether it reaches the box and whether the grid resolves it."""
    if level is not None and x.shape[0] <= 2:
        sv = sublevel_volume(f, x, level, box_halfwidth=box_halfwidth, n_samples=n_samples,
                             rng=rng, connected=True, vectorized=vectorized, warn=False)
        row["sublevel_volume"] = sv.volume
        row["sublevel_touches_box"] = sv.touches_boundary
        row["sublevel_resolved"] = sv.resolved
        if sv.touches_boundary:
            notes.append("sublevel component reaches the box: volume is a lower bound")
        if not sv.resolved:
            notes.append("sublevel component under-resolved by the grid: volume unreliable "
                         "(raise n_samples or shrink box_halfwidth)")
    else:
        row["sublevel_volume"] = math.nan
        row["sublevel_touches_box"] = False
        row["sublevel_resolved"] = False
        if level is not None:
            notes.append("sublevel volume only for n <= 2")


def _nonneg_int(k, name):
    return as_int(k, name, low=0, high=_MAX_STARTS)


_MAX_STARTS = 1_000_000
_MAX_CELLS = 100_000_000
