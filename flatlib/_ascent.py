"""Batched spectral projected gradient ascent on a ball (internal).

All starting points are iterated together: one call of the (possibly
vectorized) function per iteration for the whole batch, each start with its
own Barzilai–Borwein step, nonmonotone Armijo search and stopping test
(Birgin, Martínez & Raydan, SIAM J. Optim. 2000). Starts drop out of the batch
as they converge.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import _short, check_callable, real_scalar, returned_floats


class BudgetExhausted(Exception):
    """Raised (internally) before an evaluation that would take the evaluations of a
    :class:`Budget` past its limit; the solvers catch it and stop with what they have."""


class Budget:
    """A shared limit on the evaluations of a :class:`BatchFunction` and a :class:`BatchGradient`
    (their ``ncalls`` together); ``limit=None`` is no limit."""

    def __init__(self, limit=None):
        self.limit = limit
        self.counters = []

    def spent(self):
        return sum(c.ncalls for c in self.counters)

    def room(self):
        return np.inf if self.limit is None else self.limit - self.spent()

    def charge(self, k):
        if self.limit is not None and self.spent() + k > self.limit:
            raise BudgetExhausted


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
        self.budget = None  # a shared Budget, checked before each evaluation when set

    def __call__(self, Y):
        k = Y.shape[0]
        if self.budget is not None:
            self.budget.charge(k)
        self.ncalls += k
        if self.vectorized:
            v = self.f(Y)
            if type(v) is not np.ndarray or v.dtype != np.float64 or v.shape != (k,):
                v = returned_floats(v, self.name)
                if v.shape != (k,):
                    if v.size == k:
                        v = v.reshape(k)
                    else:
                        raise TypeError(f"{self.name} (vectorized) must return shape ({k},), got {v.shape}")
        else:
            v = np.array([real_scalar(self.f(y), self.name) for y in Y])
        if np.count_nonzero(np.isfinite(v)) != k:
            i = int(np.flatnonzero(~np.isfinite(v))[0])
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
        self.budget = None  # a shared Budget, checked before each evaluation when set
        self.track_norm = False  # record the largest norm of the user's gradient (max_norm, at)
        self.max_norm, self.max_norm_at = 0.0, None

    def _check(self, g, k):
        if type(g) is not np.ndarray or g.dtype != np.float64 or g.shape != (k, self.n):
            g = returned_floats(g, self.name)
            if g.shape != (k, self.n):
                if g.size == k * self.n:
                    g = g.reshape(k, self.n)
                else:
                    raise ValueError(f"{self.name} must return an array of shape ({self.n},) per point, "
                                     f"got {np.shape(g)}")
        if np.count_nonzero(np.isfinite(g)) != g.size:
            raise ValueError(f"{self.name} returned non-finite values")
        return g

    def __call__(self, Y):
        k = Y.shape[0]
        if self.grad is None:
            return self._fd(Y)
        if self.budget is not None:
            self.budget.charge(k)
        self.ncalls += k
        if self.vectorized:
            g = self._check(self.grad(Y), k)
        else:
            rows = [returned_floats(self.grad(y), self.name).reshape(-1) for y in Y]
            if any(r.size != self.n for r in rows):
                bad = next(r.size for r in rows if r.size != self.n)
                raise ValueError(f"{self.name} must return an array of shape ({self.n},), got {bad} values")
            g = self._check(np.array(rows), k)
        if self.track_norm:
            nrm = np.sqrt(np.einsum("ij,ij->i", g, g))
            j = int(np.argmax(nrm))
            if nrm[j] > self.max_norm:
                self.max_norm, self.max_norm_at = float(nrm[j]), Y[j].copy()
        return g

    def _fd(self, Y):
        k, n = Y.shape
        h = 6e-6 * np.maximum(1.0, np.abs(Y))  # ~ eps^(1/3): O(h²) truncation, O(eps/h) rounding
        P = np.repeat(Y[:, None, :], 2 * n, axis=1)  # (k, 2n, n)
        idx = np.arange(n)
        P[:, idx, idx] += h
        P[:, n + idx, idx] -= h
        v = self.F(P.reshape(k * 2 * n, n)).reshape(k, 2 * n)
        return (v[:, :n] - v[:, n:]) / (2.0 * h)


if hasattr(np, "vecdot"):  # numpy >= 2: a ufunc, several times faster than einsum on small batches
    _rowdot = np.vecdot
else:  # pragma: no cover
    def _rowdot(A, B):
        return np.einsum("ij,ij->i", A, B)


def _rownorm(U):
    return np.sqrt(_rowdot(U, U))


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
        d = (x + u) - x
        with np.errstate(over="ignore", under="ignore"):
            nd = np.linalg.norm(d)
        if not 1e-150 < nd < 1e150 and np.any(d):  # the squares over/underflow: scale first,
            m = np.max(np.abs(d))                   # and keep 4 ulps from the sphere (another
            nd = m * np.linalg.norm(d / m) / (1 - 4e-16)  # norm algorithm may differ by ulps)
        if nd <= r:
            break
        u = u * (1.0 - min(4e-16 * 2.0 ** i, 0.5))
        changed = True
    return u, changed


def spg_ball_max_signed(F, G, fx, sign, U0, r, x, tol=1e-10, max_iter=500, memory=8, info=None):
    """Row ``j`` maximizes ``sign[j] * (F(x + u) - fx)`` over ``||u|| <= r`` from ``U0[j]``.
    ``info`` (a dict, optional) receives ``"capped"`` (starts stopped by ``max_iter``) and
    ``"budget"`` (True if an evaluation budget stopped the search, see :class:`Budget`)."""
    neg = -np.asarray(sign, dtype=float)
    cache = [None, None, None]  # rows last seen, neg[rows], neg[rows][:, None]

    def w(rows):
        if cache[0] is not rows:  # rows change only when a start stops
            cache[0], cache[1] = rows, neg[rows]
            cache[2] = cache[1][:, None]
        return cache

    def fun(U, rows):
        return w(rows)[1] * (F(x + U) - fx)

    def grad(U, rows):
        return w(rows)[2] * G(x + U)

    U, Fv, total = _spg_min(fun, grad, U0, r, tol, max_iter, memory, info)
    return U, -Fv, total


def spg_ball_max(phi, dphi, U0, r, x, tol=1e-10, max_iter=500, memory=8):
    """Maximize ``phi`` over ``||u|| <= r`` from every row of ``U0`` (batched SPG).

    ``phi(U, rows) -> (k,)``, ``dphi(U, rows) -> (k, n)``, where ``rows`` are the indices
    of the starts the batch ``U`` belongs to. Returns ``(U, values, iterations)``.
    See :func:`_spg_min` for the method.
    """
    U, Fv, total = _spg_min(lambda U, rows: -phi(U, rows), lambda U, rows: -dphi(U, rows),
                            U0, r, tol, max_iter, memory)
    return U, -Fv, total


def _tangent(G, U, r):
    """Riemannian gradient on the sphere for rows on the boundary whose descent direction
    -G points outward (the constraint is active there); G itself elsewhere (bit for bit).
    Returns ``(T, on, |T|²)``."""
    nrm2 = _rowdot(U, U)
    radial = _rowdot(G, U)
    on = (nrm2 >= (r * (1 - 1e-10)) ** 2) & (radial < 0)
    if np.count_nonzero(on):
        c = np.divide(radial, nrm2, out=np.zeros_like(radial), where=on)
        T = G - c[:, None] * U
    else:
        T = G
    return T, on, _rowdot(T, T)


def _to_sphere(V, r):
    nv = np.maximum(_rownorm(V), 1e-300)
    return V * (r / nv)[:, None]


def _spg_min(fun, grad, U0, r, tol=1e-10, max_iter=500, memory=8, info=None):
    """Minimize ``fun`` over ``||u|| <= r`` from every row of ``U0`` (batched SPG).

    ``fun(U, rows) -> (k,)``, ``grad(U, rows) -> (k, n)``, where ``rows`` are the indices
    of the starts the batch ``U`` belongs to. Returns ``(U, values, iterations)``.

    Interior rows take projected Barzilai–Borwein steps with a nonmonotone Armijo search
    (Birgin, Martínez & Raydan). Rows on the sphere whose descent direction points outward
    (active constraint) move along the sphere instead: a Riemannian gradient step
    ``u -> r (u - a g_T)/||u - a g_T||`` with the Barzilai–Borwein step computed from tangent
    gradients. (Projecting the plain step on the ball would cap the effective step at
    ``r²/|g.u|``, a power iteration, slow when the top of the spectrum is clustered.)
    Stops a start when its step is below ``sqrt(tol) r`` (the value error is then second
    order, ~ tol r² curvature) or when its value stalls.

    Implementation: the state arrays hold only the starts still running (compacted when
    a start stops, which happens a few times per call), so an iteration is a fixed, short
    sequence of whole-array operations and two calls of the function (trial values, then
    gradients at the accepted points): for small batches the numpy overhead per operation,
    not the arithmetic, is the cost.

    An evaluation budget (:class:`BudgetExhausted` raised by ``fun`` or ``grad``) stops every
    start at its last accepted point (value ``+inf`` for starts never evaluated); ``info``
    (a dict) then gets ``"budget": True``, and ``"capped"`` counts the starts still running
    after ``max_iter`` iterations.
    """
    if info is None:
        info = {}
    info.setdefault("capped", 0)
    info.setdefault("budget", False)
    U = project_rows(np.array(U0, dtype=float), r)
    k = U.shape[0]
    rows = np.arange(k)
    out_U = U.copy()
    try:
        F = fun(U, rows)
    except BudgetExhausted:
        info["budget"] = True
        return U, np.full(k, np.inf), 0
    try:
        G = grad(U, rows)
    except BudgetExhausted:
        info["budget"] = True
        return U, F, 0
    out_F = F.copy()
    T, ON, TT = _tangent(G, U, r)  # tangent gradient, active-constraint flag, |T|² per row
    gn = _rownorm(G)
    alpha = r / np.maximum(gn, 1e-150)
    hist = np.repeat(F[:, None], memory, axis=1)
    stop_step = math.sqrt(tol) * r
    stop2 = stop_step * stop_step
    total = 0

    def keep_only(keep):
        """Retire the rows not in ``keep`` (their current point and value are final);
        returns the indices of the kept rows. (G is not kept: off the active constraint it
        equals T, and on it only T is used.)"""
        nonlocal U, F, T, ON, TT, alpha, hist, rows
        gone = np.flatnonzero(~keep)
        out_U[rows[gone]] = U[gone]
        out_F[rows[gone]] = F[gone]
        idx = np.flatnonzero(keep)
        U, F, T, ON, TT = U[idx], F[idx], T[idx], ON[idx], TT[idx]
        alpha, hist, rows = alpha[idx], hist[idx], rows[idx]
        return idx

    live = gn > 0
    if np.count_nonzero(live) != k:
        keep_only(live)
    # Rows of T equal those of G off the active constraint, and alpha <= 1e3 r / |T| always,
    # so the direction is T and the step alpha for every row (and G.D = T.D off the constraint).
    try:
        for it in range(max_iter):
            if rows.size == 0:
                break
            # full step: Riemannian step retracted on the sphere for rows with an active
            # constraint, projected gradient step for the others
            V = U - alpha[:, None] * T
            sc = r / np.maximum(np.sqrt(_rowdot(V, V)), 1e-300)
            Ut = V * np.where(ON, sc, np.minimum(sc, 1.0))[:, None]
            D = Ut - U
            dd = _rowdot(D, D)
            dn = np.sqrt(dd)
            gd = np.where(ON, -alpha * TT, _rowdot(T, D))
            keep = (dn > stop_step) & (gd < 0)
            nk = np.count_nonzero(keep)
            if nk != rows.size:
                idx = keep_only(keep)
                if nk == 0:
                    break
                Ut, D, dd, dn, gd = Ut[idx], D[idx], dd[idx], dn[idx], gd[idx]
            total += nk
            fref = np.maximum.reduce(hist, axis=1)
            Ft = fun(Ut, rows)
            ok = Ft <= fref + 1e-4 * gd
            if np.count_nonzero(ok) == nk:
                Un, Fn, S, ss = Ut, Ft, D, dd
            else:
                Un = np.where(ok[:, None], Ut, U)
                Fn = np.where(ok, Ft, F)
                bad = np.flatnonzero(~ok)
                # backtracking (safeguarded quadratic interpolation) on the failures
                lam = np.ones(bad.size)
                Fb = Ft[bad]
                for _ in range(60):
                    denom = 2.0 * (Fb - F[bad] - lam * gd[bad])
                    lt = np.where(denom > 0, -gd[bad] * lam ** 2 / np.where(denom > 0, denom, 1.0), 0.5 * lam)
                    lam = np.minimum(np.maximum(lt, 0.1 * lam), 0.5 * lam)
                    tiny = lam * dn[bad] <= 1e-16 * r
                    if tiny.any():  # no progress possible: the start has converged
                        bad, lam, Fb = bad[~tiny], lam[~tiny], Fb[~tiny]
                        if bad.size == 0:
                            break
                    on_b = ON[bad]
                    Ub = np.where(on_b[:, None],
                                  _to_sphere(U[bad] - (lam * alpha[bad])[:, None] * T[bad], r),
                                  project_rows(U[bad] + lam[:, None] * D[bad], r))
                    Fb = fun(Ub, rows[bad])
                    okb = Fb <= fref[bad] + 1e-4 * lam * gd[bad]
                    Un[bad[okb]], Fn[bad[okb]] = Ub[okb], Fb[okb]
                    ok[bad[okb]] = True
                    bad, lam, Fb = bad[~okb], lam[~okb], Fb[~okb]
                    if bad.size == 0:
                        break
                if not ok.all():  # no acceptable step: the start stops at its current point
                    keep_only(ok)
                    if rows.size == 0:
                        break
                    Un, Fn = Un[ok], Fn[ok]
                S = Un - U
                ss = _rowdot(S, S)
            Gn = grad(Un, rows)
            Tn, ONn, TTn = _tangent(Gn, Un, r)
            sy = _rowdot(S, Tn - T)
            tn = np.sqrt(TTn)
            rg = r / np.maximum(tn, 1e-300)
            # Barzilai-Borwein step ss/sy (r/|g_T| when the curvature sy is not positive), capped:
            # a step longer than ~r is useless in a ball of radius r (and would overflow)
            bb = np.divide(ss, sy, out=rg.copy(), where=sy > 0)
            alpha = np.minimum(np.maximum(bb, 1e-14 * rg), 1e3 * rg)
            # the next step would be at most alpha |direction| long (projection and retraction only
            # shorten it): if that is below the stopping step, the start has converged here
            small = alpha * tn <= stop_step
            tiny = ss <= stop2
            if np.count_nonzero(tiny):  # the value stalls after a tiny step
                small |= tiny & (np.abs(Fn - F) <= tol * np.maximum(np.abs(Fn), 1e-300))
            U, F, T, ON, TT = Un, Fn, Tn, ONn, TTn
            hist[:, it % memory] = Fn  # circular buffer of the last `memory` values
            if np.count_nonzero(small):
                keep_only(~small)
        else:
            info["capped"] = int(rows.size)
    except BudgetExhausted:  # every start keeps its last accepted point (consistent U, F)
        info["budget"] = True
    if rows.size:
        out_U[rows] = U
        out_F[rows] = F
    return out_U, out_F, total
