"""max_variation and level_distance against closed forms derived here."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flatlib import Quadratic, level_distance, max_variation, trust_region_max
from test_calculus_rules import quad_ref


def sxy(z):
    return 0.5 * (z[0] * z[1] - 1.0) ** 2


def sxy_grad(z):
    return (z[0] * z[1] - 1.0) * np.array([z[1], z[0]])


# ---------------------------------------------------------------- closed forms

@pytest.mark.parametrize("r", [1e-3, 0.05, 0.3, 0.69])
def test_scalar_factorization_at_balanced_minimum(r):
    # On the disc around (1,1), xy is extremal on the diagonal while r < 1/sqrt(2)
    # (Lagrange: y(y-1) = x(x-1) gives x = y, or x + y = 1 which is farther than r).
    # max xy - 1 = sqrt(2) r + r^2/2 beats |min xy - 1| = sqrt(2) r - r^2/2, so
    # f° = ½ (sqrt(2) r + r²/2)².
    exact = 0.5 * (np.sqrt(2) * r + 0.5 * r * r) ** 2
    for grad in (None, sxy_grad):
        res = max_variation(sxy, [1.0, 1.0], r, grad=grad)
        assert res.value == pytest.approx(exact, rel=1e-9)
        assert np.linalg.norm(res.argmax - 1.0) <= r
        assert abs(sxy(res.argmax) - 0.0) == pytest.approx(res.value, rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_norm_at_origin(n):
    f = lambda y: float(np.linalg.norm(y))
    res = max_variation(f, np.zeros(n), 0.7)
    assert res.value == pytest.approx(0.7, rel=1e-9)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_max_coordinate_at_origin(n):
    # sup_{||y||<=r} max_i y_i = r (at r e_i); inf = -r/sqrt(n) (at -r 1/sqrt(n)).
    f = lambda y: float(np.max(y))
    r = 0.4
    res = max_variation(f, np.zeros(n), r)
    assert res.up == pytest.approx(r, rel=1e-8)
    assert res.down == pytest.approx(r / np.sqrt(n), rel=1e-6)
    assert res.value == pytest.approx(r, rel=1e-8)


def test_linear_function_and_lipschitz_upper_bound():
    a = np.array([1.0, -2.0, 2.0])
    res = max_variation(lambda y: float(a @ y), np.ones(3), 0.5, grad=lambda y: a, lipschitz=3.0)
    assert res.value == pytest.approx(1.5, rel=1e-12)
    assert res.upper == pytest.approx(1.5)
    assert res.upper >= res.value


@pytest.mark.parametrize("lam", [2.0, -3.0])
def test_isotropic_quadratic_with_gradient(lam):
    # f(x+u) - f(x) = g.u + ½ lam |u|²: up/down in closed form.
    g = np.array([0.3, -0.4])  # |g| = 0.5
    x = np.array([0.2, 0.1])
    b = g - lam * x
    f = lambda y: float(0.5 * lam * y @ y + b @ y)
    grad = lambda y: lam * y + b
    for r in (0.05, 0.2, 1.0):
        gn = 0.5

        def one_side(l):  # max_{|u|<=r} gn t + ½ l t² over t in [-r, r] along g, or interior
            vals = [gn * r + 0.5 * l * r * r, -gn * r + 0.5 * l * r * r]
            if l < 0 and gn / -l <= r:
                vals.append(gn * gn / (2 * -l))
            return max(vals)

        up, down = one_side(lam), one_side(-lam)
        res = max_variation(f, x, r, grad=grad)
        assert res.up == pytest.approx(up, rel=1e-9)
        assert res.down == pytest.approx(down, rel=1e-9)
        q = Quadratic(lam * np.eye(2), b)
        assert q.max_variation(x, r)[0] == pytest.approx(max(up, down), rel=1e-12)


def test_indefinite_quadratic_at_critical_point():
    # f° = ½ max|λ_i| r², attained on the side of the eigenvalue of largest modulus.
    Q = np.diag([1.0, -4.0, 0.5])
    f = lambda y: float(0.5 * y @ Q @ y)
    res = max_variation(f, np.zeros(3), 0.3, grad=lambda y: Q @ y, hess=lambda y: Q)
    assert res.value == pytest.approx(0.5 * 4.0 * 0.09, rel=1e-10)
    assert res.up == pytest.approx(0.5 * 1.0 * 0.09, rel=1e-10)
    assert res.down == pytest.approx(0.5 * 4.0 * 0.09, rel=1e-10)


def test_trust_region_against_dense_sampling():
    # Independent check of the exact solver: fine sampling of the circle and disc.
    rng = np.random.default_rng(3)
    th = np.linspace(0, 2 * np.pi, 40001)
    for _ in range(20):
        A = rng.normal(size=(2, 2))
        Q, g, r = A + A.T, rng.normal(size=2), rng.uniform(0.1, 2)
        v, u = trust_region_max(Q, g, r)
        best = -np.inf
        for rho in np.linspace(0, r, 41):
            U = rho * np.stack([np.cos(th), np.sin(th)], 1)
            best = max(best, np.max(U @ g + 0.5 * np.einsum("ij,jk,ik->i", U, Q, U)))
        assert v >= best - 1e-12
        assert v <= best + 1e-3 * max(1, abs(best))  # sampling resolution
        assert np.linalg.norm(u) <= r * (1 + 1e-15)


def test_trust_region_hard_case():
    # g orthogonal to the top eigenvector: solution = interior part + completion along e1.
    Q, g = np.diag([3.0, 1.0]), np.array([0.0, 1.0])
    r = 1.0
    # stationarity with mu = 3: u2 = 1/(3-1) = 0.5, u1 = sqrt(1 - 0.25); value = 0.5 + ½(3·0.75 + 0.25)
    v, u = trust_region_max(Q, g, r)
    assert v == pytest.approx(0.5 + 0.5 * (3 * 0.75 + 0.25), rel=1e-14)


def test_non_critical_point_first_order():
    # f = sin(y1) + y2², x = (0.3, 0.5): |∇f| r - ½Hr² <= f° <= |∇f| r + ½Hr², H = 2 bounds |∇²f|.
    f = lambda y: float(np.sin(y[0]) + y[1] ** 2)
    grad = lambda y: np.array([np.cos(y[0]), 2 * y[1]])
    x = np.array([0.3, 0.5])
    gn = np.linalg.norm(grad(x))
    for r in (1e-3, 1e-2, 1e-1):
        # rtol=None: only the Taylor bound of the whole ball (a wrong formula fails the approx)
        res = max_variation(f, x, r, grad=grad, hess_bound=2.0, rtol=None)
        assert gn * r - r * r - 1e-15 <= res.value <= gn * r + r * r + 1e-15
        assert res.upper == pytest.approx(gn * r + r * r, rel=1e-12)
        assert res.status == "bound" and not res.converged
        # default: the branch and bound closes the bracket below the Taylor bound
        res = max_variation(f, x, r, grad=grad, hess_bound=2.0)
        assert res.converged and res.value <= res.upper <= res.value * (1 + 1e-3)


def test_profile_is_nondecreasing_and_in_caller_order():
    radii = np.array([0.5, 0.01, 0.2, 0.0, 1.0, 0.05])
    res = max_variation(sxy, [2.0, 0.5], radii, grad=sxy_grad)
    order = np.argsort(radii)
    assert np.all(np.diff(res.value[order]) >= 0)
    assert res.value[3] == 0.0
    for r, v, y in zip(radii, res.value, res.argmax):
        assert np.linalg.norm(y - [2.0, 0.5]) <= r * (1 + 1e-15)
        assert abs(sxy(y)) == pytest.approx(v, rel=1e-12, abs=1e-300)
        assert v == pytest.approx(max_variation(sxy, [2.0, 0.5], r, grad=sxy_grad).value, rel=1e-9)


def test_deterministic_for_a_seed():
    f = lambda y: float(np.sin(3 * y[0]) * np.cos(2 * y[1]) + y[2] ** 2)
    a = max_variation(f, [0.1, 0.2, 0.3], 0.8, rng=5)
    b = max_variation(f, [0.1, 0.2, 0.3], 0.8, rng=5)
    assert a.value == b.value and np.array_equal(a.argmax, b.argmax)


def test_sides():
    f = lambda y: float(y[0] ** 3)
    res = max_variation(f, [0.0], 0.5, side="up")
    assert res.value == pytest.approx(0.125) and res.side == "up"
    res = max_variation(f, [1.0], 0.5, side="down")
    assert res.value == pytest.approx(1 - 0.125)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1), st.floats(0.01, 3.0))
def test_generic_solver_matches_exact_quadratic(n, seed, r):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    q = Quadratic(A + A.T, rng.normal(size=n) * (seed % 2))
    x = rng.normal(size=n)
    # catches: a generic ascent or an exact path that is off (halved, zero, moved point), since
    # both are checked against the trust-region dual of test_calculus_rules (no flatlib code)
    ref = quad_ref(q, x, r)
    exact = max_variation(q, x, r)
    assert exact.exact and exact.value == pytest.approx(ref, rel=1e-9)
    found = max_variation(lambda y: q(y), x, r, grad=q.grad, hess=q.hess)
    assert found.value <= ref * (1 + 1e-9) + 1e-15
    assert found.value == pytest.approx(ref, rel=1e-7)
    for res in (exact, found):                       # attained at a point of the ball
        assert np.linalg.norm(res.argmax - x) <= r * (1 + 1e-12) + 1e-15
        assert abs(q(res.argmax) - q(x)) == pytest.approx(res.value, rel=1e-9, abs=1e-14)


# ---------------------------------------------------------------- level distance

def test_level_distance_squared_norm():
    for d in (1e-4, 0.3, 2.0):
        res = level_distance(lambda y: float(y @ y), np.zeros(3), d, grad=lambda y: 2 * y)
        assert res.value == pytest.approx(np.sqrt(d), rel=1e-9)
        assert float(res.nearest @ res.nearest) >= d * (1 - 1e-15)


def test_level_distance_linear():
    a = np.array([3.0, 4.0])
    res = level_distance(lambda y: float(a @ y), [1.0, 1.0], np.array([0.5, 5.0]), grad=lambda y: a)
    assert np.allclose(res.value, [0.1, 1.0], rtol=1e-9)


def test_level_distance_empty_level_set_is_inf():
    f = lambda y: float(np.exp(-y @ y))
    res = level_distance(f, [0.0, 0.0], 2.0, max_radius=50.0)
    assert res.value == np.inf and res.nearest is None


def test_level_distance_quadratic_exact():
    q = Quadratic(np.diag([-4.0, 1.0]))
    res = level_distance(q, [0.0, 0.0], 0.5)
    assert res.exact and res.value == pytest.approx(np.sqrt(2 * 0.5 / 4.0), rel=1e-14)


def test_duality_at_unbalanced_minimum():
    # f°(x, f¯(x, d)) = d on ½(xy-1)² at (2, ½) (PAPER.md: to 1e-7).
    x = [2.0, 0.5]
    for d in (1e-6, 1e-3, 0.1):
        dist = level_distance(sxy, x, d, grad=sxy_grad).value
        back = max_variation(sxy, x, dist, grad=sxy_grad).value
        assert back == pytest.approx(d, rel=1e-7)
        assert max_variation(sxy, x, dist * (1 - 1e-6), grad=sxy_grad).value < d


def test_level_distance_profile_nonincreasing_in_flatness():
    res = level_distance(sxy, [1.0, 1.0], np.array([0.1, 1e-4, 1e-2]), grad=sxy_grad)
    assert res.value[1] < res.value[2] < res.value[0]


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(x=[np.nan, 1.0], radius=0.1), ValueError, "x"),
    (dict(x=[[1.0, 1.0]], radius=0.1), ValueError, "x"),
    (dict(x=[1.0, 1.0], radius=-0.1), ValueError, "radius"),
    (dict(x=[1.0, 1.0], radius=np.inf), ValueError, "radius"),
    (dict(x=[1.0, 1.0], radius=[[0.1]]), ValueError, "radius"),
    (dict(x=[1.0, 1.0], radius=0.1, side="left"), ValueError, "side"),
    (dict(x=[1.0, 1.0], radius=0.1, grad=lambda y: np.zeros(3)), ValueError, "grad"),
    (dict(x=[1.0, 1.0], radius=0.1, grad=lambda y: np.full(2, np.nan)), ValueError, "grad"),
    (dict(x=[1.0, 1.0], radius=0.1, rng="seed"), TypeError, "rng"),
    (dict(x=[1.0, 1.0], radius=0.1, lipschitz=-1.0), ValueError, "lipschitz"),
])
def test_bad_input_names_the_argument(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        max_variation(sxy, **kwargs)


@pytest.mark.parametrize("f, exc, word", [
    (lambda y: np.nan, ValueError, "f returned nan"),
    (lambda y: np.inf, ValueError, "f returned inf"),
    (lambda y: np.array([1.0, 2.0]), TypeError, "f must return a scalar"),
    (lambda y: "a", TypeError, "f must return a real scalar"),
    (3.0, TypeError, "f must be callable"),
])
def test_bad_function_raises(f, exc, word):
    with pytest.raises(exc, match=word):
        max_variation(f, [0.0, 0.0], 0.1)


def test_nan_inside_the_ball_is_reported():
    def f(y):  # NaN beyond y0 > 1
        with np.errstate(invalid="ignore"):
            return float(np.log(1.0 - y[0]))
    with pytest.raises(ValueError, match="f returned"):
        max_variation(f, [0.5], 2.0)


@pytest.mark.parametrize("bad", ["0.1", "abc", ["0.1", "0.2"], np.array(["0.1"]), b"0.1"])
def test_strings_are_refused_like_abc(bad):
    # numpy turns "0.1" into 0.1 silently while "abc" raises: both must give the same TypeError
    # naming the argument (a check that only rejected unparsable strings would pass "0.1").
    f = lambda y: float(y @ y)
    with pytest.raises(TypeError, match="radius"):
        max_variation(f, [0.0, 0.0], bad)
    with pytest.raises(TypeError, match="delta"):
        level_distance(f, [0.0, 0.0], bad)
    with pytest.raises(TypeError, match="lipschitz"):
        max_variation(f, [0.0, 0.0], 0.1, lipschitz=bad)
    with pytest.raises(TypeError, match="rtol"):
        max_variation(f, [0.0, 0.0], 0.1, lipschitz=1.0, rtol=bad)
    with pytest.raises(TypeError, match="x"):
        max_variation(f, bad, 0.1)


@pytest.mark.parametrize("kwargs, word", [(dict(rtol=0.0), "rtol"), (dict(rtol=np.nan), "rtol"),
                                          (dict(atol=-1.0), "atol"), (dict(max_evals=0), "max_evals"),
                                          (dict(max_evals=1.5), "max_evals"), (dict(hess_bound=[1.0]), "hess_bound")])
def test_bad_bracket_arguments(kwargs, word):
    with pytest.raises((ValueError, TypeError), match=word):
        max_variation(sxy, [1.0, 1.0], 0.1, lipschitz=1.0, **kwargs)


@pytest.mark.parametrize("delta", [0.0, -1.0, np.nan])
def test_level_distance_bad_delta(delta):
    with pytest.raises(ValueError, match="delta"):
        level_distance(sxy, [1.0, 1.0], delta)


def test_user_starts_are_used_and_checked():
    Q = np.diag([1.0, 5.0, 2.0])
    f = lambda y: float(0.5 * y @ Q @ y)
    res = max_variation(f, np.zeros(3), 0.2, grad=lambda y: Q @ y, n_starts=0, starts=[[0.0, 1.0, 0.0]])
    assert res.value == pytest.approx(0.5 * 5 * 0.04, rel=1e-12)
    with pytest.raises(ValueError, match="starts"):
        max_variation(f, np.zeros(3), 0.2, starts=[[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="starts"):
        max_variation(f, np.zeros(3), 0.2, starts=[[1.0, 0.0]])


def test_vectorized_matches_scalar():
    fv = lambda Y: 0.5 * (Y[:, 0] * Y[:, 1] - 1.0) ** 2
    a = max_variation(fv, [2.0, 0.5], np.array([0.01, 0.1, 0.5]), vectorized=True)
    b = max_variation(sxy, [2.0, 0.5], np.array([0.01, 0.1, 0.5]))
    assert np.allclose(a.value, b.value, rtol=1e-9)
    with pytest.raises(TypeError, match="f"):
        max_variation(lambda Y: 1.0, [2.0, 0.5], 0.1, vectorized=True)
