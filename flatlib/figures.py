"""Deterministic figure output for the notebooks.

Every figure is written as PNG and PDF to the figures directory with the
metadata that carries dates or versions stripped, so that re-running a notebook
gives byte-identical files. The directory is ``$FLATLIB_FIGURES_DIR`` when set
(``python -m flatlib reproduce`` sets it to a staging directory, whose files replace
the committed ones when the notebook succeeds), else ``figures/`` at the root of the
source checkout.

Byte-identical on another machine needs three more things: the same floating-point
results (``python -m flatlib reproduce`` pins BLAS and numpy's SIMD paths, see
``flatlib.reproduce.deterministic_env``), the same renderer (matplotlib and its bundled
FreeType come from the lock file) and the same font: :func:`style` selects matplotlib's
bundled DejaVu fonts by name, so fonts installed on the system never enter. Quantities
that are zero up to round-off must not be plotted as such (floor them at a stated level).

When ``$FLATLIB_FIGURE_LOG`` is set (by ``reproduce``), :func:`savefig` appends one JSON line
per figure naming the code of the notebook cell being executed, from which
``figures/MANIFEST.json`` records the cell that made each figure.

This module imports matplotlib and selects the Agg backend unless a backend was
already chosen; the core of flatlib never imports it.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

if "MPLBACKEND" not in os.environ and not matplotlib.get_backend().lower().startswith(("module://matplotlib_inline", "agg")):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["figures_dir", "savefig", "show", "style"]

PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}


def figures_dir():
    """The directory figures are written to (created if missing)."""
    env = os.environ.get("FLATLIB_FIGURES_DIR")
    if env:
        d = Path(env)
    else:
        root = Path(__file__).resolve().parents[1]
        d = root / "figures" if (root / "pyproject.toml").exists() else Path.cwd() / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d


def style():
    """A small, consistent style; fixed hash salt so that SVG ids are stable too."""
    plt.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 120,
        "font.size": 10,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "svg.hashsalt": "flatlib",
        "figure.constrained_layout.use": True,
        # matplotlib's bundled fonts, never a system font (same glyphs on every machine)
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "font.serif": ["DejaVu Serif"],
        "font.monospace": ["DejaVu Sans Mono"],
        "mathtext.fontset": "dejavusans",
    })


def savefig(fig, name, formats=("png", "pdf")):
    """Write ``fig`` to ``<figures_dir>/<name>.<fmt>`` without date or version metadata.

    Returns the list of paths written.
    """
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    out = []
    for fmt in formats:
        path = figures_dir() / f"{name}.{fmt}"
        if fmt == "png":
            fig.savefig(path, format="png", metadata=PNG_METADATA)
        elif fmt == "pdf":
            fig.savefig(path, format="pdf", metadata=PDF_METADATA)
        elif fmt == "svg":
            fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
        else:
            raise ValueError(f"unsupported format {fmt!r}")
        out.append(path)
    _log_figure(name)
    return out


def _log_figure(name):
    """One line ``{"figure": name, "code_sha": sha256 of the executing cell}`` for the manifest."""
    log = os.environ.get("FLATLIB_FIGURE_LOG")
    if not log:
        return
    import hashlib
    import json

    code = None
    try:
        from IPython import get_ipython

        ip = get_ipython()
        code = ip.kernel.get_parent()["content"]["code"] if ip is not None and hasattr(ip, "kernel") else None
    except Exception:  # not in a kernel, or an ipykernel without get_parent
        code = None
    rec = {"figure": name, "code_sha": hashlib.sha256(code.encode()).hexdigest() if code is not None else None}
    with open(log, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


def show(fig, name):
    """Save ``fig`` (PNG + PDF, see :func:`savefig`), close it, and display the saved PNG.

    Displaying the file rather than the live figure gives the same notebook output under
    any backend (Agg under ``reproduce``, inline under nbval or JupyterLab). Returns
    ``None``, so that a cell ending with ``show(...)`` prints no machine-specific path.
    """
    paths = savefig(fig, name)
    plt.close(fig)
    try:
        from IPython.display import Image, display
    except ImportError:  # outside IPython: saving is all there is to do
        return None
    display(Image(filename=str(paths[0])))
    return None
