r"""The network study: train digits networks over a grid of hyperparameters and measure each one.

One *run* (:func:`study_row`) trains an :class:`~flatlib.networks.MLP` from its configuration
(:func:`~flatlib.networks.train_from_config`; all runs stop at the same training
cross-entropy, the protocol of Jiang et al. 2020), then records

* the outcomes ``train_loss``, ``train_error``, ``test_loss``, ``test_error``, ``gap_loss``
  (test − train loss), ``gap_error`` (test − train error);
* every measure of :data:`~flatlib.networks.measures.MEASURES` at ``θ`` and at ``balance(θ)``
  as ``raw_<name>`` and ``balanced_<name>`` (:func:`~flatlib.networks.network_measures` with its
  defaults: the settings of the study live there), and the evidence of every searched value
  (``ev_<kind>_<name>_starts``, ``_hits``, ``_gain``, ``_converged``; ``_lower`` for ``fbar``);
* the robust accuracy on the test images under the L2 PGD attack at the two radii of
  :data:`ROBUST_EPS` (``robust_acc_eps1``, ``robust_acc_eps2``).

The grid (:data:`STUDY_AXES`, :func:`study_configs`) varies six axes: width, depth, learning
rate, batch size (full-batch GD or minibatch SGD), training-set size and seed, as a full
factorial design, so that the granulated Kendall coefficient of Jiang et al.
(:func:`~flatlib.networks.ranking.granulated_kendall`) compares nets that differ in one
hyperparameter only.

:func:`run_study` maps :func:`study_row` over the grid with :func:`~flatlib.networks.sweep`
(a process pool, progress lines, a resume file: an interrupted study continues where it
stopped) and writes ``results/network_study.csv`` (one row per net; the hyperparameter columns
are named exactly as the keys of the configuration) and ``results/network_study.json``
(versions, settings, commit, wall time).  ``make study`` runs it:
``python -m flatlib.networks --jobs 2``.
"""
from __future__ import annotations

import csv
import itertools
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

__all__ = ["STUDY_AXES", "STUDY_BASE", "ROBUST_EPS", "STRONG_SEARCH", "ORBIT", "study_configs", "study_row",
           "strength_row", "orbit_point", "run_study", "read_study", "config_from_row", "train_and_measure", "CONFIG_KEYS",
           "OUTCOMES"]

#: The varied hyperparameters and their values (a full factorial grid: 3·2·3·2·3·2 = 216 nets).
STUDY_AXES = {
    "width": (8, 16, 32),
    "depth": (1, 2),
    "lr": (0.03, 0.1, 0.3),
    "batch_size": (None, 32),          # None: full-batch GD; 32: minibatch SGD
    "n_train": (50, 75, 100),
    "seed": (0, 1),                    # initialization and minibatch order
}

#: The fixed part of every configuration (keys of :data:`~flatlib.networks.training.DEFAULT_CONFIG`).
STUDY_BASE = dict(data_seed=0, loss="cross_entropy", rho=0.05, steps=40000, loss_threshold=0.01,
                  exact_sam=False, sam_starts=2, eval_every=1, track_lambda_max=False)

#: The two radii of the L2 PGD attack on the (standardized) test images, and its steps.
ROBUST_EPS = (0.5, 1.0)
ROBUST_STEPS = 20

#: The 10x stronger search of the strength check: ten times the random starts in every round
#: and ten times the cap, fresh random starts (another seed), a tolerance 100x tighter; the same
#: structured starts (gradient, top eigenvector, warm starts).
STRONG_SEARCH = dict(n_starts=320, max_starts=20480, tol=1e-12, rng=20260)

#: The net, directions and positions of the orbit-flatness table (results/orbit_flatness.csv):
#: the balanced point of one study net, walked along ``rescale(θ_b, exp(t u))`` for unit
#: log-scale directions ``u`` drawn with ``default_rng(ORBIT["direction_seed"])``.
ORBIT = dict(config=dict(n_train=100, hidden=(16,), lr=0.1, method="gd", batch_size=None, init_seed=0, seed=0),
             n_directions=3, direction_seed=1, ts=(-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0), radius=0.5)

CONFIG_KEYS = ("n_train", "data_seed", "hidden", "loss", "init_seed", "method", "lr", "batch_size", "rho",
               "steps", "loss_threshold", "seed", "exact_sam", "sam_starts", "eval_every", "track_lambda_max")
OUTCOMES = ("train_loss", "train_error", "test_loss", "test_error", "gap_loss", "gap_error")


