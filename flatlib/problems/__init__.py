"""Worked problems: small functions with known structure and symmetries.

Every problem follows the protocol of :class:`flatlib.problems.base.Problem`
(``n``, ``f``, ``grad``, ``hvp``, ``hess``, ``generators``).

Modules
-------
base                  the problem protocol
scalar, relu          scalar and deep scalar factorization, |xy - 1|, a two-layer ReLU network
matrix_factorization  the worked case ½||XYᵀ - M||² (balanced factors, Hessian, f° along the orbit)
balancing             the balancing flow X' = -XC, Y' = YC and the orbit's balanced point
mlp                   fully connected ReLU networks (backprop, exact HVP, rescaling, balance)
digits                scikit-learn's bundled 8x8 digits, split and standardized
training              GD / SGD / SAM training and sweeps through any Executor
generalization        measures at a trained net (raw and balanced), Kendall tau with bootstrap

Worked problems import the core (``flatlib/*.py``); the core never imports them.
"""
from .base import Problem
from .relu import TwoLayerReLU
from .mlp import MLP
from .digits import load_digits
from .training import TrainResult, sweep, train, train_from_config
from .scalar import AbsScalarFactorization, DeepScalar, RotationInvariant, ScalarFactorization
from .matrix_factorization import MatrixFactorization

__all__ = [
    "Problem",
    "ScalarFactorization",
    "AbsScalarFactorization",
    "DeepScalar",
    "RotationInvariant",
    "TwoLayerReLU",
    "MLP",
    "load_digits",
    "train",
    "TrainResult",
    "sweep",
    "train_from_config",
    "MatrixFactorization",
]
