# %% [markdown]
# # Flatness of trained networks: the rescaling symmetry, and does flatness predict generalization?
#
# > **What the paper says:** nothing on this question. The paper is mathematical; "flat minima
# > generalize better" is a hypothesis of the seed summary (an automatic digest of the paper),
# > tested here, not a statement of the paper or of its abstract.
# >
# > **What this notebook adds:** the rescaling attack and its answer (measures taken at the
# > balanced point of the rescaling orbit do not move); seven flatness measures, raw and balanced,
# > ranked against the generalization gap (Kendall τ); whether the balanced point is the flattest
# > of its orbit; $\lambda_{\max}$ against $2/\eta$ at the end of gradient descent.
# >
# > **Numerical evidence only:** all of it, on small networks and 200 images of digits. The
# > default run (12 nets) settles nothing; the 48-net grid (`full=True`) is summarized at the end.
#
# Everything before this notebook lives on closed-form examples. Here the question readers
# bring to a study of flat minima is asked of real networks: *are the flat minima the ones
# that generalize, and is the maximal variation $f^\circ$ better at telling than
# $\lambda_{\max}$ or the trace?* This is not a claim of the paper (a mathematical one); it is
# a hypothesis of the seed summary, tested here on a small scale and reported whatever the
# outcome. Background: Jiang et al. (ICLR 2020) found sharpness-type measures among the
# best predictors of the generalization gap (Kendall τ over many nets trained to the same
# cross-entropy); Andriushchenko et al. (ICML 2023) found that worst-case *adaptive*
# sharpness correlates poorly with generalization in modern settings; Dinh et al. (2017)
# observed that ReLU rescalings change every sharpness measure without changing the
# function.
#
# The symmetry view answers the last objection: every rescaling orbit has a unique
# *balanced* point (minimal norm, all charges $q_j=\|w_{j,\rm in}\|^2+b_j^2-\|w_{j,\rm out}\|^2$
# zero; `MLP.balance`), so any measure taken after balancing is a function of the network
# function's orbit only. The notebook
#
# 1. trains a grid of ReLU nets on a 200-image subset of scikit-learn's 8×8 digits (varying
#    learning rate, batch size, width and, for `full=True`, the seed), all to the same training
#    cross-entropy 0.01, and measures at each net $f^\circ(\theta,r)$ at two radii,
#    $\bar f(\theta,d)$, $\lambda_{\max}$ (Lanczos), the trace (Hutchinson), SAM's one-step
#    sharpness and the adaptive (|θ|-scaled ball) worst-case sharpness, raw and balanced;
# 2. ranks each measure against the generalization gap (Kendall τ, bootstrap 95% intervals);
# 3. runs the rescaling attack: random per-neuron scalings in $[1/10,10]$;
# 4. asks whether the balanced point is the flattest point of its orbit, as it is for matrix
#    factorization (notebook 06);
# 5. compares $\lambda_{\max}$ at the end of full-batch GD with $2/\eta$.
#
# Computations: `flatlib.problems.generalization` (measures, τ), `flatlib.problems.training`
# (training, sweeps over a process pool), `flatlib.problems.mlp` (the network). $f^\circ$ and
# $\bar f$ are values attained by local searches (`flatlib.max_variation`), i.e. lower
# bounds of the suprema; the searches use few starts to keep the default run under a minute.

# %% tags=["parameters"]
seed = 0             # seed of the attack scalings, orbit directions, starts and probes
n_train = 200        # training images (stratified subset of the 1,797)
jobs = 2             # worker processes of the sweeps
fast = False         # True: a 4-net smoke run with coarser orbit paths
full = False         # True: the 48-net grid (3 widths x 4 learning rates x 2 batch sizes x 2 seeds)

# %%
import functools

import numpy as np
import matplotlib.pyplot as plt

from flatlib import hessian_lambda_max
from flatlib.figures import show, style
from flatlib.problems.generalization import (MEASURES, kendall_tau_ci, network_measures, orbit_measures,
                                             train_and_measure)
from flatlib.problems.training import model_from_config, sweep

style()
checks = []


def check(name, ok, detail=""):
    checks.append((name, bool(ok), detail))
    assert ok, f"{name}: {detail}"


