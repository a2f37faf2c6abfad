"""flatlib.networks.measures: measures at a trained net, Kendall tau with bootstrap.

References computed independently of the code under test: a dense Hessian from central
differences of the gradient (its eigenvalues and trace), SciPy's SLSQP on the ball for the
maximal variations, the rescaling written from its definition, and Kendall's tau-b counted
pair by pair in pure Python.
"""
import numpy as np
from kendall_ref import tau_b as _tau_b
import pytest
from scipy.optimize import minimize

from flatlib.networks import MLP
from flatlib.networks import (MEASURES, adaptive_sharpness, kendall_tau_ci, network_measures,
                                             orbit_measures)


# a lighter search than the study's defaults: these nets have 26-80 parameters, where 8 random
# starts and one calm doubling already reach the SLSQP references
LIGHT = dict(n_starts=8, patience=1, max_starts=64)


def _net(widths=(3, 4, 2), N=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, widths[0]))
    y = rng.integers(0, widths[-1], N)
    net = MLP(widths, X, y)
    return net, net.init(rng)


def _fd_hessian(net, theta, h=1e-5):
    n = theta.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (net.grad(theta + e) - net.grad(theta - e)) / (2 * h)
    return 0.5 * (H + H.T)


def _slsqp_max(fun, n, r, jac, side="both", n_starts=6, seed=1):
    """max over ||u|| <= r of fun(u) - fun(0) (and of fun(0) - fun(u) for side='both'),
    SLSQP from random points of the sphere."""
    rng = np.random.default_rng(seed)
    f0 = fun(np.zeros(n))
    best = 0.0
    signs = (1, -1) if side == "both" else (1,)
    for s in signs:
        for _ in range(n_starts):
            u0 = rng.standard_normal(n)
            u0 *= r / np.linalg.norm(u0)
            res = minimize(lambda u: -s * (fun(u) - f0), u0, jac=lambda u: -s * jac(u), method="SLSQP",
                           constraints=[{"type": "ineq", "fun": lambda u: r * r - u @ u,
                                         "jac": lambda u: -2 * u}],
                           options={"ftol": 1e-12, "maxiter": 200})
            u = res.x * min(1.0, r / max(np.linalg.norm(res.x), 1e-300))
            best = max(best, s * (fun(u) - f0))
    return best


def test_kendall_tau_matches_pair_count_with_ties_and_bootstrap_is_consistent():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, 20).astype(float)          # many ties
    y = x + rng.integers(-2, 3, 20)
    tau, lo, hi = kendall_tau_ci(x, y, n_boot=300, rng=0)
    assert abs(tau - _tau_b(x, y)) < 1e-12
    assert lo <= tau <= hi and -1 <= lo and hi <= 1 and lo < hi
    # perfectly concordant: every resample also has tau 1
    assert np.allclose(kendall_tau_ci(np.arange(8.0), np.arange(8.0) ** 3, n_boot=50), 1.0, rtol=0, atol=1e-12)
    assert np.allclose(kendall_tau_ci(np.arange(8.0), -np.arange(8.0), n_boot=50), -1.0, rtol=0, atol=1e-12)


def test_kendall_tau_bootstrap_is_a_percentile_interval():
    # resampling by hand with the same generator gives the same quantiles
    x = np.array([1.0, 3, 2, 5, 4, 7, 6, 8])
    y = np.array([2.0, 1, 4, 3, 6, 5, 8, 7])
    _, lo, hi = kendall_tau_ci(x, y, n_boot=200, rng=7, level=0.9)
    gen = np.random.default_rng(7)
    boots = []
    for _ in range(200):
        idx = gen.integers(0, 8, 8)
        xs, ys = x[idx], y[idx]
        if len(set(xs)) > 1 and len(set(ys)) > 1:
            boots.append(_tau_b(xs, ys))
    qlo, qhi = np.quantile(boots, [0.05, 0.95])
    assert abs(lo - qlo) < 1e-12 and abs(hi - qhi) < 1e-12


def test_lambda_max_trace_sam_against_dense_hessian_and_definitions():
    net, theta = _net()
    H = _fd_hessian(net, theta)
    ev = np.linalg.eigvalsh(H)
    m = network_measures(net, theta, balanced=False, which=("lambda_max", "trace", "sam"), sam_rho=0.05)
    assert abs(m.raw["lambda_max"] - ev[-1]) < 1e-6 * abs(ev[-1])
    # the trace is exact (Gauss-Newton closed form): central differences agree to their error
    assert abs(m.raw["trace"] - np.trace(H)) < 1e-6 * abs(np.trace(H))
    g = net.grad(theta)
    expect = net.f(theta + 0.05 * g / np.linalg.norm(g)) - net.f(theta)
    assert abs(m.raw["sam"] - expect) < 1e-12


