"""Hessian spectral quantities from Hessian-vector products.

Classical sharpness measures are spectral: the largest eigenvalue
``λ_max(∇²f(x))`` and the trace ``tr ∇²f(x)``.  At a critical point the
maximal variation satisfies ``f°(x, r) = ½ ||∇²f(x)||₂ r² + o(r²)``, and at a
local minimum ``||∇²f(x)||₂ = λ_max``; this module computes that constant
without ever forming the Hessian when ``n`` is large.

Conventions
-----------
* The Hessian comes from any of (first that applies):

  - ``hvp=`` (or a first argument of *two* arguments, the historical form
    ``hessian_lambda_max(hvp, x)``): ``hvp(x, v)`` returns ``∇²f(x) v`` for 1-D
    float arrays ``x`` and ``v`` of length ``n``;
  - ``f`` with ``grad=``: products by central differences of the gradient,
    ``(∇f(x + t v) - ∇f(x - t v)) / (2t)`` (error ``O(t²)``, about ``1e-10``);
  - ``f`` with ``hess=``: the dense Hessian ``hess(x)``;
  - ``f`` alone: central differences of central-difference gradients (``4n``
    evaluations of ``f`` per product, accuracy about ``1e-6`` relative to the
    scale of ``f``), with a :class:`flatlib.profiles.FiniteDifferenceWarning`
    above 50 dimensions, or a ``TypeError`` with
    ``allow_finite_differences=False``; the same rule as
    :func:`flatlib.max_variation`.

  A function of one argument passed as ``hvp=`` (``f`` where a product is
  expected) is refused up front with a ``TypeError`` that says so. The Hessian
  is assumed symmetric.
* ``λ_max`` is the largest **algebraic** eigenvalue (``which="LA"``), not the
  eigenvalue of largest magnitude: at a saddle point with a very negative
  direction the two differ (a common mistake in sharpness tooling).
* Randomness (Lanczos starting vector, Hutchinson probes) comes from ``rng``:
  ``None`` means the fixed seed ``0`` so that results are reproducible, an
  ``int`` is a seed, a :class:`numpy.random.Generator` is used as is.

How the eigenvalue is computed (the switch)
-------------------------------------------
1. ``hess`` given and ``n <= dense_max_n`` (default 500): dense
   ``numpy.linalg.eigh`` of the symmetrized ``hess(x)`` (exact to rounding).
2. otherwise ``n <= 2``, or ``hess`` is not given and ``n <= assemble_max_n``
   (default 16): the Hessian is assembled from ``n`` products ``hvp(x, e_i)``,
   symmetrized, and diagonalized densely.
3. otherwise: implicitly restarted Lanczos (ARPACK, ``scipy.sparse.linalg.eigsh``,
   ``k=1``) on the :class:`~scipy.sparse.linalg.LinearOperator`
   ``v -> hvp(x, v)``, with starting vector ``v0`` drawn from ``rng``.
   ``tol`` is ARPACK's relative accuracy for the Ritz value.
"""
from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla

from ._results import ScalarResult
from ._validate import (NonFiniteError, as_bool, as_int, as_point, as_positive_int, as_rng,
                        as_scalar, check_callable, real_scalar, returned_floats, vector_fn)

__all__ = [
    "EigenResult",
    "TraceResult",
    "hessian_lambda_max",
    "hessian_lambda_min",
    "hessian_trace",
    "hessian_operator",
    "resolve_rng",
]

DEFAULT_SEED = 0
#: Largest n for which an ARPACK breakdown falls back to a dense eigensolve.
ARPACK_FALLBACK_MAX_N = 2000
#: Without grad or hvp, products by differences of differences warn above this dimension.
FD_WARN_DIM = 50
_MAX_SAMPLES = 100_000_000


def resolve_rng(rng, name="rng"):
    """Return a :class:`numpy.random.Generator` from ``None | int | Generator``.

    ``None`` gives ``numpy.random.default_rng(0)`` (a *fixed* seed, so that
    every flatlib computation is reproducible by default).

    Examples
    --------
    >>> g = resolve_rng(None)
    >>> round(float(g.standard_normal()), 6) == round(float(resolve_rng(0).standard_normal()), 6)
    True
    """
    return as_rng(rng, name)


