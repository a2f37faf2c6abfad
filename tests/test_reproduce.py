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
    assert set(digests[0]) == {"tiny.png", "tiny.pdf", "MANIFEST.json"}
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


# --- mistakes on the command line are refused before any kernel starts (exit code 2) -----------

PARAMS_NB = [("seed = 0\nscale = 1.0\nfast = False\nlabel = 'a'\nradii = (0.1, 1.0)\nthird = 1.0 / 3.0",
              ["parameters"]),
             ("print(seed)", None)]
ACCEPTED = "accepted: seed, scale, fast, label, radii, third"


@pytest.fixture
def no_kernel(tmp_path, monkeypatch):
    """In-process ``reproduce.main`` on a temporary notebooks dir; records what would have run
    and fails the test if papermill (hence a kernel) is reached."""
    from flatlib import reproduce
    import papermill

    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    monkeypatch.setenv("FLATLIB_NOTEBOOKS_DIR", str(nbdir))
    monkeypatch.setenv("FLATLIB_FIGURES_DIR", str(tmp_path / "figs"))
    runs = []

    def fake_run_jobs(jobs, **kwargs):
        runs.extend((job.name, job.params) for job in jobs)
        return [], None

    def no_papermill(*a, **k):
        raise AssertionError("papermill was called: a kernel would have started")

    monkeypatch.setattr(reproduce, "run_jobs", fake_run_jobs)
    monkeypatch.setattr(papermill, "execute_notebook", no_papermill)

    def run(*args):
        return reproduce.main([*args, "--output-dir", str(tmp_path / "out")])

    return nbdir, run, runs


@pytest.mark.parametrize("param, words", [
    ("sed=3", ["-p sed", "no parameter 'sed'"]),                       # a typo for seed
    ("seed=abc", ["-p seed=abc", "not a Python literal", "expected int"]),
    ("seed=[1,2", ["-p seed=[1,2", "not a Python literal"]),
    ("=3", ["-p =3", "empty parameter name"]),
    ("3x=1", ["not an identifier"]),
    ("fast=1", ["-p fast=1", "expected bool", "got int"]),             # 1 is not a bool
    ("seed=True", ["-p seed=True", "expected int", "got bool"]),       # a bool is not an int
    ("seed=2.5", ["expected int", "got float"]),
    ("scale='x'", ["expected float", "got str"]),
    ("scale=1j", ["expected float", "got complex"]),
    ("radii=3", ["expected tuple or list", "got int"]),
])
def test_bad_parameter_is_refused_before_any_kernel(no_kernel, capsys, param, words):
    nbdir, run, runs = no_kernel
    _write_nb(nbdir / "a_params.ipynb", PARAMS_NB)
    assert run("a_params", "-p", param) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for w in words + ["notebook a_params", ACCEPTED]:
        assert w in err, (w, err)
    assert runs == []


def test_missing_equals_sign_is_refused(no_kernel, capsys):
    nbdir, run, runs = no_kernel
    _write_nb(nbdir / "a_params.ipynb", PARAMS_NB)
    assert run("-p", "seed") == 2
    assert "NAME=VALUE" in capsys.readouterr().err and runs == []


def test_good_parameters_are_converted_to_the_defaults_types(no_kernel):
    nbdir, run, runs = no_kernel
    _write_nb(nbdir / "a_params.ipynb", PARAMS_NB)
    assert run("a_params", "-p", "seed=3", "-p", "scale=2", "-p", "fast=True", "-p", "label=hello",
               "-p", "radii=[0.5, 2]", "-p", "third=0.25") == 0
    (name, params), = runs
    assert name == "a_params"
    assert params == {"seed": 3, "scale": 2.0, "fast": True, "label": "hello", "radii": (0.5, 2), "third": 0.25}
    assert type(params["scale"]) is float and type(params["radii"]) is tuple and type(params["seed"]) is int


def test_parameter_missing_from_one_selected_notebook_is_refused(no_kernel, capsys):
    nbdir, run, runs = no_kernel
    _write_nb(nbdir / "a_params.ipynb", PARAMS_NB)
    _write_nb(nbdir / "b_other.ipynb", [("seed = 0", ["parameters"])])
    assert run("-p", "scale=2.0") == 2
    err = capsys.readouterr().err
    assert "notebook b_other has no parameter 'scale'" in err and "accepted: seed" in err
    assert runs == []
    assert run("-p", "seed=1") == 0 and [r[0] for r in runs] == ["a_params", "b_other"]


