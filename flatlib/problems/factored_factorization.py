r"""Matrix factorization at scale: ``½‖XYᵀ − M‖²_F`` with ``M = A Bᵀ`` given by its factors.

The loss of :mod:`flatlib.problems.matrix_factorization`, for targets too large to
store: ``A ∈ R^{m×q}``, ``B ∈ R^{n×q}`` (so ``rank M <= q``), ``X ∈ R^{m×r}``,
``Y ∈ R^{n×r}``, and no ``m × n`` matrix is ever formed.  The parameters are the flat
vector ``z = [vec X, vec Y]`` (row-major, as in ``MatrixFactorization``), of size
``(m + n) r``, which may exceed a million.

Every quantity goes through ``r × r``, ``r × q`` and ``q × q`` products:

* residual ``R = XYᵀ − ABᵀ = [X, A] [Y, −B]ᵀ``; ``f = ½‖R_1 R_2ᵀ‖²_F`` with ``R_1``,
  ``R_2`` the triangular factors of the QR decompositions of ``[X, A]`` and
  ``[Y, −B]`` (no cancellation between ``‖XYᵀ‖²`` and ``‖M‖²`` near a minimum);
* gradient ``∇_X f = R Y = X(YᵀY) − A(BᵀY)``, ``∇_Y f = Rᵀ X = Y(XᵀX) − B(AᵀX)``;
* Hessian-vector product in a direction ``(U, V)``:

  .. math:: ∇²f[U, V] = \bigl(U\,YᵀY + X(VᵀY + YᵀV) − A(BᵀV),\;
            V\,XᵀX + Y(UᵀX + XᵀU) − B(AᵀU)\bigr),

  i.e. ``(U YᵀY + X VᵀY + R V, V XᵀX + Y UᵀX + Rᵀ U)`` with ``R V = X(YᵀV) − A(BᵀV)``:
  ``O((m + n) r (r + q))`` operations per direction, and a block of directions at once;
* the thin SVD ``M = U Σ Vᵀ`` from the QR decompositions of ``A`` and ``B`` and the SVD of
  a ``q × q`` core, hence the balanced minimizers ``X = U_r Σ_r^{1/2} Q``,
  ``Y = V_r Σ_r^{1/2} Q`` (``Q`` orthogonal).

Closed forms at a balanced minimizer (derived in :mod:`flatlib.problems.matrix_factorization`;
here with ``s = min(m, n)`` and ``σ_k = 0`` for ``k > q``): ``λ_max = 2σ₁``; the
eigenvalues are ``σ_i + σ_j`` (ordered pairs ``i, j <= r``), ``0`` (``r²`` times),
``σ_j ± σ_k`` (``j <= r < k <= s``) and ``σ_j`` (``(m − s) + (n − s)`` times each);
the trace is ``n‖X‖²_F + m‖Y‖²_F = (m + n) Σ_{i<=r} σ_i`` (at every point the trace is
``n‖X‖² + m‖Y‖²``: the diagonal entries are ``(YᵀY)_kk`` on ``X_ik`` and ``(XᵀX)_kk`` on
``Y_jk``).
"""
from __future__ import annotations

import numpy as np

from .._validate import as_point, as_positive_int, as_rng
from .base import Problem
from .matrix_factorization import _as_matrix

__all__ = ["FactoredMatrixFactorization"]


