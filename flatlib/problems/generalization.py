"""Deprecated alias: moved to :mod:`flatlib.networks.measures` (measures),
:mod:`flatlib.networks.ranking` (Kendall tau) and :mod:`flatlib.networks.study`
(``train_and_measure``); this name goes away in the next release."""
import warnings as _warnings

from ..networks.measures import (MEASURES, NetworkMeasures, adaptive_sharpness,  # noqa: F401
                                 network_measures, orbit_measures)
from ..networks.ranking import kendall_tau_ci  # noqa: F401
from ..networks.study import train_and_measure  # noqa: F401

__all__ = ["MEASURES", "NetworkMeasures", "network_measures", "adaptive_sharpness",
           "kendall_tau_ci", "orbit_measures", "train_and_measure"]

_warnings.warn("flatlib.problems.generalization moved to flatlib.networks (measures, ranking, study); "
               "the old name will be removed in the next release", DeprecationWarning, stacklevel=2)
