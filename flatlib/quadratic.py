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

import numpy as np

from ._validate import as_nonneg, as_point

__all__ = ["Quadratic", "trust_region_max"]


def _trs_max(lam, ct, r):
    """max_{||u|| <= r} ct.u + 1/2 sum lam_i u_i^2 in the eigenbasis.

    ``lam`` ascending eigenvalues, ``ct`` the linear term in the eigenbasis.
    Returns (value, u) with ||u|| <= r.
    """
    n = lam.size
    if r == 0.0:
        return 0.0, np.zeros(n)
    lmax = lam[-1]
    cn = np.linalg.norm(ct)
    scale = max(np.max(np.abs(lam)), 1e-300)
    # Interior maximum: concave (lmax < 0) and the stationary point -Q^{-1}c inside.
    if lmax < 0:
        u = -ct / lam
        if np.linalg.norm(u) <= r:
            return float(ct @ u + 0.5 * np.sum(lam * u * u)), u
    # Boundary: u(mu) = ct / (mu - lam), mu >= max(lmax, 0), ||u(mu)|| = r.
    top = np.abs(lam - lmax) <= 1e-13 * scale
    mu0 = max(lmax, 0.0)
    # Hard case (or numerically so): the linear term (almost) misses the top eigenspace,
    # relative to the size of the problem, or the pole is within one ulp of mu0.
    ct_top = np.linalg.norm(ct[top])
    near_pole = mu0 + cn / r <= mu0
    if lmax >= 0 and (ct_top <= 1e-14 * (cn + scale * r) or near_pole):
        rest = ~top
        u = np.zeros(n)
        u[rest] = ct[rest] / (lmax - lam[rest])
        nr = np.linalg.norm(u)
        if nr <= r:
            k = np.flatnonzero(top)[0]
            u[k] = np.copysign(np.sqrt(max(r * r - nr * nr, 0.0)), ct[k] if ct[k] != 0 else 1.0)
            return float(ct @ u + 0.5 * np.sum(lam * u * u)), u

    def norm_u(mu):
        return np.linalg.norm(ct / (mu - lam))

    hi = mu0 + cn / r + 1e-300
    # lo: just right of the pole where ||u|| >= r
    lo = mu0
    width = hi - lo
    d = width
    for _ in range(200):
        d *= 0.5
        if norm_u(lo + d) >= r:
            lo = lo + d
            break
    else:  # numerically the hard case
        lo = mu0
    # Newton on 1/||u|| - 1/r from the right is monotone (Moré–Sorensen); safeguard by bisection.
    mu = hi
    a, b = lo, hi
    for _ in range(200):
        w = ct / (mu - lam)
        nw = np.linalg.norm(w)
        if nw == 0:
            break
        phi = 1.0 / nw - 1.0 / r
        if phi > 0:
            b = mu
        else:
            a = mu
        # d/dmu ||w|| = -sum ct^2/(mu-lam)^3 / ||w||
        dn = -np.sum(w * w / (mu - lam)) / nw
        dphi = -dn / (nw * nw)
        step = phi / dphi if dphi != 0 else np.inf
        new = mu - step
        if not (a < new < b) or not np.isfinite(new):
            new = 0.5 * (a + b)
        if abs(new - mu) <= 4e-16 * max(abs(mu), 1e-300):
            mu = new
            break
        mu = new
    u = ct / (mu - lam)
    nu = np.linalg.norm(u)
    if nu > r:
        u *= r / nu
    elif nu < r and mu <= mu0 * (1 + 1e-12) + 1e-300 and lmax >= 0:
        # completion along the top eigenvector (near-hard case)
        k = np.flatnonzero(top)[0]
        u[k] += np.copysign(np.sqrt(max(r * r - nu * nu, 0.0)), ct[k] if ct[k] != 0 else 1.0)
    val = float(ct @ u + 0.5 * np.sum(lam * u * u))
    return val, u


