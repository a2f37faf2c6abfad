"""flatlib.networks.ranking: Jiang et al.'s granulated Kendall coefficient and within-group tau,
against a brute-force reference written here (groups formed by hand, tau-b by pair counting)."""
import itertools

import numpy as np
from kendall_ref import tau_b
import pytest

from flatlib.networks.ranking import granulated_kendall, kendall_tau_ci, within_group_tau


def _design(seed, levels=(3, 2, 2), reps=1):
    rng = np.random.default_rng(seed)
    rows = [c for c in itertools.product(*(range(k) for k in levels)) for _ in range(reps)]
    H = np.array(rows)
    # a gap and a measure with axis effects of different signs, plus noise (and some ties)
    gap = H @ np.array([1.0, -0.5, 0.3]) + 0.3 * rng.standard_normal(len(rows))
    meas = np.round(H @ np.array([0.8, 0.7, -0.2]) + 0.3 * rng.standard_normal(len(rows)), 1)
    return H, meas, gap


def _reference_psi(H, meas, gap):
    k, n_axes = H.shape
    psi = {}
    for a in range(n_axes):
        others = [b for b in range(n_axes) if b != a]
        taus = []
        for key in sorted({tuple(H[j, others]) for j in range(k)}):
            idx = [j for j in range(k) if tuple(H[j, others]) == key]
            ys = [gap[j] for j in idx]
            if len(set(ys)) == 1:
                continue                                  # nothing to rank
            t = tau_b([meas[j] for j in idx], ys)
            taus.append(0.0 if t is None else t)          # a constant measure ranks nothing
        psi[a] = (sum(taus) / len(taus), len(taus))
    return psi


@pytest.mark.parametrize("seed", range(4))
def test_psi_matches_the_brute_force_definition(seed):
    H, meas, gap = _design(seed, reps=1 + seed % 2)
    ref = _reference_psi(H, meas, gap)
    names = ["w", "lr", "b"]
    res = granulated_kendall(meas, gap, {n: H[:, i] for i, n in enumerate(names)}, n_boot=200, rng=seed)
    for i, n in enumerate(names):
        assert abs(res.psi[n] - ref[i][0]) < 1e-12 and res.n_groups[n] == ref[i][1]
        lo, hi = res.psi_ci[n]
        assert lo <= res.psi[n] + 1e-12 and res.psi[n] - 1e-12 <= hi
    assert abs(res.Psi - np.mean([ref[i][0] for i in range(3)])) < 1e-12
    # Psi over a subset of the axes
    sub = granulated_kendall(meas, gap, {n: H[:, i] for i, n in enumerate(names)}, average_over=["w", "b"],
                             n_boot=10)
    assert abs(sub.Psi - (ref[0][0] + ref[2][0]) / 2) < 1e-12


def test_psi_is_blind_to_confounding_that_fools_pooled_tau():
    # the measure tracks only the width; the gap falls with the width but, within each width,
    # rises with the learning rate: pooled tau is strongly negative, psi_lr exactly 0
    w = np.repeat([1, 2, 3], 4)
    lr = np.tile([1, 2, 3, 4], 3)
    gap = -10.0 * w + lr
    meas = 1.0 * w + 0.0 * lr
    res = granulated_kendall(meas, gap, {"w": w, "lr": lr}, n_boot=50)
    # along w (lr fixed) the measure rises and the gap falls; along lr (w fixed) the measure is
    # constant, which counts as tau = 0 in each of the 3 groups
    assert res.psi == {"w": -1.0, "lr": 0.0} and res.n_groups == {"w": 4, "lr": 3} and res.Psi == -0.5
    assert kendall_tau_ci(meas, gap, n_boot=10)[0] < -0.7
    # a group whose gap is constant is left out
    res2 = granulated_kendall([1, 2, 3, 4], [5, 5, 1, 2], {"a": [0, 1, 0, 1], "b": [0, 0, 1, 1]}, n_boot=10)
    assert res2.n_groups["a"] == 1 and res2.psi["a"] == 1.0


def test_within_group_tau_matches_per_group_pair_counts():
    rng = np.random.default_rng(2)
    lab = rng.integers(0, 3, 40)
    x, y = rng.standard_normal(40), rng.standard_normal(40)
    out = within_group_tau(x, y, lab, n_boot=100, rng=0)
    for v, (t, lo, hi, n) in out.items():
        idx = lab == v
        assert n == idx.sum() and abs(t - tau_b(list(x[idx]), list(y[idx]))) < 1e-12
        assert -1 <= lo <= t <= hi <= 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        granulated_kendall([1, 2, 3], [1, 2], {"a": [0, 1, 2]})
    with pytest.raises(ValueError, match="hyper"):
        granulated_kendall([1, 2, 3], [1, 2, 3], {"a": [0, 1]})
    with pytest.raises(TypeError, match="hyper"):
        granulated_kendall([1, 2, 3], [1, 2, 3], {})
    with pytest.raises(ValueError, match="average_over"):
        granulated_kendall([1, 2, 3], [1, 2, 3], {"a": [0, 1, 2]}, average_over=["b"])
    with pytest.raises(ValueError, match="labels"):
        within_group_tau([1, 2, 3], [1, 2, 3], [0, 1])
