"""Build notebooks/NAME.ipynb from its percent-format source notebooks/src/NAME.py.

Cell markers (jupytext "percent" format, parsed here by hand to avoid a dependency):
    # %%                          a code cell
    # %% tags=["parameters"]      a code cell with tags
    # %% [markdown]               a markdown cell; its lines start with "# "
Usage: python tools/nbbuild.py NAME [NAME ...]   (then: python -m flatlib reproduce --inplace NAME)
"""
import ast
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def build(src: Path) -> nbformat.NotebookNode:
    cells, kind, tags, buf = [], None, [], []

    def flush():
        if kind is None:
            return
        text = "\n".join(buf).strip("\n")
        if kind == "markdown":
            text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in text.split("\n"))
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in src.read_text().split("\n"):
        m = MARK.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tags = ast.literal_eval(m.group("tags")) if m.group("tags") else []
            buf = []
        elif kind is not None:
            buf.append(line)
    flush()
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i:03d}"  # stable ids: rebuilding gives no spurious diff
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    for name in sys.argv[1:]:
        src = ROOT / "notebooks" / "src" / f"{name}.py"
        out = ROOT / "notebooks" / f"{name}.ipynb"
        nbformat.write(build(src), out)
        print("wrote", out.relative_to(ROOT))