def trust_region_max(Q, g, r):
    r"""Exact solution of :math:`\max_{\|u\|\le r} g^\top u + \tfrac12 u^\top Q u`.

    Parameters
    ----------
    Q : (n, n) symmetric array
    g : (n,) array
    r : float >= 0

    Returns
    -------
    value : float
    u : ndarray, a maximizer with ``||u|| <= r``

    Examples
    --------
    >>> import numpy as np
    >>> v, u = trust_region_max(np.diag([2.0, -1.0]), np.zeros(2), 0.5)
    >>> round(v, 12), np.round(np.abs(u), 12).tolist()
    (0.25, [0.5, 0.0])
    """
    Q = np.asarray(Q, dtype=float)
    g = as_point(g, "g")
    if Q.shape != (g.size, g.size):
        raise ValueError(f"Q must have shape ({g.size}, {g.size}), got {Q.shape}")
    if not np.all(np.isfinite(Q)):
        raise ValueError("Q must be finite")
    r = as_nonneg(r, "r")
    lam, V = np.linalg.eigh(0.5 * (Q + Q.T))
    val, ut = _trs_max(lam, V.T @ g, float(r))
    return val, V @ ut


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
        Q = np.array(Q, dtype=float)
        if Q.ndim != 2 or Q.shape[0] != Q.shape[1]:
            raise ValueError(f"Q must be a square 2-D array, got shape {Q.shape}")
        if not np.all(np.isfinite(Q)):
            raise ValueError("Q must be finite")
        n = Q.shape[0]
        self.Q = 0.5 * (Q + Q.T)
        self.b = np.zeros(n) if b is None else as_point(b, "b", n=n)
        c = float(c)
        if not np.isfinite(c):
            raise ValueError("c must be finite")
        self.c = c
        self.n = n
        self._lam, self._V = np.linalg.eigh(self.Q)

    def __call__(self, y):
        y = np.asarray(y, dtype=float)
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

    def _sides(self, x, r):
        gt = self._V.T @ self.grad(x)
        up, uu = _trs_max(self._lam, gt, r)
        dn, ud = _trs_max(-self._lam[::-1], -gt[::-1], r)
        ud = ud[::-1]
        return (up, self._V @ uu), (dn, self._V @ ud)

    def max_variation(self, x, r, side="both"):
        """Exact ``(value, argmax)`` of the maximal variation at ``x`` with radius ``r``.

        ``side="up"`` gives ``sup q(y) - q(x)``, ``"down"`` gives ``sup q(x) - q(y)``.
        """
        x = as_point(x, "x", n=self.n)
        r = as_nonneg(r, "radius")
        if np.ndim(r):
            raise ValueError("radius must be a scalar here; use flatlib.max_variation for profiles")
        (up, uu), (dn, ud) = self._sides(x, float(r))
        if side == "up":
            return max(up, 0.0), x + uu
        if side == "down":
            return max(dn, 0.0), x + ud
        if side != "both":
            raise ValueError(f"side must be 'both', 'up' or 'down', got {side!r}")
        return (max(up, 0.0), x + uu) if up >= dn else (max(dn, 0.0), x + ud)

    def level_distance(self, x, d, side="both"):
        r"""Exact ``(distance, nearest)``: :math:`\inf\{r: q^\circ(x,r)\ge d\}` by bisection
        on the exact profile (the bisection keeps ``q°(lo) < d <= q°(hi)``, so it converges
        to the infimum); ``(inf, None)`` when the level set is empty."""
        x = as_point(x, "x", n=self.n)
        d = as_nonneg(d, "delta", strictly_positive=True)
        if np.ndim(d):
            raise ValueError("delta must be a scalar here; use flatlib.level_distance for profiles")
        d = float(d)
        g = self.grad(x)
        if not np.any(self.Q) and not np.any(g):
            return np.inf, None
        prof = lambda r: self.max_variation(x, r, side=side)[0]
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
        return hi, self.max_variation(x, hi, side=side)[1]

    def __repr__(self):
        return f"Quadratic(n={self.n})"
