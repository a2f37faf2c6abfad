"""Tests for flatlib.spectral: λ_max / λ_min by Lanczos and densely, Hessian trace."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flatlib.spectral import (
    EigenResult,
    TraceResult,
    hessian_lambda_max,
    hessian_lambda_min,
    hessian_trace,
    resolve_rng,
)


def sym_with_spectrum(eigs, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    return (Q * np.asarray(eigs, dtype=float)) @ Q.T


def op(H):
    return lambda x, v: H @ v


# ----------------------------------------------------------------------- λ_max / λ_min
@pytest.mark.parametrize("n", [1, 2, 3, 10, 17, 60, 300])
def test_lambda_max_matches_dense(n):
    rng = np.random.default_rng(n)
    B = rng.standard_normal((n, n))
    H = (B + B.T) / 2
    ref = np.linalg.eigvalsh(H)
    res = hessian_lambda_max(op(H), np.zeros(n))
    assert isinstance(res, EigenResult)
    assert abs(float(res) - ref[-1]) <= 1e-8 * max(1.0, abs(ref[-1]))
    v = res.eigenvector
    assert np.isclose(np.linalg.norm(v), 1.0)
    assert np.linalg.norm(H @ v - res.value * v) < 1e-6 * max(1.0, abs(ref).max())
    lo = hessian_lambda_min(op(H), np.zeros(n))
    assert abs(float(lo) - ref[0]) <= 1e-8 * max(1.0, abs(ref[0]))
    assert lo.which == "SA" and res.which == "LA"


def test_methods_switch():
    H = sym_with_spectrum(np.arange(40.0))
    assert hessian_lambda_max(op(H), np.zeros(40)).method == "lanczos"
    assert hessian_lambda_max(op(H), np.zeros(40), hess=lambda x: H).method == "dense"
    assert hessian_lambda_max(op(H), np.zeros(40), hess=lambda x: H, dense_max_n=10).method == "lanczos"
    assert hessian_lambda_max(op(H[:5, :5]), np.zeros(5)).method == "assembled"
    res = hessian_lambda_max(op(H), np.zeros(40), hess=lambda x: H)
    assert res.n_hvp == 0 and abs(res.value - 39.0) < 1e-10


def test_largest_algebraic_not_magnitude():
    # a saddle: the eigenvalue of largest magnitude is -100, λ_max is 1
    eigs = np.concatenate([[-100.0], np.linspace(-1.0, 1.0, 49)])
    H = sym_with_spectrum(eigs, seed=3)
    assert abs(float(hessian_lambda_max(op(H), np.zeros(50))) - 1.0) < 1e-8
    assert abs(float(hessian_lambda_min(op(H), np.zeros(50))) + 100.0) < 1e-8
    assert abs(float(hessian_lambda_max(op(H), np.zeros(50), which="SA")) + 100.0) < 1e-8


def test_deterministic_for_given_rng():
    H = sym_with_spectrum(np.linspace(0, 5, 80) ** 2, seed=1)
    a = hessian_lambda_max(op(H), np.zeros(80), rng=7)
    b = hessian_lambda_max(op(H), np.zeros(80), rng=np.random.default_rng(7))
    c = hessian_lambda_max(op(H), np.zeros(80))
    d = hessian_lambda_max(op(H), np.zeros(80))
    assert a.value == b.value and a.n_hvp == b.n_hvp
    assert c.value == d.value and np.array_equal(c.eigenvector, d.eigenvector)


def test_hvp_receives_x():
    # f(x) = Σ x_i⁴/12 + ½||x||² ⇒ ∇²f = diag(x² + 1)
    x = np.linspace(-2, 3, 30)
    res = hessian_lambda_max(lambda y, v: (y ** 2 + 1) * v, x)
    assert abs(res.value - 10.0) < 1e-8


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=20, max_size=40),
       st.integers(0, 2 ** 16))
def test_lambda_max_property(eigs, seed):
    eigs = np.array(eigs)
    H = sym_with_spectrum(eigs, seed=seed)
    res = hessian_lambda_max(op(H), np.zeros(len(eigs)), rng=seed)
    assert abs(res.value - eigs.max()) <= 1e-8 * max(1.0, np.abs(eigs).max())


# ----------------------------------------------------------------------- trace
def test_trace_exact():
    H = sym_with_spectrum(np.arange(1.0, 31.0), seed=2)
    res = hessian_trace(op(H), np.zeros(30))
    assert isinstance(res, TraceResult)
    assert res.method == "exact" and res.stderr == 0.0 and res.n_hvp == 30
    assert abs(float(res) - 465.0) < 1e-9


def test_trace_hutchinson_within_standard_errors():
    n = 400
    rng = np.random.default_rng(11)
    B = rng.standard_normal((n, n)) / np.sqrt(n)
    H = B @ B.T + np.diag(rng.uniform(0, 3, n))
    exact = np.trace(H)
    res = hessian_trace(op(H), np.zeros(n), n_samples=300, exact_if_n_le=100, rng=5)
    assert res.method == "hutchinson" and res.n_hvp == 300 and res.stderr > 0
    assert abs(res.value - exact) < 4 * res.stderr
    # deterministic for a seed; exact for diagonal matrices (zero variance)
    again = hessian_trace(op(H), np.zeros(n), n_samples=300, exact_if_n_le=100, rng=5)
    assert again.value == res.value
    D = np.diag(np.arange(n, dtype=float))
    d = hessian_trace(op(D), np.zeros(n), n_samples=5, exact_if_n_le=0)
    assert abs(d.value - np.trace(D)) < 1e-8 and d.stderr < 1e-8


# ----------------------------------------------------------------------- bad input
def test_bad_inputs():
    H = np.eye(30)
    with pytest.raises(TypeError, match="hvp"):
        hessian_lambda_max("not a function", np.zeros(3))
    with pytest.raises(TypeError, match="hvp"):
        hessian_trace(None, np.zeros(3))
    with pytest.raises(ValueError, match="x"):
        hessian_lambda_max(op(H), np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="x"):
        hessian_trace(op(H), np.array([np.inf, 0.0]))
    with pytest.raises(ValueError, match="hvp"):
        hessian_lambda_max(lambda x, v: np.ones(3), np.zeros(30))
    with pytest.raises(ValueError, match="hvp"):
        hessian_lambda_max(lambda x, v: np.full(30, np.nan), np.zeros(30))
    with pytest.raises(ValueError, match="hvp"):
        hessian_lambda_max(lambda x, v: np.full(3, np.nan), np.zeros(3))
    with pytest.raises(ValueError, match="hvp"):
        hessian_trace(lambda x, v: np.full(3, np.nan), np.zeros(3))
    with pytest.raises(ValueError, match="n"):
        hessian_lambda_max(op(H), np.zeros(30), n=5)
    with pytest.raises(ValueError, match="which"):
        hessian_lambda_max(op(H), np.zeros(30), which="LM")
    with pytest.raises(ValueError, match="hess"):
        hessian_lambda_max(op(H), np.zeros(30), hess=lambda x: np.eye(4))
    with pytest.raises(ValueError, match="hess"):
        hessian_lambda_max(op(H), np.zeros(30), hess=lambda x: np.full((30, 30), np.nan))
    with pytest.raises(TypeError, match="rng"):
        hessian_lambda_max(op(H), np.zeros(30), rng="seed")
    with pytest.raises(ValueError, match="n_samples"):
        hessian_trace(op(H), np.zeros(30), n_samples=0)
    with pytest.raises(ValueError, match="n_samples"):
        hessian_trace(op(H), np.zeros(30), n_samples=1, exact_if_n_le=0)
    with pytest.raises(ValueError, match="tol"):
        hessian_lambda_max(op(H), np.zeros(30), tol=-1.0)


def test_resolve_rng():
    g = np.random.default_rng(3)
    assert resolve_rng(g) is g
    assert resolve_rng(None).integers(1 << 30) == np.random.default_rng(0).integers(1 << 30)
    with pytest.raises(TypeError):
        resolve_rng(True)
    with pytest.raises(ValueError):
        resolve_rng(-1)


def test_zero_hessian_arpack_breakdown():
    # ARPACK errors out on the zero operator; the fallback returns 0 exactly
    for n in (40, 2500):
        res = hessian_lambda_max(lambda x, v: np.zeros(n), np.zeros(n))
        assert res.value == 0.0
