# %% [markdown]
# # Which algorithms end at flat minima? Edge of stability, normalized GD, SAM, and two notions of balance
#
# > **What the paper says:** nothing on training algorithms. Its abstract's flattening property
# > concerns gradient flows of conserved quantities (notebook 05); which algorithms end at flat
# > minima is this companion's question, answered with theorems of the cited papers (or derived
# > here, as the imbalance law of normalized GD on $\tfrac12(xy-1)^2$) and with numerical
# > evidence.
# >
# > **What this notebook adds:** progressive sharpening and the edge of stability on a digits
# > network, next to $f^\circ$; where normalized GD, SAM, batch-size-1 SAM and GD end on matrix
# > factorization and on a diagonal linear network; the $\lambda_{\max}$-flat minima of deep
# > factorization are the spectral-norm balanced ones (notebook 06's tie interval); every step
# > size compared at the same training loss.
# >
# > **Numerical evidence only:** the trajectories and the end points of every algorithm (at the
# > step sizes and run lengths shown; the checks hold for seeds 0–3), and the edge-of-stability
# > picture, which is one network.
#
# Notebooks 01–06 say what flat minima are and where they sit in matrix factorization; notebook
# 07 asks whether they generalize. This one asks the question that follows: **which algorithms
# end at flat minima, and why?** Five sections, each with what is a theorem (with its source, or
# derived here), what is numerical evidence, and over how many seeds it holds (the checks of this
# notebook run for seeds 0–3 in `tests/test_notebook08_seeds.py`):
#
# 1. **progressive sharpening and the edge of stability** (Cohen et al., ICLR 2021) on a digits
#    MLP with the squared loss: $\lambda_{\max}$ along full-batch GD against $2/\eta$ and along the
#    gradient flow from the same start, next to the maximal variation $f^\circ$;
# 2. **normalized GD** (Josz, arXiv:2602.08177): on $\tfrac12(xy-1)^2$ an exact law for the
#    imbalance $x^2-y^2$, and on matrix factorization where it ends;
# 3. **SAM's implicit bias** (Wen, Ma & Li, ICLR 2023; Andriushchenko & Flammarion, ICML 2022):
#    full-batch SAM, batch-size-1 SAM and GD on matrix factorization, where the flattest minima
#    are known in closed form, and on a diagonal linear network (sparsity);
# 4. **two notions of balance** (Kamber & Parhi, arXiv:2509.25783): the $\lambda_{\max}$-flat
#    minima of (deep) matrix factorization are the *spectral-norm* balanced ones, which is exactly
#    notebook 06's tie interval, not necessarily $X^\top X=Y^\top Y$;
# 5. **large steps and the $2/\eta$ ceiling, done right**: every step size compared at the same
#    training loss, with the whole $\lambda_{\max}$ trajectory and the value at initialization.
#
# Library: `flatlib.dynamics` (normalized GD, SAM with one-step or exact inner maximization,
# batch-size-1 SAM, a $\lambda_{\max}$ tracker that warm-starts Lanczos from the previous
# eigenvector), `flatlib.problems.deep_factorization` (exact $\lambda_{\max}$ at minimizers),
# `flatlib.problems.diagonal_linear`, and `flatlib.flows` for GD and the gradient flow. Every
# printed number is recomputed independently in `tests/test_dynamics_numbers.py`.

# %% tags=["parameters"]
seed = 0            # network initialization (sections 1, 5); target, start and data (sections 2-4)
n_train = 200       # digits training images (sections 1, 5)
fast = False        # True: smoke run (fewer step sizes, shorter runs)
full = False        # True: more step sizes and longer runs

# %%
import numpy as np
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter

from flatlib import gradient_descent, gradient_flow, max_variation
from flatlib.dynamics import normalized_gradient_descent, sam, stochastic_sam, track_lambda_max
from flatlib.figures import show, style
from flatlib.networks import MLP, load_digits
from flatlib.problems import DeepFactorization, DiagonalLinearNetwork
from flatlib.problems.deep_factorization import (balanced_factors, flattest_lambda_max, lambda_max_at_minimizer,
                                                 spectral_norm_products, transform_factors)
from flatlib.problems.diagonal_linear import gd_implicit_bias, min_l1_interpolator, sparse_regression

style()
checks = []


def no_minor_labels(*axes):
    """Log axes: label the decades only (the minor labels overlap)."""
    for ax in axes:
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())


def check(name, ok, expected, seen):
    """Record a check (the summary prints it); fail saying what was expected and what was seen."""
    checks.append((name, bool(ok), expected))
    assert ok, f"{name}: expected {expected}; seen {seen}"


# %% [markdown]
# ## 1. Progressive sharpening and the edge of stability
#
# **Setting.** A ReLU network with widths $(64, 32, 10)$ on 200 digits (pixels scaled to
# $[0,1]$), squared loss $f(\theta)=\frac1{2N}\sum_i\|z(x_i)-e_{y_i}\|^2$ against one-hot
# targets, He initialization with the output layer at zero (so $f(\theta_0)=\tfrac12$).
# Full-batch GD $\theta_{k+1}=\theta_k-\eta\nabla f(\theta_k)$ at several $\eta$, each run until
# the training loss first reaches $0.1$; the gradient flow $\theta'=-\nabla f(\theta)$ from the
# same start (`flatlib.gradient_flow`, scipy's RK23); $\lambda_{\max}(\nabla^2 f)$ every unit of
# time $t=k\eta$ by `track_lambda_max` (Lanczos on exact Hessian-vector products, warm-started).
#
# **What is known.** A theorem: GD on a quadratic with curvature $\lambda>2/\eta$ diverges along
# that direction. An observation (Cohen et al., ICLR 2021, on many networks): $\lambda_{\max}$
# first rises (*progressive sharpening*), then GD reaches $2/\eta$ and hovers there (*edge of
# stability*) while the loss keeps decreasing, non-monotonically; the gradient flow keeps
# sharpening. Here it is measured on one small network.

# %%
X_raw, y_train, _, _ = load_digits(n_train, seed=0, standardize=False)
net = MLP((64, 32, 10), X_raw / 16.0, y_train, loss="mse")
theta0 = net.init(seed)
net.layers(theta0)[-1][0][:] = 0.0            # output weights 0: every run starts at f = 1/2
loss_target = 0.1
if fast:
    etas = [0.05, 0.2, 0.5]
elif full:
    etas = [0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5]
else:
    etas = [0.05, 0.1, 0.2, 0.3, 0.5]


