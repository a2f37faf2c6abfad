r"""Balancing flow of matrix factorization, in factor form, and the balanced point of an orbit.

Layer: **problem layer** (matrix factorization specific; imports
:mod:`flatlib.problems.matrix_factorization` for input checks, and numpy / scipy).

Mathematics
-----------
For ``f(X, Y) = ½||XYᵀ - M||²_F`` the symmetry ``(X, Y) -> (XG, YG⁻ᵀ)``,
``G ∈ GL(r)``, has the conserved matrix ``C = XᵀX - YᵀY``.  The gradient flow of
``h = ¼||C||²_F`` (the squared norm of the conserved quantities) is, in factor form,

    X' = -X C,    Y' = Y C,                                          (balancing flow)

(:func:`flatlib.flows.conserved_flow` with a Frobenius-orthonormal basis of charges
integrates the same path at the slower speed ``1/(2(m+n))``: its time ``τ`` is
``2(m+n) t``).  Writing ``S = XᵀX + YᵀY``:

* ``X Yᵀ`` is constant (``(XYᵀ)' = -XCYᵀ + XCYᵀ = 0``), so ``f`` is constant;
* ``C' = -(CS + SC)``, hence ``(||C||²_F)' = -4 tr(CSC) <= 0``;
* ``(||X||²_F + ||Y||²_F)' = -2 tr(C²)``;
* with ``X = X₀G``, ``Y = Y₀G⁻ᵀ``, ``G' = -GC``, the matrix ``P = GGᵀ`` solves the
  Riccati equation ``P' = 2(B - PAP)``, ``A = X₀ᵀX₀``, ``B = Y₀ᵀY₀``, ``P(0) = I``.

Kempf–Ness for this orbit: on ``{(X₀G, Y₀G⁻ᵀ)}`` the squared norm is
``N(P) = tr(PA) + tr(P⁻¹B)``, strictly convex in ``P ≻ 0`` when ``A, B ≻ 0``, with
stationarity ``A = P⁻¹BP⁻¹``, i.e. ``PAP = B``, which is exactly the balance condition
``GᵀAG = G⁻¹BG⁻ᵀ``.  So the balanced points of the orbit are its minimal-norm points,
``P* = A^{-1/2}(A^{1/2}BA^{1/2})^{1/2}A^{-1/2}`` and the minimal squared norm is
``2 tr (A^{1/2}BA^{1/2})^{1/2} = 2 ||X₀Y₀ᵀ||_*`` (twice the nuclear norm; the eigenvalues
of ``AB`` are the squared nonzero singular values of ``X₀Y₀ᵀ``).  The balancing flow
converges to such a point (``P(t) -> P*``); :func:`orbit_balanced_point` gives it in closed
form (up to the right orthogonal factor, which the flow chooses).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .matrix_factorization import _as_factors

__all__ = ["BalancingFlowResult", "balancing_flow", "orbit_balanced_point"]

_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")


@dataclass
class BalancingFlowResult:
    """Trajectory of the balancing flow ``X' = -XC, Y' = YC``.

    Attributes
    ----------
    t : ndarray (T,)
    X : ndarray (T, m, r)
    Y : ndarray (T, n, r)
    nfev : int
        Right-hand side evaluations.
    message : str
    success : bool
    """

    t: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    nfev: int
    message: str
    success: bool = True

    @property
    def C(self):
        """``C(t) = XᵀX - YᵀY``, shape ``(T, r, r)``."""
        return (np.einsum("tia,tib->tab", self.X, self.X)
                - np.einsum("tia,tib->tab", self.Y, self.Y))

    @property
    def S(self):
        """``S(t) = XᵀX + YᵀY``, shape ``(T, r, r)``."""
        return (np.einsum("tia,tib->tab", self.X, self.X)
                + np.einsum("tia,tib->tab", self.Y, self.Y))

    @property
    def C_norm(self):
        """``||C(t)||_F``."""
        return np.sqrt(np.einsum("tab,tab->t", self.C, self.C))

    @property
    def sq_norm(self):
        """``||X(t)||²_F + ||Y(t)||²_F``."""
        return np.einsum("tia,tia->t", self.X, self.X) + np.einsum("tia,tia->t", self.Y, self.Y)

    @property
    def tr_C2(self):
        """``tr(C(t)²)``; the squared norm decreases at rate ``-2 tr(C²)``."""
        C = self.C
        return np.einsum("tab,tba->t", C, C)

    @property
    def product(self):
        """``X(t) Y(t)ᵀ``, shape ``(T, m, n)`` (constant along the flow)."""
        return np.einsum("tia,tja->tij", self.X, self.Y)

    @property
    def X_final(self):
        return self.X[-1]

    @property
    def Y_final(self):
        return self.Y[-1]

    def packed(self):
        """``(T, (m+n) r)`` states ``[vec X, vec Y]`` (row-major, as
        :meth:`flatlib.problems.matrix_factorization.MatrixFactorization.pack`)."""
        T = self.t.size
        return np.concatenate([self.X.reshape(T, -1), self.Y.reshape(T, -1)], axis=1)

    def __repr__(self):
        return (f"<BalancingFlowResult T={self.t.size} X{self.X.shape[1:]} Y{self.Y.shape[1:]} "
                f"success={self.success} message={self.message!r}>")


def _positive_scalar(v, name):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got bool")
    try:
        v = float(v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}") from exc
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    return v


def balancing_flow(X0, Y0, t_span, *, t_eval=None, rtol=1e-12, atol=1e-14, method="DOP853"):
    r"""Integrate ``X' = -XC``, ``Y' = YC`` with ``C = XᵀX - YᵀY`` from ``(X0, Y0)``.

    The flow stays on the symmetry orbit ``{(X0 G, Y0 G⁻ᵀ)}`` (``XYᵀ`` is constant),
    decreases ``||X||² + ||Y||²`` at rate ``2 tr(C²)`` and converges to a balanced point
    ``XᵀX = YᵀY``, the minimal-norm point of the orbit (see the module docstring).  It is
    the flow :func:`flatlib.flows.conserved_flow` integrates, sped up by ``2(m+n)``.

    Parameters
    ----------
    X0 : array_like (m, r)
    Y0 : array_like (n, r)
    t_span : (t0, t1), t0 < t1
    t_eval : array_like, optional
        Increasing output times in ``[t0, t1]`` (default 201 equally spaced).
    rtol, atol : float
        Tolerances of :func:`scipy.integrate.solve_ivp`.
    method : str
        A :func:`scipy.integrate.solve_ivp` method (default ``DOP853``; the flow is
        norm-decreasing, hence bounded, and not stiff at the scales of interest).

    Returns
    -------
    BalancingFlowResult

    Examples
    --------
    Scalar factorization ``x' = -x(x² - y²)``, ``y' = y(x² - y²)`` from ``(2, 1/2)``: the
    product stays 1 and the limit is the balanced point ``(1, 1)``:

    >>> import numpy as np
    >>> res = balancing_flow([[2.0]], [[0.5]], (0.0, 20.0))
    >>> round(float(res.X_final[0, 0]), 8), round(float(res.Y_final[0, 0]), 8)
    (1.0, 1.0)
    >>> bool(np.all(np.diff(res.sq_norm) <= 1e-14))          # up to round-off
    True
    """
    from scipy.integrate import solve_ivp

    X0, Y0 = _as_factors(X0, Y0)
    m, r = X0.shape
    n = Y0.shape[0]
    try:
        ts = np.array(t_span, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError("t_span must be a pair (t0, t1) of real numbers") from exc
    if ts.shape != (2,) or not np.all(np.isfinite(ts)) or not ts[1] > ts[0]:
        raise ValueError(f"t_span must be a finite pair (t0, t1) with t0 < t1, got {t_span!r}")
    if t_eval is None:
        te = np.linspace(ts[0], ts[1], 201)
    else:
        te = np.array(t_eval, dtype=float)
        if te.ndim != 1 or te.size == 0 or not np.all(np.isfinite(te)):
            raise ValueError("t_eval must be a non-empty finite 1-D array")
        if np.any(np.diff(te) <= 0) or te[0] < ts[0] or te[-1] > ts[1]:
            raise ValueError("t_eval must be strictly increasing and lie within t_span")
    rtol = _positive_scalar(rtol, "rtol")
    atol = _positive_scalar(atol, "atol")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    k = m * r

    def rhs(t, z):
        X = z[:k].reshape(m, r)
        Y = z[k:].reshape(n, r)
        C = X.T @ X - Y.T @ Y
        return np.concatenate([(-X @ C).ravel(), (Y @ C).ravel()])

    z0 = np.concatenate([X0.ravel(), Y0.ravel()])
    sol = solve_ivp(rhs, (ts[0], ts[1]), z0, method=method, t_eval=te, rtol=rtol, atol=atol)
    Z = sol.y.T
    if not np.all(np.isfinite(Z)):  # pragma: no cover - the flow is norm-decreasing
        raise FloatingPointError("balancing_flow produced non-finite values")
    T = Z.shape[0]
    return BalancingFlowResult(t=sol.t, X=Z[:, :k].reshape(T, m, r), Y=Z[:, k:].reshape(T, n, r),
                               nfev=int(sol.nfev), message=str(sol.message),
                               success=bool(sol.success))


def _sqrtm_psd(A):
    w, V = np.linalg.eigh(0.5 * (A + A.T))
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def orbit_balanced_point(X, Y):
    r"""The balanced point ``(X G, Y G⁻¹)`` of the orbit of ``(X, Y)`` with ``G ≻ 0`` symmetric.

    With ``A = XᵀX``, ``B = YᵀY`` (both must be invertible: ``X`` and ``Y`` of full column
    rank), ``G = P*^{1/2}`` with ``P* = A^{-1/2}(A^{1/2}BA^{1/2})^{1/2}A^{-1/2}``, the unique
    solution ``P ≻ 0`` of ``PAP = B``.  Every balanced point of the orbit is
    ``(XG Q, YG⁻¹Q)`` with ``Q`` orthogonal, and they all have the minimal squared norm
    ``2 tr (A^{1/2}BA^{1/2})^{1/2} = 2 ||XYᵀ||_*`` on the orbit (Kempf–Ness; see the module
    docstring).

    Returns
    -------
    Xb : ndarray (m, r)
    Yb : ndarray (n, r)
    min_sq_norm : float
        ``||Xb||² + ||Yb||²`` computed as ``2 tr (A^{1/2}BA^{1/2})^{1/2}``.

    Examples
    --------
    >>> import numpy as np
    >>> Xb, Yb, nmin = orbit_balanced_point([[4.0]], [[0.25]])     # orbit xy = 1
    >>> float(Xb[0, 0]), float(Yb[0, 0]), round(nmin, 12)
    (1.0, 1.0, 2.0)
    """
    X, Y = _as_factors(X, Y)
    A, B = X.T @ X, Y.T @ Y
    for name, G in (("X", A), ("Y", B)):
        w = np.linalg.eigvalsh(G)
        if not w[0] > 1e-12 * max(w[-1], np.finfo(float).tiny):
            raise ValueError(f"{name} must have full column rank (its Gram matrix is singular)")
    Ah = _sqrtm_psd(A)
    Ahi = np.linalg.inv(Ah)
    K = _sqrtm_psd(Ah @ B @ Ah)
    Pstar = Ahi @ K @ Ahi
    G = _sqrtm_psd(Pstar)
    Gi = np.linalg.inv(G)
    return X @ G, Y @ Gi, float(2.0 * np.trace(K))
