"""A test of the tests: the profile, calculus-rule and quadratic tests must fail on broken solvers.

Each target file is run in a subprocess (``python -m pytest FILE -p sabotage_plugin``) with
flatlib's solvers sabotaged by ``tests/sabotage_plugin.py`` (see there):

* ``half``: every maximal variation is returned halved;
* ``zero``: every maximal variation is returned as 0;
* ``outside``: the returned maximizer is moved out of the ball (value kept);

plus a control run (``none``: the same wrappers, results passed through unchanged) that must
pass, so that the failures are the sabotage's doing. Every sabotage must make at least one test fail in every
target file. The table of failures (per sabotage, per file) and the names of the failing
tests are printed (``pytest -s`` shows them).

This is part of ``make test`` (it runs under ``pytest tests``). The four runs go in parallel
(two at a time: CI has two cores); a failing Hypothesis test stops at its first failing
example (no shrinking), so the sabotaged runs are shorter than the control. The slowest
tests of the target files are left out (``SLOW``; they run unpatched in the main suite).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TARGETS = [p for p in ("tests/test_profiles.py", "tests/test_calculus_rules.py",
                       "tests/test_quadratic_exact.py") if (ROOT / p).exists()]
SABOTAGES = ("half", "zero", "outside")
# every caller must see the sabotage: these names must have been replaced in each run
ENTRY_POINTS = ("flatlib.max_variation", "flatlib.profiles.max_variation", "flatlib.preorder.max_variation",
                "flatlib.trust_region_max", "flatlib.quadratic.trust_region_max",
                "flatlib.quadratic.Quadratic.max_variation")
# Left out of these runs (they run unpatched in the main suite): the slowest tests of the
# control run, measured (2 cores shared by ~10 processes, so ~4x an idle machine): the 2-D
# polar grid of the quadratic tests 298 s, the separable-sum tests 21 s and 12 s, the
# level distance near the hard case 10 s; the rest of the three files took 70 s there. Every
# sabotage is still caught by many other tests of each file.
SLOW = ("test_trust_region_max_2d_polar_grid", "test_separable_sum_quadratics_exact",
        "test_separable_sum_at_pair_of_minima", "test_quadratic_level_distance_near_hard_case")
TIMEOUT = 900  # seconds per run


def run_suite(mode):
    """Run the target files under one sabotage (``none``: the control).

    Returns ``(seconds, exit code, {file: [failed test names]}, [other FAILED/ERROR lines],
    pytest's summary line, [names the plugin replaced], the CompletedProcess)``."""
    env = dict(os.environ, FLATLIB_SABOTAGE=mode, OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(TESTS)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("PYTEST_ADDOPTS", None)  # the command line below is the whole configuration
    cmd = [sys.executable, "-m", "pytest", *TARGETS, "-q", "-p", "no:cacheprovider",
           "-p", "sabotage_plugin", "--tb=no", "-rfE", "-o", "addopts=", "--color=no",
           "-k", " and ".join(f"not {name}" for name in SLOW)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    dt = time.perf_counter() - t0
    failed = {t: [] for t in TARGETS}
    errors = []
    for line in proc.stdout.splitlines():
        m = re.match(r"(FAILED|ERROR) (\S+?)(::(\S+))?( - .*)?$", line)
        if not m:
            continue
        path = m.group(2)
        if m.group(1) == "FAILED" and path in failed:
            failed[path].append(m.group(4))
        else:
            errors.append(line)
    lines = proc.stdout.strip().splitlines()
    stats = [ln for ln in lines if re.search(r"\b(passed|failed|error|errors|deselected)\b.* in [\d.]+s", ln)]
    summary = stats[-1] if stats else proc.stderr[-2000:]
    replaced = next((ln.split("replaced:", 1)[1].split() for ln in lines
                     if ln.startswith(f"flatlib sabotage: {mode};")), [])
    return dt, proc.returncode, failed, errors, summary, replaced, proc


@pytest.fixture(scope="module")
def runs():
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(("none",) + SABOTAGES, pool.map(run_suite, ("none",) + SABOTAGES)))
    print("\nsabotage   " + "  ".join(f"{Path(t).stem:>22}" for t in TARGETS) + "    time  pytest summary")
    for mode, (dt, rc, failed, errors, summary, _, _) in results.items():
        cells = "  ".join(f"{len(failed[t]):>22d}" for t in TARGETS)
        print(f"{mode:<9}  {cells}  {dt:6.1f}s  {summary}")
    for mode in SABOTAGES:
        failed = results[mode][2]
        for t in TARGETS:
            print(f"\n[{mode}] {t}: {len(failed[t])} failed")
            for name in failed[t]:
                print(f"    {name}")
    return results


def test_control_run_passes(runs):
    # catches: a plugin that breaks the suite by itself (then failures prove nothing), a
    # target file that fails without sabotage, an entry point the plugin no longer wraps.
    dt, rc, failed, errors, summary, replaced, proc = runs["none"]
    assert set(ENTRY_POINTS) <= set(replaced), f"entry points not wrapped: {set(ENTRY_POINTS) - set(replaced)}"
    assert rc == 0, f"control run failed: {summary}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    assert not errors and not any(failed.values())


@pytest.mark.parametrize("mode", SABOTAGES)
def test_each_sabotage_fails_every_target(runs, mode):
    # catches: a target file whose checks cannot fail for this broken solver (e.g. lower
    # bounds compared with <=, or two numbers from the same solver compared with each other).
    dt, rc, failed, errors, summary, replaced, proc = runs[mode]
    assert set(ENTRY_POINTS) <= set(replaced), f"entry points not sabotaged: {set(ENTRY_POINTS) - set(replaced)}"
    assert rc == 1, f"pytest exit code {rc} under sabotage {mode!r} (1 = some tests failed): {summary}\n{proc.stderr[-2000:]}"
    assert not errors, f"collection or setup errors under sabotage {mode!r}: {errors}"
    for t in TARGETS:
        assert failed[t], f"no test of {t} fails when the solver is sabotaged ({mode})"
