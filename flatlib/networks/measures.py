r"""Flatness measures at a trained network, raw and at the balanced point of its rescaling orbit.

Measures at a point ``θ`` of an :class:`~flatlib.networks.MLP` (``f`` its mean training loss):

* ``fcirc_r1``, ``fcirc_r2``: the maximal variation
  :math:`f^\circ(θ, r) = \sup_{\|y-θ\|\le r} |f(y) - f(θ)|` at two radii
  (:func:`flatlib.max_variation`: a value attained in the ball, i.e. a lower bound;
  starts: the gradient, the top Hessian eigenvector from Lanczos and ``n_starts``
  random directions);
* ``fbar``: the distance to the neighbouring level sets
  :math:`\bar f(θ, d) = \operatorname{dist}(θ, \{y : |f(y) - f(θ)| \ge d\})`
  (:func:`flatlib.level_distance`); *larger* means flatter, unlike every other measure;
* ``lambda_max``: the largest Hessian eigenvalue (Lanczos on exact Hessian–vector products);
* ``trace``: the Hessian trace (Hutchinson, fixed Rademacher probes);
* ``sam``: SAM's one-step sharpness :math:`f(θ + ρ g/\|g\|) - f(θ)`, ``g = ∇f(θ)``;
* ``asam``: the adaptive worst-case sharpness of Kwon et al. (2021) / Andriushchenko et
  al. (2023), :math:`\max_{\|e\|\le ρ} f(θ + |θ|\odot e) - f(θ)`, i.e. the one-sided
  maximal variation at ``e = 0`` of the reparametrized function
  :math:`e \mapsto f(θ + |θ| \odot e)`.

Each is computed at ``θ`` (*raw*) and at the balanced point ``balance(θ)`` of its
rescaling orbit (the minimal-norm point, :func:`flatlib.networks.rescaling.balance`).  For any positive per-neuron
rescaling ``T`` (a positive diagonal matrix on the parameters, ``f∘T = f``),
``balance(Tθ) = balance(θ)`` (uniqueness of the minimal-norm point of the orbit), so every
balanced measure is rescaling invariant.  The adaptive measure is invariant already
raw: ``|Tθ| = T|θ|`` gives ``f(Tθ + |Tθ|⊙e) = f(T(θ + |θ|⊙e)) = f(θ + |θ|⊙e)``.

"""
from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MEASURES", "NetworkMeasures", "network_measures", "adaptive_sharpness", "orbit_measures"]

MEASURES = ("fcirc_r1", "fcirc_r2", "fbar", "lambda_max", "trace", "sam", "asam")


@dataclass
class NetworkMeasures:
    """Result of :func:`network_measures`.

    Attributes
    ----------
    raw, balanced : dict
        ``{measure name: value}`` at ``θ`` and at ``balance(θ)`` (``balanced`` empty when
        not requested). Names in :data:`MEASURES`.
    theta_balanced : ndarray or None
    settings : dict
        Radii, gap, radii of SAM/ASAM, starts, probes.
    seconds : float
        Wall-clock time (never print it in a compared output).
    """

    raw: dict
    balanced: dict
    theta_balanced: np.ndarray = field(repr=False)
    settings: dict
    seconds: float = field(repr=False, default=0.0)


def _pos(v, name):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {v!r}")
    return v


