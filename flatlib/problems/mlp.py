"""Deprecated alias of :mod:`flatlib.networks.mlp` (moved there; this name goes away in the next release)."""
import warnings as _warnings

from ..networks.mlp import *  # noqa: F401,F403
from ..networks.mlp import __all__  # noqa: F401

_warnings.warn("flatlib.problems.mlp moved to flatlib.networks.mlp; the old name will be removed "
               "in the next release", DeprecationWarning, stacklevel=2)
