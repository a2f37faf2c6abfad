"""The values of a notebook's ``parameters`` cell, read from its percent-format source.

The number-checking tests compare their constants with these, so that a change of a
notebook's defaults cannot silently leave a test checking other numbers.
"""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "notebooks" / "src"


def notebook_parameters(name):
    """``{name: value}`` for each assignment of the cell tagged ``parameters`` of
    ``notebooks/src/<name>.py`` (values are literal expressions such as ``1.0 / 3.0``)."""
    src = (SRC / f"{name}.py").read_text()
    cell = src.split('# %% tags=["parameters"]', 1)[1].split("# %%", 1)[0]
    env = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign):
            exec(compile(ast.Module([node], []), "<parameters>", "exec"), {}, env)
    return env
