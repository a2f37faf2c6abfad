r"""Flatness measures at a trained network, raw and at the balanced point of its rescaling orbit.

Measures at a point ``θ`` of an :class:`~flatlib.networks.MLP` (``f`` its mean training loss,
``f >= 0``):

* ``fcirc_r1``, ``fcirc_r2``: the maximal variation
  :math:`f^\circ(θ, r) = \sup_{\|y-θ\|\le r} |f(y) - f(θ)|` at two radii, by the escalating
  multistart search :func:`flatlib.networks.search.ball_max` (a value attained in the ball,
  i.e. a lower bound, with its evidence).  Structured starts: the gradient and the top Hessian
  eigenvector (both signs), and at ``r₂`` the best points found at ``r₁``.  The downward side
  :math:`f(θ) - \inf f` is at most ``f(θ)`` (the loss is nonnegative), so it is searched only
  when the upward value is below ``f(θ)``;
* ``fbar``: the distance to the neighbouring level sets
  :math:`\bar f(θ, d) = \operatorname{dist}(θ, \{y : |f(y) - f(θ)| \ge d\}) = \inf\{r : f^\circ(θ, r) \ge d\}`.
  The value is the norm of a point found with :math:`|f(θ + u) - f(θ)| \ge d` (an *upper* bound
  of the distance); below ``lower`` (the largest radius where the escalated search found no
  such point) the search says the level set is absent.  Bracketed by the radii already searched
  and closed to ``fbar_xtol`` (relative) by safeguarded interpolation of
  ``log f° = a log r + b``.  *Larger* means flatter, unlike every other measure;
* ``lambda_max``: the largest Hessian eigenvalue (ARPACK Lanczos on exact Hessian–vector
  products, residual ``||Hv - λv|| <= 1e-8 |λ|``);
* ``trace``: the Hessian trace, exactly (no sampling): off the ReLU kinks the network output
  is multilinear in the layers, so every diagonal entry of ``∇²z_c`` vanishes and
  :math:`\operatorname{tr}\nabla^2 f = \frac1N\sum_i \operatorname{tr}(\ell_i''\,J_iJ_i^\top)`,
  ``J_i`` the Jacobian of the logits of sample ``i``, with
  :math:`(J_iJ_i^\top)_{ab} = \sum_l \langle\delta^a_{l,i},\delta^b_{l,i}\rangle(\|a_{l-1,i}\|^2+1)`
  (``δ^a_l = ∂z_{L,a}/∂z_l``, ``a_{l-1}`` the layer's input);
* ``sam``: SAM's one-step sharpness :math:`f(θ + ρ g/\|g\|) - f(θ)`, ``g = ∇f(θ)``;
* ``asam``: the adaptive worst-case sharpness of Kwon et al. (2021) / Andriushchenko et
  al. (2023), :math:`\max_{\|e\|\le ρ} f(θ + |θ|\odot e) - f(θ)`, by the same escalating search on
  :math:`e \mapsto f(θ + |θ| \odot e)` (starts: its gradient and the top eigenvector of
  ``|θ| ∇²f |θ|``).

Each is computed at ``θ`` (*raw*) and at the balanced point ``balance(θ)`` of its
rescaling orbit (the minimal-norm point, :func:`flatlib.networks.rescaling.balance`).  For any
positive per-neuron rescaling ``T`` (a positive diagonal matrix on the parameters, ``f∘T = f``),
``balance(Tθ) = balance(θ)`` (uniqueness of the minimal-norm point of the orbit), so every
balanced measure is rescaling invariant.  The adaptive measure is invariant already
raw: ``|Tθ| = T|θ|`` gives ``f(Tθ + |Tθ|⊙e) = f(T(θ + |θ|⊙e)) = f(θ + |θ|⊙e)``: the searched
function of ``e`` is the same, so the balanced value equals the raw one up to rounding; it is
computed as the value at ``balance(θ)`` of the maximizer ``e*`` found at ``θ`` (no second search).

The settings of the study live in one place: the defaults of :func:`network_measures`.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from .search import ball_max

__all__ = ["MEASURES", "SEARCHED", "SEARCH_DEFAULTS", "NetworkMeasures", "network_measures", "adaptive_sharpness",
           "max_variation_net", "level_distance_net", "lambda_max", "hessian_trace", "sam_one_step",
           "orbit_measures"]

MEASURES = ("fcirc_r1", "fcirc_r2", "fbar", "lambda_max", "trace", "sam", "asam")
SEARCHED = ("fcirc_r1", "fcirc_r2", "fbar", "asam")

#: Settings of the searches (the defaults of :func:`network_measures`).
SEARCH_DEFAULTS = dict(n_starts=32, patience=2, escalate_rtol=5e-3, max_starts=2048, tol=1e-10,
                       max_iter=1000, screen_iter=8, keep=0.125)


@dataclass
class NetworkMeasures:
    """Result of :func:`network_measures`.

    Attributes
    ----------
    raw, balanced : dict
        ``{measure name: value}`` at ``θ`` and at ``balance(θ)`` (``balanced`` empty when
        not requested). Names in :data:`MEASURES`.
    evidence : dict
        ``{"raw": {name: dict}, "balanced": {...}}`` for the searched measures
        (:data:`SEARCHED`): starts, rounds, last improvement, hits, spread, converged (and for
        ``fbar`` the bracket ``lower`` and the number of probed radii); for ``lambda_max`` the
        Lanczos residual.
    theta_balanced : ndarray or None
    settings : dict
        Every setting used (radii, gap, radii of SAM/ASAM, search settings, seed).
    seconds : float
        Wall-clock time (never print it in a compared output).
    """

    raw: dict
    balanced: dict
    evidence: dict = field(repr=False)
    theta_balanced: np.ndarray = field(repr=False)
    settings: dict = field(repr=False)
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


def _search_kw(kw):
    out = dict(SEARCH_DEFAULTS)
    unknown = set(kw) - set(out) - {"rng"}
    if unknown:
        raise ValueError(f"unknown search settings {sorted(unknown)}; known: {sorted(out)}")
    out.update(kw)
    return out


# ---------------------------------------------------------------------------- curvature
def lambda_max(model, theta, *, hvp=None, tol=1e-10, rng=0):
    r"""Largest eigenvalue of the Hessian, by ARPACK's Lanczos (``scipy.sparse.linalg.eigsh``,
    ``which="LA"``) on exact Hessian–vector products, from a seeded random start.

    Parameters
    ----------
    model : MLP
    theta : array_like (p,)
    hvp : callable, optional
        ``hvp(v)`` (default ``model.hvp(θ, v)``); used by :func:`adaptive_sharpness` for the
        reparametrized Hessian.
    tol : float
        ARPACK's relative accuracy.
    rng : int
        Seed of the starting vector.

    Returns
    -------
    (value, eigenvector, residual) : float, ndarray (p,), float
        ``residual = ||Hv - λv||`` (unit ``v``).

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> net = MLP((3, 4, 2), rng.standard_normal((12, 3)), rng.integers(0, 2, 12))
    >>> th = net.init(rng)
    >>> H = np.array([net.hvp(th, e) for e in np.eye(net.n)])
    >>> lam, v, res = lambda_max(net, th)
    >>> bool(abs(lam - np.linalg.eigvalsh((H + H.T) / 2)[-1]) < 1e-9 * lam), res < 1e-7 * lam
    (True, True)
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    theta = _theta(model, theta)
    n = model.n
    mv = (lambda v: model.hvp(theta, v)) if hvp is None else hvp
    op = LinearOperator((n, n), matvec=lambda v: mv(np.ravel(v)), dtype=float)
    v0 = np.random.default_rng(int(rng)).standard_normal(n)
    if n <= 2:
        H = np.array([mv(e) for e in np.eye(n)])
        w, V = np.linalg.eigh(0.5 * (H + H.T))
        lam, vec = float(w[-1]), V[:, -1]
    else:
        w, V = eigsh(op, k=1, which="LA", tol=tol, v0=v0, ncv=min(n, 20), maxiter=10 * n)
        lam, vec = float(w[0]), V[:, 0]
    vec = vec / np.linalg.norm(vec)
    return lam, vec, float(np.linalg.norm(mv(vec) - lam * vec))


