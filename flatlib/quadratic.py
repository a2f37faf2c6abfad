r"""Quadratic functions, where both flatness profiles have closed forms.

For :math:`q(y) = \tfrac12 y^\top Q y + b^\top y + c` and a point :math:`x`,
write :math:`g = Qx + b`. Then :math:`q(x+u) - q(x) = g^\top u + \tfrac12 u^\top Q u`,
so the maximal variation

.. math:: q^\circ(x, r) = \max\Big(\max_{\|u\|\le r} g^\top u + \tfrac12 u^\top Q u,\;
          \max_{\|u\|\le r} -g^\top u - \tfrac12 u^\top Q u\Big)

is the larger of two *trust-region subproblems*, each solved exactly from the
eigendecomposition of :math:`Q` and the secular equation
:math:`\|(\mu I - sQ)^{-1} s g\| = r` (Moré–Sorensen), including the "hard case".
The distance to the level sets, :math:`\bar q(x, d) = \inf\{r : q^\circ(x, r) \ge d\}`,
is the generalized inverse of a continuous nondecreasing function and is found by
bisection on the exact profile to machine precision.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._results import ScalarResult, add_scalar_protocol
from ._validate import as_bool, as_nonneg, as_point, as_real_array, as_scalar

__all__ = ["Quadratic", "QuadraticVariationResult", "TrustRegionResult", "trust_region_max"]


_EPS = np.finfo(float).eps
_EXACT_RTOL = 1e-12   # a value counts as exact when the certified gap is below this, relative


@dataclass(frozen=True)
class TrustRegionResult(ScalarResult):
    r"""Result of :func:`trust_region_max` with ``full_output=True`` (behaves as its ``value``
    in arithmetic: ``float(res)``).

    Attributes
    ----------
    value : float
        :math:`g^\top u + \tfrac12 u^\top Q u` at ``u`` (attained).
    u : ndarray
        The maximizer found, with ``||u|| <= r`` up to rounding (relative ``1e-15``).
    upper : float
        A certified upper bound on the maximum: the Lagrangian dual
        :math:`D(\mu) = \tfrac12 \sum_i c_i^2/(\mu - \lambda_i) + \tfrac12 \mu r^2` at the final
        multiplier (weak duality holds for every :math:`\mu \ge \max(\lambda_{\max}, 0)`),
        raised by its own rounding error. It is exact for the eigendecomposition computed
        (``numpy.linalg.eigh``, backward error about ``n eps ||Q||``), not for ``Q`` itself.
    mu : float
        The multiplier :math:`\mu \ge \max(\lambda_{\max}, 0)` at which ``upper`` is evaluated.
    exact : bool
        ``upper - value <= 1e-12 * upper``: the value is certified to 12 digits.
    hard_case : bool
        The maximizer was completed along the top eigenspace (:math:`\mu` numerically equal to
        :math:`\lambda_{\max}`, the "hard case" of the trust-region subproblem).
    """

    value: float
    u: np.ndarray
    upper: float
    mu: float
    exact: bool
    hard_case: bool


def _is_exact(value, upper):
    """The certified gap closes to ``_EXACT_RTOL`` relative."""
    return bool(np.isfinite(upper) and upper - value <= _EXACT_RTOL * upper)


def _ratio(ct, den, nz):
    """ct / den, with 0 where ct == 0 (even where den == 0) and inf where only den == 0."""
    if np.all(den > 0):
        return ct / den
    w = np.zeros_like(ct)
    ok = nz & (den != 0)
    np.divide(ct, den, out=w, where=ok)
    w[nz & ~ok] = np.inf
    return w


def _trs_solve(lam, ct, r):
    r"""``max_{||u|| <= r} ct.u + 1/2 sum lam_i u_i^2`` in the eigenbasis.

    ``lam`` ascending eigenvalues, ``ct`` the linear term in the eigenbasis.
    Returns ``(value, u, upper, mu, hard_case)``: ``value`` attained at ``u`` (``||u|| <= r``
    up to rounding), ``upper`` the dual bound ``D(mu)`` (see :class:`TrustRegionResult`).

    The multiplier is parametrized as ``mu = lam_max + s`` and ``mu - lam_i`` computed as
    ``s + (lam_max - lam_i)``, so that ``s`` keeps full relative precision however close
    ``mu`` is to the top eigenvalue (a root ``s ~ 1e-30`` is resolved); ``s`` solves the
    secular equation ``||ct / (s + d)|| = r`` by Newton's method on ``1/||.|| - 1/r``, which is
    concave, started at a lower bound of the root (monotone convergence, Moré–Sorensen),
    safeguarded by bisection. When ``||ct_rest / d_rest|| <= r`` with ``ct_top = 0`` (the hard
    case), or ``s`` is near the pole, the point ``u_rest = ct_rest / d_rest`` completed to the
    sphere along the top eigenspace is a candidate too; the better feasible point is returned.
    """
    n = lam.size
    mu0 = max(float(lam[-1]), 0.0)
    amax = float(np.max(np.abs(ct))) if n else 0.0
    lam_max_abs = float(np.max(np.abs(lam))) if n else 0.0
    if r == 0.0 or (amax == 0.0 and lam_max_abs == 0.0):
        return 0.0, np.zeros(n), 0.0, mu0, False
    # Scale out |lam| and |c|/r: solve for lam/sig, c/(sig r) on the unit ball (no overflow or
    # underflow in the squares however large or small r is), then scale back.
    with np.errstate(over="ignore"):
        sig = max(lam_max_abs, amax * np.sqrt(n) / r)
    if not np.isfinite(sig):
        # r below |c| * 1e-308: the quadratic term underflows, the linear term is everything
        u = ct / amax
        u *= r / np.linalg.norm(u)
        val = float(ct @ u + 0.5 * np.sum(lam * u * u))
        upper = (amax * np.linalg.norm(ct / amax) * r + 0.5 * lam_max_abs * r * r) * (1 + 4 * (n + 4) * _EPS)
        return val, u, max(upper, val), np.inf, False
    with np.errstate(over="ignore"):   # |ct / d| may overflow near a pole: read as inf
        vn, un, upn, mun, hard = _trs_unit(lam / sig, (ct / sig) / r)
    u = un * r
    with np.errstate(over="ignore", invalid="ignore"):
        val = float(ct @ u + 0.5 * np.sum(lam * u * u))
        if not np.isfinite(val):
            val = vn * sig * r * r   # inf when the maximum itself is not representable
        upper = upn * sig * r * r * (1 + 4 * _EPS)
    return val, u, max(upper, val), mun * sig, hard


def _trs_unit(lam, ct):
    """:func:`_trs_solve` on the unit ball, for ``max|lam| <= 1`` and ``|ct| <= 1``."""
    r = 1.0
    n = lam.size
    lmax = float(lam[-1])
    mu0 = max(lmax, 0.0)
    d = lmax - lam                      # >= 0, exactly 0 on the top eigenvalue
    s0 = mu0 - lmax                     # s = mu - lmax >= s0
    nz = ct != 0.0
    c2 = ct * ct
    cn = float(np.sqrt(np.sum(c2)))
    r2 = r * r

    def value_of(u):
        return float(ct @ u + 0.5 * np.sum(lam * u * u))

    def dual(s):                        # D(lmax + s), raised by its rounding error
        den = d + s
        terms = np.divide(c2, den, out=np.zeros(n), where=nz)
        mu = lmax + s if s != s0 else mu0
        return 0.5 * (float(np.sum(terms)) + mu * r2) * (1.0 + 2.0 * (n + 4) * _EPS)

    w0 = _ratio(ct, d + s0, nz)
    phi0 = float(np.linalg.norm(w0))
    if phi0 <= r:
        # mu = mu0 is optimal: interior maximizer (mu = 0), or the hard case (mu = lmax > 0,
        # ct = 0 on the top eigenspace): complete to the sphere along a top eigenvector.
        u = w0
        hard = False
        if lmax > 0.0:
            u = w0.copy()
            u[n - 1] = np.sqrt(max(r2 - phi0 * phi0, 0.0))   # d[n-1] = 0 and ct[n-1] = 0 here
            hard = True
        val = value_of(u)
        return val, u, max(dual(s0), val), mu0, hard

    # Boundary maximizer, mu > mu0: root of ||ct / (s + d)|| = r on (a, b).
    # phi(s) <= |ct|/s gives b; phi(s) >= |ct_i|/(s + d_i) gives a.
    a = max(s0, float(np.max(np.abs(ct) / r - d)))
    b = max(cn / r, a)
    s = a
    w, phi = (w0, phi0) if s == s0 else (None, None)
    for _ in range(100):
        if w is None:
            w = _ratio(ct, d + s, nz)
            phi = float(np.linalg.norm(w))
        if phi >= r:
            a = s
        else:
            b = s
        if abs(phi - r) <= 2 * _EPS * r:         # converged to rounding
            break
        # Newton on psi = 1/phi - 1/r: psi' = sum(w^2 / (s + d)) / phi^3
        with np.errstate(over="ignore", invalid="ignore"):
            s3 = float(np.sum(np.divide(w * w, d + s, out=np.zeros(n), where=nz)))
        newton = 0 < s3 < np.inf and np.isfinite(phi)
        new = s + phi * phi * (phi - r) / (r * s3) if newton else np.nan
        if not (a <= new <= b):                  # safeguard: bisection (geometric if wide)
            new = np.sqrt(a * b) if a > 0 and b > 4 * a else 0.5 * (a + b)
            newton = False
        if b - a <= 8 * _EPS * b or (newton and abs(new - s) <= 8 * _EPS * s):
            break
        s, w = new, None
    if w is None:
        w = _ratio(ct, d + s, nz)
        phi = float(np.linalg.norm(w))
    hard = False
    if np.isfinite(phi) and phi > 0:
        u = w * (r / phi)               # second-order accurate in the error of s
        val, upper = value_of(u), dual(s)
    else:
        u, val, upper = np.zeros(n), 0.0, np.inf
    # Near the pole (or if the root was not certified): the hard-case candidate.
    scale = max(float(np.max(np.abs(lam))), cn / r)
    if lmax >= 0.0 and (s <= np.sqrt(_EPS) * scale or upper - val > _EXACT_RTOL * upper):
        top = d <= 4 * _EPS * scale
        rest = ~top
        ur = ct[rest] / d[rest]
        rest2 = float(ur @ ur)
        if rest2 <= r2:
            t = np.sqrt(r2 - rest2)
            ctn = float(np.linalg.norm(ct[top]))
            h = np.zeros(n)
            h[rest] = ur
            if ctn > 0:
                h[top] = ct[top] * (t / ctn)
                upper = min(upper, dual(max(ctn / t, 0.0))) if t > 0 else upper
            else:
                h[n - 1] = t
            hv = value_of(h)
            if hv > val and np.linalg.norm(h) <= r * (1 + 4 * _EPS):
                u, val, hard = h, hv, True
    return val, u, max(upper, val), lmax + s, hard


def _trs_max(lam, ct, r):
    """``(value, u)`` of :func:`_trs_solve` (kept for callers of the old private name)."""
    val, u, _, _, _ = _trs_solve(lam, ct, r)
    return val, u


def _check_representable(val, who):
    if not np.isfinite(val):
        raise ValueError(f"{who}: the maximum exceeds the largest float (about 1.8e308) and "
                         f"cannot be represented; scale Q, g or r down")


def trust_region_max(Q, g, r, *, full_output=False):
    r"""Exact solution of :math:`\max_{\|u\|\le r} g^\top u + \tfrac12 u^\top Q u`.

    With :math:`Q = V \operatorname{diag}(\lambda) V^\top` and :math:`c = V^\top g`, the maximizer
    is :math:`u = V (\mu I - \operatorname{diag}\lambda)^{+} c` (+ a component in the top
    eigenspace in the hard case) with :math:`\mu \ge \max(\lambda_{\max}, 0)` and
    :math:`\mu (r - \|u\|) = 0`; every such :math:`\mu` gives the upper bound
    :math:`D(\mu) = \tfrac12 \sum_i c_i^2/(\mu - \lambda_i) + \tfrac12 \mu r^2`, and the minimum
    of :math:`D` is the maximum (no duality gap), which certifies the returned value.

    Parameters
    ----------
    Q : (n, n) symmetric array
    g : (n,) array
    r : float >= 0
    full_output : bool, default False
        Return a :class:`TrustRegionResult` (value, point, certified upper bound, multiplier,
        ``exact`` flag) instead of ``(value, u)``.

    Returns
    -------
    value : float
    u : ndarray, a maximizer with ``||u|| <= r`` (up to rounding, relative ``1e-15``)

    Examples
    --------
    >>> import numpy as np
    >>> v, u = trust_region_max(np.diag([2.0, -1.0]), np.zeros(2), 0.5)
    >>> round(v, 12), np.round(np.abs(u), 12).tolist()
    (0.25, [0.5, 0.0])

    The hard case: ``g`` orthogonal to the top eigenvector, :math:`\mu = 3`,
    :math:`u_2 = 1/(3-1)`, :math:`u_1 = \sqrt{1 - 1/4}`, value :math:`1/2 + \tfrac12 (3 \cdot 3/4 + 1/4) = 7/4`:

    >>> res = trust_region_max(np.diag([3.0, 1.0]), np.array([0.0, 1.0]), 1.0, full_output=True)
    >>> round(res.value, 12), res.exact, res.hard_case, res.upper - res.value < 1e-12
    (1.75, True, True, True)

    Extreme scales are solved in scaled units, nothing overflows: ``½ · 1e308 · 1²``:

    >>> trust_region_max(np.diag([1e308, 1.0]), np.zeros(2), 1.0)[0]
    5e+307
    """
    Q = as_real_array(Q, "Q", ndim=2)
    g = as_point(g, "g")
    if Q.shape != (g.size, g.size):
        raise ValueError(f"Q must have shape ({g.size}, {g.size}) to match g of length {g.size}, "
                         f"got {Q.shape}")
    r = as_scalar(r, "r", low=0.0)
    full_output = as_bool(full_output, "full_output")
    lam, V = np.linalg.eigh(0.5 * Q + 0.5 * Q.T)  # (= 0.5 (Q + Qᵀ) bit for bit, without overflow)
    val, ut, upper, mu, hard = _trs_solve(lam, V.T @ g, float(r))
    _check_representable(val, "trust_region_max")
    u = V @ ut
    if not full_output:
        return val, u
    return TrustRegionResult(float(val), u, float(upper), float(mu), _is_exact(val, upper),
                             bool(hard))


class QuadraticVariationResult(NamedTuple):
    """Result of :meth:`Quadratic.max_variation_with_bound`: ``(value, argmax, upper, ...)``.

    ``value`` is attained at ``argmax``; ``upper`` is a certified upper bound (the larger of the
    two sides' dual bounds, see :class:`TrustRegionResult`); ``up``/``down`` the two sides
    (``nan`` if not computed); ``exact`` is ``upper - value <= 1e-12 upper``. Like every result
    with a value it behaves as ``value`` in arithmetic (``float(res)``, ``2 * res``; so ``+`` and
    ``*`` are not the tuple's concatenation and repetition); unpacking works as for a tuple.
    """

    value: float
    argmax: np.ndarray
    upper: float
    up: float
    down: float
    exact: bool


add_scalar_protocol(QuadraticVariationResult)


class Quadratic:
    r"""The quadratic :math:`q(y) = \tfrac12 y^\top Q y + b^\top y + c`, with exact profiles.

    Parameters
    ----------
    Q : (n, n) array, symmetrized as :math:`(Q + Q^\top)/2`.
    b : (n,) array, default 0.
    c : float, default 0.

    Notes
    -----
    ``max_variation(x, r)`` returns the exact
    :math:`q^\circ(x,r)=\sup_{\|y-x\|\le r}|q(y)-q(x)|` (two trust-region
    subproblems) and ``level_distance(x, d)`` the exact
    :math:`\bar q(x,d)=\operatorname{dist}(x,\{|q-q(x)|\ge d\})`.
    At a critical point, :math:`q^\circ(x,r) = \tfrac12\|Q\|_2 r^2`.

    Examples
    --------
    >>> import numpy as np
    >>> q = Quadratic(np.diag([4.0, 1.0]))
    >>> round(q.max_variation([0.0, 0.0], 0.1)[0], 12)      # 1/2 * 4 * 0.1^2
    0.02
    >>> round(q.level_distance([0.0, 0.0], 0.02)[0], 12)
    0.1
    """

    def __init__(self, Q, b=None, c=0.0):
        Q = as_real_array(Q, "Q", ndim=2)
        if Q.shape[0] != Q.shape[1]:
            raise ValueError(f"Q must be a square 2-D array, got shape {Q.shape}")
        n = Q.shape[0]
        self.Q = 0.5 * Q + 0.5 * Q.T  # (= 0.5 (Q + Qᵀ) bit for bit, without overflow)
        self.b = np.zeros(n) if b is None else as_point(b, "b", n=n)
        self.c = as_scalar(c, "c")
        self.n = n
        self._lam, self._V = np.linalg.eigh(self.Q)

    def __call__(self, y):
        y = as_point(y, "y", n=self.n)
        return float(0.5 * y @ self.Q @ y + self.b @ y + self.c)

    def grad(self, y):
        return self.Q @ np.asarray(y, dtype=float) + self.b

    def hess(self, y=None):
        return self.Q.copy()

    def hvp(self, y, v):
        return self.Q @ np.asarray(v, dtype=float)

    @property
    def eigenvalues(self):
        return self._lam.copy()

    def _side(self, gt, r, sign):
        """One side in the original basis: ``(value, u, upper, hard_case)``; ``sign=+1`` is
        ``max q(x+u) - q(x)``, ``-1`` is ``max q(x) - q(x+u)`` (the problem for ``-Q, -g``,
        whose ascending eigenvalues are ``-lam`` reversed)."""
        if sign > 0:
            val, ut, upper, _, hard = _trs_solve(self._lam, gt, r)
        else:
            val, ut, upper, _, hard = _trs_solve(-self._lam[::-1], -gt[::-1], r)
            ut = ut[::-1]
        return val, self._V @ ut, upper, hard

    def _sides(self, x, r):
        """``((up, u_up), (down, u_down))`` at ``x`` (steps from ``x``), unclipped."""
        gt = self._V.T @ self.grad(x)
        up, uu, _, _ = self._side(gt, r, +1)
        dn, ud, _, _ = self._side(gt, r, -1)
        return (up, uu), (dn, ud)

    def max_variation_with_bound(self, x, r, side="both"):
        r"""Exact maximal variation with its certificate: ``(value, argmax, upper, up, down, exact)``.

        ``value`` as in :meth:`max_variation` (attained at ``argmax``); ``upper`` a certified
        upper bound (the Lagrangian dual of each trust-region subproblem at its final multiplier,
        see :func:`trust_region_max`); ``exact`` is ``upper - value <= 1e-12 upper``.

        Returns
        -------
        QuadraticVariationResult
            A named tuple ``(value, argmax, upper, up, down, exact)``; ``up``/``down`` are the two
            sides clipped at 0 (``nan`` for a side not computed).

        Examples
        --------
        >>> import numpy as np
        >>> q = Quadratic(np.diag([3.0, 1.0]), [0.0, 1.0])    # hard case at x = 0, r = 1
        >>> res = q.max_variation_with_bound([0.0, 0.0], 1.0)
        >>> round(res.value, 12), res.exact, bool(res.upper - res.value <= 1e-12)
        (1.75, True, True)
        """
        x = as_point(x, "x", n=self.n)
        r = as_nonneg(r, "r (the radius)")
        if np.ndim(r):
            raise ValueError("r (the radius) must be a scalar here; use flatlib.max_variation for "
                             "profiles")
        if side not in ("both", "up", "down"):
            raise ValueError(f"side must be 'both', 'up' or 'down', got {side!r}")
        with np.errstate(over="ignore", invalid="ignore"):
            g = self.grad(x)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"the gradient Qx + b overflows at x: the variation cannot be represented")
        gt = self._V.T @ g
        up = dn = (np.nan, None, np.nan, False)
        if side in ("both", "up"):
            up = self._side(gt, float(r), +1)
        if side in ("both", "down"):
            dn = self._side(gt, float(r), -1)
        if side == "up" or (side == "both" and up[0] >= dn[0]):
            val, u = up[0], up[1]
        else:
            val, u = dn[0], dn[1]
        val = max(val, 0.0)
        _check_representable(val, "Quadratic.max_variation")
        upper = max(np.nanmax([up[2], dn[2]]), val)
        return QuadraticVariationResult(val, x + u, float(upper), max(up[0], 0.0) if up[1] is not None else np.nan,
                                        max(dn[0], 0.0) if dn[1] is not None else np.nan,
                                        _is_exact(val, upper))

    def max_variation(self, x, r, side="both"):
        """Exact ``(value, argmax)`` of the maximal variation at ``x`` with radius ``r``.

        ``side="up"`` gives ``sup q(y) - q(x)``, ``"down"`` gives ``sup q(x) - q(y)``.
        :meth:`max_variation_with_bound` adds a certified upper bound.
        """
        res = self.max_variation_with_bound(x, r, side=side)
        return res.value, res.argmax

    def level_distance(self, x, d, side="both"):
        r"""Exact ``(distance, nearest)``: :math:`\inf\{r: q^\circ(x,r)\ge d\}` by bisection
        on the exact profile (the bisection keeps ``q°(lo) < d <= q°(hi)``, so it converges
        to the infimum); ``(inf, None)`` when the level set is empty."""
        x = as_point(x, "x", n=self.n)
        d = as_nonneg(d, "d (the level gap delta)", strictly_positive=True)
        if np.ndim(d):
            raise ValueError("d (the level gap delta) must be a scalar here; use "
                             "flatlib.level_distance for profiles")
        d = float(d)
        g = self.grad(x)
        if not np.any(self.Q) and not np.any(g):
            return np.inf, None

        def prof(r):  # q°(x, r); a value beyond the largest float is above every d
            try:
                return self.max_variation(x, r, side=side)[0]
            except ValueError as exc:
                if "cannot be represented" in str(exc) or "overflows" in str(exc):
                    return np.inf
                raise
        lo, hi = 0.0, 1.0
        if prof(hi) >= d:
            while hi > 1e-300 and prof(0.5 * hi) >= d:
                hi *= 0.5
            lo = 0.5 * hi
        else:
            while prof(hi) < d:
                lo, hi = hi, 2.0 * hi
                if hi > 1e300:
                    return np.inf, None
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if prof(mid) >= d:
                hi = mid
            else:
                lo = mid
        try:
            return hi, self.max_variation(x, hi, side=side)[1]
        except ValueError:  # the value at hi is beyond the largest float (d near it): the point only
            with np.errstate(over="ignore", invalid="ignore"):
                (up, uu), (dn, ud) = self._sides(x, hi)
            u = uu if side == "up" or (side == "both" and not dn > up) else ud
            return hi, x + u

    def __repr__(self):
        return f"Quadratic(n={self.n})"
