r"""Curvature at scale: top-k Hessian eigenpairs, traces, spectral densities and
per-block measures, from Hessian-vector products alone.

Every function takes ``hvp(x, v) -> ∇²f(x) v`` (the convention of
:mod:`flatlib.spectral`) and never forms the Hessian.  With ``batched=True`` the
callable also accepts a block ``V`` of shape ``(n, b)`` and returns ``∇²f(x) V``
(shape ``(n, b)``) in one call, e.g. one forward and one backward pass of a network
for all ``b`` vectors; block methods then pass whole blocks.  ``n_hvp`` always counts
*vectors* multiplied (a block of ``b`` counts ``b``), so counts are comparable
between batched and unbatched runs.

What is computed
----------------
* :func:`hessian_topk`: the ``k`` largest (or smallest) eigenpairs by thick-restart
  block Lanczos with full reorthogonalization.  With an orthonormal basis ``V`` of
  the Krylov space (closed under ``H`` up to the frontier block ``Q``) one has
  ``H V = V T + Q B Eᵀ`` (``T = Vᵀ H V``, ``E`` the last block of columns), so a
  Ritz pair ``(θ, y = V s)`` has the residual

  .. math:: \|H y - θ y\| = \|B\, s_{\text{last block}}\|

  at no extra product: the residual norms are returned with every pair and
  certify it a posteriori: some eigenvalue of ``H`` lies within ``‖H y − θ y‖`` of
  ``θ`` (and within ``‖r‖²/gap`` when the other eigenvalues are ``gap`` away).
  A pair is converged when ``‖r‖ <= max(tol·|θ|, atol)``.  The basis is restarted
  when it reaches ``max_basis`` vectors, keeping the best Ritz vectors (thick
  restart); a run can be resumed with a larger ``k`` (``resume=``), reusing its
  Krylov basis.  ``method="arpack"`` runs scipy's ``eigsh`` on the same operator
  instead (the residuals then cost ``k`` more products, counted in ``n_hvp_verify``).
* :func:`hutchinson`, :func:`hutchpp`, :func:`deflated_hutchinson`: trace
  estimators.  Hutchinson's ``(1/m) Σ zᵢᵀ H zᵢ`` (Rademacher ``zᵢ``) has variance
  ``2(‖H‖_F² − Σ H_ii²)/m``, so a relative error ``ε`` costs ``O(1/ε²)`` products.
  Hutch++ (Meyer, Musco, Musco, Woodruff 2021) splits ``tr H = tr(QᵀHQ) +
  tr(PHP)``, ``Q`` an orthonormal basis of ``H S`` (``S`` random), ``P = I − QQᵀ``,
  and estimates only the second term by Hutchinson: ``O(1/ε)`` products.  The
  deflated variant uses instead the Krylov basis ``V`` of a :func:`hessian_topk` run,
  whose ``tr(VᵀHV) = tr T`` is already known.  Both splits are exact identities for
  *any* orthonormal ``Q`` independent of the probes, so both estimators are unbiased.
* :func:`spectral_density`: stochastic Lanczos quadrature (SLQ).  ``m`` Lanczos steps
  from a unit vector ``u`` give nodes ``θ_i`` and weights ``w_i = (e_1ᵀ s_i)²`` with
  ``Σ w_i p(θ_i) = uᵀ p(H) u`` for every polynomial of degree ``<= 2m − 1``; averaged
  over Rademacher ``u`` this estimates the spectral measure ``(1/n) Σ_j δ_{λ_j}``.
  The Gauss-quadrature part of the error is at most ``π (b − a)/(4m)`` in the
  Wasserstein-1 distance (``[a, b]`` the spectral interval; Jackson's theorem for
  1-Lipschitz functions at degree ``2m − 1``), see :func:`wasserstein1`.
* :func:`block_hvp`, :func:`block_measures`: the Hessian restricted to a block ``I``
  of coordinates (one layer's parameters), ``H_II = P_Iᵀ H P_I``, and ``λ_max``,
  trace and ``f°`` on the ball of that block,
  ``f°_I(x, r) = sup_{‖u‖ <= r} |f(x + P_I u) − f(x)|``.
* :func:`hessian_diagonal`: the exact diagonal ``H_ii = e_iᵀ H e_i`` (``n``
  products, in blocks), hence the exact trace on small problems.

Randomness comes from ``rng`` (``None`` is the fixed seed 0, an ``int`` a seed, a
:class:`numpy.random.Generator` is used as is).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_point, as_positive_int, as_rng, check_callable
from .spectral import TraceResult

__all__ = [
    "TopKResult",
    "DensityResult",
    "BlockMeasures",
    "hessian_topk",
    "hutchinson",
    "hutchpp",
    "deflated_hutchinson",
    "spectral_density",
    "wasserstein1",
    "hessian_diagonal",
    "block_hvp",
    "block_measures",
]

#: Relative size below which a new Lanczos direction counts as a breakdown (invariant subspace).
BREAKDOWN = 1e-11


# --------------------------------------------------------------------------- the operator
class _Operator:
    """``V (d, b) -> H V (d, b)`` from a user ``hvp``; checks shapes and finiteness, counts products."""

    def __init__(self, hvp, x, d, batched, name="hvp"):
        self.hvp = check_callable(hvp, name)
        self.x = x
        self.d = d
        self.batched = bool(batched)
        self.name = name
        self.n_hvp = 0
        self.n_calls = 0

    def _check(self, out, shape):
        if np.iscomplexobj(out):
            raise TypeError(f"{self.name} must return real values, got a complex array")
        try:
            out = np.asarray(out, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{self.name} must return an array of real numbers, got "
                            f"{type(out).__name__}") from exc
        if out.shape != shape:
            if out.size == int(np.prod(shape)):
                out = out.reshape(shape)
            else:
                raise ValueError(f"{self.name} must return an array of shape {shape}, got {out.shape}")
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{self.name} returned non-finite values")
        return out

    def __call__(self, V):
        b = V.shape[1]
        if self.batched:
            out = self._check(self.hvp(self.x, V), (self.d, b))
            self.n_calls += 1
        else:
            out = np.empty((self.d, b))
            for j in range(b):
                out[:, j] = self._check(self.hvp(self.x, np.ascontiguousarray(V[:, j])), (self.d,))
            self.n_calls += b
        self.n_hvp += b
        return out


def _operator(hvp, x, n, batched):
    x = as_point(x, "x")
    if n is None:
        n = x.shape[0]
    else:
        n = as_positive_int(n, "n")
        if n != x.shape[0]:
            raise ValueError(f"n must equal len(x) = {x.shape[0]}, got {n}")
    if not isinstance(batched, (bool, np.bool_)):
        raise TypeError(f"batched must be True or False, got {batched!r}")
    return _Operator(hvp, x, n, batched)


def _float_arg(v, name, *, positive=False, allow_zero=True):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not np.isfinite(v) or v < 0 or (v == 0 and (positive or not allow_zero)):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, got {v!r}")
    return v


def _rademacher(gen, shape):
    return gen.integers(0, 2, size=shape).astype(float) * 2.0 - 1.0


def _orth_against(W, V, twice=True):
    """``W - V Vᵀ W`` (``V`` given by rows, ``(j, d)``), classical Gram-Schmidt run twice."""
    if V.shape[0] == 0:
        return W, np.zeros((0, W.shape[1]))
    C = V @ W
    W = W - V.T @ C
    if twice:
        C2 = V @ W
        W -= V.T @ C2
        C += C2
    return W, C


def _next_block(W, V, scale, gen):
    """Orthonormal ``Q`` and ``B`` with ``W = Q B`` (``W ⟂ V``); directions of relative size
    below :data:`BREAKDOWN` (an invariant subspace) are replaced by random ones with zero coupling."""
    d, b = W.shape
    if b == 1:
        beta = float(np.linalg.norm(W))
        if beta > BREAKDOWN * scale[0]:
            return W / beta, np.array([[beta]])
        Q = np.empty((d, 1))
        B = np.zeros((1, 1))
        bad = [0]
    else:
        Q, B = np.linalg.qr(W)
        bad = [i for i in range(b) if abs(B[i, i]) <= BREAKDOWN * max(scale[i], 0.0)]
        if not bad:
            return Q, B
    for i in bad:
        for _ in range(3):
            q = gen.standard_normal((d, 1))
            q, _ = _orth_against(q, V)
            others = np.delete(Q, bad[bad.index(i):], axis=1).T if b > 1 else np.zeros((0, d))
            q, _ = _orth_against(q, others)
            nq = float(np.linalg.norm(q))
            if nq > 1e-8:
                break
        else:  # pragma: no cover - the basis already spans the whole space
            raise RuntimeError("Lanczos: no direction left orthogonal to the basis")
        Q[:, i] = q[:, 0] / nq
        B[i, :] = 0.0
    return Q, B


# --------------------------------------------------------------------------- top-k eigenpairs
@dataclass
class TopKResult:
    """Top-k Hessian eigenpairs with certified residuals (:func:`hessian_topk`).

    Attributes
    ----------
    eigenvalues : ndarray (k,)
        Ritz values, the largest first (``which="LA"``) or the smallest first (``"SA"``).
    eigenvectors : ndarray (n, k)
        Orthonormal Ritz vectors.
    residuals : ndarray (k,)
        ``‖H y_i − θ_i y_i‖`` (from the Lanczos relation; computed explicitly for ARPACK):
        some eigenvalue of ``H`` lies within ``residuals[i]`` of ``eigenvalues[i]``.
    converged : ndarray (k,) of bool
        ``residuals <= max(tol·|eigenvalues|, atol)``.
    n_hvp : int
        Hessian-vector products (vectors) used by the eigensolver.
    n_calls : int
        Calls of ``hvp`` (one per block when ``batched``).
    n_restarts : int
        Thick restarts.
    n_hvp_verify : int
        Extra products spent on explicit residuals (ARPACK only).
    method : str
        ``"lanczos"``, ``"arpack"`` or ``"assembled"`` (small ``n``: dense from ``n`` products).
    which : str
    message : str
    basis : ndarray (n, j)
        Orthonormal basis of the final (thick-restarted) Krylov space.
    projected : ndarray (j, j)
        ``basisᵀ H basis`` (so ``tr(projected)`` is exact; :func:`deflated_hutchinson` uses it).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray = field(repr=False)
    residuals: np.ndarray
    converged: np.ndarray
    n_hvp: int
    n_calls: int
    n_restarts: int
    n_hvp_verify: int
    method: str
    which: str
    message: str = ""
    basis: np.ndarray = field(default=None, repr=False)
    projected: np.ndarray = field(default=None, repr=False)
    _state: object = field(default=None, repr=False)

    @property
    def all_converged(self):
        """``True`` when every returned pair meets the tolerance."""
        return bool(np.all(self.converged))


