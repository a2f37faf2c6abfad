# %% [markdown]
# # Flatness against classical sharpness, on the same points
#
# > **What the paper says:** its abstract does not compare flatness with the sharpness measures of
# > machine learning. This comparison is the companion's; it rests on the paper's definitions and
# > on the second-order rule $f^\circ(x,r)=\tfrac12\lambda_{\max}r^2+o(r^2)$ at a $C^2$ minimum
# > (notebook 02).
# >
# > **What this notebook adds:** seven measures at the same points, and three cases where they
# > disagree with $f^\circ$: the degenerate minima of $y^4(1+x^2)$ (every Hessian measure is 0),
# > the rescaling of Dinh et al. (2017), and matrix factorization with $m\ne n$ (the Hessian trace
# > prefers an unbalanced point).
# >
# > **Numerical evidence only:** the $m\ne n$ comparison is one instance ($m,n,r=5,3,2$); the
# > $\varepsilon$-sharpness along a path and the sublevel volumes (grids and Monte Carlo in 2-D)
# > are estimates at the printed resolution.
#
# *On the geometry of flat minima* (C. Josz, arXiv:2509.11386) measures flatness by the
# **maximal variation** $f^\circ(x,r)=\sup_{\|y-x\|\le r}|f(y)-f(x)|$ and its leading term
# $c\,r^a$. Machine learning has older *sharpness* measures. This notebook computes all of them
# with `flatlib.sharpness` **at the same points**. It shows where they agree with $f^\circ$
# and where they do not. Every printed number is also checked against a closed form or an
# independent computation in `tests/test_sharpness_numbers.py`.
#
# ## The measures
#
# At a point $x$ of a loss $f:\mathbb R^n\to\mathbb R$:
#
# | measure | formula | `flatlib` |
# |---|---|---|
# | Hessian top eigenvalue | $\lambda_{\max}(\nabla^2 f(x))$ | `hessian_lambda_max` |
# | Hessian trace | $\operatorname{tr}\nabla^2 f(x)=\sum_i\lambda_i$ | `hessian_trace` |
# | $\varepsilon$-sharpness (Keskar et al. 2017) | $100\cdot\dfrac{\max_{y\in C_\varepsilon}f(y)-f(x)}{1+f(x)}$, $C_\varepsilon=\{y:\lvert y_i-x_i\rvert\le\varepsilon(\lvert x_i\rvert+1)\}$ | `epsilon_sharpness` |
# | SAM sharpness, exact | $S_\rho(x)=\max_{\lVert e\rVert\le\rho}f(x+e)-f(x)$ | `sam_sharpness(exact=True)` |
# | SAM sharpness, one step | $f\big(x+\rho\,\nabla f(x)/\lVert\nabla f(x)\rVert\big)-f(x)$ (0 if $\nabla f(x)=0$) | `sam_sharpness` |
# | sublevel-set volume | $\operatorname{vol}$ of the component of $\{f\le f(x)+\ell\}\cap\text{box}$ containing $x$ | `sublevel_volume` |
# | maximal variation | $f^\circ(x,r)=\sup_{\lVert y-x\rVert\le r}\lvert f(y)-f(x)\rvert$ | `max_variation` |
#
# The measures look at different things:
#
# * The **Hessian** measures are second-order. At a $C^2$ minimum, $f^\circ(x,r)=\tfrac12\lambda_{\max}r^2+o(r^2)$
#   (the second-order rule), so $\lambda_{\max}$ is the flatness constant, but only when it is
#   nonzero.
# * **SAM's one step** only uses the gradient, so it is exactly 0 at every critical point, whatever
#   the curvature. The **exact SAM** sharpness is the one-sided maximal variation, and it equals
#   $f^\circ(x,\rho)$ at a local minimum.
# * **$\varepsilon$-sharpness** is a maximum over a *box*, i.e. an $\ell_\infty$ ball whose size
#   depends on $|x_i|$. It is not over a Euclidean ball.
# * The **sublevel volume** is large at flat points (the opposite direction from the others), and it
#   depends on the level and on the box. Along a valley of minima the set is unbounded, so only its
#   part inside the box is measured.
#
# The balanced minima are the flattest here, and the three examples where the measures disagree
# with $f^\circ$ are: degenerate minima (every Hessian measure is 0), the rescaling symmetry of
# Dinh et al. (2017), and matrix factorization with $m\ne n$ (the trace prefers an unbalanced point).

# %% tags=["parameters"]
seed = 0                                  # seed of every multistart / Monte Carlo call
radius = 0.1                              # r of the maximal variation f°(x, r)
eps = 1e-2                                # Keskar et al. box: |y_i - x_i| <= eps (|x_i| + 1)
rho = 0.1                                 # SAM radius
level = 0.005                             # sublevel set {f <= f(x) + level}
box_halfwidth = 0.3                       # box of the sublevel volume: |y_i - x_i| <= box_halfwidth
grid = 401                                # grid cells per axis of the flood fill
n_mc = 40000                              # Monte Carlo samples of the sublevel volume
alphas = [1.0 / 3.0, 0.5, 1.0, 2.0, 3.0]  # minima (alpha, 1/alpha) of 1/2 (xy - 1)^2 in the tables
degenerate_ts = [0.0, 0.5, 1.0, 2.0]      # minima (t, 0) of y^4 (1 + x^2)
orbit_alphas = [0.01, 0.1, 1.0, 10.0, 100.0]  # Dinh et al. rescalings in the table
mf_shape = (5, 3, 2)                      # matrix factorization (m, n, r)
mf_radii = [0.05, 0.5, 2.0]               # radii of f° at the two factorization minima
fast = False                              # True: coarser curves in the figures (smoke runs)

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize_scalar

from flatlib import compare_flatness, flatness_order, max_variation
from flatlib.figures import show, style
from flatlib.problems.matrix_factorization import (MatrixFactorization, balanced_factors, is_balanced,
                                          trace_flat_factors)
from flatlib.sharpness import (BoxBoundaryWarning, GridResolutionWarning, epsilon_sharpness,
                               hessian_lambda_max, hessian_trace, sam_sharpness, sharpness_table,
                               sublevel_volume)

style()
t_start = time.perf_counter()
n_curve = 13 if fast else 41        # points of the curves in the figures


def f_hyp(z):
    """½ (xy - 1)²; accepts a point (2,) or a batch (N, 2)."""
    z = np.asarray(z, dtype=float)
    return 0.5 * (z[..., 0] * z[..., 1] - 1.0) ** 2


def grad_hyp(z):
    return (z[0] * z[1] - 1.0) * np.array([z[1], z[0]])


def hess_hyp(z):
    x, y = z
    return np.array([[y * y, 2 * x * y - 1.0], [2 * x * y - 1.0, x * x]])


def f_deg(z):
    """y⁴ (1 + x²): its minima {y = 0} are degenerate (zero Hessian)."""
    z = np.asarray(z, dtype=float)
    return z[..., 1] ** 4 * (1.0 + z[..., 0] ** 2)


def grad_deg(z):
    x, y = z
    return np.array([2 * x * y ** 4, 4 * y ** 3 * (1 + x * x)])


def hess_deg(z):
    x, y = z
    return np.array([[2 * y ** 4, 8 * x * y ** 3], [8 * x * y ** 3, 12 * y * y * (1 + x * x)]])


def table_kw(**extra):
    kw = dict(grad=None, hess=None, radius=radius, eps=eps, rho=rho, level=level,
              box_halfwidth=box_halfwidth, n_samples=grid ** 2, rng=seed, vectorized=True)
    kw.update(extra)
    return kw


def print_table(tab, first, firsts, vol=True):
    head = (f"{first:>7} {'lam_max':>10} {'trace':>10} {'eps-sharp %':>11} {'SAM 1-step':>10} "
            f"{'SAM exact':>10} {'f°(x,r)':>10}" + (f" {'sublevel vol':>12} {'touches box':>11}" if vol else ""))
    print(head)
    for v, row in zip(firsts, tab):
        line = (f"{v:>7} {row['lambda_max']:10.4f} {row['trace']:10.4f} {row['eps_sharpness']:11.4e} "
                f"{row['sam_one_step']:10.4g} {row['sam_exact']:10.4e} {row['max_variation']:10.4e}")
        if vol:
            line += f" {row['sublevel_volume']:12.4f} {str(bool(row['sublevel_touches_box'])):>11}"
        print(line)


