r"""Every number printed by notebooks/03_sharpness_comparison, checked against closed forms or an
independent computation.

The notebook is not executed here. Only its ``parameters`` cell is read, to make sure the constants
below are the ones it uses. Each printed table is copied into ``PRINTED`` and checked twice: the
closed form (or the independent computation), formatted as the notebook formats it, gives the
printed text, or lies within a stated tolerance of it for the grid and Monte Carlo volumes; and
flatlib, called as in the notebook, agrees with the closed form within a stated tolerance.

Closed forms and independent computations used
----------------------------------------------
* f = ½(xy - 1)² at (a, 1/a): ∇²f = (1/a, a)(1/a, a)ᵀ, so λ_max = trace = a² + a⁻².
  f° and exact SAM: on the circle p + r(cos θ, sin θ), xy - 1 = h(θ) = r(cos θ / a + a sin θ) +
  (r²/2) sin 2θ. The sup of |xy - 1| over the disc is on the circle, because the only interior
  critical point of xy is a saddle. So f° = ½ max|h|², computed by a dense θ grid refined with bounded
  Brent. At a minimum, f ≥ f(p) = 0, so exact SAM = f°.
* Keskar ε-sharpness: both test functions are convex in each coordinate separately, so their maximum
  over a box is at a vertex (maximize one coordinate at a time). The value is 100 · max over vertices.
  For y⁴(1 + x²) at (t, 0): 100 ε⁴ (1 + (|t| + ε(|t| + 1))²).
* f = y⁴(1 + x²) at (t, 0): the Hessian is 0. f°((t,0), r) = max over u in [-r, r] of
  (r² - u²)²(1 + (t + u)²), since v⁴ increases in v² = r² - u². This is a polynomial maximum,
  solved exactly from the real roots of its derivative.
* Sublevel areas, by quadrature: {|xy - 1| <= s} ∩ box is {(1 - s)/x <= y <= (1 + s)/x}, x > 0;
  {y⁴(1 + x²) <= ℓ} ∩ box is {|y| <= (ℓ/(1 + x²))^{1/4}}.
* Matrix factorization at a global minimum: ∇²f = JᵀJ with J(U, V) = U Yᵀ + X Vᵀ, assembled here
  with Kronecker products. The trace is ||J||²_F, and λ_max comes from a dense eigvalsh. The closed forms
  are (m + n) tr Σ and 2σ₁ at the balanced point, and 2√(mn) tr Σ and σ₁(c² + c⁻²), c = (m/n)^{1/4},
  at the trace minimizer. f° and SAM: the maximum of f(z + r u/||u||) by BFGS from several starts. At
  a global minimum the sup over the ball is on the sphere, because f is convex along each coordinate
  line. The ε-sharpness comes from enumerating all 2¹⁶ box vertices.
* SAM one step: f(x + ρ g/||g||) - f(x), evaluated directly.
"""
from __future__ import annotations

import functools
import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
from nbparams import notebook_parameters
from scipy.integrate import quad
from scipy.optimize import minimize, minimize_scalar

from flatlib import compare_flatness, flatness_order
from flatlib.problems.matrix_factorization import MatrixFactorization, balanced_factors, trace_flat_factors
from flatlib.preorder import DEFAULT_RADII
from flatlib.sharpness import (GridResolutionWarning, epsilon_sharpness, sam_sharpness, sharpness_table,
                               sublevel_volume)

ROOT = Path(__file__).resolve().parents[1]
NB_SRC = ROOT / "notebooks" / "src" / "03_sharpness_comparison.py"

PARAMS = dict(
    seed=0,
    radius=0.1,
    eps=1e-2,
    rho=0.1,
    level=0.005,
    box_halfwidth=0.3,
    grid=401,
    n_mc=40000,
    alphas=[1.0 / 3.0, 0.5, 1.0, 2.0, 3.0],
    degenerate_ts=[0.0, 0.5, 1.0, 2.0],
    orbit_alphas=[0.01, 0.1, 1.0, 10.0, 100.0],
    mf_shape=(5, 3, 2),
    mf_radii=[0.05, 0.5, 2.0],
    fast=False,
)
SEED, R, EPS, RHO, LEVEL, H, GRID = (PARAMS[k] for k in ("seed", "radius", "eps", "rho", "level",
                                                         "box_halfwidth", "grid"))

