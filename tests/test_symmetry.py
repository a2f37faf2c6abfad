"""Symmetry algebras from a black-box gradient and their Noether charges.

Expected dimensions are derived by hand (see the comments), not read off
the code: scalar factorization 1, deep scalar 2 (traceless diagonals),
rotation-invariant n(n-1)/2 (so(n), no charges), ReLU network h (one
rescaling per neuron) for generic data with N >= d, matrix factorization r².
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from flatlib.problems import (AbsScalarFactorization, DeepScalar, RotationInvariant,
                              ScalarFactorization, TwoLayerReLU)
from flatlib.symmetry import ConservedQuantities, conserved_quantities, symmetry_algebra


def projector(B):
    """Orthogonal projector onto span{vec(B_i)}."""
    V = np.asarray(B).reshape(len(B), -1).T
    Qm, _ = np.linalg.qr(V)
    return Qm @ Qm.T


def same_span(A, B, tol=1e-8):
    return len(A) == len(B) and np.linalg.norm(projector(A) - projector(B)) < tol


def algebra_of(p, factor=2, rng=1, **kw):
    return symmetry_algebra(p.grad, p.sample(factor * p.n ** 2, rng=rng), full_output=True, **kw)


# ----------------------------------------------------------------- dimensions
@pytest.mark.parametrize("p, k", [(ScalarFactorization(), 1), (AbsScalarFactorization(), 1),
                                  (DeepScalar(), 2)], ids=["scalar", "abs", "deep"])
def test_algebra_dimension_and_span_scalar_problems(p, k):
    res = algebra_of(p)
    assert res.dim == k and res.saturated and res.gap > 1e6
    assert same_span(res.basis, p.generators())
    # orthonormal in the Frobenius inner product
    F = res.basis.reshape(k, -1)
    np.testing.assert_allclose(F @ F.T, np.eye(k), atol=1e-12)


def test_scalar_basis_is_canonical():
    A = symmetry_algebra(ScalarFactorization().grad, ScalarFactorization().sample(8, rng=0))
    np.testing.assert_allclose(A[0], np.diag([1.0, -1.0]) / np.sqrt(2), atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_rotation_invariant_is_so_n_without_charges(n):
    p = RotationInvariant(n)
    res = algebra_of(p)
    assert res.dim == n * (n - 1) // 2
    for A in res.basis:
        np.testing.assert_allclose(A, -A.T, atol=1e-10)
    Q = conserved_quantities(res.basis)
    assert Q.k == 0 and Q.n_antisymmetric == n * (n - 1) // 2 and Q.n_other == 0
    assert "no charge" in Q.message


@pytest.mark.parametrize("d, h, N, seed", [(2, 3, 20, 0), (3, 2, 10, 1), (2, 4, 5, 2), (2, 3, 2, 3)])
def test_relu_algebra_is_per_neuron_rescaling_when_n_data_ge_d(d, h, N, seed):
    p = TwoLayerReLU(d=d, h=h, n_data=N, seed=seed)
    res = algebra_of(p)
    assert res.saturated
    assert res.dim == h
    assert same_span(res.basis, p.generators())
    Q = conserved_quantities(res.basis)
    assert Q.k == h and Q.n_antisymmetric == 0


@pytest.mark.parametrize("d, h, N", [(2, 3, 1), (3, 2, 2), (3, 2, 1)])
def test_relu_algebra_is_larger_for_fewer_data_than_inputs(d, h, N):
    """Data-dependent enlargement: rank m = N < d of the data leaves the
    h (d - m) coordinates of the w_j orthogonal to the data unconstrained
    (their rows of A are free: n entries each), on top of the h rescalings:
    dim = h + h (d - m) n with n = h (1 + d).  The rescalings remain inside."""
    p = TwoLayerReLU(d=d, h=h, n_data=N, seed=5)
    res = algebra_of(p)
    n = h * (1 + d)
    m = N
    assert res.saturated
    assert res.dim == h + h * (d - m) * n
    P = projector(res.basis)
    for G in p.generators():
        g = G.ravel() / np.linalg.norm(G)
        assert np.linalg.norm(P @ g - g) < 1e-8


def test_matrix_factorization_algebra_is_gl_r():
    import flatlib.problems.matrix_factorization as mfmod
    rng = np.random.default_rng(0)
    m, n, r = 3, 2, 2
    P = mfmod.MatrixFactorization(rng.standard_normal((m, n)), rank=r)
    res = symmetry_algebra(P.grad, rng.standard_normal((2 * P.n ** 2, P.n)), full_output=True)
    assert res.dim == r * r
    assert same_span(res.basis, P.generators())
    Q = conserved_quantities(res.basis)
    # symmetric A <-> symmetric operator (X,Y) -> (XA, -YAᵀ): r(r+1)/2 charges,
    # antisymmetric A: r(r-1)/2 isometries
    assert Q.k == r * (r + 1) // 2 and Q.n_antisymmetric == r * (r - 1) // 2 and Q.n_other == 0
    # Each charge matrix is the operator (X, Y) -> (XS, -YS)/sqrt(m+n) for a symmetric
    # r×r S (the operator has Frobenius norm sqrt(m+n)·||S||), so
    # Q(z) = ½<z, L_S z>/sqrt(m+n) = ½<C, S>/sqrt(m+n) with C = XᵀX - YᵀY.
    Ss = []
    for Si in Q.matrices:
        S = Si[:r, :r].T * np.sqrt(m + n)
        np.testing.assert_allclose(S, S.T, atol=1e-10)
        np.testing.assert_allclose(Si[: m * r, : m * r], np.kron(np.eye(m), S.T) / np.sqrt(m + n),
                                   atol=1e-10)
        np.testing.assert_allclose(Si[m * r:, m * r:], -np.kron(np.eye(n), S) / np.sqrt(m + n),
                                   atol=1e-10)
        Ss.append(S)
    Z = rng.standard_normal((3, P.n))
    for z, row in zip(Z, Q(Z)):
        X, Y = P.unpack(z)
        C = X.T @ X - Y.T @ Y
        np.testing.assert_allclose(row, [0.5 * np.sum(C * S) / np.sqrt(m + n) for S in Ss],
                                   rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- candidates route
def mf_setup(m=4, n=3, r=2, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, n))
    N = (m + n) * r

    def grad(z):
        X, Y = z[: m * r].reshape(m, r), z[m * r:].reshape(n, r)
        R = X @ Y.T - M
        return np.concatenate([(R @ Y).ravel(), (R.T @ X).ravel()])

    def gen(E, sign_y=-1.0):
        A = np.zeros((N, N))
        A[: m * r, : m * r] = np.kron(np.eye(m), E.T)                  # X -> X E
        A[m * r:, m * r:] = sign_y * np.kron(np.eye(n), E)             # Y -> ±Y Eᵀ
        return A

    units = []
    for a in range(r):
        for b in range(r):
            E = np.zeros((r, r))
            E[a, b] = 1.0
            units.append(E)
    true = np.array([gen(E) for E in units])
    # decoys: (X, Y) -> (XA, +YAᵀ) (never a symmetry unless A = 0) and generic diagonals.
    # (Beware: (XE, -YE) would be a symmetry for symmetric E.)
    decoys = np.array([gen(E, +1.0) for E in units]
                      + [np.diag(rng.standard_normal(N)) for _ in range(3)])
    return grad, N, true, decoys, rng


def test_candidates_dense_and_sparse_recover_gl_r():
    grad, N, true, decoys, rng = mf_setup()
    cand = np.concatenate([true, decoys, true[:1] + decoys[:1]])   # includes a dependent one
    p = len(cand)
    samples = rng.standard_normal((2 * p, N))
    res = symmetry_algebra(grad, samples, candidates=cand, full_output=True)
    assert res.dim == 4 and res.saturated
    assert same_span(res.basis, true)
    assert res.coefficients.shape == (4, p)
    np.testing.assert_allclose(np.einsum("kj,jab->kab", res.coefficients, cand), res.basis, atol=1e-12)
    F = res.basis.reshape(4, -1)
    np.testing.assert_allclose(F @ F.T, np.eye(4), atol=1e-10)
    sres = symmetry_algebra(grad, samples, candidates=[sp.csr_matrix(c) for c in cand],
                            full_output=True)
    assert sres.dim == 4 and all(sp.issparse(b) for b in sres.basis)
    assert same_span(np.array([b.toarray() for b in sres.basis]), true)
    # the dense n² route agrees
    dense = symmetry_algebra(grad, rng.standard_normal((2 * N * N, N)))
    assert same_span(dense, true)


def test_candidates_outside_the_algebra_give_zero_dimension():
    grad, N, true, decoys, rng = mf_setup()
    res = symmetry_algebra(grad, rng.standard_normal((60, N)), candidates=decoys, full_output=True)
    assert res.dim == 0 and res.basis.shape == (0, N, N)


# ----------------------------------------------------------------- rank decision, samples
def test_too_few_samples_warns_and_is_not_saturated():
    p = DeepScalar()
    with pytest.warns(UserWarning, match="upper bound"):
        res = symmetry_algebra(p.grad, p.sample(4, rng=0), full_output=True)
    assert not res.saturated and res.dim == 9 - 4
    # singular values padded with structural zeros, gap infinite
    assert res.singular_values.shape == (9,) and res.gap == np.inf


def test_samples_with_zero_gradient_are_dropped():
    p = ScalarFactorization()
    samples = np.vstack([p.sample(6, rng=0), [[1.0, 1.0], [2.0, 0.5], [0.0, 0.0]]])
    res = symmetry_algebra(p.grad, samples, full_output=True)
    assert res.n_samples_used == 6 and res.dim == 1


def test_full_output_unpacks_and_tol_changes_decision():
    p = ScalarFactorization()
    basis, svals = symmetry_algebra(p.grad, p.sample(8, rng=0), full_output=True)
    assert basis.shape == (1, 2, 2) and svals.shape == (4,)
    # a threshold above every singular value declares everything a symmetry
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loose = symmetry_algebra(p.grad, p.sample(8, rng=0), tol=0.999999, full_output=True)
    assert loose.dim >= 3


# ----------------------------------------------------------------- conserved quantities
def test_scalar_charge_closed_form():
    Q = conserved_quantities(ScalarFactorization().generators())
    x = np.array([3.0, 0.1])
    # orthonormal S = diag(1,-1)/√2: Q = (x² - y²)/(2√2)
    np.testing.assert_allclose(Q(x), [(9.0 - 0.01) / (2 * np.sqrt(2))])
    np.testing.assert_allclose(Q.jacobian(x), [[3.0 / np.sqrt(2), -0.1 / np.sqrt(2)]])
    assert Q.h(x) == pytest.approx(0.5 * Q(x)[0] ** 2)
    np.testing.assert_allclose(Q.grad_h(x), Q(x)[0] * Q.jacobian(x)[0])
    assert isinstance(Q, ConservedQuantities) and len(Q) == 1


@pytest.mark.parametrize("p", [ScalarFactorization(), AbsScalarFactorization(), DeepScalar(),
                               TwoLayerReLU()], ids=repr)
def test_every_charge_is_conserved_infinitesimally(p):
    """<∇f(x), S x> = 0 for each returned symmetric S: d/dt Q = 0 along x' = -∇f."""
    Q = conserved_quantities(algebra_of(p).basis)
    assert Q.k == len(p.generators())
    for x in p.sample(6, rng=9):
        g = p.grad(x)
        for row in Q.jacobian(x):
            assert abs(g @ row) < 1e-10 * (1 + np.linalg.norm(g) * np.linalg.norm(x))
    for S in Q.matrices:
        np.testing.assert_allclose(S, S.T, atol=1e-14)