def gd_to_loss(eta, t_max=300.0):
    """GD from theta0 until the training loss first reaches loss_target (in chunks of 50 steps)."""
    xs, fs, x = [theta0], [net.f(theta0)], theta0
    while len(fs) * eta < t_max and fs[-1] > loss_target:
        run = gradient_descent(net.grad, x, eta, 50, f=net.f)
        xs += list(run.x[1:])
        fs += list(run.f_values[1:])
        x = run.x_final
    fs = np.array(fs)
    k = int(np.argmax(fs <= loss_target)) if fs.min() <= loss_target else len(fs) - 1
    return np.array(xs[:k + 1]), fs[:k + 1]


runs = {}
for eta in etas:
    xs, fs = gd_to_loss(eta)
    every = max(1, int(round(1.0 / eta)))                   # one lambda_max per unit of time
    idx = np.unique(np.r_[np.arange(0, len(xs), every), len(xs) - 1])
    tr = track_lambda_max(net.hvp, xs[idx], tol=1e-7, rng=seed)
    runs[eta] = dict(loss=fs, idx=idx, t=idx * eta, lam=tr.values, vec=tr.eigenvectors, xs=xs[idx])

t_flow = 1.15 * runs[min(etas)]["t"][-1]
flow = gradient_flow(net.grad, theta0, (0.0, t_flow), t_eval=np.arange(0.0, t_flow, 1.0), method="RK23",
                     rtol=1e-4, atol=1e-7, f=net.f)
