r"""Training networks: full-batch GD, minibatch SGD and SAM, and sweeps over executors.

Methods (``η`` the learning rate, ``L_B`` the mean loss on the minibatch ``B``):

* ``"gd"``: ``θ ← θ - η ∇f(θ)`` on the full training set;
* ``"sgd"``: ``θ ← θ - η ∇L_B(θ)``, minibatches of ``batch_size`` taken from a
  seeded random permutation of the samples, a fresh one every epoch (the last
  batch of an epoch is smaller when ``batch_size`` does not divide ``N``);
* ``"sam"`` (sharpness-aware minimization, Foret et al. 2021):
  ``θ ← θ - η ∇L_B(θ + ε)`` with the one-step ascent ``ε = ρ ∇L_B(θ)/||∇L_B(θ)||``,
  or, with ``exact_sam=True``, ``ε = argmax_{||ε|| ≤ ρ} L_B(θ + ε)`` computed by
  :func:`flatlib.max_variation` with ``side="up"`` (its first start is the
  one-step point, so the inner value is never below the one-step one).
  Full batch when ``batch_size`` is ``None``.

Stopping: when the *full* training loss is ``<= loss_threshold`` (the protocol of
Jiang et al. 2020: all networks compared at the same training cross-entropy),
after ``steps`` updates, or when the iterate stops being finite ("diverged").
The full loss is checked every ``eval_every`` updates (every update for GD, where
it comes free with the gradient; once per epoch for SGD/SAM by default), and every
check is recorded in the trajectory (loss, accuracy and optionally λ_max by
Lanczos, :func:`flatlib.hessian_lambda_max`).

Every training is seeded, so :func:`flatlib.networks.sweep` gives the same results
serially, in a process pool or on a dask cluster.
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from .._validate import as_point
from .sweep import _line_writer

__all__ = ["train", "TrainResult", "train_from_config", "model_from_config", "DEFAULT_CONFIG"]

_METHODS = ("gd", "sgd", "sam")


@dataclass
class TrainResult:
    """Result of :func:`train`.

    Attributes
    ----------
    theta : ndarray (p,)
        Final parameters (the last finite iterate if training diverged; its loss may then
        be ``inf`` or ``nan``, with ``stop_reason == "diverged"``).
    steps : int
        Parameter updates performed.
    stop_reason : str
        ``"loss_threshold"``, ``"max_steps"`` or ``"diverged"``.
    loss, accuracy : float
        Full training loss and accuracy at ``theta``.
    trajectory : dict of ndarray
        ``"step"``, ``"loss"``, ``"accuracy"``, ``"lambda_max"`` (``nan`` where not
        computed) at every check.
    n_grad_samples : int
        Samples passed through backpropagation (``N`` per full-batch gradient).
    seconds : float
        Wall-clock time (not reproducible; never print it in a compared output).
    config : dict
        The training arguments.
    extra : dict
        Filled by :func:`train_from_config` (test loss/accuracy, gaps).
    """

    theta: np.ndarray
    steps: int
    stop_reason: str
    loss: float
    accuracy: float
    trajectory: dict
    n_grad_samples: int
    seconds: float
    config: dict
    extra: dict = field(default_factory=dict)

    @property
    def converged(self):
        """``True`` when the loss threshold was reached."""
        return self.stop_reason == "loss_threshold"

    def __repr__(self):
        return (f"TrainResult(steps={self.steps}, stop_reason={self.stop_reason!r}, loss={self.loss:.4g}, "
                f"accuracy={self.accuracy:.4g})")


def _pos_float(v, name, allow_zero=False):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {v!r}")
    return v


def _pos_int(v, name, allow_zero=False):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if v < (0 if allow_zero else 1):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '>= 1'}, got {v}")
    return int(v)


class _Progress:
    def __init__(self, progress, label, every_s=2.0):
        self.fn = progress if callable(progress) and not hasattr(progress, "write") else None
        self.write = None if self.fn is not None else _line_writer(progress, "progress (train)")
        self.label = label
        self.every_s = every_s
        self.t0 = time.perf_counter()
        self.last = -1e9

    def __call__(self, step, loss, acc, final=False):
        if self.fn is not None:
            if not final:                 # the callable sees each check once
                self.fn(step, loss, acc)
            return
        if self.write is None:
            return
        now = time.perf_counter()
        if final or now - self.last >= self.every_s:
            self.last = now
            self.write(f"{self.label}: step {step} loss {loss:.4g} acc {acc:.3f} ({now - self.t0:.1f} s)")


def train(model, theta0, method="gd", lr=0.1, *, batch_size=None, rho=0.05, steps=1000,
          loss_threshold=0.01, seed=0, exact_sam=False, sam_starts=2, eval_every=None,
          track_lambda_max=False, progress=None):
    r"""Train ``model`` from ``theta0`` by GD, SGD or SAM (see the module docstring).

    Parameters
    ----------
    model : :class:`flatlib.networks.MLP` (or a problem with ``loss_accuracy``,
        ``loss_grad_accuracy``, ``value_and_grad``, ``subset(idx)``, ``hvp`` and ``X``)
    theta0 : array_like (p,)
    method : {"gd", "sgd", "sam"}
    lr : float > 0
        Learning rate ``η``.
    batch_size : int, optional
        Minibatch size (required for ``"sgd"``; ``None`` means full batch for ``"sam"``).
    rho : float > 0
        SAM radius.
    steps : int >= 0
        Budget of parameter updates.
    loss_threshold : float >= 0
        Stop as soon as a check finds the full training loss ``<=`` this value
        (``0`` disables).
    seed : int
        Seed of the minibatch permutations and of the exact-SAM random starts.
    exact_sam : bool
        Inner maximization by :func:`flatlib.max_variation` (``side="up"``) instead of
        the one-step ascent.
    sam_starts : int
        Random starts of the exact inner maximization (besides the gradient one).
    eval_every : int, optional
        Updates between checks of the full loss (default 1 for GD, one epoch otherwise).
    track_lambda_max : bool or int
        ``True``: λ_max of the full-loss Hessian (Lanczos) at every check; an int ``k``:
        at every ``k``-th check and at the end.
    progress : None, bool, path, writable stream or callable
        ``True``: a line on ``sys.stderr`` at most every 2 s (a path or a stream: the lines
        go there instead); a callable gets ``(step, loss, acc)`` at every check.

    Returns
    -------
    TrainResult

    Examples
    --------
    Two separable blobs, a small net, full-batch GD to a training cross-entropy 0.05:

    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (20, 2)), rng.normal(2, 1, (20, 2))])
    >>> y = np.repeat([0, 1], 20)
    >>> net = MLP((2, 8, 2), X, y)
    >>> res = train(net, net.init(0), "gd", lr=0.5, steps=2000, loss_threshold=0.05)
    >>> res.stop_reason, res.loss <= 0.05, res.accuracy
    ('loss_threshold', True, 1.0)
    >>> res2 = train(net, net.init(0), "sgd", lr=0.2, batch_size=8, steps=2000, loss_threshold=0.05, seed=3)
    >>> res2.stop_reason, bool(np.array_equal(res2.theta, train(net, net.init(0), "sgd", lr=0.2,
    ...     batch_size=8, steps=2000, loss_threshold=0.05, seed=3).theta))     # seeded: reproducible
    ('loss_threshold', True)
    """
    from ..spectral import hessian_lambda_max

    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    theta = as_point(theta0, "theta0", n=model.n)
    lr = _pos_float(lr, "lr")
    rho = _pos_float(rho, "rho")
    steps = _pos_int(steps, "steps", allow_zero=True)
    loss_threshold = _pos_float(loss_threshold, "loss_threshold", allow_zero=True)
    seed = _pos_int(seed, "seed", allow_zero=True)
    sam_starts = _pos_int(sam_starts, "sam_starts", allow_zero=True)
    N = model.X.shape[0]
    if method == "sgd" and batch_size is None:
        raise ValueError("batch_size is required for method='sgd'")
    if batch_size is not None:
        batch_size = _pos_int(batch_size, "batch_size")
        if batch_size > N:
            raise ValueError(f"batch_size must be <= the number of samples {N}, got {batch_size}")
    full = batch_size is None or batch_size == N
    if eval_every is None:
        eval_every = 1 if method == "gd" or full else -(-N // batch_size)
    eval_every = _pos_int(eval_every, "eval_every")
    if isinstance(track_lambda_max, (bool, np.bool_)):
        lam_every = 1 if track_lambda_max else 0
    else:
        lam_every = _pos_int(track_lambda_max, "track_lambda_max")
    config = dict(method=method, lr=lr, batch_size=batch_size, rho=rho, steps=steps,
                  loss_threshold=loss_threshold, seed=seed, exact_sam=bool(exact_sam), sam_starts=sam_starts,
                  eval_every=eval_every)
    prog = _Progress(progress, f"train[{method} lr={lr:g}]")
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    traj = {"step": [], "loss": [], "accuracy": [], "lambda_max": []}
    n_checks = 0
    n_grad = 0

    def check(step, loss, acc, force_lam=False):
        nonlocal n_checks
        lam = np.nan
        if lam_every and (n_checks % lam_every == 0 or force_lam):
            lam = float(hessian_lambda_max(model.hvp, theta, tol=1e-8, rng=0))
        n_checks += 1
        traj["step"].append(step)
        traj["loss"].append(loss)
        traj["accuracy"].append(acc)
        traj["lambda_max"].append(lam)
        prog(step, loss, acc)

    perm, pos = None, N

    def next_batch():
        nonlocal perm, pos
        if full:
            return None
        if pos >= N:
            perm, pos = rng.permutation(N), 0
        idx = np.sort(perm[pos:pos + batch_size])
        pos += batch_size
        return idx

    def batch_grad(idx, at):
        nonlocal n_grad
        if idx is None:
            n_grad += N
            return model.value_and_grad(at)[1]
        n_grad += idx.size
        return model.subset(idx).value_and_grad(at)[1]

    stop = "max_steps"
    t = 0
    last_loss = last_acc = None
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            if t % eval_every == 0 or t == steps:
                if method == "gd" or (method == "sam" and full):
                    loss, g_full, acc = model.loss_grad_accuracy(theta)    # the gradient is needed too
                else:
                    (loss, acc), g_full = model.loss_accuracy(theta), None
                last_loss, last_acc = loss, acc
                done = (loss_threshold > 0 and loss <= loss_threshold) or t == steps
                check(t, loss, acc, force_lam=done)
                if loss_threshold > 0 and loss <= loss_threshold:
                    stop = "loss_threshold"
                    break
                if t == steps:
                    break
            else:
                g_full = None
            # one update
            if method == "gd":
                if g_full is None:
                    g_full = model.value_and_grad(theta)[1]
                n_grad += N
                new = theta - lr * g_full
            elif method == "sgd":
                new = theta - lr * batch_grad(next_batch(), theta)
            else:  # sam
                idx = next_batch()
                sub = model if idx is None else model.subset(idx)
                if idx is None and g_full is not None:
                    g = g_full
                    n_grad += N
                else:
                    g = batch_grad(idx, theta)
                gn = float(np.linalg.norm(g))
                if exact_sam:
                    from ..profiles import max_variation

                    mv = max_variation(sub.f, theta, rho, grad=sub.grad, side="up", n_starts=sam_starts,
                                       rng=int(rng.integers(2**31)), vectorized=True, tol=1e-6, max_iter=50)
                    n_grad += (mv.ngev) * (N if idx is None else idx.size)
                    y = mv.argmax
                else:
                    y = theta + (rho / gn) * g if gn > 0 else theta
                new = theta - lr * batch_grad(idx, y)
            t += 1
            if not np.all(np.isfinite(new)):
                stop = "diverged"
                break
            theta = new
        if stop == "diverged":
            loss, acc = model.loss_accuracy(theta)     # may be inf/nan: the net blew up
            check(t - 1, loss, acc)
            t -= 1
    if stop != "diverged":
        loss, acc = last_loss, last_acc
    prog(t, loss, acc, final=True)
    trajectory = {k: np.asarray(v, dtype=float if k != "step" else np.int64) for k, v in traj.items()}
    return TrainResult(theta=theta, steps=t, stop_reason=stop, loss=float(loss), accuracy=float(acc),
                       trajectory=trajectory, n_grad_samples=int(n_grad), seconds=time.perf_counter() - t0,
                       config=config)


# ----------------------------------------------------------------------------
# configurations on the digits data
# ----------------------------------------------------------------------------

DEFAULT_CONFIG = dict(n_train=200, data_seed=0, hidden=(32,), loss="cross_entropy", init_seed=0,
                      method="gd", lr=0.1, batch_size=None, rho=0.05, steps=2000, loss_threshold=0.01,
                      seed=0, exact_sam=False, sam_starts=2, eval_every=None, track_lambda_max=False)


def _full_config(config):
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    unknown = set(config) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"config has unknown keys {sorted(unknown)}; known: {sorted(DEFAULT_CONFIG)}")
    return {**DEFAULT_CONFIG, **config}


def model_from_config(config):
    """``(model, X_test, y_test)`` for a configuration (keys of :data:`DEFAULT_CONFIG`):
    an :class:`~flatlib.networks.MLP` of widths ``(64, *hidden, 10)`` on
    ``load_digits(n_train, data_seed)``.

    Examples
    --------
    >>> model, Xte, yte = model_from_config({"n_train": 100, "hidden": (16,)})
    >>> model.widths, model.X.shape, Xte.shape
    ((64, 16, 10), (100, 64), (1697, 64))
    """
    from .digits import load_digits
    from .mlp import MLP

    c = _full_config(config)
    Xtr, ytr, Xte, yte = load_digits(c["n_train"], c["data_seed"])
    model = MLP((64, *tuple(c["hidden"]), 10), Xtr, ytr, loss=c["loss"])
    return model, Xte, yte


def train_from_config(config):
    """Train one digits network described by ``config`` (a dict with keys of
    :data:`DEFAULT_CONFIG`; missing keys take the defaults) and evaluate it on the
    test split.  Module-level and picklable, so it can be mapped by :func:`sweep`.

    The result's ``extra`` holds ``test_loss``, ``test_accuracy``, ``gap_loss``
    (test − train loss), ``gap_error`` (test − train error) and the full ``config``.

    Examples
    --------
    >>> res = train_from_config({"n_train": 100, "hidden": (16,), "lr": 0.2, "steps": 300})
    >>> res.stop_reason, round(res.accuracy, 2)
    ('loss_threshold', 1.0)
    >>> sorted(res.extra)
    ['config', 'gap_error', 'gap_loss', 'test_accuracy', 'test_loss']
    """
    c = _full_config(config)
    model, Xte, yte = model_from_config(c)
    theta0 = model.init(c["init_seed"])
    res = train(model, theta0, c["method"], c["lr"], batch_size=c["batch_size"], rho=c["rho"],
                steps=c["steps"], loss_threshold=c["loss_threshold"], seed=c["seed"],
                exact_sam=c["exact_sam"], sam_starts=c["sam_starts"], eval_every=c["eval_every"],
                track_lambda_max=c["track_lambda_max"])
    test_loss = model.loss_on(res.theta, Xte, yte)
    test_acc = model.accuracy(res.theta, Xte, yte)
    res.extra.update(test_loss=float(test_loss), test_accuracy=float(test_acc),
                     gap_loss=float(test_loss - res.loss), gap_error=float(res.accuracy - test_acc),
                     config=c)
    return res
