r"""Sweeps: a picklable function mapped over configurations through any executor.

:func:`sweep` runs ``fn(config)`` for every configuration, independently, through any
:class:`concurrent.futures.Executor` (a process pool by default, or a
``dask.distributed`` client's ``get_executor()``), with progress lines on stderr (or a log
file) and the results in configuration order.
"""
from __future__ import annotations

import numbers
import os
import sys
import time

import numpy as np

__all__ = ["sweep"]


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


def sweep(configs, fn=None, *, executor=None, jobs=None, progress=True, label="sweep"):
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
        One line per finished run: ``True`` on ``sys.stderr`` (never stdout), a path
        (appended to) or a stream.  In a notebook, stderr is part of the cell's
        outputs that nbval compares, and the lines carry timings: there pass a log
        path, or run the sweep in a cell whose first line is ``# NBVAL_IGNORE_OUTPUT``.
    label : str
        Prefix of the progress lines.

    Returns
    -------
    list
        ``fn(config)`` for every configuration, in the order of ``configs``
        (whatever the completion order).  An exception of one run is re-raised with
        a note naming its index.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as ex:
    ...     sweep([3, 1, 2], abs, executor=ex, progress=False)
    [3, 1, 2]
    >>> sweep([-1, 2], abs, jobs=1, progress=False)
    [1, 2]
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    configs = list(configs)
    if fn is None:
        from .training import train_from_config as fn
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if jobs is not None:
        jobs = _pos_int(jobs, "jobs")
    n = len(configs)
    t0 = time.perf_counter()

    write = _line_writer(progress)

    def report(done, i):
        if write is not None:
            write(f"{label}: {done}/{n} done (run {i}, {time.perf_counter() - t0:.1f} s)")

    results = [None] * n
    if executor is None and (jobs == 1 or n <= 1):
        for i, c in enumerate(configs):
            try:
                results[i] = fn(c)
            except Exception as exc:
                exc.add_note(f"sweep: raised by run {i} (config {c!r})")
                raise
            report(i + 1, i)
        return results
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1)
    if not hasattr(executor, "submit"):
        raise TypeError(f"executor must have a submit method (concurrent.futures.Executor), "
                        f"got {type(executor).__name__}")
    try:
        futs = {executor.submit(fn, c): i for i, c in enumerate(configs)}
        pending = set(futs)
        done_count = 0
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fu in done:
                i = futs[fu]
                try:
                    results[i] = fu.result()
                except Exception as exc:
                    for other in pending:
                        other.cancel()
                    exc.add_note(f"sweep: raised by run {i} (config {configs[i]!r})")
                    raise
                done_count += 1
                report(done_count, i)
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    return results
