"""Headless execution of the notebooks with papermill: ``python -m flatlib reproduce``, and
their build from jupytext sources: ``python -m flatlib build``.

Executed copies go to ``build/notebooks/`` (git-ignored) and figures to ``figures/``.
``--inplace`` instead refreshes the committed notebooks in ``notebooks/`` (with
their default parameters, papermill's timing metadata stripped): that is how the
reference outputs that nbval compares against are produced. ``-p NAME=VALUE`` is
checked against the notebook's ``parameters`` cell before any kernel starts.
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


def _resolve(name, paths, what):
    """The one path among ``paths`` that ``name`` designates: an exact name (with or without
    directory and extension) or else a prefix matching exactly one of them."""
    stem = Path(name).name
    for ext in (".ipynb", ".py"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    exact = [p for p in paths if p.stem == stem]
    if exact:
        return exact[0]
    hits = [p for p in paths if p.stem.startswith(stem)] if stem else []
    have = ", ".join(p.stem for p in paths) or "none"
    if not hits:
        raise UsageError(f"no {what} matches {name!r} (have: {have})")
    if len(hits) > 1:
        raise UsageError(f"{name!r} matches {len(hits)} {what}s: {', '.join(p.stem for p in hits)}; "
                         f"give more of the name")
    return hits[0]


def find_notebooks(names=()):
    """The notebooks of ``notebooks/`` designated by ``names`` (all of them if empty), in order."""
    allnb = sorted(p for p in notebooks_dir().glob("*.ipynb") if not p.name.startswith("."))
    if not names:
        return allnb
    out = []
    for name in names:
        hit = _resolve(name, allnb, "notebook")
        if hit not in out:
            out.append(hit)
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
# (the same filters as notebooks/jupytext.toml, which JupyterLab's jupytext applies)
_TEXT_FILTERS = {"cell_metadata_filter": "tags,-all", "notebook_metadata_filter": "-all"}


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
    """Normalize ``nb`` in place to the committed form.

    The installed kernel's ``kernelspec`` (``kernel``: a ``kernel_metadata()`` pair); the
    notebook's own ``language_info`` when it has one (papermill writes the executing kernel's
    report, which belongs with the outputs), else the kernel's; the source filters of
    ``notebooks/jupytext.toml``; and no per-run metadata (papermill's timings and parameters,
    execution timestamps, and the empty tag lists papermill adds, which would otherwise reach
    the source as ``tags=[]``).
    """
    kernelspec, language_info = kernel or kernel_metadata()
    language_info = nb.metadata.get("language_info") or language_info
    nb.metadata.pop("papermill", None)
    # jupytext's contents manager (JupyterLab) writes the pairing filters of jupytext.toml
    # into the notebook on save: commit them, or opening and saving would add them
    nb.metadata["jupytext"] = dict(_TEXT_FILTERS)
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


_UNKNOWN = object()  # a default that is not a constant expression: its type is not checked


def notebook_parameters(path):
    """``{name: default}`` of the code cell tagged ``parameters`` of the notebook at ``path``,
    or ``None`` if it has none. Defaults are evaluated as constant expressions (``1.0 / 3.0``,
    ``(1e-8, 0.1, 41)``, earlier parameters); any other default is ``_UNKNOWN``."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if not cells:
        return None
    params = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            default = eval(compile(ast.Expression(value), "<parameters>", "eval"),
                           {"__builtins__": {}}, dict(params))
        except Exception:
            default = _UNKNOWN
        for target in targets:
            if isinstance(target, ast.Name):
                params[target.id] = default
    return params


def split_params(items):
    """``[(name, raw value)]`` from the ``-p NAME=VALUE`` items, in order (a missing ``=`` is a
    ``UsageError``; names are checked by ``check_params``)."""
    pairs = []
    for item in items or ():
        name, eq, raw = item.partition("=")
        name = name.strip()
        if not eq:
            raise UsageError(f"-p expects NAME=VALUE, got {item!r}")
        pairs.append((name, raw))
    return pairs


def _type_name(default):
    if isinstance(default, bool):
        return "bool (True or False)"
    if isinstance(default, float):
        return "float"
    if isinstance(default, (tuple, list)):
        return "tuple or list"
    return type(default).__name__


def convert_value(name, raw, default):
    """The value of ``-p NAME=RAW`` for a parameter whose default is ``default``.

    ``raw`` is read as a Python literal. Its type must be the default's: an ``int`` is accepted
    (and converted) for a ``float``, a list for a tuple and conversely; ``bool`` only for
    ``bool`` (not 0 or 1), ``int`` not for ``bool``; a ``str`` default also accepts a bare word.
    A ``None`` or non-constant default accepts any literal. Raises ``ValueError`` saying why.
    """
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if isinstance(default, str):
            return raw
        expected = "" if default is _UNKNOWN or default is None else f" (expected {_type_name(default)})"
        raise ValueError(f"{raw!r} is not a Python literal{expected}") from None
    if default is _UNKNOWN or default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, (tuple, list)):
        ok = isinstance(value, (tuple, list))
        value = type(default)(value) if ok else value
    elif isinstance(default, str):
        return value if isinstance(value, str) else raw
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ValueError(f"expected {_type_name(default)} like the default {default!r}, "
                         f"got {type(value).__name__} {value!r}")
    return value


