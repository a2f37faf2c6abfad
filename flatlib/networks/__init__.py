"""Neural networks: the model, the data, training, the measures and the study.

Modules
-------
mlp          fully connected ReLU networks (backprop, exact Hessian-vector products)
rescaling    the rescaling symmetry: rescale, charges, generators, the balanced point
digits       scikit-learn's bundled 8x8 digits, split and standardized
training     GD / SGD / SAM training, digits networks from a configuration
sweep        a function mapped over configurations through any Executor (resumable)
search       escalating multistart maximization on a ball, with the evidence of convergence
measures     flatness measures at a trained net, raw and balanced
robustness   robust accuracy under an L2 PGD attack on the inputs
ranking      Kendall tau, Jiang et al.'s granulated coefficient, within-group tau (bootstrap)
study        the network study: grid, one run per net, results/network_study.csv

Layer: like ``flatlib.problems``, this package imports the core (``flatlib/*.py``) and
``flatlib.problems.base``; the core never imports it.
"""
from .mlp import MLP, BalanceResult
from .digits import load_digits
from .training import DEFAULT_CONFIG, TrainResult, model_from_config, train, train_from_config
from .sweep import SweepError, sweep
from .search import SearchResult, ball_max
from .measures import MEASURES, NetworkMeasures, adaptive_sharpness, network_measures, orbit_measures
from .robustness import pgd_robust_accuracy
from .ranking import granulated_kendall, kendall_tau_ci, within_group_tau
from .study import read_study, run_study, study_configs, train_and_measure

__all__ = [
    "MLP", "BalanceResult", "load_digits",
    "train", "TrainResult", "train_from_config", "model_from_config", "DEFAULT_CONFIG",
    "sweep", "SweepError", "ball_max", "SearchResult",
    "MEASURES", "NetworkMeasures", "network_measures", "adaptive_sharpness", "orbit_measures",
    "pgd_robust_accuracy",
    "kendall_tau_ci", "granulated_kendall", "within_group_tau",
    "train_and_measure", "study_configs", "run_study", "read_study",
]