def hessian_trace(model, theta):
    r"""Exact trace of the Hessian of the mean loss (see the module docstring: the Gauss–Newton
    part only, the rest having a zero diagonal off the ReLU kinks).

    Cost: one forward pass and one backward pass per output unit, for all samples at once.

    Examples
    --------
    Against the trace of the dense Hessian built from Hessian–vector products:

    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> net = MLP((3, 5, 4, 3), rng.standard_normal((10, 3)), rng.integers(0, 3, 10))
    >>> th = net.init(rng)
    >>> dense = sum(net.hvp(th, e)[i] for i, e in enumerate(np.eye(net.n)))
    >>> bool(abs(hessian_trace(net, th) - dense) < 1e-12 * abs(dense))
    True
    """
    theta = _theta(model, theta)
    Ls, pres, acts = model._forward1(theta, model.X)
    out = pres[-1]
    N, C = out.shape
    if model.loss == "cross_entropy":
        m = out.max(axis=1, keepdims=True)
        e = np.exp(out - m)
        p = e / e.sum(axis=1, keepdims=True)
        curv = np.einsum("ia,ab->iab", p, np.eye(C)) - np.einsum("ia,ib->iab", p, p)
    else:
        curv = np.broadcast_to(np.eye(C), (N, C, C))
    # delta[i, a, :] = d z_{L,a} / d z_l for sample i, from the top layer down
    delta = np.broadcast_to(np.eye(C), (N, C, C)).copy()
    JJ = np.zeros((N, C, C))
    for l in range(len(Ls) - 1, -1, -1):
        inp = acts[l]
        JJ += np.einsum("iak,ibk->iab", delta, delta) * (np.einsum("ij,ij->i", inp, inp) + 1.0)[:, None, None]
        if l > 0:
            delta = np.einsum("iak,kj->iaj", delta, Ls[l][0]) * (pres[l - 1] > 0)[:, None, :]
    return float(np.einsum("iab,iab->", curv, JJ) / N)


