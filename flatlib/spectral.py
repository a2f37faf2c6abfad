"""Hessian spectral quantities from Hessian-vector products.

Classical sharpness measures are spectral: the largest eigenvalue
``λ_max(∇²f(x))`` and the trace ``tr ∇²f(x)``.  At a critical point the
maximal variation satisfies ``f°(x, r) = ½ ||∇²f(x)||₂ r² + o(r²)``, and at a
local minimum ``||∇²f(x)||₂ = λ_max``; this module computes that constant
without ever forming the Hessian when ``n`` is large.

Conventions
-----------
* ``hvp(x, v)`` returns ``∇²f(x) v`` for 1-D float arrays ``x`` and ``v`` of
  length ``n``; the Hessian is assumed symmetric.
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

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla

from ._validate import as_point, as_positive_int, as_rng, check_callable, vector_fn

__all__ = [
    "EigenResult",
    "TraceResult",
    "hessian_lambda_max",
    "hessian_lambda_min",
    "hessian_trace",
    "resolve_rng",
]

DEFAULT_SEED = 0
#: Largest n for which an ARPACK breakdown falls back to a dense eigensolve.
ARPACK_FALLBACK_MAX_N = 2000


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
class EigenResult:
    """An extreme Hessian eigenvalue.

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

    def __float__(self):
        return float(self.value)


@dataclass(frozen=True)
class TraceResult:
    """Hessian trace (exact or Hutchinson estimate).

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

    def __float__(self):
        return float(self.value)


def _prepare(hvp, x, n):
    check_callable(hvp, "hvp")
    x = as_point(x, "x")
    if n is None:
        n = x.shape[0]
    else:
        n = as_positive_int(n, "n")
        if n != x.shape[0]:
            raise ValueError(f"n must equal len(x) = {x.shape[0]}, got {n}")
    op = vector_fn(lambda v: hvp(x, v), n, name="hvp")
    return x, n, op


def _dense_from_hess(hess, x, n):
    check_callable(hess, "hess")
    H = np.asarray(hess(x), dtype=float)
    if H.shape != (n, n):
        raise ValueError(f"hess must return an array of shape ({n}, {n}), got {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError("hess returned non-finite entries")
    return 0.5 * (H + H.T)


def _assemble(op, n):
    eye = np.eye(n)
    H = np.column_stack([op(eye[:, i]) for i in range(n)])
    return 0.5 * (H + H.T)


def _extreme_eig(hvp, x, *, n, hess, tol, rng, which, dense_max_n, assemble_max_n, maxiter):
    if which not in ("LA", "SA"):
        raise ValueError(f"which must be 'LA' or 'SA', got {which!r}")
    x, n, op = _prepare(hvp, x, n)
    if isinstance(tol, (bool, np.bool_)) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    gen = resolve_rng(rng)
    dense_max_n = int(dense_max_n)
    assemble_max_n = int(assemble_max_n)

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
    except spla.ArpackNoConvergence as exc:  # pragma: no cover - depends on spectrum
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


def hessian_lambda_max(hvp, x, *, n=None, hess=None, tol=1e-10, rng=None, which="LA",
                       dense_max_n=500, assemble_max_n=16, maxiter=None):
    """Largest algebraic eigenvalue ``λ_max`` of ``∇²f(x)``.

    ``λ_max = max_{||u|| = 1} uᵀ ∇²f(x) u``; at a local minimum it equals
    ``||∇²f(x)||₂``, the constant in ``f°(x, r) = ½ λ_max r² + o(r²)``.

    Parameters
    ----------
    hvp : callable
        ``hvp(x, v) -> ∇²f(x) v`` (1-D arrays of length ``n``).
    x : array_like (n,)
        The point (finite).
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
        ARPACK iteration cap (default ``max(1000, 10 n)``).

    Returns
    -------
    EigenResult
        ``value``, ``eigenvector``, ``n_hvp``, ``method``, ``which``;
        ``float(result)`` is the eigenvalue.

    Raises
    ------
    TypeError
        ``hvp`` (or ``hess``) not callable.
    ValueError
        ``x`` not finite / not 1-D, ``hvp`` returns a wrong shape or NaN.

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
    """
    return _extreme_eig(hvp, x, n=n, hess=hess, tol=tol, rng=rng, which=which,
                        dense_max_n=dense_max_n, assemble_max_n=assemble_max_n, maxiter=maxiter)


def hessian_lambda_min(hvp, x, *, n=None, hess=None, tol=1e-10, rng=None,
                       dense_max_n=500, assemble_max_n=16, maxiter=None):
    """Smallest algebraic eigenvalue ``λ_min`` of ``∇²f(x)``.

    Same as :func:`hessian_lambda_max` with ``which="SA"``. At a local minimum
    ``λ_min >= 0``; ``λ_min < 0`` certifies a strict saddle.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([3.0, -5.0, 1.0])
    >>> round(float(hessian_lambda_min(lambda x, v: H @ v, np.zeros(3))), 8)
    -5.0
    """
    return _extreme_eig(hvp, x, n=n, hess=hess, tol=tol, rng=rng, which="SA",
                        dense_max_n=dense_max_n, assemble_max_n=assemble_max_n, maxiter=maxiter)


def hessian_trace(hvp, x, *, n=None, n_samples=200, rng=None, exact_if_n_le=500):
    """Trace ``tr ∇²f(x) = Σ_i e_iᵀ ∇²f(x) e_i``.

    Exact (``n`` products with the unit vectors) when ``n <= exact_if_n_le``;
    otherwise the Hutchinson estimator ``(1/k) Σ_j z_jᵀ ∇²f(x) z_j`` with ``k =
    n_samples`` Rademacher probes ``z_j ∈ {±1}ⁿ`` (unbiased since
    ``E[z zᵀ] = I``), with standard error ``std(z_jᵀHz_j, ddof=1)/√k``.  Its
    variance is ``2 (||H||_F² - Σ H_ii²)/k``, so it is exact for diagonal ``H``.

    Parameters
    ----------
    hvp : callable
        ``hvp(x, v) -> ∇²f(x) v``.
    x : array_like (n,)
    n : int, optional
        Dimension (defaults to ``len(x)``).
    n_samples : int
        Number of Hutchinson probes (>= 2).
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
    """
    x, n, op = _prepare(hvp, x, n)
    n_samples = as_positive_int(n_samples, "n_samples")
    if isinstance(exact_if_n_le, (bool, np.bool_)) or int(exact_if_n_le) != exact_if_n_le:
        raise ValueError(f"exact_if_n_le must be an integer, got {exact_if_n_le!r}")
    gen = resolve_rng(rng)
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