def check_params(pairs, notebooks):
    """``{notebook path: {name: value}}``: the ``-p`` values checked against the ``parameters``
    cell of every notebook (names exist, values parse and have the default's type). Raises a
    one-line ``UsageError`` naming the parameter, the notebook and the accepted names."""
    checked = {}
    for nb in notebooks:
        defaults = notebook_parameters(nb)
        accepted = ", ".join(defaults) if defaults else "none"
        params = {}
        for name, raw in pairs:
            if not name.isidentifier():
                what = "empty parameter name" if not name else f"parameter name {name!r} is not an identifier"
                raise UsageError(f"-p {name}={raw}: {what} for notebook {nb.stem} (accepted: {accepted})")
            if defaults is None:
                raise UsageError(f"-p {name}: notebook {nb.stem} has no cell tagged 'parameters'")
            if name not in defaults:
                raise UsageError(f"-p {name}: notebook {nb.stem} has no parameter {name!r} "
                                 f"(accepted: {accepted})")
            try:
                params[name] = convert_value(name, raw, defaults[name])
            except ValueError as exc:
                raise UsageError(f"-p {name}={raw}: {exc} for parameter {name!r} of notebook {nb.stem} "
                                 f"(accepted: {accepted})") from None
        checked[nb] = params
    return checked


def strip_notebook(path, kernel=None):
    """Rewrite an executed notebook in the committed form (``canonical_notebook``): no
    papermill timings or empty tag lists, the installed kernel's metadata."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    write_notebook(canonical_notebook(nb, kernel), path)


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


REPRODUCE_EPILOG = """\
examples:
  python -m flatlib reproduce                       every notebook, figures into figures/
  python -m flatlib reproduce 03 --jobs 2           one notebook by prefix (a prefix must match one)
  python -m flatlib reproduce 01 -p seed=3 -p fast=True
                                                    other parameters: figures into build/figures/
  python -m flatlib reproduce --inplace 05          refresh the committed notebooks/05_*.ipynb

parameters: -p NAME=VALUE must name a variable of the notebook's cell tagged 'parameters'; VALUE
is a Python literal of the default's type (an int is accepted for a float, True/False for a
bool, a bare word for a string). A mistake is reported before any kernel starts, exit code 2.
exit codes: 0 all notebooks ran, 1 a notebook failed (cell and kernel log named), 2 usage error.
"""


def _sources_named(names, sources):
    """The sources that ``names`` designate; a name with no source is left to ``find_notebooks``."""
    out = []
    for name in names:
        try:
            src = _resolve(name, sources, "notebook source")
        except UsageError:
            continue
        if src not in out:
            out.append(src)
    return out


def _parser():
    ap = argparse.ArgumentParser(
        prog="python -m flatlib reproduce", epilog=REPRODUCE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Execute the notebooks of notebooks/ headlessly (papermill, kernel 'python3') and\n"
                    "write every figure (PNG + PDF). Executed copies go to --output-dir.")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="notebook name (01_flatness_definitions, with or without .ipynb) or a prefix of "
                         "exactly one name (01); default: all notebooks, in order")
    ap.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                    help="run N notebooks in parallel processes (default: 1)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                    help="set a variable of the notebooks' 'parameters' cell; repeatable; checked "
                         "against the cell's names and the defaults' types before anything runs")
    ap.add_argument("--inplace", action="store_true",
                    help="rebuild each committed notebook from its source notebooks/src/NAME.py (jupytext) "
                         "and execute it in place with its default parameters (no -p): the reference "
                         "outputs that nbval compares against")
    ap.add_argument("--output-dir", default=str(ROOT / "build" / "notebooks"), metavar="DIR",
                    help="where executed copies and kernel logs go (default: build/notebooks/)")
    ap.add_argument("--figures-dir", default=None, metavar="DIR",
                    help="where figures go (default: $FLATLIB_FIGURES_DIR, else figures/, or build/figures/ "
                         "when -p is given, so that the committed figures keep their default parameters)")
    ap.add_argument("--timeout", type=int, default=600, metavar="SECONDS",
                    help="limit per cell in seconds (default: 600)")
    return ap


def main(argv=None):
    """``python -m flatlib reproduce``: returns the exit code (0 ok, 1 a notebook failed, 2 usage)."""
    ap = _parser()
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    if args.timeout < 1:
        ap.error("--timeout must be >= 1 second")
    if args.inplace and args.param:
        ap.error("--inplace refreshes the committed notebooks with their default parameters; drop -p")
    try:
        pairs = split_params(args.param)
        if args.inplace:  # first bring each notebook in line with its source (or create it)
            sources = sorted(p for p in sources_dir().glob("*.py") if not p.name.startswith("."))
            for src in sources if not args.names else _sources_named(args.names, sources):
                build_notebook(src.stem)
        notebooks = find_notebooks(args.names)
        per_notebook = check_params(pairs, notebooks)
    except UsageError as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 2
    if not notebooks:
        print("no notebooks to run in", notebooks_dir())
        return 0
    params_given = bool(pairs)
    if args.figures_dir is not None:
        figures = Path(args.figures_dir)
    elif os.environ.get("FLATLIB_FIGURES_DIR"):
        figures = Path(os.environ["FLATLIB_FIGURES_DIR"])
    else:
        figures = ROOT / ("build/figures" if params_given else "figures")
    figures.mkdir(parents=True, exist_ok=True)
    outdir = Path(args.output_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for nb in notebooks:
        out = nb if args.inplace else outdir / nb.name
        jobs.append((nb, out, per_notebook[nb], figures, args.timeout, outdir / f"{nb.stem}.log"))
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
        kernel = kernel_metadata()
        for nb, out, *_ in jobs:
            strip_notebook(out, kernel)
    total = time.perf_counter() - t0
    if failures:
        print(f"FAILED {len(failures)} of {len(jobs)} notebook(s) in {total:.1f} s: {', '.join(failures)}",
              flush=True)
        return 1
    print(f"all {len(jobs)} notebook(s) executed in {total:.1f} s", flush=True)
    return 0


BUILD_EPILOG = """\
examples:
  python -m flatlib build 05_flattening_flows       update notebooks/05_*.ipynb from src/, execute it
  python -m flatlib build 05 --no-execute           only bring the inputs in line (outputs kept)
  python -m flatlib build                           every notebook