# %% [markdown]
# ## Where they agree: the minima $(\alpha,1/\alpha)$ of $\tfrac12(xy-1)^2$
#
# The global minima of $f(x,y)=\tfrac12(xy-1)^2$ form the hyperbola $xy=1$. At $(\alpha,1/\alpha)$ the
# Hessian is $(1/\alpha,\alpha)(1/\alpha,\alpha)^\top$, of rank one, so
# $\lambda_{\max}=\operatorname{tr}=\alpha^2+\alpha^{-2}$. The Hessian is smallest at the balanced
# minimum $\alpha=1$. Every measure below ranks the points the same way, smallest at $\alpha=1$. The
# exception is the sublevel volume, which is *largest* there, because a flat minimum sits in a thick
# valley. SAM's one step is 0 at every minimum. Parameters: $r=\rho=0.1$, $\varepsilon=10^{-2}$,
# level $\ell=0.005$, box half-width $0.3$.

# %%
pts_hyp = [np.array([a, 1.0 / a]) for a in alphas]
assert all(f_hyp(p) == 0.0 for p in pts_hyp), \
    f"expected exact minima (alpha * (1/alpha) == 1 in floating point), seen f = {[f_hyp(p) for p in pts_hyp]}"
tab_hyp = sharpness_table(f_hyp, pts_hyp, **table_kw(grad=grad_hyp, hess=hess_hyp))
print(f"f = 1/2 (xy - 1)^2 at (alpha, 1/alpha); r = rho = {radius}, eps = {eps}, level = {level}, "
      f"box half-width {box_halfwidth}, {grid}x{grid} grid")
print_table(tab_hyp, "alpha", [f"{a:.4g}" for a in alphas])

i1 = alphas.index(1.0)
lam_hyp = np.array([a * a + 1 / (a * a) for a in alphas])
for name in ("lambda_max", "trace"):                    # alpha^2 + 1/alpha^2 (rank one: trace = lambda_max)
    assert np.allclose(tab_hyp.column(name), lam_hyp, rtol=1e-10), \
        f"expected {name} = alpha² + 1/alpha² (1e-10), seen {tab_hyp.column(name).tolist()} vs {lam_hyp.tolist()}"
assert np.all(tab_hyp.column("sam_one_step") == 0.0), \
    f"expected SAM one step 0 at critical points, seen {tab_hyp.column('sam_one_step').tolist()}"
assert np.array_equal(tab_hyp.column("sam_exact"), tab_hyp.column("max_variation")), \
    f"expected exact SAM = f° at minima, seen {tab_hyp.column('sam_exact').tolist()} vs {tab_hyp.column('max_variation').tolist()}"
# f° = 1/2 lam r^2 (1 + 2r/lam^(3/2) + O(r^2)): above the leading term, by less than 10% at r = 0.1
excess = tab_hyp.column("max_variation") / (0.5 * lam_hyp * radius ** 2) - 1
assert np.all((0 < excess) & (excess <= 0.1)), f"expected f° above ½ lambda r² by 0 to 10%, seen excess {excess.tolist()}"
for name in ("lambda_max", "trace", "eps_sharpness", "sam_exact", "max_variation"):
    assert np.argmin(tab_hyp.column(name)) == i1, \
        f"{name}: expected the smallest value at alpha = 1, seen it at alpha = {alphas[np.argmin(tab_hyp.column(name))]}"
assert np.argmax(tab_hyp.column("sublevel_volume")) == i1, \
    f"expected the largest volume at alpha = 1, seen it at alpha = {alphas[np.argmax(tab_hyp.column('sublevel_volume'))]}"
assert all(row["sublevel_resolved"] for row in tab_hyp), \
    f"expected every band resolved by the grid, seen {[row['sublevel_resolved'] for row in tab_hyp]}"

# %% [markdown]
# The same measures along the hyperbola, each divided by its value at the balanced minimum. For the
# volume we plot $\operatorname{vol}(1)/\operatorname{vol}(\alpha)$, so that every curve means
# "sharper upwards". Every curve is symmetric under $\alpha\leftrightarrow1/\alpha$, because swapping the
# coordinates maps one minimum to the other and leaves $f$, the balls and the boxes unchanged.

# %%
a_curve = 3.0 ** np.linspace(-1.0, 1.0, n_curve if n_curve % 2 else n_curve + 1)   # contains 3**0 = 1
tab_curve = sharpness_table(f_hyp, [np.array([a, 1.0 / a]) for a in a_curve],
                            **table_kw(grad=grad_hyp, hess=hess_hyp))
j1 = int(np.flatnonzero(a_curve == 1.0)[0])
curves = {
    r"$\lambda_{\max}$": (tab_curve.column("lambda_max"), "-", "tab:blue"),
    r"trace $\nabla^2 f$ (dashed, on $\lambda_{\max}$: rank one)": (tab_curve.column("trace"), (0, (4, 4)), "tab:cyan"),
    rf"$\varepsilon$-sharpness, $\varepsilon={eps:g}$": (tab_curve.column("eps_sharpness"), "-", "tab:orange"),
    rf"SAM exact $S_\rho$, $\rho={rho:g}$": (tab_curve.column("sam_exact"), "-", "tab:green"),
    rf"$f^\circ(x,r)$, $r={radius:g}$ (dotted, on $S_\rho$)": (tab_curve.column("max_variation"), (0, (2, 2)), "k"),
    r"1 / sublevel volume": (1.0 / tab_curve.column("sublevel_volume"), "-", "tab:purple"),
}
fig, ax = plt.subplots(figsize=(7.2, 4.4))
for lab, (v, ls, col) in curves.items():
    ax.semilogx(a_curve, v / v[j1], ls=ls, color=col, lw=1.8, label=lab)
    assert np.argmin(v) == j1, f"{lab}: expected the minimum at alpha = 1, seen it at alpha = {a_curve[np.argmin(v)]:.4g}"
ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
ax.set_xlabel(r"$\alpha$ (minimum $(\alpha, 1/\alpha)$)")
ax.set_ylabel("measure / its value at $\\alpha=1$")
ax.set_xticks([1 / 3, 0.5, 1, 2, 3], ["1/3", "1/2", "1", "2", "3"])
ax.minorticks_off()
ax.set_title(r"$f=\frac{1}{2}(xy-1)^2$: every measure is smallest at the balanced minimum $\alpha=1$")
ax.legend(fontsize=8, ncol=2, loc="upper center")
ax.set_ylim(0.9, 5.6)
show(fig, "03_agreement_hyperbola")

# %% [markdown]
# *Figure:* Every curve has its minimum at the balanced point $\alpha=1$; the trace coincides with $\lambda_{\max}$ and the exact SAM sharpness with $f^\circ$, and the sublevel volume (inverted) and the $\varepsilon$-sharpness vary least.

# %% [markdown]
# ## Disagreement 1: degenerate minima, where every Hessian measure is 0
#
# For $f(x,y)=y^4(1+x^2)$ the minima are the line $\{y=0\}$. At $(t,0)$ the gradient and the whole
# Hessian vanish, so $\lambda_{\max}$, the trace and SAM's one step are all 0: they cannot tell the
# minima apart. The maximal variation can:
# $$f^\circ((t,0),r)=\max_{u^2+v^2\le r^2}v^4\big(1+(t+u)^2\big)=(1+t^2)\,r^4+O(r^6),$$
# so the flatness order is $4$ and the constant is $1+t^2$. The flattest minimum is $t=0$. Measures
# that look at the whole neighbourhood (exact SAM, $\varepsilon$-sharpness, the sublevel volume)
# also separate the points. The closed form of $\varepsilon$-sharpness is
# $100\,\varepsilon^4\big(1+(|t|+\varepsilon(|t|+1))^2\big)$, because $f$ is convex in each coordinate
# and so its maximum over a box is at a vertex.