LABELS = {"fcirc_r1": r"$f^\circ(\theta,r_1)$", "fcirc_r2": r"$f^\circ(\theta,r_2)$",
          "fbar": r"$-\bar f(\theta,d)$", "lambda_max": r"$\lambda_{\max}$", "trace": r"tr $\nabla^2 f$",
          "sam": "SAM one-step", "asam": "adaptive worst-case"}
MEASURE_KW = dict(radii=(0.1, 0.5), delta=0.1, sam_rho=0.1, asam_rho=0.05, n_starts=2, n_trace=20, rng=seed)

if full:
    widths, lrs, batches, seeds = [16, 32, 64], [0.05, 0.1, 0.2, 0.4], [None, 16], [0, 1]
elif fast:
    widths, lrs, batches, seeds = [16], [0.1, 0.4], [None, 16], [0]
else:
    widths, lrs, batches, seeds = [16, 32], [0.05, 0.15, 0.4], [None, 16], [0]
configs = [dict(n_train=n_train, hidden=(w,), lr=lr, method="gd" if b is None else "sgd", batch_size=b,
                steps=6000, loss_threshold=0.01, init_seed=s, seed=s)
           for w in widths for lr in lrs for b in batches for s in seeds]
print(f"{len(configs)} networks: widths {widths}, learning rates {lrs}, batch sizes "
      f"{['full' if b is None else b for b in batches]}, seeds {seeds}; measures: {', '.join(MEASURES)}")

# %% [markdown]
# ## 1. Train the grid and measure every net
#
# Each net (widths $(64, w, 10)$, He init, cross-entropy) is trained by full-batch GD or
# minibatch SGD until its full training loss is $\le 0.01$ (the protocol of Jiang et al.:
# all nets compared at the same training loss), then measured at $\theta$ and at
# $\operatorname{balance}(\theta)$. $f^\circ$ at $r_1=0.1$ (near-quadratic regime,
# $\approx\frac12\lambda_{\max}r_1^2$) and $r_2=0.5$; $\bar f$ at $d=0.1$ (a distance: larger
# is flatter, so the table ranks $-\bar f$); SAM at $\rho=0.1$; adaptive at $\rho=0.05$.
# The gap is test minus training error (and loss) on the 1,597 held-out images.

# %%
runs = sweep(configs, functools.partial(train_and_measure, measure_kwargs=MEASURE_KW), jobs=jobs,
             progress=False)
ok_runs = [r for r in runs if r["stop_reason"] == "loss_threshold"]
gap_error = np.array([r["gap_error"] for r in ok_runs])
gap_loss = np.array([r["gap_loss"] for r in ok_runs])
print(f"{len(ok_runs)}/{len(runs)} nets reached training loss 0.01 (all at training error "
      f"{max(r['train_error'] for r in ok_runs):.2f})")
print(f"test - train error: {gap_error.min():.3f} to {gap_error.max():.3f};  "
      f"test - train loss: {gap_loss.min():.2f} to {gap_loss.max():.2f}")
check("every net reached the training loss threshold", len(ok_runs) == len(runs), "stop_reason")


# %% [markdown]
# ## 2. Rank correlation with the generalization gap
#
# Kendall's τ between each measure and the gap over the trained nets (τ = 1: the measure
# orders the nets exactly as their gaps), with percentile bootstrap 95% intervals from 1,000
# resamples of the nets. A sharpness measure that predicts generalization has τ clearly above 0.

# %%
def column(kind, name):
    v = np.array([r[kind][name] for r in ok_runs])
    return -v if name == "fbar" else v


taus = {}
for gname, gap in (("error", gap_error), ("loss", gap_loss)):
    for kind in ("raw", "balanced"):
        for name in MEASURES:
            taus[gname, kind, name] = kendall_tau_ci(column(kind, name), gap, n_boot=1000, rng=seed)


def fmt(t):
    s = f"{t:+.2f}"
    return "+0.00" if s == "-0.00" else s


print(f"Kendall tau with the gap over {len(ok_runs)} nets  [bootstrap 95% interval]")
print(f"{'measure':12s} {'raw, error gap':>22s} {'balanced, error gap':>22s} {'raw, loss gap':>22s} "
      f"{'balanced, loss gap':>22s}")
