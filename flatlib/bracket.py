r"""Closing the bracket of the maximal variation: Lipschitz branch and bound on the ball (internal).

For the sides :math:`s \in S \subset \{+1, -1\}` we bound

.. math:: \varphi(u) = \max_{s \in S} s\,\big(f(x+u) - f(x)\big), \qquad \|u\| \le r,

whose supremum is :math:`f^\circ(x, r)` for :math:`S = \{\pm1\}` and one side of it otherwise.

**Cells.** Boxes :math:`Q = c + [-w, w]` (``w`` a vector of half-widths) covering the ball
:math:`B = B(0, r)`; a box with :math:`\operatorname{dist}(0, Q) > r` is discarded. Each box is
evaluated at :math:`p = P(c)`, the projection of its centre on the ball (on the ball of radius
:math:`r' = \sqrt{r^2 - t^2}` when finite differences of step ``t`` are used, so that their
stencil stays in :math:`B`). Projection on a convex set is nonexpansive and fixes the points of
the set, so for every :math:`y \in Q \cap B`,
:math:`\|y - p\| \le \|y - P'(y)\| + \|P'(y) - P'(c)\| \le (r - r') + \|y - c\| \le (r - r') + \|w\|`;
call this radius :math:`\rho` (a few ulps are added for the rounding of ``x + u``).

**Bounds on a cell**, for side ``s`` (the sup of :math:`s(f(y)-f(x))` over :math:`Q\cap B`):

* ``f`` is ``L``-Lipschitz on :math:`B`: :math:`s(f(p) - f(x)) + L\rho`.
* :math:`\|\nabla^2 f\|_2 \le H` on :math:`B` (Taylor along the segment :math:`[p, y] \subset B`):
  :math:`s(f(p)-f(x)) + \ell + E\rho + \tfrac12 H\rho^2`, where ``g`` is the computed gradient at
  ``p``, ``E`` a bound on its error, and :math:`\ell` bounds :math:`s\,g\cdot(y-p)` on
  :math:`Q \cap B` by the smallest of :math:`\sum_i |g_i| w_i + s\,g\cdot(c - p)` (the box),
  :math:`\|g\| r - s\,g\cdot p` (the ball: this one vanishes at a maximizer on the sphere,
  where ``g`` is normal to it) and :math:`\|g\|\rho`.

Both are used when both constants are given. **Finite differences** (``hess_bound`` without
``grad``): one-sided differences with step ``t`` along :math:`\sigma_i e_i`,
:math:`\sigma_i = -\operatorname{sign}(p_i)` (towards the centre: then
:math:`\|p + t\sigma_i e_i\|^2 = \|p\|^2 - 2t|p_i| + t^2 \le r'^2 + t^2 = r^2`, the stencil stays in
:math:`B`). Taylor's formula along the segment :math:`[p, p + t\sigma_i e_i] \subset B`, with
:math:`|e_i^\top \nabla^2 f\, e_i| \le H`, gives
:math:`f(p + t\sigma_i e_i) = f(p) + t\sigma_i\,\partial_i f(p) + R`, :math:`|R| \le \tfrac12 H t^2`, so
:math:`\big|\tfrac{f(p+t\sigma_i e_i) - f(p)}{t\sigma_i} - \partial_i f(p)\big| \le \tfrac12 H t`
and :math:`\|\text{error}\| \le \tfrac12 H t\sqrt n`, with the step actually taken in floating
point in place of ``t``, plus the rounding of the two values divided by the step. Central
differences are more accurate for smooth ``f`` but, with only a bound on the Hessian, their
proven error bound is the same :math:`\tfrac12 H t` per component, for twice the evaluations.
The step :math:`t = \sqrt{4\eta s/H}` balances the two error terms.

**The search.** The upper end of the bracket is the largest cell bound (never more than the
bound of the whole ball, :math:`Lr` or :math:`(\|\nabla f(x)\| + E)r + \tfrac12 Hr^2`); the lower
end is the best value attained, at cell points and at the end points of the local ascent
(spectral projected gradient) started from the best new cells of each round. Each round
trisects, along its longest edge, every cell whose bound exceeds ``value + tol`` (highest
bounds first, in one batch of evaluations; the middle third keeps its parent's point, as in
DIRECT); cells whose bound is at most ``value`` are dropped. It stops when
``upper - value <= max(rtol * value, atol)`` or when the evaluation budget is spent.

**Cost.** To separate the maximum from the rest at relative accuracy ``ε`` the cells must shrink
to half-diagonals ``~ ε f°/L`` near the maximizers (``~ (ε f°/H)^{1/2}`` with a Hessian bound,
and much less on the sphere, where the ball term vanishes), and to ``~ (f° - f(y))/L`` elsewhere,
so the number of cells grows like :math:`(L r / (\varepsilon f^\circ))^n` in the worst case:
exponential in the dimension. In ``n <= 3`` this takes well under a second; in high dimension
the budget is reached and the bracket returned is still valid, only wider.

Assumptions, stated once: the constants hold on the whole closed ball, and (for finite
differences only, which divide rounding errors by the step) every value of ``f`` is accurate to
:math:`\eta(|f| + s)` with :math:`\eta = 64\varepsilon` and :math:`s = \max(1, |f(x)|)`: relative
accuracy for large values, an absolute floor for values near 0 (e.g. :math:`\tfrac12(xy-1)^2` near
its minimum, computed from terms of order 1). Functions computed with heavier cancellation need
``grad``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._ascent import BudgetExhausted, make_feasible, spg_ball_max_signed

_EPS = np.finfo(float).eps
_ETA = 64 * _EPS  # assumed accuracy of one value of f, relative to |f| + s (finite differences only)


class InvalidConstant(ValueError):
    """A value or gradient attained in the ball contradicts the constant (``lipschitz`` or
    ``hess_bound``) that the bracket rests on: the constant is false, and no bound from it holds."""


@dataclass
class BracketOutcome:
    """Outcome of :func:`close_bracket` for one radius."""

    best: dict       # side -> (value, u): best attained value of s (f(x+u) - f(x)), ||u|| <= r
    upper: float     # certified upper bound of max_s sup s (f - f(x)) over the ball
    status: str      # "converged" | "budget"
    nfev: int        # f (and user-gradient) evaluations spent here
    rounds: int
    cells: int       # cells alive at the end


def fd_step(H, fscale, xscale, cap):
    """Step of the finite differences: ``sqrt(4 η s / H)`` balances the truncation ``½ H t``
    against the rounding ``2 η s / t`` (``s`` the noise scale of ``f``); at least
    ``1e-9 max(1, |x|)`` (so that the step is resolved in ``x + t e_i``), at most ``cap``."""
    t = np.sqrt(4.0 * _ETA * fscale / H) if H > 0 else cap
    return float(min(cap, max(t, 1e-9 * max(xscale, 1.0))))


def fd_gradient(F, x, P, FY, t, H, fscale, scale=1.0):
    """One-sided differences at the points ``x + P[k]`` (values ``FY``), each step pointing
    towards the centre (``-sign(p_i) t e_i``), so that the stencil of a point of the ball of
    radius ``sqrt(r² - t²)`` stays in the ball of radius ``r``. Returns ``(G, E)`` where
    ``E[k]`` bounds ``||G[k] - ∇f(x + P[k])||`` given ``||∇²f||₂ <= H`` on the segments:
    ``½ H |d_i|`` per component (module docstring), ``d_i`` the step actually taken in floating
    point, plus the rounding ``η (|f(y + d_i e_i)| + |f(y)| + 2 s) / |d_i|`` (values assumed
    accurate to ``η (|f| + s)``, ``s = fscale``). Costs ``n`` evaluations per point.

    ``scale`` (a power of 2): ``P``, ``t`` and the results are in units of ``scale`` (the points
    evaluated are ``x + scale P``, the gradient is that of ``z -> f(x + scale z)``, ``H`` its
    Hessian bound); ``scale = 1`` is the plain computation, bit for bit."""
    k, n = P.shape
    Y = x + scale * P
    idx = np.arange(n)
    step = np.where(P > 0, -t, t)
    S = np.repeat(Y[:, None, :], n, axis=1)
    S[:, idx, idx] += scale * step
    d = (S[:, idx, idx] - Y) / scale  # the steps actually taken (exact by Sterbenz when t << |y_i|)
    v = F(S.reshape(k * n, n)).reshape(k, n)
    ad = np.abs(d)
    ok = ad > 0  # a step below the resolution of y carries no information: infinite error
    dd = np.where(ok, d, 1.0)
    G = np.where(ok, (v - FY[:, None]) / dd, 0.0)
    trunc = 0.5 * H * ad * (1.0 + 1e-12)
    rnd = _ETA * (np.abs(v) + np.abs(FY)[:, None] + 2.0 * fscale) / np.where(ok, ad, 1.0) \
        + 4.0 * _EPS * np.abs(G)
    err = np.where(ok, trunc + rnd, np.inf)
    E = np.sqrt(np.einsum("ij,ij->i", err, err))
    return G, E


def noise_scale(fx):
    """``s`` in the noise model of ``f``: values accurate to ``η (|f| + s)``, ``s = max(1, |f(x)|)``
    (an absolute floor: values near 0 computed from terms of order 1, as in ``½(xy - 1)²``
    near its minimum, carry absolute, not relative, rounding errors)."""
    return max(1.0, abs(fx))


def centre_gradient(F, Gr, x, fx, r, H, user_grad, scale=1.0, fscale=None):
    """Gradient at the centre and a bound on its error: ``(g, E)``. With the user's gradient
    ``E = 0``; otherwise one-sided differences whose stencil stays in the ball (step <= r).
    With ``scale``, ``r``, ``H`` and the result are in units of ``scale`` (see :func:`fd_gradient`);
    ``fscale``: the noise scale of the values (default :func:`noise_scale` of ``fx``)."""
    if user_grad:
        return scale * Gr(x[None, :])[0], 0.0
    s = noise_scale(fx) if fscale is None else float(fscale)
    t = fd_step(H, s, float(np.max(np.abs(x))) / scale, r)
    G, E = fd_gradient(F, x, np.zeros((1, x.size)), np.array([fx]), t, H, s, scale)
    return G[0], float(E[0])


def ball_bound(r, lipschitz, hess_bound, gnorm, gerr):
    """Bound of ``sup_B |f - f(x)|`` from the constants alone: ``L r`` and
    ``(||g|| + E) r + ½ H r²`` (Taylor at the centre); ``inf`` if neither applies."""
    b = np.inf
    if lipschitz is not None:
        b = min(b, float(lipschitz) * r)
    if hess_bound is not None and gnorm is not None:
        b = min(b, (gnorm + gerr) * r + 0.5 * float(hess_bound) * r * r)
    return b * (1.0 + 8 * _EPS) if np.isfinite(b) else b


def _feasible_rows(x, P, r, scale=1.0):
    """Shrink the rows of ``P`` by a few ulps where ``fl(x + scale p)`` leaves the closed ball
    (of radius ``r``, in units of ``scale``)."""
    for i in range(64):
        D = ((x + scale * P) - x) / scale
        out = np.einsum("ij,ij->i", D, D) > r * r
        if not out.any():
            break
        P = P.copy()
        P[out] *= 1.0 - min(4 * _EPS * 2.0 ** i, 0.5)
    return P


def close_bracket(F, Gr, x, fx, r, sides, *, lipschitz, hess_bound, user_grad, incumbent,
                  rtol, atol, max_evals, upper0, tol=1e-10, max_iter=500, polish=True, scale=1.0,
                  fscale=None):
    """Branch and bound for ``sup_{||u||<=r} max_{s in sides} s (f(x+u) - f(x))``.

    ``F``, ``Gr``: the batch function and gradient of :mod:`flatlib._ascent`; ``incumbent``:
    side -> (value, u) already attained (e.g. by the multistart ascent); ``upper0``: a bound
    already known (the ball bound). Returns a :class:`BracketOutcome`.

    ``scale`` (a power of 2, for radii whose squares would overflow or underflow): ``r``, the
    displacements ``u`` (incumbent and result) and the constants are in units of ``scale``
    (``lipschitz`` of ``z -> f(x + scale z)``, i.e. ``scale L``; ``hess_bound`` ``scale² H``);
    the points evaluated are ``x + scale u``. ``scale = 1`` is the plain computation, bit for bit.
    ``fscale``: the noise scale ``s`` of the values (default ``max(1, |f(x)|)``, see
    :func:`noise_scale`; pass it in the units of ``F`` when ``F`` returns rescaled values).

    Raises :class:`InvalidConstant` when the search contradicts a constant: a gradient longer
    than ``lipschitz`` (beyond its error bound), or a value above the bound of a cell that
    contains its point (the bound of its parent cell). Stops with status ``"budget"`` when
    ``max_evals`` evaluations are spent (also when a shared :class:`flatlib._ascent.Budget` runs out).
    """
    n = x.size
    L = None if lipschitz is None else float(lipschitz)
    H = None if hess_bound is None else float(hess_bound)
    use_grad = H is not None
    fd = use_grad and not user_grad
    slack = 64 * _EPS * (float(np.max(np.abs(x))) * np.sqrt(n) / scale + r)  # rounding of x + u, in u
    fscale = noise_scale(fx) if fscale is None else float(fscale)
    t = fd_step(H, fscale, float(np.max(np.abs(x))) / scale, 1e-3 * r) if fd else 0.0
    # cells are evaluated in B(x, sqrt(r² - t²)): their stencils (steps towards x) stay in B(x, r)
    shift = (r - np.sqrt(r * r - t * t)) + slack if fd else 0.0
    r_eval = r - shift
    spent0 = F.ncalls + Gr.ncalls
    best = {s: (float(v), np.array(u, dtype=float)) for s, (v, u) in incumbent.items()}
    sides = tuple(sides)
    sgn = np.array(sides, dtype=float)

    def value_now():
        return max(best[s][0] for s in sides)

    def spent():
        return F.ncalls + Gr.ncalls - spent0

    def points(C):
        """Evaluation points: the centres projected on B(0, r_eval), made feasible in floats."""
        nv = np.sqrt(np.einsum("ij,ij->i", C, C))
        P = C * np.minimum(1.0, r_eval / np.maximum(nv, 1e-300))[:, None]
        return _feasible_rows(x, P, r_eval, scale)

    def evaluate(C):
        P = points(C)
        Y = x + scale * P
        FP = F(Y)
        if fd:
            GP, E = fd_gradient(F, x, P, FP, t, H, fscale, scale)
        elif use_grad:
            GP, E = scale * Gr(Y), np.zeros(len(Y))
        else:
            GP, E = None, None
        if L is not None and GP is not None:  # a gradient longer than L (beyond its error) refutes L
            gn = np.sqrt(np.einsum("ij,ij->i", GP, GP)) - E
            j = int(np.argmax(gn))
            if gn[j] > L * (1 + 1e-9) + 64 * _EPS * gn[j]:
                raise InvalidConstant(
                    f"the gradient at y = {_pt(x + scale * P[j])} is at least {gn[j] / L:.6g} "
                    f"times longer than the Lipschitz constant allows")
        for s in sides:  # incumbent from the cell points (all in the ball)
            v = s * (FP - fx)
            j = int(np.argmax(v))
            if v[j] > best[s][0]:
                best[s] = (float(v[j]), P[j].copy())
        return P, FP, GP, E

    def bounds(C, W, P, FP, GP, E):
        return cell_bounds(C, W, P, FP, GP, E, fx=fx, sides=sides, r=r, L=L, H=H,
                           extra=shift + slack, slack=slack)

    # Cells are stored in growable arrays: centre C, trisection level K per axis (half-width
    # r 3^-K), value FP at the point, gradient GP and its error E, bound B. Dropped cells
    # (B <= value) are compacted away only when they are the majority.
    pow3 = 3.0 ** -np.arange(_MAX_LEVEL + 1)
    store = _Cells(n, use_grad)
    C0 = np.zeros((1, n))
    try:
        P0, FP0, GP0, E0 = evaluate(C0)
    except BudgetExhausted:  # not even the first cell: the bound already known, nothing else
        value = value_now()
        return BracketOutcome(best, float(max(value, upper0)), "budget", int(spent()), 0, 0)
    store.append(C=C0, K=np.zeros((1, n), dtype=np.int16), FP=FP0, GP=GP0, E=E0,
                 B=bounds(C0, np.full((1, n), float(r)), P0, FP0, GP0, E0))
    cost = 1 + (n if fd else (1 if use_grad else 0))  # evaluations per new cell
    rounds = 0
    status = "budget"
    polished = []
    while True:
        value = value_now()
        tolv = max(rtol * value, atol)
        B = store.get("B")
        alive = B > value
        if 2 * int(alive.sum()) < store.m:
            store.compact(alive)
            B = store.get("B")
        upper = min(float(upper0), max(value, float(B.max()) if B.size else value))
        if upper - value <= tolv:
            status = "converged"
            break
        room = max_evals - spent()
        if room < 2 * cost:
            break
        cand = np.flatnonzero((B > value + tolv) & (store.get("K").min(axis=1) < _MAX_LEVEL))
        if cand.size == 0:  # only cells at the resolution limit are left
            break
        cand = cand[np.argsort(-B[cand], kind="stable")]
        m = min(cand.size, max(1, room // (2 * cost)), max(4096, store.m // 4))
        I = cand[:m]
        rounds += 1
        C, K = store.get("C"), store.get("K")
        B_parent = store.get("B")[I].copy()
        WI, Cn, Kn, parent = trisect(C, K, I, r, pow3, parents=True)  # K[I]: the middle thirds
        CI = C[I]
        GI = None if not use_grad else store.get("GP")[I]
        EI = None if not use_grad else store.get("E")[I]
        store.get("B")[I] = bounds(CI, WI, points(CI), store.get("FP")[I], GI, EI)
        Wn = r * pow3[Kn]
        if Cn.shape[0]:
            Pn, FPn, GPn, En = evaluate(Cn)
            inbox = np.all(np.abs(Pn - Cn) <= Wn * (1 - 1e-12), axis=1)  # points in their box
            _check_children(FPn[inbox], fx, sides, B_parent[parent[inbox]], x + scale * Pn[inbox])
            Bn = bounds(Cn, Wn, Pn, FPn, GPn, En)
            store.append(C=Cn, K=Kn, FP=FPn, GP=GPn, E=En, B=Bn)
            if polish and max_evals - spent() >= 100 * (2 * n + 2):  # room for two short ascents
                # local ascent from the best new point and from the cell of highest bound
                phi = np.max(sgn[:, None] * (FPn - fx)[None, :], axis=0)
                B = store.get("B")
                jn, jb = int(np.argmax(phi)), int(np.argmax(B))
                Pb = points(store.get("C")[jb:jb + 1])[0]
                starts = [(Pn[jn], FPn[jn]), (Pb, store.get("FP")[jb])]
                # an iteration costs at most ~ 2 (2n + 2) evaluations for the two starts
                it_cap = min(max_iter, max(1, (max_evals - spent()) // (4 * (2 * n + 2))))
                _polish(F, Gr, x, fx, r, sides, starts, best, polished, tol, it_cap, scale)
    value = value_now()
    B = store.get("B")
    upper = max(value, min(float(upper0), max(value, float(B.max()) if B.size else value)))
    return BracketOutcome(best, float(upper), status, int(spent()), rounds, int(np.sum(B > value)))


def cell_bounds(C, W, P, FP, GP, E, *, fx, sides, r, L, H, extra, slack):
    """Upper bounds of ``max_s sup s (f(x + y) - f(x))`` over each cell ``Q ∩ B(0, r)``.

    ``C``, ``W``: centres and half-widths of the boxes; ``P``, ``FP``: the evaluation points
    and their values; ``GP``, ``E``: gradients there and bounds on their errors (``None``
    without a Hessian bound). With ``ρ = |w| + extra`` (``extra``: the shrinking of the
    evaluation ball and the rounding), the bound is the smaller of
    ``s (f(p) - f(x)) + L ρ`` and ``s (f(p) - f(x)) + ℓ + E ρ + ½ H ρ²``, where
    ``ℓ = min(Σ|g_i| w_i + s g·(c - p), |g| r - s g·p, |g| ρ)`` bounds ``s g·(y - p)`` on the
    cell (box, ball, Cauchy–Schwarz); see the module docstring.
    """
    rho = np.sqrt(np.einsum("ij,ij->i", W, W)) + extra
    out = np.full(len(C), -np.inf)
    rem_L = L * rho if L is not None else None
    if GP is not None:
        gn = np.sqrt(np.einsum("ij,ij->i", GP, GP))
        box = np.einsum("ij,ij->i", np.abs(GP), W)
        gc = np.einsum("ij,ij->i", GP, C - P)
        gp = np.einsum("ij,ij->i", GP, P)
        quad = E * rho + 0.5 * H * rho * rho + gn * slack
    for s in sides:
        rem = np.full(len(C), np.inf) if rem_L is None else rem_L
        if GP is not None:
            lin = np.minimum(np.minimum(box + s * gc, gn * r - s * gp), gn * rho)
            rem = np.minimum(rem, lin + quad)
        base = s * (FP - fx)
        b = base + rem + 8 * _EPS * (np.abs(FP) + abs(fx) + np.abs(rem))
        out = np.maximum(out, b)
    return out


def trisect(C, K, I, r, pow3, parents=False):
    """Trisect the boxes ``I`` along their longest edge (lowest level in ``K``). The middle
    thirds keep their centre (and point): only ``K[I]`` changes, in place. Returns the new
    half-widths of the boxes ``I`` and the centres and levels of the outer thirds that meet the
    ball ``B(0, r)`` (the others are discarded); with ``parents``, also the position in ``I``
    of the box each outer third comes from."""
    m = len(I)
    j = np.argmin(K[I], axis=1)
    ar = np.arange(m)
    K[I, j] += 1
    WI = r * pow3[K[I]]
    w3 = WI[ar, j]
    Cl, Cr = C[I].copy(), C[I].copy()
    Cl[ar, j] -= 2.0 * w3
    Cr[ar, j] += 2.0 * w3
    Cn = np.vstack([Cl, Cr])
    Kn = np.vstack([K[I], K[I]])
    Wn = np.vstack([WI, WI])
    gap = np.maximum(np.abs(Cn) - Wn, 0.0)  # dist(0, box)² = |max(|c| - w, 0)|²
    inside = np.einsum("ij,ij->i", gap, gap) <= (r * (1 + 1e-12)) ** 2  # boxes meeting the ball
    if parents:
        return WI, Cn[inside], Kn[inside], np.concatenate([ar, ar])[inside]
    return WI, Cn[inside], Kn[inside]


def _pt(y):
    return np.array2string(np.asarray(y), precision=6, threshold=6)


def _check_children(FP, fx, sides, B_parent, Y):
    """A point of a child box that lies in that box lies in the parent box (and in the ball), so
    its value cannot exceed the parent's bound unless the constant behind that bound is false."""
    if FP.size == 0:
        return
    v = np.max([s * (FP - fx) for s in sides], axis=0)
    over = v - B_parent
    j = int(np.argmax(over))
    allowance = 1e-9 * abs(B_parent[j]) + 64 * _EPS * (abs(FP[j]) + abs(fx))
    if over[j] > allowance:
        ratio = v[j] / B_parent[j] if B_parent[j] > 0 else np.inf
        raise InvalidConstant(
            f"|f(y) - f(x)| at y = {_pt(Y[j])} is {ratio:.6g} times the bound that the constant "
            f"gives on a box containing y" if B_parent[j] > 0 else
            f"|f(y) - f(x)| at y = {_pt(Y[j])} exceeds the bound that the constant gives on a "
            f"box containing y")


