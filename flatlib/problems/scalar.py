r"""Small scalar problems with known linear symmetries.

* :class:`ScalarFactorization` ``f(x, y) = ½(xy - 1)²`` — rescaling
  ``(x, y) -> (e^t x, e^{-t} y)``, generator ``diag(1, -1)``, charge ``x² - y²``
  (up to the factor ½ and normalization).
* :class:`AbsScalarFactorization` ``f(x, y) = |xy - 1|`` — nonsmooth
  (locally Lipschitz, semialgebraic), same symmetry.
* :class:`DeepScalar` ``f(x, y, z) = ½(xyz - 1)²`` — generators
  ``diag(1, -1, 0)`` and ``diag(0, 1, -1)``, charges ``x² - y²``, ``y² - z²``.
* :class:`RotationInvariant` ``f(x) = g(||x||²)`` — algebra ``so(n)``
  (antisymmetric generators only), hence no conserved quadratic charge.

Points are flat 1-D arrays; every method validates its input
(``ValueError`` naming ``x`` for a wrong length or non-finite entries).
"""
from __future__ import annotations

import numpy as np

from .._validate import as_point, as_positive_int
from .base import Problem

__all__ = ["ScalarFactorization", "AbsScalarFactorization", "DeepScalar", "RotationInvariant"]


def _sample(n, n_samples, rng, scale):
    n_samples = as_positive_int(n_samples, "n_samples")
    rng = np.random.default_rng(rng)
    return scale * rng.standard_normal((n_samples, n))


class _Sampling:
    def sample(self, n_samples, rng=0, scale=1.0):
        """``n_samples`` i.i.d. points ``N(0, scale² I_n)`` (deterministic for an
        integer ``rng``); generic points for :func:`flatlib.symmetry.symmetry_algebra`."""
        return _sample(self.n, n_samples, rng, scale)


class ScalarFactorization(_Sampling, Problem):
    r"""``f(x, y) = ½ (xy - 1)²`` on ``R²``.

    ``∇f = r (y, x)`` with ``r = xy - 1``;
    ``∇²f = [[y², 2xy - 1], [2xy - 1, x²]]``.  The global minima form the
    hyperbola ``xy = 1``; there the Hessian has eigenvalues ``0`` and
    ``λ_max = x² + y²``, so the balanced minima ``x = y = ±1`` are the flattest
    (``λ_max = 2``).  Symmetry ``(x, y) -> (e^t x, e^{-t} y)``, generator
    ``diag(1, -1)``; Noether charge ``½(x² - y²)``.

    Examples
    --------
    >>> import numpy as np
    >>> p = ScalarFactorization()
    >>> round(p.f([3.0, 0.1]), 3), p.grad([3.0, 0.1]).round(3)
    (0.245, array([-0.07, -2.1 ]))
    >>> np.linalg.eigvalsh(p.hess([2.0, 0.5])).round(6) + 0.0      # 0 and x² + y²
    array([0.  , 4.25])
    >>> p.generators()[0]
    array([[ 1.,  0.],
           [ 0., -1.]])
    """

    name = "scalar factorization ½(xy-1)²"
    n = 2
    default_x0 = np.array([3.0, 0.1])

    def _x(self, x):
        return as_point(x, "x", n=self.n)

    def f(self, x):
        x, y = self._x(x)
        return float(0.5 * (x * y - 1.0) ** 2)

    def grad(self, x):
        x, y = self._x(x)
        r = x * y - 1.0
        return np.array([r * y, r * x])

    def hess(self, x):
        x, y = self._x(x)
        c = 2.0 * x * y - 1.0
        return np.array([[y * y, c], [c, x * x]])

    def hvp(self, x, v):
        return self.hess(x) @ as_point(v, "v", n=self.n)

    def generators(self):
        return np.diag([1.0, -1.0])[None]


class AbsScalarFactorization(_Sampling, Problem):
    r"""``f(x, y) = |xy - 1|``: locally Lipschitz, nonsmooth on ``xy = 1``.

    ``f = |g|`` with ``g(x, y) = xy - 1`` (see :meth:`inner`,
    :meth:`inner_grad`).  The Clarke subdifferential is
    ``sign(g) (y, x)`` off the kink and ``[-1, 1]·(y, x)`` on it.
    :meth:`grad` returns the **minimal-norm subgradient**: ``sign(g)(y, x)``
    with ``sign(0) = 0``, i.e. ``0`` on the kink (all of it are global minima).
    :meth:`hess`/:meth:`hvp` return the Hessian where it exists
    (``sign(g)·[[0, 1], [1, 0]]``; ``0`` on the kink by the same convention).
    Same symmetry as :class:`ScalarFactorization`; the charge ``x² - y²`` is
    conserved by the subgradient flow (chain rule), see
    :func:`flatlib.flows.subgradient_flow`.

    Examples
    --------
    >>> p = AbsScalarFactorization()
    >>> round(p.f([3.0, 0.1]), 3), p.grad([3.0, 0.1]).round(3), p.grad([2.0, 0.5])
    (0.7, array([-0.1, -3. ]), array([0., 0.]))
    """

    name = "nonsmooth scalar factorization |xy-1|"
    n = 2
    default_x0 = np.array([3.0, 0.1])

    def _x(self, x):
        return as_point(x, "x", n=self.n)

    def inner(self, x):
        """``g(x, y) = xy - 1``."""
        x, y = self._x(x)
        return x * y - 1.0

    def inner_grad(self, x):
        """``∇g = (y, x)``."""
        x, y = self._x(x)
        return np.array([y, x])

    def f(self, x):
        return float(abs(self.inner(x)))

    def grad(self, x):
        """Minimal-norm Clarke subgradient ``sign(xy - 1)·(y, x)`` (``0`` on the kink)."""
        return np.sign(self.inner(x)) * self.inner_grad(x)

    def hess(self, x):
        return np.sign(self.inner(x)) * np.array([[0.0, 1.0], [1.0, 0.0]])

    def hvp(self, x, v):
        return self.hess(x) @ as_point(v, "v", n=self.n)

    def generators(self):
        return np.diag([1.0, -1.0])[None]


