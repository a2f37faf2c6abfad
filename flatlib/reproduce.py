"""Headless execution of the notebooks with papermill: ``python -m flatlib reproduce``, and
their build from jupytext sources: ``python -m flatlib build``.

Executed copies go to ``build/notebooks/`` (git-ignored) and figures to ``figures/``.
``--inplace`` instead refreshes the committed notebooks in ``notebooks/`` (with
their default parameters, papermill's timing metadata stripped): that is how the
reference outputs that nbval compares against are produced. ``-p NAME=VALUE`` is
checked against the notebook's ``parameters`` cell before any kernel starts.

Guarantees
----------
* **Paths mean what the user typed.** ``--output-dir`` and ``--figures-dir`` (and the
  environment variables ``FLATLIB_FIGURES_DIR``, ``FLATLIB_NOTEBOOKS_DIR``) are resolved against
  the caller's working directory before any kernel starts (a kernel runs in ``notebooks/``) and
  printed absolute; a path under an existing file is a usage error (exit 2, one line).
* **All or nothing.** Each notebook runs in a worker process of its own, into a staging
  directory (its executed copy and its figures). Only when every selected notebook has finished
  are the successful ones committed: executed copy (or, with ``--inplace``, the committed
  notebook and its source) and figures moved into place with ``os.replace``, the figures of a
  notebook replacing its previous ones as a set, and ``figures/MANIFEST.json`` updated. A
  notebook that fails leaves its files as they were. Ctrl-C (or SIGTERM) before the commit
  kills every worker and kernel, removes the staging directories, prints one line and exits 130
  (143): ``notebooks/`` and ``figures/`` are byte-identical. During the commit (a few renames)
  signals are held until it is done.
* **Deterministic figures.** Kernels run with one BLAS thread, OpenBLAS's Haswell kernels and
  numpy's AVX-512 code paths disabled (``deterministic_env``), so that machines of one kind with
  different CPUs compute the same bits; matplotlib comes from the lock file.
* **Provenance.** ``figures/MANIFEST.json`` records, for every figure, the notebook and the cell
  that made it, the parameters, the sha256 of each file, the hash of the notebook's code cells
  and the package versions (:mod:`flatlib.provenance`); ``python -m flatlib verify`` re-executes
  and compares.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
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
    # older ipykernel imports debugpy (from the kernel spec manager and from ipkernel), which
    # prints a three-line "frozen modules" warning on stderr unless told not to validate files
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
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


def built_notebook(name, kernel=None):
    """``(nb, source_text)``: ``notebooks/NAME.ipynb`` as its source ``notebooks/src/NAME.py``
    says, without writing anything.

    Inputs (cell types, sources, tags) come from the source; outputs and cell ids come from
    the existing notebook, matched by jupytext (cells whose source changed keep their id and
    their now stale outputs until the next ``reproduce --inplace``). New cells get ids derived
    from the name, position and source, so that building twice gives the same bytes.
    ``source_text`` is the source in jupytext's own layout (blank lines between cells), as
    ``jupytext --sync`` would write it.
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
    return nb, source_text(nb)


def build_notebook(name, kernel=None):
    """Update ``notebooks/NAME.ipynb`` (and the layout of its source) from
    ``notebooks/src/NAME.py`` without executing it (:func:`built_notebook`); each file is
    replaced atomically. Returns the list of files written."""
    nb, text = built_notebook(name, kernel)
    src = sources_dir() / f"{name}.py"
    out = notebooks_dir() / f"{name}.ipynb"
    written = []
    before = out.read_bytes() if out.exists() else None
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    write_notebook(nb, tmp)
    if tmp.read_bytes() != before:
        os.replace(tmp, out)
        written.append(out)
    else:
        tmp.unlink()
    if text != src.read_text():
        _write_text_atomic(src, text)
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


# --- paths as the user typed them ------------------------------------------------------------

def user_path(value, option):
    """``value`` (a directory option) resolved against the caller's working directory.

    Relative paths would otherwise be read by a kernel, whose working directory is the
    notebooks' folder. Raises ``UsageError`` when the path, or one of its parents, is an
    existing file.
    """
    if not str(value).strip():
        raise UsageError(f"{option}: empty path")
    p = Path(os.path.expanduser(str(value)))
    if not p.is_absolute():
        p = Path.cwd() / p
    p = Path(os.path.normpath(p))
    for anc in (p, *p.parents):
        if anc.exists():
            if not anc.is_dir():
                where = "is a file" if anc == p else f"lies under the file {anc}"
                raise UsageError(f"{option} {value}: {p} {where}, not a directory")
            break
    return p


# --- deterministic kernels ---------------------------------------------------------------------