for name in MEASURES:
    cells = []
    for gname in ("error", "loss"):
        for kind in ("raw", "balanced"):
            t, lo, hi = taus[gname, kind, name]
            cells.append(f"{fmt(t)} [{fmt(lo)}, {fmt(hi)}]")
    print(f"{('-fbar' if name == 'fbar' else name):12s} " + " ".join(f"{c:>22s}" for c in cells))

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8), sharey=True)
ypos = np.arange(len(MEASURES))
for ax, gname in zip(axes, ("error", "loss")):
    for k, (kind, dy, mk) in enumerate((("raw", -0.15, "o"), ("balanced", 0.15, "s"))):
        t = np.array([taus[gname, kind, m][0] for m in MEASURES])
        lo = np.array([taus[gname, kind, m][1] for m in MEASURES])
        hi = np.array([taus[gname, kind, m][2] for m in MEASURES])
        ax.errorbar(t, ypos + dy, xerr=[t - lo, hi - t], fmt=mk, color=f"C{k}", capsize=3,
                    label=f"at {'θ' if kind == 'raw' else 'balance(θ)'}")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel(f"Kendall τ with the {gname} gap (test − train)")
    ax.set_title(f"{len(ok_runs)} nets; bars: bootstrap 95%", fontsize=9)
axes[0].set_yticks(ypos, [LABELS[m] for m in MEASURES])
axes[0].invert_yaxis()
axes[0].legend(fontsize=8, loc="lower left")
show(fig, "07_kendall_tau" + ("_full" if full else ""))

# %% [markdown]
# Read the figure as: a point right of 0 whose bar stays right of 0 is a measure that ranks
# the nets like their generalization gap; circles (raw) and squares (balanced) coincide where
# balancing does not change the ranking.

# %%
best = max(MEASURES, key=lambda m: taus["error", "balanced", m][0])
t_fc = taus["error", "balanced", "fcirc_r2"]
verdict = ("above 0 (the bootstrap interval excludes 0)" if t_fc[1] > 0 else
           "not distinguishable from 0 (the bootstrap interval contains 0)" if t_fc[1] <= 0 <= t_fc[2] else
           "below 0 (the interval excludes 0)")
print(f"balanced f°(θ, r2) vs the error gap: tau {fmt(t_fc[0])}, {verdict}")
print(f"largest tau with the error gap among balanced measures: {best} ({fmt(taus['error', 'balanced', best][0])})")
widths_run = np.array([r["config"]["hidden"][0] for r in ok_runs])
lr_run = np.array([r["config"]["lr"] for r in ok_runs])
tau_lr = kendall_tau_ci(lr_run, gap_error, n_boot=1000, rng=seed)
tau_w = kendall_tau_ci(widths_run, gap_error, n_boot=1000, rng=seed)
print(f"for comparison, tau of the gap with the learning rate {fmt(tau_lr[0])}, with the width {fmt(tau_w[0])}")

# %% [markdown]
# **What the default run (12 nets) shows.** On this small, honest scale no measure predicts
# the gap reliably, and balancing does not rescue the Euclidean ones. Raw $\lambda_{\max}$ and
# raw $f^\circ$ at the small radius rank the nets positively (τ ≈ 0.4–0.5), but their balanced
# versions do not (intervals around 0): the raw correlation rides on the arbitrary scales of
# the neurons. At the larger radius $f^\circ$, like the trace and SAM's one-step sharpness, is
# *anti*-correlated with the gap; the adaptive worst-case sharpness, rescaling-invariant by
# construction, has the largest positive τ, with a wide interval. The gaps span a narrow range
# and the width alone orders them best (wider nets generalize better here): the measures
# mostly track architecture, not generalization. With 12 nets every interval is wide.
#
# The 48-net grid (`full=True`: widths 16, 32, 64, four learning rates, GD and SGD, two
# seeds; figures `07_kendall_tau_full.png`, `07_measure_vs_gap_full.png`) sharpens this: every
# Euclidean measure, raw *or* balanced ($f^\circ$ at both radii, $-\bar f$, $\lambda_{\max}$,
# trace, SAM), is *anti*-correlated with the error gap (τ from −0.19 to −0.68, most intervals
# excluding 0), only the adaptive sharpness is positively correlated (τ = +0.59, interval
# [+0.46, +0.71]), and the width alone has τ = −0.78. The nets form one cluster per width:
# wider nets are sharper in the Euclidean sense and generalize better. Balancing removes the
# arbitrariness of the neuron scales, but on these nets it does not turn $f^\circ$ into a
# predictor of generalization.

