r"""Sweeps: a picklable function mapped over configurations through any executor.

:func:`sweep` runs ``fn(config)`` for every configuration, independently, through any
:class:`concurrent.futures.Executor` (a process pool by default, or a
``dask.distributed`` client's ``get_executor()``), with progress lines on stderr (or a log
file) and the results in configuration order.  A sweep loses nothing: a failed run leaves the
finished results available (:class:`SweepError`), a ``resume`` file keeps every finished run
and lets an interrupted sweep continue, and a worker calling ``sys.exit`` is an error naming its
run.
"""
from __future__ import annotations

import numbers
import os
import sys
import time

import numpy as np

__all__ = ["sweep", "SweepError", "config_key"]


def _pos_int(v, name, allow_zero=False):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if v < (0 if allow_zero else 1):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '>= 1'}, got {v}")
    return int(v)


def _line_writer(progress, name="progress"):
    """``None`` (silent) or a function writing one line, for ``progress`` given as
    ``False``/``None``, ``True`` (``sys.stderr``), a path (appended to) or a writable
    text stream."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return lambda line: print(line, file=sys.stderr, flush=True)
    if isinstance(progress, (str, os.PathLike)):
        path = os.fspath(progress)

        def write(line):
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        return write
    if hasattr(progress, "write"):
        def write_stream(line):
            progress.write(line + "\n")
            if hasattr(progress, "flush"):
                progress.flush()
        return write_stream
    raise TypeError(f"{name} must be None, a bool, a path or a writable stream"
                    f"{' or a callable' if name == 'progress (train)' else ''}, got {type(progress).__name__}")


class SweepError(RuntimeError):
    """A run of :func:`sweep` failed.  ``results`` holds every finished result (``None`` for the
    runs that did not finish), ``errors`` maps run indices to their exceptions; the first
    exception is the ``__cause__``."""

    def __init__(self, message, results, errors):
        super().__init__(message)
        self.results = results
        self.errors = errors


class _Guarded:
    """``fn(config)`` with ``SystemExit`` (a worker calling ``sys.exit``) turned into an error
    that names the run (otherwise a process pool hands it to the caller, which then exits)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, i, config):
        try:
            return self.fn(config)
        except SystemExit as exc:
            raise RuntimeError(f"run {i} (config {config!r}) called sys.exit({exc.code!r})") from None


def config_key(config):
    """Canonical JSON text of a configuration: the key under which :func:`sweep` stores its
    result in a ``resume`` file.

    Examples
    --------
    >>> config_key({"b": (1, 2), "a": None}) == config_key({"a": None, "b": [1, 2]})
    True
    """
    import json

    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=repr)


def _read_resume(path):
    """``{key: result}`` from a JSON-lines resume file (a truncated last line is ignored)."""
    import json

    done = {}
    if not os.path.exists(path):
        return done
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue                      # the line being written when a run was killed
            if isinstance(rec, dict) and "key" in rec and "result" in rec:
                done[rec["key"]] = rec["result"]
    return done