_MAX_LEVEL = 60  # 3^-60 ~ 2e-29: far below the resolution of any centre; never split past it


class _Cells:
    """Growable column store of the cells (amortized O(1) append, compaction on demand)."""

    def __init__(self, n, grad):
        self.n, self.m, self.cap = n, 0, 0
        self.spec = {"C": (n, float), "K": (n, np.int16), "FP": (None, float), "B": (None, float)}
        if grad:
            self.spec.update(GP=(n, float), E=(None, float))
        self.a = {}

    def get(self, name):
        return self.a[name][:self.m]

    def append(self, **cols):
        k = len(cols["FP"])
        if self.m + k > self.cap:
            cap = max(2 * self.cap, self.m + k, 64)
            for name, (w, dt) in self.spec.items():
                new = np.empty((cap, w) if w else cap, dtype=dt)
                if self.m:
                    new[:self.m] = self.a[name][:self.m]
                self.a[name] = new
            self.cap = cap
        for name in self.spec:
            self.a[name][self.m:self.m + k] = cols[name]
        self.m += k

    def compact(self, keep):
        kk = int(keep.sum())
        for name in self.spec:
            self.a[name][:kk] = self.a[name][:self.m][keep]
        self.m = kk


def _polish(F, Gr, x, fx, r, sides, starts, best, polished, tol, max_iter, scale=1.0):
    """Spectral projected gradient from ``starts`` (on the side where each start is best);
    a start already used is skipped. Updates ``best`` in place. (``scale``: as in
    :func:`close_bracket`; the ascent then runs on ``z -> f(x + scale z)``.)"""
    U0, sg = [], []
    for u, fu in starts:
        if any(np.array_equal(u, q) for q in polished):
            continue
        polished.append(u.copy())
        s = max(sides, key=lambda s_: s_ * (fu - fx))
        U0.append(u)
        sg.append(float(s))
    if not U0:
        return
    if scale == 1.0:
        U, vals, _ = spg_ball_max_signed(F, Gr, fx, np.array(sg), np.array(U0), r, x, tol, max_iter)
    else:
        Fz, Gz = ScaledFunction(F, x, scale), ScaledGradient(Gr, x, scale)
        U, vals, _ = spg_ball_max_signed(Fz, Gz, fx, np.array(sg), np.array(U0), r, np.zeros(x.size),
                                         tol, max_iter)
    for k, s in enumerate(sg):
        s = int(s)
        if not np.isfinite(vals[k]):  # never evaluated (budget)
            continue
        u, changed = make_feasible(x, scale * U[k], scale * r)
        u = u / scale
        v = vals[k]
        if changed:
            try:
                v = s * (float(F((x + scale * u)[None, :])[0]) - fx)
            except BudgetExhausted:
                continue
        if v > best[s][0]:
            best[s] = (float(v), u.copy())