def test_non_transpose_closed_algebra_uses_intersection_not_symmetric_parts():
    """f(x, y) = φ(y): the algebra is {[[a, b], [0, 0]]} (row of y zero).
    Symmetric elements: [[a, 0], [0, 0]] -> charge x²/2 (x' = 0).  The element
    [[0, 1], [0, 0]] is neither symmetric nor antisymmetric; its symmetric
    part gives the charge xy, which is NOT conserved (y moves)."""
    grad = lambda v: np.array([0.0, np.cos(v[1]) + 2 * v[1]])
    res = symmetry_algebra(grad, np.random.default_rng(0).standard_normal((10, 2)), full_output=True)
    assert res.dim == 2
    assert same_span(res.basis, np.array([[[1.0, 0], [0, 0]], [[0, 1.0], [0, 0]]]))
    Q = conserved_quantities(res.basis)
    assert Q.k == 1 and Q.n_antisymmetric == 0 and Q.n_other == 1
    np.testing.assert_allclose(Q.matrices[0], [[1.0, 0.0], [0.0, 0.0]], atol=1e-12)
    assert "not conserved" in Q.message


def test_conserved_quantities_accepts_dependent_and_single_generators():
    A = np.diag([1.0, -1.0])
    Q = conserved_quantities(np.array([A, 2 * A, -A]))
    assert Q.k == 1
    assert conserved_quantities(A).k == 1
    Z = conserved_quantities(np.zeros((0, 3, 3)))
    assert Z.k == 0 and Z(np.ones(3)).shape == (0,)


