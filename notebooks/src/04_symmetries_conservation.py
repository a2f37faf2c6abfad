# %% [markdown]
# # Symmetries and conservation laws
#
# > **What the paper says** (its abstract): flat minima, conservation laws and symmetries "are
# > intertwined". As this companion reads it: a linear symmetry $x\mapsto e^{tA}x$ gives
# > $\langle\nabla f(x),Ax\rangle=0$, and for symmetric $A$ the charge
# > $\tfrac12\langle x,Ax\rangle$ is conserved by the gradient flow (Noether).
# >
# > **What this notebook adds** (not in the abstract): the symmetries found from the gradient
# > alone (a null space, no computer algebra); gradient descent breaks the conservation laws
# > ($O(\eta^2)$ per step) towards balanced minima, and large steps end flatter, with
# > $\lambda_{\max}\le2/\eta$; the nonsmooth case $\lvert xy-1\rvert$.
# >
# > **Numerical evidence only:** the dimensions of the algebras (a numerical rank decision; the
# > spectral gap is printed), the drift rates and the step-size sweep on $\tfrac12(xy-1)^2$.
#
# *On the geometry of flat minima* (C. Josz, arXiv:2509.11386) observes that flat minima,
# conservation laws and symmetries are intertwined. This notebook makes the link concrete:
# it **finds** the linear symmetries of a loss from its gradient alone, turns them into
# **conserved quantities** (Noether charges), measures how well gradient flow and gradient descent
# conserve them, and shows the **large-step effect**: gradient descent breaks the conservation law in
# a systematic direction, towards balanced (flatter) minima, and never stops at a minimum sharper
# than $2/\eta$. Every number printed here is recomputed independently in
# `tests/test_symmetries_notebook_numbers.py`.
#
# ## Linear symmetries and their algebra
#
# A **linear symmetry** of $f:\mathbb R^n\to\mathbb R$ is a one-parameter group $x\mapsto e^{tA}x$
# with $f(e^{tA}x)=f(x)$ for all $t$ and $x$. Differentiating at $t=0$,
# $$\langle \nabla f(x),\,Ax\rangle = 0\qquad\text{for all }x,$$
# and conversely this identity gives invariance (the derivative of $t\mapsto f(e^{tA}x)$ is
# $\langle\nabla f(e^{tA}x),Ae^{tA}x\rangle=0$). The admissible $A$ form a Lie algebra
# $\mathfrak g$. Because $\langle\nabla f(x),Ax\rangle=\langle \nabla f(x)x^\top,A\rangle_F$ is
# *linear* in $A$, $\mathfrak g$ is the common **null space** of the linear forms
# $A\mapsto\langle\nabla f(x_s)x_s^\top,A\rangle_F$ over sampled points $x_s$: one SVD of an
# $S\times n^2$ matrix (`flatlib.symmetry.symmetry_algebra`) recovers it from gradient evaluations
# only. Symbolic approaches instead expand $\langle\nabla f(x),Ax\rangle$ as a polynomial in $x$
# and set every coefficient to zero, which needs a closed-form $f$ and a computer-algebra system
# (e.g. SageMath); the null-space route needs neither, and works for black-box or piecewise
# (ReLU, $|\cdot|$) losses. The price is a numerical rank decision, which we report as the ratio
# of the last kept to the first discarded singular value (the *gap*).
#
# ## Noether's theorem for gradient flows
#
# If $S\in\mathfrak g$ is **symmetric**, the quadratic $Q_S(x)=\tfrac12\langle x,Sx\rangle$ is
# conserved along the gradient flow $x'=-\nabla f(x)$:
# $$\tfrac{d}{dt}Q_S(x(t))=\langle Sx,\,x'\rangle=-\langle \nabla f(x),Sx\rangle=0 .$$
# The same chain-rule argument applies to subgradient flows of locally Lipschitz definable
# functions. Antisymmetric elements (rotations) give $\langle x,Ax\rangle\equiv0$, no charge: the
# charges are $\mathfrak g\cap\mathrm{Sym}(n)$ (`conserved_quantities`). For matrix factorization
# $f(X,Y)=\tfrac12\|XY^\top-M\|_F^2$ the symmetry $(X,Y)\mapsto(XG,YG^{-\top})$ has generators
# $(X,Y)\mapsto(XA,-YA^\top)$, and the charges are the entries of
# $$C(X,Y)=X^\top X-Y^\top Y .$$
# Scalar examples: $x^2-y^2$ for $\tfrac12(xy-1)^2$; $x^2-y^2$ and $y^2-z^2$ for $\tfrac12(xyz-1)^2$;
# $a_j^2-\|w_j\|^2$ for each neuron of a two-layer ReLU network.

# %% tags=["parameters"]
seed = 0                       # seed of the sample points and of the matrix-factorization target
sample_factor = 2              # symmetry_algebra uses sample_factor * n^2 sample points
rot_n = 4                      # dimension of the rotation-invariant example (so(n))
relu_shape = (2, 3, 20)        # (d, h, N) of the two-layer ReLU network (N >= d: enough data)
relu_small_data = 1            # N < d for the data-dependent enlargement of the algebra
mf_shape = (3, 2, 2)           # (m, n, r) of the small matrix factorization
gap_min = 1e10                 # asserted lower bound on the singular-value gap
T = 2.0                        # time horizon of the drift study (gradient flow and descent)
eta_drift = (1e-3, 3e-2, 7)    # geomspace(*eta_drift): step sizes of the drift study
x0_scalar = (3.0, 0.1)         # starting point of the large-step study on 1/2 (xy - 1)^2
eta_paper = (0.01, 0.2, 0.3, 0.45)   # step sizes with reported outcomes
eta_grid_step = 0.005          # grid eta = step, 2 step, ..., 0.45 for the lambda_max(eta) figure
n_steps_max = 20000            # cap on gradient-descent steps
gtol = 1e-12                   # gradient descent stops when ||grad f|| <= gtol
fast = False                   # True: coarser step grids (smoke runs)