def study_configs(axes=None, base=None):
    """The configurations of the study grid, in a fixed order (the product of the axes).

    Parameters
    ----------
    axes : dict, optional
        Values per axis (default :data:`STUDY_AXES`); keys among ``width``, ``depth``, ``lr``,
        ``batch_size``, ``n_train``, ``seed``.
    base : dict, optional
        Fixed configuration entries (default :data:`STUDY_BASE`).

    Returns
    -------
    list of dict
        Configurations for :func:`~flatlib.networks.train_from_config` (``hidden = (width,) *
        depth``; ``method`` ``"gd"`` or ``"sgd"`` by the batch size; ``init_seed = seed``).

    Examples
    --------
    >>> cs = study_configs()
    >>> len(cs), cs[0]["hidden"], cs[-1]["hidden"], cs[0]["method"], cs[1]["seed"]
    (216, (8,), (32, 32), 'gd', 1)
    >>> len(study_configs({"width": (8,), "depth": (1,), "lr": (0.1,), "batch_size": (None,),
    ...                    "n_train": (50,), "seed": (0, 1)}))
    2
    """
    axes = dict(STUDY_AXES if axes is None else axes)
    base = dict(STUDY_BASE if base is None else base)
    names = ("width", "depth", "lr", "batch_size", "n_train", "seed")
    missing = [a for a in names if a not in axes]
    if missing or set(axes) - set(names):
        raise ValueError(f"axes must have exactly the keys {names}, got {sorted(axes)}")
    out = []
    for w, d, lr, b, n, s in itertools.product(*(axes[a] for a in names)):
        out.append({**base, "n_train": int(n), "hidden": (int(w),) * int(d), "lr": float(lr),
                    "method": "gd" if b is None else "sgd", "batch_size": None if b is None else int(b),
                    "init_seed": int(s), "seed": int(s)})
    return out


def _encode(key, v):
    if v is None:
        return ""
    if key == "hidden":
        return "-".join(str(int(h)) for h in v)
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _decode(key, s):
    if key == "hidden":
        return tuple(int(h) for h in s.split("-"))
    if s == "":
        return None
    if key in ("loss", "method", "stop_reason"):
        return s
    if s in ("True", "False"):
        return s == "True"
    try:
        return int(s)
    except ValueError:
        return float(s)


def config_from_row(row):
    """The configuration of a study row (the columns named as the configuration keys).

    Examples
    --------
    >>> c = study_configs()[5]
    >>> row = {k: _encode(k, v) for k, v in c.items()}
    >>> config_from_row(row) == c
    True
    """
    return {k: (_decode(k, row[k]) if isinstance(row[k], str) else row[k]) for k in CONFIG_KEYS}


def study_row(config, measure_kwargs=None):
    """Train and measure one net of the study: a flat, JSON-serializable row (module docstring).

    Examples
    --------
    >>> row = study_row({**study_configs()[0], "steps": 3}, {"which": ("lambda_max", "trace")})
    >>> row["hidden"], row["stop_reason"], sorted(k for k in row if k.startswith("raw_"))
    ('8', 'max_steps', ['raw_lambda_max', 'raw_trace'])
    """
    from .measures import network_measures
    from .robustness import pgd_robust_accuracy
    from .training import model_from_config, train_from_config

    t0 = time.perf_counter()
    res = train_from_config(config)
    c = res.extra["config"]
    model, Xte, yte = model_from_config(c)
    t1 = time.perf_counter()
    m = network_measures(model, res.theta, **(measure_kwargs or {}))
    rob = pgd_robust_accuracy(model, res.theta, Xte, yte, list(ROBUST_EPS), steps=ROBUST_STEPS)
    ex = res.extra
    row = {k: _encode(k, c[k]) for k in CONFIG_KEYS}
    row.update(width=int(c["hidden"][0]), depth=len(c["hidden"]), n_params=int(model.n),
               steps_done=int(res.steps), stop_reason=res.stop_reason,
               train_loss=float(res.loss), train_error=float(1.0 - res.accuracy), test_loss=float(ex["test_loss"]),
               test_error=float(1.0 - ex["test_accuracy"]), gap_loss=float(ex["gap_loss"]),
               gap_error=float(ex["gap_error"]))
    for kind in ("raw", "balanced"):
        for name, v in getattr(m, kind).items():
            row[f"{kind}_{name}"] = float(v)
    for kind in ("raw", "balanced"):
        for name, ev in m.evidence[kind].items():
            for k, v in ev.items():
                col = {"last_improvement": "gain"}.get(k, k)
                if col in ("starts", "hits", "gain", "converged", "lower", "probes", "residual"):
                    row[f"ev_{kind}_{name}_{col}"] = (bool(v) if col == "converged" else
                                                      int(v) if col in ("starts", "hits", "probes") else float(v))
    row["robust_acc_eps1"], row["robust_acc_eps2"] = (float(v) for v in rob)
    row["seconds_train"] = round(t1 - t0, 2)
    row["seconds_measure"] = round(time.perf_counter() - t1, 2)
    return row


