r"""Fully connected ReLU network (multilayer perceptron) with biases.

Model
-----
Widths ``(d_0, d_1, ..., d_L)``: ``d_0`` inputs, ``L - 1`` hidden layers, ``d_L``
outputs.  Layer ``l = 1..L`` has weights ``W_l ∈ R^{d_l × d_{l-1}}`` and biases
``b_l ∈ R^{d_l}``; on an input row ``x``

.. math:: a_0 = x,\quad z_l = W_l a_{l-1} + b_l,\quad a_l = \mathrm{relu}(z_l)\ (l < L),
          \quad \text{output } z_L .

Losses, averaged over the ``N`` samples:

* ``"cross_entropy"`` (labels ``y_i ∈ {0..d_L-1}``):
  ``f(θ) = (1/N) Σ_i [log Σ_c exp(z_{L,ic}) - z_{L,i y_i}]``;
* ``"mse"``: ``f(θ) = (1/(2N)) Σ_i ||z_{L,i} - t_i||²`` with targets ``t_i``
  (``y`` of shape ``(N, d_L)``, or ``(N,)`` when ``d_L = 1``; integer labels of
  shape ``(N,)`` with ``d_L > 1`` are one-hot encoded).

Flat layout ``θ = [vec W_1, b_1, vec W_2, b_2, ..., vec W_L, b_L]`` (row-major
``W_l``); :meth:`MLP.layers` returns *views* ``(W_l, b_l)`` into ``θ``, :meth:`MLP.pack`
the inverse.  ``relu'(0) := 0``: :meth:`MLP.grad` (backpropagation) is the gradient
wherever no pre-activation vanishes (a full-measure set) and a fixed selection
elsewhere; :meth:`MLP.hvp` is the exact Hessian–vector product there by Pearlmutter's
R-operator (forward pass of directional derivatives, then the derivative of the
backward pass; ``relu'' = 0`` off the kinks, so only the loss curvature and the
bilinear weight–activation terms contribute).

Symmetry (ReLU rescaling)
-------------------------
``relu(c u) = c relu(u)`` for ``c > 0``: multiplying the incoming weights and the
bias of a hidden neuron by ``c`` and its outgoing weights by ``1/c`` leaves the
network function unchanged.  The symmetry (rescalings, generators ``D_j``, the
conserved charges ``q_j = ||w_in||² + b_j² - ||w_out||²`` and the balanced, minimal-norm
point of an orbit) lives in :mod:`flatlib.networks.rescaling`; the methods
:meth:`MLP.rescale`, :meth:`MLP.charges`, :meth:`MLP.generators` and :meth:`MLP.balance`
call it.

Cross-entropy adds translation invariances: softmax is unchanged by a common
shift of the logits, so ``f(θ + t u) = f(θ)`` for ``u`` the all-ones vector on
``b_L`` or on one column of ``W_L`` (``d_{L-1} + 1`` such directions).  Every
rank-one ``A = u ℓᵀ`` (``ℓ ∈ R^p`` arbitrary) then satisfies ``⟨∇f(θ), Aθ⟩ =
ℓ(θ)⟨∇f(θ), u⟩ = 0``, so the linear symmetry algebra found by
:func:`flatlib.symmetry.symmetry_algebra` has dimension
``H + (d_{L-1} + 1) p`` for cross-entropy, against ``H`` for ``"mse"`` on generic
data (``H`` hidden neurons, ``p`` parameters).
"""
from __future__ import annotations

import numbers

import numpy as np

from .._validate import as_point, as_rng
from ..problems.base import Problem
from . import rescaling as _rescaling
from .rescaling import BalanceResult

__all__ = ["MLP", "BalanceResult"]

_LOSSES = ("cross_entropy", "mse")


def _as_widths(widths):
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise TypeError(f"widths must be a sequence of positive integers, got {type(widths).__name__}")
    out = []
    for w in widths:
        if isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Integral):
            raise TypeError(f"widths must contain integers, got {w!r}")
        if w < 1:
            raise ValueError(f"widths must be positive, got {list(widths)!r}")
        out.append(int(w))
    if len(out) < 2:
        raise ValueError(f"widths must have at least 2 entries (inputs and outputs), got {list(widths)!r}")
    return tuple(out)