# %%
import time
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np

from flatlib.figures import show, style
from flatlib.flows import gradient_descent, gradient_flow, subgradient_flow
from flatlib.problems import (AbsScalarFactorization, DeepScalar, MatrixFactorization,
                              RotationInvariant, ScalarFactorization, TwoLayerReLU)
from flatlib.symmetry import conserved_quantities, symmetry_algebra

style()
t_start = time.perf_counter()
if fast:
    eta_drift = (eta_drift[0], eta_drift[1], 4)
    eta_grid_step = 0.01
etas_drift = np.geomspace(*eta_drift)
eta_grid = np.round(np.arange(eta_grid_step, 0.45 + 1e-9, eta_grid_step), 6)


def span_distance(A, B):
    """||P_A - P_B||_F for the orthogonal projectors onto span{vec A_i} and span{vec B_i}."""
    def proj(C):
        V = np.asarray(C, dtype=float).reshape(len(C), -1).T
        Qm, _ = np.linalg.qr(V)
        return Qm @ Qm.T
    if len(A) != len(B):
        return np.inf
    return float(np.linalg.norm(proj(A) - proj(B))) if len(A) else 0.0


def charge_formula(S, names):
    """The quadratic form x -> <x, S x> as text, scaled so the largest coefficient is +-1."""
    n = len(names)
    coef = {}
    for i in range(n):
        for j in range(i, n):
            c = S[i, i] if i == j else 2.0 * S[i, j]
            if abs(c) > 1e-9:
                coef[(i, j)] = c
    big = max(coef.values(), key=abs)
    terms = []
    for (i, j), c in coef.items():
        c = round(c / big, 4) + 0.0
        mono = f"{names[i]}^2" if i == j else f"{names[i]}{names[j]}"
        mag = "" if abs(c) == 1.0 else f"{abs(c):g} "
        terms.append(("- " if c < 0 else "+ ") + mag + mono)
    out = " ".join(terms)
    return out[2:] if out.startswith("+ ") else "-" + out[2:]


# %% [markdown]
# ## Symmetries found automatically
#
# For each problem we sample $2n^2$ Gaussian points, evaluate the gradient there, and compute
# the null space of the constraint matrix. The expected dimensions are derived by hand:
#
# * $\tfrac12(xy-1)^2$ and $|xy-1|$: the rescaling $\operatorname{diag}(1,-1)$ only (dimension 1);
# * $\tfrac12(xyz-1)^2$: the traceless diagonal matrices (dimension 2);
# * $g(\|x\|^2)$ on $\mathbb R^n$: $\langle\nabla f,Ax\rangle=2g'\langle x,Ax\rangle$ vanishes iff $A$
#   is antisymmetric, so $\mathfrak g=\mathfrak{so}(n)$ of dimension $n(n-1)/2$, and **no** charge;
# * two-layer ReLU network with $h$ neurons: the $h$ per-neuron rescalings
#   $(a_j,w_j)\mapsto(a_j/s,sw_j)$ — *provided there are enough data* ($N\geq d$ generic inputs).
#   With $N<d$ the coordinates of the $w_j$ orthogonal to the data do not enter $f$ and the algebra
#   grows to $h+k\,n$ with $k=h(d-N)$ (last but one row): the $k$ rows of $A$ for those coordinates
#   are free. Its symmetric part, hence the charges, is the rescalings plus the symmetric $k\times k$
#   block on those coordinates ($h+k(k+1)/2$), its antisymmetric part the $k(k-1)/2$ rotations
#   among them; the other directions are neither symmetric nor antisymmetric and give no charge;
# * matrix factorization with inner dimension $r$: $\mathfrak{gl}(r)$, dimension $r^2$, of which the
#   $r(r+1)/2$ symmetric directions give charges (the entries of $C$) and the $r(r-1)/2$
#   antisymmetric ones are isometries.
#
# The column "σ kept" is the smallest singular value kept as a constraint, relative to the largest;
# the discarded ones are at round-off level (figure below), so the gap between them is huge.