def strength_row(config):
    """The searched measures of one study net with the 10x stronger search :data:`STRONG_SEARCH`
    (the net trained again from its configuration, bit for bit the study's): columns
    ``strong_<kind>_<name>`` and their evidence ``ev_strong_<kind>_<name>_<...>``, next to the
    configuration columns, to be compared with the study's ``<kind>_<name>``.

    Examples
    --------
    >>> sorted(STRONG_SEARCH)
    ['max_starts', 'n_starts', 'rng', 'tol']
    """
    from .measures import SEARCHED, network_measures
    from .training import model_from_config, train_from_config

    t0 = time.perf_counter()
    res = train_from_config(config)
    c = res.extra["config"]
    model, _, _ = model_from_config(c)
    m = network_measures(model, res.theta, which=SEARCHED, **STRONG_SEARCH)
    row = {k: _encode(k, c[k]) for k in CONFIG_KEYS}
    row["train_loss"] = float(res.loss)
    for kind in ("raw", "balanced"):
        for name, v in getattr(m, kind).items():
            row[f"strong_{kind}_{name}"] = float(v)
        for name, ev in m.evidence[kind].items():
            for k, v in ev.items():
                col = {"last_improvement": "gain"}.get(k, k)
                if col in ("starts", "hits", "gain", "converged", "lower"):
                    row[f"ev_strong_{kind}_{name}_{col}"] = (bool(v) if col == "converged" else
                                                             int(v) if col in ("starts", "hits") else float(v))
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def orbit_point(job):
    """One point of the orbit table: ``job = (direction index, t[, strong])``; λ_max and ``f°(·, r₂)``
    (the study's search, or :data:`STRONG_SEARCH` when ``strong``) at ``rescale(balance(θ), exp(t u))``.

    Examples
    --------
    >>> ORBIT["radius"], len(ORBIT["ts"])
    (0.5, 7)
    """
    from .measures import lambda_max, max_variation_net
    from .training import model_from_config, train_from_config

    i, t = job[:2]
    strong = len(job) > 2 and job[2]
    cfg = {**STUDY_BASE, **ORBIT["config"]}
    res = train_from_config(cfg)
    model, _, _ = model_from_config(res.extra["config"])
    tb = model.balance(res.theta)
    U = np.random.default_rng(ORBIT["direction_seed"]).standard_normal((ORBIT["n_directions"], model.n_hidden))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    th = model.rescale(tb, np.exp(t * U[i]))
    lam, vec, _ = lambda_max(model, th)
    sr = max_variation_net(model, th, ORBIT["radius"], starts=[vec], **(STRONG_SEARCH if strong else {}))
    return dict(direction=int(i), t=float(t), lambda_max=float(lam), fcirc=float(sr.value), norm2=float(th @ th),
                starts=int(sr.starts), hits=int(sr.hits), gain=float(sr.last_improvement),
                converged=bool(sr.converged))


def train_and_measure(config, measure_kwargs=None):
    """Train one digits network (:func:`~flatlib.networks.train_from_config`)
    and measure it (:func:`~flatlib.networks.network_measures`).  Module-level, so that
    ``functools.partial(train_and_measure, measure_kwargs=...)`` can be mapped by
    :func:`~flatlib.networks.sweep` in a process pool.

    Returns
    -------
    dict
        ``config``, ``steps``, ``stop_reason``, ``train_loss``, ``train_error``,
        ``test_loss``, ``test_error``, ``gap_loss``, ``gap_error``, ``theta``,
        ``raw`` and ``balanced`` (dicts of measures), ``evidence``.

    Examples
    --------
    >>> out = train_and_measure({"n_train": 100, "hidden": (16,), "lr": 0.5, "steps": 2000},
    ...                         {"which": ("lambda_max",)})
    >>> out["stop_reason"], sorted(out["raw"])
    ('loss_threshold', ['lambda_max'])
    """
    from .measures import network_measures
    from .training import model_from_config, train_from_config

    res = train_from_config(config)
    model, _, _ = model_from_config(res.extra["config"])
    m = network_measures(model, res.theta, **(measure_kwargs or {}))
    ex = res.extra
    return dict(config=ex["config"], steps=res.steps, stop_reason=res.stop_reason,
                train_loss=res.loss, train_error=1.0 - res.accuracy, test_loss=ex["test_loss"],
                test_error=1.0 - ex["test_accuracy"], gap_loss=ex["gap_loss"], gap_error=ex["gap_error"],
                theta=res.theta, raw=m.raw, balanced=m.balanced, evidence=m.evidence)


