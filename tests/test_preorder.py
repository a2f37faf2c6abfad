"""Flatness order/constant and the flatness preorder, against closed forms."""
from fractions import Fraction

import numpy as np
import pytest

from flatlib import Quadratic, compare_flatness, flatness_order


def sxy(z):
    return 0.5 * (z[0] * z[1] - 1.0) ** 2


@pytest.mark.parametrize("p, c", [(2, 1.0), (1, 3.0), (4, 0.5), (3, 2.0), (1.5, 1.0)])
def test_power_functions_at_zero(p, c):
    # f = c|y|^p at 0: f°(0, r) = c r^p exactly.
    res = flatness_order(lambda y: c * abs(y[0]) ** p, [0.0])
    assert res.order == pytest.approx(p, abs=1e-6)
    assert res.constant == pytest.approx(c, rel=1e-5)
    assert res.order_rational == Fraction(p).limit_denominator(6)
    assert res.constant_at_rational == pytest.approx(c, rel=1e-6)
    assert res.residual < 1e-6


def test_order_at_minima_of_scalar_factorization():
    # At (a, 1/a): Hessian [[1/a², 1], [1, a²]], λ_max = a² + 1/a², f° ~ ½(a² + 1/a²) r².
    for a in (1.0, 2.0):
        res = flatness_order(sxy, [a, 1 / a], radii=np.geomspace(1e-5, 1e-3, 5))
        assert res.order_rational == 2
        assert res.constant_at_rational == pytest.approx(0.5 * (a * a + 1 / a ** 2), rel=1e-3)


def test_order_at_non_critical_point_is_one():
    res = flatness_order(lambda y: float(np.sin(y[0]) + y[1] ** 2), [0.3, 0.5],
                         radii=np.geomspace(1e-6, 1e-4, 5))
    assert res.order_rational == 1
    assert res.constant_at_rational == pytest.approx(np.hypot(np.cos(0.3), 1.0), rel=1e-4)


def test_constant_function_has_infinite_order():
    res = flatness_order(lambda y: 1.0, [0.0, 0.0])
    assert res.order == np.inf and res.order_rational is None


def test_balanced_minimum_is_flatter_in_every_mode():
    for mode in ("eventual", "strong", "asymptotic"):
        res = compare_flatness(sxy, [1.0, 1.0], [2.0, 0.5], mode=mode)
        assert res.sign == -1, mode
        res = compare_flatness(sxy, [2.0, 0.5], [1.0, 1.0], mode=mode)
        assert res.sign == 1, mode


def test_symmetric_points_tie():
    # (x, y) -> (y, x) is an isometry preserving f: the profiles at (2, ½) and (½, 2) coincide.
    res = compare_flatness(sxy, [2.0, 0.5], [0.5, 2.0], rtol=1e-7)
    assert res.sign == 0
    np.testing.assert_allclose(res.profile_x, res.profile_y, rtol=1e-8)


def test_degenerate_minima_asymptotic_mode():
    # f = y⁴(1 + x²): at (t, 0) f° ~ (1 + t²) r⁴: same order 4, ratio of constants 1/2.
    f = lambda z: z[1] ** 4 * (1 + z[0] ** 2)
    res = compare_flatness(f, [0.0, 0.0], [1.0, 0.0], mode="asymptotic")
    assert res.sign == -1
    assert res.ratio[0] == pytest.approx(0.5, rel=1e-2)


def test_higher_order_is_flatter_asymptotically():
    # One function, two minima: x⁴ near x = 0 (order 4) and 1e-3 (x-10)² near x = 10 (order 2).
    # r⁴ < 1e-3 r² iff r < 0.0316: the order-4 point is flatter as r -> 0 whatever the constants.
    F = lambda z: z[0] ** 4 if z[0] < 5 else 1e-3 * (z[0] - 10) ** 2
    res = compare_flatness(F, [0.0], [10.0], mode="asymptotic")
    assert res.sign == -1 and "orders differ" in res.message
    # on the grid 1e-3..1e-1 the quadratic point is flatter beyond r ~ 0.03: the eventual
    # comparison sees the crossing and declines to order them
    assert compare_flatness(F, [0.0], [10.0], mode="eventual").sign is None


def test_exact_quadratic_preorder():
    q = Quadratic(np.diag([1.0, 3.0]))
    res = compare_flatness(q, [0.0, 0.0], [0.0, 1.0], mode="strong")
    # at (0,1) the gradient (0,3) makes f° ~ 3r: sharper at every radius
    assert res.sign == -1


@pytest.mark.parametrize("kwargs, word", [
    (dict(mode="sideways"), "mode"),
    (dict(rtol=-1.0), "rtol"),
    (dict(radii=[0.1, -0.2]), "radii"),
])
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        compare_flatness(sxy, [1.0, 1.0], [2.0, 0.5], **kwargs)


def test_mismatched_points():
    with pytest.raises(ValueError, match="y"):
        compare_flatness(sxy, [1.0, 1.0], [2.0, 0.5, 1.0])


def _osc(t, phase):
    return 0.0 if t == 0.0 else t * t * (2.0 + np.sin(np.log(abs(t)) + phase))


def test_oscillating_profiles_have_no_settled_leading_term():
    # F = min(g_0(t), g_pi(t - 1)), g_phi(t) = t²(2 + sin(log|t| + phi)): F°(0, r) = r²(2 + sin log r)
    # and F°(1, r) = r²(2 - sin log r); their ratio oscillates in [1/3, 3] with no limit.
    F = lambda y: min(_osc(y[0], 0.0), _osc(y[0] - 1.0, np.pi))
    for k in (7, 9):  # smallest radius where sin log r = +1 or -1
        grid = np.geomspace(np.exp(-k * np.pi / 2), 1e-1, 21)
        res = compare_flatness(F, [0.0], [1.0], mode="asymptotic", radii=grid)
        assert res.sign is None, res.message
        fo = flatness_order(F, [0.0], radii=grid)
        assert not fo.settled and fo.order_rational is None
        # local slope 2 + cos s/(2 + sin s) sweeps [2 - 1/sqrt(3), 2 + 1/sqrt(3)]
        assert fo.local_slopes.max() - fo.local_slopes.min() > 0.5
