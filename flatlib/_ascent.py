"""Batched spectral projected gradient ascent on a ball (internal).

All starting points are iterated together: one call of the (possibly
vectorized) function per iteration for the whole batch, each start with its
own Barzilai–Borwein step, nonmonotone Armijo search and stopping test
(Birgin, Martínez & Raydan, SIAM J. Optim. 2000). Starts drop out of the batch
as they converge.
"""
from __future__ import annotations

import numpy as np

from ._validate import _short, check_callable, real_scalar


class BatchFunction:
    """``F(Y) -> (k,)`` for ``Y`` of shape ``(k, n)``; checks and counts.

    With ``vectorized=True`` the user's ``f`` is called once on the whole
    batch and must return shape ``(k,)``; otherwise it is called row by row and
    must return a real scalar each time.
    """

    def __init__(self, f, n, vectorized=False, name="f"):
        self.f = check_callable(f, name)
        self.n = n
        self.vectorized = vectorized
        self.name = name
        self.ncalls = 0  # points evaluated

    def __call__(self, Y):
        k = Y.shape[0]
        self.ncalls += k
        if self.vectorized:
            v = self.f(Y)
            try:
                v = np.asarray(v, dtype=float)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{self.name} must return a float array of shape ({k},)") from exc
            if v.shape != (k,):
                if v.size == k:
                    v = v.reshape(k)
                else:
                    raise TypeError(f"{self.name} (vectorized) must return shape ({k},), got {v.shape}")
        else:
            v = np.array([real_scalar(self.f(y), self.name) for y in Y])
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{self.name} returned {v[i]} at the point {_short(Y[i])}")
        return v


class BatchGradient:
    """``G(Y) -> (k, n)``: the user's gradient (checked) or central differences."""

    def __init__(self, grad, F, n, vectorized=False, name="grad"):
        self.grad = None if grad is None else check_callable(grad, name)
        self.F = F
        self.n = n
        self.vectorized = vectorized
        self.name = name
        self.ncalls = 0

    def _check(self, g, k):
        g = np.asarray(g, dtype=float)
        if g.shape != (k, self.n):
            if g.size == k * self.n:
                g = g.reshape(k, self.n)
            else:
                raise ValueError(f"{self.name} must return an array of shape ({self.n},) per point, "
                                 f"got {np.shape(g)}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name} returned non-finite values")
        return g

    def __call__(self, Y):
        k = Y.shape[0]
        if self.grad is None:
            return self._fd(Y)
        self.ncalls += k
        if self.vectorized:
            return self._check(self.grad(Y), k)
        return self._check(np.array([np.asarray(self.grad(y), dtype=float).reshape(-1) for y in Y]), k)

    def _fd(self, Y):
        k, n = Y.shape
        h = 6e-6 * np.maximum(1.0, np.abs(Y))  # ~ eps^(1/3): O(h²) truncation, O(eps/h) rounding
        P = np.repeat(Y[:, None, :], 2 * n, axis=1)  # (k, 2n, n)
        idx = np.arange(n)
        P[:, idx, idx] += h
        P[:, n + idx, idx] -= h
        v = self.F(P.reshape(k * 2 * n, n)).reshape(k, 2 * n)
        return (v[:, :n] - v[:, n:]) / (2.0 * h)


def _rownorm(U):
    return np.sqrt(np.einsum("ij,ij->i", U, U))


def project_rows(U, r):
    """Project each row of ``U`` on the closed ball of radius ``r``."""
    nu = _rownorm(U)
    over = nu > r
    if over.any():
        U = U.copy()
        U[over] *= (r / nu[over])[:, None]
    return U


def make_feasible(x, u, r):
    """Shrink ``u`` (by a few ulps at most) until the floating-point point ``x + u`` itself
    lies in the closed ball of radius ``r`` around ``x``: rounding of the sum can push a
    point of the sphere one ulp out. Returns ``(u, changed)``."""
    changed = False
    for i in range(64):
        if np.linalg.norm((x + u) - x) <= r:
            break
        u = u * (1.0 - min(4e-16 * 2.0 ** i, 0.5))
        changed = True
    return u, changed


def spg_ball_max_signed(F, G, fx, sign, U0, r, x, tol=1e-10, max_iter=500, memory=8):
    """Row ``j`` maximizes ``sign[j] * (F(x + u) - fx)`` over ``||u|| <= r`` from ``U0[j]``."""
    def phi(U, idx):
        return sign[idx] * (F(x + U) - fx)

    def dphi(U, idx):
        return sign[idx, None] * G(x + U)

    return spg_ball_max(phi, dphi, U0, r, x, tol, max_iter, memory)


def _tangent(G, U, r):
    """Riemannian gradient on the sphere for rows on the boundary whose descent direction
    -G points outward (the constraint is active there); G itself elsewhere."""
    nrm2 = np.einsum("ij,ij->i", U, U)
    radial = np.einsum("ij,ij->i", G, U)
    on = (nrm2 >= (r * (1 - 1e-10)) ** 2) & (radial < 0)
    T = G.copy()
    T[on] -= (radial[on] / nrm2[on])[:, None] * U[on]
    return T, on


def _to_sphere(V, r):
    nv = np.maximum(_rownorm(V), 1e-300)
    return V * (r / nv)[:, None]


