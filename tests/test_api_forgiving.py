"""Issue 15 §3: an API that a newcomer gets right the first time.

* ``max_variation`` without ``grad`` in more than 50 dimensions warns (the cost and the ``grad=``
  remedy), or raises with ``allow_finite_differences=False``;
* the curvature functions take ``f`` with ``grad=`` / ``hvp=`` like ``max_variation``, and ``f``
  passed where a product is expected is refused up front;
* every result with a value behaves as that number in arithmetic;
* ``fl.problems`` and ``fl.networks`` are attributes of the package, loaded on first access;
* ``converged`` means what a reader thinks (the README tour's call).

Reference values are closed forms derived here.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import flatlib as fl
from flatlib import calculus, sharpness
from flatlib.profiles import FiniteDifferenceWarning


def sxy(z):
    return 0.5 * (z[0] * z[1] - 1.0) ** 2


def sxy_grad(z):
    return (z[0] * z[1] - 1.0) * np.array([z[1], z[0]])


# ---------------------------------------------------------------- finite differences in high dimension

def quad60():
    d = np.linspace(1.0, 2.0, 60)
    return (lambda y: float(0.5 * np.sum(d * y * y))), (lambda y: d * y), d


def test_no_grad_in_60_dimensions_warns_once_with_the_cost_and_the_remedy():
    # ½ Σ d_i y_i² at 0: f° = ½ max(d) r² = r². Catches: the silent fall back to differences (the
    # issue's 582 s on the MLP), a warning per gradient evaluation instead of one per call, and a
    # warning that does not say what to do.
    f, g, d = quad60()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = fl.max_variation(f, np.zeros(60), 0.1, n_starts=1, max_iter=5)
    fd = [w for w in rec if issubclass(w.category, FiniteDifferenceWarning)]
    assert len(fd) == 1
    msg = str(fd[0].message)
    assert "n = 60" in msg and "2n = 120" in msg and "grad=" in msg
    assert fd[0].filename == __file__  # points at the caller's line
    assert res.value <= 0.5 * 2.0 * 0.01 * (1 + 1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning with grad, or when allowed, or at n <= 50
        fl.max_variation(f, np.zeros(60), 0.1, grad=g, n_starts=1, max_iter=5)
        fl.max_variation(f, np.zeros(60), 0.1, n_starts=1, max_iter=5, allow_finite_differences=True)
        fl.max_variation(lambda y: float(y @ y), np.zeros(50), 0.1, n_starts=1, max_iter=5)


def test_no_grad_refused_when_finite_differences_are_not_allowed():
    f, g, d = quad60()
    with pytest.raises(TypeError, match="grad"):
        fl.max_variation(f, np.zeros(60), 0.1, allow_finite_differences=False)
    with pytest.raises(TypeError, match="grad"):  # in any dimension
        fl.max_variation(sxy, [1.0, 1.0], 0.1, allow_finite_differences=False)
    with pytest.raises(TypeError, match="allow_finite_differences"):
        fl.max_variation(sxy, [1.0, 1.0], 0.1, allow_finite_differences="no")
    res = fl.max_variation(f, np.zeros(60), 0.1, grad=g, allow_finite_differences=False)
    assert res.value == pytest.approx(0.5 * 2.0 * 0.01, rel=1e-9)
    with pytest.warns(FiniteDifferenceWarning):
        fl.level_distance(f, np.zeros(60), 1e-4, n_starts=1)


# ---------------------------------------------------------------- curvature from f, grad= or hvp=

H2 = np.array([[4.25, 1.0], [1.0, 0.3]])  # any symmetric matrix; eigenvalues in closed form below
LAM = 0.5 * (4.55 + np.sqrt((4.25 - 0.3) ** 2 + 4.0)), 0.5 * (4.55 - np.sqrt((4.25 - 0.3) ** 2 + 4.0))


def q2(y):
    return float(0.5 * y @ H2 @ y + y[0] ** 3 / 6.0)  # Hessian at 0: H2 (the cubic adds y_1 e_1e_1ᵀ)


def q2_grad(y):
    return H2 @ y + np.array([0.5 * y[0] ** 2, 0.0])


def q2_hvp(y, v):
    return H2 @ v + np.array([y[0] * v[0], 0.0])


@pytest.mark.parametrize("how", ["grad", "hvp", "legacy", "f alone", "hess"])
def test_curvature_functions_take_f_with_grad_or_hvp(how):
    # λ_max, λ_min and the trace of H2 = ∇²q2(0), in closed form: (tr ± √((a-c)² + 4b²))/2, 4.55.
    # Catches: f read as an hvp (the "takes 2 positional arguments but 3 were given"),
    # grad= ignored, a wrong difference quotient (a factor 2, a one-sided step).
    kw = {"grad": dict(grad=q2_grad), "hvp": dict(hvp=q2_hvp), "legacy": {}, "f alone": {},
          "hess": dict(hess=lambda y: H2 + np.diag([y[0], 0.0]))}[how]
    first = q2_hvp if how == "legacy" else q2
    tol = 1e-6 if how == "f alone" else 1e-8
    x = np.zeros(2)
    assert fl.hessian_lambda_max(first, x, **kw).value == pytest.approx(LAM[0], abs=tol)
    assert fl.hessian_lambda_min(first, x, **kw).value == pytest.approx(LAM[1], abs=tol)
    assert fl.hessian_trace(first, x, **kw).value == pytest.approx(4.55, abs=tol)


def test_f_where_an_hvp_is_expected_is_refused_up_front():
    calls = []

    def f(y):
        calls.append(1)
        return q2(y)
    for fn in (fl.hessian_lambda_max, fl.hessian_lambda_min, fl.hessian_trace):
        with pytest.raises(TypeError, match="hvp must be a function hvp\\(x, v\\).*is it f"):
            fn(None, np.zeros(2), hvp=f)
        with pytest.raises(TypeError, match="needs f"):
            fn(None, np.zeros(2))
    assert calls == []  # refused before any evaluation
    with pytest.raises(TypeError, match="allow_finite_differences"):
        fl.hessian_lambda_max(q2, np.zeros(2), allow_finite_differences=False)


def test_curvature_of_f_alone_warns_in_high_dimension():
    f, g, d = quad60()
    with pytest.warns(FiniteDifferenceWarning, match="grad= or hvp="):
        lam = fl.hessian_lambda_max(f, np.zeros(60), assemble_max_n=60)
    assert lam.value == pytest.approx(2.0, abs=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fl.hessian_lambda_max(f, np.zeros(60), grad=g).value == pytest.approx(2.0, abs=1e-8)


# ---------------------------------------------------------------- results are numbers

def scalar_results():
    """One result of every type with a value, and that value computed independently."""
    lin = lambda y: float(3.0 * y[0] - 4.0 * y[1])
    H = np.diag([2.0, 1.0])
    yield fl.max_variation(lin, [0.0, 0.0], 0.5), 2.5                            # |a| r
    yield fl.level_distance(lambda y: float(y @ y), [0.0, 0.0], 0.25, grad=lambda y: 2 * y), 0.5
    yield fl.hessian_lambda_max(lambda x, v: H @ v, np.zeros(2)), 2.0
    yield fl.hessian_trace(lambda x, v: H @ v, np.zeros(2)), 3.0
    yield fl.trust_region_max(H, np.zeros(2), 1.0, full_output=True), 1.0        # ½ λ_max r²
    yield fl.Quadratic(H).max_variation_with_bound([0.0, 0.0], 1.0), 1.0
    yield sharpness.epsilon_sharpness(lambda y: 0.5 * y @ y, np.zeros(2), 0.1, percent=False), 0.01
    yield sharpness.sam_sharpness(lin, np.zeros(2), 0.1, grad=lambda y: np.array([3.0, -4.0])), 0.5
    yield sharpness.sublevel_volume(lambda y: 0.5 * y @ y, np.zeros(2), 0.5, box_halfwidth=1.5,
                                    grid=301), np.pi
    yield calculus.directional_constant(None, np.zeros(3), dirderiv=lambda u: float(np.abs(u).sum())), np.sqrt(3)
    yield calculus.separable_max_variation(lambda s: s, lambda s: 2 * s, 0.5), 0.5 * np.sqrt(5)


@pytest.mark.parametrize("res, ref", list(scalar_results()), ids=lambda v: type(v).__name__)
def test_every_result_with_a_value_is_a_number(res, ref):
    # Catches: a result type left out of the protocol (the issue: `0.5 * lam` raised TypeError).
    v = res.value
    assert v == pytest.approx(ref, rel=1e-2)          # the value itself (grid/sampling tolerances)
    assert float(res) == float(v)
    assert 0.5 * res == 0.5 * v and res * 2 == 2 * v and res / 4 == v / 4 and 1 / res == 1 / v
    assert res + 1 == v + 1 and 1 - res == 1 - v and -res == -v and abs(res) == abs(v)
    assert res ** 2 == v ** 2 and (res > v / 2) and (res <= v) and round(res, 3) == round(v, 3)
    assert np.asarray(res) == v and np.sqrt(res) == np.sqrt(v) and np.float64(2.0) * res == 2 * v
    assert f"{res:.3f}" == f"{v:.3f}"
    assert res - res == 0.0                            # two results combine too


def test_a_profile_result_is_an_array_in_arithmetic():
    res = fl.max_variation(lambda y: float(3.0 * y[0] - 4.0 * y[1]), [0.0, 0.0], [0.1, 0.2])
    np.testing.assert_allclose(2 * res, [1.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(res), [0.5, 1.0], rtol=1e-12)
    with pytest.raises(TypeError, match="use its .value"):
        float(res)


# ---------------------------------------------------------------- the upper layers as attributes

def test_problems_and_networks_are_attributes_loaded_on_first_access():
    code = ("import sys, flatlib as fl\n"
            "before = sorted(m for m in sys.modules if m.startswith(('flatlib.problems', 'flatlib.networks')))\n"
            "p, n = fl.problems, fl.networks\n"
            "print(before, p.__name__, n.__name__, 'problems' in dir(fl), hasattr(p, 'ScalarFactorization'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "flatlib.problems", "flatlib.networks", "True", "True"]
    with pytest.raises(AttributeError, match="nonexistent"):
        fl.nonexistent


# ---------------------------------------------------------------- converged

def test_the_readme_tour_converges_and_says_it_is_not_certified():
    # ½(xy - 1)² at (1, 1), r = 0.1 < 1/√2: f° = ½(√2 r + r²/2)² (test_profiles.py). The issue saw
    # converged=False next to this value. Now: the ascents met their tolerance (converged), but no
    # constant was given, so nothing certifies the lower bound (certified=False, status 'local').
    res = fl.max_variation(sxy, [1.0, 1.0], 0.1)
    assert res.value == pytest.approx(0.5 * (np.sqrt(2) * 0.1 + 0.005) ** 2, rel=1e-9)
    assert res.converged is True and res.certified is False and res.status == "local"
    text = repr(res)
    assert "converged=True" in text and "certified=False" in text and "lower bound" in text
    # an ascent stopped by max_iter is not converged
    capped = fl.max_variation(sxy, [1.0, 1.0], 0.1, max_iter=1)
    assert capped.converged is False and "max_iter" in capped.message
    # a closed bracket is converged and certified; a budget stop is neither
    L = (np.sqrt(2) * 0.1 + 0.005) * (np.sqrt(2) + 0.1)  # |xy - 1| |(y, x)| on the ball
    res = fl.max_variation(sxy, [1.0, 1.0], 0.1, grad=sxy_grad, lipschitz=L)
    assert res.converged and res.certified and res.status == "converged"
    res = fl.max_variation(sxy, [1.0, 1.0], 0.1, grad=sxy_grad, lipschitz=L, max_evals=30)
    assert not res.converged and not res.certified and res.status == "budget"
