# %% [markdown]
# # Gradient flows of conserved quantities flatten
#
# > **What the paper says** (its abstract): gradient flows of conserved quantities matter "due to
# > their flattening properties". As this companion reads it: the flow of $h=\tfrac12\sum_iQ_i^2$
# > stays on the symmetry orbit, so the loss is constant along it, and for matrix factorization
# > ($\dot X=-XC$, $\dot Y=YC$, $C=X^\top X-Y^\top Y$) it converges to the balanced point of the
# > orbit.
# >
# > **What this notebook adds:** the flow in closed form on $\tfrac12(xy-1)^2$; its limit is the
# > minimal-norm point of the orbit (Kempf–Ness); the flow is flat long before it is balanced
# > ($\lambda_{\max}$ and $f^\circ$ reach their final values while $\lVert C\rVert$ is still far
# > from 0).
# >
# > **Numerical evidence only:** that $t\mapsto f^\circ(x(t),\rho)$ is nonincreasing (at the radii
# > tested, on random instances; the checks pass for seeds 0–3), and the fitted decay rates.
#
# *On the geometry of flat minima* (C. Josz, arXiv:2509.11386) relates flat minima, conservation
# laws and symmetries, and uses gradient flows of the conserved quantities "due to their
# flattening properties". This notebook builds those flows and checks, numerically, what they do:
#
# 1. for conserved quantities $Q_1,\dots,Q_k$ of a linear symmetry group, the flow
#    $\dot x=-\nabla h(x)$ of $h=\tfrac12\sum_iQ_i^2$ is tangent to the symmetry orbit, so the loss
#    $f$ is constant along it;
# 2. for scalar factorization $\tfrac12(xy-1)^2$ it moves each point along its hyperbola
#    $xy=c$ to the balanced point $|x|=|y|$ (phase portrait, closed-form solution);
# 3. for matrix factorization it is $\dot X=-XC$, $\dot Y=YC$ with $C=X^\top X-Y^\top Y$:
#    $\|C\|$ decays, the squared norm decreases at rate $2\operatorname{tr}(C^2)$, $\lambda_{\max}$ of
#    the Hessian decreases, and the maximal variation $f^\circ(x(t),\rho)$ decreases at every radius
#    tested (**flattening**);
# 4. the limit is the balanced point of the same orbit, which is its point of minimal norm
#    (Kempf–Ness).
#
# Each claim: prose, a call into `flatlib` (`flatlib.problems.balancing`, `flatlib.flows`,
# `flatlib.problems.matrix_factorization`, `flatlib.max_variation`), a figure, and checks (`assert` with a
# stated tolerance). Every printed number is re-derived independently in
# `tests/test_flattening_numbers.py`.

# %% [markdown]
# ## The flow of the conserved quantities
#
# Let $x\mapsto e^{tA}x$ be linear symmetries of $f$ and $Q_A(x)=\tfrac12\langle x,Ax\rangle$ the
# Noether charges of the symmetric generators $A_1,\dots,A_k$ (conserved by the gradient flow of
# $f$). With $h(x)=\tfrac12\sum_iQ_i(x)^2$,
# $$\nabla h(x)=\sum_iQ_i(x)\,A_ix ,$$
# a combination of the orbit velocities $A_ix=\tfrac{d}{dt}e^{tA_i}x|_{t=0}$. Hence the flow
# $\dot x=-\nabla h(x)$ is tangent to the orbit, and $\tfrac{d}{dt}f(x(t))=-\sum_iQ_i\langle\nabla
# f(x),A_ix\rangle=0$: **$f$ is constant**, while $h$ decreases to $0$: the flow looks, inside the
# orbit (so inside the set of global minima when it starts at one), for a *balanced* point, where
# all charges vanish.
#
# **Matrix factorization**, $f(X,Y)=\tfrac12\|XY^\top-M\|_F^2$: the symmetry is
# $(X,Y)\mapsto(XG,YG^{-\top})$, the charges are the entries of $C=X^\top X-Y^\top Y$, and
# $h=\tfrac14\|C\|_F^2$ has $\nabla_Xh=XC$, $\nabla_Yh=-YC$. We integrate, in factor form,
# $$\dot X=-XC,\qquad \dot Y=YC$$
# (`flatlib.problems.balancing.balancing_flow`).
# `flatlib.flows.conserved_flow`, which works with a Frobenius-orthonormal basis of charges,
# integrates the same path at the constant slower speed $1/(2(m+n))$ (its time is
# $\tau=2(m+n)\,t$); we check that the two paths agree. Along the flow, with $S=X^\top X+Y^\top Y$:
#
# * $\frac{d}{dt}(XY^\top)=-XCY^\top+XCY^\top=0$, so $f$ is constant;
# * $\frac{d}{dt}X^\top X=\dot X^\top X+X^\top\dot X=-(CX^\top X+X^\top XC)$ and
#   $\frac{d}{dt}Y^\top Y=CY^\top Y+Y^\top YC$, so
#   $$\dot C=-(CS+SC),\qquad \tfrac{d}{dt}\|C\|_F^2=2\operatorname{tr}(C\dot C)=-4\operatorname{tr}(CSC)\le0 ;$$
# * $\frac{d}{dt}(\|X\|_F^2+\|Y\|_F^2)=\operatorname{tr}\frac{d}{dt}(X^\top X+Y^\top Y)
#   =-2\operatorname{tr}\big(C(X^\top X-Y^\top Y)\big)=-2\operatorname{tr}(C^2)$.
#
# Near a balanced limit $S\to S_\infty$, whose eigenvalues are $2\sigma_i$ at a balanced global
# minimum, so $\dot C\approx-(CS_\infty+S_\infty C)$ decays like $e^{-4\sigma_rt}$ in its slowest
# mode.
#
# **Kempf–Ness.** Writing $X=X_0G$, $Y=Y_0G^{-\top}$ and $P=GG^\top$, the squared norm on the orbit is
# $N(P)=\operatorname{tr}(PA)+\operatorname{tr}(P^{-1}B)$ with $A=X_0^\top X_0$, $B=Y_0^\top Y_0$: a
# strictly convex function of $P\succ0$ whose stationarity condition $A=P^{-1}BP^{-1}$ is exactly the
# balance condition $G^\top AG=G^{-1}BG^{-\top}$. So the balanced points of an orbit are its points of
# minimal norm, $2\operatorname{tr}(A^{1/2}BA^{1/2})^{1/2}=2\|X_0Y_0^\top\|_*$, which at a global
# minimum with $\operatorname{rank}M=r$ is $2\operatorname{tr}\Sigma_r$; they are
# $X=U_r\Sigma_r^{1/2}R$, $Y=V_r\Sigma_r^{1/2}R$ with $R$ orthogonal, where $\lambda_{\max}=2\sigma_1$.
# (The flow itself reads $\dot G=-GC$, and $P$ solves the Riccati equation $\dot P=2(B-PAP)$; the
# tests integrate it as an independent check.)

