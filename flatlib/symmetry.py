r"""Linear symmetries of a function from a black-box gradient, and their
Noether charges.

Mathematics
-----------
A *linear symmetry* of ``f: R^n -> R`` is a one-parameter group
``x -> e^{tA} x`` with ``f(e^{tA} x) = f(x)`` for all ``t`` and ``x``.
Differentiating at ``t = 0`` gives the infinitesimal condition

.. math::  \langle \nabla f(x), A x \rangle = 0 \quad\text{for all } x,

and conversely the condition implies invariance (the derivative of
``t -> f(e^{tA}x)`` is ``<∇f(e^{tA}x), A e^{tA}x> = 0``).  The set of such
matrices ``A`` is a Lie algebra, the *symmetry algebra* ``g`` of ``f``.
Since ``<∇f(x), A x> = <∇f(x) xᵀ, A>_F`` is linear in ``A``, the algebra is the
common null space of the linear forms ``A -> <g_s x_sᵀ, A>_F`` over all points;
:func:`symmetry_algebra` estimates it from finitely many sampled points.

Noether: if ``S`` is a *symmetric* matrix in ``g`` then the quadratic charge
``Q_S(x) = ½ <x, S x>`` satisfies ``d/dt Q_S(x(t)) = -<S x, ∇f(x)> = 0`` along
the gradient flow ``x' = -∇f(x)`` (and along subgradient flows of locally
Lipschitz definable ``f``, by the chain rule).  Conversely, a quadratic
``½<x, S x>`` that is conserved by every gradient flow of ``f`` has
``S ∈ g``.  So the quadratic conserved quantities are exactly the symmetric
elements ``g ∩ Sym(n)``; :func:`conserved_quantities` computes that
intersection.  Antisymmetric elements (isometries, e.g. the rotations of a
rotation-invariant ``f``) give the trivial charge ``½<x, A x> = 0``.  The
symmetric *part* ``(A + Aᵀ)/2`` of a generator that is not itself in
``g ∩ Sym(n)`` is in general **not** conserved, which is why the
intersection, not the span of symmetric parts, is used; the two coincide when
``g`` is closed under transposition (matrix factorization, scalar and deep
scalar factorization, ReLU rescalings).

This module is part of the core: it takes callables and arrays only and never
imports :mod:`flatlib.problems`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validate import _real_array, as_bool, as_point, as_scalar, check_callable, vector_fn

__all__ = [
    "symmetry_algebra",
    "SymmetryAlgebraResult",
    "conserved_quantities",
    "ConservedQuantities",
]


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

def _as_samples(samples, name="samples"):
    X = _real_array(samples, name, "a 2-D array of shape (n_samples, n) of real numbers")
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n_samples, n), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        bad = np.flatnonzero(~np.all(np.isfinite(X), axis=1)).tolist()[:5]
        raise ValueError(f"{name} must be finite, got non-finite rows {bad}")
    return X


def _as_generators(generators, name="generators", n=None):
    """(k, n, n) finite float array; a single (n, n) matrix is promoted."""
    G = _real_array(generators, name, "an array of shape (k, n, n) of real numbers")
    if G.ndim == 2 and G.shape[0] == G.shape[1] and G.size > 0:
        G = G[None]
    if G.ndim != 3 or G.shape[1] != G.shape[2] or G.shape[1] == 0:
        raise ValueError(f"{name} must have shape (k, n, n), got shape {G.shape}")
    if n is not None and G.shape[1] != n:
        raise ValueError(f"{name} must act on R^{n}, got matrices of size {G.shape[1]}")
    if not np.all(np.isfinite(G)):
        raise ValueError(f"{name} must be finite")
    return G


def _as_tol(tol, default, name="tol"):
    if tol is None:
        return default
    t = as_scalar(tol, name)
    if not (0.0 < t < 1.0):
        raise ValueError(f"{name} must be a relative threshold in (0, 1), got {tol!r}")
    return t


def _canonical_basis(V, tol=1e-10):
    """Deterministic orthonormal basis of span(columns of V).

    Any orthonormal basis of a subspace is defined up to a rotation; to make
    outputs reproducible we (1) bring the basis to reduced echelon form on the
    pivot coordinates chosen by column-pivoted QR, (2) re-orthonormalize by
    Gram-Schmidt in that order with positive diagonal, (3) make the largest
    entry of each vector positive."""
    import scipy.linalg as sla

    k = V.shape[1]
    if k == 0:
        return V
    _, _, piv = sla.qr(V.T, mode="economic", pivoting=True)
    piv = np.sort(piv[:k])
    E = V @ np.linalg.solve(V[piv, :], np.eye(k))     # echelon: E[piv] = I
    Qm, R = np.linalg.qr(E)
    Qm = Qm * np.sign(np.where(np.diag(R) == 0, 1.0, np.diag(R)))
    for j in range(k):
        v = Qm[:, j]
        i = int(np.argmax(np.abs(v) > (1 - 1e-9) * np.max(np.abs(v))))
        if v[i] < 0:
            Qm[:, j] = -v
    Qm[np.abs(Qm) < tol * 1e-3] = 0.0
    return Qm


def _null_space(M, n_unknowns, rtol, scale=None):
    """Null space of M (rows = equations) with a relative threshold.

    Returns (N, s_padded, rank, gap) where N has orthonormal columns,
    s_padded are the n_unknowns singular values padded with structural zeros
    when there are fewer equations than unknowns."""
    S = M.shape[0]
    if S == 0:
        return np.eye(n_unknowns), np.zeros(n_unknowns), 0, np.inf
    if S >= n_unknowns:
        _, s, Vt = np.linalg.svd(M, full_matrices=False)
    else:
        _, s, Vt = np.linalg.svd(M, full_matrices=True)
    s_pad = np.zeros(n_unknowns)
    s_pad[: s.size] = s
    smax = (s_pad[0] if n_unknowns else 0.0) if scale is None else float(scale)
    rank = int(np.sum(s_pad > rtol * smax)) if smax > 0 else 0
    if rank < n_unknowns:
        gap = np.inf if s_pad[rank] == 0 else (s_pad[rank - 1] / s_pad[rank] if rank > 0 else 1.0)
    else:
        gap = np.inf
    return Vt[rank:].T.copy(), s_pad, rank, float(gap)


# ----------------------------------------------------------------------------
# symmetry algebra
# ----------------------------------------------------------------------------

@dataclass
class SymmetryAlgebraResult:
    """Full output of :func:`symmetry_algebra`.

    Attributes
    ----------
    basis : ndarray (k, n, n) or list of k sparse matrices
        Frobenius-orthonormal basis of the estimated algebra (sparse when the
        candidates were given as sparse matrices).
    dim : int
        ``k``, the estimated dimension.
    singular_values : ndarray
        Singular values of the (row-normalized) constraint matrix, one per
        unknown (``n²``, or the number of independent candidates), in
        decreasing order; trailing structural zeros when there were fewer
        informative samples than unknowns.
    rank : int
        Number of singular values above ``tol · s_max``.
    tol : float
        The relative threshold used.
    gap : float
        ``s[rank-1] / s[rank]``, the ratio between the smallest singular value
        kept as a constraint and the largest one declared zero (``inf`` when
        the discarded ones are exact/structural zeros).  A large gap (say
        ``> 1e4``) means the rank decision is unambiguous.
    n_samples_used : int
        Samples with a nonzero constraint row (``∇f(x_s) ≠ 0`` and ``x_s ≠ 0``).
    coefficients : ndarray (k, p) or None
        With ``candidates``: the basis as combinations of the candidates.
    saturated : bool
        ``True`` when the rank stayed below the number of informative samples,
        i.e. the samples exhausted the constraints (the estimate is reliable);
        ``False`` means every sample gave an independent constraint and the
        returned dimension is only an upper bound: add samples.
    """

    basis: object
    dim: int
    singular_values: np.ndarray
    rank: int
    tol: float
    gap: float
    n_samples_used: int
    coefficients: np.ndarray | None = None
    saturated: bool = True
    message: str = field(default="")

    def __iter__(self):  # allows ``basis, svals = symmetry_algebra(..., full_output=True)``
        yield self.basis
        yield self.singular_values


def _constraint_rows(g, X):
    """Rows vec(g_s x_sᵀ), normalized to unit length; zero rows dropped."""
    norms = np.linalg.norm(g, axis=1) * np.linalg.norm(X, axis=1)
    keep = norms > 0
    g = g[keep] / np.linalg.norm(g[keep], axis=1, keepdims=True)
    Xn = X[keep] / np.linalg.norm(X[keep], axis=1, keepdims=True)
    return g, Xn


def symmetry_algebra(grad, samples, *, tol=None, candidates=None, full_output=False):
    r"""Linear symmetry algebra of ``f`` estimated from gradients at samples.

    Returns a Frobenius-orthonormal basis of the matrices ``A`` (linear vector
    fields ``x -> A x``) with

    .. math:: \langle \nabla f(x_s), A x_s\rangle = 0 \qquad s = 1..S,

    i.e. the null space of the linear map
    ``A -> (<∇f(x_s) x_sᵀ, A>_F)_s``, computed by an SVD of the ``S × n²``
    matrix whose rows are ``vec(g_s x_sᵀ)`` (each row normalized to unit
    length, which does not change the null space but balances samples with
    very different gradient sizes; rows with ``g_s = 0`` or ``x_s = 0`` carry
    no information and are dropped).

    Parameters
    ----------
    grad : callable
        ``grad(x) -> (n,)`` gradient of ``f``; a subgradient selection works
        for locally Lipschitz ``f`` at points of differentiability.
    samples : array_like (S, n)
        Sample points.  Every sample gives **one** scalar equation on the
        ``n²`` unknowns, so at least ``n² - k`` samples in general position are
        needed to pin down a ``k``-dimensional algebra; use about ``2 n²``
        (``2 p`` with ``p`` candidates) so that the rank decision has slack.
        The result is only certified when it is *saturated* (rank strictly
        below the number of informative samples); otherwise a warning is
        issued because the dimension found is then just an upper bound.
    tol : float in (0, 1), optional
        Relative singular-value threshold: singular values ``<= tol · s_max``
        are treated as zero.  Default ``1e-8``.  The ratio between the last
        kept and the first discarded singular value is reported as ``gap``.
    candidates : array_like (p, n, n) or sequence of p scipy.sparse matrices, optional
        Restrict the search to the span of these matrices (for large ``n``,
        e.g. block-structured generators, where ``n²`` unknowns are too
        many).  The ``S × p`` system ``<g_s, C_j x_s>`` is solved for the
        coefficients; the candidates are first orthonormalized (Gram matrix,
        linearly dependent ones dropped) so the returned basis is again
        Frobenius-orthonormal.  The result is the algebra **intersected with**
        the span of the candidates.  Sparse candidates give a list of sparse
        basis matrices (a dense ``(k, n, n)`` array would not fit for large
        ``n``).
    full_output : bool
        If ``True`` return a :class:`SymmetryAlgebraResult` (basis, singular
        values, rank, gap, ...), which also unpacks as
        ``basis, singular_values``.

    Returns
    -------
    basis : ndarray (k, n, n)
        Orthonormal basis (``Σ_ij A_ij B_ij = δ_AB``), in a deterministic
        canonical form (echelon form on pivot entries, then Gram-Schmidt,
        largest entry positive).  ``k = 0`` gives shape ``(0, n, n)``.

    Raises
    ------
    ValueError
        ``samples`` not a finite 2-D array; ``grad`` returning a wrong shape or
        non-finite values (the message names ``grad``); bad ``tol`` or
        ``candidates``.

    Examples
    --------
    The scalar factorization ``f(x, y) = ½(xy - 1)²`` has the one-dimensional
    algebra spanned by ``diag(1, -1)`` (the rescaling ``(x, y) -> (e^t x, e^{-t} y)``):

    >>> import numpy as np
    >>> grad = lambda v: (v[0] * v[1] - 1.0) * np.array([v[1], v[0]])
    >>> X = np.random.default_rng(0).normal(size=(8, 2))
    >>> A = symmetry_algebra(grad, X)
    >>> A.shape
    (1, 2, 2)
    >>> np.round(A[0] * np.sqrt(2), 6) + 0.0
    array([[ 1.,  0.],
           [ 0., -1.]])
    >>> res = symmetry_algebra(grad, X, full_output=True)
    >>> res.rank, res.gap > 1e8, res.saturated
    (3, True, True)
    """
    check_callable(grad, "grad")
    X = _as_samples(samples)
    S, n = X.shape
    rtol = _as_tol(tol, 1e-8)
    full_output = as_bool(full_output, "full_output")
    g = vector_fn(grad, n, "grad", point="a row of samples")
    G = np.array([g(x) for x in X])
    Gn, Xn = _constraint_rows(G, X)
    S_used = Gn.shape[0]

    if candidates is None:
        M = (Gn[:, :, None] * Xn[:, None, :]).reshape(S_used, n * n)
        N, s, rank, gap = _null_space(M, n * n, rtol)
        N = _canonical_basis(N)
        basis = N.T.reshape(-1, n, n)
        coeffs = None
        n_unknowns = n * n
    else:
        cand, sparse = _as_candidates(candidates, n)
        W = _orthonormal_combinations(cand, sparse)        # (p, q)
        q = W.shape[1]
        # M_c[s, j] = <g_s, C_j x_s>
        if sparse:
            Mc = np.column_stack([np.einsum("si,si->s", Gn, (C @ Xn.T).T) for C in cand])
        else:
            Mc = np.einsum("si,jik,sk->sj", Gn, cand, Xn, optimize=True)
        M = Mc @ W
        N, s, rank, gap = _null_space(M, q, rtol)
        N = _canonical_basis(N)
        coeffs = (W @ N).T                                   # (k, p)
        coeffs[np.abs(coeffs) < 1e-13] = 0.0
        if sparse:
            basis = []
            for c in coeffs:
                b = 0.0 * cand[0]
                for j in np.flatnonzero(c):
                    b = b + c[j] * cand[j]
                basis.append(b.tocsr())
        else:
            basis = np.einsum("kj,jab->kab", coeffs, cand) if coeffs.size else np.zeros((0, n, n))
        n_unknowns = q

    k = n_unknowns - rank
    saturated = rank < S_used or k == 0
    msg = (f"dimension {k}: rank {rank} of {n_unknowns} unknowns from {S_used} informative "
           f"samples, gap {gap:.3g}")
    if not saturated:
        msg += ("; not saturated: every sample gave an independent constraint, so the "
                "dimension is only an upper bound (add samples)")
        warnings.warn("symmetry_algebra: " + msg, UserWarning, stacklevel=2)
    if not full_output:
        return basis
    return SymmetryAlgebraResult(basis=basis, dim=k, singular_values=s, rank=rank, tol=rtol,
                                 gap=gap, n_samples_used=S_used, coefficients=coeffs,
                                 saturated=saturated, message=msg)


def _as_candidates(candidates, n):
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        sp = None
    if sp is not None and isinstance(candidates, (list, tuple)) and len(candidates) > 0 \
            and all(sp.issparse(c) for c in candidates):
        cand = [sp.csr_matrix(c, dtype=float) for c in candidates]
        for j, c in enumerate(cand):
            if c.shape != (n, n):
                raise ValueError(f"candidates[{j}] must have shape ({n}, {n}), got {c.shape}")
            if not np.all(np.isfinite(c.data)):
                raise ValueError(f"candidates[{j}] must be finite")
        return cand, True
    C = _as_generators(candidates, "candidates", n)
    return C, False


def _orthonormal_combinations(cand, sparse, rtol=1e-10):
    """W (p, q): columns are coefficient vectors of Frobenius-orthonormal
    combinations spanning span(cand)."""
    p = len(cand)
    if sparse:
        Gram = np.array([[cand[i].multiply(cand[j]).sum() for j in range(p)] for i in range(p)])
    else:
        F = cand.reshape(p, -1)
        Gram = F @ F.T
    lam, V = np.linalg.eigh(Gram)
    keep = lam > rtol * max(lam.max(), 0.0) if lam.max() > 0 else np.zeros(p, bool)
    if not np.any(keep):
        raise ValueError("candidates must not all be zero")
    return V[:, keep] / np.sqrt(lam[keep])


# ----------------------------------------------------------------------------
# conserved quantities
# ----------------------------------------------------------------------------

class ConservedQuantities:
    r"""Noether charges ``Q_i(x) = ½ <x, S_i x>`` of a symmetry algebra.

    ``S_1..S_k`` is a Frobenius-orthonormal basis of ``g ∩ Sym(n)`` (see
    :func:`conserved_quantities`).  The object is callable: ``Q(x)`` returns
    the vector ``(Q_1(x), ..., Q_k(x))``; for a 2-D input of shape ``(T, n)``
    it returns ``(T, k)``.

    Attributes
    ----------
    matrices : ndarray (k, n, n)
        The symmetric matrices ``S_i``.
    n : int
    k : int
        Number of charges.
    n_antisymmetric : int
        Dimension of ``g ∩ Skew(n)``: isometric generators, whose charge
        ``½<x, A x>`` vanishes identically, so they give no conservation law.
    n_other : int
        ``dim g - k - n_antisymmetric``: generators that are neither (only
        when ``g`` is not closed under transposition); their symmetric parts
        are *not* conserved in general and are not used.
    message : str

    Examples
    --------
    The deep scalar factorization ``½(xyz - 1)²`` has two charges, spanning
    ``x² - y²`` and ``y² - z²``; at a point with ``x = y = z`` both vanish:

    >>> import numpy as np
    >>> Q = conserved_quantities(np.array([np.diag([1.0, -1.0, 0.0]), np.diag([0.0, 1.0, -1.0])]))
    >>> Q.k, np.allclose(Q([1.0, 1.0, 1.0]), 0.0)
    (2, True)

    Methods
    -------
    jacobian(x)
        The ``(k, n)`` Jacobian of the charges, rows ``S_i x``.
    h(x)
        ``½ ||Q(x)||²``.
    grad_h(x)
        ``J_Q(x)ᵀ Q(x) = Σ_i Q_i(x) S_i x``.
    """

    def __init__(self, matrices, n_antisymmetric=0, n_other=0, n=None):
        self.matrices = np.asarray(matrices, dtype=float)
        self.n = int(self.matrices.shape[1]) if n is None else int(n)
        self.k = int(self.matrices.shape[0])
        self.n_antisymmetric = int(n_antisymmetric)
        self.n_other = int(n_other)
        parts = [f"{self.k} conserved quadratic charge(s)"]
        if self.n_antisymmetric:
            parts.append(f"{self.n_antisymmetric} antisymmetric (isometric) generator(s) give no "
                         "charge: ½<x, A x> = 0 identically")
        if self.n_other:
            parts.append(f"{self.n_other} generator direction(s) neither symmetric nor "
                         "antisymmetric: their symmetric parts are not conserved and were dropped")
        self.message = "; ".join(parts)

    def __len__(self):
        return self.k

    def _pt(self, x, name="x"):
        arr = x if isinstance(x, np.ndarray) and x.dtype == np.float64 else _real_array(
            x, name, "a point (n,) or a trajectory (T, n) of real numbers")
        if arr.ndim == 2:
            if arr.shape[1] != self.n:
                raise ValueError(f"{name} must have shape (T, {self.n}), got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
            return arr.astype(float, copy=False)
        return as_point(x, name, n=self.n)

    def __call__(self, x):
        x = self._pt(x)
        if x.ndim == 2:
            return 0.5 * np.einsum("ti,kij,tj->tk", x, self.matrices, x)
        return 0.5 * np.einsum("i,kij,j->k", x, self.matrices, x)

    def jacobian(self, x):
        """``(k, n)`` Jacobian of ``Q``: row ``i`` is ``S_i x``."""
        x = self._pt(x)
        if x.ndim != 1:
            raise ValueError(f"x must be a 1-D point of length {self.n}")
        return self.matrices @ x

    def h(self, x):
        """``h(x) = ½ Σ_i Q_i(x)²`` (zero exactly at balanced points)."""
        q = self(x)
        return 0.5 * float(q @ q) if q.ndim == 1 else 0.5 * np.sum(q * q, axis=1)

    def grad_h(self, x):
        """``∇h(x) = Σ_i Q_i(x) S_i x``, tangent to the symmetry orbit."""
        x = self._pt(x)
        q = 0.5 * np.einsum("i,kij,j->k", x, self.matrices, x)
        return np.einsum("k,kij,j->i", q, self.matrices, x)

    def __repr__(self):
        return (f"<ConservedQuantities n={self.n} k={self.k} "
                f"n_antisymmetric={self.n_antisymmetric} n_other={self.n_other}>")


def conserved_quantities(generators, *, tol=None):
    r"""Quadratic Noether charges of a linear symmetry algebra.

    Given generators spanning ``g`` (e.g. the output of
    :func:`symmetry_algebra` or a problem's ``generators()``), compute the
    intersection ``g ∩ Sym(n)`` as the null space of the linear map
    ``c -> Σ_i c_i (A_i - A_iᵀ)`` on coefficient space, orthonormalize it in the
    Frobenius inner product, and return the charges
    ``Q_i(x) = ½ <x, S_i x>``.  Each of them is conserved by the gradient flow
    of ``f``: ``d/dt Q_i = -<S_i x, ∇f(x)> = 0`` because ``S_i ∈ g``.

    The intersection ``g ∩ Skew(n)`` (dimension ``n_antisymmetric``) gives no
    charge, because ``<x, A x> = 0`` for antisymmetric ``A``: e.g. a
    rotation-invariant ``f(x) = φ(||x||²)`` has ``g = so(n)`` and no conserved
    quadratic.  When ``g`` is closed under transposition (the usual case:
    matrix factorization ``(X, Y) -> (XA, -YAᵀ)``, rescalings of
    factorizations and ReLU neurons) ``g = (g ∩ Sym) ⊕ (g ∩ Skew)`` and the
    charges are the symmetric parts of the generators.

    Parameters
    ----------
    generators : array_like (k, n, n)
        Spanning set of ``g`` (need not be independent or orthonormal); an
        ``(n, n)`` matrix is taken as ``k = 1``; ``(0, n, n)`` gives no charges.
    tol : float in (0, 1), optional
        Threshold for the null-space rank decisions, relative to the largest
        possible value 2 of ``||A ∓ Aᵀ||_F`` on Frobenius-unit generators
        (default 1e-8, loose enough for numerically estimated algebras).

    Returns
    -------
    ConservedQuantities

    Examples
    --------
    >>> import numpy as np
    >>> Q = conserved_quantities(np.diag([1.0, -1.0]))
    >>> Q.k, np.round(Q([3.0, 0.1]) * np.sqrt(2), 6)       # charge (x² - y²)/2
    (1, array([4.495]))
    >>> Q.jacobian([3.0, 0.1]).round(4)
    array([[ 2.1213, -0.0707]])
    >>> rot = np.array([[[0.0, 1.0], [-1.0, 0.0]]])          # so(2): no charge
    >>> R = conserved_quantities(rot)
    >>> R.k, R.n_antisymmetric
    (0, 1)
    """
    rtol = _as_tol(tol, 1e-8)
    G = _as_generators(generators, "generators")
    k, n, _ = G.shape
    if k == 0:
        return ConservedQuantities(np.zeros((0, n, n)), 0, 0, n=n)
    # orthonormal basis of span(G)
    F = G.reshape(k, -1)
    U, s, Vt = np.linalg.svd(F, full_matrices=False)
    r = int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0
    B = Vt[:r].reshape(r, n, n)                    # orthonormal basis of g
    if r == 0:
        return ConservedQuantities(np.zeros((0, n, n)), 0, 0, n=n)
    skew = (B - B.transpose(0, 2, 1)).reshape(r, -1).T      # n² × r
    sym = (B + B.transpose(0, 2, 1)).reshape(r, -1).T
    # B has Frobenius-orthonormal elements, so ||A ∓ Aᵀ||_F <= 2 on the unit
    # sphere of coefficients: an absolute threshold tol·2 is scale-free here.
    Nsym = _null_space(skew, r, rtol, scale=2.0)[0]
    Nskw = _null_space(sym, r, rtol, scale=2.0)[0]
    k_sym, k_skw = Nsym.shape[1], Nskw.shape[1]
    if k_sym:
        S = np.einsum("rk,rij->kij", Nsym, B)
        S = 0.5 * (S + S.transpose(0, 2, 1))
        S = _canonical_basis(S.reshape(k_sym, -1).T).T.reshape(k_sym, n, n)
        S[np.abs(S) < 1e-14] = 0.0
    else:
        S = np.zeros((0, n, n))
    return ConservedQuantities(S, k_skw, r - k_sym - k_skw, n=n)
