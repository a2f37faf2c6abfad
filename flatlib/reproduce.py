"""Headless execution of the notebooks with papermill: ``python -m flatlib reproduce``.

Executed copies go to ``build/notebooks/`` (git-ignored) and figures to ``figures/``.
``--inplace`` instead refreshes the committed notebooks in ``notebooks/`` (with
their default parameters, papermill's timing metadata stripped): that is how the
reference outputs that nbval compares against are produced.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebooks_dir():
    return Path(os.environ.get("FLATLIB_NOTEBOOKS_DIR", ROOT / "notebooks"))


def find_notebooks(names=()):
    nbdir = notebooks_dir()
    allnb = sorted(p for p in nbdir.glob("*.ipynb") if not p.name.startswith("."))
    if not names:
        return allnb
    out = []
    for name in names:
        hits = [p for p in allnb if p.stem == name or p.name == name or p.stem.startswith(name)]
        if not hits:
            raise SystemExit(f"error: no notebook matches {name!r} in {nbdir} "
                             f"(have: {', '.join(p.stem for p in allnb) or 'none'})")
        out += [h for h in hits if h not in out]
    return out


def parse_params(items):
    params = {}
    for item in items or ():
        if "=" not in item:
            raise SystemExit(f"error: -p expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        try:
            params[k.strip()] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            params[k.strip()] = v
    return params


def strip_notebook(path):
    """Remove papermill's per-cell timing metadata and execution timestamps."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.get("cell_type") == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, path)


def run_one(nb_path, out_path, params, figures, timeout, log_path=None):
    """Execute one notebook; return (name, seconds, error message or None).

    The kernel's own stderr (start-up chatter) goes to ``log_path`` instead of the
    terminal, so that the progress lines stay readable; a failure names the log.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    os.environ["MPLBACKEND"] = "Agg"
    os.environ["FLATLIB_FIGURES_DIR"] = str(figures)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    t0 = time.perf_counter()
    err = None
    saved = None
    if log_path is not None:
        sys.stderr.flush()
        saved = os.dup(2)
        log = open(log_path, "w")
        os.dup2(log.fileno(), 2)
    try:
        pm.execute_notebook(str(nb_path), str(out_path), parameters=params, kernel_name="python3",
                            cwd=str(nb_path.parent), progress_bar=False, log_output=False,
                            execution_timeout=timeout, report_mode=False)
    except PapermillExecutionError as exc:
        err = f"cell {exc.exec_count} ({exc.ename}: {exc.evalue})"
    except Exception as exc:  # kernel died, timeout, bad notebook
        err = f"{type(exc).__name__}: {exc}"
    finally:
        if saved is not None:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            log.close()
    if err and log_path is not None:
        err += f"; kernel log: {log_path}"
    return nb_path.stem, time.perf_counter() - t0, err


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m flatlib reproduce",
                                 description="Execute the notebooks headlessly and write every figure.")
    ap.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="notebooks run in parallel processes")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                    help="override a value of the notebooks' 'parameters' cell (Python literal)")
    ap.add_argument("--inplace", action="store_true",
                    help="refresh the committed notebooks (default parameters only)")
    ap.add_argument("--output-dir", default=str(ROOT / "build" / "notebooks"))
    ap.add_argument("--figures-dir", default=None,
                    help="default: figures/ (build/figures/ when -p overrides parameters, so that the "
                         "committed figures keep their default parameters)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    params = parse_params(args.param)
    if args.inplace and params:
        ap.error("--inplace refreshes the committed notebooks with their default parameters; drop -p")
    notebooks = find_notebooks(args.names)
    if not notebooks:
        print("no notebooks to run in", notebooks_dir())
        return 0
    if args.figures_dir is not None:
        figures = Path(args.figures_dir)
    elif os.environ.get("FLATLIB_FIGURES_DIR"):
        figures = Path(os.environ["FLATLIB_FIGURES_DIR"])
    else:
        figures = ROOT / ("build/figures" if params else "figures")
    figures.mkdir(parents=True, exist_ok=True)
    outdir = Path(args.output_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for nb in notebooks:
        out = nb if args.inplace else outdir / nb.name
        jobs.append((nb, out, params, figures, args.timeout, outdir / f"{nb.stem}.log"))
    print(f"executing {len(jobs)} notebook(s) with {args.jobs} job(s); figures -> {figures}", flush=True)
    t0 = time.perf_counter()
    failures = []
    if args.jobs == 1 or len(jobs) == 1:
        results = (run_one(*j) for j in jobs)
        for name, secs, err in results:
            failures += _report(name, secs, err)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as ex:
            futs = [ex.submit(run_one, *j) for j in jobs]
            for fut in as_completed(futs):
                name, secs, err = fut.result()
                failures += _report(name, secs, err)
    if args.inplace:
        for nb, out, *_ in jobs:
            strip_notebook(out)
    total = time.perf_counter() - t0
    if failures:
        print(f"FAILED {len(failures)} of {len(jobs)} notebook(s) in {total:.1f} s: {', '.join(failures)}",
              flush=True)
        return 1
    print(f"all {len(jobs)} notebook(s) executed in {total:.1f} s", flush=True)
    return 0


def _report(name, secs, err):
    if err:
        print(f"  FAIL {name:<32} {secs:7.1f} s  {err}", flush=True)
        return [name]
    print(f"  ok   {name:<32} {secs:7.1f} s", flush=True)
    return []


if __name__ == "__main__":
    sys.exit(main())