k_flow = int(np.argmax(flow.f_values <= loss_target))
flow_t, flow_loss = flow.t[:k_flow + 1], flow.f_values[:k_flow + 1]
flow_lam = track_lambda_max(net.hvp, flow.x[:k_flow + 1], tol=1e-7, rng=seed).values
lam0 = flow_lam[0]
print(f"{net.n} parameters; lambda_max at initialization {lam0:.2f}")
print(f"gradient flow: loss {loss_target} reached at t = {flow_t[-1]:.0f}, lambda_max {lam0:.2f} -> "
      f"{flow_lam[-1]:.1f} (largest drop between records: {max(0.0, -np.diff(flow_lam).min()):.2f})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
for j, eta in enumerate(etas):
    R = runs[eta]
    axes[0].plot(R["t"], R["lam"], color=f"C{j}", lw=1.2, label=f"GD, η = {eta:g}")
    axes[0].axhline(2 / eta, color=f"C{j}", lw=0.8, ls=":")
    axes[1].plot(np.arange(len(R["loss"])) * eta, R["loss"], color=f"C{j}", lw=1.0)
axes[0].plot(flow_t, flow_lam, color="k", lw=2, label="gradient flow")
axes[1].plot(flow_t, flow_loss, color="k", lw=2)
axes[0].set_ylim(0, 1.3 * max(flow_lam.max(), 2 / max(etas)))
axes[0].set_xlabel("time t = kη")
axes[0].set_ylabel(r"$\lambda_{\max}(\nabla^2 f(\theta_t))$")
axes[0].legend(fontsize=7, loc="lower right")
axes[0].set_title("dotted: 2/η for each run", fontsize=9)
axes[1].set_yscale("log")
axes[1].set_xlabel("time t = kη")
axes[1].set_ylabel("training loss")
axes[1].set_title(f"each run stops at loss {loss_target}", fontsize=9)
show(fig, "08_edge_of_stability")

# %% [markdown]
# Left: $\lambda_{\max}$ along each run against time $t=k\eta$ (colour: step size; dotted line:
# its $2/\eta$) and along the gradient flow (black). Right: the training losses; GD at the edge
# of stability decreases its loss with spikes.

# %%
below = [eta for eta in etas if 2 / eta > 1.1 * flow_lam.max()]
edge = [eta for eta in etas if 2 / eta < 0.9 * flow_lam.max()]
print(f"{'eta':>5s} {'2/eta':>6s} {'regime':>8s} {'max |GD - flow| / flow':>23s} {'lambda/(2/eta), 2nd half':>25s} "
      f"{'loss monotone':>14s}")
dev, band = {}, {}
for eta in etas:
    R = runs[eta]
    lf = np.interp(R["t"], flow_t, flow_lam)
    dev[eta] = float(np.max(np.abs(R["lam"] - lf) / lf))
    half = R["t"] >= R["t"][-1] / 2
    band[eta] = (float(R["lam"][half].min() * eta / 2), float(R["lam"][half].max() * eta / 2))
    regime = "below" if eta in below else "edge" if eta in edge else "between"
    mono = bool(np.all(np.diff(R["loss"]) <= 0))
    print(f"{eta:5.2f} {2 / eta:6.1f} {regime:>8s} {dev[eta]:23.2f} {band[eta][0]:12.2f} to {band[eta][1]:.2f} "
          f"{str(mono):>14s}")
check("the gradient flow sharpens: lambda_max grows by half or more and never drops by more than 1%",
      flow_lam[-1] >= 1.5 * lam0 and np.all(np.diff(flow_lam) >= -0.01 * flow_lam[1:]),
      "lambda_end >= 1.5 lambda_0, drops < 1%", f"{lam0:.2f} -> {flow_lam[-1]:.2f}")
check("below the ceiling GD follows the flow (lambda_max within 5% at equal times)",
      len(below) > 0 and all(dev[eta] < 0.05 for eta in below), "< 0.05", {e: round(dev[e], 3) for e in below})
check("at the edge, lambda_max stays within [0.8, 1.5] x 2/eta over the second half of the run",
      len(edge) > 0 and all(0.8 <= band[eta][0] and band[eta][1] <= 1.5 for eta in edge), "[0.8, 1.5]",
      {e: band[e] for e in edge})
check("at the edge the loss decreases non-monotonically, below it monotonically",
      all(np.any(np.diff(runs[eta]["loss"]) > 0) for eta in edge)
      and all(np.all(np.diff(runs[eta]["loss"]) <= 0) for eta in below), "spikes at the edge only", "")

# %% [markdown]
# **Does the maximal variation follow the same dynamics?** Along one edge-of-stability run,
# $f^\circ(\theta_t,r)$ at $r=0.05$ (a local search started from the top eigenvector, so a value
# attained in the ball) next to its two first terms: the slope $\|\nabla f(\theta_t)\|\,r$ and the
# curvature $\frac12\lambda_{\max}r^2$. At a critical point only the second survives
# ($f^\circ(x,r)=\frac12\lambda_{\max}r^2+o(r^2)$, the calculus rule of notebook 02); along GD
# the iterate is never critical.

# %%
eta_f = edge[len(edge) // 2] if edge else etas[-1]
R = runs[eta_f]
r_f = 0.05
pick = np.unique(np.linspace(0, len(R["t"]) - 1, 6 if fast else 12).round().astype(int))
fc = np.array([max_variation(net.f, R["xs"][k], r_f, grad=net.grad, vectorized=True, n_starts=2,
                             starts=R["vec"][k], rng=seed, tol=1e-6, max_iter=100).value for k in pick])
slope = np.array([np.linalg.norm(net.grad(R["xs"][k])) * r_f for k in pick])
curv = 0.5 * R["lam"][pick] * r_f ** 2
lower, upper = np.maximum(slope, curv), slope + curv
print(f"GD with eta = {eta_f:g}, r = {r_f}: f° / (slope + curvature) from {np.min(fc / upper):.2f} to "
      f"{np.max(fc / upper):.2f};  slope / curvature from {np.min(slope / curv):.1f} to {np.max(slope / curv):.1f}")
check("f°(theta_t, r) lies between max(slope, curvature) and their sum (2% and 10% slack)",
      np.all(fc >= 0.98 * lower) and np.all(fc <= 1.1 * upper), "max <= f° <= sum",
      np.round(fc / upper, 3))

# %%
fig, ax = plt.subplots(figsize=(6.8, 3.6))
ax.plot(R["t"][pick], fc, "o-", color="C3", label=rf"$f^\circ(\theta_t, {r_f})$")
ax.plot(R["t"][pick], slope, "s--", color="C0", ms=4, label=r"slope $\|\nabla f\|\,r$")
ax.plot(R["t"][pick], curv, "^--", color="C2", ms=4, label=r"curvature $\frac{1}{2}\lambda_{\max} r^2$")
ax.axhline(0.5 * (2 / eta_f) * r_f ** 2, color="C2", lw=0.8, ls=":", label=r"$\frac{1}{2} (2/\eta) r^2$")
ax.set_yscale("log")
ax.set_xlabel("time t = kη")
ax.set_title(f"GD with η = {eta_f:g}", fontsize=9)
ax.legend(fontsize=8)
show(fig, "08_fcirc_along_gd")


# %% [markdown]
# The curvature term (green) shares the ceiling: it stays near $\frac12(2/\eta)r^2$ (dotted).
# $f^\circ$ (red) is bracketed by the larger of the two terms and their sum at every point, and
# at the edge of stability the slope term is often the larger one: the iterates oscillate across
# a valley, and $f^\circ$ at a small radius measures the valley's wall as much as its
# curvature. So the flatness of the paper follows the same dynamics only through its curvature
# part; the slope part swings with the oscillation. (Evidence on one network; the bracket holds
# for seeds 0–3.)

# %% [markdown]
# ## 2. Normalized GD drives to the flat minimum
#
# Normalized GD is $x_{k+1}=x_k-\alpha_k\nabla f(x_k)/\|\nabla f(x_k)\|$: every step has length
# $\alpha_k$. Josz (*Implicit regularization of normalized gradient descent*, arXiv:2602.08177)
# proposes it "with sufficiently slowly diminishing step sizes" as a method that finds flat
# minima, when an appropriate Lyapunov function exists (his abstract; we have nothing more of
# the paper). What follows is ours.
#
# **A theorem on $f=\frac12(xy-1)^2$ (derived in `flatlib.dynamics`).** GD multiplies the
# imbalance $q=x^2-y^2$ by $1-\eta^2r^2$ per step ($r=xy-1$, notebook 04); a normalized step is
# a GD step with $\eta=\alpha/\|\nabla f\|=\alpha/(|r|\,\|(x,y)\|)$, hence
#
# $$q_{k+1}=\Bigl(1-\frac{\alpha_k^2}{x_k^2+y_k^2}\Bigr)\,q_k ,$$
#
# whatever the residual. So $q_k\to0$ (the balanced minimum, $\lambda_{\max}=2$) iff
# $\sum_k\alpha_k^2/(x_k^2+y_k^2)=\infty$: for bounded iterates, iff $\sum\alpha_k^2=\infty$.
# With $\alpha_k=\alpha_0/(k+1)^p$: $p\le\frac12$ balances, $p>\frac12$ does not. On the minimum
# set, $\lambda_{\max}=x^2+y^2=\sqrt{q^2+4}$, so $q$ decides the flatness of the limit.

# %%
def scalar_grad(v):
    return (v[0] * v[1] - 1.0) * np.array([v[1], v[0]])


rng = np.random.default_rng(seed)
z_start = np.array([3.0, 0.1]) if seed == 0 else np.array([rng.uniform(2.0, 4.0), rng.uniform(0.05, 0.3)])
n_scalar = 20000
schedules = [("constant α = 0.1", 0.1, "constant"), ("α₀/(k+1)^¼, α₀ = 0.5", 0.5, 0.25),
             ("α₀/(k+1)^½, α₀ = 0.5", 0.5, 0.5), ("α₀/(k+1), α₀ = 0.5", 0.5, 1.0)]
q0 = z_start[0] ** 2 - z_start[1] ** 2
scalar = {}
for name, a0, p in schedules:
    res = normalized_gradient_descent(scalar_grad, z_start, a0, n_scalar, schedule=p)
    q = res.x[:, 0] ** 2 - res.x[:, 1] ** 2
    nz = np.sum(res.x[:-1] ** 2, axis=1)
    law = np.abs(q[1:] - q[:-1] * (1 - res.extra["step_sizes"] ** 2 / nz))
    above = np.abs(q[:-1]) > 1e-6 * nz                 # q well above the rounding of x² - y²
    scalar[name] = dict(q=q, law=float(np.max(law[above] / np.abs(q[:-1][above]))), p=p)
gd_scalar = gradient_descent(scalar_grad, z_start, 0.1, n_scalar)
q_gd = gd_scalar.x[:, 0] ** 2 - gd_scalar.x[:, 1] ** 2
print(f"start ({z_start[0]:.2f}, {z_start[1]:.2f}), q0 = {q0:.2f}; {n_scalar} steps")
print(f"{'method':24s} {'q_end / q0':>11s} {'lambda_max of the limit':>24s}")


def ratio_txt(v):
    return "< 1e-6" if abs(v) < 1e-6 else f"{v:.2f}"


for name, S in scalar.items():
    qe = S["q"][-1]
    print(f"{name:24s} {ratio_txt(qe / q0):>11s} {np.sqrt(qe ** 2 + 4):24.2f}")
print(f"{'GD, eta = 0.1':24s} {ratio_txt(q_gd[-1] / q0):>11s} {np.sqrt(q_gd[-1] ** 2 + 4):24.2f}")
check("the imbalance law q+ = (1 - a^2/|z|^2) q holds at every step with |q| > 1e-6 |z|^2 (relative 1e-9)",
      max(S["law"] for S in scalar.values()) < 1e-9, "< 1e-9", max(S["law"] for S in scalar.values()))
ok_fast = [abs(scalar[n]["q"][-1] / q0) < 1e-6 for n, _, p in schedules if p in ("constant", 0.25)]
check("constant and p = 1/4 steps balance (|q_end/q0| < 1e-6)", all(ok_fast), "< 1e-6", ok_fast)
check("p = 1 (sum of squares finite) keeps most of the imbalance (q_end/q0 > 0.8), as GD does",
      scalar[schedules[3][0]]["q"][-1] / q0 > 0.8 and q_gd[-1] / q0 > 0.8, "> 0.8",
      (scalar[schedules[3][0]]["q"][-1] / q0, q_gd[-1] / q0))
check("p = 1/2 (sum of squares diverges only like log k) has not balanced yet (q_end/q0 > 0.1)",
      scalar[schedules[2][0]]["q"][-1] / q0 > 0.1, "> 0.1", scalar[schedules[2][0]]["q"][-1] / q0)

# %%
fig, ax = plt.subplots(figsize=(6.8, 3.7))
for j, (name, _, _) in enumerate(schedules):
    q = np.abs(scalar[name]["q"]) / q0
    k = np.arange(q.size)
    ax.plot(k[q > 0] + 1, q[q > 0], color=f"C{j}", label=name)
ax.plot(np.arange(q_gd.size) + 1, q_gd / q0, color="k", ls="--", label="GD, η = 0.1")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_ylim(1e-16, 3)
ax.set_xlabel("step k + 1")
ax.set_ylabel(r"$|x_k^2-y_k^2|\,/\,|x_0^2-y_0^2|$")
ax.legend(fontsize=8)
show(fig, "08_ngd_imbalance")

# %% [markdown]
# The imbalance under each step schedule (log–log). GD (dashed) and the harmonic schedule
# $p=1$ freeze it; constant steps and $p=\frac14$ drive it to rounding level; $p=\frac12$ does
# too in theory but only like a power of $\log k$: the product formula makes "sufficiently
# slowly diminishing" quantitative on this example. (The law is a theorem; the end values are
# for 2·10⁴ steps, seeds 0–3.)
#
# **Matrix factorization.** On $\frac12\|XY^\top-M\|^2$ ($m=5$, $n=3$, $r=2$, $M$ of rank 2
# drawn from the seed) GD conserves $C=X^\top X-Y^\top Y$ up to $O(\eta^2)$ per step (exactly:
# $C^+-C=\eta^2(Y^\top R^\top RY-X^\top RR^\top X)$, `tests/test_dynamics.py`). Start from an
# imbalanced factorization ($X_bG$ plus noise, $Y_bG^{-\top}$ with $G=\begin{pmatrix}2&0.5\\0&0.7
# \end{pmatrix}$), run GD and normalized GD, then end each run with small GD steps
# ($\eta=0.02$, until $\|\nabla f\|\le10^{-12}$) to land on the set of minimizers, and measure the minimizer reached: $\|C\|_F$, and
# $\lambda_{\max}$ by the exact formula of section 4 against its smallest value $2\sigma_1$.

# %%
m_mf, n_mf, r_mf = 5, 3, 2
rng = np.random.default_rng(seed)
M = rng.standard_normal((m_mf, r_mf)) @ rng.standard_normal((r_mf, n_mf))
sig = np.linalg.svd(M, compute_uv=False)[:r_mf]
mf = DeepFactorization(M, r_mf, 2)                       # W_1 = Yᵀ, W_2 = X
Yt_b, X_b = balanced_factors(M, r_mf, 2)
G = np.array([[2.0, 0.5], [0.0, 0.7]])
z_mf = mf.pack([np.linalg.inv(G) @ Yt_b, X_b @ G + 0.3 * rng.standard_normal((m_mf, r_mf))])
n_mf_steps = 5000
trace_min = 2 * np.sqrt(m_mf * n_mf) * sig.sum()         # smallest Hessian trace on the orbit
trace_bal = (m_mf + n_mf) * sig.sum()                    # trace at the balanced point


def land(z):
    """Small GD steps to the set of minimizers, until the gradient vanishes to 1e-12
    (they change C by O(eta^2) per step only)."""
    return gradient_descent(mf.grad, z, 0.02, 50000, gtol=1e-12).x_final


def describe(z):
    Yt, X = mf.unpack(z)
    return dict(C=float(np.linalg.norm(X.T @ X - Yt @ Yt.T)), lam=lambda_max_at_minimizer([Yt, X]),
                trace=float(n_mf * np.sum(X ** 2) + m_mf * np.sum(Yt ** 2)), nX=np.linalg.norm(X, 2) ** 2,
                nY=np.linalg.norm(Yt, 2) ** 2, loss=mf.f(z))


ends = {"start (landed)": describe(land(z_mf)),
        "GD, η = 0.01": describe(land(gradient_descent(mf.grad, z_mf, 0.01, n_mf_steps).x_final)),
        "normalized GD, α = 0.2": describe(land(normalized_gradient_descent(mf.grad, z_mf, 0.2, n_mf_steps).x_final)),
        "normalized GD, 1/(k+1)^¼": describe(land(normalized_gradient_descent(
            mf.grad, z_mf, 1.0, 2 * n_mf_steps, schedule=0.25).x_final))}


def table(rows):
    print(f"{'run':28s} {'||C||_F':>8s} {'lambda_max/2s1':>15s} {'trace/min':>10s} {'|X|^2/s1':>9s} {'|Y|^2/s1':>9s}")
    for name, d in rows.items():
        print(f"{name:28s} {d['C']:8.2f} {d['lam'] / (2 * sig[0]):15.4f} {d['trace'] / trace_min:10.4f} "
              f"{d['nX'] / sig[0]:9.3f} {d['nY'] / sig[0]:9.3f}")


print(f"sigma = {np.round(sig, 3)}, 2 sigma_1 = {2 * sig[0]:.3f}; smallest trace on the orbit "
      f"2 sqrt(mn) sum(sigma) = {trace_min:.2f}, balanced trace (m+n) sum(sigma) = {trace_bal:.2f}")
table(ends)
check("every end point is a minimizer (loss < 1e-20)", all(d["loss"] < 1e-20 for d in ends.values()), "< 1e-20",
      [d["loss"] for d in ends.values()])
check("GD keeps C (relative change < 1e-3) and ends sharper than 2 sigma_1 by > 20%",
      abs(ends["GD, η = 0.01"]["C"] / ends["start (landed)"]["C"] - 1) < 1e-3
      and ends["GD, η = 0.01"]["lam"] > 1.2 * 2 * sig[0], "", ends["GD, η = 0.01"])
ngd = [ends["normalized GD, α = 0.2"], ends["normalized GD, 1/(k+1)^¼"]]
check("normalized GD ends lambda_max-flat: lambda_max = 2 sigma_1 to 2e-3",
      all(abs(d["lam"] / (2 * sig[0]) - 1) < 2e-3 for d in ngd), "< 2e-3", [d["lam"] / (2 * sig[0]) for d in ngd])

# %% [markdown]
# Normalized GD removes most of the imbalance and ends at $\lambda_{\max}=2\sigma_1$, the
# smallest value on the set of minimizers, with $\|X\|_2^2=\|Y\|_2^2=\sigma_1$; but $\|C\|_F$ does
# not go to zero in general: the end point is balanced in the spectral norm, not in the
# Frobenius sense. Section 4 shows why that is the right notion of flatness here. (Evidence,
# seeds 0–3; for seeds where the start lies close to the spectral-norm balanced set, $\|C\|$
# ends near zero too.)

# %% [markdown]
# ## 3. SAM's implicit bias
#
# SAM (Foret et al., ICLR 2021): $x_{k+1}=x_k-\eta\nabla f(x_k+\rho\nabla f(x_k)/\|\nabla f(x_k)\|)$.
# Wen, Ma & Li (ICLR 2023) prove that near a manifold of minima full-batch SAM decreases
# $\lambda_{\max}$ of the Hessian, while batch-size-1 SAM (one sample loss per step, here one
# entry $\frac12(XY^\top-M)_{ij}^2$) decreases its trace. Matrix factorization makes both
# targets explicit: the smallest $\lambda_{\max}$ on the minimizers is $2\sigma_1$, the smallest
# trace $2\sqrt{mn}\sum_i\sigma_i$, attained at $nX^\top X=mY^\top Y$ (notebook 06), which is
# *not* $\lambda_{\max}$-flat when $m\ne n$. Same start as above.

# %%
ends_sam = {"GD, η = 0.01": ends["GD, η = 0.01"],
            "SAM, η = 0.02, ρ = 0.5": describe(land(sam(mf.grad, z_mf, 0.02, 0.5, n_mf_steps).x_final)),
            "1-SAM, η = 0.05, ρ = 0.1": describe(land(stochastic_sam(
                mf.sample_grad, mf.n_samples, z_mf, 0.05, 0.1, 3 * n_mf_steps, rng=seed).x_final))}
table(ends_sam)
s_, o_ = ends_sam["SAM, η = 0.02, ρ = 0.5"], ends_sam["1-SAM, η = 0.05, ρ = 0.1"]
check("full-batch SAM ends lambda_max-flat (lambda_max = 2 sigma_1 to 1e-3), trace above its minimum by > 1%",
      abs(s_["lam"] / (2 * sig[0]) - 1) < 1e-3 and s_["trace"] > 1.01 * trace_min, "", s_)
check("1-SAM ends trace-flat (trace = its minimum to 2e-3), lambda_max above 2 sigma_1 by > 1%",
      abs(o_["trace"] / trace_min - 1) < 2e-3 and o_["lam"] > 1.01 * 2 * sig[0], "", o_)
check("both are minimizers (loss < 1e-8)", s_["loss"] < 1e-8 and o_["loss"] < 1e-8, "< 1e-8",
      (s_["loss"], o_["loss"]))

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.2))
floor = 1e-6
marks = {"GD, η = 0.01": "s", "normalized GD, α = 0.2": "o", "normalized GD, 1/(k+1)^¼": "D",
         "SAM, η = 0.02, ρ = 0.5": "^", "1-SAM, η = 0.05, ρ = 0.1": "v"}