class DeepScalar(_Sampling, Problem):
    r"""``f(x, y, z) = ½ (xyz - 1)²`` on ``R³`` (a depth-3 scalar network).

    With ``p = xyz``, ``r = p - 1``: ``∇f = r ∇p``, ``∇p = (yz, xz, xy)``,
    ``∇²f = ∇p ∇pᵀ + r [[0, z, y], [z, 0, x], [y, x, 0]]``.
    Symmetries ``diag(e^a, e^b, e^c)`` with ``a + b + c = 0``: the algebra is
    the traceless diagonal matrices (dimension 2), generated by
    ``diag(1, -1, 0)`` and ``diag(0, 1, -1)``; charges ``x² - y²``, ``y² - z²``.
    (Off-diagonal ``A`` would create the monomials ``y²z, x²z, ...`` in
    ``<∇p, A x>``, which cannot cancel, so there are no others.)

    Examples
    --------
    >>> p = DeepScalar()
    >>> round(p.f([1.0, 2.0, 0.25]), 6), p.grad([1.0, 2.0, 0.5]).round(3)
    (0.125, array([0., 0., 0.]))
    >>> p.generators().shape
    (2, 3, 3)
    """

    name = "deep scalar ½(xyz-1)²"
    n = 3
    default_x0 = np.array([2.0, 1.0, 0.3])

    def _x(self, x):
        return as_point(x, "x", n=self.n)

    def f(self, x):
        x, y, z = self._x(x)
        return float(0.5 * (x * y * z - 1.0) ** 2)

    def grad(self, x):
        x, y, z = self._x(x)
        r = x * y * z - 1.0
        return r * np.array([y * z, x * z, x * y])

    def hess(self, x):
        x, y, z = self._x(x)
        r = x * y * z - 1.0
        dp = np.array([y * z, x * z, x * y])
        return np.outer(dp, dp) + r * np.array([[0.0, z, y], [z, 0.0, x], [y, x, 0.0]])

    def hvp(self, x, v):
        return self.hess(x) @ as_point(v, "v", n=self.n)

    def generators(self):
        return np.array([np.diag([1.0, -1.0, 0.0]), np.diag([0.0, 1.0, -1.0])])


class RotationInvariant(_Sampling, Problem):
    r"""``f(x) = g(||x||²)`` on ``R^n``, by default ``g(s) = ¼ (s - 1)²``.

    ``∇f = 2 g'(s) x``, ``∇²f = 2 g'(s) I + 4 g''(s) x xᵀ`` with ``s = ||x||²``
    (default: ``∇f = (s - 1) x``, ``∇²f = (s - 1) I + 2 x xᵀ``).  Minima: the
    unit sphere.  ``<∇f(x), A x> = 2 g'(s) <x, A x>`` vanishes for all ``x`` iff
    ``A`` is antisymmetric, so the symmetry algebra is ``so(n)``, of dimension
    ``n(n-1)/2``, and it contains no nonzero symmetric matrix: **no**
    conserved quadratic charge (the rotations are isometries).
    :meth:`generators` returns ``E_ij - E_ji`` for ``i < j``.

    Parameters
    ----------
    n : int
        Dimension (default 3).
    g, dg, d2g : callables, optional
        Outer function and its first two derivatives (all three or none).

    Examples
    --------
    >>> p = RotationInvariant(3)
    >>> round(p.f([1.0, 1.0, 0.0]), 3), p.grad([1.0, 1.0, 0.0])
    (0.25, array([1., 1., 0.]))
    >>> p.generators().shape                     # so(3)
    (3, 3, 3)
    """

    name = "rotation-invariant g(||x||²)"

    def __init__(self, n=3, g=None, dg=None, d2g=None):
        self.n = as_positive_int(n, "n")
        if (g is None) != (dg is None) or (g is None) != (d2g is None):
            raise ValueError("g, dg and d2g must be given together")
        if g is None:
            g = lambda s: 0.25 * (s - 1.0) ** 2  # noqa: E731
            dg = lambda s: 0.5 * (s - 1.0)  # noqa: E731
            d2g = lambda s: 0.5  # noqa: E731
        self._g, self._dg, self._d2g = g, dg, d2g
        self.default_x0 = np.linspace(1.0, 0.2, self.n)

    def _x(self, x):
        return as_point(x, "x", n=self.n)

    def f(self, x):
        x = self._x(x)
        return float(self._g(float(x @ x)))

    def grad(self, x):
        x = self._x(x)
        return 2.0 * float(self._dg(float(x @ x))) * x

    def hess(self, x):
        x = self._x(x)
        s = float(x @ x)
        return 2.0 * float(self._dg(s)) * np.eye(self.n) + 4.0 * float(self._d2g(s)) * np.outer(x, x)

    def hvp(self, x, v):
        x = self._x(x)
        v = as_point(v, "v", n=self.n)
        s = float(x @ x)
        return 2.0 * float(self._dg(s)) * v + 4.0 * float(self._d2g(s)) * (x @ v) * x

    def generators(self):
        n = self.n
        out = []
        for i in range(n):
            for j in range(i + 1, n):
                A = np.zeros((n, n))
                A[i, j], A[j, i] = 1.0, -1.0
                out.append(A)
        return np.array(out).reshape(-1, n, n)