# the numbers the notebook prints, as printed
PRINTED = {
    # alpha: (lam_max, trace, eps-sharp %, SAM 1-step, SAM exact, f°(x,r), sublevel vol, touches box)
    "hyperbola": {
        1 / 3: ("9.1111", "9.1111", "1.4508e-01", "0", "4.5934e-02", "4.5934e-02", "0.0401", "True"),
        0.5: ("4.2500", "4.2500", "1.0329e-01", "0", "2.1775e-02", "2.1775e-02", "0.0605", "True"),
        1.0: ("2.0000", "2.0000", "8.1608e-02", "0", "1.0720e-02", "1.0720e-02", "0.1052", "True"),
        2.0: ("4.2500", "4.2500", "1.0329e-01", "0", "2.1775e-02", "2.1775e-02", "0.0605", "True"),
        3.0: ("9.1111", "9.1111", "1.4508e-01", "0", "4.5934e-02", "4.5934e-02", "0.0401", "True"),
    },
    # t: same columns
    "degenerate": {
        0.0: ("0.0000", "0.0000", "1.0001e-06", "0", "1.0000e-04", "1.0000e-04", "0.3168", "True"),
        0.5: ("0.0000", "0.0000", "1.2652e-06", "0", "1.2510e-04", "1.2510e-04", "0.3009", "True"),
        1.0: ("0.0000", "0.0000", "2.0404e-06", "0", "2.0025e-04", "2.0025e-04", "0.2686", "True"),
        2.0: ("0.0000", "0.0000", "5.1209e-06", "0", "5.0040e-04", "5.0040e-04", "0.2137", "True"),
    },
    # t: (order, rational, c at 4, 1 + t^2)
    "degenerate_fit": {
        0.0: ("4.000", "4", "1.0000", "1.0000"),
        0.5: ("4.000", "4", "1.2500", "1.2500"),
        1.0: ("4.000", "4", "2.0000", "2.0000"),
        2.0: ("4.000", "4", "5.0000", "5.0000"),
    },
    "degenerate_signs": [-1, -1, -1],
    # alpha: (lam_max, trace, eps-sharp %, SAM 1-step, SAM exact, f°(x,r))
    "orbit": {
        0.01: ("10000.0001", "10000.0001", "5.3076e+01", "0", "5.0000e+01", "5.0000e+01"),
        0.1: ("100.0100", "100.0100", "7.4676e-01", "0", "5.0020e-01", "5.0020e-01"),
        1.0: ("2.0000", "2.0000", "8.1608e-02", "0", "1.0720e-02", "1.0720e-02"),
        10.0: ("100.0100", "100.0100", "7.4676e-01", "0", "5.0020e-01", "5.0020e-01"),
        100.0: ("10000.0001", "10000.0001", "5.3076e+01", "0", "5.0000e+01", "5.0000e+01"),
    },
    "mf_header": ("5.3045", "0.5641", "1.1362"),       # sigma_1, sigma_2, c*
    # (trace, lam_max, eps-sharp %, SAM exact, f° at mf_radii)
    "mf": {
        "balanced": ("46.95", "10.61", "1.8862", "0.05469", ("0.013466", "1.5375", "36.247")),
        "trace-min": ("45.46", "10.96", "1.8754", "0.05640", ("0.013898", "1.5789", "36.906")),
    },
    # minimizers along (c X_b, Y_b / c): c* and c_eps; eps-sharpness % at c = 1, c_eps, c*
    "mf_path": ("1.1362", "1.12", ("1.88625", "1.87518", "1.87545")),
    # point: (|grad f|, SAM 1-step, SAM exact, ratio)
    "sam": {
        (0.0, 0.0): ("0.0000", "0.0000000", "0.0050125", "0.000"),
        (1.0, 1.0): ("0.0000", "0.0000000", "0.0107196", "0.000"),
        (2.0, 0.5): ("0.0000", "0.0000000", "0.0217754", "0.000"),
        (0.02, 0.02): ("0.0283", "-0.0021683", "0.0052114", "-0.416"),
        (0.5, 0.5): ("0.5303", "0.0514420", "0.0514420", "1.000"),
        (1.2, 1.0): ("0.3124", "0.0452049", "0.0452083", "1.000"),
        (1.5, 1.5): ("2.6517", "0.2949882", "0.2949882", "1.000"),
    },
    # minimum: (grid vol, grid err, resolved, touches, MC vol, MC stderr, log vol)
    "volume": {
        1.0: ("0.1052", "0.0018", "True", "True", "0.106", "0.001", "-2.252"),
        2.0: ("0.0605", "0.0018", "True", "True", "0.061", "0.001", "-2.806"),
        1 / 3: ("0.0401", "0.0018", "True", "True", "0.040", "0.001", "-3.215"),
    },
    "thin_band": (False, "GridResolutionWarning"),
    # box half-width: (max vol / vol at alpha = 1, |log3 alpha| of the max)
    "box_effect": {0.2: ("1.000", "0.00"), 0.3: ("1.000", "0.00"), 0.5: ("1.007", "0.15")},
    "summary": {
        "lambda_max": ("yes", "ties", "yes", "yes"),
        "trace": ("yes", "ties", "yes", "no"),
        "eps-sharpness": ("yes", "yes", "yes", "no"),
        "SAM one step": ("ties", "ties", "ties", "n/a"),
        "SAM exact": ("yes", "yes", "yes", "yes"),
        "sublevel volume": ("yes", "yes", "n/a", "n/a"),
        "f°(x, r)": ("yes", "yes", "yes", "yes"),
    },
}


# ---------------------------------------------------------------------------
# the test functions (as in the notebook)


def f_hyp(z):
    z = np.asarray(z, dtype=float)
    return 0.5 * (z[..., 0] * z[..., 1] - 1.0) ** 2


def grad_hyp(z):
    return (z[0] * z[1] - 1.0) * np.array([z[1], z[0]])


def hess_hyp(z):
    x, y = z
    return np.array([[y * y, 2 * x * y - 1.0], [2 * x * y - 1.0, x * x]])


def f_deg(z):
    z = np.asarray(z, dtype=float)
    return z[..., 1] ** 4 * (1.0 + z[..., 0] ** 2)


def grad_deg(z):
    x, y = z
    return np.array([2 * x * y ** 4, 4 * y ** 3 * (1 + x * x)])