for j, (name, mk) in enumerate(marks.items()):
    d = {**ends, **ends_sam}[name]
    ax.scatter(max(d["trace"] / trace_min - 1, floor), max(d["lam"] / (2 * sig[0]) - 1, floor), s=60 - 8 * j,
               marker=mk, color=f"C{j}", label=name, zorder=3)
ax.axhspan(floor / 3, 1.5 * floor, color="0.9")
ax.axvspan(floor / 3, 1.5 * floor, color="0.9")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlim(floor / 3, 3)
ax.set_ylim(floor / 3, 3)
ax.set_xlabel(r"trace excess: trace / $2\sqrt{mn}\sum\sigma_i$ − 1")
ax.set_ylabel(r"sharpness excess: $\lambda_{\max}/2\sigma_1$ − 1")
ax.set_title(f"minimizer reached from the same start (grey band: < {floor:g}, at the minimum)", fontsize=9)
ax.legend(fontsize=7, loc="center right")
no_minor_labels(ax)
show(fig, "08_sam_mf")

# %% [markdown]
# Each point is the minimizer a method ends at, placed by how far its trace and its
# $\lambda_{\max}$ are above their smallest values on the set of minimizers. Full-batch SAM and
# normalized GD land in the horizontal grey band ($\lambda_{\max}$ minimal to rounding) with a
# trace 3–7% above its minimum; batch-size-1 SAM lands next to the vertical band (trace within a
# few $10^{-4}$ of its minimum, the rest is the finite $\eta,\rho$) with $\lambda_{\max}$ 3–4%
# above $2\sigma_1$; no minimizer is in both bands when $m\ne n$. GD stays where its conserved
# $C$ put it. (Matches the theorems of Wen, Ma & Li; evidence for these step sizes, seeds 0–3.)
#
# **Diagonal linear network: sparsity.** $f(u,v)=\frac1{2N}\|X(u\odot u-v\odot v)-y\|^2$ with
# $N=20$ samples in dimension $d=40$ and a 3-sparse $\beta^*$ ($y=X\beta^*$); start
# $u=v=0.3\cdot\mathbb 1$. Theorem (Woodworth et al., COLT 2020): the gradient flow ends at
# $\arg\min Q_\alpha(\beta)$ subject to $X\beta=y$ (`gd_implicit_bias`), between the minimal
# $\ell_1$ interpolator (small $\alpha$) and the minimal $\ell_2$ one (large $\alpha$).
# Andriushchenko & Flammarion (ICML 2022) show that SAM, most strongly with batch size 1, biases
# this network towards sparser interpolators than GD.