# %% tags=["parameters"]
seed = 2                  # M = A Bᵀ with A (m×r) then B (n×r) from default_rng(seed); the same
                          # generator then draws the unbalanced start (random_global_min)
m, n, r = 5, 4, 3         # sizes of M (m×n) and of the factors' rank r: (m+n)r = 27 parameters
orbit_scale = 1.0         # start (X_b G, Y_b G⁻ᵀ), G = Q₁ diag(exp(orbit_scale ξ)) Q₂
T = 25.0                  # final time of the flow X' = -XC, Y' = YC (at least; see T_end below)
n_times = 600             # output times: 0, fo_times and a geometric grid on [1e-4, T]
radii = [0.1, 0.5, 1.0]   # fixed radii of f°(x(t), ρ)
fo_times = [0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, T]   # times at which f° is computed
n_starts = 4              # random starts of max_variation (besides the Hessian eigenvectors)
fast = False              # True: fewer output times and f° times (smoke runs)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.integrate import cumulative_simpson

from flatlib.problems.balancing import balancing_flow, orbit_balanced_point
from flatlib.figures import show, style
from flatlib.flows import conserved_flow
from flatlib.problems.matrix_factorization import (MatrixFactorization, balanced_factors,
                                          hessian_spectrum_balanced, is_balanced, random_global_min)
from flatlib.symmetry import conserved_quantities

style()
t_start = time.perf_counter()
if fast:
    n_times = min(n_times, 200)
    fo_times = [fo_times[0], fo_times[2], fo_times[4], fo_times[6], fo_times[-1]]


def fmt(x, d=4):
    """Fixed-point format with -0.0000 printed as 0.0000 (stable output)."""
    s = f"{x:.{d}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


# %% [markdown]
# ## Scalar factorization: a phase portrait on the hyperbolas
#
# For $f(x,y)=\tfrac12(xy-1)^2$ ($m=n=r=1$) the flow is $\dot x=-x(x^2-y^2)$,
# $\dot y=y(x^2-y^2)$. It keeps $xy=c$, so every trajectory runs along a level curve of $f$ (the
# level sets of $f$ are unions of the hyperbolas $xy=c$), and it stops on the diagonals $|x|=|y|$,
# the balanced points. On the set of minima $xy=1$ it moves toward $(1,1)$ or $(-1,-1)$, where
# $\lambda_{\max}=x^2+y^2$ is smallest ($=2$). Closed form: on $xy=c$ put $x^2=|c|e^{\theta}$,
# $y^2=|c|e^{-\theta}$; then $C=x^2-y^2=2|c|\sinh\theta$, $\dot C=-2C(x^2+y^2)$ gives
# $\dot\theta=-4|c|\sinh\theta$, i.e.
# $$\tanh\tfrac{\theta(t)}2=\tanh\tfrac{\theta_0}2\,e^{-4|c|t},\qquad
# \lambda_{\max}(t)=x^2+y^2=2|c|\cosh\theta(t) .$$
# Checks: the numerical trajectories agree with the closed form to $10^{-9}$ (relative), $xy$ is
# constant to $10^{-12}$, and the limits are $\operatorname{sign}(x_0,y_0)\sqrt{|c|}$.

# %%
starts = [(3.0, 1.0 / 3.0), (0.25, 4.0), (-2.5, -0.4), (-0.3, -1.0 / 0.3), (2.5, 1.2), (0.6, -2.0)]
t_sc = np.concatenate([[0.0], np.geomspace(1e-4, 5.0, 300)])
scalar = []
print(f"{'start':>16} {'xy':>8} {'limit':>18} {'lambda_max: start':>18} {'end':>7}")
for x0, y0 in starts:
    res = balancing_flow([[x0]], [[y0]], (0.0, t_sc[-1]), t_eval=t_sc)
    x, y = res.X[:, 0, 0], res.Y[:, 0, 0]
    c = x0 * y0
    theta = 2 * np.arctanh(np.tanh(np.log(x0 ** 2 / abs(c)) / 2) * np.exp(-4 * abs(c) * t_sc))
    x_cf = np.sign(x0) * np.sqrt(abs(c)) * np.exp(theta / 2)
    y_cf = np.sign(y0) * np.sqrt(abs(c)) * np.exp(-theta / 2)
    cf_err = max(np.max(np.abs(x - x_cf) / (1e-9 * np.abs(x_cf) + 1e-12)),
                 np.max(np.abs(y - y_cf) / (1e-9 * np.abs(y_cf) + 1e-12)))
    assert cf_err <= 1, f"({x0}, {y0}): expected the closed form to rtol 1e-9 + atol 1e-12, seen {cf_err:.2g} times that"
    xy_err = np.max(np.abs(x * y - c))
    assert xy_err <= 1e-12 * max(1.0, abs(c)), f"({x0}, {y0}): expected xy = {c:g} to 1e-12, seen {xy_err:.1e}"
    lim_err = max(abs(x[-1] - np.sign(x0) * np.sqrt(abs(c))), abs(y[-1] - np.sign(y0) * np.sqrt(abs(c))))
    assert lim_err <= 1e-8, f"({x0}, {y0}): expected the limit sign(x0, y0) √|c| to 1e-8, seen {lim_err:.1e}"
    lam = x ** 2 + y ** 2                                    # lambda_max of the Hessian on xy = 1
    assert np.max(np.diff(lam)) <= 1e-12 * lam[0], \
        f"({x0}, {y0}): expected x² + y² nonincreasing (1e-12), seen a rise of {np.max(np.diff(lam)) / lam[0]:.1e}"
    scalar.append((x0, y0, c, x, y, theta))
    print(f"({fmt(x0, 3):>6}, {fmt(y0, 3):>6}) {fmt(c, 3):>8} ({fmt(x[-1]):>7}, {fmt(y[-1]):>7}) "
          f"{fmt(lam[0]):>18} {fmt(lam[-1]):>7}")