def sam_one_step(model, theta, rho):
    r"""SAM's one-step sharpness :math:`f(θ + ρ g/\|g\|) - f(θ)`, ``g = ∇f(θ)`` (0 if ``g = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((1, 1, 1), np.ones((1, 1)), [1.0], loss="mse")
    >>> th = np.array([1.0, 0.0, 1.0, 0.5])            # f = ½ (1 + 0.5 - 1)² = 0.125, g = 0.5 (1, 1, 1, 1)
    >>> u = 0.1 * np.ones(4) / 2
    >>> bool(np.isclose(sam_one_step(net, th, 0.1), net.f(th + u) - 0.125, rtol=1e-14))
    True
    """
    theta = _theta(model, theta)
    rho = _pos(rho, "rho")
    f0, g = model.value_and_grad(theta)
    gn = float(np.linalg.norm(g))
    if gn == 0:
        return 0.0
    return float(model.f(theta + (rho / gn) * g) - f0)


# ---------------------------------------------------------------------------- searches
def _ev(res):
    return res.evidence()


def max_variation_net(model, theta, r, *, starts=(), rng=0, **search):
    r"""``f°(θ, r)`` of the training loss by :func:`~flatlib.networks.search.ball_max`, with evidence.

    The upward side :math:`\sup f - f(θ)` is searched from the gradient, the caller's
    ``starts`` and the random starts; the downward side :math:`f(θ) - \inf f` is at most
    ``f(θ)`` because the loss is nonnegative, and is searched only when the upward value is
    below ``f(θ)``.

    Returns
    -------
    SearchResult
        Of the side that gives ``f°`` (its ``value``); ``argmax`` the offset ``u``.

    Examples
    --------
    The value is attained at ``θ + argmax``, inside the ball:

    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> rng = np.random.default_rng(0)
    >>> net = MLP((3, 4, 2), rng.standard_normal((12, 3)), rng.integers(0, 2, 12))
    >>> th = net.init(rng)
    >>> res = max_variation_net(net, th, 0.3, n_starts=8)
    >>> bool(abs(abs(net.f(th + res.argmax) - net.f(th)) - res.value) < 1e-12), bool(np.linalg.norm(res.argmax) <= 0.3 + 1e-12)
    (True, True)
    """
    theta = _theta(model, theta)
    r = _pos(r, "r")
    kw = _search_kw(search)
    f0, g = model.value_and_grad(theta)
    S = [g] + [np.asarray(s, dtype=float) for s in starts]
    up = ball_max(model.f, model.grad, theta, r, sign=1, starts=np.array(S), rng=rng, **kw)
    if up.value >= f0:
        return up
    down = ball_max(model.f, model.grad, theta, r, sign=-1, starts=np.array(S), rng=rng, **kw)
    return up if up.value >= down.value else down