def hess_deg(z):
    x, y = z
    return np.array([[2 * y ** 4, 8 * x * y ** 3], [8 * x * y ** 3, 12 * y * y * (1 + x * x)]])


def table_kw(**extra):
    kw = dict(radius=R, eps=EPS, rho=RHO, level=LEVEL, box_halfwidth=H, n_samples=GRID ** 2, rng=SEED,
              vectorized=True)
    kw.update(extra)
    return kw


# ---------------------------------------------------------------------------
# closed forms and independent computations


def circle_max(g, n_grid=20001):
    """max over θ of the smooth 2π-periodic g(θ): dense grid, then bounded Brent around the best points."""
    th = np.linspace(0.0, 2.0 * np.pi, n_grid)
    v = g(th)
    best = v.max()
    step = th[1] - th[0]
    for i in np.argsort(v)[-5:]:
        res = minimize_scalar(lambda s: -g(np.array([s]))[0], bounds=(th[i] - step, th[i] + step),
                              method="bounded", options={"xatol": 1e-14})
        best = max(best, -res.fun)
    return float(best)


def fring_hyp(a, r):
    """f°((a, 1/a), r) for ½(xy - 1)²: ½ max over the circle of (xy - 1)²."""
    def h2(th):
        return (r * (np.cos(th) / a + a * np.sin(th)) + 0.5 * r * r * np.sin(2 * th)) ** 2
    return 0.5 * circle_max(h2)


def sam_exact_hyp(p, rho):
    """max over the disc of f_hyp minus f_hyp(p). The max of (xy - 1)² is on the circle: its interior
    critical points are the minima xy = 1 and the saddle (0, 0)."""
    p = np.asarray(p, dtype=float)
    def g(th):
        return f_hyp(np.column_stack([p[0] + rho * np.cos(th), p[1] + rho * np.sin(th)]))
    return circle_max(g) - float(f_hyp(p))


@functools.lru_cache(maxsize=None)
def vertices(n):
    out = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    out.flags.writeable = False
    return out


def eps_sharp_vertices(fbatch, x, eps):
    """Keskar ε-sharpness (relative box, percent) = 100 (max over vertices - f(x)) / (1 + f(x)), valid
    when f is convex along each coordinate line."""
    x = np.asarray(x, dtype=float)
    w = eps * (np.abs(x) + 1.0)
    fx = float(fbatch(x[None, :])[0])
    return 100.0 * (float(np.max(fbatch(x + vertices(x.size) * w))) - fx) / (1.0 + fx)


def fring_deg(t, r):
    """f°((t, 0), r) for y⁴(1 + x²): max over u in [-r, r] of (r² - u²)²(1 + (t + u)²), exactly."""
    P = np.polynomial.Polynomial
    q = P([r * r, 0.0, -1.0]) ** 2 * P([1.0 + t * t, 2.0 * t, 1.0])
    crit = q.deriv().roots()
    u = np.concatenate([crit[np.abs(crit.imag) <= 1e-12].real, [-r, r]])
    u = u[(u >= -r) & (u <= r)]
    return float(np.max(q(u)))


def band_area_hyp(a, level, h):
    """Area of {|xy - 1| <= s} ∩ [a - h, a + h] x [1/a - h, 1/a + h], s = √(2 level) < 1 (x > 0 part only:
    for x <= 0 and y > 0, xy <= 0 < 1 - s)."""
    x0, y0, s = a, 1.0 / a, np.sqrt(2.0 * level)
    lo_x = max(x0 - h, 0.0)

    def width(x):
        if x <= 0:
            return 0.0
        return max(min(y0 + h, (1 + s) / x) - max(y0 - h, (1 - s) / x), 0.0)

    bps = [c / yy for c in (1 - s, 1 + s) for yy in (y0 - h, y0 + h) if yy > 0 and lo_x < c / yy < x0 + h]
    return quad(width, lo_x, x0 + h, points=sorted(bps) or None, limit=200, epsabs=1e-14, epsrel=1e-12)[0]


def band_touches_box_hyp(a, h):
    """The arc of y = 1/x through the centre (a, 1/a) lies in the band {|xy - 1| <= s}; it is connected
    and unbounded, so it leaves every bounded box: the component of the centre always touches the
    boundary (whatever a and h)."""
    return True


def band_thickness_hyp(a, level):
    """Thickness of {|xy - 1| <= s} across the hyperbola at (a, 1/a): 2 s / ||∇(xy)|| to first order."""
    return 2.0 * np.sqrt(2.0 * level) / np.hypot(a, 1.0 / a)


def band_area_deg(t, level, h):
    """Area of {y⁴(1 + x²) <= level} ∩ [t - h, t + h] x [-h, h]."""
    return quad(lambda x: 2.0 * min(h, (level / (1.0 + x * x)) ** 0.25), t - h, t + h,
                epsabs=1e-14, epsrel=1e-12, limit=200)[0]


