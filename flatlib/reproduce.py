"""Headless execution of the notebooks with papermill: ``python -m flatlib reproduce``.

Executed copies go to ``build/notebooks/`` (git-ignored) and figures to ``figures/``.
``--inplace`` instead refreshes the committed notebooks in ``notebooks/`` (with
their default parameters, papermill's timing metadata stripped): that is how the
reference outputs that nbval compares against are produced.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit code 2, before any kernel starts."""


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


# --- notebook sources (jupytext) and the on-disk format of the committed notebooks -----------
#
# Each committed notebook ``notebooks/NAME.ipynb`` is paired with its source
# ``notebooks/src/NAME.py`` in jupytext's ``py:percent`` format (``notebooks/jupytext.toml``
# declares the pairing, so JupyterLab with jupytext edits both). The source holds the inputs;
# the notebook adds the outputs. ``build_notebook`` brings the inputs of the notebook in line
# with its source, keeping the outputs and the ids of the cells (no spurious diff), and writes
# the file exactly as JupyterLab saves it with the installed kernel, so that opening and saving
# a notebook changes nothing.

SOURCE_FORMAT = "py:percent"
KERNEL_NAME = "python3"
# the text file carries only the cells and their tags: no header, no other metadata
_TEXT_FILTERS = {"notebook_metadata_filter": "-all", "cell_metadata_filter": "tags,-all"}


def sources_dir():
    return notebooks_dir() / "src"


def kernel_metadata(kernel_name=KERNEL_NAME):
    """``(kernelspec, language_info)`` that JupyterLab (and papermill) write into a notebook
    run with the installed kernel ``kernel_name``: the kernelspec's display name and language,
    and the ``language_info`` that ipykernel reports in its ``kernel_info`` reply."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(kernel_name)
    kernelspec = {"display_name": spec.display_name, "language": spec.language, "name": kernel_name}
    from ipykernel.ipkernel import IPythonKernel

    language_info = json.loads(json.dumps(IPythonKernel.language_info))
    return kernelspec, language_info


def canonical_notebook(nb, kernel=None):
    """Normalize ``nb`` in place to the committed form: the installed kernel's metadata, and no
    per-run metadata (papermill's timings and parameters, execution timestamps, empty tag lists
    that papermill adds and that would otherwise reach the source as ``tags=[]``)."""
    kernelspec, language_info = kernel or kernel_metadata()
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = kernelspec
    nb.metadata["language_info"] = language_info
    for cell in nb.cells:
        for key in ("papermill", "execution", "ExecuteTime", "lines_to_next_cell"):
            cell.metadata.pop(key, None)
        if cell.metadata.get("tags", None) == []:
            del cell.metadata["tags"]
        if cell.get("cell_type") == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("execution", None)
    return nb


def write_notebook(nb, path):
    """Write ``nb`` as the Jupyter server saves it (nbformat: sorted keys, indent 1, final newline)."""
    import nbformat

    nbformat.write(nb, str(path), version=nbformat.NO_CONVERT)


def source_text(nb):
    """The ``py:percent`` text of ``nb`` exactly as jupytext writes the paired source."""
    import copy

    import jupytext

    nb = copy.deepcopy(nb)
    nb.metadata = {"jupytext": dict(_TEXT_FILTERS)}
    return jupytext.writes(nb, fmt=SOURCE_FORMAT)


def read_source(path):
    """The cells of a ``py:percent`` source (jupytext)."""
    import jupytext

    return jupytext.read(str(path), fmt=SOURCE_FORMAT)


def cell_key(cell):
    """What a notebook and its source must agree on: cell type, source, tags."""
    return cell.cell_type, cell.source, list(cell.metadata.get("tags", []))


def build_notebook(name, kernel=None):
    """Update ``notebooks/NAME.ipynb`` from ``notebooks/src/NAME.py`` without executing it.

    Inputs (cell types, sources, tags) come from the source; outputs and cell ids come from
    the existing notebook, matched by jupytext (cells whose source changed keep their id and
    their now stale outputs until the next ``reproduce --inplace``). New cells get ids derived
    from the name, position and source, so that building twice gives the same bytes. The
    source is rewritten in jupytext's own layout when it differs (blank lines between cells),
    as ``jupytext --sync`` would. Returns the list of files written.
    """
    import hashlib

    import nbformat
    from jupytext.combine import combine_inputs_with_outputs

    src = sources_dir() / f"{name}.py"
    out = notebooks_dir() / f"{name}.ipynb"
    if not src.exists():
        have = ", ".join(p.stem for p in sorted(sources_dir().glob("*.py"))) or "none"
        raise UsageError(f"no notebook source {src} (have: {have})")
    text_nb = read_source(src)
    if out.exists():
        old = nbformat.read(str(out), as_version=4)
        nb = combine_inputs_with_outputs(text_nb, old)
        old_ids = {c.get("id") for c in old.cells}
    else:
        nb = nbformat.v4.new_notebook(cells=text_nb.cells)
        old_ids = set()
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)
    used = set()
    for i, cell in enumerate(nb.cells):
        if cell.get("id") not in old_ids or cell.get("id") in used:
            digest = hashlib.sha256(f"{name}\0{i}\0{cell.source}".encode()).hexdigest()
            k = 0
            while digest[k:k + 8] in used | old_ids:
                k += 1
            cell["id"] = digest[k:k + 8]
        used.add(cell["id"])
    canonical_notebook(nb, kernel)
    written = []
    before = out.read_bytes() if out.exists() else None
    write_notebook(nb, out)
    if out.read_bytes() != before:
        written.append(out)
    text = source_text(nb)
    if text != src.read_text():
        src.write_text(text)
        written.append(src)
    return written


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
