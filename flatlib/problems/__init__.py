"""Worked problems: small functions with known structure and symmetries.

Every problem follows the protocol of :class:`flatlib.problems.base.Problem`
(``n``, ``f``, ``grad``, ``hvp``, ``hess``, ``generators``).
"""
from .base import Problem
from .relu import TwoLayerReLU
from .scalar import AbsScalarFactorization, DeepScalar, RotationInvariant, ScalarFactorization

__all__ = [
    "Problem",
    "ScalarFactorization",
    "AbsScalarFactorization",
    "DeepScalar",
    "RotationInvariant",
    "TwoLayerReLU",
]

# Matrix factorization lives in flatlib.matrix_factorization (written
# separately, and it imports flatlib.problems.base).  Re-export it here
# *lazily* (PEP 562 module __getattr__) so that every problem can be imported
# from flatlib.problems without a circular import, and so that this package
# keeps working when that module is absent (then the attribute simply does
# not exist).
import importlib.util as _ilu

if _ilu.find_spec("flatlib.matrix_factorization") is not None:
    __all__.append("MatrixFactorization")


def __getattr__(name):
    if name == "MatrixFactorization":
        try:
            from ..matrix_factorization import MatrixFactorization
        except ModuleNotFoundError as exc:
            if exc.name != "flatlib.matrix_factorization":
                raise
            raise AttributeError("MatrixFactorization is unavailable: the module "
                                 "flatlib.matrix_factorization does not exist") from None
        return MatrixFactorization
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
