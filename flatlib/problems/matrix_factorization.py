r"""Matrix factorization: balanced minima are the flat minima.

The loss is

    f(X, Y) = ½ ||X Yᵀ - M||²_F,   X ∈ R^{m×r},  Y ∈ R^{n×r},  M = U Σ Vᵀ ∈ R^{m×n},

with singular values ``σ₁ >= σ₂ >= ...`` of ``M``.  Parameters are handled as
one flat vector ``z = [vec(X), vec(Y)] ∈ R^{(m+n) r}`` where ``vec`` is the
**row-major** ravel (``X.ravel()``, i.e. ``z[i*r + k] = X[i, k]`` and
``z[m*r + j*r + k] = Y[j, k]``); :meth:`MatrixFactorization.pack` and
:meth:`MatrixFactorization.unpack` convert.

Facts implemented here and checked in ``tests/test_matrix_factorization.py``
(with ``R = X Yᵀ - M`` the residual):

* Gradient ``∇_X f = R Y``, ``∇_Y f = Rᵀ X``.
* Hessian in a direction ``(U, V)``:
  ``∇²f[U, V] = (U YᵀY + X VᵀY + R V,  Y UᵀX + V XᵀX + Rᵀ U)``,
  i.e. the quadratic form ``||U Yᵀ + X Vᵀ||²_F + 2 <R, U Vᵀ>``.
* Symmetry ``(X, Y) -> (X G, Y G⁻ᵀ)``, ``G ∈ GL(r)``, generator
  ``(X, Y) -> (X A, -Y Aᵀ)``, conserved matrix ``C = XᵀX - YᵀY`` (gradient flow).
* Balanced global minimizers (``rank M <= r``, or the Eckart–Young minimizers
  when ``rank M > r``): ``X = U_r Σ_r^{1/2} Q``, ``Y = V_r Σ_r^{1/2} Q``, ``Q``
  orthogonal.  On each orbit they are the points of minimal Frobenius norm
  ``||X||² + ||Y||²`` (Kempf–Ness), since with ``P = G Gᵀ`` the norm on the
  orbit of a balanced point is ``tr(Σ_r P) + tr(Σ_r P⁻¹) >= 2 tr Σ_r`` with
  equality iff ``P = I``.
* Hessian trace ``tr ∇²f(X, Y) = n ||X||²_F + m ||Y||²_F`` at **every** point
  (the residual only enters the off-diagonal ``X``–``Y`` block).
* On the orbit of a balanced point the trace ``n tr(Σ_r P) + m tr(Σ_r P⁻¹)`` is
  minimized at ``P = √(m/n) I``, i.e. ``n XᵀX = m YᵀY``: the trace-flattest point
  is *not* the balanced one when ``m != n``, while ``λ_max`` and ``f°`` are
  minimized at the balanced point.
* Hessian spectrum at a balanced minimizer (verified against dense ``eigh``):
  see :func:`hessian_spectrum_balanced`; ``λ_max = 2σ₁`` there and
  ``λ_max >= 2σ₁`` at every other point of the orbit.

Caveat (checked numerically, ``tests/test_matrix_factorization.py``): balanced
minima are flat, but they are not the *only* flat ones.  Rescaling a column
other than the top one, ``(X_b D, Y_b D⁻¹)`` with ``D = diag(1, c)`` and ``c``
near 1, keeps ``λ_max = 2σ₁`` and gives the same profile ``f°(·, r)`` as the
balanced point at every radius tested (0.01 to 4), while ``XᵀX != YᵀY``.

The example with ``m=5, n=3, r=2`` (balanced trace 46.95, ``λ_max`` 10.61;
trace minimizer trace 45.46, ``λ_max`` 10.96) is reproduced by ``M = A Bᵀ``
with ``A`` (5×2) then ``B`` (3×2) drawn by ``numpy.random.default_rng(0).standard_normal``.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_point, as_positive_int
from .base import Problem
from ..spectral import hessian_lambda_max, resolve_rng

__all__ = [
    "MatrixFactorization",
    "balanced_factors",
    "orbit_point",
    "is_balanced",
    "conserved_matrix",
    "hessian_spectrum_balanced",
    "hessian_trace_global_min",
    "trace_flat_factors",
    "random_global_min",
]

#: Largest parameter dimension for which dense (N, N) objects are built.
DENSE_MAX_N = 4000


# --------------------------------------------------------------------------- helpers
def _as_matrix(A, name, shape=None):
    try:
        arr = np.array(A, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of real numbers, got {type(A).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if shape is not None:
        for want, got, what in zip(shape, arr.shape, ("rows", "columns")):
            if want is not None and got != want:
                raise ValueError(f"{name} must have {want} {what}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _as_factors(X, Y):
    X = _as_matrix(X, "X")
    Y = _as_matrix(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of columns (the rank r), "
                         f"got X {X.shape} and Y {Y.shape}")
    return X, Y


def _rank_arg(M, r):
    r = as_positive_int(r, "r")
    if r > min(M.shape):
        raise ValueError(f"r must be <= min(m, n) = {min(M.shape)}, got {r}")
    return r


def _svd(M):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U, s, Vt.T


# --------------------------------------------------------------------------- problem
class MatrixFactorization(Problem):
    r"""The loss ``f(X, Y) = ½ ||X Yᵀ - M||²_F`` on flat vectors ``z = [vec X, vec Y]``.

    Parameters
    ----------
    M : array_like (m, n)
        Target matrix (finite).
    rank : int
        Inner dimension ``r`` of the factors (any ``r >= 1``).

    Attributes
    ----------
    M : ndarray (m, n)
    shape : tuple (m, n)
        Shape of ``M``; ``m`` = rows of ``X``, ``n`` = rows of ``Y``.
    m, n_cols : int
        ``shape[0]`` and ``shape[1]`` (``n`` is reserved for the parameter count).
    rank : int
        ``r``.
    n : int
        Parameter dimension ``(m + n) r`` (the :class:`Problem` protocol).

    Notes
    -----
    ``f``, ``grad`` and ``hvp`` work in factor form.  The residual
    ``R = X Yᵀ - M`` (``O(m n r)``) is cached for the last point, so that ``f``
    and ``grad`` at the same point, and every ``hvp`` at a fixed point, cost a
    single ``m×n`` product; ``hvp`` is otherwise ``O(m n r)`` through ``R V``
    and ``Rᵀ U`` (the Gauss–Newton part costs ``O((m+n) r²)``).  No
    ``(m+n)r × (m+n)r`` matrix is formed except by :meth:`hess` and
    :meth:`generators` (``n <= DENSE_MAX_N`` only).

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> P = MatrixFactorization(M, rank=2)
    >>> P.shape, P.rank, P.n
    ((3, 2), 2, 10)
    >>> X, Y = balanced_factors(M, 2)
    >>> z = P.pack(X, Y)
    >>> round(P.f(z), 12), round(float(np.linalg.norm(P.grad(z))), 12)
    (0.0, 0.0)
    >>> round(float(P.lambda_max(z)), 8)     # 2 σ₁
    6.0
    """

    name = "matrix_factorization"

    def __init__(self, M, rank):
        self.M = _as_matrix(M, "M")
        self.M.setflags(write=False)
        self.shape = self.M.shape
        self.m, self.n_cols = self.shape
        self.rank = as_positive_int(rank, "rank")
        self.n = (self.m + self.n_cols) * self.rank
        self._cache_z = None
        self._cache_R = None

    # ---------------------------------------------------------------- packing
    def pack(self, X, Y):
        """``z = [X.ravel(), Y.ravel()]`` (row-major), after shape checks.

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization(np.ones((2, 3)), rank=1)
        >>> P.pack([[1.0], [2.0]], [[3.0], [4.0], [5.0]])
        array([1., 2., 3., 4., 5.])
        """
        X = _as_matrix(X, "X", (self.m, self.rank))
        Y = _as_matrix(Y, "Y", (self.n_cols, self.rank))
        return np.concatenate([X.ravel(), Y.ravel()])

    def unpack(self, z, name="z"):
        """Split ``z`` into ``(X, Y)`` (row-major reshape; views of a checked copy).

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization(np.ones((2, 3)), rank=1)
        >>> X, Y = P.unpack(np.arange(5.0))
        >>> X.ravel().tolist(), Y.ravel().tolist()
        ([0.0, 1.0], [2.0, 3.0, 4.0])
        """
        z = as_point(z, name, n=self.n)
        k = self.m * self.rank
        return z[:k].reshape(self.m, self.rank), z[k:].reshape(self.n_cols, self.rank)

    # ---------------------------------------------------------------- residual cache
    def _residual(self, z):
        z = as_point(z, "z", n=self.n)
        if self._cache_z is not None and np.array_equal(z, self._cache_z):
            X, Y = self._split(z)
            return X, Y, self._cache_R
        X, Y = self._split(z)
        R = X @ Y.T
        R -= self.M
        self._cache_z, self._cache_R = z, R
        return X, Y, R

    def _split(self, z):
        k = self.m * self.rank
        return z[:k].reshape(self.m, self.rank), z[k:].reshape(self.n_cols, self.rank)

    # ---------------------------------------------------------------- oracle
    def f(self, z):
        """``½ ||X Yᵀ - M||²_F``.

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization([[1.0, 2.0]], rank=1)
        >>> P.f(P.pack([[1.0]], [[0.0], [0.0]]))   # ½ (1 + 4)
        2.5
        """
        _, _, R = self._residual(z)
        return 0.5 * float(np.vdot(R, R))

    def grad(self, z):
        """``(∇_X, ∇_Y) = (R Y, Rᵀ X)`` with ``R = X Yᵀ - M``, packed.

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization([[1.0, 2.0]], rank=1)
        >>> P.grad(P.pack([[1.0]], [[1.0], [1.0]]))   # R = [0, -1]
        array([-1.,  0., -1.])
        """
        X, Y, R = self._residual(z)
        return np.concatenate([(R @ Y).ravel(), (R.T @ X).ravel()])

    def hvp(self, z, v):
        """Exact Hessian-vector product in factor form.

        For ``v = [vec U, vec V]``:
        ``∇²f[U, V] = (U YᵀY + X VᵀY + R V,  Y UᵀX + V XᵀX + Rᵀ U)``
        (``= ((UYᵀ + XVᵀ) Y + R V, (UYᵀ + XVᵀ)ᵀ X + Rᵀ U)``).

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization([[2.0]], rank=1)      # f = ½ (xy - 2)²
        >>> z = np.array([1.0, 2.0])
        >>> P.hvp(z, np.array([1.0, 0.0]))                # first column [[y², 2xy - 2], ...]
        array([4., 2.])
        """
        X, Y, R = self._residual(z)
        U, V = self.unpack(v, name="v")
        HU = U @ (Y.T @ Y) + X @ (V.T @ Y) + R @ V
        HV = Y @ (U.T @ X) + V @ (X.T @ X) + R.T @ U
        return np.concatenate([HU.ravel(), HV.ravel()])

    def hess(self, z):
        """Dense Hessian (``n <= DENSE_MAX_N``), assembled from exact products.

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization([[2.0]], rank=1)
        >>> P.hess(np.array([1.0, 2.0]))
        array([[4., 2.],
               [2., 1.]])
        """
        if self.n > DENSE_MAX_N:
            raise ValueError(f"hess: parameter dimension {self.n} exceeds DENSE_MAX_N = "
                             f"{DENSE_MAX_N}; use hvp / flatlib.spectral instead")
        return super().hess(as_point(z, "z", n=self.n))

    def generators(self):
        """The ``r²`` symmetry generators ``(X, Y) -> (X E_ab, -Y E_abᵀ)`` as
        ``(r², n, n)`` matrices acting on ``z`` (``n <= DENSE_MAX_N`` only).

        ``f(exp(tA) z) = f(z)`` for each ``A``; the symmetric combinations give
        the conserved quantities ``½ <z, A z> = ½ <C, A_sym>``.

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization(np.ones((2, 2)), rank=1)
        >>> P.generators()[0]
        array([[ 1.,  0.,  0.,  0.],
               [ 0.,  1.,  0.,  0.],
               [ 0.,  0., -1.,  0.],
               [ 0.,  0.,  0., -1.]])
        """
        if self.n > DENSE_MAX_N:
            raise ValueError(f"generators: parameter dimension {self.n} exceeds DENSE_MAX_N = {DENSE_MAX_N}")
        r, m, nc = self.rank, self.m, self.n_cols
        out = np.zeros((r * r, self.n, self.n))
        for a in range(r):
            for b in range(r):
                E = np.zeros((r, r))
                E[a, b] = 1.0
                # X ↦ X E (row i: X[i,:] E), Y ↦ -Y Eᵀ ; vec row-major: (I ⊗ Eᵀ)
                out[a * r + b, : m * r, : m * r] = np.kron(np.eye(m), E.T)
                out[a * r + b, m * r:, m * r:] -= np.kron(np.eye(nc), E)
        return out

    # ---------------------------------------------------------------- structure
    def conserved(self, X, Y=None):
        """Conserved matrix ``C = XᵀX - YᵀY``; accepts ``(X, Y)`` or a flat ``z``.

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization(np.ones((2, 2)), rank=1)
        >>> P.conserved(np.array([1.0, 1.0, 2.0, 0.0]))
        array([[-2.]])
        """
        if Y is None:
            X, Y = self.unpack(X)
        return conserved_matrix(X, Y)

    def hessian_trace(self, z):
        """Exact trace ``n ||X||²_F + m ||Y||²_F`` (valid at every point).

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization(np.ones((3, 2)), rank=1)
        >>> P.hessian_trace(np.ones(5)), round(float(np.trace(P.hess(np.ones(5)))), 10)
        (12.0, 12.0)
        """
        return hessian_trace_global_min(*self.unpack(z))

    def lambda_max(self, z, **kwargs):
        """``λ_max(∇²f(z))`` via :func:`flatlib.spectral.hessian_lambda_max`
        (dense for ``n <= 500``, Lanczos on :meth:`hvp` otherwise).

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization([[2.0]], rank=1)
        >>> round(float(P.lambda_max(np.array([1.0, 2.0]))), 8)   # eig of [[4,2],[2,1]]
        5.0
        """
        z = as_point(z, "z", n=self.n)
        kwargs.setdefault("hess", self.hess if self.n <= 500 else None)
        return hessian_lambda_max(self.hvp, z, **kwargs)

    def max_variation(self, z, radius, **kwargs):
        """Maximal variation ``f°(z, radius)`` through :func:`flatlib.max_variation`
        with this problem's factor-form ``f`` and ``grad`` (and ``hess`` for small ``n``).

        Examples
        --------
        >>> import numpy as np
        >>> P = MatrixFactorization([[2.0]], rank=1)
        >>> z = P.pack(*balanced_factors([[2.0]], 1))
        >>> rho = 1e-3
        >>> round(P.max_variation(z, rho).value / (2.0 * rho**2), 2)   # σ₁ ρ² (1 + O(ρ))
        1.0
        """
        from ..profiles import max_variation  # core module, imported at call time

        z = as_point(z, "z", n=self.n)
        kwargs.setdefault("grad", self.grad)
        if self.n <= 500:
            kwargs.setdefault("hess", self.hess)
        return max_variation(self.f, z, radius, **kwargs)

    def __repr__(self):
        return f"<MatrixFactorization shape={self.shape} rank={self.rank} n={self.n}>"


# --------------------------------------------------------------------------- functions
def conserved_matrix(X, Y):
    """``C(X, Y) = XᵀX - YᵀY`` (``r×r``), conserved by the gradient flow of ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> conserved_matrix(np.array([[1.0], [2.0]]), np.array([[2.0]]))
    array([[1.]])
    """
    X, Y = _as_factors(X, Y)
    return X.T @ X - Y.T @ Y


def is_balanced(X, Y, tol=1e-8):
    """``True`` when ``||XᵀX - YᵀY||_F <= tol · max(1, ||XᵀX||_F + ||YᵀY||_F)``.

    Examples
    --------
    >>> import numpy as np
    >>> X, Y = balanced_factors(np.diag([3.0, 1.0]), 2)
    >>> is_balanced(X, Y), is_balanced(2 * X, Y / 2)
    (True, False)
    """
    X, Y = _as_factors(X, Y)
    if isinstance(tol, (bool, np.bool_)) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    A, B = X.T @ X, Y.T @ Y
    scale = max(1.0, np.linalg.norm(A) + np.linalg.norm(B))
    return bool(np.linalg.norm(A - B) <= tol * scale)


def balanced_factors(M, r, Q=None):
    """Balanced global minimizer ``X = U_r Σ_r^{1/2} Q``, ``Y = V_r Σ_r^{1/2} Q``.

    ``M = U Σ Vᵀ`` (SVD, ``σ₁ >= σ₂ >= ...``), ``Q ∈ O(r)`` (default identity).
    ``X Yᵀ = U_r Σ_r V_rᵀ``: equal to ``M`` when ``rank M <= r``, otherwise the
    best rank-``r`` approximation (Eckart–Young), which is then the global
    minimum.  ``XᵀX = YᵀY = QᵀΣ_rQ`` (balanced).

    Parameters
    ----------
    M : array_like (m, n)
    r : int, ``1 <= r <= min(m, n)``
    Q : array_like (r, r), optional
        Orthogonal matrix (checked to 1e-8).

    Returns
    -------
    X : ndarray (m, r)
    Y : ndarray (n, r)

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[4.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> X, Y = balanced_factors(M, 2)
    >>> np.round(X @ Y.T, 12).tolist() == M.tolist(), np.round(X.T @ X - Y.T @ Y, 12).tolist()
    (True, [[0.0, 0.0], [0.0, 0.0]])
    """
    M = _as_matrix(M, "M")
    r = _rank_arg(M, r)
    U, s, V = _svd(M)
    root = np.sqrt(s[:r])
    X = U[:, :r] * root
    Y = V[:, :r] * root
    if Q is not None:
        Q = _as_matrix(Q, "Q", (r, r))
        if np.linalg.norm(Q.T @ Q - np.eye(r)) > 1e-8:
            raise ValueError("Q must be orthogonal (QᵀQ = I)")
        X, Y = X @ Q, Y @ Q
    return X, Y


def orbit_point(X, Y, G):
    """The point ``(X G, Y G⁻ᵀ)`` of the symmetry orbit of ``(X, Y)``; ``X Yᵀ`` is unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> X, Y = balanced_factors(np.diag([3.0, 1.0]), 2)
    >>> X2, Y2 = orbit_point(X, Y, np.array([[2.0, 1.0], [0.0, 1.0]]))
    >>> bool(np.allclose(X2 @ Y2.T, X @ Y.T))
    True
    """
    X, Y = _as_factors(X, Y)
    r = X.shape[1]
    G = _as_matrix(G, "G", (r, r))
    if not np.isfinite(np.linalg.cond(G)) or np.linalg.cond(G) > 1e14:
        raise ValueError("G must be invertible (condition number > 1e14)")
    return X @ G, Y @ np.linalg.inv(G).T


def hessian_trace_global_min(X, Y):
    """Hessian trace ``tr ∇²f(X, Y) = n ||X||²_F + m ||Y||²_F`` (``X`` is ``m×r``, ``Y`` is ``n×r``).

    The diagonal blocks of the Hessian are ``(YᵀY) ⊗ I_m`` and ``(XᵀX) ⊗ I_n``
    (the residual only enters the off-diagonal block), so the formula holds at
    every point, in particular at every global minimum.

    Examples
    --------
    >>> import numpy as np
    >>> X, Y = balanced_factors(np.diag([3.0, 1.0, 0.0]), 2)   # m = n = 3
    >>> round(hessian_trace_global_min(X, Y), 10)                # 3·4 + 3·4
    24.0
    """
    X, Y = _as_factors(X, Y)
    m, n = X.shape[0], Y.shape[0]
    return float(n * np.vdot(X, X) + m * np.vdot(Y, Y))


def trace_flat_factors(M, r):
    """Trace-minimizing global minimizer on the balanced orbit:
    ``X = (m/n)^{1/4} U_r Σ_r^{1/2}``, ``Y = (n/m)^{1/4} V_r Σ_r^{1/2}``.

    On the orbit ``(X₀G, Y₀G⁻ᵀ)`` of the balanced point, with ``P = G Gᵀ`` the
    trace is ``n tr(Σ_r P) + m tr(Σ_r P⁻¹)``, strictly convex in ``P ≻ 0`` with
    stationarity ``n Σ_r = m P⁻¹Σ_rP⁻¹``, solved by ``P = √(m/n) I``.  The point
    satisfies ``n XᵀX = m YᵀY`` and has trace ``2 √(mn) tr Σ_r`` versus
    ``(m + n) tr Σ_r`` at the balanced point.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([3.0, 1.0, 0.0])[:, :2]                 # m = 3, n = 2
    >>> X, Y = trace_flat_factors(M, 2)
    >>> bool(np.allclose(2 * X.T @ X, 3 * Y.T @ Y)), bool(np.allclose(X @ Y.T, M))
    (True, True)
    >>> round(hessian_trace_global_min(X, Y), 4), round(hessian_trace_global_min(*balanced_factors(M, 2)), 4)
    (19.5959, 20.0)
    """
    M = _as_matrix(M, "M")
    r = _rank_arg(M, r)
    m, n = M.shape
    X, Y = balanced_factors(M, r)
    c = (m / n) ** 0.25
    return c * X, Y / c


def random_global_min(M, r, rng=None, scale=1.0, return_G=False):
    """A global minimizer ``(X₀G, Y₀G⁻ᵀ)`` off the balanced point, ``(X₀, Y₀)`` balanced.

    ``G = Q₁ diag(exp(scale · ξ)) Q₂`` with ``Q₁, Q₂`` Haar-random orthogonal and
    ``ξ ~ N(0, I_r)``, so ``G`` is invertible with ``log cond(G) = O(scale)``.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([3.0, 1.0])
    >>> X, Y = random_global_min(M, 2, rng=0)
    >>> bool(np.allclose(X @ Y.T, M)), is_balanced(X, Y)
    (True, False)
    """
    M = _as_matrix(M, "M")
    r = _rank_arg(M, r)
    if isinstance(scale, (bool, np.bool_)) or not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    gen = resolve_rng(rng)
    Q1, _ = np.linalg.qr(gen.standard_normal((r, r)))
    Q2, _ = np.linalg.qr(gen.standard_normal((r, r)))
    G = (Q1 * np.exp(scale * gen.standard_normal(r))) @ Q2
    X, Y = orbit_point(*balanced_factors(M, r), G)
    return (X, Y, G) if return_G else (X, Y)


def hessian_spectrum_balanced(M, r):
    """Closed-form Hessian eigenvalues at a balanced minimizer, sorted descending.

    Let ``σ₁ >= ... >= σ_s`` be the singular values of ``M`` (``s = min(m, n)``).
    At ``(X, Y) = (U_r Σ_r^{1/2} Q, V_r Σ_r^{1/2} Q)`` the Hessian quadratic form
    is ``||U Yᵀ + X Vᵀ||² + 2 <R, U Vᵀ>``.  Writing the directions in the
    singular bases it splits into ``2×2`` blocks, and the ``(m + n) r``
    eigenvalues are (verified against dense ``eigh`` in the tests):

    * ``σ_i + σ_j`` for every **ordered** pair ``(i, j)``, ``i, j <= r``: ``r²``
      values, so ``2σ_i`` appears once and ``σ_i + σ_j`` (``i != j``) twice;
    * ``0`` with multiplicity ``r²`` (the tangent space of the orbit, ``dim GL(r)``);
    * for each ``j <= r`` and each ``k = r+1..s``: ``σ_j + σ_k`` and ``σ_j - σ_k``;
    * for each ``j <= r``: ``σ_j`` with multiplicity ``(m - s) + (n - s)``.

    When ``rank M <= r`` (so ``σ_k = 0`` for ``k > r``) the last two items give
    each ``σ_j`` with multiplicity ``(m - r) + (n - r)``.  In all cases
    ``λ_max = 2σ₁``.  When ``rank M > r`` the point is the Eckart–Young minimizer
    and ``σ_j - σ_k >= 0`` confirms it is a minimum.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([3.0, 1.0, 0.0])                     # rank 2, m = n = 3
    >>> np.round(hessian_spectrum_balanced(M, 2), 10).tolist()
    [6.0, 4.0, 4.0, 3.0, 3.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    M = _as_matrix(M, "M")
    r = _rank_arg(M, r)
    m, n = M.shape
    s = np.linalg.svd(M, compute_uv=False)
    sr = s[:r]
    core = (sr[:, None] + sr[None, :]).ravel()
    zeros = np.zeros(r * r)
    tail = s[r:]
    coupled = np.concatenate([(sr[:, None] + tail[None, :]).ravel(),
                              (sr[:, None] - tail[None, :]).ravel()])
    extra = np.repeat(sr, (m - len(s)) + (n - len(s)))
    ev = np.concatenate([core, zeros, coupled, extra])
    assert ev.size == (m + n) * r
    return np.sort(ev)[::-1]


# =========================================================================== weighted norms,
# flatness along the orbit (added for notebook 06_matrix_factorization)
from dataclasses import dataclass  # noqa: E402

__all__ += [
    "weighted_balanced_factors",
    "weighted_max_variation",
    "orbit_max_variation",
    "flattest_on_orbit_search",
    "OrbitSearchResult",
]


def _weights(a, b):
    out = []
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not np.isfinite(v) or v <= 0:
            raise ValueError(f"weight {name} must be a finite number > 0, got {v!r}")
        out.append(float(v))
    return tuple(out)


def weighted_balanced_factors(M, r, a=1.0, b=1.0, Q=None):
    r"""Global minimizer with ``a XᵀX = b YᵀY``: ``X = (b/a)^{1/4} X_b``, ``Y = (a/b)^{1/4} Y_b``.

    ``(X_b, Y_b)`` is :func:`balanced_factors` ``(M, r, Q)``.  This is the flattest point
    of the orbit for the weighted Frobenius norm ``||(U, V)||_w² = a||U||² + b||V||²``
    (see :func:`weighted_max_variation`): the change of variables ``X' = √a X``,
    ``Y' = √b Y`` maps the weighted ball to the Euclidean one and the loss to
    ``(1/(ab)) · ½||X'Y'ᵀ - √(ab) M||²``, a matrix-factorization loss whose flat
    (balanced) minima satisfy ``X'ᵀX' = Y'ᵀY'``, i.e. ``a XᵀX = b YᵀY``.  With
    ``(a, b) = (n, m)`` it is :func:`trace_flat_factors`.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([3.0, 1.0, 0.0])[:, :2]                 # m = 3, n = 2
    >>> X, Y = weighted_balanced_factors(M, 2, a=4.0, b=1.0)
    >>> bool(np.allclose(4 * X.T @ X, Y.T @ Y)), bool(np.allclose(X @ Y.T, M))
    (True, True)
    """
    a, b = _weights(a, b)
    X, Y = balanced_factors(M, r, Q=Q)
    c = (b / a) ** 0.25
    return c * X, Y / c


def _scaled_batch_loss(M, r, sx, sy):
    """Vectorized ``g(X', Y') = f(X'/sx, Y'/sy)`` and its gradient on the rows of ``Z``."""
    m, n = M.shape
    k = m * r

    def split(Z):
        Z = np.atleast_2d(Z)
        return Z[:, :k].reshape(-1, m, r) / sx, Z[:, k:].reshape(-1, n, r) / sy

    def f(Z):
        X, Y = split(Z)
        R = X @ Y.transpose(0, 2, 1) - M
        return 0.5 * np.einsum("kij,kij->k", R, R)

    def grad(Z):
        X, Y = split(Z)
        R = X @ Y.transpose(0, 2, 1) - M
        GX = (R @ Y) / sx
        GY = (R.transpose(0, 2, 1) @ X) / sy
        return np.concatenate([GX.reshape(len(X), -1), GY.reshape(len(X), -1)], axis=1)

    return f, grad


def weighted_max_variation(M, X, Y, radius, a=1.0, b=1.0, *, side="both", n_starts=8, rng=None,
                           **kwargs):
    r"""Maximal variation of ``f(X, Y) = ½||XYᵀ - M||²_F`` for a weighted Frobenius ball,

        ``f°_w((X, Y), ρ) = sup { |f(X+U, Y+V) - f(X, Y)| : a||U||²_F + b||V||²_F <= ρ² }``.

    Computed exactly as a Euclidean maximal variation after the change of variables
    ``z' = D^{1/2} z`` with ``D = diag(a I_{mr}, b I_{nr})`` (``g(z') = f(D^{-1/2} z')``,
    ``∇g = D^{-1/2} ∇f``, ``∇²g = D^{-1/2} ∇²f D^{-1/2}``) by
    :func:`flatlib.max_variation` (batched; its dense Hessian seeds the search when
    ``(m+n) r <= 500``).  ``a = b = 1`` is the Frobenius norm of the paper.

    At a global minimum the "down" side is 0, so ``side="up"`` gives the same value
    at half the cost.

    Parameters
    ----------
    M : array_like (m, n)
    X, Y : array_like (m, r), (n, r)
    radius : float or 1-D array_like
    a, b : float > 0
        Weights of the ``X`` and ``Y`` blocks.
    side, n_starts, rng, **kwargs
        Passed to :func:`flatlib.max_variation`.

    Returns
    -------
    MaxVariationResult
        As :func:`flatlib.max_variation`, with ``argmax`` mapped back to the original
        variables ``[vec X, vec Y]`` (row-major, as :meth:`MatrixFactorization.pack`).

    Examples
    --------
    At the minimizer with ``a XᵀX = b YᵀY`` the profile is ``σ₁ ρ² / √(ab) + O(ρ³)``:

    >>> import numpy as np
    >>> M = np.array([[2.0]])
    >>> X, Y = weighted_balanced_factors(M, 1, a=4.0, b=1.0)
    >>> rho = 1e-3
    >>> v = weighted_max_variation(M, X, Y, rho, a=4.0, b=1.0, side="up").value
    >>> round(v / (2.0 / 2.0 * rho ** 2), 2)
    1.0
    """
    from ..profiles import max_variation  # core module, imported at call time

    M = _as_matrix(M, "M")
    X, Y = _as_factors(X, Y)
    r = X.shape[1]
    P = MatrixFactorization(M, r)
    z = P.pack(X, Y)
    a, b = _weights(a, b)
    sx, sy = np.sqrt(a), np.sqrt(b)
    D = np.concatenate([np.full(P.m * r, sx), np.full(P.n_cols * r, sy)])
    f, grad = _scaled_batch_loss(P.M, r, sx, sy)
    if P.n <= 500:
        kwargs.setdefault("hess", lambda zp: P.hess(zp / D) / np.outer(D, D))
    res = max_variation(f, D * z, radius, grad=grad, side=side, n_starts=n_starts, rng=rng,
                        vectorized=True, **kwargs)
    res.argmax = np.asarray(res.argmax) / D
    return res


def orbit_max_variation(M, G, radius, a=1.0, b=1.0, *, X0=None, Y0=None, **kwargs):
    """``f°_w`` at the orbit point ``(X₀G, Y₀G⁻ᵀ)`` (``(X₀, Y₀)`` balanced by default).

    A thin wrapper of :func:`orbit_point` and :func:`weighted_max_variation`
    (``side="up"`` by default, exact at global minima).

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([3.0, 1.0])
    >>> v1 = orbit_max_variation(M, np.eye(2), 0.1).value
    >>> v2 = orbit_max_variation(M, np.diag([2.0, 1.0]), 0.1).value
    >>> bool(v1 < v2)
    True
    """
    M = _as_matrix(M, "M")
    if X0 is None or Y0 is None:
        r = np.shape(G)[0]
        X0, Y0 = balanced_factors(M, r)
    X, Y = orbit_point(X0, Y0, G)
    kwargs.setdefault("side", "up")
    return weighted_max_variation(M, X, Y, radius, a, b, **kwargs)


@dataclass
class OrbitSearchResult:
    """Result of :func:`flattest_on_orbit_search` (``k`` starts).

    Attributes
    ----------
    radius, a, b : float
        The radius and the weights of the norm ``a||U||² + b||V||²``.
    reference : float
        ``f°_w`` at the point of the orbit with ``a XᵀX = b YᵀY`` (the balanced point when
        ``a = b``), computed with ``verify_starts`` random starts.
    value_start : ndarray (k,)
        ``f°_w`` at the starting points (search accuracy).
    value : ndarray (k,)
        ``f°_w`` at the final points, recomputed with ``verify_starts`` random starts and a
        different seed (a value attained in the ball, so a certified lower bound on ``f°_w``).
    imbalance_start, imbalance : ndarray (k,)
        ``||a XᵀX - b YᵀY||_F`` at the starting and final points.
    G0, G : ndarray (k, r, r)
        Starting and final ``G`` (the point is ``(X_b G, Y_b G⁻ᵀ)``, ``X_b, Y_b`` balanced).
    P : ndarray (k, r, r)
        ``G Gᵀ``: ``f°_w`` depends on ``G`` only through it (``(XQ, YQ)``, ``Q`` orthogonal,
        is an isometry that preserves ``f``), and the final point satisfies
        ``a XᵀX = b YᵀY`` iff ``P = √(b/a) I``.
    nfev : ndarray (k,)
        Evaluations of ``f°_w`` by the local search, per start.
    """

    radius: float
    a: float
    b: float
    reference: float
    value_start: np.ndarray
    value: np.ndarray
    imbalance_start: np.ndarray
    imbalance: np.ndarray
    G0: np.ndarray
    G: np.ndarray
    P: np.ndarray
    nfev: np.ndarray

    @property
    def rel_gap(self):
        """``(value - reference) / reference`` per start (>= 0 up to the search tolerance
        when no point flatter than the reference was found)."""
        return (self.value - self.reference) / self.reference

    def __repr__(self):
        return (f"OrbitSearchResult(radius={self.radius}, a={self.a}, b={self.b}, "
                f"reference={self.reference:.6g}, starts={len(self.value)}, "
                f"max rel_gap={float(np.max(self.rel_gap)):.2e}, min rel_gap={float(np.min(self.rel_gap)):.2e})")


def flattest_on_orbit_search(M, r, radius, n_starts=8, rng=None, *, a=1.0, b=1.0, spread=1.0,
                             mv_starts=2, verify_starts=32, maxfev=300, xatol=1e-5, fatol=None,
                             param="sym"):
    r"""Local minimization of the flatness ``G -> f°_w((X_b G, Y_b G⁻ᵀ), radius)`` over ``GL(r)``.

    When ``rank M <= r`` the set of global minima of ``f`` is the orbit
    ``{(X_b G, Y_b G⁻ᵀ) : G ∈ GL(r)}`` of the balanced point, so this searches for
    local minimizers of flatness (at one radius) *along the set of global minima*.
    Each of ``n_starts`` runs starts at ``G₀ = Q₁ diag(exp(spread · ξ)) Q₂``
    (``Q₁, Q₂`` Haar orthogonal, ``ξ ~ N(0, I)``) and runs Nelder–Mead.  Since
    ``(U, V) -> (UQ, VQ)`` (``Q`` orthogonal) is an isometry of the (weighted) norm that
    preserves ``f``, ``f°_w`` at ``(X_b G, Y_b G⁻ᵀ)`` depends on ``G`` only through
    ``P = G Gᵀ``; with ``param="sym"`` (default) the search runs over
    ``G = exp(S)``, ``S`` symmetric (``r(r+1)/2`` numbers, the whole of ``GL(r)/O(r)``,
    started at ``S₀ = ½ log(G₀G₀ᵀ)``); with ``param="full"`` over the ``r²`` entries of
    ``G``.  The objective is :func:`weighted_max_variation` (``side="up"``,
    exact at global minima) with ``mv_starts`` random starts and a fixed seed, so it is a
    deterministic function of ``G``.  Final values are then recomputed with
    ``verify_starts`` starts (and another seed) and compared with the value at the point
    with ``a XᵀX = b YᵀY``.

    Cost: about ``n_starts · maxfev`` evaluations of ``f°_w`` (a few ms each for
    ``(m+n) r`` of order 10).

    Parameters
    ----------
    M : array_like (m, n)
    r : int
    radius : float > 0
    n_starts : int
    rng : None, int or numpy Generator
        Seed of the starting ``G₀`` (``None`` is seed 0).
    a, b : float > 0
        Weights of the norm ``a||U||² + b||V||²`` (``1, 1``: Frobenius).
    spread : float >= 0
        Log-scale of the singular values of ``G₀``.
    mv_starts, verify_starts : int
        Random starts of the maximal variation inside, and after, the search.
    maxfev : int
        Nelder–Mead evaluation budget per start.
    xatol, fatol : float
        Nelder–Mead tolerances (``fatol`` defaults to ``1e-12 · reference``).
    param : {"sym", "full"}
        Search variables: ``S`` with ``G = exp(S)`` symmetric, or ``G`` itself.

    Returns
    -------
    OrbitSearchResult

    Examples
    --------
    With ``r = 1`` the orbit is ``(gX_b, Y_b/g)`` and the flattest point is balanced:

    >>> import numpy as np
    >>> M = np.outer([1.0, 2.0], [1.0, 0.0, 1.0])
    >>> res = flattest_on_orbit_search(M, 1, 0.3, n_starts=2, rng=0)
    >>> bool(np.all(np.abs(res.rel_gap) < 1e-6)), bool(np.all(res.imbalance < 1e-3))
    (True, True)
    """
    from scipy.optimize import minimize

    M = _as_matrix(M, "M")
    r = _rank_arg(M, r)
    a, b = _weights(a, b)
    radius = float(radius)
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
    n_starts = as_positive_int(n_starts, "n_starts")
    mv_starts = int(mv_starts)
    verify_starts = as_positive_int(verify_starts, "verify_starts")
    maxfev = as_positive_int(maxfev, "maxfev")
    if isinstance(spread, (bool, np.bool_)) or not np.isfinite(spread) or spread < 0:
        raise ValueError(f"spread must be a finite number >= 0, got {spread!r}")
    if param not in ("sym", "full"):
        raise ValueError(f"param must be 'sym' or 'full', got {param!r}")
    gen = resolve_rng(rng)
    Xb, Yb = balanced_factors(M, r)

    def imbalance(X, Y):
        return float(np.linalg.norm(a * X.T @ X - b * Y.T @ Y))

    def fo(G, n_mv, seed):
        X, Y = orbit_point(Xb, Yb, G)
        return weighted_max_variation(M, X, Y, radius, a, b, side="up", n_starts=n_mv, rng=seed).value

    Xw, Yw = weighted_balanced_factors(M, r, a, b)
    reference = weighted_max_variation(M, Xw, Yw, radius, a, b, side="up", n_starts=verify_starts,
                                       rng=1).value
    if fatol is None:
        fatol = 1e-12 * max(reference, 1e-300)

    iu = np.triu_indices(r)

    def to_G(g):
        if param == "full":
            return g.reshape(r, r)
        S = np.zeros((r, r))
        S[iu] = g
        S = S + np.triu(S, 1).T
        w, V = np.linalg.eigh(S)
        return (V * np.exp(w)) @ V.T

    def objective(g):
        G = to_G(g)
        c = np.linalg.cond(G)
        if not np.isfinite(c) or c > 1e8:
            return np.inf
        return fo(G, mv_starts, 0)

    G0s, Gs, v0, v1, i0, i1, nf = [], [], [], [], [], [], []
    for _ in range(n_starts):
        Q1, _r = np.linalg.qr(gen.standard_normal((r, r)))
        Q2, _r = np.linalg.qr(gen.standard_normal((r, r)))
        G0 = (Q1 * np.exp(spread * gen.standard_normal(r))) @ Q2
        if param == "full":
            g0 = G0.ravel()
        else:  # S0 = ½ log(G0 G0ᵀ): exp(S0) = (G0G0ᵀ)^{1/2} has the same P as G0
            w, V = np.linalg.eigh(G0 @ G0.T)
            g0 = ((V * (0.5 * np.log(w))) @ V.T)[iu]
        simplex = np.vstack([g0, g0 + 0.1 * np.eye(g0.size)])
        res = minimize(objective, g0, method="Nelder-Mead",
                       options={"xatol": xatol, "fatol": fatol, "maxfev": maxfev, "adaptive": True,
                                "initial_simplex": simplex})
        G = to_G(res.x)
        G0s.append(G0)
        Gs.append(G)
        v0.append(fo(G0, verify_starts, 1))
        v1.append(fo(G, verify_starts, 1))
        i0.append(imbalance(*orbit_point(Xb, Yb, G0)))
        i1.append(imbalance(*orbit_point(Xb, Yb, G)))
        nf.append(res.nfev)
    G0s, Gs = np.array(G0s), np.array(Gs)
    return OrbitSearchResult(radius, a, b, float(reference), np.array(v0), np.array(v1),
                             np.array(i0), np.array(i1), G0s, Gs, Gs @ Gs.transpose(0, 2, 1),
                             np.array(nf))