# %%
pts_deg = [np.array([t, 0.0]) for t in degenerate_ts]
tab_deg = sharpness_table(f_deg, pts_deg, **table_kw(grad=grad_deg, hess=hess_deg))
print(f"f = y^4 (1 + x^2) at (t, 0); r = rho = {radius}, eps = {eps}, level = {level}")
print_table(tab_deg, "t", [f"{t:g}" for t in degenerate_ts])
for name in ("lambda_max", "trace", "sam_one_step"):
    assert np.all(np.abs(tab_deg.column(name)) <= 1e-12), f"{name}: expected 0 (1e-12), seen {tab_deg.column(name).tolist()}"
ts = np.array(degenerate_ts)
# f°((t,0), r) = (1 + t^2) r^4 (1 + O(r^2)): within 1% at r = 0.1
q_deg = tab_deg.column("max_variation") / ((1 + ts ** 2) * radius ** 4)
assert np.allclose(q_deg, 1.0, atol=1e-2), f"expected f° = (1 + t²) r⁴ within 1%, seen ratios {q_deg.tolist()}"
eps_closed = 100 * eps ** 4 * (1 + (np.abs(ts) + eps * (np.abs(ts) + 1)) ** 2)
assert np.allclose(tab_deg.column("eps_sharpness"), eps_closed, rtol=1e-9), \
    f"expected the closed form of eps-sharpness (1e-9), seen {tab_deg.column('eps_sharpness').tolist()} vs {eps_closed.tolist()}"
for name in ("eps_sharpness", "sam_exact", "max_variation"):                 # t = 0 is the flattest
    assert np.all(np.diff(tab_deg.column(name)) > 0), f"{name}: expected increasing in t, seen {tab_deg.column(name).tolist()}"
assert np.all(np.diff(tab_deg.column("sublevel_volume")) < 0), \
    f"expected the volume decreasing in t, seen {tab_deg.column('sublevel_volume').tolist()}"

print("\nflatness order and constant, f°((t,0), r) ~ c r^a, fitted on r in [1e-3, 1e-1]:")
print(f"{'t':>4} {'order':>7} {'rational':>8} {'c at 4':>8} {'1 + t^2':>8}")
fits_deg = [flatness_order(f_deg, p, grad=grad_deg, hess=hess_deg, rng=seed) for p in pts_deg]
for t, fo in zip(degenerate_ts, fits_deg):
    print(f"{t:4g} {fo.order:7.3f} {str(fo.order_rational):>8} {fo.constant_at_rational:8.4f} {1 + t * t:8.4f}")
    assert abs(fo.order - 4.0) <= 1e-3 and fo.order_rational == 4, \
        f"t = {t}: expected order 4 (1e-3), seen {fo.order!r}, rational {fo.order_rational!r}"
    assert abs(fo.constant_at_rational / (1 + t * t) - 1.0) <= 1e-4, \
        f"t = {t}: expected the constant 1 + t² = {1 + t * t:g} (1e-4), seen {fo.constant_at_rational!r}"
signs_deg = [compare_flatness(f_deg, pts_deg[0], p, grad=grad_deg, hess=hess_deg, rng=seed).sign
             for p in pts_deg[1:]]
print(f"compare_flatness((0,0), (t,0)) for t = {degenerate_ts[1:]}: signs {signs_deg} (-1: (0,0) is flatter)")
assert signs_deg == [-1] * (len(pts_deg) - 1), f"expected (0, 0) flatter than every (t, 0) (signs -1), seen {signs_deg}"

# %%
t_curve = np.linspace(-2.0, 2.0, n_curve)
fig, axs = plt.subplots(1, 2, figsize=(11.5, 4.4))
ax = axs[0]
mv_t = np.array([max_variation(f_deg, [t, 0.0], radius, grad=grad_deg, hess=hess_deg, rng=seed).value
                 for t in t_curve])
es_t = np.array([epsilon_sharpness(f_deg, [t, 0.0], eps, grad=grad_deg, rng=seed).value for t in t_curve])
lam_t = np.array([float(hessian_lambda_max(lambda z, v: hess_deg(z) @ v, [t, 0.0], hess=hess_deg))
                  for t in t_curve])
tr_t = np.array([float(hessian_trace(lambda z, v: hess_deg(z) @ v, [t, 0.0])) for t in t_curve])
one_t = np.array([sam_sharpness(f_deg, [t, 0.0], rho, grad=grad_deg).value for t in t_curve])
t_fine = np.linspace(-2, 2, 400)
ax.plot(t_fine, 1 + t_fine ** 2, color="0.6", lw=4, alpha=0.6, label=r"leading constant $1+t^2$")
ax.plot(t_curve, mv_t / radius ** 4, "o-", color="k", ms=3.5, lw=1.2, label=rf"$f^\circ((t,0),r)\,/\,r^4$, $r={radius:g}$")
ax.plot(t_curve, es_t / (100 * eps ** 4), "s--", color="tab:orange", ms=3, lw=1.0, mfc="none",
        label=rf"$\varepsilon$-sharpness $/\,(100\,\varepsilon^4)$, $\varepsilon={eps:g}$")
ax.plot(t_curve, lam_t, "-", color="tab:blue", lw=2.2, label=r"$\lambda_{\max}$")
ax.plot(t_curve, tr_t, ls=(0, (4, 4)), color="tab:cyan", lw=2.2, label="trace")
ax.plot(t_curve, one_t, ":", color="tab:red", lw=2.2, label="SAM one step")
ax.annotate(r"$\lambda_{\max}$, trace and SAM one step are all 0 here:" "\n" "three curves drawn on top of each other",
            (0.0, 0.0), xytext=(0, 14), textcoords="offset points", ha="center", fontsize=8,
            arrowprops=dict(arrowstyle="->", color="0.3", lw=0.8))
ax.set_xlabel("$t$ (minimum $(t, 0)$)")
ax.set_ylabel("measure (rescaled)")
ax.set_title(rf"the measures at $(t,0)$; $r=\rho={radius:g}$, $\varepsilon={eps:g}$")
ax.legend(fontsize=8, loc="upper center")
ax.set_ylim(-0.3, 6.6)
ax = axs[1]
r_prof = np.geomspace(1e-3, 1.0, n_curve)
h_mark, h_line = [], []
for t, col in zip((0.0, 1.0, 2.0), ("tab:green", "tab:orange", "tab:purple")):
    prof = max_variation(f_deg, [t, 0.0], r_prof, grad=grad_deg, hess=hess_deg, rng=seed).value
    h_mark += ax.loglog(r_prof, prof, "o", color=col, ms=3.5, mfc="none", label=rf"$f^\circ(({t:g},0),r)$")
    h_line += ax.loglog(r_prof, (1 + t * t) * r_prof ** 4, "-", color=col, lw=1.0, label=rf"$(1+{t:g}^2)\,r^4$")
ax.set_xlabel("radius $r$")
ax.set_ylabel(r"$f^\circ((t,0),r)$")
ax.set_title("order 4, constant $1+t^2$: flattest at $t=0$")
ax.legend(handles=h_mark + h_line, fontsize=8, ncol=2)
fig.suptitle(r"$f(x,y)=y^4(1+x^2)$: degenerate minima $(t,0)$")
assert np.all(lam_t == 0) and np.all(tr_t == 0) and np.all(one_t == 0), \
    f"expected lambda_max, trace and SAM one step all 0, seen max {max(np.abs(lam_t).max(), np.abs(tr_t).max(), np.abs(one_t).max())!r}"
assert np.argmin(mv_t) == np.argmin(np.abs(t_curve)), f"expected f° smallest at t = 0, seen at t = {t_curve[np.argmin(mv_t)]:.4g}"
show(fig, "03_degenerate_minima")

# %% [markdown]
# *Figure:* On the line of degenerate minima the Hessian measures and SAM's one step are identically 0, while $f^\circ/r^4$, the $\varepsilon$-sharpness and the profiles all follow $1+t^2$ and single out $t=0$.

