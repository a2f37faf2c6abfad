r"""The two flatness profiles: maximal variation and distance to the level sets.

For :math:`f:\mathbb R^n\to\mathbb R`, a point :math:`x` and the closed Euclidean
ball :math:`B(x,r)`,

.. math::

    f^\circ(x, r) = \sup_{\|y-x\|\le r} |f(y) - f(x)|, \qquad
    \bar f(x, d) = \operatorname{dist}\big(x, \{y : |f(y) - f(x)| \ge d\}\big).

They are generalized inverses of each other (the duality of the two profiles):
:math:`\bar f(x,d) = \inf\{r \ge 0 : f^\circ(x,r) \ge d\}`.

Computing :math:`f^\circ` is a global maximization over a ball. We split it into
its two sides, :math:`\sup f - f(x)` ("up", the exact SAM sharpness) and
:math:`f(x) - \inf f` ("down"), and maximize each by spectral projected gradient
(Birgin–Martínez–Raydan: Barzilai–Borwein steps, projection on the ball,
nonmonotone Armijo search) from several starts: the first-order ascent step
:math:`\pm r\nabla f(x)/\|\nabla f(x)\|`, the extreme Hessian eigenvectors when a
Hessian is given, random points of the sphere, and, along a profile, the maximizer
at the previous radius. The value returned is attained at ``argmax``, so it is a
certified *lower* bound; an upper bound is returned where one can be certified
(a Lipschitz constant, or a bound on the Hessian on the ball).
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ._ascent import (BatchFunction, BatchGradient, Budget, BudgetExhausted, make_feasible,
                      spg_ball_max_signed)
from ._results import ScalarResult
from .bracket import (InvalidConstant, ScaledFunction, ScaledGradient, ValueScaled, ball_bound,
                      centre_gradient, close_bracket, noise_scale, value_scale)
from ._validate import (as_bool, as_nonneg, as_point, as_positive_int, as_real_array, as_rng,
                        as_scalar, check_callable, returned_floats)
from .quadratic import Quadratic

__all__ = ["max_variation", "level_distance", "MaxVariationResult", "LevelDistanceResult",
           "FiniteDifferenceWarning", "DEFAULT_BRACKET_EVALS", "FD_WARN_DIM"]

_SIDES = ("both", "up", "down")
#: Default evaluation budget of a call of :func:`max_variation` given a constant (the bracket).
DEFAULT_BRACKET_EVALS = 1_000_000
#: Without ``grad``, :func:`max_variation` warns above this dimension (finite differences cost 2n).
FD_WARN_DIM = 50
# Radii outside [2^-256, 2^256] are computed in units of a power of 2 near the radius: their
# squares (and those of the displacements) would overflow or underflow otherwise.
_SCALE_LO, _SCALE_HI = 2.0 ** -256, 2.0 ** 256
_MAX_STARTS = 1_000_000
_BRENT_RTOL = 4 * np.finfo(float).eps  # scipy's brentq refuses a smaller rtol
_TINY = np.finfo(float).tiny  # the smallest normal float: the floor of the distances searched


class FiniteDifferenceWarning(UserWarning):
    """``max_variation`` (or ``level_distance``) without ``grad`` in many dimensions: every
    gradient costs ``2n`` evaluations of ``f`` (central differences). Pass ``grad=``."""


@dataclass
class MaxVariationResult(ScalarResult):
    """Result of :func:`max_variation`.

    Behaves as its ``value`` in arithmetic: ``float(res)``, ``0.5 * res``, ``np.asarray(res)``
    (see :class:`flatlib._results.ScalarResult`).

    Attributes
    ----------
    value : float or ndarray
        Largest ``|f(y) - f(x)|`` found over the ball (``f(y) - f(x)`` for
        ``side="up"``, ``f(x) - f(y)`` for ``"down"``); attained at ``argmax``, hence a
        lower bound of the supremum.
    argmax : ndarray, shape (n,) or (k, n)
        A point of the closed ball attaining ``value``.
    upper : float, ndarray or None
        A certified upper bound (``None`` without ``lipschitz`` or ``hess_bound``):
        ``value <= sup <= upper`` is the bracket.
    up, down : float or ndarray
        The two sides ``sup f - f(x)`` and ``f(x) - inf f`` found (``nan`` for a side not computed).
    radius : float or ndarray
    side : str
    nfev, ngev : int
        Function and gradient evaluations (finite-difference evaluations included in nfev);
        ``nfev + ngev <= max_evals`` when a budget is set.
    exact : bool
        True when a closed form was used (quadratics).
    status : str or ndarray of str
        Why the computation stopped, per radius: ``"local"`` (no constant given: ``value`` is
        a lower bound only, certified by nothing), ``"converged"`` (the bracket closed:
        ``upper - value <= max(rtol value, atol)``), ``"budget"`` (``max_evals`` spent first:
        the bracket is valid but wider), ``"bound"`` (``rtol=None``: the bound of the whole
        ball only), ``"exact"`` (closed form).
    converged : bool or ndarray of bool
        The computation asked for ended by its own criterion, per radius: for ``"local"``,
        every local ascent stopped at its tolerance ``tol`` (none at ``max_iter`` or the
        budget): the value is then a local maximum to ``tol``, *still only a lower bound*
        of ``f°``; for a bracket, it closed (``"converged"``, ``"exact"``); ``False`` for
        ``"budget"`` and ``"bound"`` (no bracket was closed).
    certified : bool or ndarray of bool
        (property) ``status`` is ``"converged"`` or ``"exact"``: ``value`` is certified to
        ``rtol`` by ``upper``.
    message : str
    """

    value: object
    argmax: np.ndarray
    upper: object
    up: object
    down: object
    radius: object
    side: str
    nfev: int
    ngev: int
    exact: bool
    message: str
    status: object = None
    converged: object = None

    def __post_init__(self):
        if self.status is None:  # results built without a status (closed forms)
            k = np.ndim(self.value)
            st = "exact" if self.exact else ("local" if self.upper is None else "bound")
            self.status = st if k == 0 else np.full(np.shape(self.value), st)
        if self.converged is None:
            self.converged = self.certified

    @property
    def certified(self):
        st = np.asarray(self.status)
        ok = (st == "converged") | (st == "exact")  # (np.isin costs ~25 us per result)
        return bool(ok) if np.ndim(ok) == 0 else ok

    def __repr__(self):
        return (f"MaxVariationResult(value={self.value!r}, upper={self.upper!r}, "
                f"argmax={self.argmax!r}, up={self.up!r}, down={self.down!r}, "
                f"radius={self.radius!r}, side={self.side!r}, status={self.status!r}, "
                f"converged={self.converged!r}, certified={self.certified!r}, nfev={self.nfev}, "
                f"ngev={self.ngev}, exact={self.exact}, message={self.message!r})")


@dataclass
class LevelDistanceResult(ScalarResult):
    """Result of :func:`level_distance` (behaves as its ``value`` in arithmetic, like every
    flatlib result with a value: :class:`flatlib._results.ScalarResult`).

    Attributes
    ----------
    value : float or ndarray
        Distance from ``x`` to ``{y : |f(y) - f(x)| >= delta}`` (``inf`` when no such point
        was found within ``max_radius``). It is attained: ``|f(nearest) - f(x)| >= delta``
        and ``||nearest - x|| <= value``, so it is a certified upper bound on the distance.
    nearest : ndarray or None
    delta : float or ndarray
    nfev : int
    exact : bool
    message : str
    """

    value: object
    nearest: object
    delta: object
    nfev: int
    exact: bool
    message: str

    def __repr__(self):
        return (f"LevelDistanceResult(value={self.value!r}, nearest={self.nearest!r}, "
                f"delta={self.delta!r}, nfev={self.nfev}, exact={self.exact}, message={self.message!r})")


def _check_side(side):
    if side not in _SIDES:
        raise ValueError(f"side must be one of {_SIDES}, got {side!r}")


def _directions(x, n, gx, H, rng, n_starts):
    """Unit starting directions for side +1 (negate for side -1 handled by caller)."""
    dirs = {+1: [], -1: []}
    gn = np.linalg.norm(gx)
    if np.any(gx) and not (1e-150 < gn < np.inf):  # overflow or underflow of the norm: rescale
        gx = gx / np.max(np.abs(gx))
        gn = np.linalg.norm(gx)
    if gn > 0:
        dirs[+1].append(gx / gn)
        dirs[-1].append(-gx / gn)
    if H is not None:
        lam, V = np.linalg.eigh(H)
        for v in (V[:, -1],):
            dirs[+1] += [v, -v]
        for v in (V[:, 0],):
            dirs[-1] += [v, -v]
    if n_starts == 0 and not dirs[+1]:
        n_starts = 1  # at least one start per side
    R = rng.standard_normal((n_starts, n))
    R /= np.linalg.norm(R, axis=1, keepdims=True)
    for s in (+1, -1):
        dirs[s] += list(R)
    return dirs


def max_variation(f, x, radius, *, grad=None, hess=None, lipschitz=None, hess_bound=None,
                  side="both", n_starts=8, starts=None, rng=None, tol=1e-10, max_iter=500,
                  vectorized=False, rtol=1e-3, atol=0.0, max_evals=None,
                  allow_finite_differences=None):
    r"""Maximal variation :math:`f^\circ(x, r) = \sup_{\|y-x\|\le r} |f(y) - f(x)|`.

    A local search (spectral projected gradient from several starts) gives a value attained
    in the ball, i.e. a *lower* bound. Given a Lipschitz constant of ``f`` or a bound on its
    Hessian over the ball, the bracket ``value <= f° <= upper`` is then closed by a
    branch and bound over the ball (boxes covering the ball, a bound per box from the
    constant, the local ascent as incumbent; see :mod:`flatlib.bracket`) until
    ``upper - value <= max(rtol · value, atol)`` or until ``max_evals`` evaluations.

    Every radius is computed however large or small: radii outside ``[2^-256, 2^256]`` are
    handled in units of a power of 2 near the radius (the same points of ``f`` are evaluated,
    nothing overflows); a value that is not representable (``|f(y) - f(x)|`` above the
    largest float) is a ``ValueError``, never ``0`` or ``nan``.

    Parameters
    ----------
    f : callable or :class:`flatlib.Quadratic`
        ``f(y) -> float`` on 1-D float arrays. A ``Quadratic`` is solved exactly
        (two trust-region subproblems).
    x : array_like, shape (n,)
    radius : float or 1-D array_like
        Radius ``r >= 0`` of the closed ball; an array gives the profile
        ``r -> f°(x, r)``, computed in increasing order with warm starts so that
        the returned values are nondecreasing in the radius by construction.
    grad : callable, optional
        ``grad(y) -> (n,)``; central finite differences (``2n`` evaluations of ``f`` per
        gradient) otherwise. Without ``grad`` in more than ``FD_WARN_DIM = 50`` dimensions a
        :class:`FiniteDifferenceWarning` is issued (once per call site) naming that cost;
        see ``allow_finite_differences``.
    hess : callable, optional
        ``hess(x) -> (n, n)`` at the centre only: its extreme eigenvectors seed the search
        (useful at critical points, where ``f° = ½‖∇²f(x)‖₂ r² + o(r²)``).
    lipschitz : float, optional
        A Lipschitz constant ``L`` of ``f`` on the ball (on the largest ball for a profile).
        Certifies ``upper <= L r`` and closes the bracket (below).
    hess_bound : float, optional
        A bound ``H >= sup ‖∇²f‖₂`` over the ball (the largest ball for a profile). Certifies
        ``upper <= (‖∇f(x)‖ + E) r + ½ H r²`` (Taylor; ``E = 0`` with ``grad``, otherwise the
        proven error bound ``½ H t √n`` of central differences of step ``t``, plus rounding)
        and closes the bracket (below).

        A constant that the search itself disproves raises a ``ValueError`` naming it (see
        Raises): a value attained in the ball above the bound of the whole ball
        (``L r``, resp. the Taylor bound), a value above the bound of a box that contains its
        point, or (``lipschitz``) a sampled gradient longer than ``L``. No bracket is
        returned from a false constant.
    side : {"both", "up", "down"}
        ``"up"``: :math:`\sup_B f - f(x)` (the exact SAM sharpness);
        ``"down"``: :math:`f(x) - \inf_B f`; ``"both"``: the larger, i.e. :math:`f^\circ`.
    n_starts : int
        Number of random starting points on the sphere (besides the structured ones).
    starts : array_like, shape (k, n) or (n,), optional
        Extra starting *directions* (scaled to the sphere of each radius, both signs), e.g. a
        top Hessian eigenvector computed by Lanczos when a dense ``hess`` is out of reach.
    rng : None, int or numpy.random.Generator
        Seed for the random starts (``None`` means seed 0: results are deterministic).
    tol : float
        Relative stopping tolerance of the local ascent.
    max_iter : int
        Iteration cap of one local ascent.
    vectorized : bool
        If True, ``f`` and ``grad`` accept a batch ``Y`` of shape ``(k, n)`` and return
        shapes ``(k,)`` and ``(k, n)``: all starts (and all boxes of a round of the branch
        and bound) are then evaluated in one call (much faster for numpy-expressible functions).
    rtol, atol : float or None
        Target of the branch and bound: ``upper - value <= max(rtol · value, atol)``.
        ``rtol=None`` skips it (``upper`` is then the bound of the whole ball).
    max_evals : int, optional
        Budget of the whole call (all radii, the local search included): evaluations of ``f``
        (finite differences included) and of ``grad``; ``nfev + ngev <= max_evals`` always.
        Default ``None``: ``DEFAULT_BRACKET_EVALS = 10**6`` when ``lipschitz`` or
        ``hess_bound`` is given (enough to close easy brackets in low dimension within a
        second), no limit otherwise (the local search alone is bounded by ``n_starts`` and
        ``max_iter``). It must cover ``f(x)`` and the gradient there (``1 + 2n`` without ``grad``).
    allow_finite_differences : bool or None
        ``None`` (default): gradients by central differences when ``grad`` is not given, with a
        :class:`FiniteDifferenceWarning` above 50 dimensions; ``True``: the same, silently;
        ``False``: ``grad`` is required (``TypeError`` without it).

    Returns
    -------
    MaxVariationResult
        ``value`` (lower bound attained at ``argmax``), ``upper`` (or ``None``), ``up``,
        ``down``, ``status`` (why it stopped), ``converged`` (it stopped by its own criterion:
        the local ascents at their tolerance, or the bracket closed), ``certified`` (the
        bracket closed), evaluation counts. It behaves as ``value`` in arithmetic
        (``float(res)``, ``0.5 * res``).

    Raises
    ------
    ValueError
        A bad argument (the message names it), ``f`` returning NaN or an infinity (or
        ``|f(y) - f(x)|`` overflowing), or a ``lipschitz``/``hess_bound`` contradicted by the
        search (the message names the constant and the point that refutes it).
    TypeError
        ``f``, ``grad`` or ``hess`` not callable, returning complex numbers or non-scalars;
        strings, booleans or complex numbers as numerical arguments; ``grad`` missing with
        ``allow_finite_differences=False``.

    Notes
    -----
    Cost of the bracket. The boxes must shrink to half-diagonals ``~ ε f°/L`` near the
    maximizers (``~ (ε f°/H)^{1/2}`` with a Hessian bound; less on the sphere) and
    ``~ (f° - f(y))/L`` elsewhere, so the number of boxes grows like ``(L r / (ε f°))^n``:
    exponentially in ``n``. For ``n <= 3`` brackets at ``rtol = 1e-3`` take from milliseconds
    to a fraction of a second; in high dimension the budget ``max_evals`` is reached, and the
    result says so (``status="budget"``) with a bracket that is valid but wider: it never
    runs past the budget.

    Examples
    --------
    At the minimum ``(1, 1)`` of :math:`\tfrac12(xy-1)^2` the Hessian is
    ``[[1, 1], [1, 1]]`` (norm 2), so :math:`f^\circ \approx r^2` for small ``r``:

    >>> import numpy as np
    >>> f = lambda z: 0.5 * (z[0] * z[1] - 1.0) ** 2
    >>> res = max_variation(f, [1.0, 1.0], 1e-3)
    >>> round(res.value / 1e-6, 3), res.status
    (1.001, 'local')

    ``status='local'``: no constant was given, so the value is a lower bound that nothing
    certifies; ``converged=True`` says that every local ascent met its tolerance (the value
    is a local maximum of ``|f(y) - f(x)|`` on the ball), ``certified=False`` that no bracket
    was closed:

    >>> res.converged, res.certified
    (True, False)

    A linear function has :math:`f^\circ(x,r) = \|a\| r`, and a Lipschitz constant certifies it:

    >>> a = np.array([3.0, 4.0])
    >>> res = max_variation(lambda y: a @ y, [0.0, 0.0], 2.0, grad=lambda y: a, lipschitz=5.0)
    >>> round(res.value, 10), round(res.upper, 10), res.status
    (10.0, 10.0, 'converged')

    A narrow bump that every local start misses; a bound on the Hessian (``1/σ²`` for the
    Gaussian of width ``σ = 0.05``) closes the bracket around its true height:

    >>> c = np.array([0.6, np.sqrt(0.64 - 0.36)])
    >>> bump = lambda Y: np.exp(-((Y - c) ** 2).sum(-1) / (2 * 0.05 ** 2)) + 0.1 * Y[..., 0]
    >>> round(max_variation(bump, [0.0, 0.0], 1.0, vectorized=True, rtol=None).value, 3)
    0.1
    >>> res = max_variation(bump, [0.0, 0.0], 1.0, vectorized=True, hess_bound=400.0)
    >>> res.status, round(res.value, 3), bool(res.upper - res.value <= 1e-3 * res.value)
    ('converged', 1.06, True)

    A false constant is refuted by the search: here ``L r = 0.05`` while the slope alone
    gives ``0.1``:

    >>> max_variation(bump, [0.0, 0.0], 1.0, vectorized=True, lipschitz=0.05)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: lipschitz = 0.05 is contradicted by the search: ...
    """
    _check_side(side)
    (x, radius, radii, scalar, n_starts, max_iter, tol, lipschitz, hess_bound, rtol, atol,
     max_evals) = _check_inputs(x, radius, n_starts, max_iter, tol, lipschitz, hess_bound,
                                rtol, atol, max_evals)
    vectorized = as_bool(vectorized, "vectorized")
    if isinstance(f, Quadratic):
        return _max_variation_quadratic(f, x, radius, radii, scalar, side)
    check_callable(f, "f")
    if grad is not None:
        check_callable(grad, "grad")
    if hess is not None:
        check_callable(hess, "hess")
    n = x.size
    _finite_difference_policy("max_variation", grad, n, allow_finite_differences)
    S = None if starts is None else _check_starts(starts, n)
    if max_evals is None and (lipschitz is not None or hess_bound is not None):
        max_evals = DEFAULT_BRACKET_EVALS
    if max_evals is not None and max_evals < 1 + (2 * n if grad is None else 1):
        raise ValueError(f"max_evals = {max_evals} does not cover f(x) and the gradient at x "
                         f"({1 + (2 * n if grad is None else 1)} evaluations)")

    # the function, its gradient and the Hessian at the centre
    F = BatchFunction(f, n, vectorized, "f")
    Gr = BatchGradient(grad, F, n, vectorized, "grad")
    budget = Budget(max_evals)
    budget.counters = [F, Gr]
    F.budget = Gr.budget = budget
    fx = float(F(x[None, :])[0])
    gx = Gr(x[None, :])[0]
    Hx = _hessian_at_centre(hess, x)
    dirs = _start_directions(x, gx, Hx, rng, n_starts, S)
    sides = (+1, -1) if side == "both" else ((+1,) if side == "up" else (-1,))

    # lower bound: multistart local ascent, both sides in one batch, along the profile
    constants = lipschitz is not None or hess_bound is not None
    if constants and lipschitz is not None and grad is not None:
        Gr.track_norm = True  # every exact gradient the search sees is evidence about L
    best, best_u, iters, settled = _ascend(F, Gr, fx, gx, x, radii, sides, dirs, tol, max_iter)
    msg = (f"batched spectral projected gradient from {len(dirs[+1])} starts per side and radius "
           f"(+2 warm starts along a profile); {iters} start-iterations in all")
    if not np.all(settled[radii > 0]):
        msg += (f"; {int(np.sum(~settled & (radii > 0)))} radii with starts stopped by max_iter "
                f"or the budget (not converged)")

    # upper bound: the constants, then the branch and bound closing the bracket
    if not constants:
        upper, status = None, np.full(radii.size, "local")
        converged = settled
        msg += ("; status 'local': no lipschitz/hess_bound given, so the value is a lower bound "
                "of f° certified by nothing (converged means: every local ascent met its tolerance)")
    else:
        try:
            upper, status, note = _close_brackets(F, Gr, fx, x, radii, sides, best, best_u,
                                                  lipschitz, hess_bound, grad is not None,
                                                  rtol, atol, max_evals, tol, max_iter)
        except InvalidConstant as exc:  # a plain ValueError for the caller, naming the constant
            given = [f"{k} = {v:g}" for k, v in (("lipschitz", lipschitz), ("hess_bound", hess_bound))
                     if v is not None]
            msg = str(exc)
            if not msg.startswith(("lipschitz", "hess_bound")):
                msg = (f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} contradicted "
                       f"by the search: {msg}")
            raise ValueError(msg) from None
        converged = (status == "converged")
        msg += "; " + note
    return _assemble(x, radii, scalar, side, sides, best, best_u, upper, status, converged,
                     F, Gr, msg)


def _finite_difference_policy(who, grad, n, allow):
    """Without ``grad``: refuse (``allow=False``), or warn above ``FD_WARN_DIM`` dimensions
    (``allow=None``), naming the cost and the remedy."""
    if allow is not None:
        allow = as_bool(allow, "allow_finite_differences")
    if grad is not None:
        return
    if allow is False:
        raise TypeError(f"{who}: grad is required with allow_finite_differences=False "
                        f"(pass grad=, the gradient of f)")
    if allow is None and n > FD_WARN_DIM:
        warnings.warn(
            f"{who} without grad in n = {n} dimensions: every gradient costs 2n = {2 * n} "
            f"evaluations of f (central differences), i.e. a local search of n_starts x max_iter "
            f"steps costs millions of evaluations. Pass grad= (the exact gradient), or "
            f"allow_finite_differences=True to silence this warning.",
            FiniteDifferenceWarning, stacklevel=3)


def _check_inputs(x, radius, n_starts, max_iter, tol, lipschitz, hess_bound, rtol, atol, max_evals):
    """Validation of the arguments of :func:`max_variation` (each error names its argument)."""
    x = as_point(x, "x")
    radius = as_nonneg(radius, "radius")
    if isinstance(n_starts, bool) or not isinstance(n_starts, numbers.Integral) or n_starts < 0:
        raise ValueError(f"n_starts must be an integer >= 0, got {n_starts!r}"[:200])
    if n_starts > _MAX_STARTS:
        raise ValueError(f"n_starts must be <= {_MAX_STARTS}, got {n_starts}")
    max_iter = as_positive_int(max_iter, "max_iter")
    tol = as_scalar(tol, "tol", low=0.0, low_open=True)
    lipschitz = as_scalar(lipschitz, "lipschitz", low=0.0, allow_none=True)
    hess_bound = as_scalar(hess_bound, "hess_bound", low=0.0, allow_none=True)
    atol = as_scalar(atol, "atol", low=0.0)
    if rtol is not None:
        rtol = as_scalar(rtol, "rtol", low=0.0, low_open=True)
    if max_evals is not None:
        max_evals = as_positive_int(max_evals, "max_evals")
    radii = np.atleast_1d(radius).astype(float)
    return (x, radius, radii, np.ndim(radius) == 0, int(n_starts), max_iter, tol,
            lipschitz, hess_bound, rtol, atol, max_evals)


def _check_starts(starts, n):
    S = np.atleast_2d(as_real_array(starts, "starts"))
    if S.ndim != 2 or S.shape[1] != n:
        raise ValueError(f"starts must be a finite array of shape (k, {n}), got shape {np.shape(starts)}")
    if np.any(np.linalg.norm(S, axis=1) == 0):
        raise ValueError("starts must not contain zero directions")
    return S


def _positive_scalar(v, name):
    v = as_nonneg(v, name, strictly_positive=True)
    if np.ndim(v):
        raise ValueError(f"{name} must be a scalar")
    return float(v)


def _hessian_at_centre(hess, x):
    if hess is None:
        return None
    n = x.size
    H = returned_floats(check_callable(hess, "hess")(x), "hess")
    if H.shape != (n, n):
        raise ValueError(f"hess must return an array of shape ({n}, {n}), got {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError("hess returned non-finite values at x")
    return 0.5 * H + 0.5 * H.T  # (= 0.5 (H + Hᵀ) bit for bit, without overflow)


def _start_directions(x, gx, H, rng, n_starts, starts):
    """Unit starting directions per side: ``±∇f(x)/‖∇f(x)‖``, the extreme Hessian
    eigenvectors, the user's ``starts`` (both signs) and ``n_starts`` random directions."""
    n = x.size
    dirs = _directions(x, n, gx, H, as_rng(rng), n_starts)
    if starts is not None:
        S = starts  # checked by _check_starts
        norms = np.linalg.norm(S, axis=1)
        odd = ~np.isfinite(norms) | (norms < 1e-150)  # overflow or underflow: rescale first
        if np.any(odd):
            S = S.copy()
            S[odd] /= np.max(np.abs(S[odd]), axis=1, keepdims=True)
            norms = np.linalg.norm(S, axis=1)
        S = S / norms[:, None]
        for s_ in (+1, -1):
            dirs[s_] = list(S) + list(-S) + dirs[s_]
    return dirs