class FactoredMatrixFactorization(Problem):
    r"""``f(X, Y) = ½‖XYᵀ − ABᵀ‖²_F`` on ``z = [vec X, vec Y]``, without forming ``ABᵀ``.

    Parameters
    ----------
    A : array_like (m, q)
    B : array_like (n, q)
        Factors of the target ``M = A Bᵀ``.
    rank : int
        ``r``, the number of columns of ``X`` and ``Y`` (``<= min(m, n)``).

    Attributes
    ----------
    n : int
        ``(m + n) r``, the number of parameters.
    shape : tuple
        ``(m, n)``.
    r, q : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = FactoredMatrixFactorization.with_singular_values(300, 200, [3.0, 2.0, 1.0], rng=rng)
    >>> p.n, p.shape, p.r
    (1500, (300, 200), 3)
    >>> X, Y = p.balanced_factors()
    >>> z = p.pack(X, Y)
    >>> abs(p.f(z)) < 1e-25, round(p.hessian_trace(z), 10)       # (m + n) Σσ = 500 · 6
    (True, 3000.0)
    >>> p.balanced_eigenvalues(4).round(10).tolist()            # 2σ₁, σ₁+σ₂ (twice), σ₁+σ₃
    [6.0, 5.0, 5.0, 4.0]
    """

    name = "factored matrix factorization"

    def __init__(self, A, B, rank):
        self.A = _as_matrix(A, "A")
        self.B = _as_matrix(B, "B")
        if self.A.shape[1] != self.B.shape[1]:
            raise ValueError(f"A and B must have the same number of columns, got A {self.A.shape} "
                             f"and B {self.B.shape}")
        m, n = self.A.shape[0], self.B.shape[0]
        r = as_positive_int(rank, "rank")
        if r > min(m, n):
            raise ValueError(f"rank must be <= min(m, n) = {min(m, n)}, got {r}")
        self.shape = (m, n)
        self.r = r
        self.q = self.A.shape[1]
        self.n = (m + n) * r
        self._svd = None

    @classmethod
    def with_singular_values(cls, m, n, sigma, rank=None, rng=None):
        """A target ``M = A Bᵀ`` with the given singular values ``σ`` and random singular
        vectors: ``A = U diag(√σ)``, ``B = V diag(√σ)`` with ``U``, ``V`` orthonormal (QR of
        Gaussian matrices drawn from ``rng``); ``rank`` defaults to ``len(σ)``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization.with_singular_values(50, 40, [2.0, 1.0], rng=0)
        >>> np.round(p.singular_values(), 12).tolist()
        [2.0, 1.0]
        """
        m = as_positive_int(m, "m")
        n = as_positive_int(n, "n")
        sigma = as_point(sigma, "sigma")
        if np.any(sigma < 0):
            raise ValueError("sigma must be >= 0")
        if sigma.size > min(m, n):
            raise ValueError(f"at most min(m, n) = {min(m, n)} singular values, got {sigma.size}")
        gen = as_rng(rng)
        U = np.linalg.qr(gen.standard_normal((m, sigma.size)))[0]
        V = np.linalg.qr(gen.standard_normal((n, sigma.size)))[0]
        root = np.sqrt(sigma)
        return cls(U * root, V * root, sigma.size if rank is None else rank)

    # ---------------------------------------------------------------- layout
    def pack(self, X, Y):
        """``[vec X, vec Y]`` (row-major).

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization(np.ones((2, 1)), np.ones((3, 1)), 1)
        >>> p.pack(np.array([[1.0], [2.0]]), np.array([[3.0], [4.0], [5.0]])).tolist()
        [1.0, 2.0, 3.0, 4.0, 5.0]
        """
        m, n = self.shape
        X = _as_matrix(X, "X", (m, self.r))
        Y = _as_matrix(Y, "Y", (n, self.r))
        return np.concatenate([X.ravel(), Y.ravel()])

    def unpack(self, z, name="z"):
        """``(X, Y)`` as views into ``z``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization(np.ones((2, 1)), np.ones((3, 1)), 1)
        >>> [a.shape for a in p.unpack(np.arange(5.0))]
        [(2, 1), (3, 1)]
        """
        m, n = self.shape
        if isinstance(z, np.ndarray) and z.dtype == np.float64 and z.shape == (self.n,):
            if not np.all(np.isfinite(z)):
                raise ValueError(f"{name} must be finite")
        else:
            z = as_point(z, name, n=self.n)
        return z[:m * self.r].reshape(m, self.r), z[m * self.r:].reshape(n, self.r)

    # ---------------------------------------------------------------- protocol
    def f(self, z):
        r"""``½‖XYᵀ − ABᵀ‖²_F`` from the QR factors of ``[X, A]`` and ``[Y, −B]``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization(np.array([[1.0], [0.0]]), np.array([[2.0]]), 1)
        >>> p.f(np.zeros(3))                     # ½‖M‖² with M = [[2], [0]]
        2.0
        """
        X, Y = self.unpack(z)
        R1 = np.linalg.qr(np.hstack([X, self.A]), mode="r")
        R2 = np.linalg.qr(np.hstack([Y, -self.B]), mode="r")
        C = R1 @ R2.T
        return 0.5 * float(np.einsum("ij,ij->", C, C))

    def grad(self, z):
        r"""``(R Y, Rᵀ X)`` with ``R Y = X(YᵀY) − A(BᵀY)`` and ``Rᵀ X = Y(XᵀX) − B(AᵀX)``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization.with_singular_values(6, 5, [2.0, 1.0], rng=0)
        >>> z, v = np.random.default_rng(1).standard_normal((2, p.n))
        >>> fd = (p.f(z + 1e-6 * v) - p.f(z - 1e-6 * v)) / 2e-6
        >>> bool(abs(fd - p.grad(z) @ v) < 1e-7 * max(1.0, abs(fd)))
        True
        """
        X, Y = self.unpack(z)
        gX = X @ (Y.T @ Y) - self.A @ (self.B.T @ Y)
        gY = Y @ (X.T @ X) - self.B @ (self.A.T @ X)
        return np.concatenate([gX.ravel(), gY.ravel()])

    def hvp(self, z, v):
        r"""``∇²f(z) v`` (see the module docstring); ``v`` of shape ``(N,)`` or a block ``(N, k)``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization.with_singular_values(6, 5, [2.0, 1.0], rng=0)
        >>> z, v = np.random.default_rng(1).standard_normal((2, p.n))
        >>> fd = (p.grad(z + 1e-6 * v) - p.grad(z - 1e-6 * v)) / 2e-6
        >>> bool(np.max(np.abs(p.hvp(z, v) - fd)) < 1e-6)
        True
        >>> V = np.random.default_rng(2).standard_normal((p.n, 3))
        >>> bool(np.allclose(p.hvp(z, V), np.column_stack([p.hvp(z, c) for c in V.T])))
        True
        """
        X, Y = self.unpack(z)
        m, n = self.shape
        r = self.r
        single = np.ndim(v) == 1
        if single:
            if not (isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == (self.n,)):
                v = as_point(v, "v", n=self.n)
            elif not np.all(np.isfinite(v)):
                raise ValueError("v must be finite")
            v = v[:, None]
        else:
            try:
                v = np.asarray(v, dtype=float)
            except (TypeError, ValueError) as exc:
                raise TypeError("v must be an array of real numbers") from exc
            if v.ndim != 2 or v.shape[0] != self.n or v.shape[1] == 0:
                raise ValueError(f"v must have shape ({self.n},) or ({self.n}, k), got {v.shape}")
            if not np.all(np.isfinite(v)):
                raise ValueError("v must be finite")
        k = v.shape[1]
        if k == 1:                                   # 2-D products, written in place
            U, V = v[:m * r, 0].reshape(m, r), v[m * r:, 0].reshape(n, r)
            out = np.empty(self.n)
            HU, HV = out[:m * r].reshape(m, r), out[m * r:].reshape(n, r)
            S = V.T @ Y
            S += S.T
            P = U.T @ X
            P += P.T
            np.matmul(U, Y.T @ Y, out=HU)
            HU += X @ S
            HU -= self.A @ (self.B.T @ V)
            np.matmul(V, X.T @ X, out=HV)
            HV += Y @ P
            HV -= self.B @ (self.A.T @ U)
            return out if single else out[:, None]
        U = np.ascontiguousarray(v[:m * r].T).reshape(k, m, r)
        V = np.ascontiguousarray(v[m * r:].T).reshape(k, n, r)
        S = np.swapaxes(V, 1, 2) @ Y                 # (k, r, r) = VᵀY
        S += np.swapaxes(S, 1, 2)
        P = np.swapaxes(U, 1, 2) @ X                 # UᵀX
        P += np.swapaxes(P, 1, 2)
        HU = U @ (Y.T @ Y) + X @ S - self.A @ (self.B.T @ V)
        HV = V @ (X.T @ X) + Y @ P - self.B @ (self.A.T @ U)
        out = np.concatenate([HU.reshape(k, m * r), HV.reshape(k, n * r)], axis=1).T
        return out[:, 0] if single else out

    def hess(self, z):  # pragma: no cover - guarded
        """Dense Hessian (only for ``n <= 4000``; from products with the unit vectors)."""
        if self.n > 4000:
            raise ValueError(f"a dense Hessian of {self.n} parameters is not formed; use hvp")
        return super().hess(z)

    # ---------------------------------------------------------------- closed forms
    def hessian_trace(self, z):
        r"""``tr ∇²f(z) = n‖X‖²_F + m‖Y‖²_F`` (closed form, every point).

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization(np.ones((2, 1)), np.ones((3, 1)), 1)
        >>> p.hessian_trace(np.ones(5))                     # 3·2 + 2·3
        12.0
        """
        X, Y = self.unpack(z)
        m, n = self.shape
        return float(n * np.sum(X * X) + m * np.sum(Y * Y))

    def svd(self):
        """Thin SVD ``M = U diag(σ) Vᵀ`` (``q`` triplets, ``σ`` descending) from the QR
        factors of ``A`` and ``B`` and the SVD of the ``q × q`` core ``R_A R_Bᵀ``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization(np.array([[3.0], [4.0]]), np.array([[1.0], [0.0], [0.0]]), 1)
        >>> U, s, V = p.svd()
        >>> round(float(s[0]), 12), np.abs(U[:, 0]).round(12).tolist()
        (5.0, [0.6, 0.8])
        """
        if self._svd is None:
            QA, RA = np.linalg.qr(self.A)
            QB, RB = np.linalg.qr(self.B)
            Us, s, Vst = np.linalg.svd(RA @ RB.T)
            self._svd = (QA @ Us, s, QB @ Vst.T)
        return self._svd

    def singular_values(self):
        """The ``q`` singular values of ``M`` (descending; see :meth:`svd`).

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization(np.diag([1.0, 3.0]), np.eye(2), 2)
        >>> p.singular_values().round(12).tolist()
        [3.0, 1.0]
        """
        return self.svd()[1].copy()

    def balanced_factors(self, Q=None):
        r"""A balanced global minimizer ``X = U_r Σ_r^{1/2} Q``, ``Y = V_r Σ_r^{1/2} Q``
        (``XᵀX = YᵀY``; Eckart–Young when ``rank M > r``); ``Q`` orthogonal ``r × r``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization.with_singular_values(30, 20, [4.0, 1.0], rng=0)
        >>> X, Y = p.balanced_factors()
        >>> np.round(X.T @ X, 12).tolist() == np.round(Y.T @ Y, 12).tolist() == [[4.0, 0.0], [0.0, 1.0]]
        True
        """
        U, s, V = self.svd()
        r = self.r
        sr = np.zeros(r)
        k = min(r, s.size)
        sr[:k] = s[:k]
        Ur = np.zeros((self.shape[0], r))
        Vr = np.zeros((self.shape[1], r))
        Ur[:, :k], Vr[:, :k] = U[:, :k], V[:, :k]
        root = np.sqrt(sr)
        X, Y = Ur * root, Vr * root
        if Q is not None:
            Q = _as_matrix(Q, "Q", (r, r))
            if not np.allclose(Q.T @ Q, np.eye(r), atol=1e-10):
                raise ValueError("Q must be orthogonal")
            X, Y = X @ Q, Y @ Q
        return X, Y

    def balanced_eigenvalues(self, k=None):
        r"""The ``k`` largest Hessian eigenvalues at a balanced minimizer (closed form, with
        multiplicity; all ``(m + n) r`` of them when ``k`` is ``None``, only if that is at most
        ``10⁷``).  See the module docstring; ``λ_max = 2σ₁``.

        Examples
        --------
        >>> import numpy as np
        >>> p = FactoredMatrixFactorization(np.diag([3.0, 1.0, 0.0]), np.eye(3), 2)
        >>> p.balanced_eigenvalues().round(10).tolist()       # same as hessian_spectrum_balanced
        [6.0, 4.0, 4.0, 3.0, 3.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
        """
        m, n = self.shape
        r = self.r
        s_all = np.zeros(min(m, n))
        sv = self.singular_values()
        s_all[:min(sv.size, s_all.size)] = sv[:s_all.size]
        sr, tail = s_all[:r], s_all[r:]
        # (value, multiplicity) pairs
        vals = [(sr[:, None] + sr[None, :]).ravel(), np.zeros(1)]
        mult = [np.ones(r * r, dtype=np.int64), np.array([r * r], dtype=np.int64)]
        nz = tail[tail > 0]
        n_zero_tail = tail.size - nz.size
        vals += [(sr[:, None] + nz[None, :]).ravel(), (sr[:, None] - nz[None, :]).ravel(), sr]
        mult += [np.ones(r * nz.size, dtype=np.int64), np.ones(r * nz.size, dtype=np.int64),
                 np.full(r, (m - s_all.size) + (n - s_all.size) + 2 * n_zero_tail, dtype=np.int64)]
        vals, mult = np.concatenate(vals), np.concatenate(mult)
        order = np.argsort(vals, kind="stable")[::-1]
        vals, mult = vals[order], mult[order]
        assert int(mult.sum()) == self.n
        if k is None:
            if self.n > 10 ** 7:
                raise ValueError(f"{self.n} eigenvalues: ask for the k largest")
            return np.repeat(vals, mult)
        k = as_positive_int(k, "k")
        cum = np.cumsum(mult)
        last = int(np.searchsorted(cum, min(k, self.n)))
        return np.repeat(vals[:last + 1], mult[:last + 1])[:k]

    def lambda_max_balanced(self):
        """``2σ₁``, the largest Hessian eigenvalue at a balanced minimizer.

        Examples
        --------
        >>> import numpy as np
        >>> FactoredMatrixFactorization(np.diag([3.0, 1.0]), np.eye(2), 1).lambda_max_balanced()
        6.0
        """
        return 2.0 * float(self.singular_values()[0])

    def __repr__(self):
        m, n = self.shape
        return f"<FactoredMatrixFactorization m={m} n={n} r={self.r} q={self.q} params={self.n}>"