# ----------------------------------------------------------------- property tests
def random_orthogonal(n, seed):
    Qm, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Qm * np.sign(np.diag(R))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), which=st.sampled_from(["deep", "rot", "scalar"]))
def test_orthogonal_change_of_basis_conjugates_the_algebra(seed, which):
    """f_U(x) = f(U x) has ∇f_U(x) = Uᵀ∇f(Ux) and algebra Uᵀ g U."""
    p = {"deep": DeepScalar(), "rot": RotationInvariant(3), "scalar": ScalarFactorization()}[which]
    U = random_orthogonal(p.n, seed)
    grad_U = lambda x: U.T @ p.grad(U @ x)
    samples = p.sample(2 * p.n ** 2, rng=seed % 1000)
    gU = symmetry_algebra(grad_U, samples)
    conj = np.einsum("ij,kjl,lm->kim", U.T, p.generators(), U)
    assert same_span(gU, conj, tol=1e-7)
    # charges transform the same way: number unchanged
    assert conserved_quantities(gU).k == conserved_quantities(p.generators()).k


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), scale=st.floats(0.1, 10.0))
def test_algebra_is_invariant_under_sample_scaling_and_rescaling_f(seed, scale):
    """Scaling f by c > 0 or samples by a constant leaves the null space unchanged
    (rows are normalized)."""
    p = DeepScalar()
    X = p.sample(18, rng=seed % 1000)
    a = symmetry_algebra(lambda x: scale * p.grad(x), X)
    assert same_span(a, p.generators(), tol=1e-7)