def sweep(configs, fn=None, *, executor=None, jobs=None, progress=True, label="sweep", resume=None,
          errors="raise"):
    """Run ``fn(config)`` for every configuration, independently, through an executor.

    Parameters
    ----------
    configs : sequence
        Picklable arguments, one per run.
    fn : callable, optional
        Picklable (module-level) function of one configuration (default
        :func:`flatlib.networks.train_from_config`).
    executor : concurrent.futures.Executor, optional
        Any executor with ``submit`` returning :class:`concurrent.futures.Future`
        objects: a ``ProcessPoolExecutor``, a ``ThreadPoolExecutor``, or
        ``dask.distributed.Client(...).get_executor()`` for a cluster.  It is not
        shut down.  Default: a ``ProcessPoolExecutor(jobs)`` created and shut down
        here, or in-process serial runs when ``jobs == 1``.
    jobs : int, optional
        Worker processes of the default pool (default ``os.cpu_count()``).
    progress : bool, path or writable stream
        One line per finished run (``k/n done``, the run, the elapsed time and an estimate of
        the time left): ``True`` on ``sys.stderr`` (never stdout), a path (appended to; checked
        before any run starts) or a stream.  In a notebook, stderr is part of the cell's
        outputs that nbval compares, and the lines carry timings: there pass a log
        path, or run the sweep in a cell whose first line is ``# NBVAL_IGNORE_OUTPUT``.
    label : str
        Prefix of the progress lines.
    resume : path, optional
        A JSON-lines file: every finished run is appended to it at once (``{"key", "result"}``,
        the key :func:`config_key`), and the runs whose key is already there are not run again
        (their stored result is returned).  An interrupted sweep restarted with the same file
        continues where it stopped.  The results must then be JSON-serializable.
    errors : {"raise", "return"}
        ``"raise"``: when a run fails, the pending runs are cancelled, the running ones finish,
        and a :class:`SweepError` carries every finished result and the errors (the first
        failure is its ``__cause__``, with a note naming its run).  ``"return"``: every run is
        attempted and a failed run's place in the list holds its exception.

    Returns
    -------
    list
        ``fn(config)`` for every configuration, in the order of ``configs``
        (whatever the completion order).

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as ex:
    ...     sweep([3, 1, 2], abs, executor=ex, progress=False)
    [3, 1, 2]
    >>> sweep([-1, 2], abs, jobs=1, progress=False)
    [1, 2]
    >>> out = sweep([-1, "x", 2], abs, jobs=1, progress=False, errors="return")
    >>> out[0], type(out[1]).__name__, out[2]
    (1, 'TypeError', 2)
    """
    import json
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    configs = list(configs)
    if fn is None:
        from .training import train_from_config as fn
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if jobs is not None:
        jobs = _pos_int(jobs, "jobs")
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
    if isinstance(progress, (str, os.PathLike)):
        try:                                     # a bad path fails now, not after the first run
            with open(progress, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise ValueError(f"progress: cannot append to {os.fspath(progress)!r}: {exc}") from None
    n = len(configs)
    keys = [config_key(c) for c in configs] if resume is not None else None
    stored = {}
    if resume is not None:
        resume = os.fspath(resume)
        try:
            with open(resume, "a+b") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":     # a line cut by a kill: end it, never append to it
                        fh.write(b"\n")
        except OSError as exc:
            raise ValueError(f"resume: cannot append to {resume!r}: {exc}") from None
        stored = _read_resume(resume)
    t0 = time.perf_counter()
    write = _line_writer(progress)
    guarded = _Guarded(fn)
    results = [None] * n
    failures = {}
    todo = []
    for i in range(n):
        if resume is not None and keys[i] in stored:
            results[i] = stored[keys[i]]
        else:
            todo.append(i)
    skipped = n - len(todo)
    if write is not None and skipped:
        write(f"{label}: {skipped}/{n} found in {resume}, {len(todo)} to run")
    count = [skipped]

    def finished(i, value):
        results[i] = value
        if resume is not None:
            try:
                line = json.dumps({"key": keys[i], "result": value})
            except (TypeError, ValueError) as exc:
                raise TypeError(f"resume: the result of run {i} is not JSON-serializable: {exc}") from None
            with open(resume, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        count[0] += 1
        if write is not None:
            el = time.perf_counter() - t0
            ran = count[0] - skipped
            left = el / ran * (n - count[0]) if ran else float("nan")
            write(f"{label}: {count[0]}/{n} done (run {i}, {el:.1f} s, ~{left:.0f} s left)")

    def failed(i, exc):
        exc.add_note(f"sweep: raised by run {i} (config {configs[i]!r})")
        failures[i] = exc
        if errors == "return":
            results[i] = exc

    def outcome():
        if failures and errors == "raise":
            first = min(failures)
            done = sum(r is not None for r in results)
            raise SweepError(f"{len(failures)} of {n} runs failed (first: run {first}: "
                             f"{type(failures[first]).__name__}: {failures[first]}); {done} finished "
                             "results are in .results", results, failures) from failures[first]
        return results

    if executor is None and (jobs == 1 or len(todo) <= 1):
        for i in todo:
            try:
                value = guarded(i, configs[i])
            except Exception as exc:
                failed(i, exc)
                if errors == "raise":
                    break
                continue
            finished(i, value)
        return outcome()
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1)
    if not hasattr(executor, "submit"):
        raise TypeError(f"executor must have a submit method (concurrent.futures.Executor), "
                        f"got {type(executor).__name__}")
    try:
        futs = {executor.submit(guarded, i, configs[i]): i for i in todo}
        pending = set(futs)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fu in done:
                i = futs[fu]
                if fu.cancelled():
                    continue
                try:
                    value = fu.result()
                except Exception as exc:
                    failed(i, exc)
                    if errors == "raise":
                        for other in pending:
                            other.cancel()
                    continue
                finished(i, value)
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    return outcome()