def test_notebook_without_parameters_cell_refuses_parameters(no_kernel, capsys):
    nbdir, run, runs = no_kernel
    _write_nb(nbdir / "c_none.ipynb", [("x = 1", None)])
    assert run("-p", "x=2") == 2
    assert "no cell tagged 'parameters'" in capsys.readouterr().err and runs == []


def test_ambiguous_prefix_is_refused_with_the_matches(no_kernel, capsys):
    nbdir, run, runs = no_kernel
    for name in ("01_one", "02_two", "10_ten"):
        _write_nb(nbdir / f"{name}.ipynb", PARAMS_NB)
    assert run("0") == 2
    err = capsys.readouterr().err
    assert "'0' matches 2 notebooks: 01_one, 02_two" in err and "10_ten" not in err
    assert runs == []
    assert run("01") == 0 and [r[0] for r in runs] == ["01_one"]
    assert run("notebooks/02_two.ipynb") == 0 and runs[-1][0] == "02_two"


def test_unknown_name_lists_the_notebooks(no_kernel, capsys):
    nbdir, run, runs = no_kernel
    _write_nb(nbdir / "01_one.ipynb", PARAMS_NB)
    assert run("zzz") == 2
    assert "no notebook matches 'zzz' (have: 01_one)" in capsys.readouterr().err and runs == []


def test_help_documents_every_option(capsys):
    from flatlib import reproduce

    with pytest.raises(SystemExit) as exc:
        reproduce.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for action in reproduce._parser()._actions:
        assert action.help, action.option_strings or action.dest
        for opt in action.option_strings:
            assert opt in out, opt
    assert "examples:" in out and "-p seed=3" in out and "exit codes" in out
    from flatlib.__main__ import main as cli

    assert cli(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("reproduce", "build", "lab"))


def test_lab_command_adds_allow_root_only_for_root():
    from flatlib.reproduce import lab_command

    as_root = lab_command(["--no-browser"], uid=0, python="py")
    assert as_root[:4] == ["py", "-m", "jupyterlab", "--allow-root"] and as_root[-1] == "--no-browser"
    assert f"--ServerApp.root_dir={ROOT / 'notebooks'}" in as_root
    assert "--allow-root" not in lab_command(uid=1000, python="py")
    assert lab_command(["--allow-root"], uid=0, python="py").count("--allow-root") == 1
    custom = lab_command(["--ServerApp.root_dir=/x"], uid=1000, python="py")
    assert [a for a in custom if "root_dir" in a] == ["--ServerApp.root_dir=/x"]


def test_make_lab_goes_through_the_lab_command():
    make = (ROOT / "Makefile").read_text()
    recipe = make.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "-m flatlib lab" in recipe


