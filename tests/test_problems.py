"""Worked problems: derivatives against finite differences, symmetry
generators against the definition, data determinism, input validation."""
import numpy as np
import pytest
from scipy.linalg import expm

import flatlib.problems as problems
from flatlib.problems import (AbsScalarFactorization, DeepScalar, Problem, RotationInvariant,
                              ScalarFactorization, TwoLayerReLU)

SMOOTH = [ScalarFactorization(), DeepScalar(), RotationInvariant(3), RotationInvariant(5),
          TwoLayerReLU(), TwoLayerReLU(d=3, h=4, n_data=30, seed=7)]
ALL = SMOOTH + [AbsScalarFactorization()]


def ids(p):
    return repr(p)


def fd_grad(f, x, h=1e-6):
    e = np.eye(x.size)
    return np.array([(f(x + h * e[i]) - f(x - h * e[i])) / (2 * h) for i in range(x.size)])


@pytest.mark.parametrize("p", ALL, ids=ids)
def test_is_problem_and_grad_matches_finite_differences(p):
    assert isinstance(p, Problem)
    rng = np.random.default_rng(3)
    for x in p.sample(3, rng=rng):
        g = p.grad(x)
        assert g.shape == (p.n,)
        np.testing.assert_allclose(g, fd_grad(p.f, x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("p", ALL, ids=ids)
def test_hess_and_hvp_match_finite_differences_of_grad(p):
    rng = np.random.default_rng(4)
    x = p.sample(1, rng=rng)[0]
    H = p.hess(x)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    Hfd = np.column_stack([fd_grad(lambda y, i=i: p.grad(y)[i], x) for i in range(p.n)]).T
    np.testing.assert_allclose(H, 0.5 * (Hfd + Hfd.T), rtol=1e-5, atol=1e-6)
    v = rng.standard_normal(p.n)
    np.testing.assert_allclose(p.hvp(x, v), H @ v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", ALL, ids=ids)
def test_generators_are_symmetries(p):
    """<∇f(x), A x> = 0 and f(e^{tA} x) = f(x): the definition, checked directly."""
    A = p.generators()
    assert A.ndim == 3 and A.shape[1:] == (p.n, p.n)
    rng = np.random.default_rng(5)
    for x in p.sample(4, rng=rng):
        g = p.grad(x)
        for Ai in A:
            assert abs(g @ (Ai @ x)) <= 1e-12 * (1 + np.linalg.norm(g) * np.linalg.norm(x))
            for t in (-0.3, 0.7):
                assert p.f(expm(t * Ai) @ x) == pytest.approx(p.f(x), rel=1e-10, abs=1e-12)


def test_scalar_closed_forms():
    p = ScalarFactorization()
    # f(3, 0.1) = ½(0.3 - 1)² = 0.245 ; ∇f = (xy-1)(y, x) = -0.7 (0.1, 3)
    assert p.f([3.0, 0.1]) == pytest.approx(0.245)
    np.testing.assert_allclose(p.grad([3.0, 0.1]), [-0.07, -2.1])
    # at a minimum xy = 1 the Hessian [[y², 1], [1, x²]] has eigenvalues 0 and x² + y²
    x, y = 4.0, 0.25
    np.testing.assert_allclose(np.linalg.eigvalsh(p.hess([x, y])), [0.0, x * x + y * y], atol=1e-12)
    assert isinstance(p.f([1.0, 1.0]), float)


def test_abs_scalar_minimal_norm_subgradient():
    p = AbsScalarFactorization()
    np.testing.assert_array_equal(p.grad([2.0, 0.5]), [0.0, 0.0])      # kink: 0 ∈ ∂f
    np.testing.assert_allclose(p.grad([1.0, 2.0]), [2.0, 1.0])          # xy > 1: +(y, x)
    np.testing.assert_allclose(p.grad([1.0, 0.5]), [-0.5, -1.0])        # xy < 1: -(y, x)
    assert p.inner([2.0, 3.0]) == 5.0
    np.testing.assert_allclose(p.inner_grad([2.0, 3.0]), [3.0, 2.0])


def test_deep_scalar_generators_and_minimum():
    p = DeepScalar()
    np.testing.assert_allclose(p.grad([1.0, 2.0, 0.5]), 0.0)
    G = p.generators()
    np.testing.assert_array_equal(G[0], np.diag([1.0, -1.0, 0.0]))
    np.testing.assert_array_equal(G[1], np.diag([0.0, 1.0, -1.0]))


def test_rotation_invariant_default_and_custom_g():
    p = RotationInvariant(4)
    assert p.generators().shape == (6, 4, 4)                     # n(n-1)/2
    for A in p.generators():
        np.testing.assert_array_equal(A, -A.T)
    # custom g(s) = exp(s): ∇f = 2 e^s x
    q = RotationInvariant(2, g=np.exp, dg=np.exp, d2g=np.exp)
    x = np.array([0.3, -0.4])
    np.testing.assert_allclose(q.grad(x), 2 * np.exp(0.25) * x)
    np.testing.assert_allclose(q.grad(x), fd_grad(q.f, x), rtol=1e-7)
    with pytest.raises(ValueError, match="together"):
        RotationInvariant(2, g=np.exp)
    with pytest.raises(ValueError, match="n"):
        RotationInvariant(0)


def test_relu_data_is_deterministic_and_seed_dependent():
    a, b, c = TwoLayerReLU(seed=11), TwoLayerReLU(seed=11), TwoLayerReLU(seed=12)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.default_x0, b.default_x0)
    assert not np.allclose(a.X, c.X)
    assert a.X.shape == (20, 2) and a.y.shape == (20,) and a.n == 9


def test_relu_rescaling_pack_and_charges():
    p = TwoLayerReLU(d=3, h=4, n_data=15, seed=2)
    th = p.default_x0
    a, W = p.unpack(th)
    np.testing.assert_array_equal(p.pack(a, W), th)
    for j in range(p.h):
        th2 = p.rescale(th, j, 2.5)
        assert p.f(th2) == pytest.approx(p.f(th), rel=1e-12)
        np.testing.assert_allclose(p.predict(th2), p.predict(th), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.neuron_charges(th), 0.5 * (np.sum(W ** 2, 1) - a ** 2))
    # Jacobian against finite differences of the outputs
    J = p.jacobian(th)
    Jfd = np.column_stack([fd_grad(lambda t, i=i: p.predict(t)[i], th) for i in range(p.n_data)]).T
    np.testing.assert_allclose(J, Jfd, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="j"):
        p.rescale(th, 4, 2.0)
    with pytest.raises(ValueError, match="s"):
        p.rescale(th, 0, -1.0)


@pytest.mark.parametrize("p", ALL, ids=ids)
def test_bad_points_raise_naming_x(p):
    with pytest.raises(ValueError, match="x"):
        p.f(np.zeros(p.n + 1))
    bad = np.zeros(p.n)
    bad[0] = np.nan
    with pytest.raises(ValueError, match="x"):
        p.grad(bad)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="h"):
        TwoLayerReLU(h=0)
    with pytest.raises(ValueError, match="noise"):
        TwoLayerReLU(noise=-1.0)
    with pytest.raises(TypeError, match="seed"):
        TwoLayerReLU(seed=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        ScalarFactorization().sample(0)


def test_package_exports():
    for name in ("Problem", "ScalarFactorization", "AbsScalarFactorization", "DeepScalar",
                 "RotationInvariant", "TwoLayerReLU"):
        assert name in problems.__all__ and hasattr(problems, name)


def test_matrix_factorization_reexported():
    import flatlib.problems.matrix_factorization as mf
    assert problems.MatrixFactorization is mf.MatrixFactorization
    assert "MatrixFactorization" in problems.__all__