def loglog_fit_order4(radii, values):
    lr, lv = np.log(radii), np.log(values)
    order = np.polyfit(lr, lv, 1)[0]
    hh = max(2, radii.size // 2)
    c4 = float(np.exp(np.mean(lv[:hh] - 4.0 * lr[:hh])))
    return float(order), c4


# matrix factorization -------------------------------------------------------

def mf_problem():
    m, n, r = PARAMS["mf_shape"]
    g = np.random.default_rng(0)
    A = g.standard_normal((m, r))
    B = g.standard_normal((n, r))
    return A @ B.T, m, n, r


def jacobian(X, Y):
    """J with J vec(U, V) = vec(U Yᵀ + X Vᵀ) (row-major vec), shape (m n, (m + n) r)."""
    m, r = X.shape
    n = Y.shape[0]
    JU = np.kron(np.eye(m), Y)                       # (U Yᵀ)_{ij} = Σ_k U_ik Y_jk
    JV = np.zeros((m * n, n * r))
    for i in range(m):
        for j in range(n):
            JV[i * n + j, j * r:(j + 1) * r] = X[i]  # (X Vᵀ)_{ij} = Σ_k X_ik V_jk
    return np.hstack([JU, JV])


def mf_loss_batch(M, m, n, r):
    def fb(Z):
        Z = np.atleast_2d(Z)
        X = Z[:, : m * r].reshape(-1, m, r)
        Y = Z[:, m * r:].reshape(-1, n, r)
        Rs = X @ Y.transpose(0, 2, 1) - M
        return 0.5 * np.sum(Rs ** 2, axis=(1, 2))
    return fb


def sphere_max(fb, z, radius, extra_dirs, n_random=12, seed=123):
    """max of f(z + radius u/||u||) - f(z) by BFGS from several starts (independent of flatlib)."""
    dim = z.size
    f0 = float(fb(z)[0])
    eps_fd = 1e-7

    def neg(u):
        nu = np.linalg.norm(u)
        return -(float(fb(z + radius * u / nu)[0]) - f0)

    def neg_grad(u):  # central differences, vectorized
        E = np.eye(dim) * eps_fd
        vals = fb(np.vstack([z + radius * (u + e) / np.linalg.norm(u + e) for e in E]
                            + [z + radius * (u - e) / np.linalg.norm(u - e) for e in E]))
        return -(vals[:dim] - vals[dim:]) / (2 * eps_fd)

    g = np.random.default_rng(seed)
    starts = list(extra_dirs) + [-d for d in extra_dirs] + list(g.standard_normal((n_random, dim)))
    best = -np.inf
    for u0 in starts:
        res = minimize(neg, u0 / np.linalg.norm(u0), jac=neg_grad, method="BFGS", options={"gtol": 1e-11})
        best = max(best, -res.fun)
    return best


# ---------------------------------------------------------------------------
# the parameters


def test_parameters_match_notebook():
    if not NB_SRC.exists():
        pytest.skip("notebook source not present")
    assert notebook_parameters(NB_SRC.stem) == PARAMS


# ---------------------------------------------------------------------------
# the closed forms themselves


@pytest.mark.parametrize("a", [1.0, 2.0, 1 / 3, 100.0])
def test_fring_hyp_against_brute_force_and_expansion(a):
    p = np.array([a, 1 / a])
    rng = np.random.default_rng(0)
    for r in (0.01, 0.1, 0.5):
        u = rng.standard_normal((200000, 2))
        u *= (r * np.sqrt(rng.random(200000)) / np.linalg.norm(u, axis=1))[:, None]
        assert f_hyp(p + u).max() <= fring_hyp(a, r) * (1 + 1e-12)     # disc samples never exceed it
        th = np.linspace(0, 2 * np.pi, 400001)
        assert fring_hyp(a, r) == pytest.approx(f_hyp(p + r * np.column_stack([np.cos(th), np.sin(th)])).max(), rel=1e-8)
    L2 = a * a + 1 / (a * a)
    r = 1e-4
    assert fring_hyp(a, r) == pytest.approx(0.5 * L2 * r * r + r ** 3 / np.sqrt(L2), rel=1e-6)


@pytest.mark.parametrize("t", [0.0, 0.5, 1.0, 2.0, -1.3])
def test_fring_deg_against_brute_force(t):
    for r in (0.01, 0.1, 1.0):
        th = np.linspace(0, 2 * np.pi, 400001)
        brute = f_deg(np.column_stack([t + r * np.cos(th), r * np.sin(th)])).max()
        assert fring_deg(t, r) == pytest.approx(brute, rel=1e-8)
        rng = np.random.default_rng(1)
        u = rng.standard_normal((100000, 2))
        u *= (r * np.sqrt(rng.random(100000)) / np.linalg.norm(u, axis=1))[:, None]
        assert f_deg(np.array([t, 0.0]) + u).max() <= fring_deg(t, r) * (1 + 1e-12)


def test_vertex_maximum_is_the_box_maximum():
    """Coordinate-wise convexity: random points of the box never beat the best vertex."""
    rng = np.random.default_rng(2)
    for fb, x in ((f_hyp, [2.0, 0.5]), (f_deg, [1.0, 0.0])):
        x = np.array(x)
        w = EPS * (np.abs(x) + 1)
        Y = x + w * (2 * rng.random((100000, 2)) - 1)
        assert fb(Y).max() <= fb(x + vertices(2) * w).max()
    assert eps_sharp_vertices(f_deg, [2.0, 0.0], EPS) == pytest.approx(100 * EPS ** 4 * (1 + (2 + 3 * EPS) ** 2), rel=1e-12)


def test_band_areas_against_grid_counts():
    for a in (1.0, 2.0, 1 / 3):
        g = np.linspace(-H, H, 3001)
        X, Y = np.meshgrid(a + g, 1 / a + g, indexing="ij")
        frac = np.mean(np.abs(X * Y - 1) <= np.sqrt(2 * LEVEL))
        assert band_area_hyp(a, LEVEL, H) == pytest.approx(frac * (2 * H) ** 2, rel=2e-3)
    for t in (0.0, 2.0):
        g = np.linspace(-H, H, 3001)
        X, Y = np.meshgrid(t + g, g, indexing="ij")
        frac = np.mean(f_deg(np.stack([X, Y], -1)) <= LEVEL)
        assert band_area_deg(t, LEVEL, H) == pytest.approx(frac * (2 * H) ** 2, rel=2e-3)


# ---------------------------------------------------------------------------
# the tables of the notebook


def check_row(printed, lam, tr, es, one, sam, mv, vol=None, vol_tol=None, touches=None):
    assert printed[0] == f"{lam:.4f}" and printed[1] == f"{tr:.4f}"
    assert printed[2] == f"{es:.4e}"
    assert printed[3] == f"{one:.4g}"
    assert printed[4] == f"{sam:.4e}" and printed[5] == f"{mv:.4e}"
    if vol is not None:
        assert abs(float(printed[6]) - vol) <= vol_tol
        assert printed[7] == str(touches)


def test_hyperbola_table():
    alphas = PARAMS["alphas"]
    tab = sharpness_table(f_hyp, [[a, 1 / a] for a in alphas], grad=grad_hyp, hess=hess_hyp, **table_kw())
    for a, row in zip(alphas, tab):
        lam = a * a + 1 / (a * a)
        es = eps_sharp_vertices(f_hyp, [a, 1 / a], EPS)
        mv = fring_hyp(a, R)
        area = band_area_hyp(a, LEVEL, H)
        # the arc of the hyperbola y = 1/x through the centre is in the component and is unbounded,
        # so it leaves the box: the component touches the boundary
        touches = band_touches_box_hyp(a, H)
        # grid volume: cell-centre counting, error well below 5e-4 at 401 cells per axis
        check_row(PRINTED["hyperbola"][a], lam, lam, es, 0.0, mv, mv, area, 5e-4, touches)
        assert row["lambda_max"] == pytest.approx(lam, rel=1e-10) and row["trace"] == pytest.approx(lam, rel=1e-10)
        assert row["eps_sharpness"] == pytest.approx(es, rel=1e-9)
        assert row["sam_exact"] == pytest.approx(mv, rel=1e-9) and row["max_variation"] == pytest.approx(mv, rel=1e-9)
        assert row["sublevel_volume"] == pytest.approx(area, abs=5e-4)
        assert f"{row['sublevel_volume']:.4f}" == PRINTED["hyperbola"][a][6]
        assert row["sublevel_resolved"] and row["sublevel_touches_box"] == touches


def test_degenerate_table():
    ts = PARAMS["degenerate_ts"]
    tab = sharpness_table(f_deg, [[t, 0.0] for t in ts], grad=grad_deg, hess=hess_deg, **table_kw())
    for t, row in zip(ts, tab):
        es = 100 * EPS ** 4 * (1 + (abs(t) + EPS * (abs(t) + 1)) ** 2)
        mv = fring_deg(t, R)
        area = band_area_deg(t, LEVEL, H)
        # the set {|y| <= (level/(1+x^2))^(1/4)} spans the whole x-range of the box: it touches it
        check_row(PRINTED["degenerate"][t], 0.0, 0.0, es, 0.0, mv, mv, area, 5e-4, True)
        assert row["lambda_max"] == 0.0 and row["trace"] == 0.0 and row["sam_one_step"] == 0.0
        assert row["eps_sharpness"] == pytest.approx(es, rel=1e-9)
        assert row["sam_exact"] == pytest.approx(mv, rel=1e-9) and row["max_variation"] == pytest.approx(mv, rel=1e-9)
        assert row["sublevel_volume"] == pytest.approx(area, abs=5e-4)
        assert f"{row['sublevel_volume']:.4f}" == PRINTED["degenerate"][t][6]
        # and the leading term (1 + t^2) r^4 within 1% at r = 0.1
        assert mv / ((1 + t * t) * R ** 4) == pytest.approx(1.0, abs=1e-2)


def test_degenerate_fits_and_signs():
    ts = PARAMS["degenerate_ts"]
    radii = DEFAULT_RADII
    exact = {t: np.array([fring_deg(t, r) for r in radii]) for t in ts}
    for t in ts:
        order, c4 = loglog_fit_order4(radii, exact[t])
        assert (f"{order:.3f}", "4", f"{c4:.4f}", f"{1 + t * t:.4f}") == PRINTED["degenerate_fit"][t]
        fo = flatness_order(f_deg, [t, 0.0], grad=grad_deg, hess=hess_deg, rng=SEED)
        assert fo.order == pytest.approx(order, abs=1e-7)
        assert str(fo.order_rational) == "4"
        assert fo.constant_at_rational == pytest.approx(c4, rel=1e-8)
    for t, sign in zip(ts[1:], PRINTED["degenerate_signs"]):
        # -1: (0, 0) flatter, i.e. its exact profile lies below at every radius
        expected = -1 if np.all(exact[0.0] < exact[t]) else (1 if np.all(exact[0.0] > exact[t]) else 0)
        assert sign == expected
        assert compare_flatness(f_deg, [0.0, 0.0], [t, 0.0], grad=grad_deg, hess=hess_deg, rng=SEED).sign == sign


def test_orbit_table():
    alphas = PARAMS["orbit_alphas"]
    for a in alphas:
        assert f_hyp([a, 1 / a]) == 0.0
        assert f_hyp([a * 0.37, -1.9 / a]) == pytest.approx(f_hyp([0.37, -1.9]), rel=1e-14)  # invariance
    tab = sharpness_table(f_hyp, [[a, 1 / a] for a in alphas], grad=grad_hyp, hess=hess_hyp, **table_kw(level=None))
    for a, row in zip(alphas, tab):
        lam = a * a + 1 / (a * a)
        es = eps_sharp_vertices(f_hyp, [a, 1 / a], EPS)
        mv = fring_hyp(a, R)
        p = PRINTED["orbit"][a]
        assert p[0] == f"{lam:.4f}" and p[1] == f"{lam:.4f}" and p[2] == f"{es:.4e}" and p[3] == "0"
        assert p[4] == f"{mv:.4e}" and p[5] == f"{mv:.4e}"
        assert row["lambda_max"] == pytest.approx(lam, rel=1e-10)
        assert row["eps_sharpness"] == pytest.approx(es, rel=1e-9)
        assert row["max_variation"] == pytest.approx(mv, rel=1e-9) and row["sam_exact"] == pytest.approx(mv, rel=1e-9)


@pytest.fixture(scope="module")
def mf():
    M, m, n, r = mf_problem()
    P = MatrixFactorization(M, r)
    sig = np.sqrt(np.sort(np.linalg.eigvalsh(M.T @ M))[::-1][:r])
    c = (m / n) ** 0.25
    pts = {"balanced": P.pack(*balanced_factors(M, r)), "trace-min": P.pack(*trace_flat_factors(M, r))}
    return M, m, n, r, P, sig, c, pts


def test_mf_header_and_hessian_numbers(mf):
    M, m, n, r, P, sig, c, pts = mf
    assert (f"{sig[0]:.4f}", f"{sig[1]:.4f}", f"{c:.4f}") == PRINTED["mf_header"]
    closed = {"balanced": ((m + n) * sig.sum(), 2 * sig[0]),
              "trace-min": (2 * np.sqrt(m * n) * sig.sum(), sig[0] * (c * c + 1 / (c * c)))}
    for key, z in pts.items():
        X, Y = P.unpack(z)
        J = jacobian(X, Y)
        H = J.T @ J                                                       # Hessian at a global minimum
        assert np.allclose(H, P.hess(z), atol=1e-9)
        tr, lam = float(np.trace(H)), float(np.linalg.eigvalsh(H)[-1])
        assert tr == pytest.approx(closed[key][0], rel=1e-12) and lam == pytest.approx(closed[key][1], rel=1e-10)
        printed = PRINTED["mf"][key]
        assert (f"{tr:.2f}", f"{lam:.2f}") == printed[:2]
        assert P.hessian_trace(z) == pytest.approx(tr, rel=1e-12)
        assert float(P.lambda_max(z)) == pytest.approx(lam, rel=1e-10)


def test_mf_eps_sharpness_by_vertex_enumeration(mf):
    M, m, n, r, P, sig, c, pts = mf
    fb = mf_loss_batch(M, m, n, r)
    for key, z in pts.items():
        es = eps_sharp_vertices(fb, z, EPS)
        assert f"{es:.4f}" == PRINTED["mf"][key][2]
        assert epsilon_sharpness(P.f, z, EPS, grad=P.grad, corners=True, rng=SEED).value == pytest.approx(es, rel=1e-9)
        # coordinate-wise convexity: random points of the box stay below the best vertex
        w = EPS * (np.abs(z) + 1)
        Z = z + w * (2 * np.random.default_rng(3).random((20000, z.size)) - 1)
        assert 100 * fb(Z).max() <= es * (1 + 1e-12)


def golden_min(fun, a, b, tol=1e-7):
    """Golden-section search for the minimizer of a unimodal fun on [a, b]."""
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = fun(c), fun(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = fun(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = fun(d)
    return 0.5 * (a + b)


def test_mf_path_minimizers(mf):
    """Along (c X_b, Y_b / c): trace = (n c² + m c⁻²) tr Σ (minimal at c* = (m/n)^{1/4}),
    λ_max = σ₁ (c² + c⁻²) (minimal at c = 1), and the exact ε-sharpness (box vertices) minimal at
    c_eps, found by golden section where it is unimodal."""
    M, m, n, r, P, sig, c, pts = mf
    fb = mf_loss_batch(M, m, n, r)
    Xb, Yb = P.unpack(pts["balanced"])
    c_star_p, c_eps_p, es_p = PRINTED["mf_path"]

    def point(cc):
        return np.concatenate([(cc * Xb).ravel(), (Yb / cc).ravel()])

    for cc in (0.8, 1.0, c, 1.3):                                    # the closed forms along the path
        H = jacobian(cc * Xb, Yb / cc).T @ jacobian(cc * Xb, Yb / cc)
        assert np.trace(H) == pytest.approx((n * cc ** 2 + m / cc ** 2) * sig.sum(), rel=1e-12)
        assert np.linalg.eigvalsh(H)[-1] == pytest.approx(sig[0] * (cc ** 2 + cc ** -2), rel=1e-10)
    assert f"{c:.4f}" == c_star_p and abs(c ** 4 - m / n) < 1e-12    # d/dc (n c² + m c⁻²) = 0

    def es(cc):
        return eps_sharp_vertices(fb, point(cc), EPS)

    coarse = np.geomspace(0.7, 1.5, 9)
    assert 1.0 <= coarse[np.argmin([es(cc) for cc in coarse])] <= 1.25  # the minimum is in the window
    window = np.linspace(1.0, 1.25, 26)
    vals = np.array([es(cc) for cc in window])
    k = int(np.argmin(vals))
    assert np.all(np.diff(vals[:k + 1]) < 0) and np.all(np.diff(vals[k:]) > 0)   # unimodal on the grid
    c_eps = golden_min(es, window[k - 1], window[k + 1])
    assert f"{c_eps:.2f}" == c_eps_p
    assert (f"{es(1.0):.5f}", f"{es(c_eps):.5f}", f"{es(c):.5f}") == es_p
    assert 1.0 < c_eps < c - 0.01 and es(c_eps) < es(c) < es(1.0)
    assert np.array_equal(point(1.0), pts["balanced"])               # the table's point, checked above


@pytest.fixture(scope="module")
def mf_sphere(mf):
    """Independent SAM exact (ρ) and f° (mf_radii) at both points: key -> [SAM, f°(r1), f°(r2), f°(r3)]."""
    M, m, n, r, P, sig, c, pts = mf
    fb = mf_loss_batch(M, m, n, r)
    out = {}
    for key, z in pts.items():
        X, Y = P.unpack(z)
        J = jacobian(X, Y)
        _, V = np.linalg.eigh(J.T @ J)
        dirs = [V[:, -1], V[:, -2], V[:, -3]]
        out[key] = [sphere_max(fb, z, rr, dirs) for rr in [RHO] + PARAMS["mf_radii"]]
    return out


def test_mf_max_variation_and_sam(mf, mf_sphere):
    M, m, n, r, P, sig, c, pts = mf
    for key, z in pts.items():
        printed = PRINTED["mf"][key]
        sam, *fring = mf_sphere[key]
        assert f"{sam:.5f}" == printed[3]
        assert sam_sharpness(P.f, z, RHO, grad=P.grad, exact=True, hess=P.hess, rng=SEED).value == pytest.approx(sam, rel=1e-7)
        lib = np.asarray(P.max_variation(z, np.array(PARAMS["mf_radii"]), rng=SEED).value)
        for s, v, ind in zip(printed[4], lib, fring):
            assert f"{ind:.5g}" == s
            assert v == pytest.approx(ind, rel=1e-7)
    # balanced smaller at every radius, and for SAM (independent values, by more than their tolerance)
    assert all(b < t * (1 - 1e-3) for b, t in zip(mf_sphere["balanced"], mf_sphere["trace-min"]))


def test_sam_table():
    for p, printed in PRINTED["sam"].items():
        x = np.array(p)
        g = grad_hyp(x)
        gn = abs(x[0] * x[1] - 1) * np.hypot(x[0], x[1])
        assert np.linalg.norm(g) == pytest.approx(gn, rel=1e-14, abs=0)
        one = 0.0 if gn == 0.0 else float(f_hyp(x + RHO * g / np.linalg.norm(g)) - f_hyp(x))
        ex = sam_exact_hyp(x, RHO)
        assert printed == (f"{gn:.4f}", f"{one:.7f}", f"{ex:.7f}", f"{one / ex:.3f}")
        assert sam_sharpness(f_hyp, x, RHO, grad=grad_hyp).value == pytest.approx(one, rel=1e-12, abs=0)
        lib = sam_sharpness(f_hyp, x, RHO, grad=grad_hyp, exact=True, hess=hess_hyp, rng=SEED).value
        assert lib == pytest.approx(ex, rel=1e-9)
        assert one <= ex
    assert PRINTED["sam"][(0.0, 0.0)][2] == f"{RHO ** 2 / 2 + RHO ** 4 / 8:.7f}"          # the saddle
    x = np.array([0.02, 0.02])                                            # ρ||∇f|| - ρ²/2 < 0 near the saddle
    assert np.linalg.norm(grad_hyp(x)) < RHO / 2


def test_volume_table():
    for a, printed in PRINTED["volume"].items():
        p = np.array([a, 1 / a])
        area = band_area_hyp(a, LEVEL, H)
        box = (2 * H) ** 2
        se = box * np.sqrt((area / box) * (1 - area / box) / PARAMS["n_mc"])
        gv = sublevel_volume(f_hyp, p, LEVEL, box_halfwidth=H, grid=GRID, vectorized=True, warn=False)
        mc = sublevel_volume(f_hyp, p, LEVEL, box_halfwidth=H, n_samples=PARAMS["n_mc"], connected=False,
                             rng=SEED, vectorized=True, warn=False)
        assert printed == (f"{gv.volume:.4f}", f"{gv.grid_error:.4f}", str(gv.resolved), str(gv.touches_boundary),
                           f"{mc.volume:.3f}", f"{mc.stderr:.3f}", f"{gv.log_volume:.3f}")
        assert abs(float(printed[0]) - area) <= 5e-4 and abs(float(printed[0]) - area) <= float(printed[1])
        assert abs(float(printed[4]) - area) <= 4 * se + 5e-4                # Monte Carlo within 4 standard errors
        assert printed[5] == f"{se:.3f}"
        assert abs(float(printed[6]) - np.log(area)) <= 5e-3
        assert printed[2:4] == (str(band_thickness_hyp(a, LEVEL) > 3 * 2 * H / GRID), str(band_touches_box_hyp(a, H)))
    # the thin band: s = √(2e-4); thickness ≈ 2s/||∇(xy)|| at (1/3, 3) is below the cell size 2H/41
    s = np.sqrt(2e-4)
    assert 2 * s / np.hypot(1 / 3, 3) < 2 * H / 41
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        thin = sublevel_volume(f_hyp, [1 / 3, 3.0], 1e-4, box_halfwidth=H, grid=41, vectorized=True)
    assert thin.resolved is PRINTED["thin_band"][0]
    # the cell is larger than the band: unresolved, and the printed warning names are the ones raised
    assert PRINTED["thin_band"][0] is not (2 * s / np.hypot(1 / 3, 3) < 2 * H / 41)
    assert PRINTED["thin_band"][1] == ", ".join(sorted({w.category.__name__ for w in caught}))
    assert any(w.category is GridResolutionWarning for w in caught)


def test_box_effect():
    n_curve = 41
    a_vol = 3.0 ** np.linspace(-1.0, 1.0, n_curve)
    j = int(np.flatnonzero(a_vol == 1.0)[0])
    for h, (ratio_s, where_s) in PRINTED["box_effect"].items():
        exact = np.array([band_area_hyp(a, LEVEL, h) for a in a_vol])
        ratio = exact.max() / exact[j]
        where = abs(np.log(a_vol[np.argmax(exact)]) / np.log(3))
        assert (f"{ratio:.3f}", f"{where:.2f}") == (ratio_s, where_s)
        if h == 0.5:
            assert ratio > 1.003 and where > 0          # the box effect: the maximum leaves alpha = 1
        else:
            assert np.argmax(exact) == j


def one_step(f, grad, x):
    """SAM's one step f(x + ρ g/||g||) - f(x), and 0 where g = ∇f(x) = 0."""
    x = np.asarray(x, dtype=float)
    g = grad(x)
    gn = np.linalg.norm(g)
    return 0.0 if gn == 0.0 else float(f(x + RHO * g / gn) - f(x))


def test_summary_from_closed_forms(mf, mf_sphere):
    M, m, n, r, P, sig, c, pts = mf

    def verdict(values, flattest, sharper_is_larger=True):
        v = np.asarray(values, dtype=float)
        if np.allclose(v, v[0], rtol=1e-9, atol=1e-12):
            return "ties"
        return "yes" if (np.argmin(v) if sharper_is_larger else np.argmax(v)) == flattest else "no"

    al, ts, orb = PARAMS["alphas"], PARAMS["degenerate_ts"], PARAMS["orbit_alphas"]
    i1, k1 = al.index(1.0), orb.index(1.0)
    lam_h = [a * a + a ** -2 for a in al]
    lam_o = [a * a + a ** -2 for a in orb]
    es_h = [eps_sharp_vertices(f_hyp, [a, 1 / a], EPS) for a in al]
    es_o = [eps_sharp_vertices(f_hyp, [a, 1 / a], EPS) for a in orb]
    es_d = [100 * EPS ** 4 * (1 + (abs(t) + EPS * (abs(t) + 1)) ** 2) for t in ts]
    mv_h = [fring_hyp(a, R) for a in al]
    mv_o = [fring_hyp(a, R) for a in orb]
    mv_d = [fring_deg(t, R) for t in ts]
    fb = mf_loss_batch(M, m, n, r)
    es_mf = [eps_sharp_vertices(fb, pts[k], EPS) for k in ("balanced", "trace-min")]
    summary = {
        "lambda_max": (verdict(lam_h, i1), verdict([0.0] * 4, 0), verdict(lam_o, k1),
                       verdict([2 * sig[0], sig[0] * (c * c + c ** -2)], 0)),
        "trace": (verdict(lam_h, i1), verdict([0.0] * 4, 0), verdict(lam_o, k1),
                  verdict([(m + n) * sig.sum(), 2 * np.sqrt(m * n) * sig.sum()], 0)),
        "eps-sharpness": (verdict(es_h, i1), verdict(es_d, 0), verdict(es_o, k1), verdict(es_mf, 0)),
        # SAM's one step is 0 at a critical point (the gradient of both functions vanishes there);
        # the factorization column is left out by the notebook (its computed gradient is rounding noise)
        "SAM one step": (verdict([one_step(f_hyp, grad_hyp, [a, 1 / a]) for a in al], i1),
                         verdict([one_step(f_deg, grad_deg, [t, 0.0]) for t in ts], 0),
                         verdict([one_step(f_hyp, grad_hyp, [a, 1 / a]) for a in orb], k1), "n/a"),
        "SAM exact": (verdict(mv_h, i1), verdict(mv_d, 0), verdict(mv_o, k1),
                      verdict([mf_sphere["balanced"][0], mf_sphere["trace-min"][0]], 0)),
        "sublevel volume": (verdict([band_area_hyp(a, LEVEL, H) for a in al], i1, False),
                            verdict([band_area_deg(t, LEVEL, H) for t in ts], 0, False), "n/a", "n/a"),
        "f°(x, r)": (verdict(mv_h, i1), verdict(mv_d, 0), verdict(mv_o, k1),
                     verdict([mf_sphere["balanced"][1], mf_sphere["trace-min"][1]], 0)),
    }
    assert summary == PRINTED["summary"]