def level_distance_net(model, theta, delta, *, known=(), starts=(), rng=0, xtol=0.01, max_probes=12,
                       **search):
    r"""``f¯(θ, d)``: the distance to ``{y : |f(y) - f(θ)| >= d}``, as an upper bound with a bracket.

    Parameters
    ----------
    known : sequence of (radius, SearchResult)
        ``f°`` searches already done at this point (they bracket the distance for free).
    starts : array_like
        Structured starting directions for every probe (e.g. the gradient, an eigenvector).
    xtol : float
        Stop when ``upper / lower - 1 <= xtol``.
    max_probes : int
        New radii searched at most.

    Returns
    -------
    dict
        ``value`` (the norm of a point found on the level set, ``<= upper``), ``upper``,
        ``lower`` (the largest radius at which the escalated search found no such point),
        ``probes`` (radii searched here), ``starts`` (starts used by the probes here), and the
        evidence of the search at ``lower`` (``hits``, ``last_improvement``, ``converged``).

    Examples
    --------
    A single neuron with one sample, mse, at ``θ = (w₁, b₁, w₂, b₂) = (1, 0, 1, 0)``,
    target 1, where ``f = ½(w₂ relu(w₁ + b₁) + b₂ - 1)² = 0``: the bracket closes to 1%.

    >>> import numpy as np
    >>> from flatlib.networks import MLP
    >>> net = MLP((1, 1, 1), np.ones((1, 1)), [1.0], loss="mse")
    >>> out = level_distance_net(net, np.array([1.0, 0.0, 1.0, 0.0]), 0.02, n_starts=16)
    >>> bool(out["lower"] <= out["value"] <= out["upper"] <= out["lower"] * 1.01)
    True
    """
    theta = _theta(model, theta)
    d = _pos(delta, "delta")
    kw = _search_kw(search)
    f0, g = model.value_and_grad(theta)
    S = [g] + [np.asarray(s, dtype=float) for s in starts]
    both = d <= f0          # the downward side reaches the level only if d <= f(θ) (f >= 0)

    warm = []
    lo, f_lo, ev_lo = 0.0, 0.0, None
    hi, f_hi, u_hi = math.inf, math.inf, None
    for r, res in known:
        warm.extend(res.argmaxes if res.argmaxes is not None else [res.argmax])
        if res.value >= d and r < hi:
            hi, f_hi, u_hi = r, res.value, res.argmax
        elif res.value < d and r > lo:
            lo, f_lo, ev_lo = r, res.value, res

    def probe(r, final):
        W = [w * min(1.0, r / max(np.linalg.norm(w), 1e-300)) for w in warm[-16:]]
        st = np.array(S + W)
        res = ball_max(model.f, model.grad, theta, r, sign=1, starts=st, rng=rng, target=d, **kw)
        if both and res.value < d:
            dn = ball_max(model.f, model.grad, theta, r, sign=-1, starts=st, rng=rng, target=d, **kw)
            if dn.value > res.value:
                res = dn
        return res

    probes, used = 0, 0
    r = max(lo, 1e-3 * (1 + np.linalg.norm(theta))) if not math.isfinite(hi) else None
    while not math.isfinite(hi):             # grow until the level is reached
        r = 2 * r if probes else max(2 * lo, r)
        res = probe(r, False)
        probes += 1
        used += res.starts
        warm.extend(res.argmaxes)
        if res.value >= d:
            hi, f_hi, u_hi = r, res.value, res.argmax
        else:
            lo, f_lo, ev_lo = r, res.value, res
        if probes >= max_probes or r > 1e6:
            raise RuntimeError(f"level_distance_net: no point with |Δf| >= {d} found up to radius {r}")
    while hi / max(lo, 1e-300) - 1 > xtol and probes < max_probes:
        if lo > 0 and f_lo > 0 and f_hi > f_lo:
            a = math.log(f_hi / f_lo) / math.log(hi / lo)
            guess = lo * (d / f_lo) ** (1 / a)
            span = math.log(hi / lo)
            t = min(max(math.log(guess / lo) / span, 0.1), 0.9)
            r = lo * math.exp(t * span)
        else:
            r = 0.5 * (lo + hi) if lo > 0 else 0.5 * hi
        res = probe(r, True)
        probes += 1
        used += res.starts
        warm.extend(res.argmaxes)
        if res.value >= d:
            hi, f_hi, u_hi = r, res.value, res.argmax
        else:
            lo, f_lo, ev_lo = r, res.value, res
    ev = _ev(ev_lo) if ev_lo is not None else dict(hits=0, last_improvement=0.0, converged=True, rounds=0,
                                                    spread=0.0, starts=0)
    return dict(value=float(min(np.linalg.norm(u_hi), hi)), upper=float(hi), lower=float(lo), probes=probes,
                starts=used, hits=ev["hits"], last_improvement=ev["last_improvement"],
                converged=bool(ev["converged"] and hi / max(lo, 1e-300) - 1 <= xtol))