@dataclass(frozen=True)
class EigenResult(ScalarResult):
    """An extreme Hessian eigenvalue.

    Behaves as its ``value`` in arithmetic and numpy: ``float(res)``, ``0.5 * res``,
    ``res / 2``, ``np.asarray(res)`` (see :mod:`flatlib._results`).

    Attributes
    ----------
    value : float
        The eigenvalue (``float(result)`` returns it).
    eigenvector : ndarray (n,)
        A unit eigenvector.
    n_hvp : int
        Number of Hessian-vector products used (0 for the dense ``hess`` path).
    method : str
        ``"dense"`` (``hess`` given), ``"assembled"`` (Hessian built from ``n``
        products) or ``"lanczos"`` (ARPACK).
    which : str
        ``"LA"`` (largest algebraic) or ``"SA"`` (smallest algebraic).
    """

    value: float
    eigenvector: np.ndarray = field(repr=False)
    n_hvp: int
    method: str
    which: str


@dataclass(frozen=True)
class TraceResult(ScalarResult):
    """Hessian trace (exact or Hutchinson estimate); behaves as its ``value`` in arithmetic.

    Attributes
    ----------
    value : float
        The trace or its estimate (``float(result)`` returns it).
    stderr : float
        Standard error of the estimate (``0.0`` when exact).
    n_hvp : int
        Number of Hessian-vector products used.
    method : str
        ``"exact"`` (sum of ``e_iᵀ H e_i``) or ``"hutchinson"`` (Rademacher probes).
    """

    value: float
    stderr: float
    n_hvp: int
    method: str