# %% [markdown]
# ## Disagreement 2: the rescaling of Dinh et al. (2017)
#
# The map $(x,y)\mapsto(\alpha x,y/\alpha)$ keeps $xy$, and so it keeps the loss
# $\tfrac12(xy-1)^2$. It maps the balanced minimum $(1,1)$ to $(\alpha,1/\alpha)$, which is just as
# good a minimum. Yet $\lambda_{\max}=\operatorname{tr}=\alpha^2+\alpha^{-2}$ is as large as we
# like. Dinh et al. used this to argue that "sharp minima can generalize", because sharpness is not
# invariant under reparametrization. $f^\circ$ is not invariant either: it blows up along the orbit
# like $\tfrac12(\alpha^2+\alpha^{-2})r^2$. What the flatness viewpoint adds is that the orbit has a
# *flattest representative*, the balanced point, where the conserved quantity $x^2-y^2$ vanishes.
# Its profile lies below the others at every radius we tested. The $\varepsilon$-sharpness box
# grows with $|x_i|$, which partly compensates the rescaling, but the $+1$ in $\varepsilon(|x_i|+1)$
# breaks the invariance.

# %%
rng_check = np.random.default_rng(seed)
for z in rng_check.standard_normal((5, 2)):
    for a in (1e-2, 0.3, 7.0):
        dev = abs(f_hyp([a * z[0], z[1] / a]) - f_hyp(z))                 # invariance
        assert dev <= 1e-12 * max(1.0, f_hyp(z)), f"expected f invariant under the rescaling (1e-12), seen {dev:.1e}"
pts_orbit = [np.array([a, 1.0 / a]) for a in orbit_alphas]
assert all(f_hyp(p) == 0.0 for p in pts_orbit), f"expected exact minima, seen f = {[f_hyp(p) for p in pts_orbit]}"
tab_orbit = sharpness_table(f_hyp, pts_orbit, **table_kw(grad=grad_hyp, hess=hess_hyp, level=None))
print(f"orbit (alpha, 1/alpha) of (1, 1) under (x, y) -> (alpha x, y / alpha); r = rho = {radius}, eps = {eps}")
print_table(tab_orbit, "alpha", [f"{a:g}" for a in orbit_alphas], vol=False)
lam_orbit = np.array([a * a + 1 / (a * a) for a in orbit_alphas])
assert np.allclose(tab_orbit.column("lambda_max"), lam_orbit, rtol=1e-10), \
    f"expected lambda_max = alpha² + 1/alpha² (1e-10), seen {tab_orbit.column('lambda_max').tolist()}"
k1 = orbit_alphas.index(1.0)
for name in ("lambda_max", "trace", "eps_sharpness", "sam_exact", "max_variation"):
    v = tab_orbit.column(name)
    assert np.argmin(v) == k1, f"{name}: expected the smallest value at alpha = 1, seen at {orbit_alphas[np.argmin(v)]}"
    assert v.max() / v[k1] > 50, f"{name}: expected a blow-up (> 50x) along the orbit, seen {v.max() / v[k1]:.3g}x"

# %%
a_wide = 10.0 ** np.linspace(-2.0, 2.0, n_curve if n_curve % 2 else n_curve + 1)
mv_wide = np.array([max_variation(f_hyp, [a, 1 / a], radius, grad=grad_hyp, hess=hess_hyp, rng=seed).value
                    for a in a_wide])
sam_wide = np.array([sam_sharpness(f_hyp, [a, 1 / a], rho, grad=grad_hyp, exact=True, hess=hess_hyp,
                                   rng=seed).value for a in a_wide])
es_wide = np.array([epsilon_sharpness(f_hyp, [a, 1 / a], eps, grad=grad_hyp, rng=seed).value for a in a_wide])
fig, axs = plt.subplots(1, 2, figsize=(11.5, 4.4))
ax = axs[0]
ax.loglog(a_wide, a_wide ** 2 + a_wide ** -2, "-", color="tab:blue", lw=2, label=r"$\lambda_{\max}=$ trace $=\alpha^2+\alpha^{-2}$")
ax.loglog(a_wide, mv_wide / (0.5 * radius ** 2), "o", color="k", ms=3.5, mfc="none",
          label=rf"$f^\circ(x,r)\,/\,(r^2/2)$, $r={radius:g}$")
ax.loglog(a_wide, sam_wide / (0.5 * rho ** 2), "x", color="tab:green", ms=4, label=rf"SAM exact $/\,(\rho^2/2)$, $\rho={rho:g}$ ($=f^\circ$ at a minimum)")
ax.loglog(a_wide, es_wide / (0.5 * 100 * eps ** 2), "-", color="tab:orange", lw=1.2,
          label=rf"$\varepsilon$-sharpness $/\,(50\,\varepsilon^2)$, $\varepsilon={eps:g}$")
ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
ax.set_xlabel(r"rescaling $\alpha$: point $(\alpha, 1/\alpha)$, same loss 0")
ax.set_ylabel("measure (rescaled, log scale)")
ax.set_title("sharpness is arbitrary along the orbit, smallest at the balanced point")
ax.legend(fontsize=8, loc="upper center")
ax.set_ylim(0.5, 3e5)
ax = axs[1]
r_prof = np.geomspace(1e-3, 1.0, n_curve)
profiles = {}
for a, col in zip((1.0, 3.0, 10.0, 30.0), ("k", "tab:green", "tab:orange", "tab:red")):
    profiles[a] = max_variation(f_hyp, [a, 1 / a], r_prof, grad=grad_hyp, hess=hess_hyp, rng=seed).value
    ax.loglog(r_prof, profiles[a], "-", color=col, lw=1.8, label=rf"$\alpha={a:g}$")
ax.set_xlabel("radius $r$")
ax.set_ylabel(r"$f^\circ((\alpha,1/\alpha),r)$")
ax.set_title(r"profiles along the orbit: the balanced one is lowest at every $r$")
ax.legend(fontsize=9)
fig.suptitle(r"$f=\frac{1}{2}(xy-1)^2$ and the rescaling $(x,y)\mapsto(\alpha x, y/\alpha)$")
assert np.argmin(mv_wide) == np.argmin(np.abs(np.log(a_wide))), \
    f"expected f° smallest at alpha = 1, seen at alpha = {a_wide[np.argmin(mv_wide)]:.4g}"
assert all(np.all(profiles[1.0] < profiles[a]) for a in (3.0, 10.0, 30.0)), \
    f"expected the balanced profile lowest at every radius, seen min ratios {[float(np.min(profiles[a] / profiles[1.0])) for a in (3.0, 10.0, 30.0)]}"
signs_orbit = [compare_flatness(f_hyp, [1.0, 1.0], [a, 1 / a], grad=grad_hyp, rng=seed).sign for a in (3.0, 10.0, 30.0)]
assert signs_orbit == [-1, -1, -1], f"expected (1, 1) flatter than every rescaled point (signs -1), seen {signs_orbit}"
show(fig, "03_reparametrization")

# %% [markdown]
# *Figure:* Along the rescaling orbit every measure grows without bound away from $\alpha=1$, and the profile of the balanced point lies below the others at every radius.

# %% [markdown]
# ## Disagreement 3: matrix factorization with $m\ne n$, where the trace prefers an unbalanced point
#
# $f(X,Y)=\tfrac12\|XY^\top-M\|_F^2$ with $X\in\mathbb R^{m\times r}$, $Y\in\mathbb R^{n\times r}$.
# The global minima form orbits $(XG,YG^{-\top})$. On the orbit of the balanced minimizer
# $X_b=U_r\Sigma_r^{1/2}$, $Y_b=V_r\Sigma_r^{1/2}$ (where $X^\top X=Y^\top Y$):
#
# * the Hessian trace at every point is $n\|X\|_F^2+m\|Y\|_F^2$. On the orbit it is minimized where
#   $n\,X^\top X=m\,Y^\top Y$, at $(c_*X_b,Y_b/c_*)$ with $c_*=(m/n)^{1/4}$, and not at the balanced
#   point (trace $2\sqrt{mn}\operatorname{tr}\Sigma_r$ instead of $(m+n)\operatorname{tr}\Sigma_r$);
# * $\lambda_{\max}$ is smallest at the balanced point, where it equals $2\sigma_1$. Along the path
#   $(cX_b,Y_b/c)$ it equals $\sigma_1(c^2+c^{-2})$. The maximal variation is also smallest at the
#   balanced point.
#
# Example: $m=5$, $n=3$, $r=2$, and $M=AB^\top$ with $A$ ($5\times2$) and then $B$ ($3\times2$) drawn by
# `default_rng(0).standard_normal`. Keskar's $\varepsilon$-sharpness is computed exactly here by
# enumerating the $2^{16}$ vertices of the box (`corners=True`). The loss is convex in each coordinate,
# so the maximum over the box is at a vertex. The multistart search alone returns a lower bound that
# is 1% too small in 16 dimensions. At these two points the $\varepsilon$-sharpness ranks the trace
# minimizer flatter, as the trace does. Its box is an $\ell_\infty$ ball, whose corners pick up many
# curvature directions at once; a Euclidean ball picks up only the top one. Two points do not show
# that it prefers $n\,X^\top X=m\,Y^\top Y$, though: the figure below follows it along the whole path.
# SAM's one step is left out here. At these minima the computed gradient is rounding noise
# ($\|\nabla f\|\approx10^{-14}$, not exactly 0), so the "ascent direction" is arbitrary. With the
# default `gtol=0`, `sam_sharpness` returns $f$ at a step in that arbitrary direction, not 0.

