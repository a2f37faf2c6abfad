r"""The handwritten-digits data set bundled with scikit-learn, split and standardized.

``sklearn.datasets.load_digits``: 1,797 grey-level 8×8 images (64 features, values
0..16) of the digits 0–9, read from the installed scikit-learn package (no
download).  :func:`load_digits` draws a seeded, class-stratified train/test split
and standardizes every feature with the *training* mean and standard deviation
(``x -> (x - μ_train) / σ_train``; features constant on the training set, e.g.
always-blank border pixels, get ``σ = 1``), so no test statistic leaks into the
inputs.

The split is drawn with numpy alone (``numpy.random.default_rng(seed)``), not with
scikit-learn's splitters, so that it does not depend on the scikit-learn version:
class ``c`` (``n_c`` images) gets ``a_c`` training images, the largest-remainder
rounding of ``n_train · n_c / 1797`` (ties to the smaller class label), and ``t_c``
test images, the same rounding of ``n_test`` over the remaining counts ``n_c - a_c``;
within each class, in label order, one permutation ``rng.permutation`` of its indices
gives the first ``a_c`` to training and the next ``t_c`` to test.  Both sets are
returned in the order of the original data set.
"""
from __future__ import annotations

import numbers
from functools import lru_cache

import numpy as np

__all__ = ["load_digits", "N_DIGITS"]

N_DIGITS = 1797


@lru_cache(maxsize=1)
def _raw():
    # The data file ships inside scikit-learn (sklearn/datasets/data/digits.csv.gz: 64 pixel
    # columns, then the label).  Reading it directly avoids importing scikit-learn (~2 s);
    # if the file is not where it has been since scikit-learn 0.x, ask scikit-learn.
    import importlib.util
    import os

    spec = importlib.util.find_spec("sklearn")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data", "digits.csv.gz")
    if path is not None and os.path.exists(path):
        data = np.loadtxt(path, delimiter=",")
        X, y = data[:, :-1], data[:, -1]
    else:
        from sklearn.datasets import load_digits as _sk_load

        X, y = _sk_load(return_X_y=True)
    if X.shape != (N_DIGITS, 64):
        raise RuntimeError(f"unexpected digits data of shape {X.shape}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _allocate(total, counts):
    """Largest-remainder rounding of ``total · counts / sum(counts)`` (ties: smaller index)."""
    counts = np.asarray(counts, dtype=np.int64)
    quota = total * counts / counts.sum()
    base = np.floor(quota).astype(np.int64)
    rem = quota - base
    extra = total - int(base.sum())
    order = np.lexsort((np.arange(counts.size), -rem))      # largest remainder first
    base[order[:extra]] += 1
    return np.minimum(base, counts)


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
        Seed of the split (``numpy.random.default_rng(seed)``; see the module docstring);
        the same seed gives the same split on every platform and scikit-learn version.
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
    n_train = _int(n_train, "n_train", 10, N_DIGITS - 10)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed must be a nonnegative integer, got {seed!r}")
    if n_test is None:
        n_test = N_DIGITS - n_train
    n_test = _int(n_test, "n_test", 10, N_DIGITS - n_train)
    X, y = _raw()
    classes = np.arange(10)
    idx = [np.flatnonzero(y == c) for c in classes]
    counts = np.array([i.size for i in idx])
    a = _allocate(n_train, counts)
    b = _allocate(n_test, counts - a)
    rng = np.random.default_rng(int(seed))
    tr, te = [], []
    for c in classes:
        perm = rng.permutation(idx[c])
        tr.append(perm[:a[c]])
        te.append(perm[a[c]:a[c] + b[c]])
    tr, te = np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))
    Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
    Xtr = np.array(Xtr, dtype=float)
    Xte = np.array(Xte, dtype=float)
    if standardize:
        mu = Xtr.mean(axis=0)
        sd = Xtr.std(axis=0)
        sd[sd == 0] = 1.0
        Xtr = (Xtr - mu) / sd
        Xte = (Xte - mu) / sd
    return Xtr, np.array(ytr, dtype=np.int64), Xte, np.array(yte, dtype=np.int64)