Equivalent to 'jupytext --sync' (pairing in notebooks/jupytext.toml) followed by
'python -m flatlib reproduce --inplace NAME', writing the file as JupyterLab saves it.
"""


def build_main(argv=None):
    """``python -m flatlib build``: the one command that turns sources into committed notebooks."""
    ap = argparse.ArgumentParser(
        prog="python -m flatlib build", epilog=BUILD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build notebooks/NAME.ipynb from its source notebooks/src/NAME.py (jupytext, py:percent),\n"
                    "keeping cell ids, then execute it in place with its default parameters.")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="source name or a prefix of exactly one name; default: every source")
    ap.add_argument("--no-execute", action="store_true",
                    help="only update the notebook's inputs from its source (outputs and ids kept)")
    ap.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                    help="execute N notebooks in parallel processes (default: 1)")
    args = ap.parse_args(argv)
    sources = sorted(p for p in sources_dir().glob("*.py") if not p.name.startswith("."))
    try:
        names = [_resolve(n, sources, "notebook source").stem for n in args.names] or [p.stem for p in sources]
        for name in names:
            for path in build_notebook(name):
                print("wrote", path, flush=True)
    except UsageError as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.no_execute or not names:
        return 0
    return main(["--inplace", "--jobs", str(args.jobs), *names])


def lab_command(args=(), uid=None, python=None):
    """The command line that ``python -m flatlib lab ARGS`` runs: JupyterLab on ``notebooks/``.

    JupyterLab refuses to start as root (containers, cloud notebooks) unless given
    ``--allow-root``, which is added when ``uid`` (default: the current user id) is 0.
    ``--ServerApp.root_dir`` defaults to the notebooks directory unless ``args`` set it.

    >>> lab_command(["--no-browser"], uid=0, python="py")[:4]
    ['py', '-m', 'jupyterlab', '--allow-root']
    >>> "--allow-root" in lab_command(uid=1000, python="py")
    False
    """
    if uid is None:
        uid = os.getuid() if hasattr(os, "getuid") else -1  # no root on Windows
    cmd = [python or sys.executable, "-m", "jupyterlab"]
    if uid == 0 and "--allow-root" not in args:
        cmd.append("--allow-root")
    if not any(a.startswith(("--ServerApp.root_dir", "--notebook-dir", "--ServerApp.notebook_dir"))
               for a in args):
        cmd.append(f"--ServerApp.root_dir={ROOT / 'notebooks'}")
    return cmd + list(args)


def _report(name, secs, err):
    if err:
        print(f"  FAIL {name:<32} {secs:7.1f} s  {err}", flush=True)
        return [name]
    print(f"  ok   {name:<32} {secs:7.1f} s", flush=True)
    return []


if __name__ == "__main__":
    sys.exit(main())