# %%
m, n, r = mf_shape
g_mf = np.random.default_rng(0)
A_mf = g_mf.standard_normal((m, r))
B_mf = g_mf.standard_normal((n, r))
M = A_mf @ B_mf.T
P = MatrixFactorization(M, r)
sig = np.linalg.svd(M, compute_uv=False)[:r]
Xb, Yb = balanced_factors(M, r)
Xt, Yt = trace_flat_factors(M, r)
zb, zt = P.pack(Xb, Yb), P.pack(Xt, Yt)
c_star = (m / n) ** 0.25
assert is_balanced(Xb, Yb) and np.allclose(n * Xt.T @ Xt, m * Yt.T @ Yt, atol=1e-10), \
    f"expected XᵀX = YᵀY and nXᵀX = mYᵀY, seen {np.abs(Xb.T @ Xb - Yb.T @ Yb).max():.1e}, {np.abs(n * Xt.T @ Xt - m * Yt.T @ Yt).max():.1e}"
assert P.f(zb) <= 1e-20 and P.f(zt) <= 1e-20, f"expected two global minima (f <= 1e-20), seen {P.f(zb):.1e}, {P.f(zt):.1e}"
for z in (zb, zt):    # the gradient is rounding noise; a gradient tolerance restores SAM's 0 at a critical point
    one_mf = sam_sharpness(P.f, z, rho, grad=P.grad, gtol=1e-10).value
    assert np.linalg.norm(P.grad(z)) <= 1e-10 and one_mf == 0.0, \
        f"expected |grad| <= 1e-10 and SAM one step 0, seen {np.linalg.norm(P.grad(z)):.1e}, {one_mf!r}"
mf = {}
for key, z in (("balanced", zb), ("trace-min", zt)):
    mf[key] = dict(
        trace=P.hessian_trace(z),
        lam=float(P.lambda_max(z)),
        eps=epsilon_sharpness(P.f, z, eps, grad=P.grad, corners=True, rng=seed).value,
        sam=sam_sharpness(P.f, z, rho, grad=P.grad, exact=True, hess=P.hess, rng=seed).value,
        mv=np.asarray(P.max_variation(z, np.array(mf_radii), rng=seed).value),
    )
print(f"m, n, r = {m}, {n}, {r}; singular values of M: {sig[0]:.4f}, {sig[1]:.4f}; c* = (m/n)^(1/4) = {c_star:.4f}")
print(f"{'point':>10} {'trace':>7} {'lam_max':>7} {'eps-sharp %':>11} {'SAM exact':>9} "
      + " ".join(f"{'f°(x,' + format(rr, 'g') + ')':>11}" for rr in mf_radii))
for key, d in mf.items():
    print(f"{key:>10} {d['trace']:7.2f} {d['lam']:7.2f} {d['eps']:11.4f} {d['sam']:9.5f} "
          + " ".join(f"{v:11.5g}" for v in d["mv"]))
b, t = mf["balanced"], mf["trace-min"]
for got, want, what in [(b["trace"], (m + n) * sig.sum(), "trace at balanced = (m+n) tr Σ"),
                        (t["trace"], 2 * np.sqrt(m * n) * sig.sum(), "trace at trace-min = 2√(mn) tr Σ"),
                        (b["lam"], 2 * sig[0], "lambda_max at balanced = 2σ₁"),
                        (t["lam"], sig[0] * (c_star ** 2 + c_star ** -2), "lambda_max at trace-min = σ₁(c*² + c*⁻²)")]:
    assert abs(got - want) <= 1e-9 * got, f"expected {what} = {want!r} (1e-9), seen {got!r}"
assert t["trace"] < b["trace"] and b["lam"] < t["lam"], \
    f"expected the disagreement (trace smaller, lambda_max larger at trace-min), seen traces {b['trace']:.4f}, {t['trace']:.4f}, lambda {b['lam']:.4f}, {t['lam']:.4f}"
assert np.all(b["mv"] < t["mv"]) and b["sam"] < t["sam"], \
    f"expected f° and exact SAM smaller at balanced, seen f° {b['mv'].tolist()} vs {t['mv'].tolist()}, SAM {b['sam']!r} vs {t['sam']!r}"
assert t["eps"] < b["eps"], f"expected eps-sharpness smaller at trace-min, seen {t['eps']!r} vs {b['eps']!r}"
# small radius: f° = 1/2 lambda_max r^2 (1 + O(r)), within 5% at r = 0.05
q_mf = np.array([b["mv"][0], t["mv"][0]]) / (0.5 * np.array([b["lam"], t["lam"]]) * mf_radii[0] ** 2)
assert np.all(np.abs(q_mf - 1) <= 5e-2), f"expected f° / (½ lambda r²) = 1 within 5% at r = {mf_radii[0]}, seen {q_mf.tolist()}"

# %% [markdown]
# Along the path $(cX_b,Y_b/c)$ of global minima we follow every measure. The $\varepsilon$-sharpness
# is the maximum of $f$ over the $2^{16}$ vertices of the box (exact, by coordinate-wise convexity, as
# above). Here it is evaluated on all vertices at once with array operations, and checked against
# `epsilon_sharpness(corners=True)` at the two points of the table. Its minimizer $c_\varepsilon$ is
# refined by a bounded scalar search around the best point of a grid.

# %%
k_mf = m * r
vertices = np.array(np.meshgrid(*([[-1.0, 1.0]] * P.n), indexing="ij")).reshape(P.n, -1).T   # 2^16 signs


def eps_sharp_path(c):
    """Keskar eps-sharpness (percent) at (c X_b, Y_b / c): max of f over the 2^16 box vertices."""
    z = P.pack(c * Xb, Yb / c)
    fz = P.f(z)
    Z = z + vertices * (eps * (np.abs(z) + 1.0))
    R = Z[:, :k_mf].reshape(-1, m, r) @ Z[:, k_mf:].reshape(-1, n, r).transpose(0, 2, 1) - M
    return 100.0 * (0.5 * np.einsum("kij,kij->k", R, R).max() - fz) / (1.0 + fz)


for c_, e_ in ((1.0, b["eps"]), (c_star, t["eps"])):                       # = epsilon_sharpness(corners=True)
    assert abs(eps_sharp_path(c_) - e_) <= 1e-9 * e_, \
        f"c = {c_:.4f}: expected the vertex maximum = epsilon_sharpness(corners=True) (1e-9), seen {eps_sharp_path(c_)!r} vs {e_!r}"
