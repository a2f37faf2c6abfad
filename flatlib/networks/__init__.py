"""Neural networks: the model, the data, training, the measures and the study.

Modules
-------
mlp          fully connected ReLU networks (backprop, exact Hessian-vector products)
rescaling    the rescaling symmetry: rescale, charges, generators, the balanced point
digits       scikit-learn's bundled 8x8 digits, split and standardized
training     GD / SGD / SAM training, digits networks from a configuration
sweep        a function mapped over configurations through any Executor
measures     flatness measures at a trained net, raw and balanced
ranking      Kendall tau with bootstrap intervals
study        train and measure one configuration (the unit of the network study)

Layer: like ``flatlib.problems``, this package imports the core (``flatlib/*.py``) and
``flatlib.problems.base``; the core never imports it.
"""
from .mlp import MLP, BalanceResult
from .digits import load_digits
from .training import DEFAULT_CONFIG, TrainResult, model_from_config, train, train_from_config
from .sweep import sweep
from .measures import MEASURES, NetworkMeasures, adaptive_sharpness, network_measures, orbit_measures
from .ranking import kendall_tau_ci
from .study import train_and_measure

__all__ = [
    "MLP", "BalanceResult", "load_digits",
    "train", "TrainResult", "train_from_config", "model_from_config", "DEFAULT_CONFIG",
    "sweep",
    "MEASURES", "NetworkMeasures", "network_measures", "adaptive_sharpness", "orbit_measures",
    "kendall_tau_ci", "train_and_measure",
]
