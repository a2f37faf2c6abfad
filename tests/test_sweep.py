"""flatlib.networks.sweep loses nothing: finished results survive a failure, a bad progress path
fails before any run, sys.exit in a worker is an error naming the run, and a resume file lets an
interrupted sweep continue without rerunning finished configurations."""
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from flatlib.networks.sweep import SweepError, config_key, sweep


def _slow_fail(x):
    if x == 3:
        raise ValueError("three")
    return x * 10


def _exit_on(x):
    if x == 2:
        sys.exit(7)
    return x


def _record(x):
    # appends to a log next to the resume file: which configs actually ran
    path, v = x["log"], x["v"]
    with open(path, "a") as fh:
        fh.write(f"{v}\n")
    if v == x.get("crash_at"):
        raise KeyboardInterrupt if x.get("interrupt") else RuntimeError("crash")
    return {"v": v, "sq": v * v}


@pytest.mark.parametrize("jobs", [1, 2])
def test_finished_results_are_kept_when_a_run_fails(jobs):
    with pytest.raises(SweepError) as info:
        sweep([1, 2, 3, 4], _slow_fail, jobs=jobs, progress=False)
    err = info.value
    assert set(err.errors) == {2} and isinstance(err.__cause__, ValueError)
    # serial: the runs before the failure finished; a pool may also finish the others
    assert err.results[:2] == [10, 20] and err.results[2] is None
    assert all(r in (None, 40) for r in err.results[3:])
    out = sweep([1, 2, 3, 4], _slow_fail, jobs=jobs, progress=False, errors="return")
    assert out[:2] == [10, 20] and isinstance(out[2], ValueError) and out[3] == 40


def test_progress_path_is_checked_before_any_run(tmp_path):
    ran = tmp_path / "ran.txt"
    bad = tmp_path / "no_such_dir" / "log.txt"
    with pytest.raises(ValueError, match="progress"):
        sweep([{"log": str(ran), "v": 1}], _record, jobs=1, progress=bad)
    assert not ran.exists()
    with pytest.raises(ValueError, match="resume"):
        sweep([{"log": str(ran), "v": 1}], _record, jobs=1, progress=False, resume=bad)
    assert not ran.exists()


@pytest.mark.parametrize("jobs", [1, 2])
def test_sys_exit_in_a_run_is_an_error_naming_it(jobs):
    with pytest.raises(SweepError) as info:
        sweep([1, 2, 3], _exit_on, jobs=jobs, progress=False)
    cause = info.value.__cause__
    assert isinstance(cause, RuntimeError) and "run 1" in str(cause) and "sys.exit(7)" in str(cause)


def test_resume_skips_finished_configs_and_returns_stored_results(tmp_path):
    log, res = str(tmp_path / "ran.txt"), tmp_path / "done.jsonl"
    cfgs = [{"log": log, "v": v, "crash_at": 3} for v in range(5)]
    with pytest.raises(SweepError):
        sweep(cfgs, _record, jobs=1, progress=False, resume=res)
    assert open(log).read().split() == ["0", "1", "2", "3"]
    lines = [json.loads(line) for line in res.read_text().splitlines()]
    assert [r["result"]["v"] for r in lines] == [0, 1, 2]
    assert lines[0]["key"] == config_key(cfgs[0])
    # a truncated last line (a kill during the write) is ignored
    with open(res, "a") as fh:
        fh.write('{"key": "trunc')
    os.remove(log)
    # rerun with the same configurations: the finished ones are not run again; run 3 fails again
    with pytest.raises(SweepError) as info:
        sweep(cfgs, _record, jobs=1, progress=False, resume=res)
    assert open(log).read().split() == ["3"] and info.value.results[:3] == [{"v": v, "sq": v * v} for v in range(3)]
    os.remove(log)
    fixed = [dict(c, crash_at=None) for c in cfgs]     # other configurations (other keys): all run
    out = sweep(fixed, _record, jobs=1, progress=False, resume=res)
    assert [r["v"] for r in out] == [0, 1, 2, 3, 4]
    assert sorted(int(v) for v in open(log).read().split()) == [0, 1, 2, 3, 4]
    os.remove(log)
    again = sweep(fixed, _record, jobs=2, progress=False, resume=res)
    assert again == out and not os.path.exists(log)                              # nothing reran


def test_resume_after_an_interrupt_in_a_pool(tmp_path):
    log, res = str(tmp_path / "ran.txt"), tmp_path / "done.jsonl"
    cfgs = [{"log": log, "v": v} for v in range(6)]
    first = sweep(cfgs[:3], _record, jobs=2, progress=False, resume=res)
    os.remove(log)
    with ProcessPoolExecutor(2) as ex:
        out = sweep(cfgs, _record, executor=ex, progress=False, resume=res)
    assert out[:3] == first and [r["v"] for r in out] == list(range(6))
    assert sorted(int(v) for v in open(log).read().split()) == [3, 4, 5]


def test_resume_needs_json_results(tmp_path):
    with pytest.raises(TypeError, match="run 0.*JSON"):
        sweep([1], lambda x: {1, 2}, jobs=1, progress=False, resume=tmp_path / "r.jsonl")
