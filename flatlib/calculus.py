r"""Calculus rules for the maximal variation: the leading term of :math:`f^\circ(x, r)` as :math:`r \to 0`.

Recall :math:`f^\circ(x, r) = \sup_{\|y-x\|\le r} |f(y) - f(x)|`. The rules that give
its leading term from local data of :math:`f` are:

* **differentiable point**: :math:`f^\circ(x,r) = \|\nabla f(x)\|\, r + o(r)`
  (:func:`first_order_constant`);
* **critical point of a** :math:`C^2` **function**:
  :math:`f^\circ(x,r) = \tfrac12\|\nabla^2 f(x)\|_2\, r^2 + o(r^2)`, the spectral norm being
  :math:`\max_i |\lambda_i|` (:math:`\lambda_{\max}` at a local minimum; at a saddle the
  "down" side can win) (:func:`second_order_constant`);
* **locally Lipschitz, directionally differentiable** :math:`f` (e.g. semialgebraic):
  :math:`f^\circ(x,r) = r \max_{\|u\|\le1}|f'(x;u)| + o(r)` (:func:`directional_constant`);
* **separable sum** :math:`h(x_1,x_2) = f(x_1) + g(x_2)` at a pair of local minima:
  :math:`h^\circ((x_1,x_2),r) = \max_{r_1^2+r_2^2\le r^2} f^\circ(x_1,r_1) + g^\circ(x_2,r_2)`
  for small :math:`r` (:func:`separable_max_variation`).

The algebraic rules (:math:`(af+c)^\circ = |a| f^\circ`; :math:`(f\circ Q)^\circ(x,r) =
f^\circ(Qx,r)` for an isometry; :math:`(f\circ A)^\circ(x,r) \le f^\circ(Ax, \|A\|_2 r)`;
:math:`(f+g)^\circ \le f^\circ + g^\circ`; :math:`\max(f,g)^\circ \le \max(f^\circ, g^\circ)`
and likewise for :math:`\min`; :math:`(\varphi\circ f)^\circ \le L f^\circ` for an
:math:`L`-Lipschitz :math:`\varphi`) need no code: they are checked on random instances in
``tests/test_calculus_rules.py`` and in the notebook ``02_calculus_rules``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from ._results import ScalarResult
from ._validate import (as_bool, as_int, as_nonneg, as_point, as_positive_int, as_rng, as_scalar,
                        check_callable, returned_floats, scalar_fn)

__all__ = ["first_order_constant", "second_order_constant", "directional_constant",
           "separable_max_variation", "DirectionalConstantResult", "SeparableResult"]

_SIDES = ("both", "up", "down")


def _evaluate(obj, x, name):
    """``obj(x)`` when ``obj`` is callable, else ``obj`` itself, as a float array."""
    val = obj(x) if callable(obj) else obj
    return np.array(returned_floats(val, name), dtype=float)


def _norm(g):
    """Euclidean norm without overflow or underflow of the squares (plain ``norm`` when safe)."""
    nrm = float(np.linalg.norm(g))
    if 1e-150 < nrm < 1e150 or not np.any(g):
        return nrm
    m = float(np.max(np.abs(g)))
    return m * float(np.linalg.norm(g / m)) if m > 0 else 0.0


# ---------------------------------------------------------------------------
# smooth rules


def first_order_constant(grad, x):
    r"""Leading constant of :math:`f^\circ(x,r)` at a differentiable point: :math:`\|\nabla f(x)\|`.

    For :math:`f` differentiable at :math:`x`,
    :math:`f(x+u) - f(x) = \nabla f(x)^\top u + o(\|u\|)` and
    :math:`\max_{\|u\|\le r} |\nabla f(x)^\top u| = \|\nabla f(x)\|\,r` (Cauchy–Schwarz), so

    .. math:: f^\circ(x, r) = \|\nabla f(x)\|\, r + o(r).

    If :math:`\nabla f` is :math:`H`-Lipschitz on the ball, the error is at most :math:`\tfrac12 H r^2`.

    Parameters
    ----------
    grad : callable or array_like
        ``grad(x) -> (n,)``, or the gradient at ``x`` itself.
    x : array_like, shape (n,)

    Returns
    -------
    float
        :math:`\|\nabla f(x)\|` (``0`` at a critical point, where see :func:`second_order_constant`).

    Examples
    --------
    For :math:`f(y) = \tfrac12(y_1 y_2 - 1)^2`, :math:`\nabla f = (y_1y_2-1)(y_2, y_1)`; at
    ``(2, 1)`` it is ``(1, 2)``:

    >>> import numpy as np
    >>> grad = lambda y: (y[0] * y[1] - 1.0) * np.array([y[1], y[0]])
    >>> round(first_order_constant(grad, [2.0, 1.0]) ** 2, 12)
    5.0
    """
    x = as_point(x, "x")
    if grad is None:
        raise TypeError("grad must be callable or an array, got None")
    g = _evaluate(grad, x, "grad")
    if g.shape != x.shape:
        raise ValueError(f"grad must have shape ({x.size},) (the length of x) at x, got {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("grad must be finite at x")
    with np.errstate(over="ignore", under="ignore"):
        return _norm(g)


def second_order_constant(hess, x, *, grad=None, gtol=1e-8, side="both"):
    r"""Leading constant of :math:`f^\circ(x,r)` at a critical point: :math:`\tfrac12\|\nabla^2 f(x)\|_2`.

    For :math:`f` of class :math:`C^2` with :math:`\nabla f(x) = 0`,
    :math:`f(x+u) - f(x) = \tfrac12 u^\top \nabla^2 f(x) u + o(\|u\|^2)` and
    :math:`\max_{\|u\|\le r} |u^\top H u| = \|H\|_2 r^2` with
    :math:`\|H\|_2 = \max_i |\lambda_i(H)|`, so

    .. math:: f^\circ(x, r) = \tfrac12 \|\nabla^2 f(x)\|_2\, r^2 + o(r^2).

    At a local minimum :math:`\|\nabla^2 f(x)\|_2 = \lambda_{\max}`; at a saddle the
    "down" side :math:`-\lambda_{\min}` may be the larger one. If the Hessian is
    :math:`M`-Lipschitz on the ball, the error is at most :math:`M r^3 / 6`.

    Parameters
    ----------
    hess : callable or array_like
        ``hess(x) -> (n, n)``, or the Hessian at ``x`` itself (symmetrized).
    x : array_like, shape (n,)
    grad : callable or array_like, optional
        When given, ``x`` must be critical: ``||grad(x)|| <= gtol`` (else ``ValueError``,
        since then the first-order term dominates).
    gtol : float
        Tolerance of that check.
    side : {"both", "up", "down"}
        ``"up"``: :math:`\tfrac12\max(\lambda_{\max}, 0)` (constant of :math:`\sup_B f - f(x)`, the SAM
        sharpness); ``"down"``: :math:`\tfrac12\max(-\lambda_{\min}, 0)`; ``"both"``: the larger.

    Returns
    -------
    float

    Examples
    --------
    The saddle :math:`y_1^2 - 3 y_2^2` has Hessian ``diag(2, -6)``: the "down" side wins.

    >>> import numpy as np
    >>> H = np.diag([2.0, -6.0])
    >>> second_order_constant(H, [0.0, 0.0]), second_order_constant(H, [0.0, 0.0], side="up")
    (3.0, 1.0)

    At the minimum ``(1, 1)`` of :math:`\tfrac12(y_1y_2-1)^2` the Hessian is ``[[1, 1], [1, 1]]``:

    >>> second_order_constant(lambda y: np.array([[y[1] ** 2, 2 * y[0] * y[1] - 1.0],
    ...                                           [2 * y[0] * y[1] - 1.0, y[0] ** 2]]), [1.0, 1.0])
    1.0
    """
    if side not in _SIDES:
        raise ValueError(f"side must be one of {_SIDES}, got {side!r}")
    x = as_point(x, "x")
    n = x.size
    if hess is None:
        raise TypeError("hess must be callable or an array, got None")
    H = _evaluate(hess, x, "hess")
    if H.shape != (n, n):
        raise ValueError(f"hess must have shape ({n}, {n}) (the length of x), got {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError("hess must be finite at x")
    gtol = as_scalar(gtol, "gtol", low=0.0)
    if grad is not None:
        gn = first_order_constant(grad, x)
        if gn > gtol:
            raise ValueError(f"x is not a critical point: ||grad(x)|| = {gn:.3g} > gtol = {gtol:.3g}; "
                             "the leading term is then first order (see first_order_constant)")
    lam = np.linalg.eigvalsh(0.5 * H + 0.5 * H.T)  # (= 0.5 (H + Hᵀ) without overflow)
    up, down = max(float(lam[-1]), 0.0), max(float(-lam[0]), 0.0)
    val = {"both": max(up, down), "up": up, "down": down}[side]
    return 0.5 * val


# ---------------------------------------------------------------------------
# nonsmooth rule


@dataclass
class DirectionalConstantResult(ScalarResult):
    r"""Result of :func:`directional_constant` (behaves as its ``value`` in arithmetic).

    Attributes
    ----------
    value : float
        Estimate of :math:`\max_{\|u\|\le1} |f'(x;u)|`, attained (up to the difference
        quotient's error) at ``direction``; with an exact ``dirderiv`` a lower bound.
    direction : ndarray, shape (n,)
        A unit direction attaining ``value``.
    sign : int
        ``+1`` if :math:`f'(x;u) > 0` there (the "up" side wins), ``-1`` otherwise.
    nfev : int
        Evaluations of ``f`` (or of ``dirderiv``).
    message : str
    """

    value: float
    direction: np.ndarray
    sign: int
    nfev: int
    message: str


def directional_constant(f, x, *, dirderiv=None, n_dirs=None, t=None, richardson=True,
                         n_refine=4, rng=None):
    r"""Leading constant :math:`\max_{\|u\|\le 1} |f'(x;u)|` of :math:`f^\circ(x,r)` for nonsmooth :math:`f`.

    For :math:`f` locally Lipschitz and directionally differentiable at :math:`x` (e.g.
    semialgebraic), :math:`f(x+u) = f(x) + f'(x;u) + o(\|u\|)` uniformly in the direction
    (Lipschitz continuity makes the directional derivative a Hadamard one), so

    .. math:: f^\circ(x, r) = r \max_{\|u\|\le 1} |f'(x; u)| + o(r).

    The maximum over the ball is one over the unit sphere (:math:`f'(x;\cdot)` is
    positively homogeneous). At a differentiable point it equals :math:`\|\nabla f(x)\|`.

    Method. Unless ``dirderiv`` is given, :math:`f'(x;u)` is estimated by the one-sided
    quotient :math:`D_t(u) = (f(x+tu)-f(x))/t`, by default with Richardson extrapolation
    :math:`2D_{t/2}(u) - D_t(u)`. Its error is :math:`O(t^2)` (Richardson) or :math:`O(t)`
    when :math:`s \mapsto f(x+su)` is :math:`C^2` on :math:`[0, t]` (true for small ``t`` along
    each ray of a semialgebraic function), plus rounding :math:`\sim 10^{-16}|f(x)|/t`.
    The sphere is searched exhaustively in low dimension: ``n = 1``: the two directions;
    ``n = 2``: ``n_dirs`` equally spaced angles (default 720), then a bounded 1-D refinement
    around the ``n_refine`` best ones; ``n >= 3``: the ``±`` coordinate directions and
    ``n_dirs`` random ones (default ``200 n``), then Nelder–Mead on :math:`v \mapsto
    |f'(x; v/\|v\|)|` from the ``n_refine`` best. The returned value is attained at
    ``direction``, so with exact ``dirderiv`` it is a lower bound of the maximum; a
    narrow maximizing cone missed by the sampling is the only way to underestimate it.

    Parameters
    ----------
    f : callable or None
        ``f(y) -> float`` on 1-D float arrays; may be ``None`` when ``dirderiv`` is given.
    x : array_like, shape (n,)
    dirderiv : callable, optional
        ``dirderiv(u) -> f'(x; u)`` for unit ``u`` (exact directional derivative at ``x``).
    n_dirs : int, optional
        Sampled directions (see Method).
    t : float, optional
        Difference step; default ``1e-5 * max(1, ||x||)`` with Richardson, ``1e-8 * max(1, ||x||)``
        without; at least ``1e-13 max(1, |x|_inf)`` and ``1e-150`` (else the quotient is noise:
        a ``ValueError`` naming ``t``).
    richardson : bool
        Extrapolate the difference quotient (default ``True``).
    n_refine : int
        Number of best sampled directions refined locally.
    rng : None, int or numpy.random.Generator
        Seed of the random directions (``None`` means seed 0: deterministic).

    Returns
    -------
    DirectionalConstantResult
        ``value``, ``direction``, ``sign``, ``nfev``, ``message``.

    Examples
    --------
    :math:`f = |y_1y_2 - 1|` at the point ``(2, 1/2)`` of the hyperbola:
    :math:`f'(x;u) = |(y_2, y_1)\cdot u|`, so the constant is :math:`\|(1/2, 2)\|`:

    >>> import numpy as np
    >>> f = lambda y: abs(y[0] * y[1] - 1.0)
    >>> res = directional_constant(f, [2.0, 0.5])
    >>> round(res.value, 8), round(float(np.hypot(0.5, 2.0)), 8)
    (2.06155281, 2.06155281)

    With the exact directional derivative of :math:`\|y\|_1` at 0, :math:`f'(0;u) = \|u\|_1`,
    the constant is :math:`\sqrt n`:

    >>> res = directional_constant(None, np.zeros(3), dirderiv=lambda u: float(np.abs(u).sum()))
    >>> round(res.value, 6)
    1.732051
    """
    x = as_point(x, "x")
    n = x.size
    richardson = as_bool(richardson, "richardson")
    n_refine = as_int(n_refine, "n_refine", low=1, high=10_000)
    gen = as_rng(rng)
    if n_dirs is None:
        n_dirs = 720 if n == 2 else 200 * n
    n_dirs = as_int(n_dirs, "n_dirs", low=1, high=10_000_000)
    D, counter, how = _directional_derivative(f, x, dirderiv, t, richardson)
    if n == 1:
        best, best_u, search = _search_line(D)
    elif n == 2:
        best, best_u, search = _search_circle(D, n_dirs, n_refine)
    else:
        best, best_u, search = _search_sphere(D, n, n_dirs, n_refine, gen)
    sign = 1 if D(best_u) > 0 else -1
    return DirectionalConstantResult(float(best), best_u, sign, counter.ncalls, f"{how}; {search}")


def _directional_derivative(f, x, dirderiv, t, richardson):
    """``u ↦ f'(x; u)`` on unit vectors: ``dirderiv`` itself, or the one-sided quotient
    ``D_t(u) = (f(x+tu) - f(x))/t`` (Richardson: ``2 D_{t/2}(u) - D_t(u)``).
    Returns ``(D, counter, description)``, ``counter.ncalls`` counting the evaluations."""
    if dirderiv is not None:
        D = scalar_fn(dirderiv, "dirderiv")
        return D, D, "exact directional derivative"
    if f is None:
        raise TypeError("f must be callable when dirderiv is not given, got None")
    fw = scalar_fn(f, "f")
    if t is None:
        with np.errstate(over="ignore", under="ignore"):
            t = (1e-5 if richardson else 1e-8) * max(1.0, _norm(x))
    t = as_scalar(t, "t", low=0.0, low_open=True)
    if t < 1e-13 * max(1.0, float(np.max(np.abs(x)))) or t < 1e-150:
        raise ValueError(f"t = {t:g} is too small for a difference quotient at x (below "
                         f"1e-13 max(1, |x|_inf) or 1e-150, the quotient is rounding noise)")
    fx = fw(x)
    if richardson:
        def D(u):
            d1 = (fw(x + t * u) - fx) / t
            d2 = (fw(x + 0.5 * t * u) - fx) / (0.5 * t)
            return 2.0 * d2 - d1
        return D, fw, f"Richardson-extrapolated one-sided differences, t = {t:.3g}"

    def D(u):
        return (fw(x + t * u) - fx) / t
    return D, fw, f"one-sided differences, t = {t:.3g}"


def _search_line(D):
    """``n = 1``: the unit sphere is ``{-1, +1}``; the larger of ``|f'(x; ±1)|``."""
    cands = [np.array([1.0]), np.array([-1.0])]
    vals = [abs(D(u)) for u in cands]
    k = int(np.argmax(vals))
    return vals[k], cands[k], "both directions of the line"


def _search_circle(D, n_dirs, n_refine):
    """``n = 2``: ``|f'(x; (cos a, sin a))|`` on ``n_dirs`` equally spaced angles ``a``, then a
    bounded scalar maximization over ``[a - h, a + h]`` (``h`` the spacing) around the
    ``n_refine`` best angles."""
    def on_circle(a):
        return np.array([np.cos(a), np.sin(a)])

    th = np.linspace(0.0, 2.0 * np.pi, n_dirs, endpoint=False)
    vals = np.array([abs(D(on_circle(a))) for a in th])
    k = int(np.argmax(vals))
    best, best_u = float(vals[k]), on_circle(th[k])
    h = 2.0 * np.pi / n_dirs
    for j in np.argsort(vals)[::-1][:n_refine]:
        res = minimize_scalar(lambda a: -abs(D(on_circle(a))), bounds=(th[j] - h, th[j] + h),
                              method="bounded", options={"xatol": 1e-10})
        if -res.fun > best:
            best, best_u = float(-res.fun), on_circle(res.x)
    return best, best_u, f"{n_dirs} angles and bounded refinement of the best {n_refine}"


def _search_sphere(D, n, n_dirs, n_refine, gen):
    """``n >= 3``: ``|f'(x; u)|`` at the ``2n`` directions ``±e_i`` and ``n_dirs`` uniform random
    unit vectors, then Nelder–Mead on the homogeneous extension ``v ↦ |f'(x; v/||v||)|`` from
    the ``n_refine`` best, from a simplex of edge ``sqrt(2 / n_dirs^{1/(n-1)})`` (a scale
    of the distance between sampled directions)."""
    def absD(v):
        nv = np.linalg.norm(v)
        if nv == 0.0 or not np.isfinite(nv):
            return 0.0
        return abs(D(v / nv))

    R = gen.standard_normal((n_dirs, n))
    R /= np.linalg.norm(R, axis=1, keepdims=True)
    cands = np.vstack([np.eye(n), -np.eye(n), R])
    vals = np.array([abs(D(u)) for u in cands])
    k = int(np.argmax(vals))
    best, best_u = float(vals[k]), cands[k].copy()
    scale = np.sqrt(2.0 / n_dirs ** (1.0 / max(n - 1, 1)))
    for j in np.argsort(vals)[::-1][:n_refine]:
        v0 = cands[j]
        simplex = np.vstack([v0] + [v0 + scale * e for e in np.eye(n)])
        res = minimize(lambda v: -absD(v), v0, method="Nelder-Mead",
                       options={"initial_simplex": simplex, "xatol": 1e-10, "fatol": 1e-14,
                                "maxiter": 400 * n})
        v = res.x / np.linalg.norm(res.x)
        val = abs(D(v))
        if val > best:
            best, best_u = float(val), v
    search = (f"2n coordinate and {n_dirs} random directions, Nelder-Mead refinement of the "
              f"best {n_refine}")
    return best, best_u, search


# ---------------------------------------------------------------------------
# separable sums


def _running_argmax(v):
    """Index of the first maximum of v[:k+1], for every k."""
    idx = np.zeros(v.size, dtype=int)
    j = 0
    for k in range(v.size):
        if v[k] > v[j]:
            j = k
        idx[k] = j
    return idx


@dataclass
class SeparableResult(ScalarResult):
    r"""Result of :func:`separable_max_variation` (behaves as its ``value`` in arithmetic).

    Attributes
    ----------
    value : float or ndarray
        :math:`\max_{r_1^2+r_2^2\le r^2} p_1(r_1) + p_2(r_2)`, attained at ``(r1, r2)``.
    r1, r2 : float or ndarray
        The optimal split of the radius, ``r1**2 + r2**2 <= r**2``.
    radius : float or ndarray
    message : str
    """

    value: object
    r1: object
    r2: object
    radius: object
    message: str


def separable_max_variation(prof1, prof2, r, *, n_grid=257, vectorized=False, xatol=1e-12):
    r"""Maximal variation of a separable sum from the profiles of its terms.

    For :math:`h(x_1, x_2) = f(x_1) + g(x_2)` on a product of Euclidean spaces and a pair of
    local minima :math:`x_1` of :math:`f`, :math:`x_2` of :math:`g`, for small :math:`r`

    .. math:: h^\circ((x_1,x_2), r) = \max_{r_1^2 + r_2^2 \le r^2} f^\circ(x_1, r_1) + g^\circ(x_2, r_2).

    (Near the minima both increments are :math:`\ge 0`, so the sup of their sum over the ball
    splits into the sup over :math:`\|y_1-x_1\|\le r_1`, :math:`\|y_2-x_2\|\le r_2`, then
    over the split.) At any other point the right-hand side is an upper bound
    (triangle inequality). Since the profiles are nondecreasing the maximum is on the circle
    :math:`r_1 = r\cos\theta`, :math:`r_2 = r\sin\theta`, a 1-D maximization over
    :math:`\theta\in[0,\pi/2]`: a grid of ``n_grid`` angles, then bounded Brent refinement
    between the neighbours of the best grid angle. A profile that is not nondecreasing is
    replaced on the grid by its running maximum (which gives the maximum over the disc).

    Closed forms (used in the tests): for :math:`p_1 = a r^p`, :math:`p_2 = b r^p` the
    maximum is :math:`r^p \|(a, b)\|_{2/(2-p)}` when :math:`p < 2` (Hölder) and
    :math:`\max(a, b) r^p` when :math:`p \ge 2` (convexity in :math:`r_1^2`).

    Parameters
    ----------
    prof1, prof2 : callable
        Nondecreasing profiles ``s -> f°(x1, s)`` and ``s -> g°(x2, s)`` with ``prof(0) = 0``,
        called on floats ``s >= 0`` (on 1-D arrays if ``vectorized``).
    r : float or 1-D array_like
        Radius (radii) ``>= 0``.
    n_grid : int
        Number of grid angles (>= 3).
    vectorized : bool
        Call the profiles once per radius on the whole grid of radii.
    xatol : float
        Absolute angle tolerance of the refinement.

    Returns
    -------
    SeparableResult
        ``value``, ``r1``, ``r2`` (floats for a scalar ``r``, arrays otherwise).

    Examples
    --------
    Two order-1 profiles :math:`|y_1|` and :math:`2|y_2|` give :math:`\sqrt{1 + 4}\, r`:

    >>> res = separable_max_variation(lambda s: s, lambda s: 2 * s, 0.5)
    >>> round(res.value, 10), round(0.5 * 5 ** 0.5, 10)
    (1.1180339887, 1.1180339887)

    Two quadratic profiles: the larger curvature takes the whole radius.

    >>> res = separable_max_variation(lambda s: 3 * s ** 2, lambda s: s ** 2, 0.1)
    >>> round(res.value, 12), round(res.r1, 12), round(res.r2, 12)
    (0.03, 0.1, 0.0)
    """
    p1 = check_callable(prof1, "prof1")
    p2 = check_callable(prof2, "prof2")
    n_grid = as_int(n_grid, "n_grid", low=3, high=10_000_000)
    vectorized = as_bool(vectorized, "vectorized")
    xatol = as_scalar(xatol, "xatol", low=0.0, low_open=True)
    r = as_nonneg(r, "r")
    radii = np.atleast_1d(r).astype(float)
    w1, w2 = scalar_fn(p1, "prof1"), scalar_fn(p2, "prof2")

    def many(p, w, name, s):
        if vectorized:
            v = returned_floats(p(s), name)
            if v.shape != s.shape:
                raise ValueError(f"{name} must return an array of shape {s.shape} when vectorized, "
                                 f"got {v.shape}")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{name} returned non-finite values")
            return v
        return np.array([w(float(si)) for si in s])

    th = np.linspace(0.0, 0.5 * np.pi, int(n_grid))
    c, s = np.cos(th), np.sin(th)
    c[-1], s[0] = 0.0, 0.0
    vals, r1s, r2s = np.zeros(radii.size), np.zeros(radii.size), np.zeros(radii.size)
    for i, rr in enumerate(radii):
        if rr == 0.0:
            continue
        a = many(p1, w1, "prof1", rr * c)      # radii decreasing along the grid
        b = many(p2, w2, "prof2", rr * s)      # radii increasing along the grid
        # candidate 1: the raw profiles on the circle, best grid angle refined by Brent
        k = int(np.argmax(a + b))
        best, b1, b2 = float(a[k] + b[k]), rr * c[k], rr * s[k]
        lo, hi = th[max(k - 1, 0)], th[min(k + 1, th.size - 1)]
        phi = lambda t, rr=rr: -(w1(rr * np.cos(t)) + w2(rr * np.sin(t)))
        res = minimize_scalar(phi, bounds=(lo, hi), method="bounded", options={"xatol": xatol})
        if -res.fun > best:
            best, b1, b2 = float(-res.fun), rr * np.cos(res.x), rr * np.sin(res.x)
        # candidate 2: running maxima (the max over the disc when a profile is not monotone)
        ia, ib = _running_argmax(a[::-1])[::-1], _running_argmax(b)
        ia = a.size - 1 - ia
        tot = a[ia] + b[ib]
        k = int(np.argmax(tot))
        if tot[k] > best:
            best, b1, b2 = float(tot[k]), rr * c[ia[k]], rr * s[ib[k]]
        vals[i], r1s[i], r2s[i] = best, b1, b2
    msg = f"grid of {n_grid} angles in [0, pi/2] and bounded Brent refinement"
    if np.ndim(r) == 0:
        return SeparableResult(float(vals[0]), float(r1s[0]), float(r2s[0]), float(radii[0]), msg)
    return SeparableResult(vals, r1s, r2s, radii, msg)
