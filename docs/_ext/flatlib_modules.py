"""The public modules of flatlib, as the book lists them (no Sphinx or docutils needed).

Shared by ``flatlib_book.py`` (the API pages) and ``tests/test_docs.py`` (every public object
documented), which also runs in the venv at the declared lower bounds, where the docs extra is
not installed.
"""
import functools
import importlib
import pkgutil

PACKAGE = "flatlib"
# the command line (documented by ``python -m flatlib --help``), not a library interface
SKIP_MODULES = {"flatlib.__main__", "flatlib.reproduce",
                # deprecated aliases of flatlib.networks (one release): documented there
                "flatlib.problems.mlp", "flatlib.problems.digits", "flatlib.problems.training",
                "flatlib.problems.generalization"}


@functools.lru_cache(maxsize=None)
def _public_modules():
    pkg = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(pkg.__path__, PACKAGE + "."):
        if info.name in SKIP_MODULES or any(p.startswith("_") for p in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return tuple(sorted(names, key=lambda n: (n.count("."), n)))


def public_modules():
    """Importable public modules of the package, sorted (the package itself first)."""
    return list(_public_modules())