# %%
fig, axs = plt.subplots(1, 2, figsize=(11.5, 5.0), gridspec_kw={"width_ratios": [1.05, 1]})
ax = axs[0]
g = np.linspace(-3.6, 3.6, 401)
GX, GY = np.meshgrid(g, g)
levels = [-3.0, -2.0, -0.5, 0.25, 0.5, 2.0, 5.0]
ax.contour(GX, GY, GX * GY, levels=levels, colors="0.8", linewidths=0.7)
cs = ax.contour(GX, GY, GX * GY, levels=[-1.2, 3.0], colors="0.45", linewidths=1.0, linestyles=":")
ax.clabel(cs, fmt=lambda v: f"xy = {v:g}", fontsize=8, manual=[(-2.0, 0.6), (3.0, 1.0)])
ax.contour(GX, GY, GX * GY, levels=[1.0], colors="tab:green", linewidths=5.0, alpha=0.45)
gs = np.linspace(-3.6, 3.6, 31)
SX, SY = np.meshgrid(gs, gs)
Cg = SX ** 2 - SY ** 2
ax.streamplot(SX, SY, -SX * Cg, SY * Cg, color="0.7", density=0.8, linewidth=0.5, arrowsize=0.7)
ax.plot(g, g, color="k", lw=0.8, ls="--")
ax.plot(g, -g, color="k", lw=0.8, ls="--")
cols = ["tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:blue", "tab:cyan"]
for (x0, y0, c, x, y, _), col in zip(scalar, cols):
    ax.plot(x, y, color=col, lw=1.8)
    ax.plot(x0, y0, "o", color=col, ms=7, mec="k", mew=0.6)
    ax.plot(x[-1], y[-1], "*", color=col, ms=13, mec="k", mew=0.6)
ax.plot([], [], color="tab:green", lw=5.0, alpha=0.45, label="minima $xy=1$")
ax.plot([], [], color="0.7", lw=0.7, label="level curves $xy=c$ of $f$")
ax.plot([], [], color="0.7", lw=0.5, marker=">", ms=4, label="flow lines")
ax.plot([], [], color="k", lw=0.8, ls="--", label=r"balanced $|x|=|y|$ (equilibria)")
ax.plot([], [], "o", color="0.3", label="start")
ax.plot([], [], "*", color="0.3", ms=11, label="limit")
ax.set_xlim(-3.6, 3.6)
ax.set_ylim(-3.6, 3.6)
ax.set_aspect("equal")
ax.set_xlabel("$x$")
ax.set_ylabel("$y$")
ax.set_title(r"(a) $\dot x=-x(x^2-y^2)$, $\dot y=y(x^2-y^2)$ for $\frac{1}{2}(xy-1)^2$")
ax.legend(fontsize=8, loc="upper left", framealpha=0.95)
ax = axs[1]
for (x0, y0, c, x, y, theta), col in zip(scalar, cols):
    lab = rf"$({x0:.3g},{y0:.3g})$, $xy={c:.3g}$"
    ax.semilogx(t_sc[1:], (x ** 2 + y ** 2)[1:], color=col, lw=2.4, alpha=0.6, label=lab)
    ax.semilogx(t_sc[1::12], 2 * abs(c) * np.cosh(theta[1::12]), "k.", ms=3)
ax.plot([], [], "k.", ms=3, label=r"closed form $2|c|\cosh\theta(t)$")
ax.axhline(2.0, color="tab:green", lw=1.0, ls="--", label=r"$\lambda_{\max}=2$ at $(\pm1,\pm1)$")
ax.set_xlabel("time $t$")
ax.set_ylabel(r"$x^2+y^2$ ($=\lambda_{\max}$ on $xy=1$)")
ax.set_title(r"(b) $x^2+y^2$ decreases to $2|xy|$")
ax.legend(fontsize=8)
show(fig, "05_scalar_phase_portrait")

# %% [markdown]
# *Figure.* (a) Every trajectory stays on its hyperbola $xy=c$ (a level curve of $f$) and stops on a diagonal $|x|=|y|$; (b) along it $x^2+y^2$ decreases to $2|c|$, on top of the closed form (black dots).

# %% [markdown]
# ## Matrix factorization: the flow at a global minimum
#
# $M=AB^\top$ with $A\in\mathbb R^{m\times r}$ then $B\in\mathbb R^{n\times r}$ drawn from
# `default_rng(seed)`, so $\operatorname{rank}M=r$ and the global minima form one orbit. The start
# is an **unbalanced global minimum** $(X_bG,Y_bG^{-\top})$ (`random_global_min`, drawn with the same
# generator), where $(X_b,Y_b)$ is balanced. The starting values printed below are those of this
# draw; the limits $2\sigma_1$ and $2\operatorname{tr}\Sigma_r$ depend only on $M$ (checked against
# the singular values to $10^{-9}$). Near the limit $\|C\|_F$ decays like $e^{-4\sigma_rt}$, so the flow
# is run to $T_{\rm end}=\max(T,\,20/4\sigma_r)$, where $e^{-4\sigma_rT_{\rm end}}\le e^{-20}\approx2\cdot10^{-9}$: a draw
# with a small $\sigma_r$ needs longer to balance ($T_{\rm end}=T$ for the default draw). Along the flow we record the
# loss, $\|XY^\top-M\|_F$, $\|C\|_F$, the squared norm $\|X\|_F^2+\|Y\|_F^2$ and $\lambda_{\max}$ of the
# Hessian (dense: $(m+n)r=27$).

# %%
gen = np.random.default_rng(seed)
A_, B_ = gen.standard_normal((m, r)), gen.standard_normal((n, r))
M = A_ @ B_.T
X0, Y0 = random_global_min(M, r, rng=gen, scale=orbit_scale)
P = MatrixFactorization(M, r)
U, sig, Vt = np.linalg.svd(M)
two_s1, two_tr = 2 * sig[0], 2 * sig[:r].sum()
z0 = P.pack(X0, Y0)
print(f"M: {m}×{n}, rank {np.linalg.matrix_rank(M)}, r = {r}; singular values {[round(float(s), 4) for s in sig[:r]]}")
print(f"2σ₁ = {two_s1:.4f},  2 tr Σ_r = {two_tr:.4f}")
print(f"start: f <= 1e-20: {P.f(z0) <= 1e-20};  ||C|| = {np.linalg.norm(P.conserved(z0)):.4f};  "
      f"||X||²+||Y||² = {z0 @ z0:.4f};  λ_max = {float(P.lambda_max(z0)):.4f}")