# %%
Xd, yd, beta_star = sparse_regression(20, 40, 3, rng=seed)
dln = DiagonalLinearNetwork(Xd, yd)
alpha = 0.3
n_dln = 10000
b_theory = gd_implicit_bias(Xd, yd, alpha)
b_l1 = min_l1_interpolator(Xd, yd)


def land_dln(z):
    return gradient_descent(dln.grad, z, 0.05, 3000).x_final


dl = {"GD, η = 0.05": gradient_descent(dln.grad, dln.init(alpha), 0.05, n_dln).x_final,
      "SAM, η = 0.05, ρ = 0.05": land_dln(sam(dln.grad, dln.init(alpha), 0.05, 0.05, n_dln).x_final),
      "1-SAM, η = 0.05, ρ = 0.05": land_dln(stochastic_sam(dln.sample_grad, dln.n_samples, dln.init(alpha), 0.05,
                                                          0.05, 2 * n_dln, rng=seed).x_final)}
print(f"{'interpolator':28s} {'||beta||_1':>10s} {'||beta - beta*||':>16s} {'|beta_i| > 0.01':>15s} {'loss':>8s}")
print(f"{'min l1 (linear program)':28s} {np.abs(b_l1).sum():10.2f} {np.linalg.norm(b_l1 - beta_star):16.2f} "
      f"{int(np.sum(np.abs(b_l1) > 0.01)):15d}")
