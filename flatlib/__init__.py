"""flatlib: the reproducible companion to *On the geometry of flat minima*
(C. Josz, arXiv:2509.11386).

Core definitions
----------------
max_variation      f°(x, r) = sup_{||y-x|| <= r} |f(y) - f(x)|
level_distance     f¯(x, d) = dist(x, {y : |f(y) - f(x)| >= d})
flatness_order     (a, c) with f°(x, r) ~ c r^a as r -> 0
compare_flatness   the flatness preorder (eventual or asymptotic)
Quadratic          quadratics with exact profiles (trust-region subproblems)
"""
from .profiles import LevelDistanceResult, MaxVariationResult, level_distance, max_variation
from .preorder import ComparisonResult, FlatnessOrderResult, compare_flatness, flatness_order
from .quadratic import Quadratic, trust_region_max

__version__ = "0.1.0"

__all__ = [
    "max_variation", "level_distance", "flatness_order", "compare_flatness",
    "Quadratic", "trust_region_max",
    "MaxVariationResult", "LevelDistanceResult", "FlatnessOrderResult", "ComparisonResult",
]
