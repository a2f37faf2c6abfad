r"""A certified bracket of the maximal variation on small problems.

For :math:`f` with Lipschitz constant :math:`L` on the ball :math:`B(x, r)` in
dimension :math:`n \le 3`, evaluate :math:`f` on a cubic grid of spacing :math:`h`
covering the ball, with the grid points outside the ball projected onto it. Every
:math:`y \in B(x,r)` has a grid point :math:`g` with :math:`\|y-g\|\le h\sqrt n/2`, and
projection onto the ball is nonexpansive, so :math:`\|y - P(g)\| \le h\sqrt n/2` too.
Hence

.. math:: \max_{g} |f(P(g)) - f(x)| \;\le\; f^\circ(x, r) \;\le\;
          \max_{g} |f(P(g)) - f(x)| + L h \sqrt n / 2 .

This is the exact reference that a local search (:func:`flatlib.max_variation`) can be
checked against: its value must not exceed the upper end, and on a fine grid the
bracket pins :math:`f^\circ` down to :math:`L h \sqrt n/2`. Its cost is
``points_per_axis ** n`` evaluations whatever ``f``; ``max_variation(..., lipschitz=L)``
closes a bracket adaptively instead (branch and bound, :mod:`flatlib.bracket`), refining only
where the bound is above the best value, and is the tool of choice beyond a quick check.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._ascent import BatchFunction
from ._validate import as_bool, as_point, as_positive_int, as_scalar

__all__ = ["certified_max_variation", "CertifiedBracket"]


@dataclass
class CertifiedBracket:
    """``lower <= f°(x, radius) <= upper``; ``lower`` is attained at ``argmax``."""

    lower: float
    upper: float
    argmax: np.ndarray
    spacing: float
    nfev: int
    radius: float

    @property
    def width(self):
        return self.upper - self.lower


def certified_max_variation(f, x, radius, *, lipschitz, points_per_axis=201, vectorized=False,
                            max_points=4_000_000):
    r"""Certified bracket of :math:`f^\circ(x, r) = \sup_{\|y-x\|\le r}|f(y)-f(x)|` by a grid.

    Parameters
    ----------
    f : callable
        ``f(y) -> float``; with ``vectorized=True``, ``f(Y)`` for ``Y`` of shape ``(k, n)``.
    x : array_like, shape (n,), n <= 3
    radius : float >= 0
    lipschitz : float > 0
        A Lipschitz constant of ``f`` on the ball ``B(x, radius)`` (e.g. ``sup ‖∇f‖`` there).
    points_per_axis : int
        Grid points per axis over ``[-r, r]`` (spacing ``h = 2r / (points_per_axis - 1)``).
    vectorized : bool
    max_points : int
        Refuse grids larger than this (the cost is ``points_per_axis ** n`` evaluations).

    Returns
    -------
    CertifiedBracket
        ``lower``, ``upper`` (``lower + L h sqrt(n) / 2``), ``argmax``, ``spacing``, ``nfev``.

    Examples
    --------
    :math:`f(y) = \|y\|` at the origin: :math:`f^\circ(0, r) = r` and :math:`L = 1`:

    >>> import numpy as np
    >>> b = certified_max_variation(lambda y: float(np.linalg.norm(y)), [0.0, 0.0], 0.5, lipschitz=1.0)
    >>> bool(b.lower - 1e-12 <= 0.5 <= b.upper), round(b.width, 6)
    (True, 0.003536)
    """
    x = as_point(x, "x")
    n = x.size
    if n > 3:
        raise ValueError(f"x must have dimension <= 3 for a grid bracket, got {n}")
    r = as_scalar(radius, "radius", low=0.0)
    L = as_scalar(lipschitz, "lipschitz", low=0.0, low_open=True)
    m = as_positive_int(points_per_axis, "points_per_axis")
    if m < 2:
        raise ValueError("points_per_axis must be >= 2")
    max_points = as_positive_int(max_points, "max_points")
    vectorized = as_bool(vectorized, "vectorized")
    if m ** n > max_points:
        raise ValueError(f"points_per_axis ** n = {m ** n} exceeds max_points = {max_points}")
    F = BatchFunction(f, n, vectorized, "f")
    fx = float(F(x[None, :])[0])
    if r == 0.0:
        return CertifiedBracket(0.0, 0.0, x.copy(), 0.0, F.ncalls, 0.0)
    # radii whose squares over/underflow: the grid in units of a power of 2 near r (exact scaling)
    s = 1.0 if 2.0 ** -256 <= r <= 2.0 ** 256 else math.ldexp(1.0, math.frexp(r)[1] - 1)
    rs = r / s
    ax = np.linspace(-rs, rs, m)
    h = ax[1] - ax[0]
    U = np.stack(np.meshgrid(*([ax] * n), indexing="ij"), axis=-1).reshape(-1, n)
    nu = np.linalg.norm(U, axis=1)
    out = nu > rs
    U[out] *= (rs / nu[out])[:, None]
    U = np.unique(U, axis=0)
    best, arg = 0.0, x.copy()
    for start in range(0, U.shape[0], 65536):
        Ub = U[start:start + 65536]
        for i in range(64):  # rounding of x + u can leave the ball by an ulp: shrink those rows
            out = np.linalg.norm(((x + s * Ub) - x) / s, axis=1) > rs
            if not out.any():
                break
            Ub = Ub.copy()
            Ub[out] *= 1.0 - min(4e-16 * 2.0 ** i, 0.5)
        Y = x + s * Ub
        with np.errstate(over="ignore", invalid="ignore"):
            v = np.abs(F(Y) - fx)
        if not np.all(np.isfinite(v)):
            raise ValueError(f"|f(y) - f(x)| overflows (f(x) = {fx:.6g}): the maximal variation "
                             f"exceeds the largest float")
        j = int(np.argmax(v))
        if v[j] > best:
            best, arg = float(v[j]), Y[j].copy()
    # covering radius of the projected grid, plus the few ulps the shrinking may have cost, plus
    # the rounding of the points x + u themselves (2 eps (|x| + r) per coordinate: far from the
    # origin they collapse onto fewer floating-point points than the grid has)
    with np.errstate(over="ignore"):
        upper = best + L * s * (h * np.sqrt(n) / 2.0 + 1e-13 * rs) \
            + L * 2.0 * np.finfo(float).eps * (float(np.max(np.abs(x))) + r) * np.sqrt(n)
    return CertifiedBracket(best, float(upper), arg, float(h * s), F.ncalls, float(r))
