r"""The handwritten-digits data set bundled with scikit-learn, split and standardized.

``sklearn.datasets.load_digits``: 1,797 grey-level 8×8 images (64 features, values
0..16) of the digits 0–9, read from the installed scikit-learn package (no
download).  :func:`load_digits` draws a seeded, class-stratified train/test split
(``sklearn.model_selection.train_test_split`` with ``stratify=y``) and
standardizes every feature with the *training* mean and standard deviation
(``x -> (x - μ_train) / σ_train``; features constant on the training set, e.g.
always-blank border pixels, get ``σ = 1``), so no test statistic leaks into the
inputs.
"""
from __future__ import annotations

import numbers
from functools import lru_cache

import numpy as np

__all__ = ["load_digits", "N_DIGITS"]

N_DIGITS = 1797


@lru_cache(maxsize=1)
def _raw():
    from sklearn.datasets import load_digits as _sk_load

    X, y = _sk_load(return_X_y=True)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _int(v, name, lo, hi):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return int(v)


def load_digits(n_train=200, seed=0, n_test=None, *, standardize=True):
    r"""Seeded stratified split of scikit-learn's digits, standardized with training statistics.

    Parameters
    ----------
    n_train : int
        Training samples, in ``[10, 1787]`` (every class must appear on both sides).
    seed : int
        Seed of the split (``random_state`` of ``train_test_split``); the same seed
        gives the same split on every platform.
    n_test : int, optional
        Test samples (default: all the others, ``1797 - n_train``).
    standardize : bool
        Standardize the features with the training mean and standard deviation
        (default ``True``); otherwise the raw pixel values 0..16.

    Returns
    -------
    X_train : ndarray (n_train, 64)
    y_train : ndarray (n_train,) of int in 0..9
    X_test : ndarray (n_test, 64)
    y_test : ndarray (n_test,)

    Examples
    --------
    >>> import numpy as np
    >>> Xtr, ytr, Xte, yte = load_digits(100, seed=0)
    >>> Xtr.shape, Xte.shape
    ((100, 64), (1697, 64))
    >>> np.bincount(ytr).tolist()              # stratified: 10 per class
    [10, 10, 10, 10, 10, 10, 10, 10, 10, 10]
    >>> bool(np.allclose(Xtr.mean(axis=0), 0.0, atol=1e-12))
    True
    """
    from sklearn.model_selection import train_test_split

    n_train = _int(n_train, "n_train", 10, N_DIGITS - 10)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed must be a nonnegative integer, got {seed!r}")
    if n_test is None:
        n_test = N_DIGITS - n_train
    n_test = _int(n_test, "n_test", 10, N_DIGITS - n_train)
    X, y = _raw()
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=n_train, test_size=n_test,
                                          stratify=y, random_state=int(seed))
    Xtr = np.array(Xtr, dtype=float)
    Xte = np.array(Xte, dtype=float)
    if standardize:
        mu = Xtr.mean(axis=0)
        sd = Xtr.std(axis=0)
        sd[sd == 0] = 1.0
        Xtr = (Xtr - mu) / sd
        Xte = (Xte - mu) / sd
    return Xtr, np.array(ytr, dtype=np.int64), Xte, np.array(yte, dtype=np.int64)
