"""Deprecated alias of :mod:`flatlib.networks.training` (moved there; this name goes away in the next release)."""
import warnings as _warnings

from ..networks.training import *  # noqa: F401,F403
from ..networks.sweep import sweep  # noqa: F401
from ..networks.training import __all__ as _all

__all__ = [*_all, "sweep"]

_warnings.warn("flatlib.problems.training moved to flatlib.networks.training; the old name will be removed "
               "in the next release", DeprecationWarning, stacklevel=2)