def _wide_simd_features():
    """numpy's dispatch targets beyond x86-64-v3 (AVX-512) that this machine would use."""
    try:
        try:
            from numpy._core import _multiarray_umath as mu
        except ImportError:  # numpy < 2
            from numpy.core import _multiarray_umath as mu
        dispatch, found = mu.__cpu_dispatch__, mu.__cpu_features__
    except (ImportError, AttributeError):
        return []
    return [f for f in dispatch if (f.startswith("AVX512") or f == "X86_V4") and found.get(f)]


def deterministic_env(base=None):
    """The environment of every kernel: ``base`` (default ``os.environ``) plus the settings that
    make floating point the same on every machine of one kind.

    One BLAS/OpenMP thread (reductions in a fixed order); on x86-64 OpenBLAS's Haswell kernels
    (``OPENBLAS_CORETYPE``: otherwise an AVX-512 CPU and an AVX2 CPU round differently) and numpy's
    AVX-512 loops disabled (``NPY_DISABLE_CPU_FEATURES``: ``np.exp`` differs in the last bit between
    the AVX-512 and AVX2 loops); ``PYTHONHASHSEED=0``; the Agg backend.
    """
    import platform

    env = dict(os.environ if base is None else base)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0",
               MPLBACKEND="Agg")
    if platform.machine().lower() in ("x86_64", "amd64"):
        env["OPENBLAS_CORETYPE"] = "Haswell"
        wide = _wide_simd_features()
        if wide:
            env["NPY_DISABLE_CPU_FEATURES"] = " ".join(wide)
    return env


# --- one notebook, in a worker process ---------------------------------------------------------

def _worker(spec_path):
    """Body of a worker process: execute one notebook with papermill as ``spec_path`` says,
    printing one JSON line per cell started and a last line with the outcome."""
    import papermill as pm
    from papermill.engines import NotebookExecutionManager
    from papermill.exceptions import PapermillExecutionError

    spec = json.loads(Path(spec_path).read_text())
    start = NotebookExecutionManager.cell_start

    def cell_start(self, cell, cell_index=None, **kwargs):
        print(json.dumps({"cell": cell_index, "of": len(self.nb.cells)}), flush=True)
        return start(self, cell, cell_index, **kwargs)

    NotebookExecutionManager.cell_start = cell_start
    err = None
    try:
        pm.execute_notebook(spec["input"], spec["output"], parameters=spec["params"], kernel_name=KERNEL_NAME,
                            cwd=spec["cwd"], progress_bar=False, log_output=False,
                            execution_timeout=spec["timeout"], report_mode=False)
    except PapermillExecutionError as exc:
        err = f"cell {exc.exec_count} ({exc.ename}: {exc.evalue})"
    except Exception as exc:  # kernel died, timeout, bad notebook
        err = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"done": True, "error": err}), flush=True)
    return 0 if err is None else 1


