r"""Input-space robustness: robust accuracy under an L2 projected gradient (PGD) attack.

For a trained network ``z(θ, x)`` and labelled inputs ``(x_i, y_i)``, the robust accuracy at radius ``ε``
is the fraction of inputs classified correctly at every point of the ball ``||x - x_i||₂ <= ε``.
The attack (Madry et al. 2018, in the L2 form) maximizes the cross-entropy of each input
separately,

.. math:: \delta \leftarrow P_\varepsilon\Bigl(\delta + \alpha\,
          \frac{\nabla_x \ell(z(θ, x_i + \delta), y_i)}{\|\nabla_x \ell\|}\Bigr),
          \qquad \alpha = 2.5\,\varepsilon / \text{steps},

from ``δ = 0`` (``P_ε`` the projection on the ball), and counts an input as broken as soon as
*any* iterate is misclassified.  The attack only finds perturbations, so the result is an
*upper* bound of the robust accuracy (the true worst case can only break more inputs).

The input gradient comes from the same backpropagation as the parameter gradient, carried one
layer further: ``∇_x ℓ = W_1ᵀ δ_1``.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["input_gradient", "pgd_robust_accuracy"]


def _forward(model, theta, X):
    Ls = model.layers(theta)
    acts, pres = [X], []
    for l, (W, b) in enumerate(Ls):
        z = acts[-1] @ W.T + b
        pres.append(z)
        if l < len(Ls) - 1:
            acts.append(np.maximum(z, 0.0))
    return Ls, pres, acts


def input_gradient(model, theta, X, y):
    r"""Per-input loss and its gradient with respect to the input: ``(ℓ_i, ∇_x ℓ_i)`` for every row.

    Cross-entropy ``ℓ_i = log Σ_c exp z_{ic} - z_{i y_i}`` (not divided by the number of rows).

    Parameters
    ----------
    model : MLP
        A cross-entropy network (its architecture; its own data are not used).
    theta : array_like (p,)
    X : ndarray (m, d_0)
    y : ndarray (m,) of int

    Returns
    -------
    (loss, grad, logits) : ndarray (m,), ndarray (m, d_0), ndarray (m, d_L)

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> net = MLP((3, 5, 2), rng.standard_normal((4, 3)), [0, 1, 0, 1])
    >>> th, X, y = net.init(rng), rng.standard_normal((2, 3)), np.array([1, 0])
    >>> l, g, _ = input_gradient(net, th, X, y)
    >>> e = np.array([0.0, 1e-6, 0.0])
    >>> fd = (input_gradient(net, th, X + e, y)[0] - input_gradient(net, th, X - e, y)[0]) / 2e-6
    >>> bool(np.allclose(fd, g[:, 1], atol=1e-8))
    True
    """
    if model.loss != "cross_entropy":
        raise ValueError("input_gradient needs a cross-entropy network")
    theta = model._theta(np.asarray(theta, dtype=float))
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    Ls, pres, acts = _forward(model, theta, X)
    out = pres[-1]
    m = out.max(axis=1, keepdims=True)
    e = np.exp(out - m)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(X.shape[0])
    loss = m[:, 0] + np.log(s[:, 0]) - out[rows, y]
    delta = e / s
    delta[rows, y] -= 1.0
    for l in range(len(Ls) - 1, 0, -1):
        delta = (delta @ Ls[l][0]) * (pres[l - 1] > 0)
    return loss, delta @ Ls[0][0], out


def pgd_robust_accuracy(model, theta, X, y, eps, *, steps=20, step_size=None):
    r"""Robust accuracy under the L2 PGD attack of the module docstring (an upper bound).

    Parameters
    ----------
    model : MLP (cross-entropy)
    theta : array_like (p,)
    X : ndarray (m, d_0)
        Inputs to attack (e.g. the test images).
    y : ndarray (m,)
    eps : float >= 0 or sequence of float
        Radii of the attack (one result per radius).
    steps : int >= 1
    step_size : float, optional
        Default ``2.5 ε / steps``.

    Returns
    -------
    float or ndarray
        Fraction of inputs classified correctly at every iterate of the attack (at ``ε = 0``:
        the clean accuracy).

    Examples
    --------
    A linear classifier ``z = W x`` (no hidden layer) on two classes: the input ``x`` is broken
    within ``ε`` exactly when its margin ``(w_y - w_c)ᵀx`` is below ``ε ||w_y - w_c||``, and the
    attack direction ``∇_x ℓ ∝ w_c - w_y`` is exact, so PGD attains the exact robust accuracy:

    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((400, 2)), rng.integers(0, 2, 400)
    >>> net = MLP((2, 2), X, y)
    >>> th = np.array([1.0, 2.0, -1.0, 0.5, 0.0, 0.0])     # W = [[1, 2], [-1, 0.5]], b = 0
    >>> w = np.array([[1.0, 2.0], [-1.0, 0.5]])
    >>> margin = np.where(y == 0, 1, -1) * ((w[0] - w[1]) @ X.T) / np.linalg.norm(w[0] - w[1])
    >>> [float(np.mean(margin > e)) for e in (0.0, 0.3)] == pgd_robust_accuracy(net, th, X, y, [0.0, 0.3]).tolist()
    True
    """
    scalar = np.ndim(eps) == 0
    E = np.atleast_1d(np.asarray(eps, dtype=float))
    if E.ndim != 1 or not np.all(np.isfinite(E)) or np.any(E < 0):
        raise ValueError(f"eps must be finite and >= 0, got {eps!r}")
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != model.widths[0] or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (m, {model.widths[0]}) and y (m,), got {X.shape} and {y.shape}")
    out = []
    for e in E:
        _, _, logits = input_gradient(model, theta, X, y)
        ok = np.argmax(logits, axis=1) == y
        if e > 0:
            a = 2.5 * e / steps if step_size is None else float(step_size)
            D = np.zeros_like(X)
            for _ in range(steps):
                _, G, _ = input_gradient(model, theta, X + D, y)
                gn = np.linalg.norm(G, axis=1, keepdims=True)
                D = D + a * G / np.maximum(gn, 1e-300)
                dn = np.linalg.norm(D, axis=1, keepdims=True)
                D *= np.minimum(1.0, e / np.maximum(dn, 1e-300))
                _, _, logits = input_gradient(model, theta, X + D, y)
                ok &= np.argmax(logits, axis=1) == y
        out.append(float(np.mean(ok)))
    return out[0] if scalar else np.array(out)
