"""The two pinned ends of the declared version ranges (``requirements/``).

* ``requirements/oldest.txt`` pins every dependency that ``pyproject.toml`` declares at its
  lower bound; ``make test-oldest`` (run by ``.ci/run``) tests that set. Caught here: a
  dependency added, or a floor raised, without the oldest set following (CI would then test
  versions other than the declared floors).
* ``requirements/lock.txt`` pins the exact versions that ``make test`` and ``make reproduce``
  install. Caught here: a dependency added without ``make lock`` (it would be installed
  unpinned), a lock outside the declared ranges, a non-exact or editable line.
"""
import re
import tomllib
from pathlib import Path

import pytest

packaging = pytest.importorskip("packaging")
from packaging.requirements import Requirement  # noqa: E402
from packaging.version import Version  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REQ = ROOT / "requirements"


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(proj["dependencies"])
    for extra in proj["optional-dependencies"].values():
        reqs += extra
    return {_norm(r.name): r for r in map(Requirement, reqs)}


def _pins(path, section_end=None):
    """``name -> Version`` of the ``name==version`` lines of ``path`` (up to ``section_end``)."""
    pins = {}
    for line in path.read_text().splitlines():
        if section_end is not None and line.strip() == section_end:
            break
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)==([A-Za-z0-9_.+\-!]+)", line)
        assert m, f"{path.name}: not an exact 'name==version' pin: {line!r}"
        pins[_norm(m.group(1))] = Version(m.group(2))
    return pins


def _floor(req):
    floors = [Version(s.version) for s in req.specifier if s.operator == ">="]
    assert len(floors) == 1, f"{req}: declare exactly one lower bound (>=)"
    return floors[0]


def test_oldest_pins_every_declared_floor():
    oldest = _pins(REQ / "oldest.txt", section_end="# transitive")
    declared = _declared()
    assert set(oldest) == set(declared), (
        f"requirements/oldest.txt and pyproject.toml differ: only pinned "
        f"{sorted(set(oldest) - set(declared))}, only declared {sorted(set(declared) - set(oldest))}")
    for name, req in declared.items():
        floor, pin = _floor(req), oldest[name]
        assert pin in req.specifier, f"oldest {name}=={pin} is outside {req}"
        assert pin.release[:len(floor.release)] == floor.release, (
            f"oldest {name}=={pin} is not the declared floor {floor}: "
            f"raise the floor in pyproject.toml (and environment.yml) or pin the floor")


def test_lock_pins_every_declared_dependency_within_its_range():
    lock = _pins(REQ / "lock.txt")
    assert "flatlib" not in lock, "the lock must not pin flatlib itself (make lock excludes it)"
    for name, req in _declared().items():
        assert name in lock, f"{name} is declared but not locked: run 'make lock'"
        assert lock[name] in req.specifier, f"locked {name}=={lock[name]} is outside {req}: run 'make lock'"


def test_the_commands_use_the_pins():
    make = (ROOT / "Makefile").read_text()
    assert "-r $(LOCK)" in make and "LOCK" in make and "requirements/lock.txt" in make
    assert "-c requirements/oldest.txt" in make
    assert "make test-oldest" in (ROOT / ".ci" / "run").read_text()