print(f"{'gradient flow (theory)':28s} {np.abs(b_theory).sum():10.2f} {np.linalg.norm(b_theory - beta_star):16.2f} "
      f"{int(np.sum(np.abs(b_theory) > 0.01)):15d}")
betas = {}
for name, z in dl.items():
    b = dln.beta(z)
    betas[name] = b
    print(f"{name:28s} {np.abs(b).sum():10.2f} {np.linalg.norm(b - beta_star):16.2f} "
          f"{int(np.sum(np.abs(b) > 0.01)):15d} {'< 1e-5' if dln.f(z) < 1e-5 else f'{dln.f(z):.0e}':>8s}")
b_gd, b_sam, b_1sam = betas.values()
check("GD ends at the gradient flow's interpolator (max |difference| < 0.03)",
      np.max(np.abs(b_gd - b_theory)) < 0.03, "< 0.03", np.max(np.abs(b_gd - b_theory)))
check("1-SAM ends sparser than GD (l1 norm smaller by > 25%) and within 1% of the minimal l1 norm",
      np.abs(b_1sam).sum() < 0.75 * np.abs(b_gd).sum() and np.abs(b_1sam).sum() < 1.01 * np.abs(b_l1).sum(),
      "", (np.abs(b_1sam).sum(), np.abs(b_gd).sum(), np.abs(b_l1).sum()))
check("full-batch SAM does not end sparser than GD here (l1 norm not smaller)",
      np.abs(b_sam).sum() >= np.abs(b_gd).sum(), ">=", (np.abs(b_sam).sum(), np.abs(b_gd).sum()))
check("all three interpolate (loss < 1e-5)", all(dln.f(z) < 1e-5 for z in dl.values()), "< 1e-5", "")

# %%
fig, ax = plt.subplots(figsize=(8.0, 3.4))
order = np.argsort(-np.abs(beta_star) - 1e-3 * np.abs(b_gd))
xpos = np.arange(40)
ax.bar(xpos - 0.27, np.abs(b_gd)[order], width=0.27, color="C0", label="GD")
ax.bar(xpos, np.abs(b_sam)[order], width=0.27, color="C1", label="SAM (full batch)")
ax.bar(xpos + 0.27, np.abs(b_1sam)[order], width=0.27, color="C2", label="1-SAM")
ax.scatter(xpos, np.abs(beta_star)[order], marker="_", s=120, color="k", label=r"$|\beta^*_i|$", zorder=3)
ax.set_yscale("log")
ax.set_ylim(1e-4, 2)
ax.set_xlabel("coordinate i (the support of β* first)")
ax.set_ylabel(r"$|\beta_i|$ at the end")
ax.legend(fontsize=8, ncol=4)
show(fig, "08_dln_sparsity")

# %% [markdown]
# Batch-size-1 SAM recovers the 3-sparse $\beta^*$: its interpolator is the minimal-$\ell_1$ one,
# while GD from the same start spreads weight over all coordinates, as the implicit-bias
# formula predicts. **Not reproduced here: full-batch SAM** (with the normalized ascent step, at
# these $\rho$) ends *denser* than GD on every seed tested (0–3), not sparser; the sparsity bias
# we observe is that of the stochastic version.

# %% [markdown]
# ## 4. Two notions of balance
#
# Deep factorization $f=\frac12\|W_L\cdots W_1-M\|_F^2$. With the left and right factors
# $A_l=W_L\cdots W_{l+1}$, $B_l=W_{l-1}\cdots W_1$, at a minimizer the Hessian is $J^\top J$
# ($J$ the differential of the product), and (derived in `flatlib.problems.deep_factorization`):
#
# * $\lambda_{\max}=\lambda_{\max}\bigl(\sum_l B_l^\top B_l\otimes A_lA_l^\top\bigr)\le
#   \sum_l\|A_l\|_2^2\|B_l\|_2^2$, an $mn\times mn$ eigenproblem; at depth 2 it is
#   $\|X\|_2^2+\|Y\|_2^2$ exactly;
# * $\lambda_{\max}\ge L\,\sigma_1^{2(L-1)/L}$ at every minimizer, with equality at the balanced
#   ones; so $\|A_l\|_2\|B_l\|_2=\sigma_1^{(L-1)/L}$ for every $l$ (*spectral-norm balance* at the
#   level of $M$) is sufficient for flatness, and at depth 2 also necessary:
#   $\|X\|_2^2=\|Y\|_2^2=\sigma_1$.
#
# Kamber & Parhi (arXiv:2509.25783) give an exact expression of $\lambda_{\max}$ at every
# minimizer and the characterization "flat iff spectral-norm balanced" for depth 2 and deep
# scalar factorization. We have only their abstract; the formulas above are our derivation,
# checked here against dense eigenvalues and Lanczos at random minimizers.

# %%
rows = []
for depth in (2, 3):
    for trial in range(2 if fast else 3):
        g = np.random.default_rng(100 * seed + 10 * depth + trial)
        Md = g.standard_normal((5, 3)) @ g.standard_normal((3, 4))
        P = DeepFactorization(Md, 3, depth)
        Ws = transform_factors(balanced_factors(Md, 3, depth),
                               [np.eye(3) + 0.3 * g.standard_normal((3, 3)) for _ in range(depth - 1)])
        z = P.pack(Ws)
        exact = P.lambda_max_at_minimizer(z)
        dense = np.linalg.eigvalsh(P.hess(z))[-1]
        lanczos = track_lambda_max(P.hvp, z[None], rng=seed).values[0]
        rows.append((depth, P.n, exact, dense, lanczos, flattest_lambda_max(Md, depth),
                     float(np.sum(spectral_norm_products(Ws) ** 2))))
print(f"{'depth':>5s} {'params':>6s} {'exact/dense - 1':>16s} {'Lanczos/dense - 1':>18s} {'lambda_max/flattest':>20s} "
      f"{'sum |A||B|^2 / lambda_max':>26s}")
