r"""Deep matrix factorization: the sharpness of its minima, and two notions of balance.

The loss is

    f(W_1, ..., W_L) = ½ ‖W_L ⋯ W_1 - M‖²_F,   W_1 ∈ R^{r×n},  W_l ∈ R^{r×r} (1 < l < L),  W_L ∈ R^{m×r},

for a target ``M ∈ R^{m×n}`` with singular values ``σ₁ >= σ₂ >= ...``.  Depth 2 is matrix
factorization ``½‖XYᵀ - M‖²`` with ``X = W_2``, ``Y = W_1ᵀ``
(:class:`flatlib.problems.MatrixFactorization`).  Parameters are one flat vector
``z = [vec W_1, ..., vec W_L]`` (row-major ravel of each factor).

Notation: ``P = W_L ⋯ W_1``, residual ``R = P - M``, and for each layer the *left* and
*right* factors ``A_l = W_L ⋯ W_{l+1}`` (``A_L = I_m``) and ``B_l = W_{l-1} ⋯ W_1``
(``B_1 = I_n``), so that ``P = A_l W_l B_l``.

Facts implemented here (each derived below and checked in ``tests/test_dynamics.py``
against dense Hessians and Lanczos):

* Gradient ``∇_{W_l} f = A_lᵀ R B_lᵀ``; the Hessian-vector product is exact
  (:meth:`DeepFactorization.hvp`).
* Symmetry ``W_l -> G_l W_l G_{l-1}^{-1}`` (``G_0 = I_n``, ``G_L = I_m``) and the
  conserved matrices of the gradient flow ``C_l = W_{l+1}ᵀW_{l+1} - W_l W_lᵀ``
  (:meth:`DeepFactorization.charges`).  Under GD with step ``η`` they change exactly by
  ``C_l⁺ - C_l = η² (∇_{l+1}ᵀ∇_{l+1} - ∇_l ∇_lᵀ)`` (``∇_l = ∇_{W_l} f``): the first-order
  terms cancel because ``W_{l+1}ᵀ ∇_{l+1} = ∇_l W_lᵀ``.
* **λ_max at a minimizer** (``R = 0``).  There ``∇²f = JᵀJ`` with ``J`` the differential of
  ``z -> P``, ``J(V) = Σ_l A_l V_l B_l``.  The nonzero spectrum of ``JᵀJ`` is that of
  ``JJᵀ: Z -> Σ_l A_l A_lᵀ Z B_lᵀ B_l`` on ``R^{m×n}``, i.e. of the ``mn × mn`` matrix
  ``Σ_l (B_lᵀB_l) ⊗ (A_l A_lᵀ)``.  So

  .. math:: λ_{\max} = λ_{\max}\Bigl(\sum_l (B_l^\top B_l) ⊗ (A_l A_l^\top)\Bigr)
            \le \sum_l \|A_l\|_2^2 \|B_l\|_2^2

  (:func:`lambda_max_at_minimizer`, :func:`spectral_norm_products`).  At depth 2
  (``A_1 = X``, ``B_1 = I``, ``A_2 = I``, ``B_2 = Yᵀ``) the matrix is
  ``I ⊗ XXᵀ + YYᵀ ⊗ I``, with eigenvalues ``λ_i(XXᵀ) + λ_j(YYᵀ)``, hence the bound is
  attained: ``λ_max = ‖X‖₂² + ‖Y‖₂²`` at **every** minimizer.
* **The flattest minima.**  With ``u, v`` the top singular vectors of ``M``, the test
  matrix ``Z = u vᵀ`` gives ``λ_max >= Σ_l a_l² b_l²``, ``a_l = ‖A_lᵀu‖``,
  ``b_l = ‖B_l v‖``.  Writing ``q_l = A_lᵀ u`` and ``p_l = B_l v``
  (``q_{l-1} = W_lᵀ q_l``, ``p_{l+1} = W_l p_l``, ``‖q_L‖ = ‖p_1‖ = 1``),
  ``σ₁ = uᵀ M v = q_lᵀ p_{l+1} <= ‖q_l‖ ‖p_{l+1}‖`` for each ``l < L``, so
  ``Π_l a_l b_l = Π_{l<L} ‖q_l‖‖p_{l+1}‖ >= σ₁^{L-1}``, and by the AM-GM inequality

  .. math:: λ_{\max} \ge L\,σ_1^{2(L-1)/L}   \quad\text{at every global minimizer } (P = M),

  with equality at the balanced minimizers (:func:`balanced_factors`), where
  ``‖A_l‖₂ ‖B_l‖₂ = σ₁^{(L-1)/L}`` for every ``l`` (:func:`flattest_lambda_max`).  Hence a
  sufficient condition for a minimizer to be flat in the ``λ_max`` sense is
  ``‖A_l‖₂ ‖B_l‖₂ = σ₁^{(L-1)/L}`` for all ``l`` (the upper bound meets the lower one);
  at depth 2 it is also necessary, since ``λ_max = ‖X‖₂² + ‖Y‖₂² >= 2‖X‖₂‖Y‖₂ >= 2σ₁``
  with equality iff ``‖X‖₂² = ‖Y‖₂² = σ₁``: flat minima are the ones balanced in the
  *spectral* norm, which need not satisfy ``XᵀX = YᵀY``.  Kamber & Parhi
  (*Sharpness of minima in deep matrix factorization*, arXiv:2509.25783) derive an exact
  expression of ``λ_max`` at every minimizer and state that flat minima are spectral-norm
  balanced (necessary and sufficient for depth 2 and deep scalar factorization); we have
  only their abstract, so the derivation above is ours.  Note that equal products
  ``‖X‖₂ = ‖Y‖₂`` alone do not suffice: with ``σ₁ = σ₂`` and a shear ``G``,
  ``(X G, Y G^{-ᵀ})`` has ``‖X G‖₂ = ‖Y G^{-ᵀ}‖₂ > √σ₁``; the level ``σ₁^{(L-1)/L}``
  is part of the condition.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_point, as_positive_int
from .base import Problem

__all__ = [
    "DeepFactorization",
    "balanced_factors",
    "transform_factors",
    "lambda_max_at_minimizer",
    "spectral_norm_products",
    "flattest_lambda_max",
]


def _as_matrix(A, name):
    try:
        arr = np.array(A, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of real numbers") from exc
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _as_factors(Ws, name="Ws"):
    if isinstance(Ws, np.ndarray) and Ws.ndim == 2:
        raise TypeError(f"{name} must be a sequence of 2-D arrays (W_1, ..., W_L), got one 2-D array")
    try:
        Ws = [_as_matrix(W, f"{name}[{i}]") for i, W in enumerate(Ws)]
    except TypeError as exc:
        raise TypeError(f"{name} must be a sequence of 2-D arrays (W_1, ..., W_L)") from exc
    if len(Ws) < 1:
        raise ValueError(f"{name} must hold at least one factor")
    for i in range(1, len(Ws)):
        if Ws[i].shape[1] != Ws[i - 1].shape[0]:
            raise ValueError(f"{name}[{i}] has {Ws[i].shape[1]} columns but {name}[{i - 1}] has "
                             f"{Ws[i - 1].shape[0]} rows: the product W_L ... W_1 is undefined")
    return Ws


def _chain(Ws, i, j):
    """``Ws[j-1] @ ... @ Ws[i]`` (0-based, highest index on the left); identity if ``i == j``."""
    if i == j:
        d = Ws[i].shape[1] if i < len(Ws) else Ws[-1].shape[0]
        return np.eye(d)
    out = Ws[i]
    for k in range(i + 1, j):
        out = Ws[k] @ out
    return out


def _left_right(Ws):
    """Left factors ``A_l = W_L ⋯ W_{l+1}`` and right factors ``B_l = W_{l-1} ⋯ W_1`` (0-based
    lists), by one sweep in each direction."""
    L = len(Ws)
    B = [np.eye(Ws[0].shape[1])]
    for l in range(L - 1):
        B.append(Ws[l] @ B[-1])
    A = [np.eye(Ws[-1].shape[0])]
    for l in range(L - 1, 0, -1):
        A.append(A[-1] @ Ws[l])
    return A[::-1], B


class DeepFactorization(Problem):
    r"""``f(W_1, ..., W_L) = ½‖W_L ⋯ W_1 - M‖²_F`` with hidden width ``r`` and depth ``L``.

    Parameters
    ----------
    M : array_like (m, n)
        Target (finite).
    rank : int
        Hidden width ``r`` (``W_1`` is ``r×n``, the middle factors ``r×r``, ``W_L`` is ``m×r``).
    depth : int >= 2
        Number of factors ``L``.

    Attributes
    ----------
    M, rank, depth
    dims : tuple
        ``(n, r, ..., r, m)``: ``W_l`` is ``dims[l] × dims[l-1]``.
    n : int
        Number of parameters ``r(n + m) + (L - 2) r²``.
    n_samples : int
        ``m n``, the entries of ``M`` (see :meth:`sample_grad`).

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([8.0, 1.0])
    >>> P = DeepFactorization(M, rank=2, depth=3)
    >>> P.dims, P.n
    ((2, 2, 2, 2), 12)
    >>> z = P.pack(balanced_factors(M, 2, 3))
    >>> round(P.f(z), 12), round(float(np.linalg.norm(P.grad(z))), 12)
    (0.0, 0.0)
    >>> round(float(np.linalg.eigvalsh(P.hess(z))[-1]), 8), round(flattest_lambda_max(M, 3), 8)
    (48.0, 48.0)
    """

    name = "deep_factorization"

    def __init__(self, M, rank, depth):
        self.M = _as_matrix(M, "M")
        self.M.setflags(write=False)
        self.rank = as_positive_int(rank, "rank")
        self.depth = as_positive_int(depth, "depth")
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        m, n = self.M.shape
        self.dims = (n,) + (self.rank,) * (self.depth - 1) + (m,)
        self.shapes = [(self.dims[l + 1], self.dims[l]) for l in range(self.depth)]
        self.sizes = [a * b for a, b in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n = int(self.offsets[-1])
        self.n_samples = m * n
        self._cache = None

    # ---------------------------------------------------------------- packing
    def pack(self, Ws):
        """``z = [W_1.ravel(), ..., W_L.ravel()]`` after shape checks.

        Examples
        --------
        >>> import numpy as np
        >>> P = DeepFactorization(np.ones((1, 2)), rank=1, depth=2)
        >>> P.pack([[[1.0, 2.0]], [[3.0]]])
        array([1., 2., 3.])
        """
        Ws = _as_factors(Ws)
        if len(Ws) != self.depth:
            raise ValueError(f"Ws must hold {self.depth} factors, got {len(Ws)}")
        for l, (W, s) in enumerate(zip(Ws, self.shapes)):
            if W.shape != s:
                raise ValueError(f"Ws[{l}] must have shape {s}, got {W.shape}")
        return np.concatenate([W.ravel() for W in Ws])

    def unpack(self, z, name="z"):
        """The factors ``[W_1, ..., W_L]`` (views of a checked copy of ``z``).

        Examples
        --------
        >>> import numpy as np
        >>> P = DeepFactorization(np.ones((1, 2)), rank=1, depth=2)
        >>> [W.tolist() for W in P.unpack(np.arange(3.0))]
        [[[0.0, 1.0]], [[2.0]]]
        """
        z = as_point(z, name, n=self.n)
        return [z[self.offsets[l]:self.offsets[l + 1]].reshape(self.shapes[l]) for l in range(self.depth)]

    def _state(self, z):
        if (type(z) is np.ndarray and z.dtype == np.float64 and z.shape == (self.n,)
                and np.isfinite(z).all()):
            z = z.copy()                                   # fast path: a valid flat vector
        else:
            z = as_point(z, "x", n=self.n)
        key = z.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        Ws = [z[self.offsets[l]:self.offsets[l + 1]].reshape(self.shapes[l]) for l in range(self.depth)]
        A, B = _left_right(Ws)
        P = A[0] @ Ws[0]
        st = (Ws, A, B, P - self.M)
        self._cache = (key, st)
        return st

    # ---------------------------------------------------------------- the loss
    def product(self, z):
        """``P = W_L ⋯ W_1``.

        Examples
        --------
        >>> import numpy as np
        >>> P = DeepFactorization(np.ones((1, 1)), rank=1, depth=3)
        >>> P.product([2.0, 3.0, 0.5])
        array([[3.]])
        """
        Ws, A, B, R = self._state(z)
        return R + self.M

    def f(self, x):
        R = self._state(x)[3]
        return float(0.5 * np.sum(R * R))

    def grad(self, x):
        Ws, A, B, R = self._state(x)
        return np.concatenate([(A[l].T @ R @ B[l].T).ravel() for l in range(self.depth)])

    def hvp(self, x, v):
        r"""Exact ``∇²f(z) v``: with ``dP = Σ_k A_k V_k B_k``, the derivative of
        ``∇_l = A_lᵀ R B_lᵀ`` is ``dA_lᵀ R B_lᵀ + A_lᵀ dP B_lᵀ + A_lᵀ R dB_lᵀ``, where
        ``dA_l = Σ_{k>l} A_k V_k W_{k-1} ⋯ W_{l+1}`` and
        ``dB_l = Σ_{k<l} W_{l-1} ⋯ W_{k+1} V_k B_k``.

        Examples
        --------
        >>> import numpy as np
        >>> P = DeepFactorization(np.ones((1, 1)), rank=1, depth=2)     # ½(xy - 1)²
        >>> P.hvp([2.0, 0.5], [1.0, 0.0])                                # column 1 of [[y², 2xy-1], [2xy-1, x²]]
        array([0.25, 1.  ])
        """
        Ws, A, B, R = self._state(x)
        L = self.depth
        V = [np.asarray(m) for m in self.unpack(v, "v")]
        dP = sum(A[k] @ V[k] @ B[k] for k in range(L))
        out = []
        for l in range(L):
            t = A[l].T @ dP @ B[l].T
            if np.any(R):
                dA = sum((A[k] @ V[k] @ _chain(Ws, l + 1, k) for k in range(l + 1, L)),
                         np.zeros_like(A[l]))
                dB = sum((_chain(Ws, k + 1, l) @ V[k] @ B[k] for k in range(l)), np.zeros_like(B[l]))
                t = t + dA.T @ R @ B[l].T + A[l].T @ R @ dB.T
            out.append(t.ravel())
        return np.concatenate(out)

    def sample_grad(self, x, k):
        r"""Gradient of the entry loss ``f_k = ½ R_{ij}²`` (``k = i n + j``), so that
        ``f = Σ_k f_k``: ``∇_{W_l} f_k = R_{ij} (A_l[i, :])ᵀ (B_l[:, j])ᵀ``.

        Examples
        --------
        >>> import numpy as np
        >>> P = DeepFactorization(np.arange(6.0).reshape(2, 3), rank=2, depth=2)
        >>> z = np.random.default_rng(0).standard_normal(P.n)
        >>> bool(np.allclose(sum(P.sample_grad(z, k) for k in range(6)), P.grad(z)))
        True
        """
        Ws, A, B, R = self._state(x)
        m, n = self.M.shape
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 0 <= k < m * n:
            raise ValueError(f"k must be an integer in [0, {m * n}), got {k!r}")
        i, j = divmod(int(k), n)
        out = np.empty(self.n)
        for l in range(self.depth):
            out[self.offsets[l]:self.offsets[l + 1]] = (R[i, j] * A[l][i, :, None] * B[l][None, :, j]).ravel()
        return out

    def charges(self, z):
        r"""The conserved matrices ``C_l = W_{l+1}ᵀ W_{l+1} - W_l W_lᵀ``, ``l = 1..L-1``
        (``r × r``), stacked: shape ``(L - 1, r, r)``.  Depth 2: ``XᵀX - YᵀY``.

        Examples
        --------
        >>> P = DeepFactorization([[1.0]], rank=1, depth=3)
        >>> P.charges([1.0, 2.0, 3.0]).ravel().tolist()        # y² - x², z² - y²
        [3.0, 5.0]
        """
        Ws = self.unpack(z)
        return np.array([Ws[l + 1].T @ Ws[l + 1] - Ws[l] @ Ws[l].T for l in range(self.depth - 1)])

    def lambda_max_at_minimizer(self, z, rtol=1e-8):
        r""":func:`lambda_max_at_minimizer` of the factors of ``z``, after checking that
        ``z`` is a global minimizer (``‖P - M‖_F <= rtol · max(1, ‖M‖_F)``).

        Examples
        --------
        >>> import numpy as np
        >>> M = np.diag([3.0, 1.0])
        >>> P = DeepFactorization(M, 2, 2)
        >>> round(P.lambda_max_at_minimizer(P.pack(balanced_factors(M, 2, 2))), 10)     # 2 σ₁
        6.0
        """
        R = self._state(z)[3]
        tol = rtol * max(1.0, float(np.linalg.norm(self.M)))
        if np.linalg.norm(R) > tol:
            raise ValueError(f"z is not a global minimizer: ||P - M||_F = {np.linalg.norm(R):.3g} > {tol:.3g}")
        return lambda_max_at_minimizer(self.unpack(z))


# --------------------------------------------------------------------------- minimizers
def balanced_factors(M, rank, depth):
    r"""The balanced minimizer ``W_1 = S V_rᵀ``, ``W_l = S`` (``1 < l < L``), ``W_L = U_r S``
    with ``S = Σ_r^{1/L}`` (top-``r`` SVD ``M ≈ U_r Σ_r V_rᵀ``; exact when ``rank M <= r``).
    All conserved matrices ``C_l`` vanish and ``λ_max = L σ₁^{2(L-1)/L}``.

    Examples
    --------
    >>> import numpy as np
    >>> Ws = balanced_factors(np.diag([8.0, 1.0]), 2, 3)
    >>> np.round(Ws[2] @ Ws[1] @ Ws[0], 12).tolist()
    [[8.0, 0.0], [0.0, 1.0]]
    """
    M = _as_matrix(M, "M")
    rank = as_positive_int(rank, "rank")
    depth = as_positive_int(depth, "depth")
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    if rank > min(M.shape):
        raise ValueError(f"rank must be <= min(m, n) = {min(M.shape)}, got {rank}")
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    S = np.diag(s[:rank] ** (1.0 / depth))
    return [S @ Vt[:rank]] + [S.copy() for _ in range(depth - 2)] + [U[:, :rank] @ S]


def transform_factors(Ws, Gs):
    r"""The point ``W_l -> G_l W_l G_{l-1}^{-1}`` of the symmetry orbit (``G_0 = I``,
    ``G_L = I``): the product ``W_L ⋯ W_1`` is unchanged.

    Parameters
    ----------
    Ws : sequence of L arrays
    Gs : sequence of L - 1 invertible square arrays, or of 1-D arrays (diagonals)

    Examples
    --------
    >>> import numpy as np
    >>> Ws = balanced_factors(np.diag([4.0, 1.0]), 2, 2)
    >>> X, Yt = transform_factors(Ws, [[1.0, 3.0]])[::-1]   # column 2 of X times 3, of Y / 3
    >>> np.round(X @ Yt, 12).tolist()
    [[4.0, 0.0], [0.0, 1.0]]
    """
    Ws = _as_factors(Ws)
    if len(Gs) != len(Ws) - 1:
        raise ValueError(f"Gs must hold len(Ws) - 1 = {len(Ws) - 1} matrices, got {len(Gs)}")
    Gm = []
    for l, G in enumerate(Gs):
        G = np.asarray(G, dtype=float)
        if G.ndim == 1:
            G = np.diag(G)
        d = Ws[l].shape[0]
        if G.shape != (d, d) or not np.all(np.isfinite(G)):
            raise ValueError(f"Gs[{l}] must be a finite ({d}, {d}) matrix or a length-{d} diagonal")
        if np.linalg.cond(G) > 1e12:
            raise ValueError(f"Gs[{l}] must be invertible")
        Gm.append(G)
    out = []
    for l, W in enumerate(Ws):
        left = Gm[l] if l < len(Gm) else np.eye(W.shape[0])
        right = np.linalg.inv(Gm[l - 1]) if l > 0 else np.eye(W.shape[1])
        out.append(left @ W @ right)
    return out


# --------------------------------------------------------------------------- sharpness
def lambda_max_at_minimizer(Ws):
    r"""``λ_max(∇²f)`` at a point with ``W_L ⋯ W_1 = M`` (zero residual), from the
    ``mn × mn`` matrix ``Σ_l (B_lᵀB_l) ⊗ (A_l A_lᵀ)`` (see the module docstring): the
    Hessian ``JᵀJ`` and ``JJᵀ`` share their nonzero eigenvalues.  Depends on the factors
    only; it is the Hessian's top eigenvalue only where the residual vanishes.

    Examples
    --------
    Depth 2: ``‖X‖₂² + ‖Y‖₂²``:

    >>> import numpy as np
    >>> X = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]); Y = np.array([[1.0, 0.0], [0.0, 3.0]])
    >>> round(lambda_max_at_minimizer([Y.T, X]), 10)          # 2² + 3²
    13.0
    """
    Ws = _as_factors(Ws)
    A, B = _left_right(Ws)
    m, n = Ws[-1].shape[0], Ws[0].shape[1]
    K = np.zeros((m * n, m * n))
    for Al, Bl in zip(A, B):
        K += np.kron(Bl.T @ Bl, Al @ Al.T)
    return float(np.linalg.eigvalsh(0.5 * (K + K.T))[-1])


def spectral_norm_products(Ws):
    r"""``(‖A_l‖₂ ‖B_l‖₂)_{l=1..L}``: the products of the spectral norms of the left and
    right factors of each layer.  At a minimizer ``λ_max <= Σ_l (‖A_l‖₂‖B_l‖₂)²``, with
    equality at depth 2; every entry equal to ``σ₁^{(L-1)/L}`` makes the minimizer flat.

    Examples
    --------
    >>> import numpy as np
    >>> Ws = balanced_factors(np.diag([8.0, 1.0]), 2, 3)
    >>> np.round(spectral_norm_products(Ws), 10).tolist()    # 8^(2/3) = 4 for every layer
    [4.0, 4.0, 4.0]
    """
    Ws = _as_factors(Ws)
    A, B = _left_right(Ws)
    return np.array([np.linalg.norm(a, 2) * np.linalg.norm(b, 2) for a, b in zip(A, B)])


def flattest_lambda_max(M, depth):
    r"""``L σ₁^{2(L-1)/L}``: the smallest ``λ_max`` over the global minimizers of the
    depth-``L`` factorization of ``M`` (a lower bound at every minimizer, attained at the
    balanced ones; proof in the module docstring).  Depth 2: ``2σ₁``.

    Examples
    --------
    >>> import numpy as np
    >>> flattest_lambda_max(np.diag([3.0, 1.0]), 2), round(flattest_lambda_max(np.diag([8.0, 1.0]), 3), 10)
    (6.0, 48.0)
    """
    M = _as_matrix(M, "M")
    depth = as_positive_int(depth, "depth")
    s1 = float(np.linalg.norm(M, 2))
    return float(depth * s1 ** (2.0 * (depth - 1) / depth))
