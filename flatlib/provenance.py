"""Provenance of the figures: ``figures/MANIFEST.json`` and ``python -m flatlib verify``.

``python -m flatlib reproduce`` records, for every figure it writes (``NAME.png``, ``NAME.pdf``):

* ``notebook``, ``cell_id`` and ``cell`` (1-based position) of the notebook cell that saved it
  (``flatlib.figures.savefig`` logs the code of the executing cell, matched here against the
  executed notebook);
* ``parameters``: the values of the notebook's ``parameters`` cell in that run;
* ``files``: the sha256 of each file;
* ``code_sha256``: the hash of the notebook's code cells, so a figure made by other code is seen
  (``tests/test_provenance.py`` checks it against the sources);

and, once, the ``environment``: Python's minor version and the versions of the packages that
compute and draw (numpy, scipy, matplotlib, scikit-learn) and the floating-point settings of the
kernels (``flatlib.reproduce.deterministic_env``). The file holds no dates and no commit id
(a file cannot name the commit that contains it); ``git log -1 -- figures/MANIFEST.json`` gives
the commit, and ``code_sha256`` pins the code within it. Keys are sorted, so that re-running
``make reproduce`` leaves it byte-identical.

``python -m flatlib verify [NAME...]`` re-executes the notebooks that made the named figures
(all by default) with the recorded parameters into ``build/verify/`` and reports, per figure,
``identical`` or ``different`` with a pixel-difference figure ``build/verify/diff/NAME.png``;
exit code 1 on any difference.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

MANIFEST = "MANIFEST.json"
PACKAGES = ("numpy", "scipy", "matplotlib", "scikit-learn")


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def code_sha256(nb):
    """sha256 of the sources of the code cells of ``nb`` (markdown edits do not change it)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", []):
            h.update(cell.source.encode() + b"\0")
    return h.hexdigest()


def cell_code_sha(code):
    return hashlib.sha256(code.encode()).hexdigest()


def environment():
    """What the figures depend on besides the code: package versions and kernel settings."""
    import platform
    from importlib import metadata

    from .reproduce import deterministic_env

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    env = deterministic_env({})
    return {"python": ".".join(platform.python_version_tuple()[:2]), "packages": versions,
            # NPY_DISABLE_CPU_FEATURES is left out: it names what this CPU has, not a setting
            "kernel_env": {k: env[k] for k in sorted(env) if k != "NPY_DISABLE_CPU_FEATURES"}}


def load_manifest(figures):
    path = Path(figures) / MANIFEST
    if path.exists():
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("figures"), dict):
                return data
        except ValueError:
            pass
    return {"figures": {}}


def files_of_notebook(figures, notebook):
    """File names that the manifest in ``figures`` attributes to ``notebook``."""
    out = []
    for name, entry in load_manifest(figures)["figures"].items():
        if entry.get("notebook") == notebook:
            out += [f"{name}.{ext}" for ext in entry.get("files", {})]
    return out


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def entries_for(job, produced):
    """Manifest entries of the figures ``produced`` by a finished ``job`` (a reproduce Job)."""
    import nbformat

    from .reproduce import notebook_parameters

    executed = nbformat.read(str(job.output), as_version=4)
    source = nbformat.read(str(job.input), as_version=4)
    params = {k: v for k, v in (notebook_parameters(job.input) or {}).items()}
    params.update(job.params)
    by_code = {}
    for i, cell in enumerate(executed.cells):
        if cell.cell_type == "code":
            by_code.setdefault(cell_code_sha(cell.source), (cell.get("id"), i + 1))
    made_in = {}
    log = job.stage / "figures.jsonl"
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            made_in[rec.get("figure")] = by_code.get(rec.get("code_sha"), (None, None))
    entries = {}
    for path in produced:
        stem, ext = path.stem, path.suffix.lstrip(".")
        e = entries.setdefault(stem, {"notebook": job.name, "files": {}})
        cell_id, pos = made_in.get(stem, (None, None))
        e.update(cell_id=cell_id, cell=pos, parameters=_jsonable(params), code_sha256=code_sha256(source))
    for path in produced:
        # the file now in place (committed before the manifest is written) is what is hashed
        entries[path.stem]["files"][path.suffix.lstrip(".")] = None
    return entries


def update_manifest(figures, entries_by_notebook):
    """Replace the entries of each notebook in ``entries_by_notebook`` (hashing the files now in
    ``figures``) and write the manifest atomically."""
    figures = Path(figures)
    data = load_manifest(figures)
    figs = {k: v for k, v in data["figures"].items() if v.get("notebook") not in entries_by_notebook}
    for entries in entries_by_notebook.values():
        for stem, e in entries.items():
            e["files"] = {ext: sha256_file(figures / f"{stem}.{ext}") for ext in sorted(e["files"])}
            figs[stem] = e
    out = {"about": "figures and the notebook cells that made them; written by python -m flatlib reproduce, "
                    "checked by python -m flatlib verify", "environment": environment(),
           "figures": dict(sorted(figs.items()))}
    path = figures / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


# --- verify -------------------------------------------------------------------------------------