# ----------------------------------------------------------------- validation
def test_symmetry_algebra_input_validation():
    p = ScalarFactorization()
    X = p.sample(8)
    with pytest.raises(TypeError, match="grad"):
        symmetry_algebra(None, X)
    with pytest.raises(ValueError, match="samples"):
        symmetry_algebra(p.grad, np.zeros((2, 2, 2)))
    bad = X.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="samples"):
        symmetry_algebra(p.grad, bad)
    with pytest.raises(ValueError, match="grad"):
        symmetry_algebra(lambda x: np.array([np.nan, 0.0]), X)
    with pytest.raises(ValueError, match="grad"):
        symmetry_algebra(lambda x: np.zeros(3), X)
    with pytest.raises(ValueError, match="tol"):
        symmetry_algebra(p.grad, X, tol=2.0)
    with pytest.raises(ValueError, match="candidates"):
        symmetry_algebra(p.grad, X, candidates=np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="candidates"):
        symmetry_algebra(p.grad, X, candidates=np.zeros((2, 2, 2)))


def test_conserved_quantities_input_validation():
    with pytest.raises(ValueError, match="generators"):
        conserved_quantities(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="generators"):
        conserved_quantities(np.full((1, 2, 2), np.nan))
    Q = conserved_quantities(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="x"):
        Q(np.zeros(3))
    with pytest.raises(ValueError, match="x"):
        Q.jacobian([np.nan, 1.0])