class Job:
    """One notebook of a run: where it executes (``stage``), where its results go on success."""

    def __init__(self, nb, params, target, inplace, stage, log):
        self.nb, self.name, self.params, self.target, self.inplace = nb, nb.stem, params, target, inplace
        self.stage, self.log = stage, log
        self.figures = stage / "figures"
        self.output = stage / f"{self.name}.ipynb"
        self.source_text = None          # --inplace: the source as jupytext writes it
        self.proc = None
        self.t0 = self.seconds = None
        self.cell = self.ncells = None
        self.cell_t0 = None
        self.last_beat = 0.0
        self.progress_pos = 0
        self.error = None
        self.events = []

    def start(self, timeout, env):
        """Prepare the staging directory and launch the worker (in a session of its own, so that
        a Ctrl-C in the terminal reaches only the parent, which then stops the workers)."""
        import subprocess
        import threading

        self.figures.mkdir(parents=True)
        source = self.nb
        if self.inplace:  # the notebook as its source says, built in the staging dir only
            nb, self.source_text = built_notebook(self.name)
            source = self.stage / f"input-{self.name}.ipynb"
            write_notebook(nb, source)
        self.input = source
        spec = self.stage / "spec.json"
        spec.write_text(json.dumps({"input": str(source), "output": str(self.output), "params": self.params,
                                    "cwd": str(self.nb.parent), "timeout": timeout}))
        env = dict(env, FLATLIB_FIGURES_DIR=str(self.figures), FLATLIB_FIGURE_LOG=str(self.stage / "figures.jsonl"),
                   FLATLIB_PROGRESS=str(self.stage / "progress.log"))
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "flatlib.reproduce", "--worker", str(spec)],
                                         stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                         text=True, start_new_session=True, cwd=str(self.nb.parent))
        self.t0 = time.perf_counter()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def poll(self, now, say):
        """Digest the worker's events; print progress of long cells and the notebook's own
        progress lines (``FLATLIB_PROGRESS``); return True once the worker has exited."""
        while self.events:
            ev = self.events.pop(0)
            if "cell" in ev:
                self.cell, self.ncells, self.cell_t0 = ev["cell"], ev["of"], now
            elif ev.get("done"):
                self.error = ev["error"]
        path = self.stage / "progress.log"
        if path.exists():
            with open(path) as fh:
                fh.seek(self.progress_pos)
                chunk = fh.read()
            complete = chunk[: chunk.rfind("\n") + 1]
            self.progress_pos += len(complete.encode())
            for line in complete.splitlines():
                say(f"  ...  {self.name}: {line}")
                self.last_beat = now
        if self.cell_t0 is not None and now - self.cell_t0 > 20 and now - self.last_beat > 30:
            say(f"  ...  {self.name}: cell {self.cell + 1}/{self.ncells} running for {now - self.cell_t0:.0f} s")
            self.last_beat = now
        if self.proc.poll() is None:
            return False
        for _ in range(50):  # the reader thread may still hold the last line
            if not self.events and not self.proc.stdout.closed:
                break
            time.sleep(0.01)
        while self.events:
            ev = self.events.pop(0)
            if ev.get("done"):
                self.error = ev["error"]
        if self.error is None and (self.proc.returncode != 0 or not self.output.exists()):
            self.error = f"worker exited with code {self.proc.returncode}"
        self.seconds = now - self.t0
        if self.error:
            self.error += f"; kernel log: {self.log}"
        return True

    def kill(self):
        """Stop the worker and every process it started (the kernel included)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        _kill_tree(self.proc.pid)
        try:
            self.proc.wait(timeout=10)
        except Exception:
            pass


def _kill_tree(pid):
    import signal

    try:
        import psutil
    except ImportError:  # the kernel exits by itself once its parent is gone (JPY_PARENT_PID)
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        return
    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + [root]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


def _replace(src, dst):
    """Move ``src`` onto ``dst`` atomically (``os.replace``; through a temporary file beside
    ``dst`` when the two lie on different file systems)."""
    import shutil

    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError:
        tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)


def _write_text_atomic(path, text):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class _HeldSignals:
    """Hold SIGINT and SIGTERM while committing; they are delivered when the block ends."""

    def __enter__(self):
        import signal

        self.sigs = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, self.sigs)
        return self

    def __exit__(self, *exc):
        import signal

        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.sigs)
        return False


def _commit(job, figures, kernel):
    """Move a successful job's outputs into place; returns the figure files it replaced."""
    from . import provenance

    produced = sorted(p for p in job.figures.iterdir() if p.is_file())
    old = provenance.files_of_notebook(figures, job.name)
    for p in produced:
        _replace(p, figures / p.name)
    stale = [figures / f for f in old if f not in {p.name for p in produced}]
    for p in stale:
        if p.exists():
            p.unlink()
    if job.inplace:
        strip_notebook(job.output, kernel)
        _replace(job.output, job.nb)
        src = sources_dir() / f"{job.name}.py"
        if job.source_text is not None and src.read_text() != job.source_text:
            _write_text_atomic(src, job.source_text)
    else:
        _replace(job.output, job.target)
    return produced


def _say(line):
    print(line, flush=True)


def run_jobs(jobs, *, n_jobs, timeout, figures, say=_say):
    """Execute ``jobs`` (at most ``n_jobs`` at a time), then commit the successful ones.

    Returns ``(failures, interrupted)``: the names of the notebooks that failed, and the signal
    number that stopped the run (``None`` if none did; then nothing was written).
    """
    import signal

    from . import provenance

    env = deterministic_env()
    # older ipykernel's debugpy prints a "frozen modules" warning at kernel start (not a setting of
    # the results, so not in deterministic_env and not in the manifest)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    pending, running, done = list(jobs), [], []
    old_term = signal.getsignal(signal.SIGTERM)
    caught = []

    def on_term(signum, frame):
        caught.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        try:
            while pending or running:
                while pending and len(running) < n_jobs:
                    job = pending.pop(0)
                    job.start(timeout, env)
                    running.append(job)
                now = time.perf_counter()
                for job in list(running):
                    if job.poll(now, say):
                        running.remove(job)
                        done.append(job)
                        _report(job.name, job.seconds, job.error, say)
                time.sleep(0.1)
        except KeyboardInterrupt:
            for job in running + done:
                job.kill()
            return [], (caught[0] if caught else signal.SIGINT)
        ok = [j for j in done if not j.error]
        with _HeldSignals():
            kernel = kernel_metadata() if any(j.inplace for j in ok) else None
            entries = {}
            for job in ok:
                entries[job.name] = provenance.entries_for(job, sorted(p for p in job.figures.iterdir() if p.is_file()))
                _commit(job, figures, kernel)
            if entries:
                provenance.update_manifest(figures, entries)
        return [j.name for j in done if j.error], None
    finally:
        signal.signal(signal.SIGTERM, old_term)
        import shutil

        for job in jobs:
            shutil.rmtree(job.stage, ignore_errors=True)


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
paths: relative paths are read from the directory you run the command in, and printed absolute.
outputs: all or nothing. Notebooks execute in staging directories; when all have finished, each
one that succeeded replaces its executed copy and its figures (and figures/MANIFEST.json is
updated); a failed notebook leaves its files as they were. Ctrl-C stops every kernel and writes
nothing.
exit codes: 0 all notebooks ran, 1 a notebook failed (cell and kernel log named), 2 usage error,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
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
                    help="where executed copies and kernel logs go (default: build/notebooks/); "
                         "relative to the current directory")
    ap.add_argument("--figures-dir", default=None, metavar="DIR",
                    help="where figures go (default: $FLATLIB_FIGURES_DIR, else figures/, or build/figures/ "
                         "when -p is given, so that the committed figures keep their default parameters); "
                         "relative to the current directory")
    ap.add_argument("--timeout", type=int, default=600, metavar="SECONDS",
                    help="limit per cell in seconds (default: 600)")
    return ap


