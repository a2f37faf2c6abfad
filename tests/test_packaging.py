"""The conda/Binder environment and pyproject.toml name the same dependencies."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req):
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower()


def _pyproject_deps():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    proj = data["project"]
    deps = {_name(d): d for d in proj["dependencies"]}
    for extra in proj["optional-dependencies"].values():
        deps.update({_name(d): d for d in extra})
    return deps


def _conda_deps():
    deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        # conda packages, and packages only on PyPI (the pip: list, 6 spaces)
        m = re.match(r"^(?:\s{2}|\s{6})- ([A-Za-z0-9_.\-]+.*)$", line)
        if m and not m.group(1).startswith(("pip:", "-e")):
            deps[_name(m.group(1))] = m.group(1).strip()
    deps.pop("python", None)
    deps.pop("pip", None)
    return deps


def test_same_dependency_names():
    assert set(_pyproject_deps()) == set(_conda_deps())


def test_same_lower_bounds():
    py, co = _pyproject_deps(), _conda_deps()
    for name in py:
        assert py[name].replace(" ", "") == co[name].replace(" ", ""), name


def test_environment_installs_the_package():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "make reproduce" in readme