def _as_data(X, d0, name="X"):
    try:
        X = np.array(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of real numbers") from exc
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, {d0}), got shape {X.shape}")
    if X.shape[1] != d0:
        raise ValueError(f"{name} must have {d0} columns (widths[0]), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must be finite, got non-finite entries in rows "
                         f"{np.flatnonzero(~np.all(np.isfinite(X), axis=1)).tolist()[:5]}")
    return X


def _as_labels(y, N, n_classes, name="y"):
    try:
        arr = np.asarray(y)
    except Exception as exc:  # pragma: no cover - np.asarray accepts nearly anything
        raise TypeError(f"{name} must be an array of integer labels") from exc
    if arr.ndim != 1 or arr.shape[0] != N:
        raise ValueError(f"{name} must have shape ({N},), got {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must contain integer labels, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must contain integer labels")
    lab = arr.astype(np.int64)
    if np.any(lab < 0) or np.any(lab >= n_classes):
        bad = lab[(lab < 0) | (lab >= n_classes)][:5].tolist()
        raise ValueError(f"{name} labels must be in [0, {n_classes}), got {bad}")
    return lab


class MLP(Problem):
    r"""Fully connected ReLU network with biases and a mean loss on ``(X, y)``.

    Parameters
    ----------
    widths : sequence of int
        ``(d_0, ..., d_L)``, at least two entries, all positive: input dimension,
        hidden widths, number of outputs.
    X : array_like (N, d_0)
        Inputs (finite).
    y : array_like
        ``"cross_entropy"``: integer labels ``(N,)`` in ``[0, d_L)`` (``d_L >= 2``).
        ``"mse"``: targets ``(N, d_L)``, ``(N,)`` if ``d_L = 1``, or integer labels
        ``(N,)`` (one-hot encoded) if ``d_L > 1``.
    loss : {"cross_entropy", "mse"}

    Attributes
    ----------
    n : int
        Number of parameters ``p = Σ_l d_l (d_{l-1} + 1)``.
    n_hidden : int
        Number of hidden neurons ``H = d_1 + ... + d_{L-1}``.
    X, y : the data (``y`` as int labels for cross-entropy, float targets for mse).
    labels : ndarray or None
        Integer labels when available (cross-entropy, or one-hot mse).

    Notes
    -----
    The methods follow :class:`flatlib.problems.base.Problem`; ``f`` and ``grad``
    also accept a batch ``(k, p)`` of parameter vectors (returning ``(k,)`` and
    ``(k, p)``), so they can be passed to :func:`flatlib.max_variation` with
    ``vectorized=True``.  The rescaling symmetry (``rescale``, ``charges``,
    ``generators``, ``balance``) is implemented in :mod:`flatlib.networks.rescaling`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 3)); y = rng.integers(0, 2, 20)
    >>> net = MLP((3, 4, 2), X, y)
    >>> net.n, net.n_hidden
    (26, 4)
    >>> theta = net.init(rng)
    >>> W1, b1 = net.layers(theta)[0]
    >>> W1.shape, b1.shape
    ((4, 3), (4,))
    >>> c = np.array([0.1, 2.0, 5.0, 1.0])
    >>> bool(np.allclose(net.predict(net.rescale(theta, c)), net.predict(theta), rtol=1e-12, atol=0))
    True
    >>> bal = net.balance(theta)
    >>> float(np.max(np.abs(net.charges(bal)))) < 1e-10
    True
    >>> bool(bal @ bal <= theta @ theta)
    True
    """

    name = "ReLU multilayer perceptron"

    def __init__(self, widths, X, y, loss="cross_entropy"):
        self.widths = _as_widths(widths)
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
        self.loss = loss
        self.X = _as_data(X, self.widths[0], "X")
        N, dL = self.X.shape[0], self.widths[-1]
        if loss == "cross_entropy":
            if dL < 2:
                raise ValueError(f"cross_entropy needs at least 2 outputs (widths[-1]), got {dL}")
            self.labels = _as_labels(y, N, dL, "y")
            self.y = self.labels
        else:
            arr = np.asarray(y)
            if arr.ndim == 1 and dL > 1:
                self.labels = _as_labels(y, N, dL, "y")
                self.y = np.eye(dL)[self.labels]
            else:
                try:
                    t = np.array(y, dtype=float)
                except (TypeError, ValueError) as exc:
                    raise TypeError("y must be an array of real targets") from exc
                if t.ndim == 1:
                    t = t[:, None]
                if t.shape != (N, dL):
                    raise ValueError(f"y must have shape ({N}, {dL}) for mse, got {np.shape(y)}")
                if not np.all(np.isfinite(t)):
                    raise ValueError("y must be finite")
                self.labels = None
                self.y = t
        self._setup_layout()

    # -- layout -----------------------------------------------------------
    def _setup_layout(self):
        w = self.widths
        self.n_layers = len(w) - 1
        self._slices = []
        off = 0
        for l in range(1, len(w)):
            sW = slice(off, off + w[l] * w[l - 1])
            off = sW.stop
            sb = slice(off, off + w[l])
            off = sb.stop
            self._slices.append((sW, sb))
        self.n = off
        self.hidden_widths = w[1:-1]
        self.n_hidden = int(sum(self.hidden_widths))
        self._hoff = np.concatenate([[0], np.cumsum(self.hidden_widths)]).astype(int)

    def _subset_view(self, X, y_internal, labels):
        new = object.__new__(type(self))
        new.widths, new.loss = self.widths, self.loss
        new.X, new.y, new.labels = X, y_internal, labels
        new._setup_layout()
        return new

    def subset(self, idx):
        """The same network on the samples ``idx`` (e.g. a minibatch).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> net = MLP((3, 4, 2), rng.standard_normal((10, 3)), rng.integers(0, 2, 10))
        >>> theta = net.init(rng)
        >>> halves = [net.subset(np.arange(5)), net.subset(np.arange(5, 10))]
        >>> bool(np.isclose(net.f(theta), 0.5 * (halves[0].f(theta) + halves[1].f(theta))))
        True
        """
        idx = np.asarray(idx)
        if idx.dtype.kind == "b":
            if idx.shape != (self.X.shape[0],):
                raise ValueError(f"idx as a mask must have shape ({self.X.shape[0]},)")
        elif idx.dtype.kind not in "iu" or idx.ndim != 1 or idx.size == 0:
            raise ValueError("idx must be a nonempty 1-D array of integer indices or a boolean mask")
        X = self.X[idx]
        if X.shape[0] == 0:
            raise ValueError("idx selects no samples")
        labels = None if self.labels is None else self.labels[idx]
        return self._subset_view(X, self.y[idx], labels)

    def layers(self, theta):
        """Per-layer ``[(W_1, b_1), ..., (W_L, b_L)]``, *views* into ``theta``
        (``W_l`` of shape ``(d_l, d_{l-1})``); writing into them changes ``theta``.
        ``theta`` must be a float ndarray of length ``p`` for views (otherwise copies).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
        >>> theta = np.arange(net.n, dtype=float)
        >>> [(W.shape, b.shape) for W, b in net.layers(theta)]
        [((3, 2), (3,)), ((2, 3), (2,))]
        >>> net.layers(theta)[1][1].tolist()       # b_2: the last two entries
        [15.0, 16.0]
        """
        theta = self._theta(theta)
        w = self.widths
        return [(theta[sW].reshape(w[l + 1], w[l]), theta[sb]) for l, (sW, sb) in enumerate(self._slices)]

    def weights(self, theta):
        """``[W_1, ..., W_L]`` (views into ``theta``).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
        >>> [W.shape for W in net.weights(np.zeros(net.n))]
        [(3, 2), (2, 3)]
        """
        return [W for W, _ in self.layers(theta)]

    def biases(self, theta):
        """``[b_1, ..., b_L]`` (views into ``theta``).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
        >>> [b.shape for b in net.biases(np.zeros(net.n))]
        [(3,), (2,)]
        """
        return [b for _, b in self.layers(theta)]

    def named(self, theta):
        """Dictionary ``{"W1": W_1, "b1": b_1, ...}`` of views into ``theta``.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
        >>> list(net.named(np.zeros(net.n)))
        ['W1', 'b1', 'W2', 'b2']
        """
        out = {}
        for l, (W, b) in enumerate(self.layers(theta), start=1):
            out[f"W{l}"] = W
            out[f"b{l}"] = b
        return out

    def pack(self, layers):
        """Inverse of :meth:`layers`: ``[(W_1, b_1), ...] -> θ``.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
        >>> theta = np.random.default_rng(0).standard_normal(net.n)
        >>> bool(np.array_equal(net.pack(net.layers(theta)), theta))
        True
        """
        if len(layers) != self.n_layers:
            raise ValueError(f"layers must have {self.n_layers} (W, b) pairs, got {len(layers)}")
        parts = []
        w = self.widths
        for l, (W, b) in enumerate(layers):
            W = np.asarray(W, dtype=float)
            b = np.asarray(b, dtype=float)
            if W.shape != (w[l + 1], w[l]):
                raise ValueError(f"W_{l + 1} must have shape {(w[l + 1], w[l])}, got {W.shape}")
            if b.shape != (w[l + 1],):
                raise ValueError(f"b_{l + 1} must have shape {(w[l + 1],)}, got {b.shape}")
            parts += [W.ravel(), b]
        return as_point(np.concatenate(parts), "layers", n=self.n)

    def neuron(self, k):
        """``(layer, j)`` of the ``k``-th hidden neuron (layers numbered from 1).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 4, 2), np.zeros((1, 2)), [0])
        >>> net.neuron(0), net.neuron(3)
        ((1, 0), (2, 0))
        """
        if not 0 <= k < self.n_hidden:
            raise ValueError(f"k must be in [0, {self.n_hidden}), got {k}")
        l = int(np.searchsorted(self._hoff, k, side="right")) - 1
        return l + 1, int(k - self._hoff[l])

    # -- input checks -------------------------------------------------------
    def _theta(self, theta, name="theta"):
        if isinstance(theta, np.ndarray) and theta.dtype == np.float64 and theta.ndim == 1 \
                and theta.shape[0] == self.n:
            if not np.all(np.isfinite(theta)):
                raise ValueError(f"{name} must be finite")
            return theta
        return as_point(theta, name, n=self.n)

    def _batch(self, theta, name="theta"):
        """``(k, p)`` array and whether the input was a single vector."""
        T = np.asarray(theta, dtype=float)
        if T.ndim == 1:
            return self._theta(T, name)[None, :], True
        if T.ndim != 2 or T.shape[1] != self.n:
            raise ValueError(f"{name} must have shape ({self.n},) or (k, {self.n}), got {T.shape}")
        if not np.all(np.isfinite(T)):
            raise ValueError(f"{name} must be finite")
        return T, False

    # -- forward / backward ---------------------------------------------------
    # Single-θ passes on 2-D arrays (plain BLAS gemm); a batch of θ loops over them
    # (numpy's batched matmul on strided 3-D views is several times slower).
    def _unpack1(self, theta):
        w = self.widths
        return [(theta[sW].reshape(w[l + 1], w[l]), theta[sb]) for l, (sW, sb) in enumerate(self._slices)]

    def _forward1(self, theta, X):
        """Layers, pre-activations ``z_l`` (N, d_l) and activations ``a_{l-1}`` for one ``θ``."""
        Ls = self._unpack1(theta)
        acts = [X]
        pres = []
        for l, (W, b) in enumerate(Ls):
            z = acts[-1] @ W.T
            z += b
            pres.append(z)
            if l < len(Ls) - 1:
                acts.append(np.maximum(z, 0.0))
        return Ls, pres, acts

    def _loss1(self, out, y):
        """Mean loss, softmax probabilities (or None) and ``dloss/dout`` (divided by N)."""
        N = out.shape[0]
        if self.loss == "cross_entropy":
            m = out.max(axis=1, keepdims=True)
            e = np.exp(out - m)
            s = e.sum(axis=1, keepdims=True)
            lse = m[:, 0] + np.log(s[:, 0])
            val = float(np.mean(lse - out[np.arange(N), y]))
            p = e / s
            delta = p.copy()
            delta[np.arange(N), y] -= 1.0
            return val, p, delta / N
        r = out - y
        return 0.5 * float(np.einsum("ij,ij->", r, r)) / N, None, r / N

    def _backward1(self, Ls, pres, acts, delta):
        g = np.empty(self.n)
        for l in range(len(Ls) - 1, -1, -1):
            sW, sb = self._slices[l]
            g[sW] = (delta.T @ acts[l]).ravel()
            g[sb] = delta.sum(axis=0)
            if l > 0:
                delta = (delta @ Ls[l][0]) * (pres[l - 1] > 0)
        return g

    def _f_grad(self, T, X, y, need_grad=True):
        k = T.shape[0]
        vals = np.empty(k)
        grads = np.empty((k, self.n)) if need_grad else None
        for i in range(k):
            Ls, pres, acts = self._forward1(T[i], X)
            vals[i], _, delta = self._loss1(pres[-1], y)
            if need_grad:
                grads[i] = self._backward1(Ls, pres, acts, delta)
        return vals, grads

    # -- protocol ----------------------------------------------------------
    def f(self, theta):
        r"""Mean loss ``f(θ)``; a batch ``(k, p)`` gives ``(k,)``.

        Examples
        --------
        With zero parameters all logits vanish: cross-entropy ``log(d_L)``.

        >>> import numpy as np
        >>> net = MLP((2, 3, 4), np.ones((5, 2)), [0, 1, 2, 3, 0])
        >>> bool(np.isclose(net.f(np.zeros(net.n)), np.log(4)))
        True
        >>> net.f(np.zeros((3, net.n))).shape
        (3,)
        """
        T, single = self._batch(theta)
        val = self._f_grad(T, self.X, self.y, need_grad=False)[0]
        return float(val[0]) if single else val

    def grad(self, theta):
        r"""Gradient by backpropagation; a batch ``(k, p)`` gives ``(k, p)``.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> net = MLP((3, 4, 2), rng.standard_normal((8, 3)), rng.integers(0, 2, 8))
        >>> th, v = net.init(rng), rng.standard_normal(net.n)
        >>> fd = (net.f(th + 1e-6 * v) - net.f(th - 1e-6 * v)) / 2e-6
        >>> bool(abs(fd - net.grad(th) @ v) < 1e-8)
        True
        """
        T, single = self._batch(theta)
        g = self._f_grad(T, self.X, self.y)[1]
        return g[0] if single else g

    def value_and_grad(self, theta):
        """``(f(θ), ∇f(θ))`` from one forward and one backward pass.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.ones((4, 2)), [0, 1, 0, 1])
        >>> v, g = net.value_and_grad(np.zeros(net.n))
        >>> round(v, 6), g.shape
        (0.693147, (17,))
        """
        T, single = self._batch(theta)
        v, g = self._f_grad(T, self.X, self.y)
        return (float(v[0]), g[0]) if single else (v, g)

    def loss_grad_accuracy(self, theta):
        """``(f(θ), ∇f(θ), training accuracy)`` from one forward and one backward pass
        (accuracy ``nan`` when there are no integer labels).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.ones((4, 2)), [0, 1, 0, 1])
        >>> v, g, acc = net.loss_grad_accuracy(np.zeros(net.n))
        >>> round(v, 6), g.shape, acc            # all logits tie: argmax picks class 0
        (0.693147, (17,), 0.5)
        """
        T, _ = self._batch(theta)
        if T.shape[0] != 1:
            raise ValueError("loss_grad_accuracy takes a single parameter vector")
        Ls, pres, acts = self._forward1(T[0], self.X)
        val, _, delta = self._loss1(pres[-1], self.y)
        g = self._backward1(Ls, pres, acts, delta)
        acc = float("nan") if self.labels is None else float(np.mean(np.argmax(pres[-1], axis=1) == self.labels))
        return val, g, acc

    def loss_accuracy(self, theta):
        """``(f(θ), training accuracy)`` from one forward pass (accuracy ``nan`` without
        integer labels).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.ones((4, 2)), [0, 1, 0, 1])
        >>> v, acc = net.loss_accuracy(np.zeros(net.n))
        >>> round(v, 6), acc
        (0.693147, 0.5)
        """
        T, _ = self._batch(theta)
        if T.shape[0] != 1:
            raise ValueError("loss_accuracy takes a single parameter vector")
        out = self._forward1(T[0], self.X)[1][-1]
        val = self._loss1(out, self.y)[0]
        acc = float("nan") if self.labels is None else float(np.mean(np.argmax(out, axis=1) == self.labels))
        return val, acc

    def hvp(self, theta, v):
        r"""Exact Hessian–vector product ``∇²f(θ) v`` (Pearlmutter's R-operator); a block
        ``V`` of shape ``(p, k)`` gives ``∇²f(θ) V`` (shape ``(p, k)``) from one forward pass
        and one R-forward / R-backward pass for all ``k`` columns (each step one matrix
        product over the stacked columns).

        Forward: ``R z_l = W_l R a_{l-1} + V_l a_{l-1} + c_l``, ``R a_l = 1[z_l > 0] R z_l``
        (``v = (V_l, c_l)``).  Backward: ``R δ_L = ℓ''(z_L) R z_L`` (``diag(p) - ppᵀ``
        for softmax cross-entropy, the identity for mse, divided by ``N``),
        ``R δ_{l-1} = 1[z_{l-1} > 0] (W_lᵀ R δ_l + V_lᵀ δ_l)``, and
        ``R ∇_{W_l} = R δ_lᵀ a_{l-1} + δ_lᵀ R a_{l-1}``, ``R ∇_{b_l} = Σ_i R δ_l``.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(2)
        >>> net = MLP((3, 4, 2), rng.standard_normal((8, 3)), rng.integers(0, 2, 8))
        >>> th, v = net.init(rng), rng.standard_normal(net.n)
        >>> fd = (net.grad(th + 1e-5 * v) - net.grad(th - 1e-5 * v)) / 2e-5
        >>> bool(np.max(np.abs(net.hvp(th, v) - fd)) < 1e-7)
        True
        >>> V = rng.standard_normal((net.n, 3))
        >>> bool(np.allclose(net.hvp(th, V), np.column_stack([net.hvp(th, c) for c in V.T]),
        ...                  rtol=0, atol=1e-12))
        True
        """
        theta = self._theta(theta)
        if np.ndim(v) == 2:
            return self._hvp_block(theta, v)
        v = as_point(v, "v", n=self.n)
        Ls, pres, acts = self._forward1(theta, self.X)
        VL = self._unpack1(v)
        # forward R pass
        Racts = [np.zeros_like(self.X)]
        Rpres = []
        for l, ((W, b), (Vw, Vb)) in enumerate(zip(Ls, VL)):
            Rz = acts[l] @ Vw.T
            if l > 0:
                Rz += Racts[-1] @ W.T
            Rz += Vb
            Rpres.append(Rz)
            if l < len(Ls) - 1:
                Racts.append(Rz * (pres[l] > 0))
        _, p, delta = self._loss1(pres[-1], self.y)
        N = self.X.shape[0]
        RzL = Rpres[-1]
        if self.loss == "cross_entropy":
            Rdelta = (p * RzL - p * np.sum(p * RzL, axis=1, keepdims=True)) / N
        else:
            Rdelta = RzL / N
        out = np.empty(self.n)
        for l in range(len(Ls) - 1, -1, -1):
            W, _ = Ls[l]
            Vw, _ = VL[l]
            sW, sb = self._slices[l]
            RgW = Rdelta.T @ acts[l]
            if l > 0:
                RgW += delta.T @ Racts[l]
            out[sW] = RgW.ravel()
            out[sb] = Rdelta.sum(axis=0)
            if l > 0:
                mask = pres[l - 1] > 0
                Rdelta = (Rdelta @ W + delta @ Vw) * mask
                delta = (delta @ W) * mask
        return out

    def _hvp_block(self, theta, V):
        """``∇²f(θ) V`` for ``V`` of shape ``(p, k)``: the R-operator passes of :meth:`hvp`
        with the ``k`` directions stacked (R-quantities of shape ``(k, N, d_l)``; every step
        is one matrix product over the stack).  Columns go in chunks whose R-quantities stay
        near 1 MB (beyond that the elementwise steps leave the cache and cost more than the
        shared forward pass saves)."""
        try:
            V = np.asarray(V, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError("v must be an array of real numbers") from exc
        if V.shape[0] != self.n or V.shape[1] == 0:
            raise ValueError(f"v must have shape ({self.n},) or ({self.n}, k), got {V.shape}")
        if not np.all(np.isfinite(V)):
            raise ValueError("v must be finite")
        Ls, pres, acts = self._forward1(theta, self.X)
        _, p, delta = self._loss1(pres[-1], self.y)
        K = V.shape[1]
        chunk = max(1, min(K, 2 ** 17 // (self.X.shape[0] * max(self.widths))))
        out = np.empty((K, self.n))
        for c in range(0, K, chunk):
            out[c:c + chunk] = self._hvp_stack(Ls, pres, acts, p, delta, V[:, c:c + chunk])
        return out.T

    def _hvp_stack(self, Ls, pres, acts, p, delta, V):
        K = V.shape[1]
        w = self.widths
        N = self.X.shape[0]
        VW = [np.ascontiguousarray(V[sW].T).reshape(K, w[l + 1], w[l]) for l, (sW, _) in enumerate(self._slices)]
        Racts = [None]
        for l, (W, _) in enumerate(Ls):
            Rz = np.matmul(acts[l], VW[l].transpose(0, 2, 1))            # (K, N, d_l)
            if l > 0:
                Rz += (Racts[-1].reshape(K * N, w[l]) @ W.T).reshape(K, N, w[l + 1])
            Rz += V[self._slices[l][1]].T[:, None, :]
            if l < len(Ls) - 1:
                Rz *= pres[l] > 0
                Racts.append(Rz)
        if self.loss == "cross_entropy":
            Rdelta = (p * Rz - p * np.sum(p * Rz, axis=2, keepdims=True)) / N
        else:
            Rdelta = Rz / N
        out = np.empty((K, self.n))
        for l in range(len(Ls) - 1, -1, -1):
            W, _ = Ls[l]
            sW, sb = self._slices[l]
            RgW = np.matmul(Rdelta.transpose(0, 2, 1), acts[l])
            if l > 0:
                RgW += np.matmul(delta.T, Racts[l])
            out[:, sW] = RgW.reshape(K, -1)
            out[:, sb] = Rdelta.sum(axis=1)
            if l > 0:
                mask = pres[l - 1] > 0
                Rdelta = (Rdelta.reshape(K * N, w[l + 1]) @ W).reshape(K, N, w[l])
                Rdelta += np.matmul(delta, VW[l])
                Rdelta *= mask
                delta = (delta @ W) * mask
        return out

    # -- predictions ---------------------------------------------------------
    def predict(self, theta, X=None):
        """Network outputs (logits for cross-entropy) ``(N, d_L)`` on ``X`` (default: the
        training inputs); a batch ``(k, p)`` of parameters gives ``(k, N, d_L)``.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.ones((4, 2)), [0, 1, 0, 1])
        >>> net.predict(np.zeros(net.n), np.ones((5, 2))).shape
        (5, 2)
        """
        T, single = self._batch(theta)
        X = self.X if X is None else _as_data(X, self.widths[0], "X")
        out = np.array([self._forward1(th, X)[1][-1] for th in T])
        return out[0] if single else out

    def classify(self, theta, X=None):
        """Predicted class ``argmax_c z_{L,c}`` on ``X`` (default: training inputs).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 2), np.ones((1, 1)), [0])
        >>> net.classify(np.array([0.0, 1.0, 0.0, 0.0]), [[1.0], [-1.0]]).tolist()   # logits (0, x)
        [1, 0]
        """
        return np.argmax(self.predict(theta, X), axis=-1)

    def accuracy(self, theta, X=None, y=None):
        """Fraction of samples whose predicted class equals the label ``y``
        (default: the training set).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 2), np.ones((1, 1)), [0])
        >>> round(net.accuracy(np.array([0.0, 1.0, 0.0, 0.0]), [[1.0], [-1.0], [2.0]], [1, 0, 0]), 4)
        0.6667
        """
        if X is None and y is None:
            if self.labels is None:
                raise ValueError("accuracy needs integer labels; this mse problem has real targets")
            X, y = self.X, self.labels
        elif X is None or y is None:
            raise ValueError("give both X and y, or neither")
        X = _as_data(X, self.widths[0], "X")
        y = _as_labels(y, X.shape[0], self.widths[-1], "y")
        pred = self.classify(theta, X)
        return np.mean(pred == y, axis=-1) if pred.ndim == 2 else float(np.mean(pred == y))

    def loss_on(self, theta, X, y):
        """Mean loss of ``θ`` on other data ``(X, y)`` (e.g. the test set).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.ones((4, 2)), [0, 1, 0, 1])
        >>> round(net.loss_on(np.zeros(net.n), np.zeros((3, 2)), [1, 1, 0]), 6)
        0.693147
        """
        return type(self)(self.widths, X, y, loss=self.loss).f(theta)

    def init(self, rng=None):
        """He initialization: ``W_l ~ N(0, 2/d_{l-1})`` entrywise, ``b_l = 0``.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((100, 50, 10), np.zeros((1, 100)), [0])
        >>> W1 = net.weights(net.init(0))[0]
        >>> round(float(W1.var() * 100), 1)
        2.0
        """
        gen = as_rng(rng)
        theta = np.zeros(self.n)
        w = self.widths
        for l, (sW, _) in enumerate(self._slices):
            theta[sW] = gen.standard_normal(sW.stop - sW.start) * np.sqrt(2.0 / w[l])
        return theta

    # -- rescaling symmetry (flatlib.networks.rescaling) ------------------------
    def rescale(self, theta, scales):
        """Rescale hidden neuron ``j`` by ``c_j > 0`` (:func:`flatlib.networks.rescaling.rescale`):
        incoming weights and bias ``× c_j``, outgoing weights ``÷ c_j``; the function is unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
        >>> net.rescale([2.0, 1.0, 3.0, 0.5], [4.0]).tolist()     # W1, b1, W2, b2
        [8.0, 4.0, 0.75, 0.5]
        """
        return _rescaling.rescale(self, theta, scales)

    def random_scales(self, rng=None, low=0.1, high=10.0):
        """Log-uniform random scales in ``[low, high]``, one per hidden neuron
        (:func:`flatlib.networks.rescaling.random_scales`).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
        >>> net.random_scales(0).shape
        (3,)
        """
        return _rescaling.random_scales(self, rng, low, high)

    def charges(self, theta):
        """Per hidden neuron ``q_j = ||w_in||² + b_j² - ||w_out||²``, conserved by the gradient
        flow, zero at the balanced point (:func:`flatlib.networks.rescaling.charges`).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
        >>> net.charges([2.0, 1.0, 3.0, 0.5]).tolist()     # 4 + 1 - 9
        [-4.0]
        """
        return _rescaling.charges(self, theta)

    def generator_diagonals(self):
        """``(H, p)``: the diagonals of the rescaling generators ``D_j``
        (:func:`flatlib.networks.rescaling.generator_diagonals`).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
        >>> net.generator_diagonals().tolist()
        [[1.0, 1.0, -1.0, 0.0]]
        """
        return _rescaling.generator_diagonals(self)

    def generators(self, sparse=False):
        """Rescaling generators ``D_j``, dense ``(H, p, p)`` or a list of sparse diagonals
        (:func:`flatlib.networks.rescaling.generators`).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
        >>> net.generators().shape
        (3, 17, 17)
        """
        return _rescaling.generators(self, sparse)

    def balance(self, theta, *, method="newton", tol=1e-13, max_iter=200, full_output=False):
        """The minimal-norm point of the rescaling orbit of ``θ``, where every charge vanishes
        (:func:`flatlib.networks.rescaling.balance`).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
        >>> res = net.balance([2.0, 1.0, 3.0, 0.0], full_output=True)    # c⁴ = 9/5
        >>> bool(np.isclose(np.exp(res.log_scales[0]), (9 / 5) ** 0.25, rtol=1e-14))
        True
        """
        return _rescaling.balance(self, theta, method=method, tol=tol, max_iter=max_iter,
                                  full_output=full_output)