# %%
fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.4), sharey=True)
for ax, name in zip(axes, ("lambda_max", "fcirc_r2", "asam")):
    for w, mk in zip(sorted(set(widths_run)), "os^"):
        sel = widths_run == w
        for b, col in ((None, "C0"), (16, "C3")):
            selb = sel & np.array([r["config"]["batch_size"] == b for r in ok_runs])
            ax.scatter([r["balanced"][name] for r, s in zip(ok_runs, selb) if s], gap_error[selb], marker=mk,
                       color=col, s=22, label=f"w={w}, {'GD' if b is None else 'SGD b=16'}")
    ax.set_xscale("log")
    ax.set_xlabel(LABELS[name] + " at balance(θ)")
axes[0].set_ylabel("test − train error")
axes[0].legend(fontsize=7)
show(fig, "07_measure_vs_gap" + ("_full" if full else ""))

# %% [markdown]
# Each point is one trained net (marker: width, colour: GD or SGD); the horizontal axis is
# the balanced measure on a log scale, the vertical axis its generalization gap.

# %% [markdown]
# ## 3. The rescaling attack
#
# Multiply the incoming weights and bias of every hidden neuron $j$ by a random $c_j\in[1/10,10]$
# (log-uniform) and its outgoing weights by $1/c_j$. The network function is unchanged, so
# predictions, accuracies and losses are unchanged; the raw measures are not. Balanced
# measures are computed at $\operatorname{balance}(T\theta)=\operatorname{balance}(\theta)$ and
# cannot change beyond rounding. The adaptive sharpness is invariant already raw
# ($|T\theta|=T|\theta|$ for a positive diagonal $T$).

# %%
k0 = 0                                  # the first net of the grid
r0 = ok_runs[k0]
model, Xte, yte = model_from_config(r0["config"])
theta0 = r0["theta"]
n_attacks = 2 if fast else 4
gen = np.random.default_rng(seed)
attacked = [model.rescale(theta0, model.random_scales(gen, 0.1, 10.0)) for _ in range(n_attacks)]
out0 = model.predict(theta0, Xte)
dpred = max(float(np.max(np.abs(model.predict(t, Xte) - out0))) / float(np.max(np.abs(out0))) for t in attacked)
dloss = max(abs(model.f(t) - model.f(theta0)) for t in attacked)
dacc = max(abs(model.accuracy(t, Xte, yte) - model.accuracy(theta0, Xte, yte)) for t in attacked)
print(f"net {r0['config']['hidden']}, lr {r0['config']['lr']}, {r0['config']['method']}: {model.n} parameters, "
      f"{n_attacks} random rescalings")
print(f"test logits: max relative change < 1e-12: {dpred < 1e-12};  training loss change < 1e-12: {dloss < 1e-12};  "
      f"test accuracy change = {dacc}")
check("rescaling keeps the function (logits to 1e-12, loss to 1e-12, accuracy exactly)",
      dpred < 1e-12 and dloss < 1e-12 and dacc == 0, "test logits, training loss, test accuracy")

att = sweep(attacked, functools.partial(network_measures, model, **MEASURE_KW), jobs=jobs, progress=False)
ratio_raw = np.array([[a.raw[m] / r0["raw"][m] for m in MEASURES] for a in att])
dev_bal = np.array([[abs(a.balanced[m] / r0["balanced"][m] - 1) for m in MEASURES] for a in att])
print(f"{'measure':12s} {'raw: attacked / original':>26s} {'balanced: max rel. change':>27s}")
for j, m in enumerate(MEASURES):
    lo, hi = ratio_raw[:, j].min(), ratio_raw[:, j].max()
    rng_txt = "1 (to 1e-8)" if np.all(np.abs(ratio_raw[:, j] - 1) < 1e-8) else f"{lo:.2g} to {hi:.2g}"
    print(f"{m:12s} {rng_txt:>26s} {'< 1e-8' if dev_bal[:, j].max() < 1e-8 else f'{dev_bal[:, j].max():.1e}':>27s}")