c_path = np.union1d(np.geomspace(0.7, 1.5, n_curve // 2 + 1), [1.0, c_star])
tr_path = np.array([P.hessian_trace(P.pack(c * Xb, Yb / c)) for c in c_path])
lam_path = np.array([float(P.lambda_max(P.pack(c * Xb, Yb / c))) for c in c_path])
mv_path = np.array([P.max_variation(P.pack(c * Xb, Yb / c), np.array(mf_radii), rng=seed).value for c in c_path])
es_path = np.array([eps_sharp_path(c) for c in c_path])
c_zoom = np.linspace(1.0, 1.25, 11 if fast else 26)
es_zoom = np.array([eps_sharp_path(c) for c in c_zoom])
j_e = int(np.argmin(es_zoom))
c_eps = minimize_scalar(eps_sharp_path, bounds=(c_zoom[max(j_e - 1, 0)], c_zoom[min(j_e + 1, c_zoom.size - 1)]),
                        method="bounded", options={"xatol": 1e-6}).x
es_min = eps_sharp_path(c_eps)
i_b, i_t = int(np.flatnonzero(c_path == 1.0)[0]), int(np.flatnonzero(c_path == c_star)[0])
print("minimizer along (c X_b, Y_b / c), c in [0.7, 1.5]:")
print(f"  lambda_max, f°(x, r) for r = {', '.join(f'{rr:g}' for rr in mf_radii)}: c = 1 (balanced)")
print(f"  trace: c* = (m/n)^(1/4) = {c_star:.4f}")
print(f"  eps-sharpness: c_eps = {c_eps:.2f}; eps-sharpness % at c = 1: {es_path[i_b]:.5f}, "
      f"at c_eps: {es_min:.5f}, at c*: {es_path[i_t]:.5f}")
assert np.argmin(tr_path) == i_t and np.argmin(lam_path) == i_b, \
    f"expected the trace smallest at c* and lambda_max at 1, seen c = {c_path[np.argmin(tr_path)]:.4f}, {c_path[np.argmin(lam_path)]:.4f}"
assert np.all(np.argmin(mv_path, axis=0) == i_b), f"expected f° smallest at c = 1, seen c = {c_path[np.argmin(mv_path, axis=0)].tolist()}"
# the eps-sharpness minimizer: below every grid value, strictly between the balanced point and c*
assert es_min <= min(es_zoom.min(), es_path.min()) and 1.0 < c_eps < c_star - 0.01, \
    f"expected the minimizer below every grid value, with 1 < c_eps < c* - 0.01 = {c_star - 0.01:.4f}, seen c_eps = {c_eps:.4f}"
assert es_min < es_path[i_t] < es_path[i_b], \
    f"expected eps-sharpness at c_eps < at c* < at 1, seen {es_min!r}, {es_path[i_t]!r}, {es_path[i_b]!r}"

fig, axs = plt.subplots(1, 3, figsize=(15.5, 4.5), gridspec_kw={"width_ratios": [1.15, 0.85, 1.0]})
ax = axs[0]
ax.semilogx(c_path, tr_path / tr_path[i_b], "-", color="tab:cyan", lw=2, label="trace")
ax.semilogx(c_path, lam_path / lam_path[i_b], "-", color="tab:blue", lw=2, label=r"$\lambda_{\max}$")
ax.semilogx(c_path, es_path / es_path[i_b], "-", color="tab:orange", lw=2,
            label=rf"$\varepsilon$-sharpness, $\varepsilon={eps:g}$")
for k, (rr, ls) in enumerate(zip(mf_radii, ("--", "-.", ":"))):
    ax.semilogx(c_path, mv_path[:, k] / mv_path[i_b, k], ls=ls, color="k", lw=1.4, label=rf"$f^\circ(x,{rr:g})$")
ax.plot([1.0], [1.0], "o", color="tab:blue", ms=6, zorder=5, label=r"minimum of $\lambda_{\max}$ and $f^\circ$: $c=1$")
ax.plot([c_star], [tr_path[i_t] / tr_path[i_b]], "o", color="tab:cyan", ms=6, zorder=5,
        label=rf"minimum of the trace: $c_*={c_star:.3f}$")
# c_eps is found to xatol = 1e-6, where round-off can move it: drawn at c_eps rounded to 1e-4
c_eps_plot = round(float(c_eps), 4)
ax.plot([c_eps_plot], [eps_sharp_path(c_eps_plot) / es_path[i_b]], "o", color="tab:orange", ms=6, zorder=5,
        label=rf"minimum of $\varepsilon$-sharpness: $c_\varepsilon\approx{c_eps:.2f}$")
ax.set_xlabel(r"$c$: global minimum $(c\,X_b,\ Y_b/c)$")
ax.set_ylabel("measure / its value at the balanced point $c=1$")
ax.set_ylim(0.95, 1.8)
ax.set_xticks([0.7, 0.8, 1.0, 1.2, 1.5], ["0.7", "0.8", "1", "1.2", "1.5"])
ax.minorticks_off()
ax.set_title(r"$\lambda_{\max}$ and $f^\circ$ are smallest at $c=1$, the trace at $c_*$")
ax.legend(fontsize=7.5, loc="upper center", ncol=2)
ax = axs[1]
ax.plot(c_zoom, es_zoom, "o-", color="tab:orange", ms=3.5, lw=1.4, label=rf"$\varepsilon$-sharpness, $\varepsilon={eps:g}$")
ax.axvline(c_eps_plot, color="tab:orange", lw=1.0, ls="--", label=rf"its minimizer $c_\varepsilon\approx{c_eps:.2f}$")
ax.axvline(c_star, color="tab:cyan", lw=1.4, ls=":", label=rf"trace minimizer $c_*={c_star:.3f}$")
ax.axvline(1.0, color="tab:blue", lw=1.0, ls=":", label=r"balanced, $c=1$")
ax.set_xlabel(r"$c$: global minimum $(c\,X_b,\ Y_b/c)$")
ax.set_ylabel(r"$\varepsilon$-sharpness (%)")
ax.set_title(r"zoom: $\varepsilon$-sharpness is smallest at $c_\varepsilon<c_*$")
ax.legend(fontsize=7.5, loc="upper center")
ax = axs[2]
r_ratio = np.geomspace(1e-2, 3.0, n_curve // 2 + 1)
ratio = (np.asarray(P.max_variation(zt, r_ratio, rng=seed).value)
         / np.asarray(P.max_variation(zb, r_ratio, rng=seed).value))
ax.semilogx(r_ratio, ratio, "o-", color="k", ms=3.5, lw=1.2, label=r"$f^\circ(x_{\rm tr},r)\,/\,f^\circ(x_b,r)$")
ax.axhline(t["lam"] / b["lam"], color="tab:blue", lw=1, ls="--", label=r"$\lambda_{\max}$ ratio (limit $r\to0$)")
ax.axhline(t["trace"] / b["trace"], color="tab:cyan", lw=1, ls="--", label="trace ratio")
ax.axhline(1.0, color="0.5", lw=0.8)
ax.set_xlabel("radius $r$")
ax.set_ylabel(r"value at $x_{\rm tr}=(c_*X_b,Y_b/c_*)$ / at $x_b=(X_b,Y_b)$")
ax.set_title(r"$f^\circ$ is larger at $x_{\rm tr}$ at every radius tested")
ax.legend(fontsize=8, loc="center right")
fig.suptitle(rf"matrix factorization $m={m}$, $n={n}$, $r={r}$: the measures along the orbit of global minima")
assert np.all(ratio > 1.0), f"expected f° larger at the trace-min point at every radius, seen min ratio {ratio.min()!r}"
show(fig, "03_matrix_factorization")

# %% [markdown]
# *Figure:* along the path of global minima, $\lambda_{\max}$ and $f^\circ$ are smallest at the
# balanced point, the trace at $c_*$, and the $\varepsilon$-sharpness at $c_\varepsilon\approx1.12$,
# between the two and close to $c_*$ but not at it; at every radius tested $f^\circ$ is larger at the
# trace minimizer than at the balanced point.

# %% [markdown]
# ## SAM sharpness: one ascent step against the exact maximum
#
# SAM replaces the inner maximization $\max_{\|e\|\le\rho}f(x+e)$ by a single normalized gradient
# step $e=\rho\,\nabla f(x)/\|\nabla f(x)\|$. Its point lies in the ball, so the one-step value is a
# **lower bound** of the exact SAM sharpness everywhere. At a critical point the step is undefined
# and the estimate is **0**, whatever the curvature. At the saddle $(0,0)$ of $\tfrac12(xy-1)^2$
# the exact value is $\rho^2/2+\rho^4/8$, because $xy$ reaches $-\rho^2/2$ on the ball. Near the
# saddle the gradient is small and the curvature along it is negative, so the one step can even
# *decrease* the loss: $f(x+e)-f(x)\approx\rho\|\nabla f\|-\tfrac12\rho^2<0$ when
# $\|\nabla f\|<\rho/2$ (point $(0.02,0.02)$). Where the gradient is large, the one step is close
# to the maximum.

# %%
pts_sam = [(0.0, 0.0), (1.0, 1.0), (2.0, 0.5), (0.02, 0.02), (0.5, 0.5), (1.2, 1.0), (1.5, 1.5)]
print(f"f = 1/2 (xy - 1)^2, rho = {rho}")
print(f"{'point':>12} {'|grad f|':>9} {'SAM 1-step':>11} {'SAM exact':>10} {'ratio':>6}")
sam_rows = []
for p in pts_sam:
    one = sam_sharpness(f_hyp, p, rho, grad=grad_hyp)
    ex = sam_sharpness(f_hyp, p, rho, grad=grad_hyp, exact=True, hess=hess_hyp, rng=seed)
    sam_rows.append((one.value, ex.value, one.grad_norm))
    print(f"{str(p):>12} {one.grad_norm:9.4f} {one.value:11.7f} {ex.value:10.7f} {one.value / ex.value:6.3f}")
    assert one.value <= ex.value * (1 + 1e-12), f"{p}: expected one step <= exact (a lower bound), seen {one.value!r} > {ex.value!r}"
    assert (one.value == 0.0) == (one.grad_norm == 0.0), \
        f"{p}: expected one step 0 exactly at critical points, seen value {one.value!r} with |grad| {one.grad_norm!r}"
assert abs(sam_rows[0][1] - (rho ** 2 / 2 + rho ** 4 / 8)) <= 1e-12, \
    f"expected exact SAM ρ²/2 + ρ⁴/8 = {rho ** 2 / 2 + rho ** 4 / 8!r} at the saddle (1e-12), seen {sam_rows[0][1]!r}"
assert sam_rows[3][0] < 0 < sam_rows[3][1], f"expected a negative one step and positive exact SAM near the saddle, seen {sam_rows[3][:2]}"

# %%
t_diag = np.union1d(np.linspace(0.0, 1.3, 3 * n_curve), np.r_[np.linspace(0.0, 0.15, n_curve), 1.0])  # x = y = t
one_d = np.array([sam_sharpness(f_hyp, [t, t], rho, grad=grad_hyp).value for t in t_diag])
ex_d = np.array([sam_sharpness(f_hyp, [t, t], rho, grad=grad_hyp, exact=True, hess=hess_hyp, rng=seed).value
                 for t in t_diag])
fig, axs = plt.subplots(1, 2, figsize=(11.5, 4.2))
ax = axs[0]
ax.plot(t_diag, ex_d, "-", color="tab:green", lw=2, label=r"exact $S_\rho$")
ax.plot(t_diag, one_d, "--", color="tab:red", lw=1.6, label="SAM one step")
ax.plot([0.0, 1.0], [0.0, 0.0], "o", color="tab:red", ms=5, label="one step at the critical points")
for tc, lab in ((0.0, "saddle"), (1.0, "minimum")):
    ax.axvline(tc, color="0.6", lw=0.8, ls=":")
    ax.annotate(lab, (tc, 0.9 * ex_d.max()), xytext=(4, 0), textcoords="offset points", fontsize=8)
ax.set_xlabel("$t$ (point $(t,t)$)")
ax.set_ylabel(rf"sharpness, $\rho={rho:g}$")
ax.set_title(r"$f=\frac{1}{2}(xy-1)^2$ along the diagonal")
ax.legend(fontsize=8, loc="upper center")
ax = axs[1]
ax.plot(t_diag, one_d / ex_d, "-", color="tab:red", lw=1.6)
ax.axhline(1.0, color="0.5", lw=0.8)
ax.set_ylim(min(-0.1, 1.1 * (one_d / ex_d).min()), 1.1)
ax.set_xlabel("$t$ (point $(t,t)$)")
ax.set_ylabel("one step / exact")
ax.set_title("one step / exact: 0 at critical points, < 0 near the saddle")
assert np.all(one_d <= ex_d * (1 + 1e-12)), f"expected one step <= exact along the diagonal, seen max ratio {np.max(one_d / ex_d)!r}"
assert np.all(one_d[np.isin(t_diag, [0.0, 1.0])] == 0.0), \
    f"expected one step 0 at the critical points t = 0, 1, seen {one_d[np.isin(t_diag, [0.0, 1.0])].tolist()}"
show(fig, "03_sam_one_step")

# %% [markdown]
# *Figure:* SAM's one step matches the exact maximum where the gradient is large, is 0 at the saddle and at the minimum, and is negative just next to the saddle.

# %% [markdown]
# ## Sublevel-set volume in 2-D
#
# The volume of the component of $\{f\le f(x)+\ell\}$ containing $x$ is estimated in the box
# $|y_i-x_i|\le h$ in two ways: by flood fill on a grid (deterministic, connected component), and by
# Monte Carlo (seeded, all components in the box, with a standard error). Around the minima of
# $\tfrac12(xy-1)^2$ this set is the band $|xy-1|\le\sqrt{2\ell}$ along the hyperbola. The band is
# unbounded, so it **always reaches the box** and the volume is only that of the band inside the box.
# It is a lower bound that depends on $h$, and it is comparable between points only at the same
# $\ell$ and $h$. The band is about $2\sqrt{2\ell}/\sqrt{\alpha^2+\alpha^{-2}}$ thick, so it is
# thickest at the balanced minimum. The flood fill is reliable only when the grid resolves that
# thickness. `sublevel_volume` flags this (`resolved`, and a `GridResolutionWarning`), as the last
# line shows with a thin band on a coarse grid.

# %%
pts_vol = [np.array([1.0, 1.0]), np.array([2.0, 0.5]), np.array([1.0 / 3.0, 3.0])]
print(f"level = {level}, box half-width = {box_halfwidth}; grid {grid}x{grid}; Monte Carlo {n_mc} samples (seed {seed})")
print(f"{'minimum':>12} {'grid vol':>9} {'grid err':>9} {'resolved':>8} {'touches':>7} {'MC vol':>7} {'MC stderr':>9} {'log vol':>8}")
vols = []
for p in pts_vol:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoxBoundaryWarning)        # expected here: the band is unbounded
        warnings.simplefilter("error", GridResolutionWarning)      # must not happen at these settings
        gv = sublevel_volume(f_hyp, p, level, box_halfwidth=box_halfwidth, grid=grid, vectorized=True)
        mc = sublevel_volume(f_hyp, p, level, box_halfwidth=box_halfwidth, n_samples=n_mc, connected=False,
                             rng=seed, vectorized=True)
    vols.append((gv, mc))
    lab = f"({p[0]:.3g}, {p[1]:.3g})"
    print(f"{lab:>12} {gv.volume:9.4f} {gv.grid_error:9.4f} {str(gv.resolved):>8} {str(gv.touches_boundary):>7} "
          f"{mc.volume:7.3f} {mc.stderr:9.3f} {gv.log_volume:8.3f}")
    assert gv.resolved and gv.touches_boundary and mc.touches_boundary, \
        f"{lab}: expected a resolved band touching the box, seen resolved={gv.resolved}, touches={gv.touches_boundary}, {mc.touches_boundary}"
    assert abs(mc.volume - gv.volume) <= 4 * mc.stderr + gv.grid_error, \
        f"{lab}: expected the two estimates to agree (4 stderr + grid error = {4 * mc.stderr + gv.grid_error:.4f}), seen {mc.volume:.4f} vs {gv.volume:.4f}"
assert vols[0][0].volume > vols[1][0].volume > vols[2][0].volume, \
    f"expected the volume largest at the flattest minimum, seen {[v[0].volume for v in vols]}"

# the resolution flag: a thin band (level 1e-4, about 0.01 thick at (1/3, 3)) on a 41x41 grid
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    thin = sublevel_volume(f_hyp, pts_vol[2], 1e-4, box_halfwidth=box_halfwidth, grid=41, vectorized=True)
kinds = sorted({w.category.__name__ for w in caught})
print(f"thin band at (1/3, 3), level 1e-4, 41x41 grid: resolved = {thin.resolved}, warnings: {', '.join(kinds)}")
assert not thin.resolved and "GridResolutionWarning" in kinds, \
    f"expected an unresolved thin band with a GridResolutionWarning, seen resolved={thin.resolved}, warnings {kinds}"

# %% [markdown]
# The box decides part of the answer. With a box that is large compared with the curvature of the
# hyperbola, the band inside the box is longest at points other than $(1,1)$. The volume is then no
# longer largest at the balanced minimum (right panel, $h=0.5$), although the band is thickest there.

# %%
a_vol = 3.0 ** np.linspace(-1.0, 1.0, n_curve if n_curve % 2 else n_curve + 1)
j_vol = int(np.flatnonzero(a_vol == 1.0)[0])
h_list = (0.2, box_halfwidth, 0.5)
vol_curves = {}
for h in h_list:
    vol_curves[h] = np.array([sublevel_volume(f_hyp, [a, 1 / a], level, box_halfwidth=h, grid=grid,
                                              vectorized=True, warn=False).volume for a in a_vol])
for h in h_list:
    v = vol_curves[h]
    print(f"box half-width {h:g}: max over alpha of vol / vol at alpha = 1: {v.max() / v[j_vol]:.3f}, "
          f"reached at |log3 alpha| = {abs(np.log(a_vol[np.argmax(v)]) / np.log(3)):.2f}")
assert np.argmax(vol_curves[0.2]) == j_vol and np.argmax(vol_curves[box_halfwidth]) == j_vol, \
    f"expected the largest volume at alpha = 1 for half-widths 0.2 and {box_halfwidth}, seen alpha = " \
    f"{a_vol[np.argmax(vol_curves[0.2])]:.4g}, {a_vol[np.argmax(vol_curves[box_halfwidth])]:.4g}"
assert vol_curves[0.5].max() / vol_curves[0.5][j_vol] > 1.003, \
    f"expected the half-width 0.5 box to move the maximum off alpha = 1 (> 0.3%), seen {vol_curves[0.5].max() / vol_curves[0.5][j_vol]:.5f}"

fig, axs = plt.subplots(1, 2, figsize=(11.5, 4.6))
ax = axs[0]
gx = np.linspace(0.0, 3.6, 700)
GX, GY = np.meshgrid(gx, gx)
ax.contourf(GX, GY, f_hyp(np.stack([GX, GY], axis=-1)), levels=[0.0, level], colors=["tab:purple"], alpha=0.35)
ax.plot(gx[gx > 0.27], 1 / gx[gx > 0.27], color="k", lw=0.8, label="minima $xy=1$")
for k, p in enumerate(pts_vol):
    ax.add_patch(plt.Rectangle(p - box_halfwidth, 2 * box_halfwidth, 2 * box_halfwidth, fill=False,
                               color="tab:blue", lw=1.2, label=f"box, half-width {box_halfwidth:g}" if k == 0 else None))
    ax.plot(*p, "ko", ms=3)
    ax.annotate(f"vol {vols[k][0].volume:.4f}", p + box_halfwidth, xytext=(2, 2), textcoords="offset points", fontsize=8)
ax.fill_between([], [], color="tab:purple", alpha=0.35, label=rf"band $f\leq{level:g}$")
ax.set_xlim(0, 3.6)
ax.set_ylim(0, 3.6)
ax.set_aspect("equal")
ax.grid(False)
ax.set_xlabel("$x$")
ax.set_ylabel("$y$")
ax.set_title("the sublevel band inside each box")
ax.legend(fontsize=8, loc="upper right")
ax = axs[1]
for h, col, ls, zo in zip(h_list, ("tab:green", "tab:purple", "tab:red"), ("--", "-", "-"), (3, 2, 2)):
    lab = f"half-width {h:g}" + (f" (dashed: on top of {box_halfwidth:g})" if h == h_list[0] else "")
    ax.semilogx(a_vol, vol_curves[h] / vol_curves[h][j_vol], ls=ls, color=col, lw=1.8, zorder=zo, label=lab)
ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
ax.set_xticks([1 / 3, 0.5, 1, 2, 3], ["1/3", "1/2", "1", "2", "3"])
ax.minorticks_off()
ax.set_xlabel(r"$\alpha$ (minimum $(\alpha,1/\alpha)$)")
ax.set_ylabel("sublevel volume / its value at $\\alpha=1$")
ax.set_title("a large box moves the maximum off the balanced point")
ax.legend(fontsize=8)
fig.suptitle(rf"$f=\frac{{1}}{{2}}(xy-1)^2$: volume of $\{{f\leq {level:g}\}}$ in a box (grid {grid}$\times${grid})")
show(fig, "03_sublevel_volume")


# %% [markdown]
# *Figure:* The band $f\le\ell$ is thickest at the balanced minimum, so its volume is largest there for boxes of half-width 0.2 and 0.3, but a half-width-0.5 box moves the maximum off $\alpha=1$.

# %% [markdown]
# ## Summary
#
# For each measure: does it rank the points as the maximal variation does? "ties" means that it
# gives the same value to points that $f^\circ$ separates.

# %%
def verdict(values, flattest, sharper_is_larger=True):
    v = np.asarray(values, dtype=float)
    if np.allclose(v, v[0], rtol=1e-9, atol=1e-12):
        return "ties"
    best = np.argmin(v) if sharper_is_larger else np.argmax(v)
    return "yes" if best == flattest else "no"


summary = {
    "lambda_max": (verdict(tab_hyp.column("lambda_max"), i1), verdict(tab_deg.column("lambda_max"), 0),
                   verdict(tab_orbit.column("lambda_max"), k1), verdict([b["lam"], t["lam"]], 0)),
    "trace": (verdict(tab_hyp.column("trace"), i1), verdict(tab_deg.column("trace"), 0),
              verdict(tab_orbit.column("trace"), k1), verdict([b["trace"], t["trace"]], 0)),
    "eps-sharpness": (verdict(tab_hyp.column("eps_sharpness"), i1), verdict(tab_deg.column("eps_sharpness"), 0),
                      verdict(tab_orbit.column("eps_sharpness"), k1), verdict([b["eps"], t["eps"]], 0)),
    "SAM one step": (verdict(tab_hyp.column("sam_one_step"), i1), verdict(tab_deg.column("sam_one_step"), 0),
                     verdict(tab_orbit.column("sam_one_step"), k1), "n/a"),
    "SAM exact": (verdict(tab_hyp.column("sam_exact"), i1), verdict(tab_deg.column("sam_exact"), 0),
                  verdict(tab_orbit.column("sam_exact"), k1), verdict([b["sam"], t["sam"]], 0)),
    "sublevel volume": (verdict(tab_hyp.column("sublevel_volume"), i1, False),
                        verdict(tab_deg.column("sublevel_volume"), 0, False), "n/a", "n/a"),
    "f°(x, r)": (verdict(tab_hyp.column("max_variation"), i1), verdict(tab_deg.column("max_variation"), 0),
                 verdict(tab_orbit.column("max_variation"), k1), verdict([b["mv"][0], t["mv"][0]], 0)),
}
cols = ("hyperbola", "degenerate", "rescaling", "factorization")
print(f"{'measure':>16} " + " ".join(f"{c:>13}" for c in cols))
for name, v in summary.items():
    print(f"{name:>16} " + " ".join(f"{x:>13}" for x in v))
expected_summary = {"f°(x, r)": ("yes",) * 4, "lambda_max": ("yes", "ties", "yes", "yes"),
                    "trace": ("yes", "ties", "yes", "no")}
for key, want in expected_summary.items():
    assert summary[key] == want, f"{key}: expected {want}, seen {summary[key]}"
assert summary["SAM one step"][:3] == ("ties",) * 3 and summary["eps-sharpness"][3] == "no", \
    f"expected SAM one step ties on the first three, eps-sharpness 'no' on the last, seen {summary['SAM one step']}, {summary['eps-sharpness']}"

# %%
# NBVAL_IGNORE_OUTPUT
print(f"whole notebook: {time.perf_counter() - t_start:.1f} s")
