"""flatlib.networks.search: the batched ascent on a ball against the exact trust-region maximum of
a quadratic (secular equation solved here with numpy/brentq), and the escalation rules of
``ball_max`` (doubling, stopping, cap, evidence) on functions whose maxima are known."""
import numpy as np
import pytest
from scipy.optimize import brentq

from flatlib.networks.search import ball_ascent, ball_max


def _tr_max(A, b, r):
    """max of ½uᵀAu + bᵀu over ||u|| <= r (A symmetric): u = (λI - A)⁻¹b with ||u|| = r and
    λ >= λ_max(A) (the easy case, b not orthogonal to the top eigenvector), or an interior
    critical point when A is negative definite and ||A⁻¹b|| < r."""
    w, V = np.linalg.eigh(A)
    c = V.T @ b
    if w[-1] < 0 and np.linalg.norm(np.linalg.solve(A, -b)) < r:
        u = np.linalg.solve(A, -b)
        return 0.5 * u @ A @ u + b @ u
    phi = lambda lam: np.sqrt(np.sum((c / (lam - w)) ** 2)) - r
    lo = w[-1] + 1e-14 * max(1.0, abs(w[-1]))
    hi = w[-1] + np.linalg.norm(b) / r + 1.0
    lam = brentq(phi, lo, hi, xtol=1e-15, rtol=1e-15)
    u = V @ (c / (lam - w))
    return 0.5 * u @ A @ u + b @ u


@pytest.mark.parametrize("seed", range(4))
def test_ascent_reaches_the_trust_region_maximum_of_a_quadratic(seed):
    rng = np.random.default_rng(seed)
    n = 12
    M = rng.standard_normal((n, n))
    A = 0.5 * (M + M.T)
    b = rng.standard_normal(n)
    r = 0.7
    f = lambda Y: 0.5 * np.einsum("ij,jk,ik->i", Y, A, Y) + Y @ b
    g = lambda Y: Y @ A + b
    res = ball_max(f, g, np.zeros(n), r, n_starts=16, rng=seed)
    ref = _tr_max(A, b, r)
    assert abs(res.value - ref) <= 1e-8 * abs(ref), (res.value, ref)
    u = res.argmax
    assert np.linalg.norm(u) <= r * (1 + 1e-12)
    assert abs(f(u[None])[0] - res.value) <= 1e-12 * abs(ref)       # attained at argmax
    assert res.converged and res.hits >= 1 and res.rounds >= 3          # patience 2: >= 3 rounds


def test_minimization_side():
    rng = np.random.default_rng(7)
    n = 6
    A = np.diag(rng.uniform(-2, 3, n))
    b = rng.standard_normal(n)
    f = lambda Y: 0.5 * np.einsum("ij,jk,ik->i", Y, A, Y) + Y @ b
    g = lambda Y: Y @ A + b
    res = ball_max(f, g, np.zeros(n), 0.5, sign=-1, n_starts=8)
    assert abs(res.value - _tr_max(-A, -b, 0.5)) <= 1e-8 * abs(res.value)


def _spikes(peaks, heights, width):
    """Gaussian spikes on the unit sphere of R^3: φ(u) = Σ h_k exp(-|u - p_k|²/w²)."""
    P, H = np.asarray(peaks, float), np.asarray(heights, float)

    def f(Y):
        return (H * np.exp(-((Y[:, None, :] - P) ** 2).sum(-1) / width ** 2)).sum(-1)

    def g(Y):
        E = H * np.exp(-((Y[:, None, :] - P) ** 2).sum(-1) / width ** 2)
        return -2 / width ** 2 * (E[:, :, None] * (Y[:, None, :] - P)).sum(1)
    return f, g