assert P.f(z0) <= 1e-20, f"expected a global minimum (f <= 1e-20), seen f = {P.f(z0):.1e}"
assert not is_balanced(X0, Y0), f"expected an unbalanced start, seen ||C|| = {np.linalg.norm(P.conserved(z0)):.1e}"

T_end = max(T, 20.0 / (4 * sig[r - 1]))                 # e^(-4σ_r T_end) <= e^(-20)
fo_times = [t for t in fo_times if t < T_end] + [T_end]
t_eval = np.unique(np.concatenate([[0.0], np.geomspace(1e-4, T_end, n_times), fo_times]))
t0 = time.perf_counter()
flow = balancing_flow(X0, Y0, (0.0, T_end), t_eval=t_eval, rtol=1e-13, atol=1e-16)
Z = flow.packed()
loss = np.array([P.f(z) for z in Z])
prod_err = np.linalg.norm(flow.product - M, axis=(1, 2))
Cn, sqn, trC2 = flow.C_norm, flow.sq_norm, flow.tr_C2
lam = np.array([float(P.lambda_max(z)) for z in Z])
t_flow = time.perf_counter() - t0
assert flow.success, f"expected the integration to succeed, seen: {flow.message}"

print(f"end (t = {T_end:.4g}): ||C|| <= 1e-9: {Cn[-1] <= 1e-9};  ||X||²+||Y||² = {sqn[-1]:.4f};  λ_max = {lam[-1]:.4f}")
print(f"rounded: λ_max {lam[0]:.2f} -> {lam[-1]:.2f} (2σ₁ = {two_s1:.2f});  "
      f"norm {sqn[0]:.2f} -> {sqn[-1]:.2f} (2 tr Σ_r = {two_tr:.2f})")
print(f"along the flow: max f <= 1e-20: {loss.max() <= 1e-20};  max ||XYᵀ - M||_F <= 1e-10: {prod_err.max() <= 1e-10}")
assert loss.max() <= 1e-20, f"expected f <= 1e-20 along the flow, seen max {loss.max():.1e}"
assert prod_err.max() <= 1e-10 * np.linalg.norm(M), \
    f"expected ||XYᵀ - M|| <= 1e-10 ||M||, seen {prod_err.max() / np.linalg.norm(M):.1e} ||M||"
assert Cn[-1] <= 1e-9, f"expected ||C(T_end)|| <= 1e-9, seen {Cn[-1]:.1e}"
assert abs(lam[-1] - two_s1) <= 1e-9 * two_s1, f"expected λ_max(T_end) = 2σ₁ (relative 1e-9), seen {lam[-1] / two_s1 - 1:.1e}"
assert abs(sqn[-1] - two_tr) <= 1e-9 * two_tr, \
    f"expected ||z(T_end)||² = 2 tr Σ_r (relative 1e-9), seen {sqn[-1] / two_tr - 1:.1e}"

# %% [markdown]
# **Monotonicity and the two identities.** Checks (tolerances in the comments): $\|C\|_F$, the squared
# norm and $\lambda_{\max}$ are nonincreasing in $t$ ($\|C\|_F$ until it reaches the accuracy of the
# integration, $10^{-9}\|C(0)\|_F$, below which it stays; $C=X^\top X-Y^\top Y$ is a difference of
# matrices of size $\|z\|^2$, computed from factors integrated to a relative $10^{-13}$); the integrated identities
# $\|z(t)\|^2-\|z(0)\|^2=-2\int_0^t\operatorname{tr}C^2$ and $C(t)-C(0)=-\int_0^t(CS+SC)$ hold
# (cumulative Simpson rule on the output grid, which is graded because the start is fast);
# the late decay rate of $\|C\|_F$ is $4\sigma_r$ (fitted where $10^{-9}\le\|C\|_F/\|C(0)\|_F\le10^{-6}$: late,
# so that the slowest mode dominates, and above the integration accuracy); and `conserved_flow` (generic
# $\nabla h$ from the charges of the symmetry algebra) follows the same path with time $2(m+n)\,t$.

# %%
tol_mono = 1e-12                                        # round-off: 1e-12 of the starting value
C_floor = 1e-9 * Cn[0]                                  # accuracy of ||C|| computed from the integrated factors
above = Cn[:-1] > C_floor                               # steps that start above the accuracy of ||C||
rise_C = np.max(np.diff(Cn)[above]) / Cn[0]
k_floor = np.flatnonzero(~above)[0] if (~above).any() else Cn.size - 1
assert rise_C <= tol_mono, f"expected ||C|| nonincreasing above 1e-9 ||C(0)|| (rise <= 1e-12 ||C(0)||), seen {rise_C:.1e}"
assert np.all(Cn[k_floor:] <= C_floor), \
    f"expected ||C|| to stay below 1e-9 ||C(0)|| once there, seen {Cn[k_floor:].max() / Cn[0]:.1e} ||C(0)||"
rise_n, rise_l = np.max(np.diff(sqn)) / sqn[0], np.max(np.diff(lam)) / lam[0]
assert rise_n <= tol_mono, f"expected the squared norm nonincreasing (rise <= 1e-12 of its start), seen {rise_n:.1e}"
assert rise_l <= tol_mono, f"expected λ_max nonincreasing (rise <= 1e-12 of its start), seen {rise_l:.1e}"
id_norm = np.abs(sqn - sqn[0] + 2 * cumulative_simpson(trC2, x=t_eval, initial=0.0)) / sqn[0]
C_all, S_all = flow.C, flow.S
id_C = np.linalg.norm(C_all - C_all[0] + cumulative_simpson(C_all @ S_all + S_all @ C_all, x=t_eval, axis=0,
                                                         initial=0.0), axis=(1, 2)) / Cn[0]
id_tol = 1e-6 if not fast else 1e-4                     # Simpson error of the (coarser) grid
print(f"d/dt (||X||²+||Y||²) = -2 tr C², integrated: max relative error <= {id_tol:g}: {id_norm.max() <= id_tol}")
print(f"dC/dt = -(CS + SC), integrated: max relative error <= {id_tol:g}: {id_C.max() <= id_tol}")
assert id_norm.max() <= id_tol, f"expected the norm identity to {id_tol:g}, seen {id_norm.max():.1e}"
assert id_C.max() <= id_tol, f"expected the C identity to {id_tol:g}, seen {id_C.max():.1e}"

