r"""The network study: train a digits network from its configuration and measure it.
"""
from __future__ import annotations

__all__ = ["train_and_measure"]


def train_and_measure(config, measure_kwargs=None):
    """Train one digits network (:func:`~flatlib.networks.train_from_config`)
    and measure it (:func:`network_measures`).  Module-level, so that
    ``functools.partial(train_and_measure, measure_kwargs=...)`` can be mapped by
    :func:`~flatlib.networks.sweep` in a process pool.

    Returns
    -------
    dict
        ``config``, ``steps``, ``stop_reason``, ``train_loss``, ``train_error``,
        ``test_loss``, ``test_error``, ``gap_loss``, ``gap_error``, ``theta``,
        ``raw`` and ``balanced`` (dicts of measures).

    Examples
    --------
    >>> out = train_and_measure({"n_train": 100, "hidden": (16,), "lr": 0.5, "steps": 2000},
    ...                         {"which": ("lambda_max",)})
    >>> out["stop_reason"], sorted(out["raw"])
    ('loss_threshold', ['lambda_max'])
    """
    from .measures import network_measures
    from .training import model_from_config, train_from_config

    res = train_from_config(config)
    model, _, _ = model_from_config(res.extra["config"])
    m = network_measures(model, res.theta, **(measure_kwargs or {}))
    ex = res.extra
    return dict(config=ex["config"], steps=res.steps, stop_reason=res.stop_reason,
                train_loss=res.loss, train_error=1.0 - res.accuracy, test_loss=ex["test_loss"],
                test_error=1.0 - ex["test_accuracy"], gap_loss=ex["gap_loss"], gap_error=ex["gap_error"],
                theta=res.theta, raw=m.raw, balanced=m.balanced)
