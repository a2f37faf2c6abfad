"""The certified grid bracket: it contains the closed forms, and the local search stays inside it."""
import numpy as np
import pytest

from flatlib import max_variation
from flatlib.certify import certified_max_variation


def sxy(z):
    return 0.5 * (z[..., 0] * z[..., 1] - 1.0) ** 2


def test_bracket_contains_closed_form_and_local_search():
    # at (1, 1), r < 1/sqrt(2): f° = ½(√2 r + r²/2)² (derived in tests/test_profiles.py).
    # Lipschitz constant on the ball: |∇f| = |xy - 1| |(y, x)| <= (√2 r + r²/2)(√2 + r).
    r = 0.3
    exact = 0.5 * (np.sqrt(2) * r + 0.5 * r * r) ** 2
    L = (np.sqrt(2) * r + 0.5 * r * r) * (np.sqrt(2) + r)
    b = certified_max_variation(sxy, [1.0, 1.0], r, lipschitz=L, points_per_axis=401, vectorized=True)
    assert b.lower <= exact <= b.upper
    assert b.width == pytest.approx(L * b.spacing * np.sqrt(2) / 2, rel=1e-6)
    mv = max_variation(sxy, [1.0, 1.0], r, vectorized=True)
    assert b.lower <= mv.value * (1 + 1e-12) and mv.value <= b.upper
    assert np.linalg.norm(b.argmax - 1.0) <= r


@pytest.mark.parametrize("n", [1, 2, 3])
def test_nonsmooth_max_coordinate(n):
    # max_i y_i at 0: f° = r; Lipschitz constant 1.
    f = lambda y: float(np.max(y))
    b = certified_max_variation(f, np.zeros(n), 0.4, lipschitz=1.0, points_per_axis=41 if n == 3 else 101)
    assert b.lower - 1e-12 <= 0.4 <= b.upper
    assert max_variation(f, np.zeros(n), 0.4).value <= b.upper


def test_radius_zero_and_bad_input():
    b = certified_max_variation(sxy, [1.0, 1.0], 0.0, lipschitz=1.0, vectorized=True)
    assert b.lower == b.upper == 0.0
    with pytest.raises(ValueError, match="dimension"):
        certified_max_variation(lambda y: 0.0, np.zeros(4), 0.1, lipschitz=1.0)
    with pytest.raises(ValueError, match="lipschitz"):
        certified_max_variation(lambda y: 0.0, np.zeros(2), 0.1, lipschitz=0.0)
    with pytest.raises(ValueError, match="max_points"):
        certified_max_variation(lambda y: 0.0, np.zeros(3), 0.1, lipschitz=1.0, points_per_axis=1000)
    with pytest.raises(ValueError, match="f returned"):
        certified_max_variation(lambda y: np.nan, np.zeros(2), 0.1, lipschitz=1.0)


@pytest.mark.parametrize("x", [[1.0, 1.0], [2.0, 0.5]])
def test_grid_bracket_and_branch_and_bound_agree(x):
    # Two independent certified brackets of the same f°: the grid (certified_max_variation) and
    # max_variation's branch and bound. Both contain f°, so they must intersect; a wrong bound
    # in either (e.g. an upper end below the other's attained lower end) makes them disjoint.
    # Lipschitz constant on B(x, r): |∇f| = |xy - 1| |(y, x)| <= (|x| r + r²/2)(|x| + r).
    r = 0.25
    nx = np.linalg.norm(x)
    L = (nx * r + r * r / 2) * (nx + r)
    grid = certified_max_variation(sxy, x, r, lipschitz=L, points_per_axis=401, vectorized=True)
    bb = max_variation(sxy, x, r, lipschitz=L, vectorized=True)
    assert bb.converged
    assert max(grid.lower, bb.value) <= min(grid.upper, bb.upper) * (1 + 1e-12)
    # the closed branch and bound is the narrower of the two here
    assert bb.upper - bb.value < grid.width