def pixel_diff(a_path, b_path, out_path):
    """Write a figure of the committed image, the new one and their absolute difference
    (amplified) and return
    ``(n_pixels_different, max_abs_difference)``; ``(None, None)`` when the sizes differ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    import numpy as np

    a, b = mpimg.imread(str(a_path)), mpimg.imread(str(b_path))
    if a.shape != b.shape:
        return None, None
    d = np.abs(a.astype(float) - b.astype(float)).max(axis=-1) if a.ndim == 3 else np.abs(a - b)
    n, m = int((d > 0).sum()), float(d.max())
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, img, title in zip(axes, (a, b, d / m if m > 0 else d),
                              ("committed", "re-executed", f"|difference| ({n} pixels, max {m:.3g})")):
        ax.imshow(img, cmap="magma" if img is d or img.ndim == 2 else None)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return n, m


VERIFY_EPILOG = """\
examples:
  python -m flatlib verify                          every figure of figures/MANIFEST.json
  python -m flatlib verify 05_flattening            the figures whose names start with 05_flattening
exit codes: 0 every figure identical, 1 a figure differs or is missing, 2 usage error.
"""


def verify_main(argv=None):
    """``python -m flatlib verify``: re-execute and compare figures byte for byte."""
    from .reproduce import ROOT, Job, UsageError, find_notebooks, run_jobs, user_path

    ap = argparse.ArgumentParser(prog="python -m flatlib verify", epilog=VERIFY_EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 description="Re-execute the notebooks that made the figures named in "
                                             "figures/MANIFEST.json and compare the new files with the "
                                             "committed ones.")
    ap.add_argument("names", nargs="*", metavar="NAME", help="figure name or prefix (default: all)")
    ap.add_argument("--figures-dir", default=str(ROOT / "figures"), metavar="DIR",
                    help="the figures to check and their MANIFEST.json (default: figures/)")
    ap.add_argument("--output-dir", default=str(ROOT / "build" / "verify"), metavar="DIR",
                    help="where the re-executed notebooks, new figures and difference images go "
                         "(default: build/verify/)")
    ap.add_argument("-j", "--jobs", type=int, default=2, metavar="N", help="parallel notebooks (default: 2)")
    args = ap.parse_args(argv)
    try:
        figures = user_path(args.figures_dir, "--figures-dir")
        out = user_path(args.output_dir, "--output-dir")
        manifest = load_manifest(figures)["figures"]
        if not manifest:
            raise UsageError(f"no figures recorded in {figures / MANIFEST}; run python -m flatlib reproduce")
        chosen = sorted(n for n in manifest if not args.names or any(n.startswith(p) for p in args.names))
        if not chosen:
            raise UsageError(f"no recorded figure matches {' '.join(args.names)!r}")
        notebooks = {}
        for n in chosen:
            notebooks.setdefault(manifest[n]["notebook"], manifest[n].get("parameters") or {})
        paths = find_notebooks(list(notebooks))
    except UsageError as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 2
    import shutil

    from .reproduce import notebook_parameters

    new_figs = out / "figures"
    shutil.rmtree(new_figs, ignore_errors=True)
    new_figs.mkdir(parents=True)
    jobs = []
    for nb in paths:
        defaults = notebook_parameters(nb) or {}
        params = {k: v for k, v in notebooks[nb.stem].items() if k in defaults and _jsonable(defaults[k]) != v}
        jobs.append(Job(nb, params, out / nb.name, False, out / f".stage-{os.getpid()}" / nb.stem,
                        out / f"{nb.stem}.log"))
    print(f"re-executing {len(jobs)} notebook(s) for {len(chosen)} figure(s) -> {out}", flush=True)
    failures, sig = run_jobs(jobs, n_jobs=max(1, args.jobs), timeout=600, figures=new_figs)
    shutil.rmtree(out / f".stage-{os.getpid()}", ignore_errors=True)
    if sig:
        print("interrupted: nothing compared", file=sys.stderr)
        return 128 + sig
    bad = 0
    for n in chosen:
        if manifest[n]["notebook"] in failures:
            print(f"  FAIL       {n}: its notebook failed")
            bad += 1
            continue
        for ext in sorted(manifest[n].get("files", {})):
            old, new = figures / f"{n}.{ext}", new_figs / f"{n}.{ext}"
            if not new.exists():
                print(f"  missing    {n}.{ext}: not written by the re-run")
                bad += 1
            elif not old.exists():
                print(f"  missing    {n}.{ext}: not in {figures}")
                bad += 1
            elif sha256_file(old) == sha256_file(new):
                print(f"  identical  {n}.{ext}")
            else:
                bad += 1
                if ext == "png":
                    diff = out / "diff" / f"{n}.png"
                    npx, mx = pixel_diff(old, new, diff)
                    what = ("size differs" if npx is None else f"{npx} pixels differ, max {mx:.3g}; see {diff}")
                else:
                    what = "bytes differ"
                print(f"  different  {n}.{ext}: {what}")
    print(f"{len(chosen) - 0} figure(s) checked: {'all identical' if not bad else f'{bad} file(s) differ or are missing'}")
    return 1 if bad else 0