# %%
rng = np.random.default_rng(seed)
d_relu, h_relu, N_relu = relu_shape
m_mf, n_mf, r_mf = mf_shape
M_mf = rng.standard_normal((m_mf, n_mf))
problems = {
    "1/2 (xy-1)^2": (ScalarFactorization(), 1, 1),
    "|xy-1|": (AbsScalarFactorization(), 1, 1),
    "1/2 (xyz-1)^2": (DeepScalar(), 2, 2),
    f"g(|x|^2), n={rot_n}": (RotationInvariant(rot_n), rot_n * (rot_n - 1) // 2, 0),
    f"ReLU d={d_relu} h={h_relu} N={N_relu}": (TwoLayerReLU(d=d_relu, h=h_relu, n_data=N_relu, seed=seed),
                                          h_relu, h_relu),
}
p_small = TwoLayerReLU(d=d_relu, h=h_relu, n_data=relu_small_data, seed=seed)
k_free = h_relu * (d_relu - relu_small_data)     # coordinates of the w_j orthogonal to the data
problems[f"ReLU d={d_relu} h={h_relu} N={relu_small_data}"] = (
    p_small, h_relu + k_free * p_small.n, h_relu + k_free * (k_free + 1) // 2)
problems[f"MF m={m_mf} n={n_mf} r={r_mf}"] = (MatrixFactorization(M_mf, rank=r_mf), r_mf ** 2,
                                              r_mf * (r_mf + 1) // 2)

found = {}
print(f"{'problem':>22} {'n':>3} {'dim found':>9} {'expected':>8} {'charges':>7} {'expected':>8}"
      f" {'σ kept':>8} {'gap':>7}")
for name, (p, k_exp, q_exp) in problems.items():
    S = rng.standard_normal((sample_factor * p.n ** 2, p.n))
    res = symmetry_algebra(p.grad, S, full_output=True)
    Q = conserved_quantities(res.basis)
    s = res.singular_values
    found[name] = (p, res, Q)
    print(f"{name:>22} {p.n:3d} {res.dim:9d} {k_exp:8d} {Q.k:7d} {q_exp:8d}"
          f" {s[res.rank - 1] / s[0]:8.2g} {'>' + f'{gap_min:.0e}'.replace('+', ''):>7}")
    assert res.saturated, f"{name}: expected enough samples (saturated rank), seen rank {res.rank} of {len(S)} samples"
    assert res.dim == k_exp, f"{name}: expected an algebra of dimension {k_exp}, seen {res.dim}"
    assert res.gap > gap_min, f"{name}: expected a singular-value gap > {gap_min:g}, seen {res.gap:.3g}"
    assert Q.k == q_exp, f"{name}: expected {q_exp} charges, seen {Q.k}"
    known = p.generators() if name != f"ReLU d={d_relu} h={h_relu} N={relu_small_data}" else None
    if known is not None:       # the algebra found is exactly the span of the known generators
        dist = span_distance(res.basis, known)
        assert dist < 1e-8, f"{name}: expected the span of the known generators (distance < 1e-8), seen {dist:.1e}"
    else:                       # enlarged algebra: it still contains the per-neuron rescalings
        P = np.linalg.qr(res.basis.reshape(res.dim, -1).T)[0]
        for G in p.generators():
            g = G.ravel() / np.linalg.norm(G)
            out = np.linalg.norm(P @ (P.T @ g) - g)
            assert out < 1e-8, f"{name}: expected the rescalings in the algebra (residual < 1e-8), seen {out:.1e}"

# %%
sv_floor = 1e-12      # the discarded singular values are round-off (about 1e-16): shown at 1e-12
fig, ax = plt.subplots(figsize=(8.0, 4.4))
for name, (p, res, Q) in found.items():
    s = res.singular_values / res.singular_values[0]
    idx = np.arange(1, s.size + 1) / s.size
    ax.semilogy(idx, np.maximum(s, sv_floor), ".-", ms=3, lw=0.8, label=f"{name} (dim {res.dim})")
ax.axhline(1e-8, color="k", ls="--", lw=0.8, label="threshold tol = 1e-8")
ax.set_xlabel(r"singular value index / $n^2$ (number of unknowns)")
ax.set_ylabel(r"$\sigma_i/\sigma_{\max}$ of the constraint matrix")
ax.set_title("the symmetry algebra is the numerical null space: a cliff of more than 10 decades")
ax.axhspan(sv_floor / 3, sv_floor * 1.5, color="0.88", zorder=0, label=r"round-off: values below $10^{-12}$ shown at $10^{-12}$")
ax.set_ylim(sv_floor / 3, 3.0)
ax.legend(fontsize=7.5, loc="lower left", ncol=2)
show(fig, "04_singular_values")

# %% [markdown]
# *Figure:* Every problem's singular values drop by more than ten decades at the dimension of its symmetry algebra, far below the threshold $10^{-8}$, so the numerical rank is unambiguous. The discarded singular values are round-off (about $10^{-16}$); values below $10^{-12}$ are drawn at $10^{-12}$ (grey band).

# %% [markdown]
# ## The conserved quantities they give
#
# `conserved_quantities` intersects the algebra found with the symmetric matrices. For the
# scalar problems we print the charges as quadratic forms; for the ReLU network and matrix
# factorization we check that their span is that of the per-neuron charges $a_j^2-\|w_j\|^2$ and of
# the entries of $C=X^\top X-Y^\top Y$ (distance between the orthogonal projectors below $10^{-8}$).

# %%
names = {"1/2 (xy-1)^2": "xy", "|xy-1|": "xy", "1/2 (xyz-1)^2": "xyz"}
for name, vars_ in names.items():
    Q = found[name][2]
    print(f"{name:>14}: " + ";  ".join(charge_formula(S, list(vars_)) for S in Q.matrices))
Q_rot = found[f"g(|x|^2), n={rot_n}"][2]
print(f"g(|x|^2), n={rot_n}: {Q_rot.k} charges, {Q_rot.n_antisymmetric} antisymmetric generators (rotations)")
assert Q_rot.k == 0 and Q_rot.n_antisymmetric == rot_n * (rot_n - 1) // 2, \
    f"expected 0 charges and {rot_n * (rot_n - 1) // 2} rotations, seen {Q_rot.k} and {Q_rot.n_antisymmetric}"

# deep scalar: another basis of span{x^2 - y^2, y^2 - z^2}
dist_deep = span_distance(found["1/2 (xyz-1)^2"][2].matrices, DeepScalar().generators())
print(f"1/2 (xyz-1)^2: span = span{{x^2 - y^2, y^2 - z^2}}: {dist_deep < 1e-8}")
assert dist_deep < 1e-8, f"expected distance < 1e-8 between the spans, seen {dist_deep:.1e}"

p_relu, _, Q_relu = found[f"ReLU d={d_relu} h={h_relu} N={N_relu}"]
dist_relu = span_distance(Q_relu.matrices, p_relu.generators())   # diag(-1 on a_j, +1 on w_j)
print(f"ReLU: {Q_relu.k} charges; span = span{{a_j^2 - |w_j|^2}}: {dist_relu < 1e-8}")
assert dist_relu < 1e-8, f"expected distance < 1e-8 between the spans, seen {dist_relu:.1e}"

p_mf, _, Q_mf = found[f"MF m={m_mf} n={n_mf} r={r_mf}"]
G_mf = p_mf.generators()                       # generator of E_ab at index a r + b
C_known = [G_mf[a * r_mf + b] + G_mf[b * r_mf + a] for a in range(r_mf) for b in range(a, r_mf)]
dist_mf = span_distance(Q_mf.matrices, C_known)
print(f"MF: {Q_mf.k} charges, {Q_mf.n_antisymmetric} antisymmetric; span = entries of C: {dist_mf < 1e-8}")
assert dist_mf < 1e-8, f"expected distance < 1e-8 between the spans, seen {dist_mf:.1e}"
# the charges are linear in C: Q(z) = L vec(C) for one fixed matrix L (fitted on random points)
Z = rng.standard_normal((20, p_mf.n))
Cs = np.array([p_mf.conserved(z)[np.triu_indices(r_mf)] for z in Z])
L, *_ = np.linalg.lstsq(Cs, Q_mf(Z), rcond=None)
lin_err = np.abs(Cs @ L - Q_mf(Z)).max()
assert lin_err < 1e-10, f"expected the charges linear in C (residual < 1e-10), seen {lin_err:.1e}"

# %% [markdown]
# ## Conservation along gradient flow, and its breaking by gradient descent
#
# Along the gradient flow the charges are exact invariants, so their numerical drift only measures
# the integration error (LSODA with `rtol=1e-10`): we assert a relative drift below $10^{-8}$
# (drift divided by $\tfrac12\max_t\|x(t)\|^2$, the natural size of a unit charge). The ReLU loss is
# not differentiable where a pre-activation $x_i\cdot w_j$ vanishes: a flow that reaches such a kink
# and slides along it (a Filippov solution, which still conserves the charges) stalls the ODE solver.
# That happens for one of the seeds 0–3 (seed 2, at $t\approx0.446$), so the ReLU flow is integrated
# in segments of length $0.05$, and a segment whose solver needs more than 20000 gradient evaluations
# ends it: the check then covers the integrated part and asserts that the solver was stuck on a kink.
# Gradient descent
# $x^+=x-\eta\nabla f(x)$ changes a charge by exactly
# $$Q_S(x^+)-Q_S(x)=-\eta\langle Sx,\nabla f\rangle+\tfrac{\eta^2}2\langle\nabla f,S\nabla f\rangle
# =\tfrac{\eta^2}{2}\langle \nabla f(x),S\nabla f(x)\rangle,$$
# i.e. $O(\eta^2)$ per step, and $O(\eta)$ over a fixed time $T$ (that is $T/\eta$ steps). We run both
# on $[0,T]$ from the problems' default starting points (matrix factorization: a Gaussian point).
# Drift sizes are Euclidean norms of the vector of charges in a Frobenius-orthonormal basis (hence
# independent of the basis), relative to $\tfrac12\max_k\|x_k\|^2$; the per-step drift is the mean
# over the $T/\eta$ steps. We also check the exact per-step formula above, to round-off.

# %%
flow_problems = {
    "1/2 (xy-1)^2": ScalarFactorization(),
    "1/2 (xyz-1)^2": DeepScalar(),
    f"ReLU d={d_relu} h={h_relu} N={N_relu}": p_relu,
    f"MF m={m_mf} n={n_mf} r={r_mf}": p_mf,
}
x0_mf = np.random.default_rng(seed + 1).standard_normal(p_mf.n)
class SolverStall(Exception):
    """A segment's solver spent its budget of gradient evaluations: the flow slides along a kink."""


def flow_in_segments(p, x0, T, Q, seg=0.05, budget=20000):
    """gradient_flow of the ReLU loss on [0, T], restarted every ``seg`` (outputs every 0.01). The
    loss is not differentiable where a pre-activation x_i·w_j vanishes; a flow that reaches such a
    kink and slides along it (a Filippov solution) makes the ODE solver chatter across it with ever
    smaller steps. A segment that needs more than ``budget`` gradient evaluations stops the flow
    there; ``stall`` is then the state the solver was stuck at (else None)."""
    ts, xs, stall = [0.0], [np.asarray(x0, dtype=float)], None
    for a in np.arange(0.0, T - 1e-12, seg):
        b, calls = min(a + seg, T), [0]

        def g(x):
            calls[0] += 1
            if calls[0] > budget:
                raise SolverStall(np.array(x, dtype=float))
            return p.grad(x)
        try:
            fs = gradient_flow(g, xs[-1], (a, b), t_eval=np.linspace(a, b, 6))
        except SolverStall as e:
            stall = e.args[0]
            break
        assert fs.success, f"expected the segment [{a:.2f}, {b:.2f}] to integrate, seen: {fs.message}"
        ts += list(fs.t[1:])
        xs += list(fs.x[1:])
    X_ = np.array(xs)
    drift = np.max(np.abs(Q(X_) - Q(X_[:1]))) / (0.5 * np.max(np.sum(X_ ** 2, axis=1)))
    return SimpleNamespace(t=np.array(ts), x=X_, x_final=X_[-1], f_values=np.array([p.f(x) for x in X_]),
                           max_rel_drift=float(drift), stall=stall)


flows = {}
for name, p in flow_problems.items():
    Q = found[name][2]
    x0 = x0_mf if name.startswith("MF") else p.default_x0
    if isinstance(p, TwoLayerReLU):
        fl = flow_in_segments(p, x0, T, Q)
    else:
        fl = gradient_flow(p.grad, x0, (0.0, T), charges=Q, f=p.f)
        assert fl.success, f"{name}: expected the integration to reach T = {T}, seen: {fl.message}"
    flows[name] = fl
    print(f"{name:>22}: f {fl.f_values[0]:.4f} -> {fl.f_values[-1]:.4f}, "
          f"relative charge drift < 1e-8: {fl.max_rel_drift < 1e-8}")
    if getattr(fl, "stall", None) is not None:
        _, W_ = p.unpack(fl.stall)
        kink = np.min(np.abs(p.X @ W_.T)) / np.max(np.abs(p.X @ W_.T))
        print(f"{'':>22}  the flow slides along a ReLU kink after t = {fl.t[-1]:.2f} (where the solver "
              f"stalls: min |x_i·w_j| / max = {kink:.0e}); the check covers [0, {fl.t[-1]:.2f}]")
        assert kink <= 1e-8, f"{name}: expected the solver to stall only on a ReLU kink (min |x_i·w_j| / max <= 1e-8), seen {kink:.1e}"
    assert fl.max_rel_drift < 1e-8, f"{name}: expected a relative charge drift < 1e-8, seen {fl.max_rel_drift:.1e}"
    assert np.max(np.diff(fl.f_values)) <= 1e-12, \
        f"{name}: expected f nonincreasing (1e-12), seen a rise of {np.max(np.diff(fl.f_values)):.1e}"

# matrix factorization: C = X^T X - Y^T Y itself is conserved
C0, C1 = p_mf.conserved(flows[f"MF m={m_mf} n={n_mf} r={r_mf}"].x[0]), p_mf.conserved(flows[f"MF m={m_mf} n={n_mf} r={r_mf}"].x_final)
print("MF: C(0) =", np.round(C0, 4).tolist())
assert np.linalg.norm(C1 - C0) <= 1e-8 * np.linalg.norm(C0), \
    f"expected C conserved (1e-8 relative), seen {np.linalg.norm(C1 - C0) / np.linalg.norm(C0):.1e}"

# %%
drift_problems = ["1/2 (xy-1)^2", "1/2 (xyz-1)^2", f"ReLU d={d_relu} h={h_relu} N={N_relu}"]
per_step, total, slopes, slopes_total = {}, {}, {}, {}
for name in drift_problems:
    p, Q = flow_problems[name], found[name][2]
    ps, tot = [], []
    for eta in etas_drift:
        gd = gradient_descent(p.grad, p.default_x0, eta, int(round(T / eta)), charges=Q)
        scale = 0.5 * np.max(np.sum(gd.x ** 2, axis=1))
        dQ = np.diff(gd.charges, axis=0)                        # change of the charges at each step
        G = np.array([p.grad(x) for x in gd.x[:-1]])
        predicted = 0.5 * eta ** 2 * np.einsum("ti,kij,tj->tk", G, Q.matrices, G)
        dev = np.abs(dQ - predicted).max() / scale             # the exact formula, up to round-off
        assert dev <= 1e-12, f"{name}, eta = {eta:g}: expected the exact per-step change (1e-12), seen {dev:.1e}"
        # Euclidean norms over the Frobenius-orthonormal charge basis: basis-independent
        ps.append(np.mean(np.linalg.norm(dQ, axis=1)) / scale)  # mean per-step drift (relative)
        tot.append(np.linalg.norm(gd.drift[-1]) / scale)        # drift accumulated over [0, T]
    per_step[name], total[name] = np.array(ps), np.array(tot)
    slopes[name] = np.polyfit(np.log(etas_drift), np.log(per_step[name]), 1)[0]
    slopes_total[name] = np.polyfit(np.log(etas_drift), np.log(total[name]), 1)[0]
    print(f"{name:>22}: slope of the per-step drift {slopes[name]:.2f}, "
          f"of the drift over [0, T] {slopes_total[name]:.2f}")
    assert abs(slopes[name] - 2.0) <= 0.1, f"{name}: expected per-step slope 2 ± 0.1, seen {slopes[name]:.3f}"
    assert abs(slopes_total[name] - 1.0) <= 0.1, f"{name}: expected total slope 1 ± 0.1, seen {slopes_total[name]:.3f}"

# %%
fig, axs = plt.subplots(1, 2, figsize=(10.5, 4.3))
colors = ["tab:blue", "tab:orange", "tab:green"]
for c, name in zip(colors, drift_problems):
    axs[0].loglog(etas_drift, per_step[name], "o-", color=c, ms=4,
                  label=f"{name}: slope {slopes[name]:.2f}")
    axs[1].loglog(etas_drift, total[name], "o-", color=c, ms=4,
                  label=f"{name}: slope {slopes_total[name]:.2f}")
    # the flow's drift is integration error (about 1e-11, its low digits set by round-off): drawn at
    # the solver's tolerance 1e-10 when below it
    axs[1].axhline(max(flows[name].max_rel_drift, 1e-10), color=c, ls=":", lw=1.2)
ref = per_step[drift_problems[0]][0] * (etas_drift / etas_drift[0]) ** 2
axs[0].loglog(etas_drift, ref / 4, "k--", lw=1, label=r"$\propto\eta^2$")
ref1 = total[drift_problems[0]][0] * (etas_drift / etas_drift[0])
axs[1].loglog(etas_drift, ref1 / 4, "k--", lw=1, label=r"$\propto\eta$")
axs[1].plot([], [], "k:", label=r"gradient flow (below $10^{-10}$, the solver's tolerance: drawn there)")
axs[0].set_title("gradient descent: charge change per step")
axs[1].set_title(f"charge drift accumulated over $[0,T]$, $T={T:g}$")
for ax in axs:
    ax.set_xlabel(r"step size $\eta$")
    ax.legend(fontsize=8)
axs[0].set_ylabel(r"$\mathrm{mean}_k\,\|Q(x_{k+1})-Q(x_k)\|\;/\;\frac{1}{2}\max_k\|x_k\|^2$")
axs[1].set_ylabel(r"$\|Q(x_T)-Q(x_0)\|\;/\;\frac{1}{2}\max_k\|x_k\|^2$")
axs[1].set_ylim(1e-14, 1.0)
show(fig, "04_drift_vs_step")

# %% [markdown]
# *Figure:* Gradient descent changes the charges by $O(\eta^2)$ per step and $O(\eta)$ over $[0,T]$ (slopes 2 and 1), while the gradient flow keeps them to the solver tolerance (dotted lines; drifts below $10^{-10}$ are drawn at $10^{-10}$).

# %% [markdown]
# ## Large steps drift toward flatter minima
#
# On $f(x,y)=\tfrac12(xy-1)^2$ with $S=\operatorname{diag}(1,-1)$ the change formula reads, with
# $r=xy-1$,
# $$\big(x^2-y^2\big)^+=\big(1-\eta^2r^2\big)\big(x^2-y^2\big).$$
# A step shrinks the imbalance $|x^2-y^2|$ exactly when $|1-\eta^2r^2|<1$, i.e. while
# $0<\eta|xy-1|<\sqrt2$, the more so the larger the step and the residual (for $1<\eta|xy-1|<\sqrt2$
# it also flips its sign). A step with $\eta|xy-1|>\sqrt2$ makes it *grow*. At a minimum
# ($xy=1$) the Hessian has $\lambda_{\max}=x^2+y^2=\sqrt{(x^2-y^2)^2+4}$, so a smaller final imbalance
# means a flatter minimum, the balanced $(1,1)$ being the flattest ($\lambda_{\max}=2$). A second
# effect caps the sharpness: at a minimum with $\lambda_{\max}>2/\eta$ the linearized iteration
# $I-\eta\nabla^2 f$ has an eigenvalue below $-1$, so gradient descent cannot settle there. We run
# gradient descent from $(3,0.1)$ (stopping when $\|\nabla f\|\leq10^{-12}$) for a grid of step
# sizes.

# %%
SF = ScalarFactorization()
x0 = np.array(x0_scalar)


def run_gd(eta):
    return gradient_descent(SF.grad, x0, eta, n_steps_max, gtol=gtol)


def lam_max(x):
    return float(x @ x)                 # = lambda_max of the Hessian at a minimum xy = 1


outcome = {}
for eta in eta_paper:
    gd = run_gd(eta)
    outcome[eta] = gd
    if gd.converged:
        xf = gd.x_final
        print(f"eta = {eta:<5}: converged to ({xf[0]:.4f}, {xf[1]:.4f}), "
              f"lambda_max = {lam_max(xf):.2f} <= 2/eta = {2 / eta:.2f}")
    else:
        print(f"eta = {eta:<5}: diverged: {gd.diverged}")
lam_seen = [round(lam_max(outcome[e].x_final), 2) for e in eta_paper[:3]]
assert lam_seen == [9.21, 8.74, 2.71], f"expected lambda_max [9.21, 8.74, 2.71], seen {lam_seen}"
assert all(outcome[e].converged for e in eta_paper[:3]), \
    f"expected convergence at {eta_paper[:3]}, seen {[outcome[e].converged for e in eta_paper[:3]]}"
assert outcome[0.45].diverged and not outcome[0.45].converged, \
    f"expected divergence at eta = 0.45, seen diverged={outcome[0.45].diverged}, converged={outcome[0.45].converged}"
# the limit is a minimum and its sharpness follows from the final imbalance
for e in eta_paper[:3]:
    xf = outcome[e].x_final
    assert abs(xf[0] * xf[1] - 1.0) < 1e-10, f"eta = {e}: expected a minimum xy = 1 (1e-10), seen xy - 1 = {xf[0] * xf[1] - 1:.1e}"
    dev = abs(lam_max(xf) - np.hypot(xf[0] ** 2 - xf[1] ** 2, 2.0))
    assert dev < 1e-9, f"eta = {e}: expected lambda_max = sqrt((x²-y²)² + 4) (1e-9), seen a difference {dev:.1e}"
    dev = abs(np.linalg.eigvalsh(SF.hess(xf)).max() - lam_max(xf))
    assert dev < 1e-9, f"eta = {e}: expected the Hessian's top eigenvalue x² + y² (1e-9), seen a difference {dev:.1e}"

# %%
grid = {eta: run_gd(eta) for eta in eta_grid}
conv = np.array([e for e, g in grid.items() if g.converged])
div = np.array([e for e, g in grid.items() if g.diverged])
other = np.array([e for e, g in grid.items() if not g.converged and not g.diverged])
lam_conv = np.array([lam_max(grid[e].x_final) for e in conv])
print(f"{eta_grid.size} step sizes in [{eta_grid[0]}, {eta_grid[-1]}]: {conv.size} converged, "
      f"{div.size} diverged, {other.size} neither")
print(f"largest converged step {conv.max():.3f}; smallest diverged step {div.min():.3f}")
print(f"max over converged runs of lambda_max / (2/eta): {np.max(lam_conv * conv / 2):.3f}")
assert np.all(lam_conv <= 2.0 / conv), \
    f"expected lambda_max <= 2/eta at every converged step (never sharper), seen max ratio {np.max(lam_conv * conv / 2):.4f}"
assert other.size == 0, f"expected every run to converge or diverge, seen neither at eta = {other.tolist()}"
assert np.all(div > conv.max()), f"expected divergence only above the largest converged step {conv.max()}, seen {div.tolist()}"

# the imbalance D = x^2 - y^2 grows at a step exactly when eta |xy - 1| > sqrt(2)
grew = {}                                                # eta -> steps k where |D| grew
for e, g in grid.items():
    xs = g.x[: np.argmax(np.abs(g.x).max(axis=1) > 1e4)] if np.abs(g.x).max() > 1e4 else g.x  # before a blow-up
    D_k, r_k = xs[:, 0] ** 2 - xs[:, 1] ** 2, xs[:-1, 0] * xs[:-1, 1] - 1.0
    tol = 1e-12 * np.sum(xs ** 2, axis=1)[1:]             # rounding of x^2 - y^2
    dev = np.max(np.abs(D_k[1:] - (1 - e ** 2 * r_k ** 2) * D_k[:-1]) / tol)   # the exact recursion
    assert dev <= 1, f"eta = {e}: expected D+ = (1 - eta² r²) D to 1e-12 ||x||², seen {dev:.2g} times that"
    up = np.abs(D_k[1:]) - np.abs(D_k[:-1]) > tol
    assert np.array_equal(up, e * np.abs(r_k) > np.sqrt(2)), \
        f"eta = {e}: expected |D| to grow exactly at the steps with eta |r| > √2, seen it differ at steps " \
        f"{np.flatnonzero(up != (e * np.abs(r_k) > np.sqrt(2))).tolist()}"
    if up.any():
        grew[e] = np.flatnonzero(up)
eta_grow = np.array(sorted(grew))
print(f"runs with a step where eta |xy - 1| > sqrt(2), at which |x^2 - y^2| grew: {eta_grow.size}, "
      f"every step size from {eta_grow.min():.3f} on (converged: {np.isin(eta_grow, conv).sum()}, "
      f"diverged: {np.isin(eta_grow, div).sum()}); it grew at no other step of any run")
assert np.array_equal(eta_grow, eta_grid[eta_grid >= eta_grow.min()]), \
    f"expected growth at every step size from {eta_grow.min()} on, seen {eta_grow.tolist()}"

# %%
fig, axs = plt.subplots(1, 2, figsize=(11.0, 4.5), gridspec_kw={"width_ratios": [1.25, 1]})
ax = axs[0]
ee = np.linspace(0.004, 0.46, 400)
ax.plot(ee, 2.0 / ee, "k--", lw=1, label=r"$2/\eta$ (stability limit)")
ax.plot(conv, lam_conv, "o", ms=3.5, color="tab:blue", label=r"$\lambda_{\max}$ of the limit of GD")
ax.axhline(2.0, color="tab:green", lw=0.8, ls=":", label=r"balanced minimum $\lambda_{\max}=2$")
fl = gradient_flow(SF.grad, x0, (0.0, 20.0), t_eval=np.linspace(0.0, 20.0, 400))
lam_flow = lam_max(fl.x_final)
ax.axhline(lam_flow, color="tab:red", lw=0.8, ls=":",
           label=rf"gradient flow limit $\lambda_{{\max}}={lam_flow:.2f}$")
if div.size:
    ax.axvspan(div.min() - eta_grid_step / 2, 0.46, color="0.85", label="diverges")
g_conv = np.isin(conv, eta_grow)
ax.plot(conv[g_conv], lam_conv[g_conv], "o", ms=7, mfc="none", color="tab:orange",
        label=r"a step had $\eta|xy-1|>\sqrt{2}$: $|x^2-y^2|$ grew")
for k, (e, off) in enumerate(zip(eta_paper[:3], ((4, -14), (-6, -14), (6, 6)))):
    ax.plot(e, lam_max(outcome[e].x_final), "o", ms=7, mfc="none", color="k",
            label=r"the runs printed above" if k == 0 else None)
    ax.annotate(rf"$\eta={e}$: {lam_max(outcome[e].x_final):.2f}", (e, lam_max(outcome[e].x_final)),
                textcoords="offset points", xytext=off, fontsize=8, ha="left" if off[0] > 0 else "right")
ax.set_ylim(0, 12)
ax.set_xlim(0, 0.46)
ax.set_xlabel(r"step size $\eta$")
ax.set_ylabel(r"$\lambda_{\max}=x^2+y^2$ at the limit")
ax.set_title(r"GD on $\frac{1}{2}(xy-1)^2$ from $(3,\,0.1)$: larger steps, flatter minima")
ax.legend(fontsize=8, loc="lower left")

ax = axs[1]
Xg, Yg = np.meshgrid(np.linspace(0.5, 3.4, 400), np.linspace(-0.8, 1.6, 400))
ax.contour(Xg, Yg, Xg ** 2 - Yg ** 2, levels=np.arange(0.0, 12.0, 1.0), colors="0.8", linewidths=0.6,
           linestyles="solid")
D0 = x0[0] ** 2 - x0[1] ** 2
yy = np.linspace(-0.8, 1.6, 200)
ax.plot(np.sqrt(D0 + yy ** 2), yy, ":", color="tab:red", lw=1, label=rf"$x^2-y^2={D0:.2f}$")
t = np.linspace(0.5, 3.4, 300)
ax.plot(t, 1.0 / t, "k", lw=1.5, label="minima $xy=1$")
ax.plot(fl.x[:, 0], fl.x[:, 1], color="tab:red", lw=2, label=r"gradient flow ($x^2-y^2$ conserved)")
for e, c in zip(eta_paper[1:3], ("tab:orange", "tab:purple")):
    xs = outcome[e].x
    ax.plot(xs[:, 0], xs[:, 1], "o-", color=c, ms=3, lw=0.7, label=rf"GD $\eta={e}$")
ax.plot(*x0, "ks", ms=6, label="start $(3, 0.1)$")
ax.plot(*fl.x_final, "*", color="tab:red", ms=12, zorder=5, label="gradient-flow limit")
ax.set_xlim(0.5, 3.4)
ax.set_ylim(-0.8, 1.6)
ax.set_aspect("equal")
ax.set_xlabel("$x$")
ax.set_ylabel("$y$")
ax.set_title(r"paths; grey: level sets of $x^2-y^2$")
ax.legend(fontsize=8, loc="upper left")
show(fig, "04_large_step")

# %% [markdown]
# *Figure:* Larger steps end on flatter minima, always below $2/\eta$; near the divergence threshold the dependence is no longer monotone, and from $\eta=0.385$ on an early step has $\eta|xy-1|>\sqrt2$ and makes the imbalance grow (orange circles).

# %% [markdown]
# The gradient-flow limit sits where the conserved hyperbola $x^2-y^2=8.99$ meets $xy=1$
# ($\lambda_{\max}=\sqrt{8.99^2+4}$), and small steps stay close to it. Moderate steps shrink the
# imbalance and land on flatter minima, and every limit lies below the $2/\eta$ curve. Near the
# divergence threshold the dependence on $\eta$ is not monotone: there an early step has
# $\eta|xy-1|$ close to or above $\sqrt2$, where the factor $|1-\eta^2r^2|$ is close to or above 1,
# so that step shrinks the imbalance little or makes it grow (orange circles).
#
# ## The nonsmooth case $|xy-1|$
#
# $f=|g|$ with $g=xy-1$ has the same rescaling symmetry (found above from its subgradients). Its
# minimal-norm subgradient flow is $x'=-\operatorname{sign}(g)\nabla g$ until the kink set $xy=1$ is
# hit, then it stops. From $(3,0.1)$, where $g<0$, it is the linear system $x'=y$, $y'=x$, which
# conserves $x^2-y^2$ exactly; the hitting time solves $0.3\cosh 2t+4.505\sinh 2t=1$. So the
# subgradient flow of $|xy-1|$ and the gradient flow of $\tfrac12(xy-1)^2$ end at the **same**
# minimum, the intersection of $x^2-y^2=8.99$ with $xy=1$, along different time parametrizations.

# %%
AB = AbsScalarFactorization()
Q_abs = found["|xy-1|"][2]
t_plot = 7.0
sub = subgradient_flow(AB.inner, AB.inner_grad, x0, (0.0, t_plot), charges=Q_abs,
                       t_eval=np.linspace(0.0, t_plot, 701))
D = sub.x[:, 0] ** 2 - sub.x[:, 1] ** 2
xs_end = sub.x_final
xg_end = fl.x_final                     # gradient flow of 1/2 (xy-1)^2 on [0, 20] (figure above)
print(f"kink set reached at t = {sub.extra['t_hit']:.5f}")
print(f"x^2 - y^2: start {D[0]:.6f}, end {D[-1]:.6f}; max |change| < 1e-8: {np.abs(D - D[0]).max() < 1e-8}")
print(f"end point of the subgradient flow of |xy-1|:   ({xs_end[0]:.5f}, {xs_end[1]:.5f})")
print(f"end point of the gradient flow of 1/2(xy-1)^2: ({xg_end[0]:.5f}, {xg_end[1]:.5f})")
assert sub.converged, f"expected the subgradient flow to reach the kink set, seen: {sub.message}"
assert sub.max_rel_drift < 1e-8 and np.abs(D - D[0]).max() < 1e-8, \
    f"expected x² - y² conserved (1e-8), seen drift {sub.max_rel_drift:.1e}, max change {np.abs(D - D[0]).max():.1e}"
assert abs(xs_end[0] * xs_end[1] - 1.0) < 1e-9, f"expected the end on xy = 1 (1e-9), seen xy - 1 = {xs_end[0] * xs_end[1] - 1:.1e}"
assert np.linalg.norm(xs_end - xg_end) < 1e-6, \
    f"expected the same end point as the gradient flow (1e-6), seen distance {np.linalg.norm(xs_end - xg_end):.1e}"

# %%
fig, ax = plt.subplots(figsize=(7.0, 3.8))
fl_s = gradient_flow(SF.grad, x0, (0.0, t_plot), t_eval=np.linspace(0.0, t_plot, 701))
ax.plot(sub.t, D, color="tab:green", lw=2.5, label=r"subgradient flow of $|xy-1|$")
ax.plot(fl_s.t, fl_s.x[:, 0] ** 2 - fl_s.x[:, 1] ** 2, "--", color="tab:red", lw=1.5,
        label=r"gradient flow of $\frac{1}{2}(xy-1)^2$ (dashed, on the green line)")
for e, c in zip((0.2, 0.3), ("tab:orange", "tab:purple")):
    xs = outcome[e].x
    k = xs.shape[0]
    ax.plot(e * np.arange(k), xs[:, 0] ** 2 - xs[:, 1] ** 2, "o-", ms=3, lw=0.7, color=c,
            label=rf"gradient descent $\eta={e}$ (time $k\eta$)")
ax.axvline(sub.extra["t_hit"], color="0.5", lw=0.8, ls=":")
ax.annotate(f"subgradient flow reaches the kink set (t = {sub.extra['t_hit']:.3f})", (sub.extra["t_hit"], 2.0),
            xytext=(6, 0), textcoords="offset points", fontsize=8)
ax.set_xlim(0, t_plot)
ax.set_xlabel("time $t$")
ax.set_ylabel("$x^2-y^2$")
ax.set_title("the charge $x^2-y^2$ along flows (constant) and gradient descent (shrinks)")
ax.legend(fontsize=8, loc="center right")
show(fig, "04_nonsmooth_charge")

# %% [markdown]
# *Figure:* The charge $x^2-y^2$ is constant along both flows, which stop on the same minimum, and shrinks step by step along gradient descent.

# %%
# NBVAL_IGNORE_OUTPUT
print(f"whole notebook: {time.perf_counter() - t_start:.1f} s")