def test_fcirc_and_fbar_against_slsqp_and_duality():
    net, theta = _net()
    m = network_measures(net, theta, balanced=False, radii=(0.05, 0.3), delta=0.05,
                         which=("fcirc_r1", "fcirc_r2", "fbar"), fbar_xtol=1e-3, **LIGHT)
    fun = lambda u: net.f(theta + u)
    jac = lambda u: net.grad(theta + u)
    for r, key in ((0.05, "fcirc_r1"), (0.3, "fcirc_r2")):
        ref = _slsqp_max(fun, net.n, r, jac)
        assert abs(m.raw[key] - ref) <= 2e-3 * ref, (key, m.raw[key], ref)
    # f°(θ, f¯(θ, d)) = d (duality): the reference maximal variation just inside / outside
    d, fb = 0.05, m.raw["fbar"]
    assert _slsqp_max(fun, net.n, 0.99 * fb, jac) < d < _slsqp_max(fun, net.n, 1.01 * fb, jac)


def test_adaptive_sharpness_against_slsqp_and_invariant_under_rescaling():
    net, theta = _net()
    w = np.abs(theta)
    ref = _slsqp_max(lambda e: net.f(theta + w * e), net.n, 0.1, lambda e: w * net.grad(theta + w * e), side="up")
    val = adaptive_sharpness(net, theta, 0.1, n_starts=8).value
    assert abs(val - ref) <= 2e-3 * ref
    c = np.array([0.1, 7.0, 0.5, 3.0])
    t2 = net.rescale(theta, c)
    assert abs(adaptive_sharpness(net, t2, 0.1, n_starts=8).value - val) < 1e-9 * val


def test_balanced_measures_invariant_raw_ones_not():
    net, theta = _net((4, 5, 3, 3), N=20, seed=2)
    c = np.exp(np.random.default_rng(5).uniform(np.log(0.1), np.log(10), net.n_hidden))
    kw = dict(radii=(0.05, 0.2), delta=0.02, **LIGHT)
    a = network_measures(net, theta, **kw)
    b = network_measures(net, net.rescale(theta, c), **kw)
    for k in MEASURES:
        assert abs(a.balanced[k] - b.balanced[k]) <= 1e-8 * abs(a.balanced[k]), k
    assert abs(a.raw["asam"] - b.raw["asam"]) <= 1e-8 * a.raw["asam"]
    for k in ("lambda_max", "trace", "fcirc_r1"):             # the attack is visible raw
        assert abs(b.raw[k] / a.raw[k] - 1) > 0.05, k
    # the balanced point is the minimal-norm point with zero charges
    assert np.max(np.abs(net.charges(a.theta_balanced))) < 1e-8


def test_orbit_measures_norm_closed_form_and_lambda_at_zero():
    net, theta = _net()
    tb = net.balance(theta)
    u = np.array([[1.0, -1.0, 0.5, 0.0]])
    ts = np.array([-0.5, 0.0, 0.7])
    lam, fc, n2 = orbit_measures(net, tb, u, ts, radius=0.1, **LIGHT)
    W1, b1 = net.layers(tb)[0]
    W2, b2 = net.layers(tb)[1]
    for j, t in enumerate(ts):
        c = np.exp(t * u[0])
        expect = np.sum((W1 * c[:, None]) ** 2) + np.sum((b1 * c) ** 2) + np.sum((W2 / c[None, :]) ** 2) + b2 @ b2
        assert abs(n2[0, j] - expect) < 1e-12 * expect
    assert abs(lam[0, 1] - np.linalg.eigvalsh(_fd_hessian(net, tb))[-1]) < 1e-6 * lam[0, 1]
    assert np.argmin(n2[0]) == 1
    assert np.all(fc > 0)


def test_bad_inputs():
    net, theta = _net()
    with pytest.raises(ValueError, match="theta"):
        network_measures(net, theta[:-1])
    with pytest.raises(ValueError, match="theta"):
        network_measures(net, np.full(net.n, np.nan))
    with pytest.raises(ValueError, match="radii"):
        network_measures(net, theta, radii=(-0.1, 0.2))
    with pytest.raises(ValueError, match="radii"):
        network_measures(net, theta, radii=(0.1,))
    with pytest.raises(ValueError, match="which"):
        network_measures(net, theta, which=("lambda",))
    with pytest.raises(ValueError, match="delta"):
        network_measures(net, theta, delta=0.0)
    with pytest.raises(TypeError, match="rho"):
        adaptive_sharpness(net, theta, "0.1")
    with pytest.raises(ValueError, match="measure and gap"):
        kendall_tau_ci([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        kendall_tau_ci([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="n_boot"):
        kendall_tau_ci([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], n_boot=0)
    with pytest.raises(ValueError, match="directions"):
        orbit_measures(net, theta, np.ones((1, 3)), [0.0])
