r"""Gradient flows, gradient descent, subgradient dynamics, and the gradient
flow of the conserved quantities, with conservation-law bookkeeping.

Mathematics
-----------
* Gradient flow ``x' = -∇f(x)``: every Noether charge ``Q_S(x) = ½<x, S x>``
  with ``S`` a symmetric element of the symmetry algebra is exactly conserved
  (``d/dt Q_S = -<S x, ∇f(x)> = 0``).  :func:`gradient_flow` integrates it
  with the solvers of :mod:`scipy.integrate` at tight tolerances and reports the
  numerical drift of the charges.
* Gradient descent ``x⁺ = x - η ∇f(x)`` conserves them only up to ``O(η²)``
  per step: ``Q_S(x⁺) - Q_S(x) = -η<S x, ∇f> + ½η²<∇f, S ∇f> = ½η²<∇f, S∇f>``.
  For ``f = ½(xy - 1)²`` and ``S = diag(1, -1)`` this is exactly
  ``Δ(x² - y²) = -η² r² (x² - y²)`` with ``r = xy - 1``: large steps shrink the
  imbalance, i.e. drift toward flatter (more balanced) minima.
* Subgradient dynamics for locally Lipschitz ``f``: :func:`subgradient_flow`
  integrates the minimal-norm subgradient flow of ``f = |g|`` with smooth
  ``g`` exactly (charges conserved by the chain rule);
  :func:`subgradient_descent` is the explicit subgradient method for any
  locally Lipschitz ``f`` given a subgradient oracle.
* Flow of the conserved quantities (:func:`conserved_flow`): with charges
  ``Q_1..Q_k`` and ``h = ½ Σ Q_i²``, the flow ``x' = -∇h(x) = -Σ Q_i(x) S_i x``
  is tangent to the symmetry orbit (each ``S_i x`` is an orbit direction), so
  ``f`` is constant along it, and it converges to a balanced point (all
  ``Q_i = 0``) of the same orbit.  For matrix factorization it is
  ``X' = -XC, Y' = YC`` with ``C = XᵀX - YᵀY`` up to a constant time scale.

Every routine returns a :class:`FlowResult`.  Bad inputs raise ``ValueError`` /
``TypeError`` naming the argument; a run that blows up is stopped and reported
(``diverged=True`` and a message), it never returns NaN arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import (NonFiniteError, _real_array, as_int, as_point, as_scalar, check_callable,
                        returned_floats, scalar_fn, vector_fn)

__all__ = [
    "FlowResult",
    "gradient_flow",
    "gradient_descent",
    "subgradient_flow",
    "subgradient_descent",
    "conserved_flow",
]


@dataclass
class FlowResult:
    """Trajectory of a flow or iteration.

    Attributes
    ----------
    t : ndarray (T,)
        Times (``k · step`` for gradient descent; cumulative step sums for
        subgradient descent).
    x : ndarray (T, n)
        States, all finite.
    nfev : int
        Gradient (or subgradient / charge-gradient) evaluations.
    message : str
    success : bool
        ``False`` when the solver failed or the run diverged.
    diverged : bool
        The norm of the state exceeded ``blowup`` (or an overflow occurred in
        the gradient far from ``x0``); the trajectory is cut before that.
    charges : ndarray (T, k) or None
        ``Q(x(t))`` when charges were given.
    drift : ndarray (T, k) or None
        ``Q(x(t)) - Q(x(0))``.
    max_rel_drift : float or None
        ``max_t ||drift(t)||_∞ / scale``, with ``scale = ½ max_t ||x(t)||²``
        for a :class:`~flatlib.symmetry.ConservedQuantities` (the natural size
        of a Frobenius-unit quadratic charge, ``|½<x,Sx>| <= ½||x||²``) and
        ``max_t ||Q(x(t))||_∞`` for any other callable.
    f_values : ndarray (T,) or None
        ``f(x(t))`` when ``f`` was given.
    h_values : ndarray (T,) or None
        ``½||Q(x(t))||²`` (conserved flow only).
    converged : bool
        An iteration stopped because ``||∇f|| <= gtol`` (or a subgradient flow
        reached the kink set ``g = 0``).
    """

    t: np.ndarray
    x: np.ndarray
    nfev: int
    message: str
    success: bool = True
    diverged: bool = False
    charges: np.ndarray | None = None
    drift: np.ndarray | None = None
    max_rel_drift: float | None = None
    f_values: np.ndarray | None = None
    h_values: np.ndarray | None = None
    converged: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def x_final(self):
        """Last state."""
        return self.x[-1]

    def __repr__(self):
        return (f"<FlowResult T={len(self.t)} n={self.x.shape[1]} success={self.success} "
                f"diverged={self.diverged} max_rel_drift={self.max_rel_drift} "
                f"message={self.message!r}>")


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

def _t_span(t_span, name="t_span"):
    ts = _real_array(t_span, name, "a pair (t0, t1) of real numbers")
    if ts.shape != (2,):
        raise ValueError(f"{name} must be a pair (t0, t1), got shape {ts.shape}")
    if not np.all(np.isfinite(ts)):
        raise ValueError(f"{name} must be finite, got {t_span!r}")
    if not ts[1] > ts[0]:
        raise ValueError(f"{name} must satisfy t0 < t1 (forward time), got {t_span!r}")
    if ts[1] - ts[0] < max(1e-300, 64 * np.finfo(float).eps * max(abs(ts[0]), abs(ts[1]))):
        raise ValueError(f"{name} is too short to be resolved in floating point: {t_span!r}")
    return float(ts[0]), float(ts[1])


def _t_eval(t_eval, t0, t1, default_points=201):
    if t_eval is None:
        return np.linspace(t0, t1, default_points)
    te = _real_array(t_eval, "t_eval", "a 1-D array of times")
    if te.ndim != 1 or te.size == 0:
        raise ValueError(f"t_eval must be a non-empty 1-D array, got shape {te.shape}")
    if not np.all(np.isfinite(te)):
        raise ValueError("t_eval must be finite")
    if np.any(np.diff(te) <= 0):
        raise ValueError("t_eval must be strictly increasing")
    if te[0] < t0 or te[-1] > t1:
        raise ValueError(f"t_eval must lie within t_span [{t0}, {t1}]")
    return te


def _tolerance(v, name):
    return as_scalar(v, name, low=0.0, low_open=True)


def _blowup(blowup, x0):
    if blowup is None:
        with np.errstate(over="ignore"):
            b = 1e8 * max(1.0, float(np.linalg.norm(x0)))
        return b if np.isfinite(b) else np.finfo(float).max
    return as_scalar(blowup, "blowup", low=0.0, low_open=True)


def _charges(charges, n):
    if charges is None:
        return None, False
    check_callable(charges, "charges")
    quad = hasattr(charges, "matrices") and hasattr(charges, "grad_h")
    if quad and getattr(charges, "n", n) != n:
        raise ValueError(f"charges act on R^{charges.n} but x0 has length {n}")
    return charges, quad


def _charge_traj(charges, quad, X):
    if quad:
        return np.atleast_2d(charges(X)).reshape(X.shape[0], -1)
    rows = []
    for x in X:
        q = np.atleast_1d(returned_floats(charges(x), "charges")).ravel()
        if not np.all(np.isfinite(q)):
            raise ValueError(f"charges returned non-finite values at {x}")
        rows.append(q)
    return np.array(rows)


def _finish(res, charges, quad, f):
    if charges is not None:
        Q = _charge_traj(charges, quad, res.x)
        res.charges = Q
        res.drift = Q - Q[0]
        if Q.shape[1] == 0:
            res.max_rel_drift = 0.0
        else:
            if quad:
                scale = 0.5 * float(np.max(np.sum(res.x ** 2, axis=1)))
            else:
                scale = float(np.max(np.abs(Q)))
            num = float(np.max(np.abs(res.drift)))
            res.max_rel_drift = 0.0 if num == 0.0 else num / max(scale, np.finfo(float).tiny)
    if f is not None:
        F = scalar_fn(f, "f")
        res.f_values = np.array([F(x) for x in res.x])
    return res


def _at_start(G, x0):
    """Evaluate ``G`` at ``x0`` once: a non-finite value there names both the function and x0."""
    try:
        G(x0)
    except NonFiniteError as exc:
        raise NonFiniteError(f"{exc}: not finite at the start x0 (an overflow for |x0| = "
                             f"{np.max(np.abs(x0)):.3g}?)") from None


def _integrate(rhs, x0, t0, t1, te, rtol, atol, method, blowup, kink=None):
    """Step a scipy ODE solver by hand, recording dense output at ``te``.

    Stops (``diverged``) as soon as a step leaves the ball of radius
    ``blowup`` or produces non-finite values; the last finite state is then
    appended to the record.  With ``kink`` (a scalar function), stops at its
    first zero, located by Brent's method on the dense output.  (Hand stepping
    instead of ``solve_ivp`` events: near a finite-time blow-up the LSODA
    interpolant can disagree in sign with the step values, which makes
    ``solve_ivp``'s event root finder raise.)

    The flows are autonomous: a start ``t0 != 0`` is integrated in the time ``t - t0`` from 0 (so
    that a far start such as ``t0 = -1e300`` does not swallow the time scale of the dynamics in
    rounding) and the times are shifted back.

    Returns (T, X, msg, ok, diverged, t_hit, x_hit)."""
    from scipy import integrate as si
    from scipy.optimize import brentq

    if t0 != 0.0:
        T, X, msg, ok, diverged, t_hit, x_hit = _integrate(
            lambda t, y: rhs(t + t0, y), x0, 0.0, t1 - t0, te - t0, rtol, atol, method, blowup, kink)
        return (T + t0, X, msg, ok, diverged, None if t_hit is None else t_hit + t0, x_hit)

    solver = getattr(si, method)(rhs, t0, x0, t1, rtol=rtol, atol=atol)
    T, X = [], []
    i = 0
    while i < te.size and te[i] <= t0:
        T.append(te[i])
        X.append(x0.copy())
        i += 1
    y_old = x0.copy()
    k_old = kink(x0) if kink is not None else None
    msg, ok, diverged, t_hit, x_hit = "reached the end of t_span", True, False, None, None
    steps = stalled = 0
    while solver.status == "running":
        if steps >= _MAX_SOLVER_STEPS:
            msg, ok = (f"stopped after {_MAX_SOLVER_STEPS} solver steps at t = {solver.t:.6g} (of "
                       f"t_span's {t1:.6g}): too long a span for the method {method}?"), False
            break
        steps += 1
        t_before = solver.t
        step_msg = solver.step()
        stalled = stalled + 1 if solver.status == "running" and solver.t == t_before else 0
        if stalled >= 1000:  # no progress in 1000 steps: the step underflows
            msg, ok = f"the solver makes no progress at t = {solver.t:.6g} (its step underflows)", False
            break
        if solver.status == "failed":
            msg, ok = f"solver failed: {step_msg}", False
            break
        t_old, t_new, y_new = solver.t_old, solver.t, solver.y
        if not np.all(np.isfinite(y_new)) or np.linalg.norm(y_new) > blowup:
            diverged, ok = True, False
            what = (f"||x|| exceeded blowup={blowup:.3g}" if np.all(np.isfinite(y_new))
                    else "the step produced non-finite values (an overflow in grad or in the solver)")
            msg = (f"diverged: {what} between t={t_old:.6g} and t={t_new:.6g}; trajectory truncated "
                   f"at the last finite step")
            if not T or T[-1] < t_old:
                T.append(t_old)
                X.append(y_old.copy())
            break
        sol = solver.dense_output()
        t_stop = t_new
        if kink is not None:
            k_new = kink(y_new)
            if k_new == 0.0 or np.sign(k_new) != np.sign(k_old):
                ka = kink(sol(t_old))
                if k_new == 0.0:
                    t_hit = t_new
                elif np.sign(ka) != np.sign(k_new):
                    t_hit = brentq(lambda t: kink(sol(t)), t_old, t_new, xtol=1e-15, rtol=1e-15)
                else:                                    # interpolant disagrees: take the step end
                    t_hit = t_new
                x_hit = np.asarray(sol(t_hit), dtype=float)
                t_stop = t_hit
            k_old = k_new
        while i < te.size and te[i] <= t_stop:
            T.append(te[i])
            X.append(np.asarray(sol(te[i]), dtype=float))
            i += 1
        y_old = y_new.copy()
        if t_hit is not None:
            msg = f"reached the kink set at t = {t_hit:.6g}"
            break
    return np.array(T), np.array(X).reshape(len(T), x0.size), msg, ok, diverged, t_hit, x_hit


_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
#: A flow stops (success=False, with a message) after this many solver steps.
_MAX_SOLVER_STEPS = 1_000_000


def _method(method):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return method


# ----------------------------------------------------------------------------
# gradient flow
# ----------------------------------------------------------------------------

def _flow_setup(x0, t_span, t_eval, rtol, atol, method, blowup, n=None):
    """Validated common arguments of the continuous-time flows."""
    x0 = as_point(x0, "x0", n=n)
    t0, t1 = _t_span(t_span)
    te = _t_eval(t_eval, t0, t1)
    return (x0, t0, t1, te, _tolerance(rtol, "rtol"), _tolerance(atol, "atol"), _method(method),
            _blowup(blowup, x0))


def _descent_setup(x0, step, n_steps, record_every):
    """Validated common arguments of the discrete iterations."""
    x0 = as_point(x0, "x0")
    eta = as_scalar(step, "step", low=0.0, low_open=True)
    return (x0, eta, as_int(n_steps, "n_steps", low=1, high=_MAX_STEPS),
            as_int(record_every, "record_every", low=1))


_MAX_STEPS = 10 ** 9


def gradient_flow(grad, x0, t_span, *, t_eval=None, rtol=1e-10, atol=1e-12, method="LSODA",
                  charges=None, f=None, blowup=None):
    r"""Integrate the gradient flow ``x'(t) = -∇f(x(t))``, ``x(t0) = x0``.

    Uses the ODE solvers of :mod:`scipy.integrate` (stepped by hand with
    dense output, as in ``solve_ivp``); the default ``LSODA`` switches
    automatically between a non-stiff Adams method and a stiff BDF method,
    which suits gradient flows near minima with large Hessian spread
    (``Radau``/``BDF`` are the stiff alternatives, ``DOP853`` the accurate
    explicit one).  Conserved charges are exact invariants of the flow, so
    their numerical drift measures integration error only.

    Parameters
    ----------
    grad : callable ``grad(x) -> (n,)``
    x0 : array_like (n,)
    t_span : (t0, t1) with t0 < t1
    t_eval : array_like, optional
        Output times (default 201 equally spaced points).
    rtol, atol : float
        Solver tolerances.
    method : str
        One of RK45, RK23, DOP853, Radau, BDF, LSODA.
    charges : callable, optional
        ``Q(x) -> (k,)``, e.g. :func:`flatlib.symmetry.conserved_quantities`;
        the result then carries ``charges``, ``drift`` and ``max_rel_drift``.
    f : callable, optional
        Loss, to record ``f(x(t))``.
    blowup : float, optional
        Stop (``diverged=True``) when ``||x||`` exceeds it; default
        ``1e8 · max(1, ||x0||)``.

    Returns
    -------
    FlowResult
        ``success=False`` with a message when the solver fails, the run diverges, or it takes
        more than a million solver steps (e.g. an explicit method over a very long span).

    Examples
    --------
    ``f(x, y) = ½(xy - 1)²`` conserves ``x² - y²`` along its gradient flow:

    >>> import numpy as np
    >>> from flatlib.symmetry import conserved_quantities
    >>> grad = lambda v: (v[0] * v[1] - 1.0) * np.array([v[1], v[0]])
    >>> Q = conserved_quantities(np.diag([1.0, -1.0]))
    >>> res = gradient_flow(grad, [3.0, 0.1], (0.0, 20.0), charges=Q)
    >>> round(float(res.x_final[0] * res.x_final[1]), 6)      # reaches xy = 1
    1.0
    >>> bool(res.max_rel_drift < 1e-8)
    True
    """
    check_callable(grad, "grad")
    x0, t0, t1, te, rtol, atol, method, b = _flow_setup(x0, t_span, t_eval, rtol, atol, method, blowup)
    n = x0.size
    charges, quad = _charges(charges, n)
    G = vector_fn(grad, n, "grad", point="x0")
    _at_start(G, x0)  # fail early (ValueError naming grad and x0) on a bad gradient at x0

    def rhs(t, y):
        return -G(y)

    T, X, msg, ok, div, _, _ = _integrate(rhs, x0, t0, t1, te, rtol, atol, method, b)
    res = FlowResult(t=T, x=X, nfev=G.ncalls, message=msg, success=ok, diverged=div)
    return _finish(res, charges, quad, f)


# ----------------------------------------------------------------------------
# gradient descent
# ----------------------------------------------------------------------------

def _iterate(oracle, name, x0, steps, n_steps, *, gtol, blowup, record_every):
    """Shared loop of gradient / subgradient descent with divergence detection."""
    n = x0.size
    G = vector_fn(oracle, n, name, point="x0")
    b = _blowup(blowup, x0)
    x = x0.copy()
    T, X = [0.0], [x0.copy()]
    t = 0.0
    diverged = converged = False
    msg = f"completed {n_steps} steps"
    grown = lambda y: np.linalg.norm(y) > 1e3 * max(1.0, np.linalg.norm(x0))  # noqa: E731
    last_recorded = True
    for k in range(n_steps):
        try:
            with np.errstate(over="raise", invalid="raise"):
                g = G(x)
        except (FloatingPointError, NonFiniteError) as exc:  # the user's own errors pass through
            if k > 0 and grown(x):
                diverged = True
                msg = (f"diverged at step {k}: {name} overflowed at ||x|| = "
                       f"{np.linalg.norm(x):.3g}; trajectory truncated")
                break
            if isinstance(exc, FloatingPointError):
                raise ValueError(f"{name} overflowed / produced invalid values at the point "
                                 f"{np.array2string(x, precision=4, threshold=6)}") from exc
            raise
        if gtol > 0 and np.linalg.norm(g) <= gtol:
            converged = True
            msg = f"converged: ||{name}|| <= gtol={gtol:g} after {k} steps"
            break
        eta = steps(k)
        with np.errstate(over="ignore", invalid="ignore"):
            x_new = x - eta * g
        if not np.all(np.isfinite(x_new)) or np.linalg.norm(x_new) > b:
            diverged = True
            msg = (f"diverged at step {k + 1}: ||x|| exceeded blowup={b:.3g}; "
                   "trajectory truncated")
            break
        x = x_new
        t += eta
        last_recorded = (k + 1) % record_every == 0
        if last_recorded:
            T.append(t)
            X.append(x.copy())
    if not last_recorded:
        T.append(t)
        X.append(x.copy())
    return np.array(T), np.array(X), G.ncalls, msg, diverged, converged


def gradient_descent(grad, x0, step, n_steps, *, charges=None, f=None, gtol=0.0, blowup=None,
                     record_every=1):
    r"""Gradient descent ``x_{k+1} = x_k - η ∇f(x_k)`` with constant step ``η``.

    Charges are conserved only to ``O(η²)`` per step
    (``ΔQ_S = ½η² <∇f, S ∇f>``), which the result's ``drift`` records.
    A run whose norm exceeds ``blowup`` (or whose gradient overflows far from
    ``x0``) is stopped and reported with ``diverged=True``; the returned
    trajectory holds only the finite iterates before the blow-up. Only a gradient
    that is not finite (or a numpy overflow in it) far from ``x0`` counts as
    divergence: an exception that ``grad`` raises itself reaches the caller
    unchanged, wherever the iterate is.

    Parameters
    ----------
    grad : callable ``grad(x) -> (n,)``
    x0 : array_like (n,)
    step : float > 0
    n_steps : int >= 1
    charges, f : callable, optional
        As in :func:`gradient_flow`.
    gtol : float >= 0
        Stop early when ``||∇f(x_k)|| <= gtol`` (default 0: run all steps).
    blowup : float, optional
        Divergence threshold on ``||x_k||`` (default ``1e8 · max(1, ||x0||)``).
    record_every : int
        Keep every ``record_every``-th iterate (and the last one).

    Returns
    -------
    FlowResult
        ``t = k · step`` for the recorded iterates.

    Examples
    --------
    On ``½(xy - 1)²`` from ``(3, 0.1)`` the step size selects the final
    minimum, whose sharpness ``λ_max = x² + y²`` is at most ``2/η``:

    >>> import numpy as np
    >>> grad = lambda v: (v[0] * v[1] - 1.0) * np.array([v[1], v[0]])
    >>> res = gradient_descent(grad, [3.0, 0.1], 0.3, 10_000, gtol=1e-12)
    >>> res.converged, round(float(res.x_final @ res.x_final), 2)
    (True, 2.71)
    >>> bad = gradient_descent(grad, [3.0, 0.1], 0.45, 1000)
    >>> bad.diverged, bool(np.all(np.isfinite(bad.x)))
    (True, True)

    The user's own error is not read as divergence:

    >>> def strict(v):
    ...     if abs(v[0]) > 1e4:
    ...         raise ValueError("out of the model's domain")
    ...     return grad(v)
    >>> gradient_descent(strict, [3.0, 0.1], 0.45, 1000)
    Traceback (most recent call last):
    ...
    ValueError: out of the model's domain
    """
    check_callable(grad, "grad")
    x0, eta, n_steps, record_every = _descent_setup(x0, step, n_steps, record_every)
    gtol = as_scalar(gtol, "gtol", low=0.0)
    charges, quad = _charges(charges, x0.size)
    T, X, nfev, msg, div, conv = _iterate(grad, "grad", x0, lambda k: eta, n_steps, gtol=gtol,
                                          blowup=blowup, record_every=record_every)
    res = FlowResult(t=T, x=X, nfev=nfev, message=msg, success=not div, diverged=div,
                     converged=conv, extra={"step": eta})
    return _finish(res, charges, quad, f)


# ----------------------------------------------------------------------------
# subgradient dynamics
# ----------------------------------------------------------------------------

def subgradient_flow(g, grad_g, x0, t_span, *, t_eval=None, rtol=1e-10, atol=1e-12,
                     method="LSODA", charges=None, blowup=None):
    r"""Minimal-norm subgradient flow of ``f(x) = |g(x)|`` with ``g`` smooth.

    The Clarke subdifferential of ``|g|`` is ``sign(g(x)) ∇g(x)`` where
    ``g(x) ≠ 0`` and ``[-1, 1]·∇g(x)`` on the kink set ``{g = 0}``, whose
    minimal-norm element is ``0``.  The subgradient flow
    ``x' ∈ -∂f(x)`` with the minimal-norm selection is therefore

    * ``x' = -s ∇g(x)`` with ``s = sign(g(x0))`` until ``g(x) = 0`` is reached
      (``|g|`` decreases at rate ``||∇g||²``), then
    * ``x' = 0``: the kink set consists of global minimizers of ``f``.

    It is integrated exactly in this form (a terminal event detects the
    kink).  By the chain rule, every charge of a linear symmetry of ``g`` is
    conserved along it.  Example: ``|xy - 1|`` gives the linear system
    ``x' = y, y' = x`` from ``(3, 0.1)`` (``xy < 1``), solved by
    ``x = 3cosh t + 0.1 sinh t, y = 0.1cosh t + 3 sinh t`` until ``xy = 1``,
    i.e. until ``0.3 cosh 2t + 4.505 sinh 2t = 1`` (``t ≈ 0.076991``).
    For a general locally Lipschitz ``f`` use :func:`subgradient_descent`.

    Parameters
    ----------
    g, grad_g : callables
        Inner smooth function and its gradient.
    x0, t_span, t_eval, rtol, atol, method, charges, blowup
        As in :func:`gradient_flow`.

    Returns
    -------
    FlowResult
        ``converged`` is ``True`` when the kink set was reached;
        ``extra["t_hit"]`` is the hitting time (or ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> g = lambda v: v[0] * v[1] - 1.0
    >>> dg = lambda v: np.array([v[1], v[0]])
    >>> res = subgradient_flow(g, dg, [3.0, 0.1], (0.0, 2.0))
    >>> res.converged, round(res.extra["t_hit"], 6), round(float(g(res.x_final)), 9) + 0.0
    (True, 0.076991, 0.0)
    """
    check_callable(g, "g")
    check_callable(grad_g, "grad_g")
    x0, t0, t1, te, rtol, atol, method, b = _flow_setup(x0, t_span, t_eval, rtol, atol, method, blowup)
    n = x0.size
    charges, quad = _charges(charges, n)
    gs = scalar_fn(g, "g")
    G = vector_fn(grad_g, n, "grad_g", point="x0")
    _at_start(G, x0)
    s = float(np.sign(gs(x0)))
    if s == 0.0:
        res = FlowResult(t=te.copy(), x=np.repeat(x0[None], te.size, axis=0), nfev=G.ncalls,
                         message="x0 is on the kink set g = 0 (a minimizer): stationary",
                         converged=True, extra={"t_hit": t0, "sign": 0.0})
        return _finish(res, charges, quad, None)

    def rhs(t, y):
        return -s * G(y)

    T, X, msg, ok, div, t_hit, x_hit = _integrate(rhs, x0, t0, t1, te, rtol, atol, method, b,
                                                  kink=gs)
    if t_hit is not None:
        rest = te[te > t_hit]
        T = np.concatenate([T, rest])
        X = np.vstack([X, np.repeat(x_hit[None], rest.size, axis=0)])
        msg = f"reached the kink set g = 0 at t = {t_hit:.6g}; stationary afterwards"
    res = FlowResult(t=T, x=X, nfev=G.ncalls, message=msg, success=ok, diverged=div,
                     converged=t_hit is not None, extra={"t_hit": t_hit, "sign": s})
    return _finish(res, charges, quad, None)


def subgradient_descent(subgrad, x0, step, n_steps, *, schedule="harmonic", charges=None,
                        f=None, blowup=None, record_every=1):
    r"""Explicit subgradient method ``x_{k+1} = x_k - η_k v_k``, ``v_k ∈ ∂f(x_k)``.

    For locally Lipschitz ``f`` (e.g. ``|xy - 1|``) given a subgradient
    oracle.  Step schedules: ``"constant"`` (``η_k = η``), ``"sqrt"``
    (``η/√(k+1)``), ``"harmonic"`` (``η/(k+1)``, the default:
    ``Σ η_k = ∞`` and ``Σ η_k² < ∞``).  A charge changes by
    ``½η_k² <v_k, S v_k>`` per step, so its total drift is bounded by
    ``½ Σ η_k² · max||v_k||²`` — finite for the harmonic schedule, unbounded for
    constant/sqrt steps, under which the iterates chatter around the kink
    and slowly drift toward balanced points.  For ``|xy - 1|`` and
    ``S = diag(1, -1)``, exactly ``Δ(x² - y²) = -η_k² (x² - y²)`` whenever
    ``xy ≠ 1``.  The method is not monotone; ``f_values`` records ``f``.

    Parameters
    ----------
    subgrad : callable ``subgrad(x) -> (n,)``, a Clarke subgradient
    x0 : array_like (n,)
    step : float > 0
    n_steps : int >= 1
    schedule : {"harmonic", "sqrt", "constant"}
    charges, f, blowup, record_every
        As in :func:`gradient_descent`.

    Returns
    -------
    FlowResult
        ``t`` holds the cumulative step sums ``Σ_{j<k} η_j``.

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.symmetry import conserved_quantities
    >>> sub = lambda v: np.sign(v[0] * v[1] - 1.0) * np.array([v[1], v[0]])
    >>> Q = conserved_quantities(np.diag([1.0, -1.0]))
    >>> res = subgradient_descent(sub, [3.0, 0.1], 0.05, 2000, charges=Q,
    ...                           f=lambda v: abs(v[0] * v[1] - 1.0))
    >>> bool(res.f_values[-1] < 1e-3), bool(res.max_rel_drift < 1e-2)
    (True, True)
    """
    check_callable(subgrad, "subgrad")
    x0, eta, n_steps, record_every = _descent_setup(x0, step, n_steps, record_every)
    if schedule == "constant":
        steps = lambda k: eta  # noqa: E731
    elif schedule == "sqrt":
        steps = lambda k: eta / np.sqrt(k + 1.0)  # noqa: E731
    elif schedule == "harmonic":
        steps = lambda k: eta / (k + 1.0)  # noqa: E731
    else:
        raise ValueError(f"schedule must be 'harmonic', 'sqrt' or 'constant', got {schedule!r}")
    charges, quad = _charges(charges, x0.size)
    T, X, nfev, msg, div, _ = _iterate(subgrad, "subgrad", x0, steps, n_steps, gtol=0.0,
                                       blowup=blowup, record_every=record_every)
    res = FlowResult(t=T, x=X, nfev=nfev, message=msg, success=not div, diverged=div,
                     extra={"step": eta, "schedule": schedule})
    return _finish(res, charges, quad, f)


# ----------------------------------------------------------------------------
# flow of the conserved quantities
# ----------------------------------------------------------------------------

def conserved_flow(charges, x0, t_span, *, t_eval=None, rtol=1e-10, atol=1e-12, method="LSODA",
                   f=None, blowup=None):
    r"""Gradient flow of ``h(x) = ½ Σ_i Q_i(x)²`` for quadratic charges.

    ``x' = -∇h(x) = -Σ_i Q_i(x) S_i x``.  Each ``S_i x`` is the velocity of the
    one-parameter symmetry ``e^{t S_i}``, so the flow stays on the symmetry
    orbit of ``x0`` and ``f`` is constant along it (up to integration error,
    reported in ``extra["f_drift"]`` when ``f`` is given).  ``h`` decreases
    (``h' = -||∇h||²``) and the flow converges to a balanced point, where all
    charges vanish; for matrix factorization,
    ``(X, Y)' = -(XC, -YC)/(2(m+n))`` with ``C = XᵀX - YᵀY`` and a
    Frobenius-orthonormal basis of charges, i.e. the flow ``X' = -XC, Y' = YC``
    run at a constant slower speed.

    Parameters
    ----------
    charges : ConservedQuantities
        From :func:`flatlib.symmetry.conserved_quantities` (needs ``grad_h``).
    x0, t_span, t_eval, rtol, atol, method, f, blowup
        As in :func:`gradient_flow`.

    Returns
    -------
    FlowResult
        With ``charges``, ``drift``, ``h_values`` and, if ``f`` is given,
        ``f_values`` and ``extra["f_drift"] = max_t |f(x(t)) - f(x0)|``.

    Examples
    --------
    Balancing ``(3, 0.1)`` on the orbit ``xy = 0.3`` of ``½(xy - 1)²``:

    >>> import numpy as np
    >>> from flatlib.symmetry import conserved_quantities
    >>> Q = conserved_quantities(np.diag([1.0, -1.0]))
    >>> res = conserved_flow(Q, [3.0, 0.1], (0.0, 200.0))
    >>> x, y = res.x_final
    >>> round(float(x * y), 6), round(float(abs(x - y)), 3)
    (0.3, 0.0)
    """
    check_callable(charges, "charges")
    if not (hasattr(charges, "grad_h") and hasattr(charges, "matrices")):
        raise TypeError("charges must be a ConservedQuantities object "
                        "(see flatlib.symmetry.conserved_quantities)")
    x0, t0, t1, te, rtol, atol, method, b = _flow_setup(x0, t_span, t_eval, rtol, atol, method, blowup,
                                                        n=charges.n)
    G = vector_fn(charges.grad_h, x0.size, "charges.grad_h", point="x0")
    _at_start(G, x0)

    def rhs(t, y):
        return -G(y)

    T, X, msg, ok, div, _, _ = _integrate(rhs, x0, t0, t1, te, rtol, atol, method, b)
    res = FlowResult(t=T, x=X, nfev=G.ncalls, message=msg, success=ok, diverged=div)
    _finish(res, charges, True, f)
    res.h_values = 0.5 * np.sum(res.charges ** 2, axis=1)
    if f is not None:
        res.extra["f_drift"] = float(np.max(np.abs(res.f_values - res.f_values[0])))
    return res