def adaptive_sharpness(model, theta, rho, *, rng=0, starts=(), **search):
    r"""Adaptive worst-case sharpness :math:`\max_{\|e\|\le ρ} f(θ + |θ|\odot e) - f(θ)`.

    The one-sided (upward) maximal variation of :math:`g(e) = f(θ + |θ|\odot e)` at ``e = 0``
    (``∇g(e) = |θ| ⊙ ∇f(θ + |θ|⊙e)``), by :func:`~flatlib.networks.search.ball_max` from the
    gradient of ``g``, the top eigenvector of ``∇²g(0) = |θ| ∇²f(θ) |θ|`` and random starts
    (a lower bound of the maximum, with evidence).  Invariant under positive diagonal
    reparametrizations ``θ -> Tθ`` with ``f∘T = f`` (per-neuron rescalings).  At a minimum,
    ``≈ ½ λ_max(|θ| ∇²f |θ|) ρ²`` for small ``ρ``.

    Parameters
    ----------
    model : MLP
    theta : array_like (p,)
    rho : float > 0
    rng, starts, search
        Seed, extra starting directions (``e`` coordinates) and settings of
        :func:`~flatlib.networks.search.ball_max` (defaults: :data:`SEARCH_DEFAULTS`).

    Returns
    -------
    SearchResult
        ``value`` is the sharpness, ``argmax`` the maximizing ``e``.

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
    >>> a1 = adaptive_sharpness(net, t1, 0.1, n_starts=8).value
    >>> a2 = adaptive_sharpness(net, t2, 0.1, n_starts=8).value
    >>> round(a1, 7), round(a2, 7), round(float(0.5 * ((1 + 0.1 / np.sqrt(2)) ** 2 - 1) ** 2), 7)
    (0.0107196, 0.0107196, 0.0107196)
    """
    theta = _theta(model, theta)
    rho = _pos(rho, "rho")
    kw = _search_kw(search)
    w = np.abs(theta)

    def g(E):
        return model.f(theta + w * E)

    def dg(E):
        return w * model.grad(theta + w * E)

    S = [w * model.grad(theta)] + [np.asarray(s, dtype=float) for s in starts]
    if np.any(w > 0):
        vec = lambda_max(model, theta, hvp=lambda v: w * model.hvp(theta, w * v), rng=rng)[1]
        S.append(vec)
    return ball_max(g, dg, np.zeros(model.n), rho, sign=1, starts=np.array(S), rng=rng, **kw)