def _n_args(fn):
    """Number of required positional arguments of ``fn`` (``None`` if unknown: no signature,
    or ``*args``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    k = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            k += 1
    return k


def _fd_gradient(fw, n):
    """Central differences of ``f`` (step ``6e-6 max(1, |y_i|)``, ``2n`` evaluations)."""
    def g(y):
        h = 6e-6 * np.maximum(1.0, np.abs(y))
        out = np.empty(n)
        for i in range(n):
            e = np.zeros(n)
            e[i] = h[i]
            out[i] = (fw(y + e) - fw(y - e)) / (2.0 * h[i])
        return out
    return g


def _hvp_of_gradient(g, step):
    """``v -> (g(y + t v) - g(y - t v)) / (2t)`` with ``t = step max(1, |y|) / |v|``."""
    def hvp(y, v):
        nv = np.linalg.norm(v)
        if nv == 0.0:
            return np.zeros_like(v)
        t = step * max(1.0, float(np.linalg.norm(y))) / nv
        return (returned_floats(g(y + t * v), "grad") - returned_floats(g(y - t * v), "grad")) / (2.0 * t)
    return hvp


def hessian_operator(f, x, *, grad=None, hvp=None, hess=None, who="hessian_lambda_max",
                     allow_finite_differences=None):
    r"""The Hessian-vector product ``(x, v) -> ∇²f(x) v`` that the curvature functions use,
    from ``hvp=``, a first argument that is itself a product (two arguments), ``f`` with
    ``grad=`` or ``hess=``, or ``f`` alone (module docstring). Returns ``(hvp, how)``; the
    product returned checks what it computes (an array of ``n`` finite reals, else a
    ``ValueError``/``TypeError`` naming the function it comes from).

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda y: float(y[0] ** 2 + 3 * y[0] * y[1])
    >>> g = lambda y: np.array([2 * y[0] + 3 * y[1], 3 * y[0]])
    >>> hv, how = hessian_operator(f, np.zeros(2), grad=g)
    >>> np.round(hv(np.zeros(2), np.array([1.0, 0.0])), 8).tolist(), how
    ([2.0, 3.0], 'central differences of grad')
    >>> hessian_operator(None, np.zeros(2), hvp=f)
    Traceback (most recent call last):
    ...
    TypeError: hvp must be a function hvp(x, v) -> Hessian(x) @ v of two arguments; it takes one (is it f, the loss?): pass f as the first argument with grad= or hvp=
    """
    x = as_point(x, "x")
    H, how, name = _operator(f, x, grad, hvp, hess, who, allow_finite_differences)
    return _checked_product(H, x.size, name), how


def _checked_product(H, n, name):
    def product(y, v):
        out = returned_floats(H(y, v), name)
        if out.shape != (n,):
            if out.size != n:
                raise ValueError(f"{name} must give an array of shape ({n},), got shape {out.shape}")
            out = out.reshape(n)
        if not np.all(np.isfinite(out)):
            raise NonFiniteError(f"{name} returned non-finite values")
        return out
    return product


def _operator(f_, x, grad, hvp, hess, who, allow_finite_differences):
    if hvp is not None:
        check_callable(hvp, "hvp")
        if _n_args(hvp) == 1:
            raise TypeError("hvp must be a function hvp(x, v) -> Hessian(x) @ v of two arguments; "
                            "it takes one (is it f, the loss?): pass f as the first argument with "
                            "grad= or hvp=")
        if f_ is not None:
            check_callable(f_, "f")
        return hvp, "hvp", "hvp"
    if f_ is None:
        raise TypeError(f"{who} needs f (with grad=, hvp= or hess=, or alone) or an hvp "
                        f"(x, v) -> Hessian(x) @ v as its first argument, got None")
    if not callable(f_):
        raise TypeError(f"{who}: f (or hvp) must be callable, got {type(f_).__name__}")
    k = _n_args(f_)
    if k == 2:  # the historical form: the first argument is the product itself
        if grad is not None:
            raise TypeError(f"{who}: the first argument takes two arguments, so it is read as "
                            f"hvp(x, v), and grad= is then not used; pass f (one argument) with grad=")
        return f_, "hvp", "hvp"
    if k not in (1, None):
        raise TypeError(f"{who}: the first argument must be f(x) (one argument) or hvp(x, v) "
                        f"(two), it takes {k}")
    if grad is not None:
        check_callable(grad, "grad")
        return _hvp_of_gradient(grad, 1e-5), "central differences of grad", "grad"
    if hess is not None:
        check_callable(hess, "hess")
        return (lambda y, v: _hess_times(hess, y, v)), "hess", "hess"
    if k is None:  # no signature: one trial call tells f (a scalar) from a product
        try:
            v = f_(x)
        except TypeError:
            return f_, "hvp", "hvp"
        real_scalar(v, "f")
    n = x.size
    if allow_finite_differences is not None:
        allow_finite_differences = as_bool(allow_finite_differences, "allow_finite_differences")
    if allow_finite_differences is False:
        raise TypeError(f"{who}: f alone needs finite differences of finite differences; "
                        f"pass grad= or hvp= (allow_finite_differences=False)")
    if allow_finite_differences is None and n > FD_WARN_DIM:
        from .profiles import FiniteDifferenceWarning
        warnings.warn(f"{who}(f, x) without grad or hvp in n = {n} dimensions: every "
                      f"Hessian-vector product costs 4n = {4 * n} evaluations of f (differences of "
                      f"differences, accuracy about 1e-6). Pass grad= or hvp=, or "
                      f"allow_finite_differences=True to silence this warning.",
                      FiniteDifferenceWarning, stacklevel=4)
    from ._validate import scalar_fn
    fw = scalar_fn(f_, "f")
    return _hvp_of_gradient(_fd_gradient(fw, n), 3e-4), "differences of differences of f", "f"




def _hess_times(hess, y, v):
    Hm = returned_floats(hess(y), "hess")
    n = v.size
    if Hm.shape != (n, n):
        raise ValueError(f"hess must return an array of shape ({n}, {n}), got {Hm.shape}")
    return Hm @ v


def _prepare(hvp, x, n, grad=None, hvp_kw=None, hess=None, who="hessian_lambda_max",
             allow_finite_differences=None):
    x = as_point(x, "x")
    if n is None:
        n = x.shape[0]
    else:
        n = as_positive_int(n, "n")
        if n != x.shape[0]:
            raise ValueError(f"n must equal len(x) = {x.shape[0]}, got {n}")
    H, how, name = _operator(hvp, x, grad, hvp_kw, hess, who, allow_finite_differences)
    op = vector_fn(lambda v: H(x, v), n, name=name)
    return x, n, op


def _dense_from_hess(hess, x, n):
    check_callable(hess, "hess")
    H = returned_floats(hess(x), "hess")
    if H.shape != (n, n):
        raise ValueError(f"hess must return an array of shape ({n}, {n}), got {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError("hess returned non-finite entries")
    return 0.5 * H + 0.5 * H.T  # (= 0.5 (H + Hᵀ) bit for bit, without overflow)


def _assemble(op, n):
    eye = np.eye(n)
    H = np.column_stack([op(eye[:, i]) for i in range(n)])
    return 0.5 * H + 0.5 * H.T


def _extreme_eig(hvp, x, *, n, hess, tol, rng, which, dense_max_n, assemble_max_n, maxiter,
                 grad=None, hvp_kw=None, allow_finite_differences=None, who="hessian_lambda_max"):
    if which not in ("LA", "SA"):
        raise ValueError(f"which must be 'LA' or 'SA', got {which!r}")
    tol = as_scalar(tol, "tol", low=0.0)
    gen = resolve_rng(rng)
    dense_max_n = as_int(dense_max_n, "dense_max_n", low=0)
    assemble_max_n = as_int(assemble_max_n, "assemble_max_n", low=0)
    if maxiter is not None:
        maxiter = as_positive_int(maxiter, "maxiter")
    if hess is not None:
        check_callable(hess, "hess")
    x, n, op = _prepare(hvp, x, n, grad, hvp_kw, hess, who, allow_finite_differences)

    if hess is not None and n <= dense_max_n:
        H = _dense_from_hess(hess, x, n)
        method = "dense"
    elif n <= 2 or (hess is None and n <= assemble_max_n):
        H = _assemble(op, n)
        method = "assembled"
    else:
        H = None
        method = "lanczos"

    if H is not None:
        w, V = np.linalg.eigh(H)
        i = -1 if which == "LA" else 0
        return EigenResult(float(w[i]), V[:, i].copy(), op.ncalls, method, which)

    A = spla.LinearOperator((n, n), matvec=lambda v: op(np.ravel(v)), dtype=float)
    v0 = gen.standard_normal(n)
    if maxiter is None:
        maxiter = max(1000, 10 * n)
    try:
        w, V = spla.eigsh(A, k=1, which=which, v0=v0, tol=tol, maxiter=int(maxiter))
    except spla.ArpackNoConvergence as exc:  # maxiter too small for the spectrum
        if n <= ARPACK_FALLBACK_MAX_N:  # the right value anyway, from n more products
            H = _assemble(op, n)
            wd, Vd = np.linalg.eigh(H)
            i = -1 if which == "LA" else 0
            return EigenResult(float(wd[i]), Vd[:, i].copy(), op.ncalls, "assembled", which)
        raise RuntimeError(
            f"Lanczos (ARPACK) did not converge for which={which!r} after {op.ncalls} "
            f"Hessian-vector products; increase maxiter or tol") from exc
    except spla.ArpackError as exc:
        # ARPACK breaks down (error -9) when the Krylov space is {0}, i.e. the
        # Hessian is the zero operator.  Fall back to a dense computation for
        # moderate n, else accept the zero operator if H v0 = 0 exactly.
        if n <= ARPACK_FALLBACK_MAX_N:
            H = _assemble(op, n)
            wd, Vd = np.linalg.eigh(H)
            i = -1 if which == "LA" else 0
            return EigenResult(float(wd[i]), Vd[:, i].copy(), op.ncalls, "assembled", which)
        if not np.any(op(v0)):
            return EigenResult(0.0, v0 / np.linalg.norm(v0), op.ncalls, method, which)
        raise RuntimeError(f"Lanczos (ARPACK) failed: {exc}") from exc  # pragma: no cover
    vec = V[:, 0]
    vec = vec / np.linalg.norm(vec)
    return EigenResult(float(w[0]), vec, op.ncalls, method, which)


def hessian_lambda_max(f, x, *, grad=None, hvp=None, hess=None, n=None, tol=1e-10, rng=None,
                       which="LA", dense_max_n=500, assemble_max_n=16, maxiter=None,
                       allow_finite_differences=None):
    """Largest algebraic eigenvalue ``λ_max`` of ``∇²f(x)``.

    ``λ_max = max_{||u|| = 1} uᵀ ∇²f(x) u``; at a local minimum it equals
    ``||∇²f(x)||₂``, the constant in ``f°(x, r) = ½ λ_max r² + o(r²)``.

    Like :func:`flatlib.max_variation` it takes ``f`` and, optionally, ``grad=`` (products by
    central differences of the gradient), ``hvp=`` (exact products) or ``hess=``; ``f`` alone
    works too (differences of differences: slow and about ``1e-6`` accurate; warned above 50
    dimensions). The historical form ``hessian_lambda_max(hvp, x)``, with a first argument of
    two arguments ``hvp(x, v)``, is still accepted.

    Parameters
    ----------
    f : callable or None
        ``f(y) -> float``, or a product ``hvp(x, v) -> ∇²f(x) v`` (two arguments); ``None``
        when ``hvp=`` is given.
    x : array_like (n,)
        The point (finite).
    grad : callable, optional
        ``grad(y) -> (n,)``: products ``(∇f(x + t v) - ∇f(x - t v)) / (2t)``.
    hvp : callable, optional
        ``hvp(x, v) -> ∇²f(x) v`` (1-D arrays of length ``n``); a function of one argument here
        (``f`` where a product is expected) is a ``TypeError`` raised before any computation.
    n : int, optional
        Dimension; defaults to ``len(x)`` (must agree with it if given).
    hess : callable, optional
        ``hess(x) -> (n, n)`` dense Hessian; used (dense ``eigh``) when
        ``n <= dense_max_n``.
    tol : float
        Relative accuracy requested from ARPACK (Lanczos path).
    rng : None, int or numpy.random.Generator
        Source of the Lanczos starting vector (default: fixed seed 0).
    which : {"LA", "SA"}
        ``"LA"`` largest algebraic (default), ``"SA"`` smallest algebraic.
    dense_max_n : int
        Largest ``n`` for which ``hess`` is used densely (default 500).
    assemble_max_n : int
        Without ``hess``, largest ``n`` for which the Hessian is assembled from
        ``n`` products and diagonalized densely (default 16).
    maxiter : int, optional
        ARPACK iteration cap (default ``max(1000, 10 n)``). When Lanczos stops at the cap without
        converging, the Hessian is assembled from ``n`` products and diagonalized densely for
        ``n <= 2000`` (the right value; ``method="assembled"``); a ``RuntimeError`` naming
        ``maxiter`` beyond.
    allow_finite_differences : bool or None
        For ``f`` alone: ``None`` warns above 50 dimensions, ``True`` is silent, ``False``
        raises (as in :func:`flatlib.max_variation`).

    Returns
    -------
    EigenResult
        ``value``, ``eigenvector``, ``n_hvp``, ``method``, ``which``; it behaves as the
        eigenvalue in arithmetic (``float(result)``, ``0.5 * result``).

    Raises
    ------
    TypeError
        ``f``, ``grad``, ``hvp`` or ``hess`` not callable; ``f`` passed as ``hvp=``; a
        numerical argument that is a string, a boolean or complex.
    ValueError
        ``x`` not finite / not 1-D, ``hvp`` returns a wrong shape or NaN, a numerical argument
        out of range (the message names it).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([3.0, -5.0, 1.0])
    >>> res = hessian_lambda_max(lambda x, v: H @ v, np.zeros(3))
    >>> round(float(res), 8), res.method
    (3.0, 'assembled')
    >>> D = np.diag(np.arange(100.0) - 60.0)   # largest magnitude is -60, largest algebraic is 39
    >>> res = hessian_lambda_max(lambda x, v: D @ v, np.zeros(100))
    >>> round(float(res), 8), res.method
    (39.0, 'lanczos')

    From the loss and its gradient, as for :func:`flatlib.max_variation`: ``½(xy - 1)²`` at
    ``(2, 1/2)`` has Hessian ``(y, x)(y, x)ᵀ``, so ``λ_max = x² + y² = 4.25``; the result is a
    number in arithmetic (the constant of ``f° ≈ ½ λ_max r²``):

    >>> f = lambda z: 0.5 * (z[0] * z[1] - 1.0) ** 2
    >>> g = lambda z: (z[0] * z[1] - 1.0) * np.array([z[1], z[0]])
    >>> lam = hessian_lambda_max(f, [2.0, 0.5], grad=g)
    >>> round(0.5 * lam, 6)
    2.125
    """
    return _extreme_eig(f, x, n=n, hess=hess, tol=tol, rng=rng, which=which,
                        dense_max_n=dense_max_n, assemble_max_n=assemble_max_n, maxiter=maxiter,
                        grad=grad, hvp_kw=hvp, allow_finite_differences=allow_finite_differences)


def hessian_lambda_min(f, x, *, grad=None, hvp=None, hess=None, n=None, tol=1e-10, rng=None,
                       dense_max_n=500, assemble_max_n=16, maxiter=None,
                       allow_finite_differences=None):
    """Smallest algebraic eigenvalue ``λ_min`` of ``∇²f(x)``.

    Same as :func:`hessian_lambda_max` with ``which="SA"`` (same ways of giving the Hessian).
    At a local minimum ``λ_min >= 0``; ``λ_min < 0`` certifies a strict saddle.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([3.0, -5.0, 1.0])
    >>> round(float(hessian_lambda_min(lambda x, v: H @ v, np.zeros(3))), 8)
    -5.0
    >>> round(float(hessian_lambda_min(lambda y: float(0.5 * y @ H @ y), np.zeros(3),
    ...                                grad=lambda y: H @ y)), 6)
    -5.0
    """
    return _extreme_eig(f, x, n=n, hess=hess, tol=tol, rng=rng, which="SA",
                        dense_max_n=dense_max_n, assemble_max_n=assemble_max_n, maxiter=maxiter,
                        grad=grad, hvp_kw=hvp, allow_finite_differences=allow_finite_differences,
                        who="hessian_lambda_min")


def hessian_trace(f, x, *, grad=None, hvp=None, hess=None, n=None, n_samples=200, rng=None,
                  exact_if_n_le=500, allow_finite_differences=None):
    """Trace ``tr ∇²f(x) = Σ_i e_iᵀ ∇²f(x) e_i``.

    Exact (``n`` products with the unit vectors) when ``n <= exact_if_n_le``;
    otherwise the Hutchinson estimator ``(1/k) Σ_j z_jᵀ ∇²f(x) z_j`` with ``k =
    n_samples`` Rademacher probes ``z_j ∈ {±1}ⁿ`` (unbiased since
    ``E[z zᵀ] = I``), with standard error ``std(z_jᵀHz_j, ddof=1)/√k``.  Its
    variance is ``2 (||H||_F² - Σ H_ii²)/k``, so it is exact for diagonal ``H``.

    The Hessian is given as for :func:`hessian_lambda_max`: ``f`` with ``grad=``, ``hvp=`` or
    ``hess=`` (its diagonal is then summed directly), ``f`` alone, or a product ``hvp(x, v)``
    as first argument.

    Parameters
    ----------
    f : callable or None
        ``f(y) -> float``, or ``hvp(x, v) -> ∇²f(x) v`` (two arguments).
    x : array_like (n,)
    grad, hvp, hess, allow_finite_differences
        As in :func:`hessian_lambda_max`.
    n : int, optional
        Dimension (defaults to ``len(x)``).
    n_samples : int
        Number of Hutchinson probes (>= 2, at most 1e8).
    rng : None, int or numpy.random.Generator
        Probe source (default: fixed seed 0).
    exact_if_n_le : int
        Threshold on ``n`` below which the exact trace is computed.

    Returns
    -------
    TraceResult
        ``value``, ``stderr`` (0 if exact), ``n_hvp``, ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> res = hessian_trace(lambda x, v: H @ v, np.zeros(2))
    >>> round(float(res), 10), res.method, res.stderr
    (5.0, 'exact', 0.0)
    >>> B = np.random.default_rng(1).standard_normal((50, 50)); S = B @ B.T
    >>> est = hessian_trace(lambda x, v: S @ v, np.zeros(50), exact_if_n_le=10, n_samples=400)
    >>> est.method, bool(abs(est.value - np.trace(S)) < 4 * est.stderr)
    ('hutchinson', True)
    >>> round(float(hessian_trace(lambda y: float(0.5 * y @ H @ y), np.zeros(2), grad=lambda y: H @ y)), 6)
    5.0
    """
    n_samples = as_positive_int(n_samples, "n_samples")
    if n_samples > _MAX_SAMPLES:
        raise ValueError(f"n_samples must be <= {_MAX_SAMPLES}, got {n_samples}")
    exact_if_n_le = as_int(exact_if_n_le, "exact_if_n_le", low=0)
    gen = resolve_rng(rng)
    if hess is not None:
        check_callable(hess, "hess")
    x, n, op = _prepare(f, x, n, grad, hvp, hess, "hessian_trace", allow_finite_differences)
    if n <= exact_if_n_le:
        eye = np.zeros(n)
        total = 0.0
        for i in range(n):
            eye[i] = 1.0
            total += float(op(eye)[i])
            eye[i] = 0.0
        return TraceResult(total, 0.0, op.ncalls, "exact")
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 for the Hutchinson estimator, got {n_samples}")
    vals = np.empty(n_samples)
    for j in range(n_samples):
        z = gen.integers(0, 2, size=n).astype(float) * 2.0 - 1.0
        vals[j] = float(z @ op(z))
    est = float(vals.mean())
    se = float(vals.std(ddof=1) / np.sqrt(n_samples))
    return TraceResult(est, se, op.ncalls, "hutchinson")
