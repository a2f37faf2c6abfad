"""flatlib.networks.robustness: the input gradient against central differences, and the PGD robust
accuracy against the closed form of a two-class linear classifier (an input is broken within ε
exactly when its margin (w_y - w_c)ᵀx + b_y - b_c is below ε ||w_y - w_c||)."""
import numpy as np
import pytest

from flatlib.networks import MLP
from flatlib.networks.robustness import input_gradient, pgd_robust_accuracy


def test_input_gradient_matches_central_differences():
    rng = np.random.default_rng(4)
    net = MLP((5, 7, 6, 3), rng.standard_normal((4, 5)), rng.integers(0, 3, 4))
    th = net.init(rng)
    X, y = rng.standard_normal((9, 5)), rng.integers(0, 3, 9)
    loss, G, logits = input_gradient(net, th, X, y)
    # the loss: cross-entropy of each row, from the logits written out here
    z = net.predict(th, X)
    assert np.allclose(loss, np.log(np.exp(z).sum(1)) - z[np.arange(9), y], rtol=1e-12)
    h = 1e-6
    for j in range(5):
        e = np.zeros(5)
        e[j] = h
        fd = (input_gradient(net, th, X + e, y)[0] - input_gradient(net, th, X - e, y)[0]) / (2 * h)
        assert np.allclose(fd, G[:, j], atol=1e-7), j


@pytest.mark.parametrize("seed", range(3))
def test_pgd_matches_the_linear_two_class_closed_form(seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((500, 3)), rng.integers(0, 2, 500)
    net = MLP((3, 2), X, y)
    W, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    th = net.pack([(W, b)])
    d = W[0] - W[1]
    sgn = np.where(y == 0, 1.0, -1.0)
    margin = sgn * (X @ d + b[0] - b[1]) / np.linalg.norm(d)
    eps = [0.0, 0.1, 0.4, 1.0]
    got = pgd_robust_accuracy(net, th, X, y, eps)
    expect = [float(np.mean(margin > e)) for e in eps]
    assert got.tolist() == expect
    # a weaker attack (one tiny step) breaks fewer inputs: the result is an upper bound
    weak = pgd_robust_accuracy(net, th, X, y, 1.0, steps=1, step_size=0.05)
    assert weak >= expect[-1] and weak > expect[-1]


def test_robust_accuracy_decreases_with_eps_and_starts_at_clean_accuracy():
    rng = np.random.default_rng(1)
    net = MLP((4, 8, 3), rng.standard_normal((30, 4)), rng.integers(0, 3, 30))
    th = net.init(rng)
    eps = [0.0, 0.2, 0.5, 1.0, 3.0]
    acc = pgd_robust_accuracy(net, th, net.X, net.labels, eps)
    assert acc[0] == net.accuracy(th)
    assert np.all(np.diff(acc) <= 0)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    net = MLP((3, 2), rng.standard_normal((5, 3)), rng.integers(0, 2, 5))
    th = net.init(0)
    with pytest.raises(ValueError, match="eps"):
        pgd_robust_accuracy(net, th, net.X, net.labels, -0.1)
    with pytest.raises(ValueError, match="eps"):
        pgd_robust_accuracy(net, th, net.X, net.labels, np.nan)
    with pytest.raises(ValueError, match="steps"):
        pgd_robust_accuracy(net, th, net.X, net.labels, 0.1, steps=0)
    with pytest.raises(ValueError, match="X must"):
        pgd_robust_accuracy(net, th, net.X[:, :2], net.labels, 0.1)
    mse = MLP((3, 2), rng.standard_normal((5, 3)), rng.standard_normal((5, 2)), loss="mse")
    with pytest.raises(ValueError, match="cross-entropy"):
        input_gradient(mse, th, net.X, net.labels)