# ---------------------------------------------------------------------------- all measures
def _measures_at(model, theta, s, which, asam_from=None):
    out, ev = {}, {}
    rng = s["rng"]
    search = {k: s[k] for k in SEARCH_DEFAULTS}
    vec = None
    if {"lambda_max", "fcirc_r1", "fcirc_r2", "fbar"} & set(which):
        lam, vec, resid = lambda_max(model, theta, rng=rng)
        if "lambda_max" in which:
            out["lambda_max"] = lam
            ev["lambda_max"] = dict(residual=resid)
    known = []
    r1, r2 = s["radii"]
    if {"fcirc_r1", "fcirc_r2", "fbar"} & set(which):
        a = max_variation_net(model, theta, r1, starts=[vec], rng=rng, **search)
        known.append((r1, a))
        b = max_variation_net(model, theta, r2, starts=[vec, *a.argmaxes], rng=rng, **search)
        if b.value < a.value:           # the r1 point is feasible at r2: f° is nondecreasing
            b = dataclasses.replace(b, value=a.value, argmax=a.argmax)
        known.append((r2, b))
        for name, res in (("fcirc_r1", a), ("fcirc_r2", b)):
            if name in which:
                out[name] = float(res.value)
                ev[name] = _ev(res)
    if "fbar" in which:
        ld = level_distance_net(model, theta, s["delta"], known=known, starts=[vec], rng=rng,
                                xtol=s["fbar_xtol"], **search)
        out["fbar"] = ld["value"]
        ev["fbar"] = {k: v for k, v in ld.items() if k != "value"}
    if "trace" in which:
        out["trace"] = hessian_trace(model, theta)
    if "sam" in which:
        out["sam"] = sam_one_step(model, theta, s["sam_rho"])
    if "asam" in which:
        if asam_from is None:
            res = adaptive_sharpness(model, theta, s["asam_rho"], rng=rng, **search)
            out["asam"] = float(res.value)
            ev["asam"] = _ev(res)
            ev["_asam_argmax"] = res.argmax
        else:
            # the searched function e -> f(θ + |θ|⊙e) is the same at every point of the orbit
            # (module docstring): its maximizer at θ is one here; evaluate it at this point
            e_star, ev_raw = asam_from
            w = np.abs(theta)
            out["asam"] = float(model.f(theta + w * e_star) - model.f(theta))
            ev["asam"] = dict(ev_raw, from_raw=True)
    return {k: out[k] for k in MEASURES if k in out}, ev


