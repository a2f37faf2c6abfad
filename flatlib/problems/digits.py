"""Deprecated alias of :mod:`flatlib.networks.digits` (moved there; this name goes away in the next release)."""
import warnings as _warnings

from ..networks.digits import *  # noqa: F401,F403
from ..networks.digits import __all__  # noqa: F401

_warnings.warn("flatlib.problems.digits moved to flatlib.networks.digits; the old name will be removed "
               "in the next release", DeprecationWarning, stacklevel=2)
