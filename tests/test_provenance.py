"""figures/MANIFEST.json is current: it was written by the code that is committed.

* every recorded figure exists and its sha256 is the recorded one;
* the hash of each notebook's code cells equals the recorded ``code_sha256`` (so changing a
  notebook's code without re-running ``make reproduce`` / ``flatlib build`` fails here);
* the recorded cell is a code cell that names the figure (read from the notebook itself);
* every figure file in figures/ is recorded (none left over from a notebook that no longer makes it).
"""
import hashlib
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
MAN = json.loads((ROOT / "figures" / "MANIFEST.json").read_text())
FIGS = MAN["figures"]


def _code_hash(nb):  # written here independently of flatlib.provenance
    h = hashlib.sha256()
    for c in nb.cells:
        if c.cell_type == "code":
            h.update(c.source.encode() + b"\0")
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(FIGS))
def test_recorded_figure_is_current(name):
    e = FIGS[name]
    for ext, sha in e["files"].items():
        path = ROOT / "figures" / f"{name}.{ext}"
        assert path.exists(), f"{path.name} is recorded but missing"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, f"{path.name} differs from MANIFEST.json"
    nb = nbformat.read(ROOT / "notebooks" / f"{e['notebook']}.ipynb", as_version=4)
    assert _code_hash(nb) == e["code_sha256"], (
        f"notebook {e['notebook']}'s code changed since {name} was made: run "
        f".venv/bin/python -m flatlib build {e['notebook']}")
    cell = nb.cells[e["cell"] - 1]
    assert cell.cell_type == "code" and cell.get("id") == e["cell_id"], (name, e["cell"], e["cell_id"])
    stem = name.removesuffix("_full")
    assert stem in cell.source or stem.split("_", 1)[1] in cell.source, (name, cell.source[:300])


def test_every_figure_file_is_recorded():
    recorded = {f"{n}.{ext}" for n, e in FIGS.items() for ext in e["files"]}
    on_disk = {p.name for p in (ROOT / "figures").iterdir() if p.suffix in (".png", ".pdf", ".svg")}
    assert on_disk == recorded, (sorted(on_disk - recorded), sorted(recorded - on_disk))