check("every balanced measure unchanged by the attack to 1e-8", dev_bal.max() < 1e-8, "relative")
check("adaptive sharpness unchanged raw to 1e-8", np.all(np.abs(ratio_raw[:, MEASURES.index('asam')] - 1) < 1e-8),
      "relative")
big = [m for j, m in enumerate(MEASURES) if m in ("lambda_max", "trace", "fcirc_r1", "fcirc_r2")
       and ratio_raw[:, j].max() > 5]
check("the attack multiplies raw lambda_max, trace and f° by more than 5", len(big) == 4, str(big))

# %%
fig, ax = plt.subplots(figsize=(7.5, 3.6))
x = np.arange(len(MEASURES))
for i in range(n_attacks):
    ax.scatter(x - 0.12, ratio_raw[i], color="C0", marker="o", s=22, label="at θ (raw)" if i == 0 else None)
    ax.scatter(x + 0.12, 1 + dev_bal[i], color="C1", marker="s", s=22,
               label="at balance(θ)" if i == 0 else None)
ax.axhline(1, color="k", lw=0.8)
ax.set_yscale("log")
ax.set_xticks(x, [r"$\bar f(\theta,d)$" if m == "fbar" else LABELS[m] for m in MEASURES], rotation=20,
              fontsize=8)
ax.set_ylabel("measure after / before rescaling")
ax.set_title(f"{n_attacks} random per-neuron rescalings in [1/10, 10] (same function)", fontsize=9)
ax.legend(fontsize=8)
show(fig, "07_rescaling_attack")

# %% [markdown]
# Every blue point off the line $1$ is a raw measure moved by a rescaling that does not change
# the network function; every orange square sits on the line: balanced measures (and the
# adaptive one, raw) do not move.

# %% [markdown]
# ## 4. Is the balanced point the flattest of its orbit?
#
# For matrix factorization the balanced point minimizes $\lambda_{\max}$ and $f^\circ$ over
# the orbit (notebook 06). For a network, walk from $\theta_b=\operatorname{balance}(\theta)$
# along $t\mapsto\operatorname{rescale}(\theta_b,e^{tu})$ for random unit log-scale directions
# $u\in\mathbb R^H$ and measure $\lambda_{\max}$ and $f^\circ(\cdot, 0.5)$; $\|\theta\|^2$ is
# minimal at $t=0$ by construction.

# %%
n_dirs = 2 if fast else 4
ts = np.linspace(-1.0, 1.0, 5 if fast else 9)
theta_b = model.balance(theta0)
U = np.random.default_rng(seed + 1).standard_normal((n_dirs, model.n_hidden))
U /= np.linalg.norm(U, axis=1, keepdims=True)
orb = sweep(list(U), functools.partial(orbit_measures, model, theta_b, ts=ts, radius=0.5, rng=seed),
            jobs=jobs, progress=False)
lam = np.array([o[0][0] for o in orb])
fco = np.array([o[1][0] for o in orb])
nrm = np.array([o[2][0] for o in orb])
i0 = int(np.argmin(np.abs(ts)))
check("norm minimal at the balanced point along every path", np.all(np.argmin(nrm, axis=1) == i0), "argmin")
lam_min0 = np.argmin(lam, axis=1) == i0
fco_min0 = np.argmin(fco, axis=1) == i0
print(f"{n_dirs} random orbit directions, t in [{ts[0]:.1f}, {ts[-1]:.1f}]:")
print(f"  lambda_max smallest at the balanced point on {lam_min0.sum()}/{n_dirs} paths; "
      f"min over the paths / value at balance = {lam.min() / lam[0, i0]:.2f}")
print(f"  f°(., 0.5) smallest at the balanced point on {fco_min0.sum()}/{n_dirs} paths; "
      f"min over the paths / value at balance = {fco.min() / fco[0, i0]:.2f}")