def _scale_of(r):
    """1 for radii in ``[2^-256, 2^256]``; otherwise the power of 2 just below ``r`` (exact scaling:
    ``x + s z`` is the same floating-point point as ``x + u`` for ``u = s z``)."""
    if _SCALE_LO <= r <= _SCALE_HI:
        return 1.0
    return math.ldexp(1.0, math.frexp(r)[1] - 1)


def _overflow_check(vals, fx):
    bad = np.isnan(vals) | (vals == np.inf)
    if np.any(bad):
        raise ValueError(f"|f(y) - f(x)| overflows (f(x) = {fx:.6g}): the maximal variation "
                         f"exceeds the largest float and cannot be represented")


def _ascend(F, Gr, fx, gx, x, radii, sides, dirs, tol, max_iter):
    """Multistart ascent per radius (increasing), both sides in one batch: row ``j`` maximizes
    ``sign_j (f(x + u) - f(x))``. Along a profile the previous maximizer (feasible in the larger
    ball) and its rescaling to the new sphere are extra starts, and the value is never below
    the previous one. Returns ``best[s][i]``, ``best_u[s][i]``, the iteration count and, per
    radius, whether every ascent stopped at its tolerance (not at ``max_iter`` or the budget).

    Radii outside ``[2^-256, 2^256]`` run on ``z -> (f(x + s z) - f(x)) / c`` over the ball of
    radius ``r/s`` (``s`` a power of 2 near ``r``, :func:`_scale_of`, and ``c`` one near the size
    of the values, from ``|∇f(x)| r`` or the values at the starts): the same points, and no
    square of a displacement, gradient or value overflows."""
    n = x.size
    k = radii.size
    best = {s: np.zeros(k) for s in (+1, -1)}
    best_u = {s: np.zeros((k, n)) for s in (+1, -1)}
    settled = np.ones(k, dtype=bool)
    prev = {s: (0.0, np.zeros(n), 0.0) for s in (+1, -1)}  # value, u, radius
    iters = 0
    for idx in np.argsort(radii, kind="stable"):
        r = radii[idx]
        if r == 0.0:
            continue  # best values stay 0, argmax x
        blocks, signs = [], []
        for s in sides:
            pv, pu, pr = prev[s]
            st = r * np.asarray(dirs[s])
            if pr > 0:
                with np.errstate(over="ignore", invalid="ignore"):
                    pw = pu * (r / pr)
                if not np.all(np.isfinite(pw)):  # r / pr overflows (radii 1e-300 and 1e300)
                    pw = (pu / pr) * r
                st = np.vstack([pu, pw, st])
            blocks.append(st)
            signs.append(np.full(st.shape[0], float(s)))
        U0, sign = np.vstack(blocks), np.concatenate(signs)
        info = {}
        sc = _scale_of(r)
        if sc == 1.0:
            U, vals, it = spg_ball_max_signed(F, Gr, fx, sign, U0, r, x, tol, max_iter, info=info)
        else:
            with np.errstate(over="ignore"):
                c = value_scale(float(np.linalg.norm(gx)) * r)
            if c == 1.0:  # no slope at x: the size of the values from the starts themselves
                try:
                    c = value_scale(float(np.max(np.abs(F(x + U0) - fx))))
                except BudgetExhausted:
                    pass
            Fz = ScaledFunction(ValueScaled(F, c), x, sc)
            Gz = ScaledGradient(ValueScaled(Gr, c), x, sc)
            U, vals, it = spg_ball_max_signed(Fz, Gz, fx / c, sign, U0 / sc, r / sc, np.zeros(n), tol,
                                              max_iter, info=info)
            with np.errstate(over="ignore"):
                U, vals = U * sc, vals * c
        _overflow_check(vals, fx)
        settled[idx] = not (info["capped"] or info["budget"])
        iters += it
        for s in sides:
            rows = np.flatnonzero(sign == s)
            j = rows[int(np.argmax(vals[rows]))]
            uj, vj = U[j], vals[j]
            uj, changed = make_feasible(x, uj, r)
            if changed and np.isfinite(vj):  # the value must be the one attained at the returned point
                try:
                    vj = s * (float(F((x + uj)[None, :])[0]) - fx)
                except BudgetExhausted:
                    vj = -np.inf
                    settled[idx] = False
            pv, pu, pr = prev[s]
            bv, bu = (vj, uj) if vj > pv else (pv, pu)  # previous maximizer is feasible
            best[s][idx], best_u[s][idx] = bv, bu
            prev[s] = (bv, bu, r)
    return best, best_u, iters, settled


