"""The reproduce pipeline: papermill execution, parameters, failure report, deterministic figures."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _write_nb(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for src, tags in cells:
        c = nbformat.v4.new_code_cell(src)
        if tags:
            c.metadata["tags"] = tags
        nb.cells.append(c)
    nbformat.write(nb, path)


FIG_NB = [
    ("seed = 0\nscale = 1.0", ["parameters"]),
    ("import numpy as np\nimport matplotlib.pyplot as plt\nfrom flatlib.figures import savefig, style\n"
     "style()\nrng = np.random.default_rng(seed)\nfig, ax = plt.subplots()\n"
     "ax.plot(scale * rng.standard_normal(50))\nax.set_title('test')\nsavefig(fig, 'tiny')\n"
     "print(round(float(scale), 3))", None),
]


def _run(args, env):
    return subprocess.run([sys.executable, "-m", "flatlib", "reproduce", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir(tmp_path):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    env = dict(os.environ, FLATLIB_NOTEBOOKS_DIR=str(nbdir), FLATLIB_FIGURES_DIR=str(tmp_path / "figs"))
    return tmp_path, nbdir, env


def test_figures_are_byte_identical_across_runs(workdir):
    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    out = tmp / "out"
    digests = []
    for _ in range(2):
        p = _run(["--output-dir", str(out)], env)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "ok   a_fig" in p.stdout
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                        for f in sorted((tmp / "figs").iterdir())})
    assert set(digests[0]) == {"tiny.png", "tiny.pdf"}
    assert digests[0] == digests[1]
    assert b"CreationDate" not in (tmp / "figs" / "tiny.pdf").read_bytes()


def test_parameters_are_passed_through(workdir):
    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    p = _run(["a_fig", "-p", "scale=2.5", "--output-dir", str(tmp / "out")], env)
    assert p.returncode == 0, p.stdout + p.stderr
    nb = nbformat.read(tmp / "out" / "a_fig.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "2.5" in printed


def test_failing_cell_is_named_and_exit_code_nonzero(workdir):
    tmp, nbdir, env = workdir
    _write_nb(nbdir / "b_bad.ipynb", [("x = 1", ["parameters"]), ("raise RuntimeError('boom')", None)])
    p = _run(["--output-dir", str(tmp / "out")], env)
    assert p.returncode == 1
    assert "FAIL b_bad" in p.stdout and "RuntimeError: boom" in p.stdout


def test_unknown_notebook_name_is_an_error(workdir):
    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    p = _run(["zzz"], env)
    assert p.returncode != 0 and "no notebook matches 'zzz'" in (p.stdout + p.stderr)


def test_empty_notebook_dir_is_fine(workdir):
    tmp, nbdir, env = workdir
    p = _run([], env)
    assert p.returncode == 0 and "no notebooks" in p.stdout


def test_every_notebook_has_one_parameters_cell():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", [])), path.name