def spg_ball_max(phi, dphi, U0, r, x, tol=1e-10, max_iter=500, memory=8):
    """Maximize ``phi`` over ``||u|| <= r`` from every row of ``U0`` (batched SPG).

    ``phi(U, rows) -> (k,)``, ``dphi(U, rows) -> (k, n)``, where ``rows`` are the indices
    of the starts the batch ``U`` belongs to. Returns ``(U, values, iterations)``.

    Interior rows take projected Barzilai–Borwein steps. Rows on the sphere whose
    ascent direction points outward (active constraint) move along the sphere
    instead: a Riemannian gradient step ``u -> r (u - a g_T)/||u - a g_T||`` with the
    Barzilai–Borwein step computed from tangent gradients. (Projecting the plain step
    on the ball would cap the effective step at ``r²/|g.u|``, a power iteration, slow
    when the top of the spectrum is clustered.)
    Stops a start when its step is below ``sqrt(tol) r`` (the value error is then second
    order, ~ tol r² curvature) or when its value stalls.
    """
    U = project_rows(np.asarray(U0, dtype=float), r)
    k = U.shape[0]
    F = -phi(U, np.arange(k))
    G = -dphi(U, np.arange(k))
    T, ON = _tangent(G, U, r)  # tangent gradient and active-constraint flag, kept per row
    alpha = r / np.maximum(_rownorm(G), 1e-150)
    hist = np.repeat(F[:, None], memory, axis=1)
    active = _rownorm(G) > 0
    stop_step = np.sqrt(tol) * r
    total = 0
    # The arithmetic runs on all k rows (cheap); only the function and gradient are
    # evaluated on the active rows, so converged starts cost no evaluations.
    for it in range(max_iter):
        if not active.any():
            break
        # full step: Riemannian step retracted on the sphere for rows with an active
        # constraint, projected gradient step for the others (alpha capped at ~r / |g|,
        # since alpha may come from a tangent gradient)
        Dir = np.where(ON[:, None], T, G)
        al = np.where(ON, alpha, np.minimum(alpha, 1e3 * r / np.maximum(_rownorm(G), 1e-300)))
        V = U - al[:, None] * Dir
        nv = np.maximum(_rownorm(V), 1e-300)
        Ut = V * np.where(ON, r / nv, np.minimum(1.0, r / nv))[:, None]
        D = Ut - U
        dn = _rownorm(D)
        gd = np.where(ON, -al * np.einsum("ij,ij->i", T, T), np.einsum("ij,ij->i", G, D))
        active &= ~((dn <= stop_step) | (gd >= 0))
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        total += a.size
        fref = hist.max(axis=1)
        Ft = np.full(k, np.inf)
        Ft[a] = -phi(Ut[a], a)
        ok = active & (Ft <= fref + 1e-4 * gd)
        Un = np.where(ok[:, None], Ut, U)
        Fn = np.where(ok, Ft, F)
        bad = np.flatnonzero(active & ~ok)
        if bad.size:  # backtracking (safeguarded quadratic interpolation) on the failures
            lam = np.ones(bad.size)
            Fb = Ft[bad]
            for _ in range(60):
                denom = 2.0 * (Fb - F[bad] - lam * gd[bad])
                lt = np.where(denom > 0, -gd[bad] * lam ** 2 / np.where(denom > 0, denom, 1.0), 0.5 * lam)
                lam = np.minimum(np.maximum(lt, 0.1 * lam), 0.5 * lam)
                tiny = lam * dn[bad] <= 1e-16 * r
                if tiny.any():  # no progress possible: the start has converged
                    active[bad[tiny]] = False
                    bad, lam = bad[~tiny], lam[~tiny]
                    if bad.size == 0:
                        break
                on_b = ON[bad]
                Ub = np.where(on_b[:, None],
                              _to_sphere(U[bad] - (lam * al[bad])[:, None] * T[bad], r),
                              project_rows(U[bad] + lam[:, None] * D[bad], r))
                Fb = -phi(Ub, bad)
                okb = Fb <= fref[bad] + 1e-4 * lam * gd[bad]
                Un[bad[okb]], Fn[bad[okb]] = Ub[okb], Fb[okb]
                bad, lam, Fb = bad[~okb], lam[~okb], Fb[~okb]
                if bad.size == 0:
                    break
            if bad.size:
                active[bad] = False
        m = np.flatnonzero(active)
        if m.size == 0:
            break
        Gm = -dphi(Un[m], m)
        Tm, ONm = _tangent(Gm, Un[m], r)
        S = Un[m] - U[m]
        sy = np.einsum("ij,ij->i", S, Tm - T[m])
        ss = np.einsum("ij,ij->i", S, S)
        gnn = np.maximum(_rownorm(Tm), 1e-300)
        bb = np.where(sy > 0, ss / np.where(sy > 0, sy, 1.0), r / gnn)
        # a step longer than ~r is useless in a ball of radius r: cap it (avoids overflow)
        alpha[m] = np.clip(bb, 1e-14 * r / gnn, 1e3 * r / gnn)
        small = (np.abs(Fn[m] - F[m]) <= tol * np.maximum(np.abs(Fn[m]), 1e-300)) & (np.sqrt(ss) <= stop_step)
        # the next step would be at most alpha |direction| long (projection and retraction only
        # shorten it): if that is below the stopping step, the start has converged here
        small |= alpha[m] * _rownorm(np.where(ONm[:, None], Tm, Gm)) <= stop_step
        U[m], F[m], G[m], T[m], ON[m] = Un[m], Fn[m], Gm, Tm, ONm
        hist[m, it % memory] = Fn[m]  # circular buffer of the last `memory` values
        active[m[small]] = False
    return U, -F, total
