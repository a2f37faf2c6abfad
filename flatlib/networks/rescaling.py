r"""The rescaling symmetry of ReLU networks: rescale, charges, generators, the balanced point.

Functions of a network ``net`` (an :class:`~flatlib.networks.MLP`: they use its flat
parameter layout ``net.layers``, ``net.hidden_widths``, ``net.n_hidden``, ``net.n`` and
``net.neuron``) and a parameter vector ``θ``.  The model's methods
:meth:`MLP.rescale <flatlib.networks.MLP.rescale>`, ``charges``, ``generators``,
``generator_diagonals``, ``random_scales`` and ``balance`` call these.

Symmetry (ReLU rescaling)
-------------------------
``relu(c u) = c relu(u)`` for ``c > 0``: multiplying the incoming weights and the
bias of a hidden neuron by ``c`` and its outgoing weights by ``1/c`` leaves the
network function unchanged (:func:`rescale`).  With ``c = e^t`` the generator is
the diagonal matrix ``D_j`` with ``+1`` on the incoming weights and bias of
neuron ``j`` and ``-1`` on its outgoing weights (:func:`generators`); the
Noether charge ``½⟨θ, D_j θ⟩`` is half of

.. math:: q_j(θ) = \|w_{j,\mathrm{in}}\|^2 + b_j^2 - \|w_{j,\mathrm{out}}\|^2

(:func:`charges`), constant along the gradient flow (``⟨∇f(θ), D_jθ⟩ = 0``
holds exactly for the backpropagated gradient, kinks included).

Balanced point.  On the orbit ``θ(s) = rescale(θ, e^s)`` (``s ∈ R^H``, one
log-scale per hidden neuron) the squared norm is

.. math:: N(s) = \sum_l \sum_{k,j} W_{l,kj}^2 e^{2(s_k - s_j)} + \sum_l\sum_k b_{l,k}^2 e^{2 s_k}

(``s = 0`` on the input and output units), a sum of exponentials of linear forms,
hence convex, with ``∂N/∂s_j = 2 q_j(θ(s))``.  When every weight is nonzero it is
strictly convex and coercive, so the orbit has a unique minimal-norm point (the
Kempf–Ness point), characterized by ``q = 0``.  :func:`balance` finds it by
damped Newton on ``N`` (Hessian: a weighted graph Laplacian of the hidden
neurons plus the input/output/bias terms on the diagonal), or by integrating the
conserved-quantity flow ``s' = -q(θ(s))`` (the gradient flow of ``N/2``, i.e.
``θ' = -Σ_j q_j D_j θ``, which stays on the orbit).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_point, as_rng

__all__ = ["BalanceResult", "rescale", "random_scales", "charges", "generator_diagonals", "generators",
           "balance"]


@dataclass
class BalanceResult:
    """Result of :func:`balance` with ``full_output=True``.

    Attributes
    ----------
    theta : ndarray (p,)
        The balanced parameters ``rescale(θ, exp(log_scales))``.
    log_scales : ndarray (H,)
        Log-scales ``s`` of the hidden neurons (layer by layer).
    norm2_before, norm2_after : float
        ``||θ||²`` before and after.
    max_abs_charge : float
        ``max_j |q_j|`` at the returned point (0 at the exact balanced point).
    n_iter : int
        Newton iterations, or flow chunks.
    method : str
    """

    theta: np.ndarray
    log_scales: np.ndarray
    norm2_before: float
    norm2_after: float
    max_abs_charge: float
    n_iter: int
    method: str


def _point(net, theta, name="theta"):
    if isinstance(theta, np.ndarray) and theta.dtype == np.float64 and theta.ndim == 1 \
            and theta.shape[0] == net.n:
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"{name} must be finite")
        return theta
    return as_point(theta, name, n=net.n)


def _offsets(net):
    """Index of the first neuron of every hidden layer in the list of hidden neurons, and ``H``."""
    return np.concatenate([[0], np.cumsum(net.hidden_widths)]).astype(int)


def _scales(net, scales):
    if isinstance(scales, (list, tuple)) and len(scales) == len(net.hidden_widths) and \
            all(np.ndim(s) == 1 for s in scales):
        scales = np.concatenate([np.asarray(s, dtype=float) for s in scales]) if scales else np.zeros(0)
    c = np.asarray(scales, dtype=float)
    if c.shape != (net.n_hidden,):
        raise ValueError(f"scales must have shape ({net.n_hidden},) (one per hidden neuron), got {c.shape}")
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ValueError("scales must be finite and > 0")
    return c


def rescale(net, theta, scales):
    """Rescale every hidden neuron ``j`` by ``c_j > 0``: incoming weights and bias
    ``× c_j``, outgoing weights ``÷ c_j``.  The network function is unchanged.

    Parameters
    ----------
    net : MLP
    theta : array_like (p,)
    scales : array_like (H,) or list of per-hidden-layer arrays

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
    >>> rescale(net, [2.0, 1.0, 3.0, 0.5], [4.0]).tolist()     # W1, b1, W2, b2
    [8.0, 4.0, 0.75, 0.5]
    """
    theta = _point(net, theta).copy()
    c = _scales(net, scales)
    Ls = net.layers(theta)
    for l in range(len(net.hidden_widths)):
        cl = c[_offsets(net)[l]:_offsets(net)[l + 1]]
        W, b = Ls[l]
        W *= cl[:, None]
        b *= cl
        Ls[l + 1][0][...] /= cl[None, :]
    return theta


def random_scales(net, rng=None, low=0.1, high=10.0):
    """Log-uniform random scales in ``[low, high]``, one per hidden neuron.

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
    >>> c = random_scales(net, 0)
    >>> c.shape, bool(np.all((c >= 0.1) & (c <= 10)))
    ((3,), True)
    """
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= high):
        raise ValueError(f"need 0 < low <= high, got low={low!r}, high={high!r}")
    gen = as_rng(rng)
    return np.exp(gen.uniform(np.log(low), np.log(high), net.n_hidden))


def _in_out(net, theta):
    """Per hidden neuron ``||w_in||² + b²`` and ``||w_out||²``."""
    Ls = net.layers(theta)
    ins, outs = [], []
    for l in range(len(net.hidden_widths)):
        W, b = Ls[l]
        ins.append(np.sum(W * W, axis=1) + b * b)
        Wn = Ls[l + 1][0]
        outs.append(np.sum(Wn * Wn, axis=0))
    if not ins:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(ins), np.concatenate(outs)


def charges(net, theta):
    """Per hidden neuron ``q_j = ||w_in||² + b_j² - ||w_out||²`` (twice the Noether
    charge ``½⟨θ, D_j θ⟩`` of the rescaling generator); zero at balanced points,
    conserved by the gradient flow.

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
    >>> charges(net, [2.0, 1.0, 3.0, 0.5]).tolist()     # 4 + 1 - 9
    [-4.0]
    """
    i, o = _in_out(net, _point(net, theta))
    return i - o


def generator_diagonals(net):
    """``(H, p)``: the diagonals of the rescaling generators ``D_j``.

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
    >>> generator_diagonals(net).tolist()
    [[1.0, 1.0, -1.0, 0.0]]
    """
    D = np.zeros((net.n_hidden, net.n))
    for k in range(net.n_hidden):
        l, j = net.neuron(k)
        e = np.zeros(net.n)
        Ls = net.layers(e)
        Ls[l - 1][0][j, :] = 1.0
        Ls[l - 1][1][j] = 1.0
        Ls[l][0][:, j] = -1.0
        D[k] = e
    return D


def generators(net, sparse=False):
    """Rescaling generators ``D_j`` (diagonal, ``+1`` on the incoming weights and bias of
    hidden neuron ``j``, ``-1`` on its outgoing weights): ``f(e^{tD_j}θ) = f(θ)``.

    Dense ``(H, p, p)`` array, or a list of ``scipy.sparse`` diagonal matrices with
    ``sparse=True`` (for :func:`flatlib.symmetry.symmetry_algebra` ``candidates`` on
    large nets).

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((2, 3, 2), np.zeros((1, 2)), [0])
    >>> generators(net).shape
    (3, 17, 17)
    """
    D = generator_diagonals(net)
    if sparse:
        import scipy.sparse as sp
        return [sp.diags(d).tocsr() for d in D]
    if net.n_hidden * net.n * net.n > 5e7:
        raise ValueError(f"dense generators would need {net.n_hidden} x {net.n}^2 entries; "
                         "use generators(sparse=True) or generator_diagonals()")
    out = np.zeros((net.n_hidden, net.n, net.n))
    idx = np.arange(net.n)
    out[:, idx, idx] = D
    return out


def _norm_hessian(net, theta):
    """Gradient ``2q`` and Hessian of ``N(s)`` at ``s = 0`` (for the point ``theta``)."""
    ins, outs = _in_out(net, theta)
    H = np.diag(4.0 * (ins + outs))
    Ls = net.layers(theta)
    for l in range(1, len(net.hidden_widths)):   # edges between hidden layers l and l+1
        W = Ls[l][0]
        r0, r1 = _offsets(net)[l - 1], _offsets(net)[l]       # previous layer block
        c0, c1 = _offsets(net)[l], _offsets(net)[l + 1]
        H[c0:c1, r0:r1] -= 4.0 * W * W
        H[r0:r1, c0:c1] -= 4.0 * (W * W).T
    return 2.0 * (ins - outs), H


def _check_balanceable(net, theta):
    ins, outs = _in_out(net, theta)
    dead = np.flatnonzero((ins == 0) | (outs == 0))
    if dead.size:
        l, j = net.neuron(int(dead[0]))
        raise ValueError(f"theta: hidden neuron {j} of layer {l} has all-zero incoming weights and bias "
                         "or all-zero outgoing weights; its rescaling orbit has no minimal-norm point")


def balance(net, theta, *, method="newton", tol=1e-13, max_iter=200, full_output=False):
    r"""The minimal-norm point of the rescaling orbit of ``θ`` (all charges zero).

    Minimizes the convex function ``N(s) = ||rescale(θ, e^s)||²`` of the log-scales
    (see the module docstring): ``method="newton"`` by damped Newton with
    Armijo backtracking, stopping when the Newton decrement ``gᵀH⁻¹g`` is below
    ``tol² N``; ``method="flow"`` by integrating the conserved-quantity flow
    ``s' = -q(θ(s))`` (scipy LSODA, ``rtol=1e-12``) until ``max|q| <= tol · max(in+out)``.
    The network function is unchanged (up to rounding, ~1e-15 relative).

    Parameters
    ----------
    net : MLP
    theta : array_like (p,)
    method : {"newton", "flow"}
    tol : float
    max_iter : int
        Newton iterations (or flow time chunks) before giving up (``RuntimeError``).
    full_output : bool
        Return a :class:`BalanceResult` instead of the point.

    Raises
    ------
    ValueError
        A hidden neuron with all-zero incoming or outgoing weights (the infimum
        of the norm over the orbit is then not attained).

    Examples
    --------
    One hidden neuron, ``(w, b, v) = (2, 1, 3)``: scaling ``c`` minimizes
    ``5c² + 9/c²``, so ``c⁴ = 9/5`` and the charge vanishes.

    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((1, 1, 1), np.ones((1, 1)), [0.0], loss="mse")
    >>> res = balance(net, [2.0, 1.0, 3.0, 0.0], full_output=True)
    >>> bool(np.isclose(np.exp(res.log_scales[0]), (9 / 5) ** 0.25, rtol=1e-14))
    True
    >>> bool(np.isclose(res.norm2_after, 6 * np.sqrt(5), rtol=1e-14))
    True
    """
    theta = _point(net, theta).copy()
    if method not in ("newton", "flow"):
        raise ValueError(f"method must be 'newton' or 'flow', got {method!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if net.n_hidden == 0:
        res = BalanceResult(theta, np.zeros(0), float(theta @ theta), float(theta @ theta), 0.0, 0, method)
        return res if full_output else res.theta
    _check_balanceable(net, theta)
    n0 = float(theta @ theta)
    if method == "newton":
        s, it = _balance_newton(net, theta, tol, max_iter)
    else:
        s, it = _balance_flow(net, theta, tol, max_iter)
    th = rescale(net, theta, np.exp(s))
    res = BalanceResult(th, s, n0, float(th @ th), float(np.max(np.abs(charges(net, th)))), it, method)
    return res if full_output else res.theta


def _balance_newton(net, theta, tol, max_iter):
    s = np.zeros(net.n_hidden)
    cur = theta
    Ncur = float(cur @ cur)
    for it in range(1, max_iter + 1):
        g, H = _norm_hessian(net, cur)
        try:
            d = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            d = -np.linalg.lstsq(H, g, rcond=None)[0]
        dec = float(-g @ d)
        if dec <= tol * tol * Ncur:
            s = s + d           # the last (tiny) Newton step, no line search needed
            return s, it
        if dec <= 1e-10 * Ncur:
            # quadratic regime: the decrease dec/2 is near the rounding of N, so an
            # Armijo test is meaningless; take the full Newton step
            s = s + d
            cur = rescale(net, theta, np.exp(s))
            Ncur = float(cur @ cur)
            continue
        a = 1.0
        while True:
            trial = rescale(net, theta, np.exp(s + a * d))
            Nt = float(trial @ trial)
            if Nt <= Ncur - 1e-4 * a * dec or a < 1e-12:
                break
            a *= 0.5
        s = s + a * d
        cur, Ncur = trial, Nt
    raise RuntimeError(f"balance (newton) did not converge in {max_iter} iterations")


def _balance_flow(net, theta, tol, max_iter):
    from scipy.integrate import solve_ivp

    def rhs(t, s):
        return -charges(net, rescale(net, theta, np.exp(s)))

    s = np.zeros(net.n_hidden)
    ins, outs = _in_out(net, theta)
    T = 2.0 / max(float(np.min(ins + outs)), 1e-300)
    for it in range(1, max_iter + 1):
        sol = solve_ivp(rhs, (0.0, T), s, method="LSODA", rtol=1e-12, atol=1e-14)
        if not sol.success:
            raise RuntimeError(f"balance (flow): integration failed: {sol.message}")
        s = sol.y[:, -1]
        i, o = _in_out(net, rescale(net, theta, np.exp(s)))
        if np.max(np.abs(i - o)) <= tol * np.max(i + o):
            return s, it
        T *= 1.5
    raise RuntimeError(f"balance (flow) did not reach tol in {max_iter} chunks")