late = (Cn >= 1e-9 * Cn[0]) & (Cn <= 1e-6 * Cn[0]) & (t_eval >= t_eval[np.argmax(Cn <= 1e-6 * Cn[0])])
rate = -np.polyfit(t_eval[late], np.log(Cn[late]), 1)[0]
print(f"late decay rate of ||C|| (fit where 1e-9 <= ||C||/||C(0)|| <= 1e-6): {rate:.4f};  4σ_r = {4 * sig[r - 1]:.4f}")
assert late.sum() >= 5, f"expected >= 5 output times in the fit window, seen {late.sum()}"
assert abs(rate / (4 * sig[r - 1]) - 1) <= 1e-3, f"expected the rate 4σ_r to 1e-3, seen {rate / (4 * sig[r - 1]) - 1:.1e}"

Qc = conserved_quantities(P.generators())
scale = 2 * (m + n)
idx_cmp = np.flatnonzero(t_eval <= 2.0)[::10]
t_cmp = t_eval[idx_cmp]
gen_flow = conserved_flow(Qc, z0, (0.0, scale * t_cmp[-1]), t_eval=scale * t_cmp, rtol=1e-12, atol=1e-14, f=P.f)
path_gap = np.max(np.abs(gen_flow.x - Z[idx_cmp]))
print(f"conserved_flow ({Qc.k} charges) at time 2(m+n)t = {scale}t vs X' = -XC, Y' = YC: "
      f"max |difference| <= 1e-7: {path_gap <= 1e-7}")
assert path_gap <= 1e-7, f"expected conserved_flow on the same path to 1e-7, seen {path_gap:.1e}"
assert gen_flow.extra["f_drift"] <= 1e-20, f"expected f constant to 1e-20, seen drift {gen_flow.extra['f_drift']:.1e}"

# %%
fig, axs = plt.subplots(2, 2, figsize=(11.5, 7.6))
tp = t_eval[1:]
ax = axs[0, 0]
noise = 1e-12                                           # round-off and integration error of XYᵀ, relative
ax.semilogx(tp, np.maximum(prod_err[1:] / np.linalg.norm(M), noise), color="tab:orange", lw=1.5,
            label=r"$\|X(t)Y(t)^\top-M\|_F\,/\,\|M\|_F$ (below $10^{-12}$: shown at $10^{-12}$)")
ax.axhline(1e-10, color="k", lw=0.8, ls="--", label="tolerance of the check $10^{-10}$")
ax.set_yscale("log")
ax.set_ylim(1e-13, 1e-8)
ax.set_xlabel("time $t$")
ax.set_title("(a) $XY^\\top=M$ to round-off: the flow stays in the minima")
ax.legend(fontsize=8)
ax = axs[0, 1]
ax.semilogy(t_eval, np.maximum(Cn, C_floor), color="tab:red", lw=2,
            label=r"$\|C(t)\|_F=\|X^\top X-Y^\top Y\|_F$ (below $10^{-9}\|C(0)\|_F$: shown there)")
ref = Cn[late][0] * np.exp(-4 * sig[r - 1] * (t_eval - t_eval[late][0]))
keep = ref >= C_floor
ax.semilogy(t_eval[keep], ref[keep], color="k", lw=0.9, ls="--",
            label=rf"slope $e^{{-4\sigma_r t}}$, $4\sigma_r={4 * sig[r - 1]:.3f}$")
ax.axvspan(t_eval[late][0], t_eval[late][-1], color="0.9", zorder=0, label="fit range of the rate")
ax.axhline(C_floor, color="0.5", lw=0.8, ls=":", label=r"integration accuracy $10^{-9}\|C(0)\|_F$")
ax.set_ylim(C_floor / 10, Cn[0] * 10)
ax.set_xlabel("time $t$")
ax.set_title(r"(b) the conserved matrix decays to 0")
ax.legend(fontsize=8)
ax = axs[1, 0]
ax.semilogx(tp, sqn[1:], color="tab:purple", lw=2, label=r"$\|X\|_F^2+\|Y\|_F^2$")
ax.semilogx(tp, lam[1:], color="tab:green", lw=2, label=r"$\lambda_{\max}(\nabla^2 f(x(t)))$")
ax.axhline(two_tr, color="tab:purple", lw=1, ls="--", label=rf"$2\,\mathrm{{tr}}\,\Sigma_r={two_tr:.2f}$")
ax.axhline(two_s1, color="tab:green", lw=1, ls="--", label=rf"$2\sigma_1={two_s1:.2f}$")
ax.set_xlabel("time $t$")
ax.set_title(r"(c) squared norm and $\lambda_{\max}$ decrease (flattening)")
ax.legend(fontsize=8, loc="upper right")
ax = axs[1, 1]
floor_d = 1e-10                                        # integration accuracy of the two paths
ax.loglog(tp, np.maximum(id_norm[1:], floor_d), color="tab:purple", lw=1.3,
          label=r"$|\|z\|^2-\|z_0\|^2+2\int\mathrm{tr}\,C^2|\,/\,\|z_0\|^2$")
ax.loglog(tp, np.maximum(id_C[1:], floor_d), color="tab:red", lw=1.3,
          label=r"$\|C-C_0+\int(CS+SC)\|_F\,/\,\|C_0\|_F$")
gaps = np.max(np.abs(gen_flow.x - Z[idx_cmp]), axis=1)
ax.loglog(t_cmp[1:], np.maximum(gaps[1:], floor_d), "o", color="tab:gray", ms=3,
          label=r"$\max|$conserved_flow$(2(m+n)t)-z(t)|$")
ax.axhline(id_tol, color="k", lw=0.8, ls="--", label=f"tolerance $10^{{{round(np.log10(id_tol))}}}$")
ax.set_ylim(floor_d / 3, 1e-2)
ax.set_xlabel("time $t$")
ax.set_title(r"(d) checks (values below $10^{-10}$ shown at $10^{-10}$)")
ax.legend(fontsize=8, loc="upper left")
fig.suptitle(rf"$\dot X=-XC,\ \dot Y=YC$ from an unbalanced global minimum ($m={m}, n={n}, r={r}$)")
show(fig, "05_matrix_flow")