for d, npar, ex, de, la, fl, ub in rows:
    print(f"{d:5d} {npar:6d} {'< 1e-10' if abs(ex / de - 1) < 1e-10 else f'{ex / de - 1:.1e}':>16s} "
          f"{'< 1e-8' if abs(la / de - 1) < 1e-8 else f'{la / de - 1:.1e}':>18s} {ex / fl:20.2f} {ub / ex:26.3f}")
check("exact lambda_max formula = dense eigenvalue (1e-10) = Lanczos (1e-8) at depth 2 and 3",
      all(abs(ex / de - 1) < 1e-10 and abs(la / de - 1) < 1e-8 for _, _, ex, de, la, _, _ in rows), "", rows)
check("flattest value <= lambda_max <= spectral bound, with equality of the bound at depth 2",
      all(fl <= ex * (1 + 1e-12) and ex <= ub * (1 + 1e-12) for _, _, ex, _, _, fl, ub in rows)
      and all(abs(ub / ex - 1) < 1e-10 for d, _, ex, _, _, _, ub in rows if d == 2), "", "")

# %% [markdown]
# **The tie interval of notebook 06 is the spectral-norm balanced set.** Scale the second
# column of a balanced depth-2 pair by $c$: $X e_2\to cXe_2$, $Ye_2\to Ye_2/c$. Then
# $\|X\|_2^2=\max(\sigma_1,c^2\sigma_2)$ and $\|Y\|_2^2=\max(\sigma_1,\sigma_2/c^2)$, both equal to
# $\sigma_1$ iff $c\in[\sqrt{\sigma_2/\sigma_1},\sqrt{\sigma_1/\sigma_2}]$: exactly notebook 06's
# interval, where $\lambda_{\max}=2\sigma_1$. Meanwhile $X^\top X=Y^\top Y$ holds only at $c=1$.

# %%
Wb = balanced_factors(M, 2, 2)
c_lo, c_hi = np.sqrt(sig[1] / sig[0]), np.sqrt(sig[0] / sig[1])
cs = np.geomspace(c_lo / 3, c_hi * 3, 61 if fast else 241)
lam_c, nx_c, ny_c, cf_c = [], [], [], []
for c in cs:
    Yt, X = transform_factors(Wb, [[1.0, c]])
    lam_c.append(np.linalg.eigvalsh(mf.hess(mf.pack([Yt, X])))[-1])
    nx_c.append(np.linalg.norm(X, 2) ** 2)
    ny_c.append(np.linalg.norm(Yt, 2) ** 2)
    cf_c.append(np.linalg.norm(X.T @ X - Yt @ Yt.T))
lam_c, nx_c, ny_c, cf_c = map(np.array, (lam_c, nx_c, ny_c, cf_c))
flat_set = np.abs(lam_c - 2 * sig[0]) < 1e-10 * sig[0]
spec_set = (np.abs(nx_c - sig[0]) < 1e-10 * sig[0]) & (np.abs(ny_c - sig[0]) < 1e-10 * sig[0])
interval = (cs >= c_lo) & (cs <= c_hi)
print(f"tie interval [sqrt(s2/s1), sqrt(s1/s2)] = [{c_lo:.4f}, {c_hi:.4f}]; on a grid of {cs.size} values of c:")
print(f"  lambda_max = 2 s1 (dense Hessian, 1e-10): {flat_set.sum()} points, c from {cs[flat_set].min():.4f} "
      f"to {cs[flat_set].max():.4f}")
print(f"  |X|^2 = |Y|^2 = s1 (spectral balance):    {spec_set.sum()} points; same set: "
      f"{bool(np.array_equal(flat_set, spec_set))}; = grid within the interval: {bool(np.array_equal(flat_set, interval))}")
print(f"  X^T X = Y^T Y (Frobenius balance): only at c = 1 (||C|| on the grid >= {np.min(cf_c[np.abs(cs - 1) > 1e-9]):.3f} "
      "away from it)")
check("lambda_max-flat set = spectral-norm balanced set = the tie interval (on the grid)",
      np.array_equal(flat_set, spec_set) and np.array_equal(flat_set, interval), "equal sets", "")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6))
axes[0].plot(cs, lam_c / (2 * sig[0]), color="C0", label=r"$\lambda_{\max}/2\sigma_1$")
axes[0].plot(cs, (nx_c + ny_c) / (2 * sig[0]), color="C1", ls="--", label=r"$(\|X\|_2^2+\|Y\|_2^2)/2\sigma_1$")
axes[0].plot(cs, 1 + cf_c / sig[0], color="C2", ls=":", label=r"$1+\|X^\top X-Y^\top Y\|_F/\sigma_1$")
for c in (c_lo, c_hi):
    axes[0].axvline(c, color="k", lw=0.8, ls=":")
axes[0].set_xscale("log")
no_minor_labels(axes[0])
axes[0].set_xlabel("column scale c")
axes[0].set_title("dotted verticals: notebook 06's tie interval", fontsize=9)
axes[0].legend(fontsize=8)

Md3 = M
W3 = balanced_factors(Md3, 2, 3)
g3 = np.geomspace(0.2, 5.0, 25 if fast else 61)
lev = np.linalg.norm(Md3, 2) ** (2 / 3)
flat3 = np.zeros((g3.size, g3.size), bool)
suff3 = np.zeros_like(flat3)
for i, c1 in enumerate(g3):
    for j, c2 in enumerate(g3):
        Ws = transform_factors(W3, [[1.0, c1], [1.0, c2]])
        flat3[i, j] = lambda_max_at_minimizer(Ws) <= flattest_lambda_max(Md3, 3) * (1 + 1e-10)
        suff3[i, j] = np.all(np.abs(spectral_norm_products(Ws) - lev) <= 1e-10 * lev)
img = np.where(suff3, 2, np.where(flat3, 1, 0))
axes[1].pcolormesh(g3, g3, img.T, cmap=plt.matplotlib.colors.ListedColormap(["#dddddd", "#9ecae1", "#08519c"]),
                   shading="nearest")
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel(r"scale $c_1$ of hidden unit 2, layer 1")
axes[1].set_ylabel(r"scale $c_2$, layer 2")
axes[1].set_title("depth 3: dark = products at the level, light = flat only, grey = sharper", fontsize=8)
no_minor_labels(axes[1])
show(fig, "08_two_balances")
print(f"depth 3, {g3.size}x{g3.size} grid of diagonal rescalings: flat {flat3.sum()}, with every "
      f"||A_l|| ||B_l|| = s1^(2/3): {suff3.sum()}, flat without it: {(flat3 & ~suff3).sum()}")
check("depth 3: spectral-norm balance at the level implies flatness (on the grid)", not np.any(suff3 & ~flat3),
      "no counterexample", int(np.sum(suff3 & ~flat3)))