def test_inplace_writes_the_notebook_as_jupyterlab_saves_it(workdir):
    """``reproduce --inplace`` builds the notebook from its source and writes it executed, with
    the installed kernelspec, the kernel's language_info, no papermill or timing metadata, no
    empty tag lists, and in the Jupyter server's JSON layout (sorted keys, indent 1, final
    newline), so that JupyterLab's open-and-save leaves it unchanged."""
    import json
    import platform

    from jupyter_client.kernelspec import KernelSpecManager

    tmp, nbdir, env = workdir
    (nbdir / "src").mkdir()
    (nbdir / "src" / "t_inplace.py").write_text(
        '# %% [markdown]\n# # Title\n\n# %% tags=["parameters"]\nseed = 4\n\n# %%\nprint(seed + 1)\n')
    p = _run(["--inplace", "t_inplace", "--output-dir", str(tmp / "out")], env)
    assert p.returncode == 0, p.stdout + p.stderr
    path = nbdir / "t_inplace.ipynb"
    raw = path.read_text()
    data = json.loads(raw)
    assert raw == json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert data["metadata"]["kernelspec"] == {"display_name": spec.display_name, "language": spec.language,
                                              "name": "python3"}
    assert data["metadata"]["language_info"]["version"] == platform.python_version()
    assert data["metadata"]["jupytext"] == {"cell_metadata_filter": "tags,-all", "notebook_metadata_filter": "-all"}
    assert set(data["metadata"]) == {"jupytext", "kernelspec", "language_info"}
    assert [c["cell_type"] for c in data["cells"]] == ["markdown", "code", "code"]
    assert [c["metadata"] for c in data["cells"]] == [{}, {"tags": ["parameters"]}, {}]
    assert data["cells"][2]["outputs"][0]["text"] == ["5\n"]
    assert "papermill" not in raw and '"execution"' not in raw
    p = subprocess.run([sys.executable, "-m", "flatlib", "build", "t_inplace", "--no-execute"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "wrote" not in p.stdout, "a build after the run changes nothing"
    assert path.read_text() == raw


# --- paths, all-or-nothing outputs, Ctrl-C, provenance (issue: the two commands always work) ---

def _digest_tree(d):
    d = Path(d)
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()} if d.exists() else {}


def test_relative_paths_are_the_callers_and_printed_absolute(workdir):
    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    env = {k: v for k, v in env.items() if k != "FLATLIB_FIGURES_DIR"}
    caller = tmp / "caller"
    caller.mkdir()
    p = subprocess.run([sys.executable, "-m", "flatlib", "reproduce", "--figures-dir", "rel/figs",
                        "--output-dir", "rel/out"], env=env, cwd=caller, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (caller / "rel" / "figs" / "tiny.png").exists() and (caller / "rel" / "out" / "a_fig.ipynb").exists()
    assert not (nbdir / "rel").exists(), "a relative path was read by the kernel (in the notebooks' folder)"
    assert f"figures -> {caller / 'rel' / 'figs'}" in p.stdout


@pytest.mark.parametrize("option", ["--figures-dir", "--output-dir"])
def test_a_path_under_a_file_is_a_usage_error(no_kernel, capsys, tmp_path, option):
    nbdir, run, runs = no_kernel
    _write_nb(nbdir / "a_params.ipynb", PARAMS_NB)
    (tmp_path / "afile").write_text("x")
    from flatlib import reproduce

    assert reproduce.main(["a_params", option, str(tmp_path / "afile" / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lies under the file" in err and option in err, err
    assert runs == []


FAIL_NB = [("seed = 0", ["parameters"]),
           ("import matplotlib.pyplot as plt\nfrom flatlib.figures import savefig\nfig, ax = plt.subplots()\n"
            "ax.plot([0, 1], [seed, 1])\nsavefig(fig, 'tiny')\nsavefig(fig, 'extra')", None),
           ("raise RuntimeError('boom after the figures')", None)]


def test_a_failing_notebook_leaves_the_figures_as_they_were(workdir):
    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    assert _run(["--output-dir", str(tmp / "out")], env).returncode == 0
    before_figs, before_out = _digest_tree(tmp / "figs"), _digest_tree(tmp / "out")
    _write_nb(nbdir / "a_fig.ipynb", FAIL_NB)             # same figure name, then a failure
    p = _run(["--output-dir", str(tmp / "out")], env)
    assert p.returncode == 1 and "boom after the figures" in p.stdout
    assert _digest_tree(tmp / "figs") == before_figs, "a failed notebook changed figures/"
    after_out = {k: v for k, v in _digest_tree(tmp / "out").items() if not k.endswith(".log")}
    assert after_out == {k: v for k, v in before_out.items() if not k.endswith(".log")}


SLOW_NB = [("seed = 0", ["parameters"]),
           ("import matplotlib.pyplot as plt\nfrom flatlib.figures import savefig\nfig, ax = plt.subplots()\n"
            "ax.plot([0, 1], [2, 1])\nsavefig(fig, 'tiny')\nprint('changed')", None),
           ("import time\ntime.sleep(120)", None)]


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_ctrl_c_writes_nothing_and_stops_every_kernel(workdir, sig):
    """Interrupting ``reproduce --inplace`` (what ``build`` runs) while a kernel is busy: exit
    130 (143), one line, no traceback, notebooks/ and figures/ byte-identical, no process left."""
    import signal
    import time

    import psutil

    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    (nbdir / "src").mkdir()
    ptag = ' tags=["parameters"]'
    src = "".join(f"# %%{ptag if tags else ''}\n{code}\n\n" for code, tags in SLOW_NB)
    (nbdir / "src" / "a_fig.py").write_text(src)
    assert _run(["--output-dir", str(tmp / "out")], env).returncode == 0
    before_nb, before_figs = _digest_tree(nbdir), _digest_tree(tmp / "figs")
    proc = subprocess.Popen([sys.executable, "-m", "flatlib", "reproduce", "--inplace", "a_fig",
                             "--output-dir", str(tmp / "out")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:   # wait until the figure is staged and the kernel sleeps
        if list((tmp / "out").glob(".stage-*/a_fig/figures/tiny.png")):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the notebook never reached its slow cell")
    time.sleep(1.0)
    family = psutil.Process(proc.pid).children(recursive=True)
    assert any("ipykernel" in " ".join(c.cmdline()) for c in family), "no kernel seen"
    proc.send_signal(getattr(signal, sig))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, sig), (proc.returncode, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "no notebook or figure written" in err
    assert _digest_tree(nbdir) == before_nb and _digest_tree(tmp / "figs") == before_figs
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    assert not list((tmp / "out").glob(".stage-*")), "staging directory left behind"


def test_manifest_names_the_cell_parameters_and_hashes(workdir):
    import json

    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    p = _run(["--output-dir", str(tmp / "out"), "-p", "scale=2.0"], env)
    assert p.returncode == 0, p.stdout + p.stderr
    man = json.loads((tmp / "figs" / "MANIFEST.json").read_text())
    e = man["figures"]["tiny"]
    executed = nbformat.read(tmp / "out" / "a_fig.ipynb", as_version=4)
    cell = [c for c in executed.cells if "savefig(fig, 'tiny')" in c.source][0]
    assert e["notebook"] == "a_fig" and e["cell_id"] == cell.id
    assert e["cell"] == executed.cells.index(cell) + 1
    assert e["parameters"] == {"seed": 0, "scale": 2.0}
    for ext in ("png", "pdf"):
        assert e["files"][ext] == hashlib.sha256((tmp / "figs" / f"tiny.{ext}").read_bytes()).hexdigest()
    assert set(man["environment"]["packages"]) >= {"numpy", "scipy", "matplotlib"}


def test_verify_reports_identical_then_a_difference(workdir):
    tmp, nbdir, env = workdir
    _write_nb(nbdir / "a_fig.ipynb", FIG_NB)
    assert _run(["--output-dir", str(tmp / "out")], env).returncode == 0
    verify = [sys.executable, "-m", "flatlib", "verify", "--figures-dir", str(tmp / "figs"),
              "--output-dir", str(tmp / "verify")]
    p = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "identical  tiny.png" in p.stdout, p.stdout + p.stderr
    # a committed figure that the code no longer makes: one changed pixel
    import matplotlib.image as mpimg

    img = mpimg.imread(tmp / "figs" / "tiny.png")
    img[5, 5, :3] = 1.0 - img[5, 5, :3]
    mpimg.imsave(tmp / "figs" / "tiny.png", img)
    p = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "different  tiny.png" in p.stdout and "1 pixels differ" in p.stdout
    assert (tmp / "verify" / "diff" / "tiny.png").exists()
    assert "identical  tiny.pdf" in p.stdout


BITS = ("import hashlib, numpy as np\n"
        "x = np.random.default_rng(0).standard_normal(200_000) * 10\n"
        "a = np.random.default_rng(1).standard_normal((300, 300))\n"
        "out = [np.exp(x), np.log(np.abs(x)), a @ a, np.linalg.eigvalsh(a + a.T)]\n"
        "print(hashlib.sha256(b''.join(o.tobytes() for o in out)).hexdigest())\n")


def test_kernel_environment_fixes_the_floating_point_bits():
    """What a machine of another CPU would change (BLAS kernel, threads, numpy's SIMD loops),
    simulated through the environment, no longer changes the bits under ``deterministic_env``.
    Falsifiable: without it the same perturbations change the bits on this machine."""
    from flatlib.reproduce import deterministic_env

    def bits(env):
        return subprocess.run([sys.executable, "-c", BITS], env=env, capture_output=True, text=True,
                              check=True).stdout.strip()

    other_cpu = dict(os.environ, OPENBLAS_CORETYPE="Sandybridge", OPENBLAS_NUM_THREADS="2",
                     NPY_DISABLE_CPU_FEATURES="")
    pinned = bits(deterministic_env(dict(os.environ)))
    assert bits(deterministic_env(other_cpu)) == pinned
    if bits(other_cpu) == bits(dict(os.environ, OPENBLAS_NUM_THREADS="1")):
        pytest.skip("on this machine the perturbations do not change the bits (nothing to pin)")
