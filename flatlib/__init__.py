"""flatlib: the reproducible companion to *On the geometry of flat minima*
(C. Josz, arXiv:2509.11386).

Core definitions (``flatlib/profiles.py``, ``preorder.py``, ``quadratic.py``)
---------------------------------------------------------------------------
max_variation      f°(x, r) = sup_{||y-x|| <= r} |f(y) - f(x)|
level_distance     f¯(x, d) = dist(x, {y : |f(y) - f(x)| >= d})
flatness_order     (a, c) with f°(x, r) ~ c r^a as r -> 0
compare_flatness   the flatness preorder (eventual, strong or asymptotic)
Quadratic          quadratics with exact profiles (trust-region subproblems)

Further modules
---------------
flatlib.bracket             branch and bound closing value <= f° <= upper (Lipschitz or Hessian bound)
flatlib.certify             certified bracket of f° on small problems (grid + Lipschitz)
flatlib.calculus            calculus rules (first/second-order, directional, separable sums)
flatlib.spectral            Hessian lambda_max / lambda_min (Lanczos) and trace (Hutchinson)
flatlib.curvature           top-k eigenpairs with residuals, Hutch++ / deflated traces, SLQ density, per-layer blocks
flatlib.sharpness           classical sharpness: epsilon-sharpness, SAM, sublevel volume
flatlib.symmetry            symmetry algebra from the gradient, Noether charges
flatlib.flows               gradient / subgradient flows and descent, conserved-quantity flows
flatlib.dynamics            normalized GD, SAM (one-step, exact, batch size 1), warm-started lambda_max tracking
flatlib.problems.matrix_factorization   the worked case ½||XYᵀ - M||²
flatlib.problems.balancing           the balancing flow X' = -XC, Y' = YC and the orbit's balanced point
flatlib.problems            small worked problems (scalar, deep scalar, |xy-1|, ReLU network)
flatlib.networks            ReLU networks on digits: model, rescaling symmetry, training, measures, the study

``flatlib.problems`` and ``flatlib.networks`` are attributes of the package, loaded on first
access (``import flatlib as fl; fl.problems.ScalarFactorization``): ``import flatlib`` alone
loads the core only.

Every result with a numerical ``value`` behaves as that value in arithmetic (``float(res)``,
``0.5 * res``, ``np.asarray(res)``; see ``flatlib._results``):

>>> import flatlib as fl
>>> res = fl.max_variation(lambda y: float(y @ y), [0.0, 0.0], 0.5)
>>> round(float(res), 12), round(2 * res, 12), "problems" in dir(fl)
(0.25, 0.5, True)
"""
from .profiles import (FiniteDifferenceWarning, LevelDistanceResult, MaxVariationResult,
                       level_distance, max_variation)
from .preorder import ComparisonResult, FlatnessOrderResult, compare_flatness, flatness_order
from .quadratic import Quadratic, trust_region_max
from .spectral import hessian_lambda_max, hessian_lambda_min, hessian_trace
from .symmetry import conserved_quantities, symmetry_algebra
from .flows import conserved_flow, gradient_descent, gradient_flow, subgradient_descent, subgradient_flow
from . import calculus, certify, dynamics, sharpness
from . import curvature
from .certify import certified_max_variation

__version__ = "0.1.0"

__all__ = [
    "max_variation", "level_distance", "flatness_order", "compare_flatness",
    "Quadratic", "trust_region_max",
    "MaxVariationResult", "LevelDistanceResult", "FlatnessOrderResult", "ComparisonResult",
    "hessian_lambda_max", "hessian_lambda_min", "hessian_trace",
    "symmetry_algebra", "conserved_quantities",
    "gradient_flow", "gradient_descent", "subgradient_flow", "subgradient_descent", "conserved_flow",
    "certified_max_variation", "calculus", "certify", "dynamics", "sharpness",
    "FiniteDifferenceWarning",
]


def __getattr__(name):
    # the upper-layer subpackages load on first use (``fl.networks.MLP``): ``import flatlib``
    # itself never imports them (tests/test_layering.py)
    if name in ("problems", "networks"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"problems", "networks"})