def _check_which(which):
    if which not in ("LA", "SA"):
        raise ValueError(f"which must be 'LA' or 'SA', got {which!r}")
    return 1.0 if which == "LA" else -1.0


def _default_basis(k, b):
    m = max(3 * k, k + 40)
    return int(-(-m // b) * b)


def hessian_topk(hvp, x, k=10, *, n=None, tol=1e-6, atol=0.0, which="LA", block_size=1,
                 max_basis=None, batched=False, max_hvp=None, rng=None, v0=None, resume=None,
                 method="lanczos", callback=None):
    r"""The ``k`` largest (``which="LA"``) or smallest (``"SA"``) eigenpairs of ``∇²f(x)``.

    Thick-restart block Lanczos with full reorthogonalization (see the module
    docstring): the residual ``‖H y − θ y‖`` of every Ritz pair is returned, and a pair
    is converged when it is ``<= max(tol·|θ|, atol)``.  Some eigenvalue of ``H`` then lies
    within that residual of ``θ``.  A single vector (``block_size=1``) sees one copy of
    a repeated eigenvalue; a block of ``b`` vectors resolves multiplicities up to ``b``
    (and passes ``b`` vectors per ``hvp`` call when ``batched``).

    Parameters
    ----------
    hvp : callable
        ``hvp(x, v) -> ∇²f(x) v``; with ``batched=True`` also ``hvp(x, V)`` for ``V``
        of shape ``(n, b)``.
    x : array_like (n,)
    k : int
        Number of eigenpairs (``<= n``).
    n : int, optional
        Dimension (defaults to ``len(x)``).
    tol, atol : float
        Convergence: ``‖r_i‖ <= max(tol·|θ_i|, atol)`` for the ``k`` wanted pairs.
    which : {"LA", "SA"}
        Largest or smallest algebraic eigenvalues.
    block_size : int
        Block size ``b`` of the Lanczos recurrence.
    max_basis : int, optional
        Basis size at which the run is thick-restarted (default ``max(3k, k + 40)``
        rounded up to a multiple of ``b``).
    batched : bool
        ``hvp`` accepts blocks.
    max_hvp : int, optional
        Budget of products (default ``max(2000, 50 max_basis)``); the result says
        which pairs converged.
    rng : None, int or Generator
        Source of the starting block (ignored with ``v0``).
    v0 : array_like (n,) or (n, b), optional
        Starting vector(s).
    resume : TopKResult, optional
        Continue a previous ``method="lanczos"`` run on the same ``hvp`` and ``x`` (e.g. with a
        larger ``k``): its Krylov basis is kept and its products are counted in ``n_hvp``.
    method : {"lanczos", "arpack"}
        ``"arpack"``: ``scipy.sparse.linalg.eigsh`` on the operator (ARPACK's
        implicitly restarted Lanczos), explicit residuals.
    callback : callable, optional
        ``callback(n_hvp, eigenvalues, residuals)`` after every Rayleigh-Ritz step
        (the current top ``k``); returning ``True`` stops the run.

    Returns
    -------
    TopKResult

    Examples
    --------
    A diagonal operator with eigenvalues ``0, 1, ..., 399``: the top three, each
    certified by its residual.

    >>> import numpy as np
    >>> d = np.arange(400.0)
    >>> res = hessian_topk(lambda x, v: d * v, np.zeros(400), k=3, tol=1e-10)
    >>> np.round(res.eigenvalues, 8).tolist(), res.all_converged
    ([399.0, 398.0, 397.0], True)
    >>> bool(np.all(np.linalg.norm(d[:, None] * res.eigenvectors - res.eigenvectors * res.eigenvalues,
    ...                            axis=0) <= 1e-10 * res.eigenvalues))
    True

    A double eigenvalue needs a block of two vectors:

    >>> d2 = np.r_[5.0, 5.0, np.linspace(0.0, 4.0, 298)]
    >>> res = hessian_topk(lambda x, V: d2[:, None] * V, np.zeros(300), k=2, block_size=2,
    ...                    batched=True, tol=1e-10)
    >>> np.round(res.eigenvalues, 8).tolist()
    [5.0, 5.0]
    """
    sign = _check_which(which)
    op = _operator(hvp, x, n, batched)
    k = as_positive_int(k, "k")
    if k > op.d:
        raise ValueError(f"k must be <= n = {op.d}, got {k}")
    tol = _float_arg(tol, "tol")
    atol = _float_arg(atol, "atol")
    if tol == 0 and atol == 0:
        raise ValueError("tol and atol cannot both be 0")
    b = as_positive_int(block_size, "block_size")
    if method not in ("lanczos", "arpack"):
        raise ValueError(f"method must be 'lanczos' or 'arpack', got {method!r}")
    if callback is not None:
        check_callable(callback, "callback")
    m = _default_basis(k, b) if max_basis is None else as_positive_int(max_basis, "max_basis")
    if m < k + b:
        raise ValueError(f"max_basis must be >= k + block_size = {k + b}, got {m}")
    max_hvp = max(2000, 50 * m) if max_hvp is None else as_positive_int(max_hvp, "max_hvp")
    gen = as_rng(rng)
    if v0 is not None:
        v0 = np.array(v0, dtype=float)
        if v0.ndim == 1:
            v0 = v0[:, None]
        if v0.ndim != 2 or v0.shape[0] != op.d or not np.all(np.isfinite(v0)) or v0.shape[1] > b:
            raise ValueError(f"v0 must be a finite array of shape ({op.d},) or ({op.d}, b <= {b}), "
                             f"got {np.shape(v0)}")
    if resume is not None:
        if not isinstance(resume, TopKResult) or resume._state is None:
            raise TypeError("resume must be a TopKResult of a method='lanczos' run")
        if resume.which != which or resume._state["b"] != b or resume.basis.shape[0] != op.d:
            raise ValueError("resume: which, block_size and n must match the previous run")
    if method == "arpack":
        return _topk_arpack(op, k, sign, which, tol, m, max_hvp, gen, v0)
    if op.d <= m + b:
        return _topk_assembled(op, k, sign, which, tol, atol)
    return _topk_lanczos(op, k, b, m, tol, atol, sign, which, max_hvp, gen, v0, resume, callback)


def _ritz(T, Bfront, b, sign, k):
    theta, S = np.linalg.eigh(T)
    order = np.argsort(theta)[::-1]
    theta, S = theta[order], S[:, order]
    res = np.linalg.norm(Bfront @ S[-b:, :], axis=0)
    return theta, S, res


def _topk_lanczos(op, k, b, m, tol, atol, sign, which, max_hvp, gen, v0, resume, callback):
    d = op.d
    cap = max(m, 0) + b
    if resume is not None:
        st = resume._state
        j = st["j"]
        cap = max(cap, j + b)
        Vr = np.empty((cap, d))
        Vr[:j + b] = st["V"]
        T = np.zeros((cap, cap))
        T[:j, :j] = st["T"]
        Bfront = st["B"]
        n_restarts = st["restarts"]
        op.n_hvp, op.n_calls = resume.n_hvp, resume.n_calls
    else:
        Vr = np.empty((cap, d))
        T = np.zeros((cap, cap))
        Q0 = gen.standard_normal((d, b))
        if v0 is not None:
            Q0[:, :v0.shape[1]] = v0
        Q0, _ = np.linalg.qr(Q0)
        Vr[:b] = Q0.T
        j = 0
        Bfront = None
        n_restarts = 0

    def tolerance(theta):
        return np.maximum(tol * np.abs(theta), atol)

    theta = S = res = None
    stop = ""
    if resume is not None and j >= k:
        theta, S, res = _ritz(T[:j, :j], Bfront, b, sign, k)
        if np.all(res[:k] <= tolerance(theta[:k])):
            stop = "converged"
    while not stop:
        Q = Vr[j:j + b].T
        W = sign * op(np.ascontiguousarray(Q))
        scale = np.linalg.norm(W, axis=0)
        jj = j + b
        W, C = _orth_against(W, Vr[:jj])
        T[:j, j:jj] = C[:j]
        T[j:jj, :j] = C[:j].T
        T[j:jj, j:jj] = 0.5 * (C[j:jj] + C[j:jj].T)
        Qn, Bfront = _next_block(W, Vr[:jj], scale, gen)
        Vr[jj:jj + b] = Qn.T
        j = jj
        theta, S, res = _ritz(T[:j, :j], Bfront, b, sign, k)
        if j >= k and np.all(res[:k] <= tolerance(theta[:k])):
            stop = "converged"
        elif callback is not None and callback(op.n_hvp, sign * theta[:min(k, j)], res[:min(k, j)]):
            stop = "callback"
        elif op.n_hvp >= max_hvp:
            stop = "budget"
        elif j + b > m:                      # thick restart: keep the best p Ritz vectors
            p = min(m - b, max(k + b, (m + k) // 2))
            front = Vr[j:j + b].copy()
            Vr[:p] = S[:, :p].T @ Vr[:j]
            Vr[p:p + b] = front
            T[:] = 0.0
            T[np.arange(p), np.arange(p)] = theta[:p]
            j = p
            n_restarts += 1
    if stop == "callback" and j >= k and np.all(res[:k] <= tolerance(theta[:k])):
        stop = "converged"
    kk = min(k, j)
    vecs = Vr[:j].T @ S[:, :kk]
    conv = res[:kk] <= tolerance(theta[:kk])
    state = {"V": Vr[:j + b], "T": T[:j, :j].copy(), "B": Bfront, "j": j, "b": b,   # Vr is not reused
             "restarts": n_restarts}
    msg = {"converged": f"all {k} pairs converged",
           "callback": "stopped by the callback",
           "budget": f"budget of {max_hvp} products spent; {int(conv.sum())} of {k} pairs converged"}[stop]
    return TopKResult(sign * theta[:kk], vecs, res[:kk], conv, op.n_hvp, op.n_calls, n_restarts, 0,
                      "lanczos", which, msg, Vr[:j].T, sign * T[:j, :j], state)


def _topk_assembled(op, k, sign, which, tol, atol):
    H = op(np.eye(op.d))
    H = 0.5 * (H + H.T)
    w, U = np.linalg.eigh(sign * H)
    order = np.argsort(w)[::-1][:k]
    w, U = w[order], U[:, order]
    res = np.linalg.norm(sign * H @ U - U * w, axis=0)
    conv = res <= np.maximum(tol * np.abs(w), atol) + 1e-12 * np.max(np.abs(w), initial=0.0)
    return TopKResult(sign * w, U, res, conv, op.n_hvp, op.n_calls, 0, 0, "assembled", which,
                      f"dense eigh of the Hessian assembled from {op.d} products", U, sign * np.diag(w))


def _topk_arpack(op, k, sign, which, tol, m, max_hvp, gen, v0):
    import scipy.sparse.linalg as spla

    d = op.d
    A = spla.LinearOperator((d, d), matvec=lambda v: sign * op(np.reshape(v, (d, 1)))[:, 0],
                            matmat=lambda V: sign * op(np.asarray(V)), dtype=float)
    start = gen.standard_normal(d) if v0 is None else v0[:, 0]
    ncv = min(d - 1, max(2 * k + 1, 20)) if m is None else min(d - 1, max(m, k + 2))
    try:
        w, U = spla.eigsh(A, k=k, which="LA", tol=tol, v0=start, ncv=ncv, maxiter=max(1, max_hvp // ncv))
        msg = f"ARPACK converged (ncv={ncv})"
    except spla.ArpackNoConvergence as exc:
        w, U = exc.eigenvalues, exc.eigenvectors
        msg = f"ARPACK did not converge (ncv={ncv}); {w.size} of {k} pairs returned"
    order = np.argsort(w)[::-1]
    w, U = w[order], U[:, order]
    n_alg = op.n_hvp
    HU = sign * op(U) if U.shape[1] else np.zeros((d, 0))
    res = np.linalg.norm(HU - U * w, axis=0)
    conv = res <= tol * np.abs(w)
    return TopKResult(sign * w, U, res, conv, n_alg, op.n_calls - 1, 0, op.n_hvp - n_alg, "arpack",
                      which, msg, U, sign * np.diag(w))


# --------------------------------------------------------------------------- traces
def _probe_mean(op, Z, project=None):
    """``(1/g) Σ (Pzᵢ)ᵀ H (Pzᵢ)`` over the columns of ``Z`` and its standard error."""
    if project is not None:
        Z = Z - project @ (project.T @ Z)
    HZ = op(Z)
    vals = np.einsum("ij,ij->j", Z, HZ)
    se = float(vals.std(ddof=1) / np.sqrt(vals.size)) if vals.size > 1 else float("inf")
    return float(vals.mean()), se, vals


def hutchinson(hvp, x, n_hvp=100, *, n=None, batched=False, rng=None, block=64):
    r"""Hutchinson's trace estimate ``(1/m) Σ_{i<=m} zᵢᵀ ∇²f(x) zᵢ``, Rademacher ``zᵢ``.

    Unbiased, with variance ``2(‖H‖_F² − Σ H_ii²)/m``: a relative error ``ε`` needs
    ``m ~ 2‖H‖_F²/(ε tr H)²`` products.

    Parameters
    ----------
    hvp, x, n, batched, rng
        As in :func:`hessian_topk`.
    n_hvp : int
        Number of probes ``m >= 2`` (one product each).
    block : int
        Probes per ``hvp`` call when ``batched``.

    Returns
    -------
    flatlib.spectral.TraceResult
        ``value``, ``stderr`` (``std/√m``), ``n_hvp``, ``method="hutchinson"``.

    Examples
    --------
    Exact for a diagonal matrix (every probe gives the trace):

    >>> import numpy as np
    >>> d = np.arange(1.0, 101.0)
    >>> round(float(hutchinson(lambda x, v: d * v, np.zeros(100), n_hvp=3)), 10)
    5050.0
    """
    op = _operator(hvp, x, n, batched)
    m = as_positive_int(n_hvp, "n_hvp")
    if m < 2:
        raise ValueError(f"n_hvp must be >= 2, got {m}")
    gen = as_rng(rng)
    block = as_positive_int(block, "block")
    vals = []
    for s in range(0, m, block):
        Z = _rademacher(gen, (op.d, min(block, m - s)))
        vals.append(_probe_mean(op, Z)[2])
    vals = np.concatenate(vals)
    return TraceResult(float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(m)), op.n_hvp, "hutchinson")


def hutchpp(hvp, x, n_hvp=99, *, n=None, batched=False, rng=None):
    r"""Hutch++ trace estimate with ``m = n_hvp`` products (Meyer, Musco, Musco, Woodruff 2021).

    With ``s = ⌊m/3⌋`` random sign vectors ``S``: ``Q`` an orthonormal basis of ``H S``
    (``s`` products), then ``tr(QᵀHQ)`` exactly (``s`` products), plus Hutchinson with
    ``g = m − 2s`` projected probes ``(I − QQᵀ) zᵢ`` for ``tr((I − QQᵀ) H (I − QQᵀ))``.
    Unbiased; when ``H`` has at most ``s`` eigenvalues far from zero the remainder is small,
    and the relative error is ``O(1/m)`` for PSD ``H`` (against ``O(1/√m)``).  Exact when
    ``rank H <= s``.

    Parameters
    ----------
    hvp, x, n, batched, rng
        As in :func:`hessian_topk`.
    n_hvp : int
        Budget ``m >= 4``.

    Returns
    -------
    flatlib.spectral.TraceResult
        ``stderr`` is the standard error of the Hutchinson part.

    Examples
    --------
    A rank-5 matrix is captured by the sketch: the estimate is exact.

    >>> import numpy as np
    >>> G = np.random.default_rng(0).standard_normal((200, 5)); H = G @ G.T
    >>> est = hutchpp(lambda x, V: H @ V, np.zeros(200), n_hvp=30, batched=True)
    >>> bool(abs(est.value - np.trace(H)) < 1e-9 * np.trace(H)), est.n_hvp
    (True, 30)
    """
    op = _operator(hvp, x, n, batched)
    m = as_positive_int(n_hvp, "n_hvp")
    if m < 4:
        raise ValueError(f"n_hvp must be >= 4, got {m}")
    gen = as_rng(rng)
    s = m // 3
    g = m - 2 * s
    S = _rademacher(gen, (op.d, s))
    Q, _ = np.linalg.qr(op(S))
    head = float(np.einsum("ij,ij->", Q, op(Q)))
    Z = _rademacher(gen, (op.d, g))
    tail, se, _ = _probe_mean(op, Z, project=Q)
    return TraceResult(head + tail, se, op.n_hvp, "hutch++")


def deflated_hutchinson(hvp, x, n_probes, eig=None, *, n_lanczos=None, n=None, batched=False, rng=None):
    r"""Trace with a Krylov space deflated: ``tr T + Hutchinson(PHP)``.

    With an orthonormal basis ``V`` (``n × j``) of a Krylov space and ``T = VᵀHV``,
    ``tr H = tr T + tr(PHP)``, ``P = I − VVᵀ``; the remainder is estimated from
    ``n_probes`` projected Rademacher probes.  Unbiased (``V`` does not depend on the
    probes); the variance is Hutchinson's with ``H`` replaced by ``PHP``, which lacks the
    top of the spectrum that Lanczos finds first.  Against Hutch++ the low-rank part
    costs one product per basis vector instead of two (``T`` comes with the recurrence).

    The basis is either the one of a :func:`hessian_topk` run already made on the same
    ``hvp`` and ``x`` (``eig``: the top-k computation is reused), or ``n_lanczos`` fresh
    Lanczos steps from a Rademacher vector.  ``n_hvp`` of the result counts every product,
    the Lanczos ones included.

    Parameters
    ----------
    hvp, x, n, batched, rng
        As in :func:`hessian_topk`.
    n_probes : int
        Probes (``>= 2``).
    eig : TopKResult, optional
    n_lanczos : int, optional
        Lanczos steps when ``eig`` is not given (default ``n_probes``).

    Examples
    --------
    Ten large eigenvalues over a bulk in ``[0, 1]``: deflating them leaves a small variance.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> U = np.linalg.qr(rng.standard_normal((300, 300)))[0]
    >>> lam = np.r_[100.0 * np.arange(10, 0, -1), rng.uniform(0, 1, 290)]
    >>> H = (U * lam) @ U.T
    >>> op = lambda x, V: H @ V
    >>> est = deflated_hutchinson(op, np.zeros(300), 20, n_lanczos=20, batched=True)
    >>> bool(abs(est.value - lam.sum()) < 0.01 * lam.sum()), est.n_hvp
    (True, 40)
    >>> eig = hessian_topk(op, np.zeros(300), k=10, tol=1e-6, batched=True)
    >>> est = deflated_hutchinson(op, np.zeros(300), 20, eig, batched=True)
    >>> bool(abs(est.value - lam.sum()) < 0.01 * lam.sum()), est.n_hvp == eig.n_hvp + 20
    (True, True)
    """
    op = _operator(hvp, x, n, batched)
    g = as_positive_int(n_probes, "n_probes")
    if g < 2:
        raise ValueError(f"n_probes must be >= 2, got {g}")
    gen = as_rng(rng)
    if eig is not None:
        if n_lanczos is not None:
            raise ValueError("give eig or n_lanczos, not both")
        if not isinstance(eig, TopKResult) or eig.basis is None:
            raise TypeError("eig must be a TopKResult of hessian_topk")
        if eig.basis.shape[0] != op.d:
            raise ValueError(f"eig was computed in dimension {eig.basis.shape[0]}, not n = {op.d}")
        V = np.ascontiguousarray(eig.basis)
        head = float(np.trace(eig.projected))
        before = eig.n_hvp + eig.n_hvp_verify
    else:
        steps = g if n_lanczos is None else as_positive_int(n_lanczos, "n_lanczos")
        bases, alpha, _, length = _lanczos_runs(op, _rademacher(gen, (op.d, 1)), min(steps, op.d))
        V = np.ascontiguousarray(bases[0, :length[0]].T)
        head = float(alpha[0, :length[0]].sum())
        before = 0
    tail, se, _ = _probe_mean(op, _rademacher(gen, (op.d, g)), project=V)
    return TraceResult(head + tail, se, op.n_hvp + before, "lanczos-deflated")


def hessian_diagonal(hvp, x, *, n=None, batched=False, block=256, index=None):
    r"""The exact diagonal ``H_ii = e_iᵀ ∇²f(x) e_i`` from ``n`` products (blocks of ``block``
    unit vectors when ``batched``); ``diag.sum()`` is the exact trace.

    Parameters
    ----------
    index : array_like of int, optional
        Only these coordinates (then ``len(index)`` products).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, -1.0]])
    >>> hessian_diagonal(lambda x, v: H @ v, np.zeros(3)).tolist()
    [2.0, 3.0, -1.0]
    """
    op = _operator(hvp, x, n, batched)
    block = as_positive_int(block, "block")
    idx = np.arange(op.d) if index is None else _as_index(index, op.d, "index")
    out = np.empty(idx.size)
    step = block if batched else 1
    for s in range(0, idx.size, step):
        cols = idx[s:s + step]
        E = np.zeros((op.d, cols.size))
        E[cols, np.arange(cols.size)] = 1.0
        out[s:s + cols.size] = op(E)[cols, np.arange(cols.size)]
    return out


# --------------------------------------------------------------------------- spectral density
@dataclass
class DensityResult:
    """Stochastic Lanczos quadrature of the spectral measure (:func:`spectral_density`).

    Attributes
    ----------
    nodes : list of ndarray
        Ritz values of each run (Gauss nodes).
    weights : list of ndarray
        Their weights ``(e_1ᵀ s_i)²`` (each run's sum to 1).
    n_hvp : int
    n_steps : int
    n_vectors : int
    """

    nodes: list
    weights: list
    n_hvp: int
    n_steps: int
    n_vectors: int

    def atoms(self):
        """``(points, masses)`` of the SLQ measure ``(1/s) Σ_runs Σ_i w_i δ_{θ_i}`` (masses sum to 1)."""
        pts = np.concatenate(self.nodes)
        mass = np.concatenate(self.weights) / len(self.nodes)
        return pts, mass

    def density(self, grid, sigma):
        r"""Gaussian-broadened density ``Σ mass_i φ_σ(t − θ_i)`` on ``grid`` (integrates to 1
        over the real line).  PyHessian's default width is ``σ² = 1e-5 · max(1, λ_max − λ_min)``."""
        sigma = _float_arg(sigma, "sigma", positive=True)
        t = np.asarray(grid, dtype=float)
        pts, mass = self.atoms()
        z = (t[..., None] - pts) / sigma
        return np.exp(-0.5 * z * z) @ mass / (sigma * np.sqrt(2.0 * np.pi))


def spectral_density(hvp, x, *, n_steps=100, n_vectors=1, n=None, batched=False, rng=None):
    r"""Spectral density of ``∇²f(x)`` by stochastic Lanczos quadrature (SLQ), as PyHessian.

    For each of ``n_vectors`` normalized Rademacher vectors ``u``, ``n_steps`` Lanczos
    steps (full reorthogonalization) give ``T = S Θ Sᵀ``; the nodes ``θ_i`` with weights
    ``(e_1ᵀ s_i)²`` form the Gauss quadrature of the measure ``Σ_j (uᵀq_j)² δ_{λ_j}``
    (exact for polynomials of degree ``<= 2 n_steps − 1``), whose mean over ``u`` is the
    spectral measure ``(1/n) Σ_j δ_{λ_j}``.  The runs advance in lockstep, so with
    ``batched=True`` each step is one ``hvp`` call on ``n_vectors`` vectors.  A run stops
    early at an invariant subspace (its quadrature is then exact).

    Returns
    -------
    DensityResult
        ``.atoms()``, ``.density(grid, sigma)``; compare to eigenvalues with :func:`wasserstein1`.

    Examples
    --------
    With as many steps as distinct eigenvalues the quadrature reproduces ``uᵀ H^p u``:

    >>> import numpy as np
    >>> lam = np.repeat([1.0, 2.0, 5.0], [50, 30, 20])
    >>> res = spectral_density(lambda x, v: lam * v, np.zeros(100), n_steps=10, n_vectors=4)
    >>> pts, mass = res.atoms()
    >>> [round(float(mass[np.isclose(pts, t)].sum()), 12) for t in (1.0, 2.0, 5.0)]
    [0.5, 0.3, 0.2]
    >>> res.n_hvp                # each run stopped after 3 steps
    12
    """
    op = _operator(hvp, x, n, batched)
    m = as_positive_int(n_steps, "n_steps")
    s = as_positive_int(n_vectors, "n_vectors")
    gen = as_rng(rng)
    _, alpha, beta, length = _lanczos_runs(op, _rademacher(gen, (op.d, s)), min(m, op.d))
    nodes, weights = [], []
    for i in range(s):
        L = length[i]
        T = np.diag(alpha[i, :L]) + np.diag(beta[i, :L - 1], 1) + np.diag(beta[i, :L - 1], -1)
        th, S = np.linalg.eigh(T)
        nodes.append(th)
        weights.append(S[0] ** 2)
    return DensityResult(nodes, weights, op.n_hvp, min(m, op.d), s)


def _lanczos_runs(op, U, m):
    """``s = U.shape[1]`` independent Lanczos runs of ``m`` steps (full reorthogonalization),
    in lockstep (one operator call per step); each run starts at its normalized column of ``U``
    and stops early at an invariant subspace.  Returns the bases ``(s, m, d)``, the diagonals
    ``alpha``, off-diagonals ``beta`` (``(s, m)``) and the lengths."""
    d, s = U.shape
    bases = np.empty((s, m, d))
    bases[:, 0, :] = (U / np.linalg.norm(U, axis=0)).T
    alpha = np.zeros((s, m))
    beta = np.zeros((s, m))
    length = np.zeros(s, dtype=int)
    active = list(range(s))
    for j in range(m):
        if not active:
            break
        W = op(np.ascontiguousarray(bases[active, j, :].T))
        still = []
        for c, i in enumerate(active):
            w = W[:, c]
            scale = float(np.linalg.norm(w))
            alpha[i, j] = float(bases[i, j] @ w)
            w, _ = _orth_against(w[:, None], bases[i, :j + 1])
            w = w[:, 0]
            length[i] = j + 1
            bn = float(np.linalg.norm(w))
            if j + 1 < m and bn > BREAKDOWN * max(scale, 1e-300):
                beta[i, j] = bn
                bases[i, j + 1] = w / bn
                still.append(i)
        active = still
    return bases, alpha, beta, length


def wasserstein1(a, a_weights=None, b=None, b_weights=None):
    r"""Wasserstein-1 distance ``∫ |F_a(t) − F_b(t)| dt`` between two discrete measures on R.

    ``a``, ``b``: atoms; ``*_weights``: nonnegative masses (default uniform), each
    normalized to sum 1.  E.g. an SLQ measure (:meth:`DensityResult.atoms`) against the
    eigenvalues of a dense Hessian.

    Examples
    --------
    >>> wasserstein1([0.0, 1.0], None, [0.5])
    0.5
    >>> wasserstein1([0.0], None, [2.0], None)
    2.0
    """
    if b is None:
        raise ValueError("b (the atoms of the second measure) is required")

    def prep(p, w, name):
        p = as_point(p, name)
        if w is None:
            w = np.full(p.size, 1.0 / p.size)
        else:
            w = as_point(w, name + "_weights", n=p.size)
            if np.any(w < 0) or w.sum() <= 0:
                raise ValueError(f"{name}_weights must be >= 0 with a positive sum")
            w = w / w.sum()
        return p, w

    a, wa = prep(a, a_weights, "a")
    b, wb = prep(b, b_weights, "b")
    pts = np.concatenate([a, b])
    mass = np.concatenate([wa, -wb])
    order = np.argsort(pts, kind="stable")
    pts, cdf = pts[order], np.cumsum(mass[order])
    return float(np.sum(np.abs(cdf[:-1]) * np.diff(pts)))


# --------------------------------------------------------------------------- blocks (layers)
def _as_index(index, d, name="index"):
    if isinstance(index, slice):
        idx = np.arange(d)[index]
    else:
        arr = np.asarray(index)
        if arr.dtype == bool:
            if arr.shape != (d,):
                raise ValueError(f"{name} as a mask must have shape ({d},), got {arr.shape}")
            idx = np.flatnonzero(arr)
        elif arr.dtype.kind in "iu" and arr.ndim == 1:
            idx = arr.astype(np.int64)
        elif arr.dtype.kind == "f" and arr.ndim == 1 and np.all(arr == np.round(arr)):
            idx = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be a slice, a boolean mask or a 1-D array of integer indices")
    if idx.size == 0:
        raise ValueError(f"{name} selects no coordinate")
    if np.any(idx < 0) or np.any(idx >= d):
        raise ValueError(f"{name} must lie in [0, {d}), got values {idx[(idx < 0) | (idx >= d)][:5].tolist()}")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{name} has repeated coordinates")
    return idx


def block_hvp(hvp, index, n, *, batched=False):
    r"""The Hessian restricted to a block of coordinates: ``(x, u) -> [∇²f(x) P u]_I``.

    ``P`` embeds ``u ∈ R^{|I|}`` into ``R^n`` (zeros off ``I``), so the returned
    callable is ``H_II u`` with ``H_II = Pᵀ ∇²f(x) P``, the Hessian of ``u -> f(x + P u)``
    at ``u = 0``.  It accepts blocks ``(|I|, b)`` (in one ``hvp`` call when ``batched``).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, -1.0]])
    >>> hb = block_hvp(lambda x, v: H @ v, [1, 2], 3)
    >>> hb(np.zeros(3), np.array([1.0, 0.0])).tolist()          # column 1 of H, rows 1, 2
    [3.0, 1.0]
    """
    check_callable(hvp, "hvp")
    n = as_positive_int(n, "n")
    idx = _as_index(index, n)

    def hvp_block(x, U):
        U = np.asarray(U, dtype=float)
        if U.ndim == 1:
            E = np.zeros(n)
            E[idx] = U
            return np.asarray(hvp(x, E), dtype=float).reshape(n)[idx]
        E = np.zeros((n, U.shape[1]))
        E[idx] = U
        if batched:
            return np.asarray(hvp(x, E), dtype=float).reshape(n, U.shape[1])[idx]
        return np.column_stack([np.asarray(hvp(x, E[:, j]), dtype=float).reshape(n)[idx]
                                for j in range(U.shape[1])])

    hvp_block.index = idx
    return hvp_block


@dataclass
class BlockMeasures:
    """Curvature measures of one block of coordinates (:func:`block_measures`).

    Attributes
    ----------
    size : int
        ``|I|``.
    lambda_max : float
        Largest eigenvalue of ``H_II`` (Lanczos, certified by ``lambda_max_residual``).
    lambda_max_residual : float
    trace : float
        ``tr H_II`` (exact from ``|I|`` products, or Hutch++).
    trace_stderr : float
        0 when exact.
    trace_exact : bool
    max_variation : float, ndarray or None
        ``f°_I(x, r) = sup_{‖u‖<=r} |f(x + P u) − f(x)|`` (a lower bound from
        :func:`flatlib.max_variation`), ``None`` when not asked.
    n_hvp : int
        Products spent on ``lambda_max`` and ``trace``.
    """

    size: int
    lambda_max: float
    lambda_max_residual: float
    trace: float
    trace_stderr: float
    trace_exact: bool
    max_variation: object
    n_hvp: int


def block_measures(hvp, x, blocks, *, f=None, grad=None, radius=None, batched=False, tol=1e-8,
                   exact_trace_max=4096, trace_n_hvp=300, rng=None, n_starts=2, max_iter=300):
    r"""``λ_max``, trace and ``f°`` of ``f`` restricted to each block of coordinates.

    For a block ``I`` (e.g. one layer's weights and biases) the restricted function is
    ``g_I(u) = f(x + P_I u)``, ``u ∈ R^{|I|}``: its Hessian at ``0`` is the block
    ``H_II`` of ``∇²f(x)`` (:func:`block_hvp`), whose ``λ_max`` comes from
    :func:`hessian_topk` and trace from the exact diagonal (``|I| <= exact_trace_max``)
    or Hutch++ (``trace_n_hvp`` products); ``f°_I(x, r) = g_I°(0, r)`` comes from
    :func:`flatlib.max_variation` started along the top block eigenvector.

    Invariance.  These are functions of the point ``x`` only; evaluated at the balanced
    point of a symmetry orbit (which is the same for every point of the orbit), they are
    invariant under the symmetry, while at a raw point they are not (e.g. scaling a
    network's hidden neurons by ``c`` divides the incoming layer's block Hessian by ``c²``).

    Parameters
    ----------
    hvp, x, batched, rng
        As in :func:`hessian_topk`.
    blocks : dict
        ``name -> index`` (a slice, a boolean mask or integer indices into ``x``).
    f, grad : callable, optional
        The function and its gradient (both needed for ``f°``).
    radius : float or 1-D array, optional
        Radius (radii) of the ball of each block for ``f°``.
    tol : float
        Lanczos tolerance for ``λ_max``.

    Returns
    -------
    dict
        ``name -> BlockMeasures``.

    Examples
    --------
    ``f(x) = x₀² + 3 x₁² + x₀x₂ + 5 x₂²`` (Hessian ``[[2,0,1],[0,6,0],[1,0,10]]``), blocks
    ``{0, 1}`` and ``{2}``:

    >>> import numpy as np
    >>> H = np.array([[2.0, 0.0, 1.0], [0.0, 6.0, 0.0], [1.0, 0.0, 10.0]])
    >>> f = lambda z: 0.5 * z @ H @ z
    >>> out = block_measures(lambda z, v: H @ v, np.zeros(3), {"a": [0, 1], "b": slice(2, 3)},
    ...                      f=f, grad=lambda z: H @ z, radius=0.1)
    >>> [(k, round(m.lambda_max, 8), round(m.trace, 8)) for k, m in out.items()]
    [('a', 6.0, 8.0), ('b', 10.0, 10.0)]
    >>> round(out["a"].max_variation / 0.01, 6)           # f°_I = λ_max r²/2
    3.0
    """
    x = as_point(x, "x")
    d = x.size
    if not isinstance(blocks, dict) or not blocks:
        raise TypeError("blocks must be a nonempty dict name -> index")
    want_fo = radius is not None
    if want_fo:
        check_callable(f, "f")
        check_callable(grad, "grad")
    gen = as_rng(rng)
    out = {}
    for name, index in blocks.items():
        idx = _as_index(index, d, f"blocks[{name!r}]")
        full = block_hvp(hvp, idx, d, batched=batched)

        def hb(_u, U, full=full):          # the block operator at the point x
            return full(x, U)

        z = np.zeros(idx.size)
        top = hessian_topk(hb, z, k=1, tol=tol, rng=gen, batched=True)
        n_used = top.n_hvp
        if idx.size <= exact_trace_max:
            diag = hessian_diagonal(hb, z, batched=True, block=256 if batched else 1)
            tr, se, exact = float(diag.sum()), 0.0, True
            n_used += idx.size
        else:
            est = hutchpp(hb, z, n_hvp=trace_n_hvp, batched=True, rng=gen)
            tr, se, exact = est.value, est.stderr, False
            n_used += est.n_hvp
        fo = None
        if want_fo:
            from .profiles import max_variation

            def g(u, idx=idx):
                y = x.copy()
                y[idx] += u
                return f(y)

            def gg(u, idx=idx):
                y = x.copy()
                y[idx] += u
                return np.asarray(grad(y), dtype=float)[idx]

            fo = max_variation(g, z, radius, grad=gg, starts=top.eigenvectors[:, 0], n_starts=n_starts,
                               rng=gen, max_iter=max_iter).value
        out[name] = BlockMeasures(idx.size, float(top.eigenvalues[0]), float(top.residuals[0]), tr, se,
                                  exact, fo, n_used)
    return out