print(f"  at |t| = {ts[-1]:.0f}: lambda_max / balanced value from {min(lam[:, 0].min(), lam[:, -1].min()) / lam[0, i0]:.2f} "
      f"to {max(lam[:, 0].max(), lam[:, -1].max()) / lam[0, i0]:.2f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.5), sharex=True)
for i in range(n_dirs):
    axes[0].plot(ts, lam[i] / lam[i, i0], marker=".", color=f"C{i}", label=f"direction {i + 1}")
    axes[1].plot(ts, fco[i] / fco[i, i0], marker=".", color=f"C{i}")
for ax, lab in zip(axes, (r"$\lambda_{\max}$ / value at balance", r"$f^\circ(\cdot,0.5)$ / value at balance")):
    ax.axvline(0, color="k", lw=0.8, ls=":")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xlabel(r"$t$:  rescale$(\theta_b, e^{tu})$")
    ax.set_ylabel(lab)
axes[0].legend(fontsize=8)
show(fig, "07_orbit_flatness")

# %% [markdown]
# Along each random orbit direction (one colour), a curve whose minimum is at $t=0$ (dotted
# line) says the balanced point is the flattest point of that path. For this network the
# balanced point is *nearly* but not exactly the flattest: away from it $\lambda_{\max}$ and
# $f^\circ$ grow (by up to 50% and 160% at $|t|=1$), but on most paths a point at
# $|t|\approx 0.25$–$0.5$ is about 2% flatter. Unlike matrix factorization, the minimal-norm
# point and the flattest point of a ReLU network's orbit differ: the curvature weighs the
# neurons by the data passing through them, the norm does not.

# %% [markdown]
# ## 5. Large steps end flatter: $\lambda_{\max}$ at the end of GD against $2/\eta$
#
# Full-batch GD on a quadratic with curvature $\lambda$ is stable only for $\lambda<2/\eta$;
# the scalar case of notebook 04 showed GD with a large step ending at a flatter minimum.
# Here: one width-32 net, one initialization, squared loss (whose curvature does not decay as
# the loss goes to 0, unlike cross-entropy), GD for 2,000 steps at increasing $\eta$;
# $\lambda_{\max}$ of the final iterate against $2/\eta$.

# %%
etas = [0.05, 0.15, 0.3] if fast else [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
gd_cfg = [dict(n_train=n_train, hidden=(32,), loss="mse", lr=eta, method="gd", steps=2000,
               loss_threshold=0.0, init_seed=seed) for eta in etas]
gd_runs = sweep(gd_cfg, jobs=jobs, progress=False)
mse_model, _, _ = model_from_config(gd_cfg[0])
gd_lam = np.array([hessian_lambda_max(mse_model.hvp, r.theta, rng=seed).value for r in gd_runs])
print(f"{'eta':>6s} {'2/eta':>7s} {'lambda_max at end':>18s} {'train loss':>11s} {'error gap':>10s}")
for eta, r, l in zip(etas, gd_runs, gd_lam):
    print(f"{eta:6.2f} {2 / eta:7.2f} {l:18.2g} {r.loss:11.1e} {r.extra['gap_error']:10.2f}")
check("no run diverged", all(r.stop_reason == "max_steps" for r in gd_runs), "stop_reason")
check("lambda_max at the end <= 2/eta for every step size", np.all(gd_lam <= 2 / np.array(etas)), "")

# %%
fig, ax = plt.subplots(figsize=(5.8, 3.8))
eg = np.geomspace(min(etas) * 0.8, max(etas) * 1.2, 50)
ax.plot(eg, 2 / eg, color="k", lw=1, label=r"$2/\eta$")
ax.plot(etas, gd_lam, "o-", color="C0", label=r"$\lambda_{\max}$ at the end of GD")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel(r"step size $\eta$")
ax.set_ylabel("curvature")
ax.legend(fontsize=8)
show(fig, "07_large_steps")

# %% [markdown]
# Below the stability limit $2/\eta$ (black) the final curvature is set by the
# initialization; once $2/\eta$ reaches it, GD can only end where $\lambda_{\max}\le 2/\eta$,
# so larger steps end flatter.

# %% [markdown]
# ## Summary of the checks

# %%
w = max(len(c[0]) for c in checks)
for name, ok, detail in checks:
    print(f"{'PASS' if ok else 'FAIL'}  {name:{w}s}  {detail}")
print(f"{sum(ok for _, ok, _ in checks)}/{len(checks)} checks passed")
assert all(ok for _, ok, _ in checks)