# %% [markdown]
# *Figure.* The product $XY^\top$ stays equal to $M$ up to round-off (a; below $10^{-12}\|M\|_F$ at every time, shown at that level) while $\|C\|_F$ decays, eventually at the rate $4\sigma_r$, until it reaches the accuracy of the integration (b; values below $10^{-9}\|C(0)\|_F$ shown at that level), and the squared norm and $\lambda_{\max}$ decrease to $2\operatorname{tr}\Sigma_r$ and $2\sigma_1$ (c); (d) the checks of the two identities and of `conserved_flow` stay below the tolerance line (values below $10^{-10}$, the integration accuracy, shown at $10^{-10}$).

# %% [markdown]
# ## Flattening: $t\mapsto f^\circ(x(t),\rho)$ is nonincreasing
#
# The maximal variation $f^\circ(x,\rho)=\sup_{\|y-x\|\le\rho}|f(y)-f(x)|$ at a few times along the
# flow and the fixed radii of the parameters (`MatrixFactorization.max_variation`, i.e.
# `flatlib.max_variation` seeded with the Hessian eigenvectors plus `n_starts` random starts; its
# value is attained in the ball, so it is a certified lower bound). Since $f(x(t))=0$ up to round-off,
# $f^\circ$ here is the exact SAM sharpness $\sup_{B}f-f(x)$ (`side="up"`). As $\rho\to0$,
# $f^\circ(x,\rho)/\rho^2\to\tfrac12\lambda_{\max}$, so the small-radius curve follows
# $\lambda_{\max}(t)/2\sigma_1$. Checks: nonincreasing in $t$ at each radius (relative tolerance
# $10^{-8}$, the accuracy of the ascent), and at the end equal to $f^\circ$ at the balanced factors
# `balanced_factors(M, r)` (to $10^{-8}$ relative; the two points differ by an isometry
# $(X,Y)\mapsto(XR,YR)$ that preserves $f$).

# %%
t0 = time.perf_counter()
idx_fo = [int(np.flatnonzero(t_eval == t)[0]) for t in fo_times]
fo = np.array([P.max_variation(Z[i], radii, side="up", n_starts=n_starts, rng=seed).value for i in idx_fo])
zb = P.pack(*balanced_factors(M, r))
fo_bal = P.max_variation(zb, radii, side="up", n_starts=n_starts, rng=seed).value
t_fo = time.perf_counter() - t0
print(f"{'t':>8} {'||C||_F':>9} {'λ_max':>9}" + "".join(f"  f°(x(t), {rho:g})" for rho in radii))
for i, row in zip(idx_fo, fo):
    cn = f"{Cn[i]:9.4f}" if Cn[i] >= 1e-3 else f"{'< 1e-3':>9}"
    print(f"{t_eval[i]:8.3g} {cn} {lam[i]:9.4f}" + "".join(f"{v:16.4f}" for v in row))
print(f"{'balanced':>8} {'0':>9} {two_s1:9.4f}" + "".join(f"{v:16.4f}" for v in fo_bal))
rise_fo = np.max(np.diff(fo, axis=0) / fo[0])
assert rise_fo <= 1e-8, f"expected f°(x(t), ρ) nonincreasing in t (rise <= 1e-8 f°(x(0), ρ)), seen {rise_fo:.1e}"
end_gap = np.max(np.abs(fo[-1] / fo_bal - 1))
assert end_gap <= 1e-8, f"expected f° at the end = f° at the balanced factors (relative 1e-8), seen {end_gap:.1e}"
ex_fo = fo / fo_bal - 1                                      # excess over the balanced profile
ex_lam = lam / two_s1 - 1
fit = (ex_lam >= 1e-9) & (ex_lam <= 1e-3)
rate_lam = -np.polyfit(t_eval[fit], np.log(ex_lam[fit]), 1)[0]
k_lo, k_hi = 2 * (sig[0] + sig[r - 1]), 8 * sig[0]
print(f"λ_max/2σ₁ - 1 decays like e^(-k t) with k ≈ {rate_lam:.0f} (fit where 1e-9 <= λ_max/2σ₁ - 1 <= 1e-3), "
      f"between 2(σ₁ + σ_r) = {k_lo:.1f} and 8σ₁ = {k_hi:.1f}; ||C||_F like e^(-4σ_r t), 4σ_r = {4 * sig[r - 1]:.2f}")
assert k_lo <= rate_lam <= k_hi, f"expected k in [2(σ₁ + σ_r), 8σ₁] = [{k_lo:.2f}, {k_hi:.2f}], seen {rate_lam:.2f}"
# the remark below: flat long before balanced. The first f° time at which λ_max and f° equal their
# balanced values (to 1e-10 and 1e-8), and ||C|| there
flat_at = [k for k, i in enumerate(idx_fo) if abs(ex_lam[i]) <= 1e-10 and np.abs(ex_fo[k]).max() <= 1e-8]
assert flat_at, "expected λ_max and f° to reach their balanced values at some f° time, seen none"
k1 = flat_at[0]
i1 = idx_fo[k1]
print(f"first f° time with |λ_max/2σ₁ - 1| <= 1e-10 and max |f°/f°(x∞) - 1| <= 1e-8: t = {t_eval[i1]:g}; "
      f"there ||C||_F = {Cn[i1]:.2g} = {Cn[i1] / Cn[0]:.1e} ||C(0)||_F")
assert Cn[i1] >= 1e-6 * Cn[0], \
    f"expected ||C|| >= 1e-6 ||C(0)|| when λ_max and f° are flat (flat long before balanced), seen {Cn[i1] / Cn[0]:.1e}"

# %% [markdown]
# A remark the table makes visible: $\lambda_{\max}$ and $f^\circ$ reach their balanced values by
# $t\approx1$ (to $10^{-10}$ and $10^{-8}$ relative, the accuracy of the checks), while $\|C\|_F$ is
# still $0.24$ (in the default draw; checked: still above $10^{-6}\|C(0)\|_F$, for every seed 0–3 it is
# $10^{-5}$ to $10^{-2}$ of it) and the squared norm still decreasing. $\|C\|$ decays slowest along the
# smallest singular value ($e^{-4\sigma_rt}$, rate $4\sigma_r\approx1$ here), whereas
# $\lambda_{\max}-2\sigma_1$ decays at a fitted rate of about $30$: it is governed by the top singular
# direction, whose modes $C_{1j}$ of $C$ decay at rates $2(\sigma_1+\sigma_j)\ge2(\sigma_1+\sigma_r)$ in the
# linearization (an excess between linear and quadratic in them decays at a rate between
# $2(\sigma_1+\sigma_r)$ and $8\sigma_1$, which is checked), and an imbalance confined to the lower
# singular directions costs no $\lambda_{\max}$ at all (notebook 06 shows such ties). So balanced
# minima are flat, but the flow is flat long before it is balanced; how long before depends on the
# gap between $\sigma_1$ and $\sigma_r$.