# %% [markdown]
# Left (depth 2): $\lambda_{\max}$ equals $\|X\|_2^2+\|Y\|_2^2$ at every $c$ and is minimal exactly
# on the tie interval, while the Frobenius imbalance (dotted) is zero only at $c=1$. Right
# (depth 3, the same $M$, two hidden scalings): the balance condition at the level
# $\sigma_1^{2/3}$ (dark) is sufficient for $\lambda_{\max}=3\sigma_1^{4/3}$, but the flat set
# (dark and light) is larger: at depth 3 the condition is not necessary, in line with Kamber &
# Parhi's abstract, which claims necessity only for depth 2 and scalar factorization.
#
# **Which algorithm selects which notion** (sections 2–3, seeds 0–3):
#
# | method | ends at | flat in the sense of |
# |---|---|---|
# | gradient flow, small-step GD | the minimizer fixed by the conserved $C$ | none in general |
# | flow of the conserved quantities (notebook 05) | $C=0$ | Frobenius balance (and hence $\lambda_{\max}$) |
# | normalized GD, full-batch SAM | $\lambda_{\max}=2\sigma_1$, $C\ne0$ | spectral-norm balance ($\lambda_{\max}$) |
# | batch-size-1 SAM | $nX^\top X=mY^\top Y$ | the trace, not $\lambda_{\max}$ |

# %%
spec_ends = {k: d for k, d in {**ends, **ends_sam}.items() if "normalized" in k or k.startswith("SAM")}
for name, d in spec_ends.items():
    print(f"{name:28s} |X|^2/s1 = {d['nX'] / sig[0]:.4f}, |Y|^2/s1 = {d['nY'] / sig[0]:.4f}, ||C||_F = {d['C']:.2f}")
check("normalized GD and SAM end spectral-norm balanced (|X|^2 and |Y|^2 = s1 to 2e-3)",
      all(abs(d["nX"] / sig[0] - 1) < 2e-3 and abs(d["nY"] / sig[0] - 1) < 2e-3 for d in spec_ends.values()),
      "< 2e-3", "")

# %% [markdown]
# ## 5. Large steps and the $2/\eta$ ceiling, done right
#
# Notebook 07 compared $\lambda_{\max}$ at the end of runs of equal *length*. Here every run of
# section 1 stopped at the same training loss (0.1), its whole trajectory is shown against the
# loss, and the value at initialization is given. The question: does each run end *at* the edge
# of stability, or below it? The gradient flow's $\lambda_{\max}$ at the same loss is the
# reference: a run can only reach the ceiling if sharpening brings $\lambda_{\max}$ there.

# %%
lam_flow_end = flow_lam[-1]
print(f"lambda_max at initialization {lam0:.2f}; gradient flow at loss {loss_target}: {lam_flow_end:.1f}")
print(f"{'eta':>5s} {'2/eta':>6s} {'steps':>6s} {'max lambda':>11s} {'lambda at loss 0.1':>19s} {'/ (2/eta)':>10s} "
      f"{'ends':>6s}")
end_ratio = {}
for eta in etas:
    R = runs[eta]
    end_ratio[eta] = R["lam"][-1] * eta / 2
    where = "at" if end_ratio[eta] >= 0.9 else "below"
    print(f"{eta:5.2f} {2 / eta:6.1f} {len(R['loss']) - 1:6d} {R['lam'].max():11.1f} {R['lam'][-1]:19.1f} "
          f"{end_ratio[eta]:10.2f} {where:>6s}")
check("runs whose flow value exceeds 2/eta end at the edge: lambda_end in [0.9, 1.25] x 2/eta",
      all(0.9 <= end_ratio[eta] <= 1.25 for eta in edge), "[0.9, 1.25]", {e: end_ratio[e] for e in edge})
check("the other runs end below 2/eta, at the flow's value (within 5%)",
      all(end_ratio[eta] < 0.9 and abs(runs[eta]["lam"][-1] / lam_flow_end - 1) < 0.05 for eta in below), "",
      {e: (end_ratio[e], runs[e]["lam"][-1]) for e in below})

# %%
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
for j, eta in enumerate(etas):
    R = runs[eta]
    axes[0].plot(R["loss"][R["idx"]], R["lam"], color=f"C{j}", lw=1.0, label=f"η = {eta:g}")
    axes[0].axhline(2 / eta, color=f"C{j}", lw=0.8, ls=":")
axes[0].plot(flow_loss, flow_lam, color="k", lw=2, label="gradient flow")
axes[0].set_xscale("log")
axes[0].invert_xaxis()
axes[0].set_ylim(0, 1.3 * max(flow_lam.max(), 2 / max(etas)))
axes[0].set_xlabel("training loss (decreasing →)")
axes[0].set_ylabel(r"$\lambda_{\max}$")
axes[0].legend(fontsize=7)
eg = np.geomspace(min(etas) * 0.8, max(etas) * 1.25, 60)
axes[1].plot(eg, 2 / eg, color="k", lw=1, label=r"$2/\eta$")
axes[1].axhline(lam_flow_end, color="k", lw=1, ls="--", label=f"flow at loss {loss_target}")
axes[1].axhline(lam0, color="gray", lw=1, ls=":", label="initialization")
axes[1].plot(etas, [runs[e]["lam"][-1] for e in etas], "o", color="C3", label=f"GD at loss {loss_target}")
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel(r"step size $\eta$")
axes[1].set_ylabel(r"$\lambda_{\max}$")
axes[1].legend(fontsize=7)
no_minor_labels(*axes)
show(fig, "08_ceiling")

# %% [markdown]
# Left: each run's $\lambda_{\max}$ against its training loss, all ending at loss 0.1. Right: the
# end values (red) follow $\min(2/\eta,\ \lambda_{\max}\text{ of the flow})$: the runs at the edge
# end between 0.96 and 1.11 times $2/\eta$ (seed 0), i.e. around the ceiling and mostly just
# above it, as Cohen et al. report; the others end at the flow's value. With $\eta=0.5$ the
# run starts above its ceiling ($\lambda_{\max}(\theta_0)=5.21>2/\eta=4$): its curvature first
# drops (the loss spikes), then sharpening brings it back to the edge. "Larger steps end flatter" is true here in
# this precise sense: the step caps the curvature, and the cap binds only when the flow would
# sharpen beyond it. (Evidence on one network, seeds 0–3.)

# %% [markdown]
# ## Summary of the checks

# %%
w = max(len(c[0]) for c in checks)
for name, ok, expected in checks:
    print(f"{'PASS' if ok else 'FAIL'}  {name:{w}s}  {expected}")
print(f"{sum(ok for _, ok, _ in checks)}/{len(checks)} checks passed")
assert all(ok for _, ok, _ in checks)