def value_scale(*magnitudes):
    """A power of 2 near the largest finite positive magnitude given (1 if there is none): the
    unit of the values when a radius is rescaled (their squares must not overflow)."""
    m = [float(v) for v in magnitudes if v is not None and np.isfinite(v) and v > 0]
    if not m:
        return 1.0
    return math.ldexp(1.0, min(max(math.frexp(max(m))[1], -1000), 1000))


class ValueScaled:
    """``Y -> F(Y) / c`` for a batch function or gradient ``F`` (``c`` a power of 2); ``ncalls``
    is ``F``'s."""

    def __init__(self, F, c):
        self.F, self.c = F, c

    @property
    def ncalls(self):
        return self.F.ncalls

    def __call__(self, Y):
        return self.F(Y) / self.c


class ScaledFunction:
    """``Z -> F(x + scale Z)`` for a batch function ``F`` (``scale`` a power of 2, so that
    ``scale Z`` is exact and the points are those of the unscaled search); ``ncalls`` is ``F``'s."""

    def __init__(self, F, x, scale):
        self.F, self.x, self.scale = F, x, scale

    @property
    def ncalls(self):
        return self.F.ncalls

    def __call__(self, Z):
        return self.F(self.x + self.scale * Z)


class ScaledGradient:
    """``Z -> scale ∇f(x + scale Z)``, the gradient of ``z -> f(x + scale z)``."""

    def __init__(self, Gr, x, scale):
        self.Gr, self.x, self.scale = Gr, x, scale

    @property
    def ncalls(self):
        return self.Gr.ncalls

    def __call__(self, Z):
        with np.errstate(over="ignore"):
            G = self.scale * self.Gr(self.x + self.scale * Z)
        if not np.all(np.isfinite(G)):
            raise ValueError(f"radius ({self.scale:.3g} or so) times the gradient overflows: "
                             f"|grad f| r exceeds the largest float, so f° cannot be represented")
        return G
