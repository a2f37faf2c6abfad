"""Worked problems: small functions with known structure and symmetries.

Every problem follows the protocol of :class:`flatlib.problems.base.Problem`
(``n``, ``f``, ``grad``, ``hvp``, ``hess``, ``generators``).

Modules
-------
base                  the problem protocol
scalar, relu          scalar and deep scalar factorization, |xy - 1|, a two-layer ReLU network
matrix_factorization  the worked case ½||XYᵀ - M||² (balanced factors, Hessian, f° along the orbit)
factored_factorization  the same loss with M = ABᵀ given by its factors (millions of parameters)
balancing             the balancing flow X' = -XC, Y' = YC and the orbit's balanced point
deep_factorization    ½||W_L ... W_1 - M||²: λ_max at minimizers, spectral-norm balance
diagonal_linear       the diagonal linear network β = u⊙u - v⊙v (implicit bias of GD and SAM)

The networks (model, data, training, measures, the study) moved to ``flatlib.networks``;
``flatlib.problems.MLP``, ``load_digits``, ``train``, ``TrainResult``, ``sweep``,
``train_from_config`` and the modules ``mlp``, ``digits``, ``training``, ``generalization``
still work for one release, with a DeprecationWarning.

Worked problems import the core (``flatlib/*.py``); the core never imports them.
"""
from .base import Problem
from .relu import TwoLayerReLU
from .scalar import AbsScalarFactorization, DeepScalar, RotationInvariant, ScalarFactorization
from .matrix_factorization import MatrixFactorization
from .factored_factorization import FactoredMatrixFactorization
from .deep_factorization import DeepFactorization
from .diagonal_linear import DiagonalLinearNetwork

__all__ = [
    "Problem",
    "ScalarFactorization",
    "AbsScalarFactorization",
    "DeepScalar",
    "RotationInvariant",
    "TwoLayerReLU",
    "MatrixFactorization",
    "FactoredMatrixFactorization",
    "DeepFactorization",
    "DiagonalLinearNetwork",
]

_MOVED = {"MLP": "MLP", "load_digits": "load_digits", "train": "train", "TrainResult": "TrainResult",
          "sweep": "sweep", "train_from_config": "train_from_config"}


def __getattr__(name):
    # the networks moved to flatlib.networks: the old names resolve, with a warning, for one release
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(f"flatlib.problems.{name} moved to flatlib.networks.{name}; the old name will be "
                      "removed in the next release", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("flatlib.networks"), _MOVED[name])
    raise AttributeError(f"module 'flatlib.problems' has no attribute {name!r}")