def figures_target(figures_dir=None, params_given=False):
    """The figures directory of a run: ``figures_dir`` (an option), else ``$FLATLIB_FIGURES_DIR``,
    else ``figures/`` (``build/figures/`` when parameters are given); absolute."""
    if figures_dir is not None:
        return user_path(figures_dir, "--figures-dir")
    if os.environ.get("FLATLIB_FIGURES_DIR"):
        return user_path(os.environ["FLATLIB_FIGURES_DIR"], "FLATLIB_FIGURES_DIR")
    return ROOT / ("build/figures" if params_given else "figures")


def main(argv=None):
    """``python -m flatlib reproduce``: returns the exit code (0 ok, 1 a notebook failed, 2 usage,
    130/143 interrupted)."""
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
        outdir = user_path(args.output_dir, "--output-dir")
        figures = figures_target(args.figures_dir, bool(pairs))
        if os.environ.get("FLATLIB_NOTEBOOKS_DIR"):
            user_path(os.environ["FLATLIB_NOTEBOOKS_DIR"], "FLATLIB_NOTEBOOKS_DIR")
        if args.inplace:  # the notebooks that the sources designate (they may not exist yet)
            sources = sorted(p for p in sources_dir().glob("*.py") if not p.name.startswith("."))
            chosen = sources if not args.names else [_resolve(n, sources, "notebook source") for n in args.names]
            notebooks = [notebooks_dir() / f"{s.stem}.ipynb" for s in dict.fromkeys(chosen)]
            per_notebook = {nb: {} for nb in notebooks}
        else:
            notebooks = find_notebooks(args.names)
            per_notebook = check_params(pairs, notebooks)
    except UsageError as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 2
    if not notebooks:
        print("no notebooks to run in", notebooks_dir())
        return 0
    figures.mkdir(parents=True, exist_ok=True)
    outdir.mkdir(parents=True, exist_ok=True)
    stage_root = outdir / f".stage-{os.getpid()}"
    jobs = [Job(nb, per_notebook[nb], outdir / nb.name, args.inplace, stage_root / nb.stem, outdir / f"{nb.stem}.log")
            for nb in notebooks]
    print(f"executing {len(jobs)} notebook(s) with {args.jobs} job(s)\n  figures -> {figures}\n"
          f"  {'notebooks -> ' + str(notebooks_dir()) if args.inplace else 'executed copies -> ' + str(outdir)}",
          flush=True)
    t0 = time.perf_counter()
    try:
        failures, sig = run_jobs(jobs, n_jobs=args.jobs, timeout=args.timeout, figures=figures)
    finally:
        import shutil

        shutil.rmtree(stage_root, ignore_errors=True)
    total = time.perf_counter() - t0
    if sig:
        what = "interrupted" if sig == 2 else f"stopped by signal {sig}"
        print(f"{what} after {total:.0f} s: every kernel stopped, no notebook or figure written", file=sys.stderr,
              flush=True)
        return 128 + sig
    if failures:
        print(f"FAILED {len(failures)} of {len(jobs)} notebook(s) in {total:.1f} s: {', '.join(failures)} "
              f"(their files are unchanged; the others were written)", flush=True)
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
        if args.no_execute:
            for name in names:
                for path in build_notebook(name):
                    print("wrote", path, flush=True)
    except UsageError as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.no_execute or not names:
        return 0
    # built and executed in a staging directory; the notebook and its source are replaced
    # only when the run succeeds
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


def _report(name, secs, err, say=print):
    if err:
        say(f"  FAIL {name:<32} {secs:7.1f} s  {err}")
        return [name]
    say(f"  ok   {name:<32} {secs:7.1f} s")
    return []


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(_worker(sys.argv[2]))
    sys.exit(main())
