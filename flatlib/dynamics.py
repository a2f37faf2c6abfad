r"""Dynamics that look for flat minima: normalized gradient descent, sharpness-aware
minimization (SAM, full batch or one sample at a time), and a warm-started tracker of the
top Hessian eigenvalue along a trajectory.

Every optimizer returns the :class:`flatlib.flows.FlowResult` of
:func:`flatlib.flows.gradient_descent` (recorded iterates ``x``, times ``t``, optional
charges and values), so that plain GD, the gradient flow and the methods below are
compared with the same code.

Mathematics
-----------
* **Normalized gradient descent** ``x_{k+1} = x_k - α_k ∇f(x_k)/‖∇f(x_k)‖``: every step
  has length ``α_k``; ``t`` records the path length ``Σ_{j<k} α_j``.  It is GD with the
  step ``η_k = α_k/‖∇f(x_k)‖``, which grows without bound near a minimum, so the iterates
  never settle at a minimum for a constant ``α``: they bounce across the valley with
  amplitude ``~α``.  On ``f = ½(xy - 1)²`` the GD identity
  ``Δ(x² - y²) = -η²r²(x² - y²)`` (``r = xy - 1``, see :mod:`flatlib.flows`) becomes,
  with ``η = α/(|r| ‖(x, y)‖)``,

  .. math:: x_{k+1}^2 - y_{k+1}^2 = \Bigl(1 - \frac{α_k^2}{x_k^2 + y_k^2}\Bigr)(x_k^2 - y_k^2),

  independent of the residual: the imbalance tends to 0 (the balanced, flattest minimum)
  when ``Σ α_k² = ∞`` and the iterates stay bounded, and stays away from 0 when
  ``Σ α_k² < ∞``.  Josz (*Implicit regularization of normalized gradient descent*,
  arXiv:2602.08177) proposes normalized GD with slowly diminishing steps as a method that
  finds flat minima; this identity is the scalar instance, derived here.
* **SAM** (Foret et al., ICLR 2021) ``x_{k+1} = x_k - η ∇f(x_k + e_k)`` with the ascent
  step ``e_k = ρ ∇f(x_k)/‖∇f(x_k)‖`` (``inner="one_step"``, the method as published) or
  ``e_k ∈ argmax_{‖e‖<=ρ} f(x_k + e)`` (``inner="exact"``, by
  :func:`flatlib.max_variation` with ``side="up"``: the SAM sharpness itself).
  On ``f = ½λx²`` (one dimension) both give ``x⁺ = (1 - ηλ)x - ηλρ sign(x)``, which ends
  in the 2-cycle ``±ηλρ/(2 - ηλ)`` for ``0 < ηλ < 2`` (Bartlett, Long & Bousquet, JMLR
  2023: SAM bounces across the valley).  Wen, Ma & Li (ICLR 2023): near a manifold of
  minima, full-batch SAM decreases ``λ_max`` of the Hessian and batch-size-1 SAM
  (:func:`stochastic_sam`) its trace.
* **Tracking** ``λ_max(∇²f(x_k))`` along a trajectory (:func:`track_lambda_max`): Lanczos
  (ARPACK ``eigsh``) at each recorded point, started from the previous point's top
  eigenvector (plus a small random component, so that the start is never exactly an
  eigenvector of the new operator).  Consecutive Hessians differ little, so the warm start
  needs fewer Hessian-vector products than a random start (``n_hvp`` records them):
  15–20% fewer along notebook 08's GD runs (``benchmarks/bench_lambda_tracker.py``; ARPACK
  builds a full Lanczos basis before its first convergence test, which caps the gain;
  smaller bases and LOBPCG were measured there and needed more products).

Bad input raises ``ValueError``/``TypeError`` naming the argument; a run whose norm exceeds
``blowup`` (or that produces non-finite values) stops with ``diverged=True`` and keeps only
the finite iterates.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla

from ._validate import (as_nonneg, as_point, as_positive_int, as_rng, check_callable, scalar_fn,
                        vector_fn)
from .flows import FlowResult, _blowup, _charges, _finish

__all__ = [
    "step_schedule",
    "normalized_gradient_descent",
    "sam",
    "stochastic_sam",
    "track_lambda_max",
    "LambdaMaxTrack",
]


# ----------------------------------------------------------------------------
# step schedules
# ----------------------------------------------------------------------------

def step_schedule(step, schedule="constant"):
    r"""The step sizes ``α_k`` (``k = 0, 1, ...``) as a function of ``k``.

    Parameters
    ----------
    step : float > 0
        ``α_0``.
    schedule : "constant", float ``p >= 0``, or callable
        ``"constant"``: ``α_k = α_0``; a number ``p``: ``α_k = α_0 / (k + 1)^p``
        (``p = 0.5`` and ``p = 1`` are the "sqrt" and "harmonic" schedules;
        ``Σ α_k² = ∞`` iff ``p <= 1/2``); a callable ``k -> α_k`` is used as is (its values
        are checked to be finite and > 0 when called).

    Returns
    -------
    callable
        ``k -> α_k`` (a float).

    Examples
    --------
    >>> a = step_schedule(0.4, 0.5)
    >>> [round(a(k), 4) for k in range(4)]
    [0.4, 0.2828, 0.2309, 0.2]
    >>> step_schedule(0.1)(1000)
    0.1
    """
    a0 = as_nonneg(step, "step", strictly_positive=True)
    if np.ndim(a0) != 0:
        raise ValueError("step must be a positive scalar")
    if isinstance(schedule, str):
        if schedule != "constant":
            raise ValueError(f"schedule must be 'constant', a power p >= 0 or a callable, got {schedule!r}")
        return lambda k: a0
    if callable(schedule):
        def checked(k):
            v = schedule(k)
            try:
                v = float(v)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"schedule({k}) must return a real number, got {type(v).__name__}") from exc
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"schedule({k}) must return a finite step > 0, got {v}")
            return v
        return checked
    p = as_nonneg(schedule, "schedule")
    if np.ndim(p) != 0:
        raise ValueError("schedule must be 'constant', a scalar power p >= 0 or a callable")
    return lambda k: a0 / (k + 1.0) ** p


def _schedule_name(schedule):
    if isinstance(schedule, str):
        return schedule
    if callable(schedule):
        return "callable"
    return f"power {float(schedule):g}"


# ----------------------------------------------------------------------------
# the shared loop
# ----------------------------------------------------------------------------

def _run(update, x0, n_steps, *, blowup, record_every):
    """Iterate ``x, dt, done, msg = update(k, x)`` with divergence detection.

    ``update`` returns the new point, the time increment, and (``done``, ``msg``) when
    the iteration must stop at ``x`` (converged).  Returns (T, X, msg, diverged, converged)."""
    b = _blowup(blowup, x0)
    x = x0.copy()
    T, X = [0.0], [x0.copy()]
    t = 0.0
    diverged = converged = False
    msg = f"completed {n_steps} steps"
    last_recorded = True
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            x_new, dt, done, why = update(k, x)
            if done:
                converged = True
                msg = why
                break
            if x_new is None or not np.isfinite(x_new).all() or np.linalg.norm(x_new) > b:
                diverged = True
                msg = (f"diverged at step {k + 1}: ||x|| exceeded blowup={b:.3g} or became non-finite; "
                       "trajectory truncated")
                break
            x = x_new
            t += dt
            last_recorded = (k + 1) % record_every == 0
            if last_recorded:
                T.append(t)
                X.append(x.copy())
    if not last_recorded:
        T.append(t)
        X.append(x.copy())
    return np.array(T), np.array(X), msg, diverged, converged


class _Grad:
    """A gradient oracle that checks shape and finiteness of its values, except for
    values computed far from the start (there non-finite values mean divergence, which the
    loop reports)."""

    def __init__(self, grad, n, name):
        self.v = vector_fn(grad, n, name)
        self.name = name
        self.n = n

    def __call__(self, y, strict=False):
        g = np.asarray(self.v.g(y), dtype=float)
        self.v.ncalls += 1
        if g.shape != (self.n,):
            g = g.reshape(-1) if g.size == self.n else g
            if g.shape != (self.n,):
                raise ValueError(f"{self.name} must return an array of shape ({self.n},), got {np.shape(g)}")
        if strict and not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name} returned non-finite values at the point "
                             f"{np.array2string(np.asarray(y), precision=4, threshold=6)}")
        return g

    @property
    def ncalls(self):
        return self.v.ncalls


def _common(x0, n_steps, record_every, gtol):
    x0 = as_point(x0, "x0")
    n_steps = as_positive_int(n_steps, "n_steps")
    record_every = as_positive_int(record_every, "record_every")
    gtol = as_nonneg(gtol, "gtol")
    if np.ndim(gtol) != 0:
        raise ValueError("gtol must be a scalar >= 0")
    return x0, n_steps, record_every, gtol


# ----------------------------------------------------------------------------
# normalized gradient descent
# ----------------------------------------------------------------------------

def normalized_gradient_descent(grad, x0, step, n_steps, *, schedule="constant", charges=None, f=None,
                                gtol=0.0, blowup=None, record_every=1):
    r"""Normalized gradient descent ``x_{k+1} = x_k - α_k ∇f(x_k) / ‖∇f(x_k)‖``.

    Each step has length ``α_k`` whatever the size of the gradient; ``t`` records the
    path length ``Σ_{j<k} α_j``.  The run stops (``converged=True``) at a point where
    ``‖∇f‖ <= gtol``, in particular where the gradient vanishes exactly (the direction is
    undefined there).  With a constant ``α`` the iterates end oscillating within
    ``~α`` of a minimum; with ``α_k -> 0`` and ``Σ α_k = ∞`` they can converge.

    Parameters
    ----------
    grad : callable ``grad(x) -> (n,)``
    x0 : array_like (n,)
    step : float > 0
        ``α_0``.
    n_steps : int >= 1
    schedule : "constant", float p >= 0 or callable
        See :func:`step_schedule` (``α_k = α_0/(k+1)^p`` for a number ``p``).
    charges, f : callable, optional
        As in :func:`flatlib.flows.gradient_descent`.
    gtol : float >= 0
        Stop when ``‖∇f(x_k)‖ <= gtol`` (a zero gradient always stops the run).
    blowup : float, optional
        Divergence threshold on ``‖x_k‖`` (default ``1e8 · max(1, ‖x_0‖)``).
    record_every : int
        Keep every ``record_every``-th iterate (and the last one).

    Returns
    -------
    FlowResult
        ``extra`` holds ``step``, ``schedule`` and ``step_sizes`` (the ``α_k`` used).

    Examples
    --------
    On ``f(x) = ½x²`` (1-D) normalized GD with constant step ``α`` moves by ``α``
    towards 0 until it overshoots, then alternates between two points ``α`` apart
    (from ``2.3`` with ``α = 1``: ``1.3, 0.3, -0.7, 0.3, -0.7, ...``):

    >>> res = normalized_gradient_descent(lambda x: x, [2.3], 1.0, 6)
    >>> [round(float(v), 10) for v in res.x[:, 0]]
    [2.3, 1.3, 0.3, -0.7, 0.3, -0.7, 0.3]
    >>> round(float(res.t[-1]), 10)                  # path length 6 α
    6.0

    On ``½(xy - 1)²`` each step multiplies ``x² - y²`` by ``1 - α²/(x² + y²)``:

    >>> import numpy as np
    >>> g = lambda v: (v[0] * v[1] - 1.0) * np.array([v[1], v[0]])
    >>> res = normalized_gradient_descent(g, [3.0, 0.1], 0.2, 1)
    >>> x0, x1 = res.x
    >>> q = lambda v: v[0] ** 2 - v[1] ** 2
    >>> bool(abs(q(x1) - (1 - 0.2 ** 2 / (x0 @ x0)) * q(x0)) < 1e-12)
    True
    """
    check_callable(grad, "grad")
    x0, n_steps, record_every, gtol = _common(x0, n_steps, record_every, gtol)
    alpha = step_schedule(step, schedule)
    charges, quad = _charges(charges, x0.size)
    G = _Grad(grad, x0.size, "grad")
    G(x0, strict=True)
    used = []

    def update(k, x):
        g = G(x, strict=k == 0)
        gn = float(np.linalg.norm(g))
        if not np.isfinite(gn):
            return None, 0.0, False, ""
        if gn <= gtol or gn == 0.0:
            return x, 0.0, True, f"converged: ||grad|| = {gn:.3g} <= gtol={gtol:g} after {k} steps"
        a = alpha(k)
        used.append(a)
        return x - (a / gn) * g, a, False, ""

    T, X, msg, div, conv = _run(update, x0, n_steps, blowup=blowup, record_every=record_every)
    res = FlowResult(t=T, x=X, nfev=G.ncalls, message=msg, success=not div, diverged=div, converged=conv,
                     extra={"step": float(alpha(0)), "schedule": _schedule_name(schedule),
                            "step_sizes": np.array(used)})
    return _finish(res, charges, quad, f)


# ----------------------------------------------------------------------------
# SAM
# ----------------------------------------------------------------------------

def _exact_ascent(F, G, x, rho, n_starts, rng, tol, max_iter):
    from .profiles import max_variation

    mv = max_variation(F, x, rho, grad=G, side="up", n_starts=n_starts, rng=rng, tol=tol, max_iter=max_iter,
                       rtol=None)
    return np.asarray(mv.argmax, dtype=float), mv.nfev, mv.ngev


def sam(grad, x0, step, rho, n_steps, *, inner="one_step", f=None, n_starts=2, rng=None, inner_tol=1e-8,
        inner_max_iter=100, charges=None, gtol=0.0, blowup=None, record_every=1):
    r"""Sharpness-aware minimization ``x_{k+1} = x_k - η ∇f(x_k + e_k)``, ``‖e_k‖ <= ρ``.

    ``inner="one_step"``: ``e_k = ρ ∇f(x_k)/‖∇f(x_k)‖`` (one normalized ascent step, the
    method of Foret et al. 2021; ``e_k = 0`` where the gradient vanishes).
    ``inner="exact"``: ``x_k + e_k`` is the maximizer of ``f`` over the ball
    ``B(x_k, ρ)`` found by :func:`flatlib.max_variation` (``side="up"``; a local search
    from the gradient direction and ``n_starts`` random starts, seeded by ``rng``), i.e.
    the point realizing the SAM sharpness ``max_{‖e‖<=ρ} f(x_k + e) - f(x_k)``.

    Parameters
    ----------
    grad : callable ``grad(x) -> (n,)``
    x0 : array_like (n,)
    step : float > 0
        ``η``.
    rho : float > 0
        Radius of the ascent ball.
    n_steps : int >= 1
    inner : {"one_step", "exact"}
    f : callable, optional
        The loss; required for ``inner="exact"``; its values along the run are recorded.
    n_starts, rng, inner_tol, inner_max_iter
        Random starts, seed, tolerance and iteration cap of the exact inner maximization.
    charges : callable, optional
        As in :func:`flatlib.flows.gradient_descent`.
    gtol : float >= 0
        Stop when ``‖∇f(x_k)‖ <= gtol`` (default 0: never, except at an exact zero with
        ``inner="one_step"``, where SAM does not move).
    blowup : float, optional
    record_every : int

    Returns
    -------
    FlowResult
        ``t = k η``; ``extra`` holds ``step``, ``rho``, ``inner`` and ``ascent_norms``
        (``‖e_k‖`` at each step).

    Examples
    --------
    On ``f = ½λx²`` with ``ηλ = 0.5`` SAM ends in the 2-cycle ``±ηλρ/(2 - ηλ) = ±ρ/3``
    (it bounces across the minimum instead of converging):

    >>> import numpy as np
    >>> res = sam(lambda x: 2.0 * x, [1.0], 0.25, 0.3, 200)
    >>> [round(float(v), 10) for v in res.x[-2:, 0]]
    [-0.1, 0.1]
    >>> ex = sam(lambda x: 2.0 * x, [1.0], 0.25, 0.3, 50, inner="exact", f=lambda x: float(x @ x))
    >>> round(abs(float(ex.x[-1, 0])), 8)
    0.1
    """
    check_callable(grad, "grad")
    x0, n_steps, record_every, gtol = _common(x0, n_steps, record_every, gtol)
    eta = as_nonneg(step, "step", strictly_positive=True)
    rho = as_nonneg(rho, "rho", strictly_positive=True)
    if np.ndim(eta) != 0 or np.ndim(rho) != 0:
        raise ValueError("step and rho must be positive scalars")
    if inner not in ("one_step", "exact"):
        raise ValueError(f"inner must be 'one_step' or 'exact', got {inner!r}")
    charges, quad = _charges(charges, x0.size)
    G = _Grad(grad, x0.size, "grad")
    G(x0, strict=True)
    if inner == "exact":
        if f is None:
            raise TypeError("f is required for inner='exact' (the ascent maximizes f over the ball)")
        F = scalar_fn(f, "f")
        F(x0)
        gen = as_rng(rng)
        n_starts = int(n_starts)
        if n_starts < 0:
            raise ValueError(f"n_starts must be >= 0, got {n_starts}")
    norms = []

    def update(k, x):
        g = G(x)
        gn = float(np.linalg.norm(g))
        if not np.isfinite(gn):
            return None, 0.0, False, ""
        if gn <= gtol and (gtol > 0 or inner == "one_step"):
            return x, 0.0, True, f"converged: ||grad|| = {gn:.3g} <= gtol={gtol:g} after {k} steps"
        if inner == "one_step":
            y = x + (rho / gn) * g
        else:
            y, _, _ = _exact_ascent(F, lambda v: G(v, strict=True), x, rho, n_starts,
                                    int(gen.integers(2 ** 31)), inner_tol, inner_max_iter)
        norms.append(float(np.linalg.norm(y - x)))
        return x - eta * G(y), eta, False, ""

    T, X, msg, div, conv = _run(update, x0, n_steps, blowup=blowup, record_every=record_every)
    res = FlowResult(t=T, x=X, nfev=G.ncalls, message=msg, success=not div, diverged=div, converged=conv,
                     extra={"step": eta, "rho": rho, "inner": inner, "ascent_norms": np.array(norms)})
    return _finish(res, charges, quad, f)


def stochastic_sam(sample_grad, n_samples, x0, step, rho, n_steps, *, rng=None, f=None, charges=None,
                   blowup=None, record_every=1):
    r"""Batch-size-1 SAM on ``f = Σ_i f_i``: at each step draw ``i`` uniformly from
    ``{0, ..., n_samples - 1}`` and set

    .. math:: x_{k+1} = x_k - η ∇f_i\Bigl(x_k + ρ\,\frac{∇f_i(x_k)}{\|∇f_i(x_k)\|}\Bigr)

    (no ascent where ``∇f_i(x_k) = 0``).  Wen, Ma & Li (ICLR 2023) show that near a
    manifold of interpolating minima this "1-SAM" decreases the *trace* of the Hessian of
    the full loss, while full-batch SAM (:func:`sam`) decreases its largest eigenvalue.

    Parameters
    ----------
    sample_grad : callable ``sample_grad(x, i) -> (n,)``
        Gradient of the ``i``-th sample loss.
    n_samples : int >= 1
    x0 : array_like (n,)
    step, rho : float > 0
        ``η`` and ``ρ``.
    n_steps : int >= 1
    rng : None, int or numpy.random.Generator
        Source of the sample indices (default: fixed seed 0).
    f, charges : callable, optional
        Full loss and charges to record along the run.
    blowup : float, optional
    record_every : int

    Returns
    -------
    FlowResult
        ``t = k η``; ``extra`` holds ``step``, ``rho``, ``n_samples``.

    Examples
    --------
    Two samples ``f_i(x) = ½(x - c_i)²`` with ``c = (-1, 1)``: 1-SAM keeps bouncing
    between the two sample minima but stays in ``[-1 - ρ, 1 + ρ]``:

    >>> import numpy as np
    >>> c = np.array([-1.0, 1.0])
    >>> res = stochastic_sam(lambda x, i: x - c[i], 2, [5.0], 0.5, 0.1, 200, rng=0)
    >>> bool(np.all(np.abs(res.x[50:, 0]) <= 1.1))
    True
    """
    check_callable(sample_grad, "sample_grad")
    x0, n_steps, record_every, _ = _common(x0, n_steps, record_every, 0.0)
    n_samples = as_positive_int(n_samples, "n_samples")
    eta = as_nonneg(step, "step", strictly_positive=True)
    rho = as_nonneg(rho, "rho", strictly_positive=True)
    if np.ndim(eta) != 0 or np.ndim(rho) != 0:
        raise ValueError("step and rho must be positive scalars")
    charges, quad = _charges(charges, x0.size)
    gen = as_rng(rng)
    idx = gen.integers(0, n_samples, size=n_steps)
    n = x0.size
    ncalls = [0]

    def SG(v, i):
        ncalls[0] += 1
        g = np.asarray(sample_grad(v, i), dtype=float)
        if g.shape != (n,):
            raise ValueError(f"sample_grad must return an array of shape ({n},), got {g.shape}")
        return g

    for i in range(min(n_samples, 3)):
        if not np.all(np.isfinite(SG(x0, i))):
            raise ValueError(f"sample_grad(x0, {i}) returned non-finite values")

    def update(k, x):
        i = int(idx[k])
        g = SG(x, i)
        gn = float(np.linalg.norm(g))
        if not np.isfinite(gn):
            return None, 0.0, False, ""
        y = x + (rho / gn) * g if gn > 0 else x
        return x - eta * SG(y, i), eta, False, ""

    T, X, msg, div, conv = _run(update, x0, n_steps, blowup=blowup, record_every=record_every)
    res = FlowResult(t=T, x=X, nfev=ncalls[0], message=msg, success=not div, diverged=div, converged=conv,
                     extra={"step": eta, "rho": rho, "n_samples": n_samples})
    return _finish(res, charges, quad, f)


# ----------------------------------------------------------------------------
# lambda_max along a trajectory
# ----------------------------------------------------------------------------

@dataclass
class LambdaMaxTrack:
    """Top Hessian eigenvalue at each point of a trajectory.

    Attributes
    ----------
    values : ndarray (T,)
        ``λ_max(∇²f(x_k))``.
    eigenvectors : ndarray (T, n)
        Unit top eigenvectors.
    n_hvp : ndarray (T,) of int
        Hessian-vector products spent at each point (0 on the dense path with ``hess``).
    method : str
        ``"lanczos"`` (ARPACK), ``"assembled"`` (small ``n``: the Hessian is built from
        ``n`` products) or ``"dense"`` (``hess`` given).
    warm_start : bool

    Examples
    --------
    >>> import numpy as np
    >>> tr = track_lambda_max(lambda x, v: x[0] * v, np.array([[1.0, 0.0], [2.0, 0.0]]))
    >>> tr.values.tolist(), tr.method, tr.total_hvp
    ([1.0, 2.0], 'assembled', 4)
    """

    values: np.ndarray
    eigenvectors: np.ndarray = field(repr=False)
    n_hvp: np.ndarray
    method: str
    warm_start: bool

    @property
    def total_hvp(self):
        """Hessian-vector products over the whole trajectory."""
        return int(np.sum(self.n_hvp))


def track_lambda_max(hvp, xs, *, tol=1e-8, rng=None, warm_start=True, mix=1e-2, hess=None, assemble_max_n=16,
                     ncv=None, maxiter=None):
    r"""``λ_max(∇²f(x_k))`` at every point ``x_k`` of a trajectory, by warm-started Lanczos.

    At ``x_0`` ARPACK's ``eigsh`` (``which="LA"``: largest *algebraic* eigenvalue, not the
    largest magnitude) starts from a random vector drawn from ``rng``; at ``x_k`` it starts
    from ``v_{k-1} + mix · z`` with ``v_{k-1}`` the previous unit eigenvector and ``z`` a
    random unit vector (so the start is never exactly an eigenvector, which would confine
    Lanczos to a one-dimensional Krylov space).  ``warm_start=False`` starts every point at
    random (the baseline the warm start is measured against in ``benchmarks/``).

    Parameters
    ----------
    hvp : callable ``hvp(x, v) -> ∇²f(x) v``
    xs : array_like (T, n)
        The points, e.g. ``FlowResult.x``.
    tol : float >= 0
        Relative accuracy requested from ARPACK.
    rng : None, int or numpy.random.Generator
        Source of the random start and of the mixing vectors.
    warm_start : bool
    mix : float >= 0
        Weight of the random component of a warm start.
    hess : callable, optional
        ``hess(x) -> (n, n)``: dense eigendecomposition instead (small problems).
    assemble_max_n : int
        Without ``hess``, problems with ``n <= assemble_max_n`` are solved densely from
        ``n`` products (ARPACK needs ``n >= 3`` anyway).
    ncv, maxiter : int, optional
        Passed to ``eigsh`` (Lanczos basis size and iteration cap).

    Returns
    -------
    LambdaMaxTrack

    Examples
    --------
    ``H(s) = diag(1, 2, ..., 50) + s e_1 e_1ᵀ`` along ``s = 0, 10, ..., 100``: the top
    eigenvalue is ``max(50, 1 + s)``:

    >>> import numpy as np
    >>> D = np.arange(1.0, 51.0)
    >>> def hvp(x, v):
    ...     w = D * v
    ...     w[0] += x[0] * v[0]
    ...     return w
    >>> xs = np.zeros((11, 50)); xs[:, 0] = np.arange(0.0, 101.0, 10.0)
    >>> tr = track_lambda_max(hvp, xs)
    >>> np.round(tr.values, 8).tolist()
    [50.0, 50.0, 50.0, 50.0, 50.0, 51.0, 61.0, 71.0, 81.0, 91.0, 101.0]
    >>> tr.method
    'lanczos'
    """
    check_callable(hvp, "hvp")
    try:
        X = np.array(xs, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError("xs must be a 2-D array of points (T, n)") from exc
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"xs must be a non-empty 2-D array (T, n), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("xs must be finite")
    if isinstance(tol, (bool, np.bool_)) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    mix = as_nonneg(mix, "mix")
    gen = as_rng(rng)
    T, n = X.shape
    values = np.empty(T)
    vecs = np.empty((T, n))
    counts = np.zeros(T, dtype=np.int64)
    if hess is not None or n <= max(2, int(assemble_max_n)):
        method = "dense" if hess is not None else "assembled"
        eye = np.eye(n)
        for k, x in enumerate(X):
            if hess is not None:
                check_callable(hess, "hess")
                H = np.asarray(hess(x), dtype=float)
                if H.shape != (n, n) or not np.all(np.isfinite(H)):
                    raise ValueError(f"hess must return a finite ({n}, {n}) array")
            else:
                op = vector_fn(lambda v, x=x: hvp(x, v), n, "hvp")
                H = np.column_stack([op(eye[:, i]) for i in range(n)])
                counts[k] = n
            w, V = np.linalg.eigh(0.5 * (H + H.T))
            values[k], vecs[k] = w[-1], V[:, -1]
        return LambdaMaxTrack(values, vecs, counts, method, bool(warm_start))

    v_prev = None
    for k, x in enumerate(X):
        op = vector_fn(lambda v, x=x: hvp(x, v), n, "hvp")
        A = spla.LinearOperator((n, n), matvec=lambda v, op=op: op(np.ravel(v)), dtype=float)
        z = gen.standard_normal(n)
        z /= np.linalg.norm(z)
        v0 = z if (v_prev is None or not warm_start) else v_prev + mix * z
        try:
            w, V = spla.eigsh(A, k=1, which="LA", v0=v0, tol=tol, ncv=ncv,
                              maxiter=maxiter if maxiter is not None else max(1000, 10 * n))
        except spla.ArpackNoConvergence as exc:  # pragma: no cover - depends on the spectrum
            raise RuntimeError(f"Lanczos did not converge at point {k} after {op.ncalls} Hessian-vector "
                               "products; increase maxiter or tol") from exc
        values[k] = float(w[0])
        v_prev = V[:, 0] / np.linalg.norm(V[:, 0])
        vecs[k] = v_prev
        counts[k] = op.ncalls
    return LambdaMaxTrack(values, vecs, counts, "lanczos", bool(warm_start))