def _theta(model, theta):
    t = np.array(theta, dtype=float)
    if t.shape != (model.n,):
        raise ValueError(f"theta must have shape ({model.n},), got {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("theta must be finite")
    return t


def adaptive_sharpness(model, theta, rho, *, n_starts=2, rng=0, tol=1e-4, max_iter=50, starts=None):
    r"""Adaptive worst-case sharpness :math:`\max_{\|e\|\le ρ} f(θ + |θ|\odot e) - f(θ)`.

    The one-sided (``side="up"``) maximal variation of :math:`g(e) = f(θ + |θ|\odot e)` at
    ``e = 0`` (``∇g(e) = |θ| ⊙ ∇f(θ + |θ|⊙e)``), computed by :func:`flatlib.max_variation`
    (a lower bound of the maximum).  Invariant under positive diagonal reparametrizations
    ``θ -> Tθ`` with ``f∘T = f`` (per-neuron rescalings).  At a minimum,
    ``≈ ½ λ_max(|θ| ∇²f |θ|) ρ²`` for small ``ρ``.

    Parameters
    ----------
    model : MLP
    theta : array_like (p,)
    rho : float > 0
    n_starts, rng, tol, max_iter, starts
        Passed to :func:`flatlib.max_variation` (``starts`` in the ``e`` coordinates).

    Returns
    -------
    MaxVariationResult
        of ``g`` at ``0``; ``value`` is the sharpness, ``argmax`` the maximizing ``e``.

    Examples
    --------
    One neuron, one sample ``x = 1``, target 1, mse: ``f = ½(w₂ relu(w₁ + b₁) + b₂ - 1)²``.
    At ``θ = (w₁, b₁, w₂, b₂) = (1, 0, 1, 0)`` only ``w₁, w₂`` move (``|θ| = (1, 0, 1, 0)``):
    ``f = ½(e₁ + e₂ + e₁e₂)²``, largest on the disk at ``e₁ = e₂ = ρ/√2``, i.e.
    ``½((1 + ρ/√2)² - 1)² = 0.0107196`` for ``ρ = 0.1``; the same at the rescaled
    ``(2, 0, ½, 0)`` (the same function), where λ_max = ``|J|²`` (``J`` the Jacobian of the
    residual) differs: 4 against 5.5.

    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((1, 1, 1), np.ones((1, 1)), [1.0], loss="mse")
    >>> t1 = np.array([1.0, 0.0, 1.0, 0.0]); t2 = net.rescale(t1, [2.0])
    >>> a1 = adaptive_sharpness(net, t1, 0.1, tol=1e-12, max_iter=500).value
    >>> a2 = adaptive_sharpness(net, t2, 0.1, tol=1e-12, max_iter=500).value
    >>> round(a1, 7), round(a2, 7), round(float(0.5 * ((1 + 0.1 / np.sqrt(2)) ** 2 - 1) ** 2), 7)
    (0.0107196, 0.0107196, 0.0107196)
    """
    from ..profiles import max_variation

    theta = _theta(model, theta)
    rho = _pos(rho, "rho")
    w = np.abs(theta)

    def g(E):
        return model.f(theta + w * E)

    def dg(E):
        return w * model.grad(theta + w * E)

    return max_variation(g, np.zeros(model.n), rho, grad=dg, side="up", n_starts=n_starts, rng=rng,
                         tol=tol, max_iter=max_iter, vectorized=True, starts=starts)


def _measures_at(model, theta, settings, which):
    from ..profiles import level_distance, max_variation
    from ..sharpness import sam_sharpness
    from ..spectral import hessian_lambda_max, hessian_trace

    s = settings
    out = {}
    ev = None
    if {"lambda_max", "fcirc_r1", "fcirc_r2"} & set(which):
        ev = hessian_lambda_max(model.hvp, theta, tol=1e-8, rng=s["rng"])
        if "lambda_max" in which:
            out["lambda_max"] = float(ev.value)
    if {"fcirc_r1", "fcirc_r2"} & set(which):
        mv = max_variation(model.f, theta, list(s["radii"]), grad=model.grad, vectorized=True,
                           n_starts=s["n_starts"], rng=s["rng"], tol=s["tol"], max_iter=s["max_iter"],
                           starts=ev.eigenvector)
        vals = np.asarray(mv.value, dtype=float)
        if "fcirc_r1" in which:
            out["fcirc_r1"] = float(vals[0])
        if "fcirc_r2" in which:
            out["fcirc_r2"] = float(vals[1])
    if "fbar" in which:
        ld = level_distance(model.f, theta, s["delta"], grad=model.grad, vectorized=True,
                            n_starts=s["fbar_starts"], rng=s["rng"], tol=s["tol"], xtol=s["fbar_xtol"])
        out["fbar"] = float(ld.value)
    if "trace" in which:
        out["trace"] = float(hessian_trace(model.hvp, theta, n_samples=s["n_trace"], rng=s["rng"],
                                           exact_if_n_le=0).value)
    if "sam" in which:
        out["sam"] = float(sam_sharpness(model.f, theta, s["sam_rho"], grad=model.grad).value)
    if "asam" in which:
        out["asam"] = float(adaptive_sharpness(model, theta, s["asam_rho"], n_starts=s["n_starts"],
                                               rng=s["rng"], tol=s["tol"], max_iter=s["max_iter"]).value)
    return {k: out[k] for k in MEASURES if k in out}


def network_measures(model, theta, *, radii=(0.1, 0.5), delta=0.1, sam_rho=0.1, asam_rho=0.05,
                     n_starts=2, n_trace=20, rng=0, tol=1e-4, max_iter=50, balanced=True,
                     which=MEASURES, fbar_starts=1, fbar_xtol=1e-2):
    r"""Flatness measures of :data:`MEASURES` at ``θ`` and at ``balance(θ)``.

    Parameters
    ----------
    model : :class:`~flatlib.networks.MLP`
    theta : array_like (p,)
    radii : pair of float > 0
        The two radii of ``f°`` (``fcirc_r1``, ``fcirc_r2``).
    delta : float > 0
        The level gap ``d`` of ``f¯(θ, d)``.
    sam_rho, asam_rho : float > 0
        Radii of SAM's one-step sharpness and of the adaptive sharpness.
    n_starts : int
        Random starts of every maximal-variation search (besides gradient and eigenvector).
    n_trace : int >= 2
        Hutchinson probes.
    fbar_starts, fbar_xtol
        Random starts and relative tolerance of :func:`flatlib.level_distance` (each of its
        steps is a maximal-variation search: the costliest measure).
    rng : int
        Seed of the random starts, Lanczos start and probes (the same at ``θ`` and
        ``balance(θ)``, so a measure is a fixed function of the point).
    tol, max_iter
        Of the local ascents.
    balanced : bool
        Also measure at ``balance(θ)``.
    which : sequence of str
        Subset of :data:`MEASURES`.

    Returns
    -------
    NetworkMeasures

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> net = MLP((3, 4, 2), rng.standard_normal((12, 3)), rng.integers(0, 2, 12))
    >>> theta = net.init(rng)
    >>> m = network_measures(net, theta, which=("lambda_max", "asam"))
    >>> m2 = network_measures(net, net.rescale(theta, [0.2, 5.0, 3.0, 0.5]), which=("lambda_max", "asam"))
    >>> bool(abs(m.balanced["lambda_max"] - m2.balanced["lambda_max"]) < 1e-8 * m.balanced["lambda_max"])
    True
    >>> bool(abs(m.raw["asam"] - m2.raw["asam"]) < 1e-8 * m.raw["asam"])
    True
    """
    t0 = time.perf_counter()
    theta = _theta(model, theta)
    which = tuple(which)
    bad = [w for w in which if w not in MEASURES]
    if bad:
        raise ValueError(f"which: unknown measures {bad}; known: {MEASURES}")
    if len(radii) != 2:
        raise ValueError(f"radii must be two radii, got {radii!r}")
    r1, r2 = (_pos(r, "radii") for r in radii)
    if isinstance(n_starts, (bool, np.bool_)) or not isinstance(n_starts, numbers.Integral) or n_starts < 0:
        raise ValueError(f"n_starts must be a nonnegative integer, got {n_starts!r}")
    if isinstance(n_trace, (bool, np.bool_)) or not isinstance(n_trace, numbers.Integral) or n_trace < 2:
        raise ValueError(f"n_trace must be an integer >= 2, got {n_trace!r}")
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"rng must be an integer seed, got {type(rng).__name__}")
    settings = dict(radii=(r1, r2), delta=_pos(delta, "delta"), sam_rho=_pos(sam_rho, "sam_rho"),
                    asam_rho=_pos(asam_rho, "asam_rho"), n_starts=int(n_starts), n_trace=int(n_trace),
                    rng=int(rng), tol=_pos(tol, "tol"), max_iter=int(max_iter),
                    fbar_starts=int(fbar_starts), fbar_xtol=_pos(fbar_xtol, "fbar_xtol"))
    raw = _measures_at(model, theta, settings, which)
    bal, tb = {}, None
    if balanced:
        tb = model.balance(theta)
        bal = _measures_at(model, tb, settings, which)
    return NetworkMeasures(raw, bal, tb, settings, time.perf_counter() - t0)