def network_measures(model, theta, *, radii=(0.1, 0.5), delta=0.1, sam_rho=0.1, asam_rho=0.05,
                     fbar_xtol=0.01, rng=0, balanced=True, which=MEASURES, **search):
    r"""Flatness measures of :data:`MEASURES` at ``θ`` and at ``balance(θ)``, with evidence.

    These defaults are the settings of the network study (notebook 07 and
    ``results/network_study.csv``): nothing there weakens them.

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
    fbar_xtol : float > 0
        Relative width of the bracket of ``f¯``.
    rng : int
        Seed of every random start and of the Lanczos start (the same at ``θ`` and
        ``balance(θ)``, so a measure is a fixed function of the point).
    balanced : bool
        Also measure at ``balance(θ)``.
    which : sequence of str
        Subset of :data:`MEASURES`.
    **search
        Overrides of :data:`SEARCH_DEFAULTS` (``n_starts=32`` random starts in the first round,
        doubling until ``patience=2`` doublings in a row each move the best value by less than
        ``escalate_rtol=0.5%``, at most ``max_starts=2048``; ``tol=1e-10``; screening
        ``screen_iter=8`` steps, ``keep=1/8``).  Only for strength checks and tests.

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
    >>> m = network_measures(net, theta, which=("lambda_max", "trace"))
    >>> m2 = network_measures(net, net.rescale(theta, [0.2, 5.0, 3.0, 0.5]), which=("lambda_max", "trace"))
    >>> bool(abs(m.balanced["lambda_max"] - m2.balanced["lambda_max"]) < 1e-8 * m.balanced["lambda_max"])
    True
    >>> bool(abs(m.raw["trace"] - m2.raw["trace"]) > 0.1 * m.raw["trace"])     # raw: not invariant
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
    if r1 >= r2:
        raise ValueError(f"radii must be increasing, got {radii!r}")
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"rng must be an integer seed, got {type(rng).__name__}")
    settings = dict(radii=(r1, r2), delta=_pos(delta, "delta"), sam_rho=_pos(sam_rho, "sam_rho"),
                    asam_rho=_pos(asam_rho, "asam_rho"), fbar_xtol=_pos(fbar_xtol, "fbar_xtol"),
                    rng=int(rng), **_search_kw(search))
    raw, ev_raw = _measures_at(model, theta, settings, which)
    e_star = ev_raw.pop("_asam_argmax", None)
    bal, ev_bal, tb = {}, {}, None
    if balanced:
        tb = model.balance(theta)
        asam_from = None if e_star is None else (e_star, ev_raw["asam"])
        bal, ev_bal = _measures_at(model, tb, settings, which, asam_from=asam_from)
    return NetworkMeasures(raw, bal, {"raw": ev_raw, "balanced": ev_bal}, tb, settings,
                           time.perf_counter() - t0)


def orbit_measures(model, theta_balanced, directions, ts, *, radius=0.5, rng=0, **search):
    r"""λ_max and ``f°(·, radius)`` along rescaling paths ``t -> rescale(θ_b, exp(t u))``.

    ``f°`` by :func:`max_variation_net` with the study's search settings (override with
    ``**search``).

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
    >>> lam, fc, n2 = orbit_measures(net, tb, np.ones((1, 4)) / 2, [-0.5, 0.0, 0.5], n_starts=4)
    >>> bool(np.argmin(n2[0]) == 1)
    True
    """
    tb = _theta(model, theta_balanced)
    U = np.atleast_2d(np.asarray(directions, dtype=float))
    if U.shape[1] != model.n_hidden:
        raise ValueError(f"directions must have {model.n_hidden} columns, got shape {U.shape}")
    ts = np.asarray(ts, dtype=float).ravel()
    radius = _pos(radius, "radius")
    kw = _search_kw(search)
    lam = np.empty((U.shape[0], ts.size))
    fc = np.empty_like(lam)
    n2 = np.empty_like(lam)
    for i, u in enumerate(U):
        for j, t in enumerate(ts):
            th = model.rescale(tb, np.exp(t * u))
            lam[i, j], vec, _ = lambda_max(model, th, rng=rng)
            fc[i, j] = max_variation_net(model, th, radius, starts=[vec], rng=rng, **kw).value
            n2[i, j] = th @ th
    return lam, fc, n2
