"""Training (GD, SGD, SAM) and sweeps through executors.

The update rules are checked against step-by-step re-implementations written here from
their definitions; the sweep against serial runs (the same seeds give the same bits).
"""
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from flatlib.networks import MLP, load_digits
from flatlib.networks import model_from_config, sweep, train, train_from_config
from flatlib.networks.sweep import SweepError


def _blobs(N=12, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-1.5, 1, (N // 2, 2)), rng.normal(1.5, 1, (N - N // 2, 2))])
    y = np.repeat([0, 1], [N // 2, N - N // 2])
    return MLP((2, 5, 2), X, y)


def test_gd_is_theta_minus_lr_grad():
    net = _blobs()
    th0 = net.init(1)
    res = train(net, th0, "gd", lr=0.3, steps=7, loss_threshold=0.0)
    th = th0.copy()
    for _ in range(7):
        th = th - 0.3 * net.grad(th)
    assert res.stop_reason == "max_steps" and res.steps == 7
    assert np.allclose(res.theta, th, rtol=1e-14, atol=1e-15)
    assert res.trajectory["step"].tolist() == list(range(8))
    assert np.isclose(res.loss, net.f(res.theta), rtol=1e-14)
    assert res.n_grad_samples == 7 * net.X.shape[0]


def test_sgd_follows_seeded_epoch_permutations():
    # protocol: a fresh permutation rng.permutation(N) per epoch (rng = default_rng(seed)),
    # consecutive batches of batch_size, the last one smaller (N = 10, B = 4: 4, 4, 2).
    net = _blobs(N=10)
    th0 = net.init(2)
    res = train(net, th0, "sgd", lr=0.1, batch_size=4, steps=8, loss_threshold=0.0, seed=5)
    rng = np.random.default_rng(5)
    th = th0.copy()
    batches = []
    while len(batches) < 8:
        perm = rng.permutation(10)
        batches += [perm[0:4], perm[4:8], perm[8:10]]
    for idx in batches[:8]:
        sub = MLP(net.widths, net.X[np.sort(idx)], net.y[np.sort(idx)])
        th = th - 0.1 * sub.grad(th)
    assert np.allclose(res.theta, th, rtol=1e-13, atol=1e-15)
    assert res.n_grad_samples == 4 + 4 + 2 + 4 + 4 + 2 + 4 + 4
    # checks once per epoch (3 updates) and at the end
    assert res.trajectory["step"].tolist() == [0, 3, 6, 8]
    other = train(net, th0, "sgd", lr=0.1, batch_size=4, steps=8, loss_threshold=0.0, seed=6)
    assert not np.allclose(other.theta, res.theta)


def test_sam_one_step_rule():
    # θ⁺ = θ - η ∇f(θ + ρ ∇f(θ)/||∇f(θ)||), full batch
    net = _blobs()
    th0 = net.init(3)
    res = train(net, th0, "sam", lr=0.2, rho=0.1, steps=3, loss_threshold=0.0)
    th = th0.copy()
    for _ in range(3):
        g = net.grad(th)
        th = th - 0.2 * net.grad(th + 0.1 * g / np.linalg.norm(g))
    assert np.allclose(res.theta, th, rtol=1e-13, atol=1e-15)


def test_exact_sam_runs_and_is_reproducible():
    net = _blobs()
    th0 = net.init(4)
    a = train(net, th0, "sam", lr=0.2, rho=0.1, batch_size=6, steps=4, loss_threshold=0.0, exact_sam=True, seed=1)
    b = train(net, th0, "sam", lr=0.2, rho=0.1, batch_size=6, steps=4, loss_threshold=0.0, exact_sam=True, seed=1)
    one = train(net, th0, "sam", lr=0.2, rho=0.1, batch_size=6, steps=4, loss_threshold=0.0, seed=1)
    assert np.array_equal(a.theta, b.theta)
    assert not np.allclose(a.theta, one.theta)        # the exact inner step is a different point
    assert a.loss < net.f(th0)


def test_stops_at_loss_threshold_on_digits():
    res = train_from_config({"n_train": 100, "hidden": (16,), "lr": 0.2, "steps": 1000, "loss_threshold": 0.01})
    model, Xte, yte = model_from_config({"n_train": 100, "hidden": (16,)})
    assert res.stop_reason == "loss_threshold" and res.converged
    loss = model.f(res.theta)                                 # recomputed independently
    assert loss <= 0.01 and np.isclose(loss, res.loss, rtol=1e-13)
    assert res.trajectory["loss"][-2] > 0.01                  # it stopped at the first check below
    assert res.accuracy == 1.0
    assert np.isclose(res.extra["test_accuracy"], np.mean(np.argmax(model.predict(res.theta, Xte), 1) == yte))
    assert np.isclose(res.extra["gap_error"], 1.0 - res.extra["test_accuracy"])
    assert res.extra["gap_loss"] > 0


def test_divergence_is_reported_not_raised():
    net = _blobs()
    res = train(net, net.init(0), "gd", lr=1e200, steps=50, loss_threshold=0.0)
    assert res.stop_reason == "diverged"
    assert np.all(np.isfinite(res.theta)) and res.steps < 50


def test_lambda_max_tracking_matches_dense_eigenvalues():
    net = _blobs()
    assert net.n > 16                        # Lanczos path of hessian_lambda_max, not the dense one
    res = train(net, net.init(0), "gd", lr=0.3, steps=20, loss_threshold=0.0, track_lambda_max=10)
    lam = res.trajectory["lambda_max"]
    assert np.isnan(lam[1]) and not np.isnan(lam[10]) and not np.isnan(lam[-1])
    assert np.isclose(lam[-1], np.linalg.eigvalsh(net.hess(res.theta))[-1], rtol=1e-7)


def test_train_bad_arguments():
    net = _blobs()
    th = net.init(0)
    with pytest.raises(ValueError, match="method"):
        train(net, th, "adam")
    with pytest.raises(ValueError, match="lr"):
        train(net, th, "gd", lr=-0.1)
    with pytest.raises(ValueError, match="batch_size is required"):
        train(net, th, "sgd")
    with pytest.raises(ValueError, match="batch_size"):
        train(net, th, "sgd", batch_size=100)
    with pytest.raises(ValueError, match="theta0"):
        train(net, th[:-1])
    with pytest.raises(ValueError, match="theta0"):
        train(net, np.full(net.n, np.nan))
    with pytest.raises(ValueError, match="unknown keys"):
        train_from_config({"learning_rate": 0.1})


# ---------------------------------------------------------------------------
# sweeps
# ---------------------------------------------------------------------------

CONFIGS = [
    {"n_train": 60, "hidden": (8,), "lr": lr, "steps": 40, "method": m, "batch_size": bs, "seed": s}
    for lr, m, bs, s in [(0.3, "gd", None, 0), (0.1, "sgd", 16, 1), (0.2, "sam", 20, 2), (0.05, "sgd", 8, 3)]
]


def _same(a, b):
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.config == rb.config
        assert np.array_equal(ra.theta, rb.theta)
        assert np.array_equal(ra.trajectory["loss"], rb.trajectory["loss"])
        assert ra.extra["test_loss"] == rb.extra["test_loss"]


@pytest.fixture(scope="module")
def serial():
    load_digits(60, 0)     # warm the data cache before forking workers
    return sweep(CONFIGS, jobs=1, progress=False)


def test_sweep_serial_keeps_order(serial):
    assert [r.config["lr"] for r in serial] == [c["lr"] for c in CONFIGS]
    assert [r.config["method"] for r in serial] == [c["method"] for c in CONFIGS]


def test_sweep_process_pool_matches_serial(serial, capsys):
    with ProcessPoolExecutor(2) as ex:
        par = sweep(CONFIGS, executor=ex, progress=True, label="pool")
    _same(serial, par)
    out, err = capsys.readouterr()
    assert out == ""                              # progress never on stdout
    assert err.count("pool: ") == len(CONFIGS) and f"{len(CONFIGS)}/{len(CONFIGS)} done" in err


def test_sweep_default_pool_matches_serial(serial):
    _same(serial, sweep(CONFIGS, jobs=2, progress=False))


def test_sweep_dask_matches_serial(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        res = sweep(CONFIGS, executor=client.get_executor(), progress=False)
    _same(serial, res)


def _fail_on_two(x):
    if x == 2:
        raise ArithmeticError("two")
    return x


def test_sweep_reraises_with_the_run_index():
    with pytest.raises(SweepError, match="run 1") as info:
        sweep([1, 2, 3], _fail_on_two, jobs=1, progress=False)
    cause = info.value.__cause__
    assert isinstance(cause, ArithmeticError) and any("run 1" in note for note in cause.__notes__)
    with pytest.raises(TypeError, match="fn"):
        sweep([1], 3)


def test_progress_to_a_log_file_keeps_outputs_clean(tmp_path, capsys):
    log = tmp_path / "sweep.log"
    assert sweep([1, -2], abs, jobs=1, progress=log, label="s") == [1, 2]
    net = _blobs()
    seen = []
    train(net, net.init(0), "gd", lr=0.3, steps=3, loss_threshold=0.0, progress=lambda *a: seen.append(a))
    train(net, net.init(0), "gd", lr=0.3, steps=3, loss_threshold=0.0, progress=str(log))
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    lines = log.read_text().splitlines()
    assert lines[0].startswith("s: 1/2 done") and lines[1].startswith("s: 2/2 done")
    assert lines[-1].startswith("train[gd lr=0.3]: step 3 loss")
    assert [s for s, _, _ in seen] == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="progress"):
        sweep([1], abs, jobs=1, progress=3)


def test_exact_sam_inner_point_is_the_trust_region_maximizer():
    # A linear least-squares model is a quadratic f(θ + ε) = f(θ) + gᵀε + ½ εᵀHε with H ≻ 0.
    # One full-batch exact-SAM step θ₁ = θ₀ - η ∇f(y) reveals its inner point:
    # y - θ₀ = H⁻¹((θ₀ - θ₁)/η - g). The maximizer of f on the ball of radius ρ is, independently,
    # ε(λ) = (λI - H)⁻¹ g on the sphere, with λ > λ_max(H) solving ||ε(λ)|| = ρ (secular equation).
    from scipy.optimize import brentq
    rng = np.random.default_rng(7)
    N, d, m = 15, 3, 2
    X, Y = rng.standard_normal((N, d)), rng.standard_normal((N, m))
    net = MLP((d, m), X, Y, loss="mse")
    th0 = rng.standard_normal(net.n)
    lr, rho = 0.1, 0.3
    res = train(net, th0, "sam", lr=lr, rho=rho, steps=1, loss_threshold=0.0, exact_sam=True, seed=0)
    H, g = net.hess(th0), net.grad(th0)
    eps_found = np.linalg.solve(H, (th0 - res.theta) / lr - g)
    w, V = np.linalg.eigh(H)
    gt = V.T @ g
    lam = brentq(lambda s: np.linalg.norm(gt / (s - w)) - rho, w[-1] + 1e-12, w[-1] + 10 * np.linalg.norm(g) / rho + 10)
    eps_star = V @ (gt / (lam - w))
    assert np.linalg.norm(eps_found) <= rho * (1 + 1e-8)      # the inner point is in the ball
    gain = lambda e: g @ e + 0.5 * e @ H @ e
    assert gain(eps_found) >= gain(eps_star) * (1 - 1e-5)     # and attains the maximum (tol 1e-6 inner search)
    assert np.linalg.norm(eps_found - eps_star) <= 1e-2 * rho
