r"""Diagonal linear network: the regression ``y ≈ Xβ`` with ``β = u⊙u - v⊙v``.

The loss on ``z = [u, v] ∈ R^{2d}`` is

    f(u, v) = (1/(2N)) ‖X(u⊙u - v⊙v) - y‖²,   X ∈ R^{N×d},

an overparameterized linear regression (``N < d``: a whole affine space of interpolating
``β``) whose algorithms differ only by *which* interpolator they pick.

Facts implemented here and checked in ``tests/test_dynamics.py``:

* ``∇_u f = 2u⊙g``, ``∇_v f = -2v⊙g`` with ``g = Xᵀr/N``, ``r = Xβ - y``; the exact
  Hessian-vector product is :meth:`DiagonalLinearNetwork.hvp`.
* **Implicit bias of the gradient flow** (Woodworth et al., *Kernel and rich regimes in
  overparametrized models*, COLT 2020).  From ``u = v = α𝟙`` the flow
  ``u' = -2u⊙Xᵀr/N``, ``v' = 2v⊙Xᵀr/N`` integrates to ``u = α e^{-2Xᵀs}``,
  ``v = α e^{2Xᵀs}`` with ``s(t) = ∫₀ᵗ r/N``, so ``β = -2α² sinh(4Xᵀs)`` stays of the form
  ``2α² sinh(Xᵀμ)``.  If it converges to an interpolator, that point satisfies the KKT
  conditions of

  .. math:: \min_β\ α^2 \sum_i q(β_i/α^2)\quad\text{s.t. } Xβ = y,\qquad
            q(z) = 2 - \sqrt{4 + z^2} + z\,\operatorname{arcsinh}(z/2)

  (``q' = arcsinh(·/2)``), a strictly convex problem: its unique solution
  (:func:`gd_implicit_bias`).  Small ``α`` gives ``Q_α ≈ ‖β‖₁ log(1/α²)`` (the sparse,
  "rich" regime), large ``α`` the minimal ``ℓ2``-norm interpolator (the "kernel" regime).
* Andriushchenko & Flammarion (*Towards understanding sharpness-aware minimization*,
  ICML 2022) show that SAM on this network, most strongly its batch-size-1 version,
  biases towards sparser interpolators than GD from the same initialization.
  :func:`min_l1_interpolator` (a linear program) gives the sparsest reference.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_nonneg, as_point, as_positive_int, as_rng
from .base import Problem

__all__ = [
    "DiagonalLinearNetwork",
    "sparse_regression",
    "gd_implicit_bias",
    "min_l1_interpolator",
]


def _data(X, y):
    try:
        X = np.array(X, dtype=float)
        y = np.array(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError("X and y must be arrays of real numbers") from exc
    if X.ndim != 2 or X.size == 0:
        raise ValueError(f"X must be a non-empty 2-D array (N, d), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite")
    return X, y


class DiagonalLinearNetwork(Problem):
    r"""``f(u, v) = (1/(2N)) ‖X(u⊙u - v⊙v) - y‖²`` on ``z = [u, v] ∈ R^{2d}``.

    Parameters
    ----------
    X : array_like (N, d)
    y : array_like (N,)

    Attributes
    ----------
    X, y
    d : int
        Dimension of ``β``.
    n : int
        ``2d`` parameters.
    n_samples : int
        ``N``; :meth:`sample_grad` is the gradient of ``ℓ_i = ½(x_iᵀβ - y_i)²``, so that
        ``f = (1/N) Σ_i ℓ_i``.

    Examples
    --------
    >>> import numpy as np
    >>> net = DiagonalLinearNetwork([[1.0, 2.0]], [3.0])
    >>> z = net.init(1.0)                  # u = v = 1: β = 0
    >>> net.beta(z).tolist(), net.f(z), net.grad(z).tolist()
    ([0.0, 0.0], 4.5, [-6.0, -12.0, 6.0, 12.0])
    """

    name = "diagonal_linear_network"

    def __init__(self, X, y):
        self.X, self.y = _data(X, y)
        self.N, self.d = self.X.shape
        self.n = 2 * self.d
        self.n_samples = self.N

    def _split(self, z, name="x"):
        z = as_point(z, name, n=self.n)
        return z[:self.d], z[self.d:]

    def init(self, alpha):
        """``u = v = α𝟙`` (``β = 0``), the initialization of the implicit-bias result.

        Examples
        --------
        >>> DiagonalLinearNetwork(np.eye(2), [1.0, 0.0]).init(0.5).tolist()
        [0.5, 0.5, 0.5, 0.5]
        """
        a = as_nonneg(alpha, "alpha", strictly_positive=True)
        if np.ndim(a) != 0:
            raise ValueError("alpha must be a positive scalar")
        return np.full(self.n, float(a))

    def beta(self, z):
        """``β = u⊙u - v⊙v``.

        Examples
        --------
        >>> DiagonalLinearNetwork(np.eye(2), [1.0, 0.0]).beta([2.0, 1.0, 1.0, 1.0]).tolist()
        [3.0, 0.0]
        """
        u, v = self._split(z, "z")
        return u * u - v * v

    def f(self, x):
        u, v = self._split(x)
        r = self.X @ (u * u - v * v) - self.y
        return float(0.5 * (r @ r) / self.N)

    def grad(self, x):
        u, v = self._split(x)
        g = self.X.T @ (self.X @ (u * u - v * v) - self.y) / self.N
        return np.concatenate([2.0 * u * g, -2.0 * v * g])

    def hvp(self, x, w):
        r"""Exact ``∇²f(z) w``: with ``J = [2 X diag(u), -2 X diag(v)]`` (the differential
        of ``z -> Xβ``), ``∇²f = JᵀJ/N + diag(2g, -2g)``, ``g = Xᵀr/N``.

        Examples
        --------
        >>> import numpy as np
        >>> net = DiagonalLinearNetwork([[1.0]], [1.0])            # f = ½(u² - v² - 1)²
        >>> net.hvp([1.0, 0.0], [1.0, 0.0]) + 0.0                  # ∂²f/∂u² = 4u² + 2(u² - v² - 1)
        array([4., 0.])
        """
        u, v = self._split(x)
        a, b = self._split(w, "w")
        r = self.X @ (u * u - v * v) - self.y
        g = self.X.T @ r / self.N
        dr = self.X @ (2.0 * u * a - 2.0 * v * b)
        h = self.X.T @ dr / self.N
        return np.concatenate([2.0 * u * h + 2.0 * g * a, -2.0 * v * h - 2.0 * g * b])

    def sample_grad(self, x, i):
        r"""Gradient of ``ℓ_i = ½(x_iᵀβ - y_i)²`` (``f`` is their mean).

        Examples
        --------
        >>> import numpy as np
        >>> net = DiagonalLinearNetwork(np.random.default_rng(0).standard_normal((5, 3)), np.ones(5))
        >>> z = net.init(0.7) + 0.1
        >>> bool(np.allclose(np.mean([net.sample_grad(z, i) for i in range(5)], axis=0), net.grad(z)))
        True
        """
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.N:
            raise ValueError(f"i must be an integer in [0, {self.N}), got {i!r}")
        u, v = self._split(x)
        xi = self.X[int(i)]
        ri = xi @ (u * u - v * v) - self.y[int(i)]
        return np.concatenate([2.0 * ri * u * xi, -2.0 * ri * v * xi])


def sparse_regression(n_samples, dim, sparsity, rng=None):
    r"""A sparse noiseless regression: ``X`` with i.i.d. ``N(0, 1)`` entries, ``β*`` with
    ``sparsity`` nonzero entries (the first ones) of magnitude 1 and random signs,
    ``y = Xβ*``.

    Returns
    -------
    X : ndarray (n_samples, dim)
    y : ndarray (n_samples,)
    beta_star : ndarray (dim,)

    Examples
    --------
    >>> X, y, b = sparse_regression(10, 30, 3, rng=0)
    >>> X.shape, int(np.count_nonzero(b)), bool(np.allclose(X @ b, y))
    ((10, 30), 3, True)
    """
    N = as_positive_int(n_samples, "n_samples")
    d = as_positive_int(dim, "dim")
    k = as_positive_int(sparsity, "sparsity")
    if k > d:
        raise ValueError(f"sparsity must be <= dim = {d}, got {k}")
    gen = as_rng(rng)
    X = gen.standard_normal((N, d))
    b = np.zeros(d)
    b[:k] = gen.choice([-1.0, 1.0], size=k)
    return X, X @ b, b


def gd_implicit_bias(X, y, alpha, *, tol=1e-12, max_iter=200):
    r"""The interpolator reached by the gradient flow of :class:`DiagonalLinearNetwork`
    from ``u = v = α𝟙``: ``β = 2α² sinh(Xᵀμ)`` with ``μ`` solving ``X β(μ) = y``
    (Woodworth et al. 2020; the module docstring derives it).

    ``μ`` minimizes the smooth strictly convex dual ``φ(μ) = 2α² Σ_i cosh((Xᵀμ)_i) - yᵀμ``
    (``X`` of full row rank), found by Newton's method with backtracking.

    Examples
    --------
    One sample ``β₁ + β₂ = 1``: symmetric, so ``β = (½, ½)`` for every ``α``:

    >>> np.round(gd_implicit_bias([[1.0, 1.0]], [1.0], 0.1), 10).tolist()
    [0.5, 0.5]
    """
    X, y = _data(X, y)
    a = as_nonneg(alpha, "alpha", strictly_positive=True)
    if np.ndim(a) != 0:
        raise ValueError("alpha must be a positive scalar")
    if np.linalg.matrix_rank(X) < X.shape[0]:
        raise ValueError("X must have full row rank (independent samples)")
    c = 2.0 * a * a
    mu = np.zeros(X.shape[0])

    def phi(m):
        s = X.T @ m
        with np.errstate(over="ignore"):
            return c * np.sum(np.cosh(s)) - y @ m

    for _ in range(int(max_iter)):
        s = X.T @ mu
        g = c * X @ np.sinh(s) - y
        if np.linalg.norm(g) <= tol * max(1.0, np.linalg.norm(y)):
            break
        H = c * (X * np.cosh(s)) @ X.T
        step = np.linalg.solve(H, -g)
        t, f0 = 1.0, phi(mu)
        slack = 8 * np.finfo(float).eps * (abs(f0) + c * X.shape[1])     # rounding of φ
        while phi(mu + t * step) > f0 + 0.25 * t * (g @ step) + slack and t > 1e-12:
            t *= 0.5
        mu = mu + t * step
    else:  # pragma: no cover - Newton on a strictly convex smooth function converges
        raise RuntimeError("gd_implicit_bias: Newton's method did not converge")
    return c * np.sinh(X.T @ mu)


def min_l1_interpolator(X, y):
    r"""``argmin ‖β‖₁`` subject to ``Xβ = y`` (the ``α -> 0`` limit of the implicit bias),
    by the linear program in ``(β⁺, β⁻) >= 0``: ``min 𝟙ᵀ(β⁺ + β⁻)``,
    ``X(β⁺ - β⁻) = y`` (scipy's HiGHS).

    Examples
    --------
    >>> np.round(min_l1_interpolator([[1.0, 2.0]], [2.0]), 10).tolist()     # the larger coefficient wins
    [0.0, 1.0]
    """
    from scipy.optimize import linprog

    X, y = _data(X, y)
    d = X.shape[1]
    res = linprog(np.ones(2 * d), A_eq=np.hstack([X, -X]), b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:  # pragma: no cover - feasible whenever X has full row rank
        raise ValueError(f"min_l1_interpolator: the linear program failed ({res.message})")
    return res.x[:d] - res.x[d:]
