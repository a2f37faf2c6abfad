"""Gradient flows, gradient descent, subgradient dynamics and the flow of the
conserved quantities.  Closed forms are derived in the comments."""
import numpy as np
import pytest

from flatlib.flows import (FlowResult, conserved_flow, gradient_descent, gradient_flow,
                           subgradient_descent, subgradient_flow)
from flatlib.problems import (AbsScalarFactorization, DeepScalar, ScalarFactorization,
                              TwoLayerReLU)
from flatlib.symmetry import conserved_quantities, symmetry_algebra

SF = ScalarFactorization()
Q_SF = conserved_quantities(SF.generators())


def mf(m, n, r, seed=0):
    """Inline matrix factorization f = ½||XYᵀ - M||² (row-major flat layout) and
    its generators (X, Y) -> (X E, -Y Eᵀ)."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, n))
    N = (m + n) * r

    def split(z):
        return z[: m * r].reshape(m, r), z[m * r:].reshape(n, r)

    def f(z):
        X, Y = split(z)
        return 0.5 * float(np.sum((X @ Y.T - M) ** 2))

    def grad(z):
        X, Y = split(z)
        R = X @ Y.T - M
        return np.concatenate([(R @ Y).ravel(), (R.T @ X).ravel()])

    gens = []
    for a in range(r):
        for b in range(r):
            E = np.zeros((r, r))
            E[a, b] = 1.0
            A = np.zeros((N, N))
            A[: m * r, : m * r] = np.kron(np.eye(m), E.T)
            A[m * r:, m * r:] = -np.kron(np.eye(n), E)
            gens.append(A)
    return f, grad, split, np.array(gens), N, rng


# ----------------------------------------------------------------- gradient flow
@pytest.mark.parametrize("p", [ScalarFactorization(), DeepScalar(), TwoLayerReLU()], ids=repr)
def test_gradient_flow_conserves_charges(p):
    Q = conserved_quantities(p.generators())
    res = gradient_flow(p.grad, p.default_x0, (0.0, 5.0), charges=Q, f=p.f)
    assert isinstance(res, FlowResult) and res.success and not res.diverged
    assert res.x.shape == (201, p.n) and res.drift.shape == (201, Q.k)
    assert res.max_rel_drift < 1e-8
    assert np.all(np.diff(res.f_values) <= 1e-12)          # f decreases along the flow
    assert res.f_values[-1] < res.f_values[0]


def test_gradient_flow_matrix_factorization_conserves_C():
    f, grad, split, gens, N, rng = mf(4, 3, 2)
    Q = conserved_quantities(gens)
    assert Q.k == 3
    z0 = rng.standard_normal(N)
    res = gradient_flow(grad, z0, (0.0, 10.0), charges=Q, f=f)
    assert res.max_rel_drift < 1e-8
    X0, Y0 = split(z0)
    X1, Y1 = split(res.x_final)
    C0, C1 = X0.T @ X0 - Y0.T @ Y0, X1.T @ X1 - Y1.T @ Y1
    np.testing.assert_allclose(C1, C0, atol=1e-7 * np.abs(C0).max())


def test_gradient_flow_accuracy_on_a_quadratic():
    # f = ½||x||²: x(t) = x0 e^{-t}
    x0 = np.array([1.0, -2.0, 0.5])
    res = gradient_flow(lambda x: x, x0, (0.0, 3.0), t_eval=[0.0, 1.0, 3.0])
    np.testing.assert_allclose(res.x, np.outer(np.exp(-res.t), x0), rtol=1e-8, atol=1e-12)
    for method in ("Radau", "DOP853"):
        r2 = gradient_flow(lambda x: x, x0, (0.0, 3.0), t_eval=[3.0], method=method)
        np.testing.assert_allclose(r2.x_final, x0 * np.exp(-3.0), rtol=1e-8)


def test_gradient_flow_finite_time_blowup_is_reported():
    # f = -x⁴/4: x' = x³, x(t) = 1/sqrt(1 - 2t) blows up at t = ½
    res = gradient_flow(lambda x: -x ** 3, [1.0], (0.0, 1.0))
    assert res.diverged and not res.success and "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and res.t[-1] < 0.5


# ----------------------------------------------------------------- gradient descent
@pytest.mark.parametrize("eta, lam_expected", [(0.01, 9.21), (0.2, 8.74), (0.3, 2.71)])
def test_gd_on_scalar_factorization_selects_flatter_minima(eta, lam_expected):
    """Targets stated independently in the spec: λ_max = x² + y² at the final
    minimum; always <= 2/η (edge-of-stability bound)."""
    res = gradient_descent(SF.grad, [3.0, 0.1], eta, 100_000, gtol=1e-13)
    assert res.converged and not res.diverged
    x, y = res.x_final
    assert x * y == pytest.approx(1.0, abs=1e-10)
    lam = x * x + y * y
    assert lam == pytest.approx(lam_expected, abs=0.01)
    assert lam <= 2.0 / eta
    # and equal to the top Hessian eigenvalue there
    assert np.linalg.eigvalsh(SF.hess(res.x_final))[-1] == pytest.approx(lam, rel=1e-8)


def test_gd_diverges_at_eta_045_and_reports_it():
    res = gradient_descent(SF.grad, [3.0, 0.1], 0.45, 10_000, charges=Q_SF)
    assert res.diverged and not res.success and "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and np.all(np.isfinite(res.charges))
    assert len(res.t) < 100


def test_gd_records_times_and_every():
    res = gradient_descent(SF.grad, [3.0, 0.1], 0.01, 50)
    np.testing.assert_allclose(res.t, 0.01 * np.arange(51))
    res2 = gradient_descent(SF.grad, [3.0, 0.1], 0.01, 50, record_every=20)
    np.testing.assert_allclose(res2.t, [0.0, 0.2, 0.4, 0.5])
    np.testing.assert_allclose(res2.x[-1], res.x[-1])
    assert res.nfev == 50


def test_gd_one_step_charge_drift_closed_form_and_slope_two():
    """One GD step on ½(xy-1)²: x⁺ = x - ηry, y⁺ = y - ηrx, so
    x⁺² - y⁺² = (x² - y²)(1 - η²r²): ΔQ = -η² r² Q exactly, i.e. O(η²)."""
    x0 = np.array([3.0, 0.1])
    r = x0[0] * x0[1] - 1.0
    q0 = Q_SF(x0)[0]
    etas = np.logspace(-4, -1, 7)
    drifts = []
    for eta in etas:
        res = gradient_descent(SF.grad, x0, eta, 1, charges=Q_SF)
        d = res.drift[-1, 0]
        assert d == pytest.approx(-eta ** 2 * r ** 2 * q0, rel=1e-6)
        drifts.append(abs(d))
    slope = np.polyfit(np.log(etas), np.log(drifts), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.02)


def test_gd_per_step_drift_is_second_order_on_relu():
    """Generic problem: ΔQ_S = ½η²<∇f, S∇f> per step (the first-order term
    vanishes because S is a symmetry)."""
    p = TwoLayerReLU()
    Q = conserved_quantities(p.generators())
    x0 = p.default_x0
    g = p.grad(x0)
    etas = np.logspace(-4, -1.5, 6)
    drifts = []
    for eta in etas:
        d = gradient_descent(p.grad, x0, eta, 1, charges=Q).drift[-1]
        np.testing.assert_allclose(d, 0.5 * eta ** 2 * np.einsum("i,kij,j->k", g, Q.matrices, g),
                                   rtol=1e-6, atol=1e-15)
        drifts.append(np.max(np.abs(d)))
    slope = np.polyfit(np.log(etas), np.log(drifts), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.02)


# ----------------------------------------------------------------- subgradient dynamics
def test_subgradient_flow_closed_form_on_abs_scalar():
    """|xy - 1| from (3, 0.1): xy < 1, so x' = y, y' = x:
    x = 3cosh t + 0.1 sinh t, y = 0.1cosh t + 3 sinh t, until
    xy = 0.3cosh 2t + 4.505 sinh 2t = 1; stationary afterwards."""
    from scipy.optimize import brentq
    p = AbsScalarFactorization()
    Q = conserved_quantities(p.generators())
    t_hit = brentq(lambda t: 0.3 * np.cosh(2 * t) + 4.505 * np.sinh(2 * t) - 1.0, 0.0, 1.0)
    te = np.linspace(0.0, 0.5, 51)
    res = subgradient_flow(p.inner, p.inner_grad, p.default_x0, (0.0, 0.5), t_eval=te, charges=Q)
    assert res.converged and res.extra["t_hit"] == pytest.approx(t_hit, abs=1e-9)
    before = res.t < t_hit
    t = res.t[before]
    np.testing.assert_allclose(res.x[before, 0], 3 * np.cosh(t) + 0.1 * np.sinh(t), rtol=1e-8)
    np.testing.assert_allclose(res.x[before, 1], 0.1 * np.cosh(t) + 3 * np.sinh(t), rtol=1e-8)
    after = res.x[res.t > t_hit]
    assert np.ptp(after, axis=0).max() == 0.0 and p.f(after[0]) < 1e-9
    assert res.max_rel_drift < 1e-8
    np.testing.assert_allclose(res.t, te)


def test_subgradient_flow_from_above_and_on_the_kink():
    p = AbsScalarFactorization()
    res = subgradient_flow(p.inner, p.inner_grad, [2.0, 3.0], (0.0, 5.0))   # xy > 1: decreases
    assert res.converged and abs(p.inner(res.x_final)) < 1e-9
    res0 = subgradient_flow(p.inner, p.inner_grad, [2.0, 0.5], (0.0, 1.0))
    assert res0.converged and np.all(res0.x == [2.0, 0.5])


def test_subgradient_descent_drift_closed_form_and_schedules():
    """Subgradient step on |xy-1| off the kink: x⁺ = x - η s y, y⁺ = y - η s x with
    s = ±1, so x⁺² - y⁺² = (x² - y²)(1 - η²): Q_{k+1} = (1 - η_k²) Q_k."""
    p = AbsScalarFactorization()
    Q = conserved_quantities(p.generators())
    res = subgradient_descent(p.grad, p.default_x0, 0.05, 400, schedule="harmonic", charges=Q,
                              f=p.f)
    etas = 0.05 / np.arange(1, 401)
    q = res.charges[:, 0]
    np.testing.assert_allclose(q[1:], q[:-1] * (1 - etas ** 2), rtol=1e-10)
    np.testing.assert_allclose(res.t[-1], etas.sum())
    # harmonic: total drift bounded by Σ η_k² (≈ 0.0041 relative)
    assert abs(res.drift[-1, 0] / q[0]) < np.sum(etas ** 2) + 1e-12
    # constant steps: the kink is reached to O(η), then chattering shrinks Q geometrically
    c = subgradient_descent(p.grad, p.default_x0, 0.02, 3000, schedule="constant", charges=Q,
                            f=p.f)
    assert c.f_values.min() < 0.05
    assert abs(c.charges[-1, 0]) < abs(c.charges[0, 0]) * (1 - 0.02 ** 2) ** 2999 * 1.0001
    s = subgradient_descent(p.grad, p.default_x0, 0.05, 100, schedule="sqrt")
    assert len(s.t) == 101


# ----------------------------------------------------------------- conserved flow
def test_conserved_flow_scalar_balances_on_the_orbit():
    """Orbit of (3, 0.1): xy = 0.3 fixed; balanced point x = y = sqrt(0.3)."""
    res = conserved_flow(Q_SF, [3.0, 0.1], (0.0, 300.0), f=SF.f)
    np.testing.assert_allclose(res.x_final, [np.sqrt(0.3)] * 2, rtol=1e-6)
    assert res.extra["f_drift"] < 1e-8 * SF.f([3.0, 0.1])       # integration error only
    assert np.all(np.diff(res.h_values) <= 1e-15)
    assert abs(res.charges[-1, 0]) < 1e-8


def test_conserved_flow_deep_scalar_and_relu_keep_f_and_kill_charges():
    d = DeepScalar()
    Qd = conserved_quantities(d.generators())
    x0 = np.array([2.0, 1.0, 0.3])
    res = conserved_flow(Qd, x0, (0.0, 200.0), f=d.f)
    # xyz = 0.6 is preserved; balanced: x = y = z = 0.6^{1/3}
    np.testing.assert_allclose(res.x_final, [0.6 ** (1 / 3)] * 3, rtol=1e-6)
    assert res.extra["f_drift"] < 1e-8 * d.f(x0)
    p = TwoLayerReLU()
    Qp = conserved_quantities(p.generators())
    res = conserved_flow(Qp, p.default_x0, (0.0, 200.0), f=p.f)
    assert res.extra["f_drift"] < 1e-8 * p.f(p.default_x0)
    np.testing.assert_allclose(p.neuron_charges(res.x_final), 0.0, atol=1e-7)
    np.testing.assert_allclose(p.predict(res.x_final), p.predict(p.default_x0), rtol=1e-8, atol=1e-9)
    norms = np.linalg.norm(res.x, axis=1)
    assert np.all(np.diff(norms) <= 1e-12)                # balancing decreases the norm


def test_conserved_flow_matrix_factorization_matches_closed_form():
    """With a Frobenius-orthonormal basis of charges, S_i = L_{S_i}/sqrt(m+n) for an
    orthonormal basis S_i of Sym(r), and Σ<C, S_i>S_i = C, so
    ∇h = Σ Q_i S_i z = (XC, -YC)/(2(m+n)):  X' = -XC, Y' = YC up to time scale."""
    m, n, r = 5, 4, 3
    f, grad, split, gens, N, rng = mf(m, n, r, seed=1)
    Q = conserved_quantities(gens)
    assert Q.k == r * (r + 1) // 2
    z = rng.standard_normal(N)
    X, Y = split(z)
    C = X.T @ X - Y.T @ Y
    expected = np.concatenate([(X @ C).ravel(), (-Y @ C).ravel()]) / (2 * (m + n))
    np.testing.assert_allclose(Q.grad_h(z), expected, rtol=1e-10, atol=1e-12)
    # the flow: XYᵀ fixed, C -> 0, norm decreasing (d/dt ||z||² = -2 tr(C²)/(2(m+n)) · 2)
    res = conserved_flow(Q, z, (0.0, 400.0), f=f)
    X1, Y1 = split(res.x_final)
    np.testing.assert_allclose(X1 @ Y1.T, X @ Y.T, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(X1.T @ X1 - Y1.T @ Y1, 0.0, atol=1e-6)
    assert res.extra["f_drift"] < 1e-8 * max(1.0, f(z))
    sq = np.sum(res.x ** 2, axis=1)
    assert np.all(np.diff(sq) <= 1e-10)
    # initial rate: d/dt ||z||² = -2<z, ∇h> = -2 tr(C²)/(m+n)... (check the closed form)
    assert -2 * z @ Q.grad_h(z) == pytest.approx(-np.sum(C * C) / (m + n), rel=1e-10)


def test_conserved_flow_with_estimated_algebra():
    """End to end: discover the algebra, build charges, balance."""
    p = DeepScalar()
    A = symmetry_algebra(p.grad, p.sample(18, rng=0))
    Q = conserved_quantities(A)
    res = conserved_flow(Q, p.default_x0, (0.0, 200.0), f=p.f)
    assert res.extra["f_drift"] < 1e-8 * p.f(p.default_x0) and np.max(np.abs(res.charges[-1])) < 1e-8


# ----------------------------------------------------------------- validation
def test_flow_input_validation():
    g = SF.grad
    with pytest.raises(ValueError, match="x0"):
        gradient_flow(g, [np.nan, 1.0], (0, 1))
    with pytest.raises(ValueError, match="t_span"):
        gradient_flow(g, [1.0, 1.0], (1.0, 0.0))
    with pytest.raises(ValueError, match="t_span"):
        gradient_flow(g, [1.0, 1.0], (0.0, np.inf))
    with pytest.raises(ValueError, match="t_eval"):
        gradient_flow(g, [1.0, 1.0], (0.0, 1.0), t_eval=[0.0, 2.0])
    with pytest.raises(ValueError, match="method"):
        gradient_flow(g, [1.0, 1.0], (0.0, 1.0), method="Euler")
    with pytest.raises(ValueError, match="rtol"):
        gradient_flow(g, [1.0, 1.0], (0.0, 1.0), rtol=-1.0)
    with pytest.raises(ValueError, match="grad"):
        gradient_flow(lambda x: np.full(2, np.nan), [1.0, 1.0], (0.0, 1.0))
    with pytest.raises(ValueError, match="grad"):
        gradient_flow(lambda x: np.zeros(3), [1.0, 1.0], (0.0, 1.0))
    with pytest.raises(TypeError, match="grad"):
        gradient_flow("grad", [1.0, 1.0], (0.0, 1.0))
    with pytest.raises(ValueError, match="charges"):
        gradient_flow(g, [1.0, 1.0], (0.0, 1.0), charges=conserved_quantities(np.eye(3)))


def test_descent_input_validation():
    g = SF.grad
    with pytest.raises(ValueError, match="step"):
        gradient_descent(g, [1.0, 2.0], -0.1, 10)
    with pytest.raises(ValueError, match="step"):
        gradient_descent(g, [1.0, 2.0], 0.0, 10)
    with pytest.raises(ValueError, match="n_steps"):
        gradient_descent(g, [1.0, 2.0], 0.1, 0)
    with pytest.raises(ValueError, match="x0"):
        gradient_descent(g, [1.0, np.inf], 0.1, 10)
    with pytest.raises(ValueError, match="grad"):
        gradient_descent(lambda x: np.array([np.nan, 0.0]), [1.0, 2.0], 0.1, 10)
    with pytest.raises(ValueError, match="schedule"):
        subgradient_descent(g, [1.0, 2.0], 0.1, 10, schedule="cosine")
    with pytest.raises(TypeError, match="charges"):
        conserved_flow(lambda x: x, [1.0, 2.0], (0.0, 1.0))
    with pytest.raises(ValueError, match="x0"):
        conserved_flow(Q_SF, [1.0, 2.0, 3.0], (0.0, 1.0))
    with pytest.raises(ValueError, match="x0"):
        subgradient_flow(lambda x: 0.0, lambda x: x, [np.nan], (0.0, 1.0))
