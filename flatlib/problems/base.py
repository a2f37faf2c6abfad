"""The common shape of a worked problem.

A problem is a smooth (or locally Lipschitz) function ``f: R^n -> R`` on flat
parameter vectors, with what a solver may want of it.  Structured problems
(matrix factorization, small networks) keep their own shapes internally and
expose ``pack``/``unpack`` between the flat vector and the structured form.

Attributes and methods
----------------------
n : int
    Dimension of the parameter vector.
f(x) -> float
    The value of ``f`` at ``x``.
grad(x) -> ndarray (n,)
    The gradient ``∇f(x)``.
hvp(x, v) -> ndarray (n,)
    Hessian-vector product ``∇²f(x) v``.
hess(x) -> ndarray (n, n)
    Dense Hessian; by default assembled from ``hvp`` (only for small ``n``).
generators() -> ndarray (k, n, n) or None
    Known linear symmetry generators ``A`` (``f(e^{tA} x) = f(x)``), when known.
"""
from __future__ import annotations

import numpy as np


class Problem:
    """Base class: subclasses set ``n`` and implement ``f`` and ``grad``
    (and ``hvp`` when cheaper than finite differences).

    Examples
    --------
    >>> import numpy as np
    >>> class Bowl(Problem):
    ...     n = 2
    ...     def f(self, x):
    ...         return float(x @ x)
    ...     def grad(self, x):
    ...         return 2 * np.asarray(x, dtype=float)
    >>> Bowl().hess(np.zeros(2)).round(6).tolist()      # from finite-difference hvp
    [[2.0, 0.0], [0.0, 2.0]]
    """

    n: int
    name: str = "problem"

    def __call__(self, x):
        return self.f(x)

    def f(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def grad(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def hvp(self, x, v):
        """Hessian-vector product by central differences of ``grad``
        (error O(h²)); subclasses override with the exact product."""
        x = np.asarray(x, dtype=float)
        v = np.asarray(v, dtype=float)
        nv = np.linalg.norm(v)
        if nv == 0.0:
            return np.zeros_like(x)
        h = 1e-5 * max(1.0, np.linalg.norm(x)) / nv
        return (self.grad(x + h * v) - self.grad(x - h * v)) / (2.0 * h)

    def hess(self, x):
        """Dense Hessian from ``n`` Hessian-vector products, symmetrized."""
        x = np.asarray(x, dtype=float)
        eye = np.eye(self.n)
        H = np.column_stack([self.hvp(x, eye[:, i]) for i in range(self.n)])
        return 0.5 * (H + H.T)

    def generators(self):
        return None

    def __repr__(self):
        return f"<{type(self).__name__} n={self.n}>"