def orbit_measures(model, theta_balanced, directions, ts, *, radius=0.1, n_starts=2, rng=0, tol=1e-4,
                   max_iter=50):
    r"""λ_max and ``f°(·, radius)`` along rescaling paths ``t -> rescale(θ_b, exp(t u))``.

    Parameters
    ----------
    model : MLP
    theta_balanced : array_like (p,)
        Usually ``model.balance(θ)`` (``t = 0``).
    directions : array_like (k, H)
        Log-scale directions ``u`` (one entry per hidden neuron).
    ts : array_like (m,)
    radius : float > 0

    Returns
    -------
    (lambda_max, fcirc, norm2) : three ndarrays (k, m)
        At every ``(u, t)``; ``norm2 = ||θ(t)||²`` (minimal at ``t = 0`` for a balanced point).

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> net = MLP((3, 4, 2), rng.standard_normal((12, 3)), rng.integers(0, 2, 12))
    >>> tb = net.balance(net.init(rng))
    >>> lam, fc, n2 = orbit_measures(net, tb, np.ones((1, 4)) / 2, [-0.5, 0.0, 0.5])
    >>> bool(np.argmin(n2[0]) == 1)
    True
    """
    from ..profiles import max_variation
    from ..spectral import hessian_lambda_max

    tb = _theta(model, theta_balanced)
    U = np.atleast_2d(np.asarray(directions, dtype=float))
    if U.shape[1] != model.n_hidden:
        raise ValueError(f"directions must have {model.n_hidden} columns, got shape {U.shape}")
    ts = np.asarray(ts, dtype=float).ravel()
    radius = _pos(radius, "radius")
    lam = np.empty((U.shape[0], ts.size))
    fc = np.empty_like(lam)
    n2 = np.empty_like(lam)
    for i, u in enumerate(U):
        for j, t in enumerate(ts):
            th = model.rescale(tb, np.exp(t * u))
            ev = hessian_lambda_max(model.hvp, th, tol=1e-8, rng=rng)
            lam[i, j] = ev.value
            fc[i, j] = max_variation(model.f, th, radius, grad=model.grad, vectorized=True, n_starts=n_starts,
                                     rng=rng, tol=tol, max_iter=max_iter, starts=ev.eigenvector).value
            n2[i, j] = th @ th
    return lam, fc, n2