def test_escalation_doubles_until_two_calm_rounds_and_reports_it():
    # one wide bump (found by every start) and a narrow higher spike (rarely): the doubling
    # continues while the spike keeps being found better, and stops after two calm rounds
    f, g = _spikes([[1, 0, 0], [0, 0, 1]], [1.0, 2.0], 0.25)
    res = ball_max(f, g, np.zeros(3), 1.0, n_starts=4, rng=3)
    starts = [s for s, _ in res.history]
    assert starts[0] == 4 and all(b == 2 * a for a, b in zip(starts, starts[1:]))   # doubling
    best = [v for _, v in res.history]
    gains = [(b - a) / b for a, b in zip(best, best[1:])]
    assert res.converged and len(gains) >= 2 and max(gains[-2:]) < 5e-3
    top = f(np.array([[0.0, 0, 1]]))[0] - f(np.zeros((1, 3)))[0]       # the spike's top, minus f(0)
    assert abs(res.value - top) < 1e-9
    assert res.starts == starts[-1] and res.last_improvement == pytest.approx(gains[-1])


def test_an_improving_round_resets_the_patience():
    # the spike is first found in round 2 (a 50% gain): the escalation must then run two more
    # calm rounds, not stop after the second round
    f, g = _spikes([[1, 0, 0], [0, 0, 1]], [1.0, 2.0], 0.15)
    res = ball_max(f, g, np.zeros(3), 1.0, n_starts=2, rng=7)
    best = [v for _, v in res.history]
    gains = [(b - a) / b for a, b in zip(best, best[1:])]
    assert gains[0] > 0.4 and res.rounds == 4 and max(gains[1:]) < 5e-3 and res.converged


def test_cap_stops_the_escalation_and_says_so():
    f, g = _spikes([[1, 0, 0], [0, 0, 1], [0, 1, 0], [-1, 0, 0]], [1.0, 1.5, 2.0, 2.5], 0.05)
    res = ball_max(f, g, np.zeros(3), 1.0, n_starts=2, max_starts=6, patience=5, rng=0)
    assert not res.converged and res.starts <= 6


def test_target_stops_at_the_first_point_reaching_it():
    f, g = _spikes([[1, 0, 0]], [1.0], 0.5)
    res = ball_max(f, g, np.zeros(3), 1.0, n_starts=4, target=0.5)
    assert res.converged and res.rounds == 1 and res.value >= 0.5


def test_structured_starts_are_used_both_signs():
    # a single narrow spike at -e1: a start along +e1 (given) is used with both signs
    f, g = _spikes([[-1, 0, 0]], [1.0], 0.05)
    res = ball_max(f, g, np.zeros(3), 1.0, starts=[[1.0, 0, 0]], n_starts=1, rng=0)
    assert res.value > 0.99 and res.argmax[0] < -0.99


def test_ascent_on_the_sphere_for_a_linear_function():
    a = np.array([3.0, -4.0, 12.0])
    U, v, _ = ball_ascent(lambda Y: Y @ a, lambda Y: np.tile(a, (len(Y), 1)), np.zeros(3), 2.0,
                          np.array([[1.0, 0, 0], [0, 1.0, 0], [-1.0, -1.0, -1.0]]))
    assert np.allclose(v, 26.0, rtol=1e-9)


def test_bad_arguments():
    f, g = _spikes([[1, 0, 0]], [1.0], 0.5)
    for kw, match in ((dict(n_starts=0), "n_starts"), (dict(sign=2), "sign"), (dict(keep=0), "keep"),
                      (dict(patience=0), "patience"), (dict(max_starts=0), "max_starts")):
        with pytest.raises(ValueError, match=match):
            ball_max(f, g, np.zeros(3), 1.0, **kw)
    with pytest.raises(ValueError, match="r must"):
        ball_max(f, g, np.zeros(3), -1.0)
    with pytest.raises(ValueError, match="starts"):
        ball_max(f, g, np.zeros(3), 1.0, starts=[[1.0, 0.0]])
    with pytest.raises(ValueError, match="non-finite"):
        ball_max(lambda Y: np.full(len(Y), np.nan), g, np.zeros(3), 1.0)