# %%
fig, axs = plt.subplots(1, 2, figsize=(11.5, 4.3))
ax = axs[0]
tt = np.array([t_eval[i] for i in idx_fo])
tt_plot = np.where(tt == 0, 1e-4 / 3, tt)
colors = ["tab:blue", "tab:orange", "tab:red"]
for j, (rho, col) in enumerate(zip(radii, colors)):
    ax.semilogx(tt_plot, fo[:, j] / fo_bal[j], "o-", color=col, lw=1.5, ms=5,
                label=rf"$f^\circ(x(t),{rho:g})\,/\,f^\circ(x_\infty,{rho:g})$")
ax.semilogx(tp, lam[1:] / two_s1, color="k", lw=1.0, ls="--", label=r"$\lambda_{\max}(t)/2\sigma_1$ ($\rho\to0$)")
ax.axhline(1.0, color="0.5", lw=0.8)
ax.set_xticks([1e-4 / 3, 1e-3, 1e-2, 1e-1, 1, 10], ["0", "$10^{-3}$", "$10^{-2}$", "$10^{-1}$", "1", "10"])
ax.set_xlabel("time $t$ (first point: $t=0$)")
ax.set_ylabel(r"ratio to the balanced limit $x_\infty$")
ax.set_title(r"(a) flattening: $f^\circ(x(t),\rho)$ decreases at every radius")
ax.legend(fontsize=8)
ax = axs[1]
floor = 1e-10                                  # round-off of λ_max and accuracy of the ascent for f°
t_lin = t_eval <= 3.0
ax.semilogy(t_eval[t_lin], Cn[t_lin] / Cn[0], color="0.45", lw=2.0, label=r"$\|C(t)\|_F\,/\,\|C(0)\|_F$")
ax.semilogy(t_eval[t_lin], np.maximum(ex_lam[t_lin], floor), color="k", lw=1.0, ls="--",
            label=r"$\lambda_{\max}(t)/2\sigma_1-1$")
k3 = tt <= 3.0
for j, (rho, col) in enumerate(zip(radii, colors)):
    v = ex_fo[k3, j]
    ax.semilogy(tt[k3], np.maximum(v, floor), "o", color=col, ms=7 - 1.5 * j, mfc="none" if j else col, mew=1.3,
                label=rf"$f^\circ(x(t),{rho:g})\,/\,f^\circ(x_\infty,{rho:g})-1$")
ax.axhspan(floor / 3, floor * 1.5, color="0.85", zorder=0)
ax.text(3.0, floor * 2, r"equal to the balanced value (excess $<10^{-10}$, shown at $10^{-10}$)", ha="right", va="bottom",
        fontsize=8)
ax.set_ylim(floor / 3, 3.0)
ax.set_xlim(-0.05, 3.05)
ax.set_xlabel("time $t$ (linear scale)")
ax.set_ylabel("excess over the balanced limit")
ax.set_title(r"(b) flat long before balanced: $\lambda_{\max}$, $f^\circ$ vs $\|C\|$")
ax.legend(fontsize=8, loc="center right")
show(fig, "05_flattening")

# %% [markdown]
# *Figure.* (a) At every radius $f^\circ(x(t),\rho)$ falls to its balanced value by $t\approx0.3$, following $\lambda_{\max}(t)/2\sigma_1$; (b) on a log scale, the excess of $\lambda_{\max}$ and $f^\circ$ over the balanced values falls below $10^{-10}$ (the accuracy of $f^\circ$; smaller values are shown at $10^{-10}$) by $t=1$, where $\|C\|_F$ is still $0.24$ (from $38$).

# %% [markdown]
# ## The limit is the balanced point of the same orbit: the minimal-norm point (Kempf–Ness)
#
# At the end of the flow, $(X_\infty,Y_\infty)$ should be a balanced global minimum on the orbit of
# the start: $X_\infty^\top X_\infty=Y_\infty^\top Y_\infty$, $X_\infty Y_\infty^\top=M$ and, by
# the explicit form of balanced minima, $X_\infty=U_r\Sigma_r^{1/2}R$, $Y_\infty=V_r\Sigma_r^{1/2}R$
# for an orthogonal $R$ (we solve $R=\Sigma_r^{-1/2}U_r^\top X_\infty$ and check $R^\top R=I$ and
# the $Y$ equation). The squared norm is the minimal norm of the orbit, $2\operatorname{tr}\Sigma_r$,
# also given by the closed form `orbit_balanced_point` ($2\operatorname{tr}(A^{1/2}BA^{1/2})^{1/2}$
# from the start alone), and is below the norm of 300 random points of the orbit. The Hessian
# spectrum at the limit is the closed form of the balanced minimum (`hessian_spectrum_balanced`).
# Figure: the squared norm against $\lambda_{\max}$ on random orbit points, and the path of the flow.