def _refuted(name_value, value, bound, y, fy, fx):
    """An attained value above a bound from the constants, beyond rounding: the constant is false."""
    allowance = 1e-9 * bound + 64 * np.finfo(float).eps * (abs(fy) + abs(fx))
    if value > bound + allowance:
        names = " and ".join(f"{k} = {v:g}" for k, v in name_value if v is not None)
        verb = "is" if sum(v is not None for _, v in name_value) == 1 else "are"
        raise InvalidConstant(
            f"{names} {verb} contradicted by the search: |f(y) - f(x)| = {value:.6g} at "
            f"y = {np.array2string(np.asarray(y), precision=6, threshold=6)}, above {bound:.6g}, "
            f"the bound that the constant gives on the whole ball")


def _close_brackets(F, Gr, fx, x, radii, sides, best, best_u, lipschitz, hess_bound, user_grad,
                    rtol, atol, max_evals, tol, max_iter):
    """Upper bounds per radius: the bound of the whole ball from the constants, then (unless
    ``rtol is None``) the branch and bound of :mod:`flatlib.bracket`, warm-started with the
    ascent's maximizer and the previous radius's. Updates ``best``/``best_u`` in place (the
    branch and bound may find larger values) and returns ``(upper, status, note)``.

    The evaluations left in the budget are shared among the radii still to do (what one radius
    leaves goes to the next). A constant contradicted by the search (an attained value above
    the bound of the whole ball, or see :func:`flatlib.bracket.close_bracket`) raises
    :class:`flatlib.bracket.InvalidConstant` (a ``ValueError``) naming it."""
    k = radii.size
    gnorm, gerr = None, 0.0
    upper = np.zeros(k)
    status = np.full(k, "converged")
    carry = None  # side -> (value, u) at the previous radius (feasible in the larger balls)
    spent, rounds = 0, 0
    budget = F.budget
    consts = (("lipschitz", lipschitz), ("hess_bound", hess_bound))
    if Gr.track_norm and Gr.max_norm > lipschitz * (1 + 1e-9):
        raise InvalidConstant(
            f"lipschitz = {lipschitz:g} is contradicted by the search: the gradient at y = "
            f"{np.array2string(Gr.max_norm_at, precision=6, threshold=6)} has norm {Gr.max_norm:.6g}")
    order = [i for i in np.argsort(radii, kind="stable") if radii[i] > 0]
    for pos, idx in enumerate(order):
        r = float(radii[idx])
        sc = _scale_of(r)
        inc = {s: (float(best[s][idx]), best_u[s][idx].copy()) for s in sides}
        if carry is not None:
            inc = {s: max(inc[s], carry[s], key=lambda t: t[0]) for s in sides}
        value = max(v for v, _ in inc.values())
        # units: displacements in sc, values in c (both 1 for radii in [2^-256, 2^256])
        c = 1.0 if sc == 1.0 else value_scale(value, None if gnorm is None else gnorm * r)
        Fc, Gc = (F, Gr) if c == 1.0 else (ValueScaled(F, c), ValueScaled(Gr, c))
        rz = r / sc
        with np.errstate(over="ignore"):
            Lz = None if lipschitz is None else lipschitz * (sc / c)
            Hz = None if hess_bound is None else hess_bound * (sc / c) * sc
        # this radius's share of the evaluations left
        room = max_evals - budget.spent()
        budget.limit = budget.spent() + max(0, int(room // (len(order) - pos)))
        # gradient at the centre with its error bound (differences: a stencil inside this ball)
        if hess_bound is not None and (gnorm is None or not user_grad):
            try:
                g0, gerr = centre_gradient(Fc, Gc, x, fx / c, rz, Hz, user_grad, sc,
                                           None if c == 1.0 else noise_scale(fx) / c)
                gnorm, gerr = float(np.linalg.norm(g0)) * c / sc, gerr * c / sc  # real units
            except BudgetExhausted:
                gnorm, gerr = None, 0.0
        with np.errstate(over="ignore"):
            upper0 = c * ball_bound(rz, Lz, Hz, None if gnorm is None else gnorm * sc / c,
                                    gerr * sc / c)
        sv = max(sides, key=lambda s_: inc[s_][0])
        _refuted(consts, value, upper0, x + inc[sv][1], fx + sv * value, fx)
        if rtol is None:
            up_, st = max(upper0, value), "bound"
        elif upper0 - value <= max(rtol * value, atol):
            up_, st = max(upper0, value), "converged"
        else:
            incz = {s: (v / c, u / sc) for s, (v, u) in inc.items()}
            out = close_bracket(Fc, Gc, x, fx / c, rz, sides, lipschitz=Lz, hess_bound=Hz,
                                user_grad=user_grad, incumbent=incz, rtol=rtol, atol=atol / c,
                                max_evals=budget.limit - budget.spent(), upper0=upper0 / c, tol=tol,
                                max_iter=max_iter, scale=sc,
                                fscale=None if c == 1.0 else noise_scale(fx) / c)
            inc = {s: (v * c, make_feasible(x, u * sc, r)[0]) for s, (v, u) in out.best.items()}
            for s_, (v, u) in out.best.items():  # a point moved by make_feasible is re-evaluated
                if not np.array_equal(inc[s_][1], u * sc):
                    try:
                        inc[s_] = (s_ * (float(F((x + inc[s_][1])[None, :])[0]) - fx), inc[s_][1])
                    except BudgetExhausted:
                        inc[s_] = (float(best[s_][idx]), best_u[s_][idx].copy())
            up_, st = out.upper * c, out.status
            spent += out.nfev
            rounds += out.rounds
        if Gr.track_norm and Gr.max_norm > lipschitz * (1 + 1e-9):
            raise InvalidConstant(
                f"lipschitz = {lipschitz:g} is contradicted by the search: the gradient at y = "
                f"{np.array2string(Gr.max_norm_at, precision=6, threshold=6)} has norm "
                f"{Gr.max_norm:.6g}")
        for s in sides:
            best[s][idx], best_u[s][idx] = inc[s][0], inc[s][1]
        value = max(v for v, _ in inc.values())
        sv = max(sides, key=lambda s_: inc[s_][0])
        _refuted(consts, value, upper0, x + inc[sv][1], fx + sv * value, fx)
        carry = inc
        upper[idx], status[idx] = up_, st
    budget.limit = max_evals
    # f°(x, r) <= f°(x, r') <= upper(r') for r <= r': the upper ends can only improve
    order = np.argsort(radii, kind="stable")
    upper[order] = np.minimum.accumulate(upper[order][::-1])[::-1]
    for idx in order:  # a value above the bound of a larger ball refutes the constants too
        s_ = max(sides, key=lambda t: best[t][idx])
        _refuted(consts, float(best[s_][idx]), float(upper[idx]), x + best_u[s_][idx],
                 fx + s_ * float(best[s_][idx]), fx)
    which = "Lipschitz constant" if hess_bound is None else (
        "Hessian bound" + (" and Lipschitz constant" if lipschitz is not None else ""))
    if rtol is None:
        note = f"upper bound of the whole ball from the {which}"
    else:
        ok = int(np.sum(status == "converged"))
        note = (f"bracket by branch and bound on the {which}: {ok} of {k} radii closed to "
                f"rtol = {rtol:g} (atol = {atol:g}), {rounds} rounds, {spent} evaluations"
                + ("" if ok == k else f"; the budget max_evals = {max_evals} (for the whole call) "
                   f"was reached for {k - ok} (bracket valid, wider)"))
    return upper, status, note


def _assemble(x, radii, scalar, side, sides, best, best_u, upper, status, converged, F, Gr, msg):
    """The result: ``f° = max(up, down)`` for ``side="both"``, the argmax on the winning side."""
    k = radii.size
    up = best[+1] if +1 in sides else np.full(k, np.nan)
    down = best[-1] if -1 in sides else np.full(k, np.nan)
    if side == "both":
        pick_up = best[+1] >= best[-1]
        value = np.where(pick_up, best[+1], best[-1])
        argu = np.where(pick_up[:, None], best_u[+1], best_u[-1])
    else:
        value, argu = best[sides[0]], best_u[sides[0]]
    argmax = x[None, :] + argu
    converged = np.asarray(converged) | (radii == 0)
    if upper is not None:
        upper = np.maximum(upper, value)
    if scalar:
        return MaxVariationResult(float(value[0]), argmax[0], None if upper is None else float(upper[0]),
                                  float(up[0]), float(down[0]), float(radii[0]), side,
                                  F.ncalls, Gr.ncalls, False, msg, str(status[0]), bool(converged[0]))
    return MaxVariationResult(value, argmax, upper, up, down, radii, side,
                              F.ncalls, Gr.ncalls, False, msg, status, converged)


def _max_variation_quadratic(q, x, radius, radii, scalar, side):
    if x.size != q.n:
        raise ValueError(f"x must have length {q.n}, got {x.size}")
    k = radii.size
    value = np.zeros(k)
    up = np.full(k, np.nan)
    down = np.full(k, np.nan)
    argmax = np.zeros((k, q.n))
    upper = np.zeros(k)
    exact = True
    for i, r in enumerate(radii):
        res = q.max_variation_with_bound(x, float(r), side=side)   # upper: the duals' bound
        value[i], argmax[i], upper[i], up[i], down[i] = res.value, res.argmax, res.upper, res.up, res.down
        exact = exact and res.exact
    msg = ("exact: trust-region subproblems of the quadratic, certified to 1e-12 by their duals" if exact
           else "trust-region subproblems of the quadratic; the dual bound leaves a gap above 1e-12")
    if scalar:
        return MaxVariationResult(float(value[0]), argmax[0], float(upper[0]), float(up[0]), float(down[0]),
                                  float(radii[0]), side, 0, 0, exact, msg)
    return MaxVariationResult(value, argmax, upper, up, down, radii, side, 0, 0, exact, msg)


# ---------------------------------------------------------------------------
# distance to the level sets


def level_distance(f, x, delta, *, grad=None, hess=None, side="both", max_radius=None,
                   n_starts=8, rng=None, tol=1e-10, xtol=1e-12, vectorized=False,
                   allow_finite_differences=None):
    r"""Distance to the neighbouring level sets,
    :math:`\bar f(x, d) = \operatorname{dist}(x, \{y : |f(y) - f(x)| \ge d\})`.

    Computed through the duality of the two profiles,
    :math:`\bar f(x, d) = \inf\{r \ge 0 : f^\circ(x, r) \ge d\}`: the radius is
    bracketed by doubling and then found by Brent's method on
    :math:`r \mapsto f^\circ(x, r) - d`, each evaluation a call of
    :func:`max_variation` (same seed, so the profile is a fixed function of ``r``).

    Parameters
    ----------
    f, x, grad, hess, n_starts, rng, tol, vectorized, allow_finite_differences
        As in :func:`max_variation`.
    delta : float or 1-D array_like
        Level gap ``d > 0``; an array gives the profile ``d -> f¯(x, d)``.
    side : {"both", "up", "down"}
        ``"up"`` measures the distance to ``{f >= f(x) + d}``, ``"down"`` to ``{f <= f(x) - d}``.
    max_radius : float, optional
        Search radius; beyond it the level set is declared empty (``value = inf``).
        Default ``1e6 (1 + ‖x‖)``.
    xtol : float
        Relative tolerance on the distance, ``>= 0``; values below ``4 eps`` (``8.9e-16``, the
        finest tolerance of Brent's method), ``0`` included, mean machine precision ``4 eps``.

    Returns
    -------
    LevelDistanceResult
        ``value``, ``nearest`` (a point with ``|f(nearest) - f(x)| >= d`` at distance ``<= value``).
        It behaves as ``value`` in arithmetic (``float(res)``).

    Raises
    ------
    ValueError, TypeError
        A bad argument (the message names it), or ``f`` failing as in :func:`max_variation`;
        an error raised by ``f`` or ``grad`` reaches the caller unchanged.

    Examples
    --------
    For :math:`f(y) = \|y\|^2` at the origin, :math:`\bar f(0, d) = \sqrt d`:

    >>> res = level_distance(lambda y: float(y @ y), [0.0, 0.0], 0.25, grad=lambda y: 2 * y)
    >>> round(res.value, 9)
    0.5

    The tolerance ``xtol = 0`` asks for machine precision (``\bar f(0, 0.3) = \sqrt{0.3}``):

    >>> round(level_distance(lambda y: float(y @ y), [0.0, 0.0], 0.3, xtol=0).value ** 2, 12)
    0.3
    """
    _check_side(side)
    x = as_point(x, "x")
    delta = as_nonneg(delta, "delta", strictly_positive=True)
    deltas = np.atleast_1d(delta).astype(float)
    scalar = np.ndim(delta) == 0
    xtol = as_scalar(xtol, "xtol", low=0.0)
    if max_radius is None:
        max_radius = min(1e6 * (1.0 + np.linalg.norm(x)), 1e300)
    max_radius = as_scalar(max_radius, "max_radius", low=0.0, low_open=True)
    vectorized = as_bool(vectorized, "vectorized")
    # the arguments passed on to max_variation, checked here once (also for a Quadratic)
    _check_inputs(x, 1.0, n_starts, 1, tol, None, None, None, 0.0, None)
    if rng is not None:
        as_rng(rng)
    if not isinstance(f, Quadratic):
        check_callable(f, "f")
        _finite_difference_policy("level_distance", grad, x.size, allow_finite_differences)

    if isinstance(f, Quadratic):
        vals, pts = [], []
        for d in deltas:
            v, p = f.level_distance(x, d, side=side)
            vals.append(v)
            pts.append(p)
        msg = "exact: bisection on the closed-form profile of the quadratic"
        if scalar:
            return LevelDistanceResult(float(vals[0]), pts[0], float(deltas[0]), 0, True, msg)
        return LevelDistanceResult(np.array(vals), pts, deltas, 0, True, msg)

    nfev = 0
    seed = rng if isinstance(rng, (int, np.integer)) or rng is None else int(as_rng(rng).integers(2**31))

    def prof(r):
        nonlocal nfev
        res = max_variation(f, x, r, grad=grad, hess=hess, side=side, n_starts=n_starts,
                            rng=seed, tol=tol, vectorized=vectorized, allow_finite_differences=True)
        nfev += res.nfev
        return res

    order = np.argsort(deltas, kind="stable")
    values = np.full(deltas.size, np.inf)
    nearest = [None] * deltas.size
    lo_prev = 0.0
    # balls below about eps |x| hold only x in floating point (f° = 0 there): start above them
    r_guess = max(1.0, 2.0 ** -52 * float(np.max(np.abs(x))))
    for idx in order:
        d = deltas[idx]
        lo, hi = lo_prev, max(r_guess, lo_prev * 2.0, _TINY)
        res_hi = prof(hi)
        if res_hi.value >= d:
            halvings = 0
            while hi > _TINY:  # shrink while still >= d (by 2, then faster after 64 halvings)
                halvings += 1
                cand = 0.5 * hi if halvings <= 64 else max(hi * 2.0 ** -(halvings - 63), _TINY)
                if cand <= lo:
                    break
                rc = prof(cand)
                if rc.value >= d:
                    hi, res_hi = cand, rc
                else:
                    lo = cand
                    break
        else:
            doublings = 0
            while res_hi.value < d:  # grow (by 2, then faster after 64 doublings)
                lo = hi
                doublings += 1
                hi = 2.0 * hi if doublings <= 64 else hi * 2.0 ** min(doublings - 63, 64)
                if hi > max_radius:
                    res_hi = None
                    break
                res_hi = prof(hi)
        if res_hi is None:
            values[idx] = np.inf
            lo_prev = lo
            continue
        if hi > lo * (1.0 + xtol):
            known = {}
            if lo > 0:  # Brent needs f°(lo) < d <= f°(hi); f°(lo) >= d (rounding) makes lo the answer
                known[lo] = prof(lo)
            if lo > 0 and known[lo].value >= d:
                root = lo
            else:
                root = brentq(lambda r: (known.pop(r) if r in known else prof(r)).value - d, lo, hi,
                              xtol=5e-324, rtol=max(xtol, _BRENT_RTOL), maxiter=200, disp=False)
            rr = prof(root)
            k = 0
            while rr.value < d and k < 60:  # step to the feasible side of the root
                root = min(hi, max(root * (1.0 + 2.0 ** k * 4e-16), _TINY))
                rr = prof(root)
                k += 1
            if rr.value >= d:
                hi, res_hi = root, rr
        values[idx] = hi
        nearest[idx] = res_hi.argmax
        lo_prev = lo
        r_guess = hi
    msg = "bisection/Brent on the profile r -> f°(x, r) computed by max_variation"
    if scalar:
        return LevelDistanceResult(float(values[0]), nearest[0], float(deltas[0]), nfev, False, msg)
    return LevelDistanceResult(values, nearest, deltas, nfev, False, msg)
