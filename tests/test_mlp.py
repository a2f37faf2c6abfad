"""The ReLU network flatlib.networks.MLP: derivatives, rescaling symmetry, balancing, data.

Every expected value is computed independently of the code under test: finite
differences, closed forms derived in the comments, a generic minimizer, or the
core routines (``symmetry_algebra``, ``gradient_flow``, ``conserved_flow``).
"""
import numpy as np
import pytest
from scipy.optimize import minimize

from flatlib.flows import conserved_flow, gradient_flow
from flatlib.profiles import max_variation
from flatlib.symmetry import conserved_quantities, symmetry_algebra
from flatlib.networks import MLP, load_digits


def _net(widths, loss="cross_entropy", N=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, widths[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, widths[-1], N)
    else:
        y = rng.standard_normal((N, widths[-1]))
    return MLP(widths, X, y, loss=loss), rng


def _min_abs_preactivation(net, theta, X=None):
    """Smallest |z| over hidden pre-activations: finite differences with step h are only a
    valid reference when no pre-activation is within ~h·||v||·(scale) of a ReLU kink."""
    X = net.X if X is None else X
    a, out = X, np.inf
    for W, b in net.layers(theta)[:-1]:
        z = a @ W.T + b
        out = min(out, float(np.min(np.abs(z))))
        a = np.maximum(z, 0.0)
    return out


def _rescale_independent(net, theta, s):
    """rescale(θ, e^s) written directly from the definition: W_l[k, j] · e^{s_k - s_j},
    b_l[k] · e^{s_k}, with s = 0 on the input and output units."""
    widths = net.widths
    svec = [np.zeros(widths[0])]
    off = 0
    for h in widths[1:-1]:
        svec.append(s[off:off + h])
        off += h
    svec.append(np.zeros(widths[-1]))
    parts = []
    for l, (W, b) in enumerate(net.layers(np.array(theta, dtype=float))):
        parts += [(W * np.exp(svec[l + 1])[:, None] * np.exp(-svec[l])[None, :]).ravel(),
                  b * np.exp(svec[l + 1])]
    return np.concatenate(parts)


# ---------------------------------------------------------------------------
# derivatives
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("widths,loss", [((3, 5, 4), "cross_entropy"), ((3, 4, 5, 3), "cross_entropy"),
                                         ((3, 4, 5, 2), "mse"), ((2, 3, 1), "mse")])
def test_grad_and_hvp_match_central_differences(widths, loss):
    # Central differences: error <= h²/6 · |third derivative| + O(eps/h); with h = 1e-5 and
    # O(1) parameters this is ~1e-10, so 1e-7 (relative to max(1, |value|)) has slack, while a
    # wrong backprop or R-operator term is off by O(1).  No pre-activation is near a kink
    # (checked: a step h·v with |v| = 1 moves a pre-activation by at most h times the
    # Lipschitz constant of θ -> z, far below 100 here, so |z| > 1e-3 keeps every ReLU on its
    # side of the kink), so f is smooth on the stencil.
    net, rng = _net(widths, loss, N=15, seed=1)
    h = 1e-5
    for _ in range(20):              # first draw (deterministic) with no pre-activation near a kink
        theta = net.init(rng) + 0.3 * rng.standard_normal(net.n)
        if _min_abs_preactivation(net, theta) > 100 * h:
            break
    assert _min_abs_preactivation(net, theta) > 100 * h
    for _ in range(3):
        v = rng.standard_normal(net.n)
        v /= np.linalg.norm(v)
        fd = (net.f(theta + h * v) - net.f(theta - h * v)) / (2 * h)
        assert abs(fd - net.grad(theta) @ v) <= 1e-7 * max(1.0, abs(fd))
        fd_h = (net.grad(theta + h * v) - net.grad(theta - h * v)) / (2 * h)
        hv = net.hvp(theta, v)
        assert np.max(np.abs(hv - fd_h)) <= 1e-7 * max(1.0, np.max(np.abs(fd_h)))
    # exact product: uᵀ(Hv) = vᵀ(Hu) to rounding (an R-operator missing a cross term is not symmetric)
    u, v = rng.standard_normal((2, net.n))
    assert abs(u @ net.hvp(theta, v) - v @ net.hvp(theta, u)) <= 1e-12 * np.linalg.norm(net.hess(theta))


def test_hessian_closed_form_of_a_linear_least_squares_model():
    # widths (d, m), mse: f = 1/(2N) ||X Wᵀ + 1bᵀ - Y||², a quadratic in (W, b) whose Hessian
    # is (1/N) Σ_i (e_c e_cᵀ) ⊗ (x̃_i x̃_iᵀ) with x̃ = (x, 1), in the layout [vec W (rows), b].
    rng = np.random.default_rng(3)
    N, d, m = 9, 3, 2
    X, Y = rng.standard_normal((N, d)), rng.standard_normal((N, m))
    net = MLP((d, m), X, Y, loss="mse")
    G = np.hstack([X, np.ones((N, 1))]).T @ np.hstack([X, np.ones((N, 1))]) / N   # (d+1, d+1)
    H = np.zeros((net.n, net.n))
    for c in range(m):                       # output c: W[c, :] at c*d.., b[c] at m*d + c
        idx = list(range(c * d, (c + 1) * d)) + [m * d + c]
        H[np.ix_(idx, idx)] = G
    theta = rng.standard_normal(net.n)
    assert np.allclose(net.hess(theta), H, rtol=0, atol=1e-13)
    # and the minimizer of the quadratic is the least-squares solution
    coef = np.linalg.lstsq(np.hstack([X, np.ones((N, 1))]), Y, rcond=None)[0]   # (d+1, m)
    theta_ls = net.pack([(coef[:d].T, coef[d])])
    assert np.max(np.abs(net.grad(theta_ls))) < 1e-13


def test_cross_entropy_value_closed_form():
    # zero weights, bias b: every logit vector is b, so f = logsumexp(b) - mean_i b_{y_i}.
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((7, 2)), np.array([0, 1, 2, 2, 1, 0, 2])
    net = MLP((2, 3), X, y)
    b = np.array([0.5, -1.0, 2.0])
    theta = net.pack([(np.zeros((3, 2)), b)])
    assert np.isclose(net.f(theta), np.log(np.exp(b).sum()) - b[y].mean(), rtol=1e-15)


def test_batch_f_and_grad_agree_with_single_and_max_variation_vectorized():
    net, rng = _net((4, 6, 3), seed=5)
    theta = net.init(rng)
    T = theta + 0.1 * rng.standard_normal((5, net.n))
    assert np.allclose(net.f(T), [net.f(t) for t in T], rtol=1e-14, atol=0)
    assert np.allclose(net.grad(T), [net.grad(t) for t in T], rtol=1e-13, atol=1e-15)
    a = max_variation(net.f, theta, 0.05, grad=net.grad, vectorized=True, n_starts=3)
    b = max_variation(net.f, theta, 0.05, grad=net.grad, vectorized=False, n_starts=3)
    assert np.isclose(a.value, b.value, rtol=1e-9)
    assert np.linalg.norm(a.argmax - theta) <= 0.05 * (1 + 1e-12)
    # the value is the variation attained at the returned point, evaluated here by net.f
    assert np.isclose(a.value, abs(net.f(a.argmax) - net.f(theta)), rtol=1e-12)
    # and at least the variation at either end of the gradient step of length r (a point of the ball)
    g = net.grad(theta)
    step = [abs(net.f(theta + s * 0.05 * g / np.linalg.norm(g)) - net.f(theta)) for s in (1, -1)]
    assert a.value >= max(step) * (1 - 1e-12)


def test_layers_are_views_and_pack_inverts():
    net, rng = _net((3, 4, 2))
    theta = rng.standard_normal(net.n)
    (W1, b1), (W2, b2) = net.layers(theta)
    assert W1.shape == (4, 3) and b1.shape == (4,) and W2.shape == (2, 4) and b2.shape == (2,)
    # layout [vec W1, b1, vec W2, b2]
    assert W1[1, 2] == theta[1 * 3 + 2] and b1[0] == theta[12] and W2[1, 0] == theta[16 + 4] and b2[1] == theta[-1]
    W2[0, 0] = 123.0
    assert theta[16] == 123.0
    assert np.array_equal(net.pack(net.layers(theta)), theta)
    assert list(net.named(theta)) == ["W1", "b1", "W2", "b2"]


# ---------------------------------------------------------------------------
# rescaling symmetry and balancing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("widths", [(4, 5, 3), (4, 3, 5, 2, 3)])
def test_rescale_keeps_outputs_and_matches_the_definition(widths):
    net, rng = _net(widths, seed=6)
    theta = net.init(rng) + 0.1 * rng.standard_normal(net.n)
    c = net.random_scales(rng)
    th2 = net.rescale(theta, c)
    assert np.allclose(th2, _rescale_independent(net, theta, np.log(c)), rtol=1e-14, atol=0)
    out, out2 = net.predict(theta), net.predict(th2)
    assert np.max(np.abs(out2 - out)) <= 1e-12 * np.max(np.abs(out))
    assert not np.allclose(th2, theta)          # it did move the parameters
    assert np.isclose(net.f(th2), net.f(theta), rtol=1e-12)


def test_balance_one_hidden_layer_closed_form():
    # one hidden layer: neurons decouple; c_j² in_j + out_j / c_j² is minimal at c_j⁴ = out_j / in_j.
    net, rng = _net((3, 5, 2), seed=7)
    theta = rng.standard_normal(net.n)
    W1, b1, W2 = net.layers(theta)[0][0], net.layers(theta)[0][1], net.layers(theta)[1][0]
    ins = np.sum(W1 ** 2, axis=1) + b1 ** 2
    outs = np.sum(W2 ** 2, axis=0)
    c = (outs / ins) ** 0.25
    expected = _rescale_independent(net, theta, np.log(c))
    for method in ("newton", "flow"):
        bal = net.balance(theta, method=method)
        assert np.allclose(bal, expected, rtol=1e-9 if method == "flow" else 1e-13, atol=1e-15)
    assert np.isclose(net.balance(theta) @ net.balance(theta), 2 * np.sum(np.sqrt(ins * outs)) + b_out(net, theta))


def b_out(net, theta):
    """Squared norm of the output bias (untouched by rescalings)."""
    return float(net.layers(theta)[-1][1] @ net.layers(theta)[-1][1])


@pytest.mark.parametrize("widths", [(3, 4, 5, 2), (2, 3, 3, 3, 2)])
def test_balance_is_the_unique_minimal_norm_point_of_the_orbit(widths):
    net, rng = _net(widths, seed=8)
    theta = net.rescale(net.init(rng) + 0.2 * rng.standard_normal(net.n), net.random_scales(rng, 0.2, 5.0))
    res = net.balance(theta, full_output=True)
    bal = res.theta
    scale = float(np.max(np.abs(theta)) ** 2)
    # charges vanish (the stationarity condition ∂N/∂s = 2q)
    assert np.max(np.abs(net.charges(bal))) <= 1e-12 * scale
    # same function
    assert np.max(np.abs(net.predict(bal) - net.predict(theta))) <= 1e-12 * np.max(np.abs(net.predict(theta)))
    # generic minimizer over the log-scales, with an independent formula for the orbit
    Nfun = lambda s: float(np.sum(_rescale_independent(net, theta, s) ** 2))
    ref = minimize(Nfun, np.zeros(net.n_hidden), method="BFGS", options={"gtol": 1e-11})
    assert bal @ bal <= ref.fun * (1 + 1e-12)
    assert np.allclose(res.log_scales, ref.x, atol=1e-5)
    # idempotent
    assert np.allclose(net.balance(bal), bal, rtol=1e-13, atol=1e-15)
    # unique on the orbit: balancing any rescaled copy lands on the same point
    other = net.rescale(theta, net.random_scales(rng, 0.1, 10.0))
    assert np.allclose(net.balance(other), bal, rtol=1e-10, atol=1e-13)
    # the conserved-quantity flow route agrees, and keeps the outputs too
    flow = net.balance(theta, method="flow")
    assert np.allclose(flow, bal, rtol=1e-8, atol=1e-12)
    assert np.max(np.abs(net.predict(flow) - net.predict(theta))) <= 1e-12 * np.max(np.abs(net.predict(theta)))


def test_balance_agrees_with_core_conserved_flow():
    # flatlib.flows.conserved_flow on the charges of the (dense) generators is an
    # independent route to the balanced point: the gradient flow of ½ΣQ_i² stays on the orbit.
    net, rng = _net((2, 3, 2, 2), loss="mse", seed=9)
    theta = rng.standard_normal(net.n)
    Q = conserved_quantities(net.generators())
    assert len(Q) == net.n_hidden
    flow = conserved_flow(Q, theta, (0.0, 400.0), f=net.f)
    assert flow.extra["f_drift"] < 1e-8
    assert np.allclose(flow.x_final, net.balance(theta), rtol=1e-6, atol=1e-8)


def test_charges_conserved_by_gradient_flow():
    # ReLU makes ∇f discontinuous where a pre-activation vanishes; an ODE solver chatters
    # (tiny steps) if the flow slides along such a kink.  So pick data and a start where every
    # hidden pre-activation stays positive along the whole computed trajectory (checked below):
    # there f is smooth and the exact flow conserves every q_j.
    rng = np.random.default_rng(10)
    X = np.abs(rng.standard_normal((10, 2))) + 0.5
    net = MLP((2, 3, 1), X, rng.standard_normal((10, 1)), loss="mse")
    theta0 = rng.standard_normal(net.n)
    W1, b1 = net.layers(theta0)[0]
    W1[:] = rng.uniform(0.5, 1.5, W1.shape)
    b1[:] = 0.5
    res = gradient_flow(net.grad, theta0, (0.0, 3.0), charges=net.charges, f=net.f)
    assert min(_min_abs_preactivation(net, x) for x in res.x) > 0.5
    assert min(float(np.min(X @ net.layers(x)[0][0].T + net.layers(x)[0][1])) for x in res.x) > 0
    q0 = net.charges(theta0)
    assert res.f_values[-1] < 0.2 * res.f_values[0]          # the flow did move
    assert np.max(np.abs(net.charges(res.x_final) - q0)) <= 1e-7 * max(1.0, np.max(np.abs(q0)))
    # the test can fail: the incoming norms alone are not conserved
    W1n = lambda th: np.sum(net.layers(th)[0][0] ** 2, axis=1)
    assert np.max(np.abs(W1n(res.x_final) - W1n(theta0))) > 1e-2


def test_charges_closed_form_and_generators():
    net = MLP((1, 2, 1), np.ones((1, 1)), [0.0], loss="mse")
    # θ = [W1 (2x1), b1 (2), W2 (1x2), b2]
    theta = np.array([1.0, 2.0, 3.0, 0.5, 4.0, 1.5, 7.0])
    assert np.allclose(net.charges(theta), [1 + 9 - 16, 4 + 0.25 - 2.25])
    D = net.generator_diagonals()
    assert np.allclose(D, [[1, 0, 1, 0, -1, 0, 0], [0, 1, 0, 1, 0, -1, 0]])
    # Noether charge of the generator: ½⟨θ, Dθ⟩ = q/2
    assert np.allclose(0.5 * np.einsum("i,ki,i->k", theta, D, theta), net.charges(theta) / 2)


def test_balance_rejects_dead_neuron():
    net, rng = _net((3, 4, 2), seed=11)
    theta = rng.standard_normal(net.n)
    net.layers(theta)[1][0][:, 2] = 0.0             # neuron 2 has no outgoing weights
    with pytest.raises(ValueError, match="neuron 2 of layer 1"):
        net.balance(theta)


# ---------------------------------------------------------------------------
# symmetry algebra
# ---------------------------------------------------------------------------

def _span_projector(B):
    B = B.reshape(B.shape[0], -1)
    Qb, _ = np.linalg.qr(B.T)
    return Qb


@pytest.mark.parametrize("widths", [(2, 3, 1), (2, 2, 2, 1)])
def test_symmetry_algebra_mse_is_exactly_the_rescalings(widths):
    net, rng = _net(widths, loss="mse", N=12, seed=12)
    S = rng.standard_normal((2 * net.n ** 2, net.n))
    res = symmetry_algebra(net.grad, S, full_output=True)
    assert res.saturated
    A = res.basis
    assert A.shape[0] == net.n_hidden                      # one generator per hidden neuron
    P = _span_projector(A)
    G = net.generators().reshape(net.n_hidden, -1)
    assert np.max(np.abs(G - (G @ P) @ P.T)) < 1e-10       # ... and they are the rescalings


@pytest.mark.parametrize("widths", [(2, 3, 2), (2, 2, 2, 3)])
def test_symmetry_algebra_cross_entropy_adds_logit_shifts(widths):
    # Softmax is invariant to a common shift of the logits: f(θ + t u) = f(θ) for u = the
    # all-ones vector on b_L or on one column of W_L (d_{L-1} + 1 directions; the second adds
    # t a_{L-1,j} to every logit).  Then ⟨∇f(θ), u⟩ = 0 for all θ, so every A = u ℓᵀ with any
    # ℓ ∈ R^p is a linear symmetry: dim g = H + (d_{L-1} + 1) p.
    net, rng = _net(widths, loss="cross_entropy", N=12, seed=13)
    p, H, dprev = net.n, net.n_hidden, widths[-2]
    S = rng.standard_normal((2 * p ** 2, p))
    res = symmetry_algebra(net.grad, S, full_output=True)
    assert res.saturated
    assert res.basis.shape[0] == H + (dprev + 1) * p
    # the expected algebra, built independently: rescalings and u_i ⊗ e_j
    U = []
    for j in range(dprev + 1):
        u = np.zeros(p)
        lay = net.layers(u)[-1]
        if j < dprev:
            lay[0][:, j] = 1.0
        else:
            lay[1][:] = 1.0
        U.append(u)
    expected = [g.ravel() for g in net.generators()] + [np.outer(u, e).ravel() for u in U for e in np.eye(p)]
    E = np.array(expected)
    assert np.linalg.matrix_rank(E) == H + (dprev + 1) * p
    P = _span_projector(res.basis)
    assert np.max(np.abs(E - (E @ P) @ P.T)) < 1e-9       # expected ⊂ found, same dimension: equal
    # and the shifts are exact invariances of f, not just infinitesimal ones
    theta = rng.standard_normal(p)
    for u in U:
        assert np.isclose(net.f(theta + 3.0 * u), net.f(theta), rtol=1e-13)


def test_sparse_generators_as_symmetry_algebra_candidates():
    # on a digits-sized layer the dense n x n search is out of reach; restricted to the span of
    # the sparse rescaling generators, every candidate is a symmetry, so all H survive, and a
    # non-symmetry added to the candidates (a rescaling of one input weight alone) is rejected.
    import scipy.sparse as sp
    net, rng = _net((6, 5, 4, 3), seed=14)
    cands = net.generators(sparse=True)
    assert len(cands) == net.n_hidden and sp.issparse(cands[0])
    bogus = np.zeros(net.n)
    bogus[0] = 1.0
    S = rng.standard_normal((4 * net.n_hidden + 8, net.n))
    basis = symmetry_algebra(net.grad, S, candidates=cands + [sp.diags(bogus).tocsr()])
    assert len(basis) == net.n_hidden
    found = np.array([B.diagonal() for B in basis])
    D = net.generator_diagonals()
    P, _ = np.linalg.qr(found.T)
    assert np.max(np.abs(D - (D @ P) @ P.T)) < 1e-10            # span(found) = span(D), same dim
    assert np.linalg.norm(bogus - P @ (P.T @ bogus)) > 0.5        # and the bogus one is not in it


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

def test_bad_inputs_raise_named_errors():
    X, y = np.zeros((5, 3)), np.array([0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="widths"):
        MLP((3, 0, 3), X, y)
    with pytest.raises(ValueError, match="widths"):
        MLP((3, -2, 3), X, y)
    with pytest.raises(ValueError, match="widths"):
        MLP((3,), X, y)
    with pytest.raises(TypeError, match="widths"):
        MLP((3, 2.5, 3), X, y)
    with pytest.raises(TypeError, match="widths"):
        MLP(3, X, y)
    with pytest.raises(ValueError, match="X"):
        MLP((3, 2, 3), np.zeros((5, 4)), y)
    with pytest.raises(ValueError, match="X"):
        MLP((3, 2, 3), np.zeros(5), y)
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        MLP((3, 2, 3), Xn, y)
    with pytest.raises(ValueError, match=r"y labels must be in \[0, 3\)"):
        MLP((3, 2, 3), X, [0, 1, 3, 0, 1])
    with pytest.raises(ValueError, match="y labels"):
        MLP((3, 2, 3), X, [0, 1, -1, 0, 1])
    with pytest.raises(ValueError, match="y must have shape"):
        MLP((3, 2, 3), X, [0, 1, 2])
    with pytest.raises(ValueError, match="y must contain integer"):
        MLP((3, 2, 3), X, [0, 1, 0.5, 0, 1])
    with pytest.raises(ValueError, match="loss"):
        MLP((3, 2, 3), X, y, loss="hinge")
    with pytest.raises(ValueError, match="2 outputs"):
        MLP((3, 2, 1), X, [0] * 5)
    with pytest.raises(ValueError, match="y must have shape"):
        MLP((3, 2, 2), X, np.zeros((5, 3)), loss="mse")
    with pytest.raises(ValueError, match="y must be finite"):
        MLP((3, 2, 1), X, [0, 1, np.nan, 0, 1], loss="mse")
    net = MLP((3, 2, 3), X, y)
    with pytest.raises(ValueError, match="theta"):
        net.f(np.zeros(net.n + 1))
    with pytest.raises(ValueError, match="theta"):
        net.grad(np.full(net.n, np.nan))
    with pytest.raises(ValueError, match="theta"):
        net.f(np.zeros((2, net.n - 1)))
    with pytest.raises(ValueError, match="v"):
        net.hvp(np.zeros(net.n), np.zeros(3))
    with pytest.raises(ValueError, match="scales"):
        net.rescale(np.zeros(net.n), [1.0, -1.0])
    with pytest.raises(ValueError, match="scales"):
        net.rescale(np.zeros(net.n), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="method"):
        net.balance(np.ones(net.n), method="lbfgs")
    with pytest.raises(ValueError, match="y labels"):
        net.accuracy(np.zeros(net.n), X, [0, 1, 2, 3, 0])


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

def test_load_digits_split_and_standardization():
    Xtr, ytr, Xte, yte = load_digits(150, seed=1)
    assert Xtr.shape == (150, 64) and Xte.shape == (1797 - 150, 64)
    assert ytr.dtype.kind == "i" and set(np.unique(ytr)) == set(range(10))
    # stratified: largest-remainder rounding of 150 n_c / 1797, in exact rational arithmetic
    from fractions import Fraction
    from sklearn.datasets import load_digits as raw
    counts = np.bincount(raw(return_X_y=True)[1])
    q = [Fraction(150 * int(n), 1797) for n in counts]
    alloc = [int(x) for x in q]                                  # floors
    for c in sorted(range(10), key=lambda c: (-(q[c] - alloc[c]), c))[:150 - sum(alloc)]:
        alloc[c] += 1
    assert np.bincount(ytr).tolist() == alloc
    assert np.array_equal(np.bincount(yte), counts - alloc)
    assert np.allclose(Xtr.mean(axis=0), 0.0, atol=1e-12)
    sd = Xtr.std(axis=0)
    assert np.all(np.isclose(sd, 1.0) | (sd == 0.0))
    # test inputs use the training statistics: reconstruct the raw pixels (integers 0..16)
    Xr, yr = raw(return_X_y=True)
    Rtr, _, Rte, _ = load_digits(150, seed=1, standardize=False)
    mu, s = Rtr.mean(axis=0), Rtr.std(axis=0)
    s[s == 0] = 1.0
    assert np.allclose(Xte, (Rte - mu) / s, rtol=0, atol=1e-12)
    assert np.allclose(Rte, np.round(Rte)) and Rte.max() <= 16
    # disjoint and complete: the multiset of raw rows is the whole data set
    allrows = np.vstack([Rtr, Rte])
    key = lambda A: sorted(map(bytes, A.astype(np.int8)))
    assert key(allrows) == key(Xr)
    # seeded
    a, b = load_digits(150, seed=1), load_digits(150, seed=2)
    assert np.array_equal(a[0], load_digits(150, seed=1)[0]) and not np.array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="n_train"):
        load_digits(5)
    with pytest.raises(TypeError, match="n_train"):
        load_digits(100.0)
    with pytest.raises(ValueError, match="n_test"):
        load_digits(1700, n_test=200)