# %%
X1, Y1 = flow.X_final, flow.Y_final
R = (U[:, :r] / np.sqrt(sig[:r])).T @ X1
Xo, Yo, nmin = orbit_balanced_point(X0, Y0)
err_bal = np.linalg.norm(X1.T @ X1 - Y1.T @ Y1)
err_prod = np.linalg.norm(X1 @ Y1.T - M)
err_R = np.linalg.norm(R.T @ R - np.eye(r))
err_Y = np.linalg.norm(Y1 - Vt[:r].T * np.sqrt(sig[:r]) @ R)
ev_end = np.sort(np.linalg.eigvalsh(P.hess(Z[-1])))[::-1]
err_spec = np.max(np.abs(ev_end - hessian_spectrum_balanced(M, r))) / ev_end[0]
print(f"||X∞ᵀX∞ - Y∞ᵀY∞|| <= 1e-9: {err_bal <= 1e-9};  ||X∞Y∞ᵀ - M|| <= 1e-10: {err_prod <= 1e-10}")
print(f"R = Σ^(-1/2) U_rᵀ X∞: ||RᵀR - I|| <= 1e-9: {err_R <= 1e-9};  ||Y∞ - V_r Σ^(1/2) R|| <= 1e-9: {err_Y <= 1e-9}")
print(f"squared norm at the limit {sqn[-1]:.4f} = 2 tr Σ_r {two_tr:.4f} = orbit minimum from the start {nmin:.4f}")
print(f"Hessian spectrum at the limit = closed form at a balanced minimum (relative 1e-9): {err_spec <= 1e-9}")
for what, err, tol in [("||X∞ᵀX∞ - Y∞ᵀY∞||", err_bal, 1e-9), ("||X∞Y∞ᵀ - M||", err_prod, 1e-10),
                       ("||RᵀR - I||", err_R, 1e-9), ("||Y∞ - V_r Σ^(1/2) R||", err_Y, 1e-9),
                       ("Hessian spectrum vs closed form (relative)", err_spec, 1e-9)]:
    assert err <= tol, f"expected {what} <= {tol:g}, seen {err:.1e}"
assert abs(sqn[-1] - nmin) <= 1e-9 * nmin, f"expected the limit's squared norm = orbit minimum (1e-9), seen {sqn[-1] / nmin - 1:.1e}"
assert abs(nmin - two_tr) <= 1e-12 * two_tr, f"expected orbit minimum = 2 tr Σ_r (1e-12), seen {nmin / two_tr - 1:.1e}"
assert is_balanced(X1, Y1, tol=1e-10), f"expected the limit balanced (1e-10), seen ||C|| = {err_bal:.1e}"
assert is_balanced(Xo, Yo, tol=1e-12), \
    f"expected orbit_balanced_point balanced (1e-12), seen ||C|| = {np.linalg.norm(Xo.T @ Xo - Yo.T @ Yo):.1e}"

# random points of the orbit: (X_b H, Y_b H⁻ᵀ) with (X_b, Y_b) = balanced_factors(M, r) and
# H = exp((W + Wᵀ)/2), W Gaussian times a random scale in (0.1, 0.9)
orng = np.random.default_rng(seed + 1)
Xb, Yb = balanced_factors(M, r)
pts = []
for _ in range(300):
    W = orng.standard_normal((r, r)) * orng.uniform(0.1, 0.9)
    w, V = np.linalg.eigh(W + W.T)
    H = (V * np.exp(w / 2)) @ V.T
    Xr, Yr = Xb @ H, Yb @ np.linalg.inv(H).T
    zr = P.pack(Xr, Yr)
    pts.append((zr @ zr, float(P.lambda_max(zr))))
pts = np.array(pts)
print(f"300 random orbit points: min squared norm {pts[:, 0].min():.4f} >= {two_tr:.4f}, "
      f"min λ_max {pts[:, 1].min():.4f} >= 2σ₁ = {two_s1:.4f}")
assert pts[:, 0].min() >= two_tr * (1 - 1e-12), \
    f"expected every orbit point's squared norm >= 2 tr Σ_r = {two_tr:.6g}, seen min {pts[:, 0].min():.6g}"
assert pts[:, 1].min() >= two_s1 * (1 - 1e-12), \
    f"expected every orbit point's λ_max >= 2σ₁ = {two_s1:.6g}, seen min {pts[:, 1].min():.6g}"

# %%
fig, ax = plt.subplots(figsize=(7.0, 4.8))
ax.scatter(pts[:, 0], pts[:, 1], s=8, color="0.6", alpha=0.6, label="random points of the orbit")
ax.plot(sqn, lam, color="tab:red", lw=2, label=r"flow $\dot X=-XC,\ \dot Y=YC$")
ax.plot(sqn[0], lam[0], "o", color="tab:red", ms=7, label="start (unbalanced global minimum)")
ax.plot(two_tr, two_s1, "*", color="k", ms=15, label=rf"balanced: $(2\,\mathrm{{tr}}\,\Sigma_r, 2\sigma_1)=({two_tr:.2f}, {two_s1:.2f})$")
ax.axvline(two_tr, color="k", lw=0.8, ls="--")
ax.axhline(two_s1, color="k", lw=0.8, ls="--")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks([20, 30, 50, 100, 200, 500], ["20", "30", "50", "100", "200", "500"])
ax.set_yticks([15, 20, 30, 50, 100, 200, 500], ["15", "20", "30", "50", "100", "200", "500"])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.yaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel(r"squared norm $\|X\|_F^2+\|Y\|_F^2$")
ax.set_ylabel(r"$\lambda_{\max}$ of the Hessian")
ax.set_title("the orbit of global minima: the flow ends at its minimal-norm, flattest point")
ax.legend(fontsize=8, loc="upper left")
show(fig, "05_kempf_ness")

# %% [markdown]
# *Figure.* No random point of the orbit has a smaller squared norm or $\lambda_{\max}$ than the balanced point (star), where the flow (red) ends.

# %% [markdown]
# ## Summary
#
# * The flow of $h=\tfrac12\sum_iQ_i^2$ keeps the loss constant (to round-off: $f\le10^{-20}$ along
#   the whole matrix-factorization trajectory) and, for matrix factorization, it is
#   $\dot X=-XC$, $\dot Y=YC$; `conserved_flow` runs the same path $2(m+n)$ times slower.
# * $\|C\|_F$ decays (eventually like $e^{-4\sigma_rt}$), the squared norm decreases with
#   $\tfrac{d}{dt}\|z\|^2=-2\operatorname{tr}C^2$, $\lambda_{\max}$ decreases to $2\sigma_1$ and
#   $f^\circ(x(t),\rho)$ decreases at each radius tested: the flow **flattens**.
# * It converges to the balanced point of the orbit it starts on, the minimal-norm point
#   ($2\operatorname{tr}\Sigma_r$), as Kempf–Ness predicts.
#
# Caveats: monotonicity of $\lambda_{\max}$ and $f^\circ$ is checked on one trajectory, at the output
# times and at three radii only; $f^\circ$ is a multistart lower bound.

# %%
# NBVAL_IGNORE_OUTPUT
print(f"flow + λ_max on {t_eval.size} times: {t_flow:.1f} s; f° at {len(idx_fo)} times: {t_fo:.1f} s; "
      f"whole notebook: {time.perf_counter() - t_start:.1f} s")