def _columns(rows):
    first = list(CONFIG_KEYS) + ["width", "depth", "n_params", "steps_done", "stop_reason"] + list(OUTCOMES)
    rest = []
    for r in rows:
        for k in r:
            if k not in first and k not in rest:
                rest.append(k)
    meas = sorted(k for k in rest if k.startswith(("raw_", "balanced_")))
    rob = [k for k in rest if k.startswith("robust_")]
    ev = sorted(k for k in rest if k.startswith("ev_"))
    other = [k for k in rest if k not in meas and k not in rob and k not in ev]
    return first + meas + rob + ev + other


def _fmt(v):
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, bool):
        return "True" if v else "False"
    return "" if v is None else str(v)


def _git_commit():
    """``(commit, whether flatlib/networks differs from it)``; a run from an exported copy of a
    commit (not a git checkout) names it in ``FLATLIB_STUDY_COMMIT``."""
    if os.environ.get("FLATLIB_STUDY_COMMIT"):
        return os.environ["FLATLIB_STUDY_COMMIT"], False
    try:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        out = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "flatlib/networks"],
                               capture_output=True, text=True, timeout=10)
        commit = out.stdout.strip() or None
        return commit, bool(dirty.stdout.strip()) if commit else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def run_study(out="results/network_study.csv", *, configs=None, jobs=2, progress=True, resume=None,
              measure_kwargs=None):
    """Run the study through :func:`~flatlib.networks.sweep` and write the CSV and its JSON.

    Parameters
    ----------
    out : path
        The CSV; the JSON is written next to it (same name, ``.json``).
    configs : list of dict, optional
        Default :func:`study_configs`.
    jobs : int
        Worker processes.
    progress : bool or path
        Progress lines (``sweep``'s ``progress``).
    resume : path, optional
        The JSON-lines file of finished runs (default: ``out`` with ``.partial.jsonl``); an
        interrupted study restarted with the same file skips the finished nets.  It is kept
        after the CSV is written.
    measure_kwargs : dict, optional
        Passed to :func:`~flatlib.networks.network_measures` (only for tests: the study uses its
        defaults).

    Returns
    -------
    list of dict
        The rows, in the order of the configurations.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> cfg = [{**study_configs()[0], "steps": 3}]
    >>> rows = run_study(os.path.join(d, "s.csv"), configs=cfg, jobs=1, progress=False,
    ...                  measure_kwargs={"which": ("trace",)})
    >>> [r["hidden"] for r in read_study(os.path.join(d, "s.csv"))]
    [(8,)]
    """
    import functools

    from .sweep import sweep

    configs = study_configs() if configs is None else list(configs)
    out = os.fspath(out)
    base, _ = os.path.splitext(out)
    if resume is None:
        resume = base + ".partial.jsonl"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    t0 = time.perf_counter()
    fn = functools.partial(study_row, measure_kwargs=measure_kwargs) if measure_kwargs else study_row
    rows = sweep(configs, fn, jobs=jobs, progress=progress, label="study", resume=resume)
    wall = time.perf_counter() - t0
    cols = _columns(rows)
    tmp = out + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([_fmt(r.get(k)) for k in cols])
    os.replace(tmp, out)
    from .measures import SEARCH_DEFAULTS, network_measures
    import inspect

    import scipy

    defaults = {k: v.default for k, v in inspect.signature(network_measures).parameters.items()
                if v.default is not inspect.Parameter.empty and k not in ("which", "balanced")}
    commit, dirty = _git_commit()
    meta = dict(
        csv=os.path.basename(out), rows=len(rows), commit=commit, networks_package_modified=dirty,
        versions=dict(python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__,
                      platform=platform.platform()),
        axes={k: list(v) for k, v in STUDY_AXES.items()},
        grid="the full STUDY_AXES grid" if len(configs) == len(study_configs()) else f"{len(configs)} configs",
        base_config=STUDY_BASE, measure_settings={**defaults, **SEARCH_DEFAULTS, **(measure_kwargs or {})},
        robust_eps=list(ROBUST_EPS), robust_steps=ROBUST_STEPS,
        wall_seconds_this_invocation=round(wall, 1),
        cpu_seconds_all_rows=round(sum(r.get("seconds_train", 0) + r.get("seconds_measure", 0) for r in rows), 1),
        jobs=jobs, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        columns=dict(config="the keys of flatlib.networks.train_from_config's config (hidden as 'w-w', "
                            "None as empty)",
                     outcomes=list(OUTCOMES), measures="raw_<name> at theta, balanced_<name> at balance(theta)",
                     evidence="ev_<kind>_<name>_<starts|hits|gain|converged|lower|probes|residual>",
                     robust="robust_acc_eps1/2: accuracy on the test images under L2 PGD at robust_eps"),
    )
    with open(base + ".json.tmp", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1, default=str)
        fh.write("\n")
    os.replace(base + ".json.tmp", base + ".json")
    return rows


