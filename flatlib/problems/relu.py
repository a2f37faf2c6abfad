r"""Two-layer ReLU network on a small deterministic synthetic data set.

Model and loss
--------------
Inputs ``x_i ∈ R^d`` and targets ``y_i`` (``i = 1..N``), hidden width ``h``,
parameters ``θ = (a, W)`` with ``a ∈ R^h`` (output weights) and ``W ∈ R^{h×d}``
(rows ``w_j``, no biases):

.. math:: f(θ) = \frac{1}{2N} \sum_{i=1}^N \Big(\sum_{j=1}^h a_j\,
          \mathrm{relu}(w_j \cdot x_i) - y_i\Big)^2 .

Flat layout: ``θ = [a_1..a_h, w_1 (d entries), ..., w_h]`` (see :meth:`pack`,
:meth:`unpack`).  ``relu'(0) := 0``, so :meth:`grad` is the gradient wherever
``f`` is differentiable (all ``w_j·x_i ≠ 0``, a full-measure set) and a
particular Clarke subgradient elsewhere; :meth:`hess` is the exact Hessian
there (ReLU is piecewise linear, so only the ``a_j``–``w_j`` cross terms of
the network's own Hessian survive).

Symmetry
--------
Positive homogeneity ``relu(s u) = s relu(u)`` (``s > 0``) gives, per neuron,
``(a_j, w_j) -> (a_j/s, s w_j)``; with ``s = e^t`` the generator is the
diagonal matrix with ``-1`` on ``a_j`` and ``+1`` on the ``d`` entries of
``w_j``, and the Noether charge is ``½(||w_j||² - a_j²)``.  (The permutation
of neurons is a discrete symmetry and does not enter the Lie algebra.)

Data-dependent enlargement: let ``m``
be the rank of the data matrix (``m = min(N, d)`` for generic data).  Only the
projections of the ``w_j`` on the span of the ``x_i`` enter ``f``; write
``w_j = (p_j, q_j)`` in an orthonormal basis adapted to that span.  On each
activation region the condition ``<∇f(θ), Aθ> = 0`` becomes a polynomial
identity; for one data point (``m = 1``) the regions where a single neuron
is active force the rows of ``A`` for ``a_j`` and ``p_j`` to be
``c_j e_{a_j}`` and ``-c_j e_{p_j}`` (the rescalings), while the
``h (d - m)`` rows for the ``q_j`` coordinates are free.  This gives

    dim g = h + h (d - m) · n,      n = h (1 + d),

a formula derived for ``m = 1`` and confirmed numerically by
:func:`flatlib.symmetry.symmetry_algebra` for ``m = 2 < d`` and for
``N >= d`` in the tests.  So the algebra is exactly the ``h`` rescalings when
``N >= d`` (generic data), but e.g.
``3 + 3·1·9 = 30`` for ``d = 2, h = 3, N = 1``.  The extra generators move
``w_j`` orthogonally to the data and do not change ``f`` on the training set.

Data
----
``x_i ~ N(0, I_d)``; ``y_i`` from a random teacher network of width
``teacher_width`` plus ``noise · N(0, 1)``, all from
``numpy.random.default_rng(seed)``: the same seed gives the same data on
every platform.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_nonneg, as_point, as_positive_int
from .base import Problem
from .scalar import _Sampling

__all__ = ["TwoLayerReLU"]


class TwoLayerReLU(_Sampling, Problem):
    r"""Two-layer ReLU network ``Σ_j a_j relu(w_j·x)`` with square loss.

    Parameters
    ----------
    d : int
        Input dimension (default 2).
    h : int
        Hidden neurons (default 3).
    n_data : int
        Number of samples ``N`` (default 20).
    seed : int
        Seed of the data generator (default 0).
    teacher_width : int
        Hidden width of the teacher producing the targets (default 2).
    noise : float
        Standard deviation of the label noise (default 0.1).

    Attributes
    ----------
    X : ndarray (N, d), y : ndarray (N,)
        The data.
    n : int
        ``h (1 + d)``.

    Examples
    --------
    >>> import numpy as np
    >>> p = TwoLayerReLU(d=2, h=3, n_data=20, seed=0)
    >>> p.n, p.X.shape
    (9, (20, 2))
    >>> theta = p.default_x0
    >>> round(p.f(theta), 6) == round(p.f(p.rescale(theta, 1, 3.0)), 6)   # neuron 1 rescaled
    True
    >>> p.generators().shape
    (3, 9, 9)
    """

    name = "two-layer ReLU network"

    def __init__(self, d=2, h=3, n_data=20, seed=0, teacher_width=2, noise=0.1):
        self.d = as_positive_int(d, "d")
        self.h = as_positive_int(h, "h")
        self.n_data = as_positive_int(n_data, "n_data")
        teacher_width = as_positive_int(teacher_width, "teacher_width")
        noise = as_nonneg(noise, "noise")
        if np.ndim(noise) != 0:
            raise ValueError("noise must be a scalar")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
        self.seed = int(seed)
        rng = np.random.default_rng(self.seed)
        self.X = rng.standard_normal((self.n_data, self.d))
        Wt = rng.standard_normal((teacher_width, self.d))
        at = rng.standard_normal(teacher_width)
        self.y = np.maximum(self.X @ Wt.T, 0.0) @ at + noise * rng.standard_normal(self.n_data)
        self.n = self.h * (1 + self.d)
        self.default_x0 = rng.standard_normal(self.n)

    # -- layout -----------------------------------------------------------
    def unpack(self, theta):
        """``θ -> (a (h,), W (h, d))``."""
        theta = as_point(theta, "x", n=self.n)
        return theta[: self.h].copy(), theta[self.h:].reshape(self.h, self.d).copy()

    def pack(self, a, W):
        """``(a, W) -> θ``."""
        a = as_point(a, "a", n=self.h)
        W = np.asarray(W, dtype=float)
        if W.shape != (self.h, self.d):
            raise ValueError(f"W must have shape ({self.h}, {self.d}), got {W.shape}")
        return np.concatenate([a, W.ravel()])

    def index_a(self, j):
        """Flat index of ``a_j``."""
        return j

    def index_w(self, j):
        """Flat indices of ``w_j``."""
        return self.h + j * self.d + np.arange(self.d)

    # -- loss --------------------------------------------------------------
    def _forward(self, theta):
        a, W = self.unpack(theta)
        pre = self.X @ W.T                       # (N, h)
        act = np.maximum(pre, 0.0)
        res = act @ a - self.y                   # (N,)
        return a, W, pre, act, res

    def predict(self, theta, X=None):
        """Network outputs on ``X`` (default: the training inputs)."""
        a, W = self.unpack(theta)
        X = self.X if X is None else np.asarray(X, dtype=float)
        return np.maximum(X @ W.T, 0.0) @ a

    def f(self, theta):
        res = self._forward(theta)[4]
        return 0.5 * float(res @ res) / self.n_data

    def jacobian(self, theta):
        """``(N, n)`` Jacobian of the outputs with respect to ``θ``."""
        a, W, pre, act, res = self._forward(theta)
        mask = (pre > 0).astype(float)
        JW = (mask * a)[:, :, None] * self.X[:, None, :]       # (N, h, d)
        return np.hstack([act, JW.reshape(self.n_data, -1)])

    def grad(self, theta):
        a, W, pre, act, res = self._forward(theta)
        mask = (pre > 0).astype(float)
        ga = act.T @ res
        gW = ((res[:, None] * mask) * a).T @ self.X           # (h, d)
        return np.concatenate([ga, gW.ravel()]) / self.n_data

    def hess(self, theta):
        a, W, pre, act, res = self._forward(theta)
        J = self.jacobian(theta)
        H = J.T @ J
        mask = (pre > 0).astype(float)
        cross = (res[:, None] * mask).T @ self.X               # (h, d): Σ_i r_i 1[.] x_i
        for j in range(self.h):
            iw = self.index_w(j)
            H[j, iw] += cross[j]
            H[iw, j] += cross[j]
        return H / self.n_data

    def hvp(self, theta, v):
        v = as_point(v, "v", n=self.n)
        return self.hess(theta) @ v

    # -- symmetry ----------------------------------------------------------
    def generators(self):
        """Per-neuron rescaling generators: ``-1`` on ``a_j``, ``+1`` on ``w_j``."""
        out = np.zeros((self.h, self.n, self.n))
        for j in range(self.h):
            out[j, j, j] = -1.0
            iw = self.index_w(j)
            out[j, iw, iw] = 1.0
        return out

    def rescale(self, theta, j, s):
        """Apply ``(a_j, w_j) -> (a_j/s, s w_j)`` (``s > 0``) to neuron ``j``."""
        s = as_nonneg(s, "s", strictly_positive=True)
        a, W = self.unpack(theta)
        if not 0 <= j < self.h:
            raise ValueError(f"j must be in [0, {self.h}), got {j}")
        a[j] /= s
        W[j] *= s
        return self.pack(a, W)

    def neuron_charges(self, theta):
        """``½(||w_j||² - a_j²)`` for each neuron (conserved by the gradient flow)."""
        a, W = self.unpack(theta)
        return 0.5 * (np.sum(W * W, axis=1) - a * a)