def read_study(path="results/network_study.csv"):
    """Rows of a study CSV with their types restored (configuration keys decoded, numbers as
    float or int, ``converged`` as bool).

    Examples
    --------
    >>> import os
    >>> rows = read_study() if os.path.exists("results/network_study.csv") else [{"hidden": (8,)}]
    >>> isinstance(rows[0]["hidden"], tuple)
    True
    """
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            row = {}
            for k, v in r.items():
                if k in CONFIG_KEYS or k == "stop_reason":
                    row[k] = _decode(k, v) if k != "hidden" else _decode(k, v)
                elif v in ("True", "False"):
                    row[k] = v == "True"
                elif v == "":
                    row[k] = None
                else:
                    try:
                        row[k] = int(v)
                    except ValueError:
                        row[k] = float(v)
            out.append(row)
    return out


def main(argv=None):
    """``python -m flatlib.networks.study [--out PATH] [--jobs N]``: run (or resume) the study."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m flatlib.networks", description=main.__doc__)
    p.add_argument("--out", default="results/network_study.csv")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--resume", default=None, help="JSON-lines file of finished runs (default: OUT.partial.jsonl)")
    p.add_argument("--strength", type=int, default=0, metavar="K",
                   help="instead: the 10x stronger search on K nets drawn from the grid (seed 2026), "
                        "written to OUT (default results/strength_check.csv)")
    p.add_argument("--orbit", action="store_true",
                   help="instead: the orbit-flatness table (ORBIT), written to OUT "
                        "(default results/orbit_flatness.csv)")
    p.add_argument("--orbit-strong", action="store_true",
                   help="instead: the orbit points at t = 0 and t = ±0.25 with the 10x stronger search "
                        "(default OUT results/orbit_flatness_strong.csv)")
    a = p.parse_args(argv)
    if a.orbit or a.orbit_strong:
        from .sweep import sweep

        if a.orbit_strong:
            jobs = [(0, 0.0, True)] + [(i, t, True) for i in range(ORBIT["n_directions"]) for t in (-0.25, 0.25)]
            default = "results/orbit_flatness_strong.csv"
        else:
            jobs = [(0, 0.0)] + [(i, t) for i in range(ORBIT["n_directions"]) for t in ORBIT["ts"] if t != 0.0]
            default = "results/orbit_flatness.csv"
        out = os.path.abspath(a.out if a.out != "results/network_study.csv" else default)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        rows = sweep(jobs, orbit_point, jobs=a.jobs, progress=True, label="orbit",
                     resume=a.resume or os.path.splitext(out)[0] + ".partial.jsonl")
        cols = list(rows[0])
        with open(out, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols)
            for r in rows:
                w.writerow([_fmt(r[k]) for k in cols])
        return 0
    if a.strength:
        from .sweep import sweep

        cs = study_configs()
        pick = sorted(np.random.default_rng(2026).choice(len(cs), a.strength, replace=False).tolist())
        out = os.path.abspath(a.out if a.out != "results/network_study.csv" else "results/strength_check.csv")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        print(f"strength check: grid rows {pick} -> {out}", file=sys.stderr, flush=True)
        rows = sweep([cs[i] for i in pick], strength_row, jobs=a.jobs, progress=True, label="strength",
                     resume=a.resume or os.path.splitext(out)[0] + ".partial.jsonl")
        cols = list(CONFIG_KEYS) + ["grid_index"] + sorted({k for r in rows for k in r} - set(CONFIG_KEYS))
        with open(out, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols)
            for i, r in zip(pick, rows):
                w.writerow([_fmt(i if k == "grid_index" else r.get(k)) for k in cols])
        return 0
    out = os.path.abspath(a.out)
    print(f"network study: {len(study_configs())} nets -> {out} (resumable: rerun the same command)",
          file=sys.stderr, flush=True)
    run_study(out, jobs=a.jobs, progress=True, resume=a.resume)
    print(f"network study: wrote {out} and {os.path.splitext(out)[0] + '.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
