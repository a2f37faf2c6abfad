"""Input checks shared by every public function.

Every error names the offending argument, so that a user sees *which* input
was bad; nothing here lets a NaN through silently.
"""
from __future__ import annotations

import numbers

import numpy as np


def _contains_string(v):
    """True if ``v`` is a string or a (nested) list/array holding one: numpy converts ``"0.1"``
    to ``0.1`` silently while ``"abc"`` raises, so every string is refused the same way."""
    if isinstance(v, (str, bytes, np.str_, np.bytes_)):
        return True
    if isinstance(v, np.ndarray):
        if v.dtype.kind in ("U", "S"):
            return True
        return v.dtype.kind == "O" and any(_contains_string(e) for e in v.ravel())
    if isinstance(v, (list, tuple)):
        return any(_contains_string(e) for e in v)
    return False


def as_point(x, name="x", n=None):
    """Return ``x`` as a finite 1-D float array (a copy). Strings are refused (``TypeError``)."""
    if _contains_string(x):
        raise TypeError(f"{name} must be a 1-D array of real numbers, got strings: {x!r}"[:200])
    try:
        arr = np.array(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-D array of real numbers, got {type(x).__name__}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got non-finite entries at indices "
                         f"{np.flatnonzero(~np.isfinite(arr)).tolist()[:5]}")
    return arr


def as_nonneg(r, name="radius", allow_inf=False, strictly_positive=False):
    """Return ``r`` as a float (scalar input) or a 1-D float array; all entries
    must be finite (unless ``allow_inf``) and >= 0 (> 0 if ``strictly_positive``).
    Booleans and strings (even numeric ones like ``"0.1"``) are refused with a ``TypeError``."""
    if type(r) is float and r >= 0 and (r > 0 or not strictly_positive) and (allow_inf or r != np.inf):
        return r  # fast path (a plain float in range; NaN fails r >= 0): same result as below
    if isinstance(r, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or 1-D array, got bool")
    if _contains_string(r):
        raise TypeError(f"{name} must be a real number or 1-D array, got a string: {r!r}"[:200])
    try:
        arr = np.array(r, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or 1-D array, got {type(r).__name__}") from exc
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
    if arr.ndim == 1 and arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.any(np.isnan(arr)) or (not allow_inf and np.any(np.isinf(arr))):
        raise ValueError(f"{name} must be finite, got {r!r}")
    if strictly_positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {r!r}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {r!r}")
    return float(arr) if arr.ndim == 0 else arr


def as_positive_int(k, name):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}")
    return int(k)


def check_callable(f, name):
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")
    return f


def as_rng(rng, name="rng"):
    """Return a :class:`numpy.random.Generator` from ``None | int | Generator``.

    ``None`` gives ``numpy.random.default_rng(0)`` (a *fixed* seed, so that
    every flatlib computation is reproducible by default).
    """
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"{name} must be None, an int seed or a numpy Generator, got bool")
    if isinstance(rng, (int, np.integer)):
        if rng < 0:
            raise ValueError(f"{name} seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be None, an int seed or a numpy Generator, got {type(rng).__name__}")


def real_scalar(v, name="f"):
    """``v`` as a Python float; ``TypeError`` naming ``name`` if it is not a real scalar
    (booleans, arrays of size != 1, strings ...). Finiteness is checked by the caller."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must return a real scalar, got a boolean")
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise TypeError(f"{name} must return a scalar, got an array of shape {v.shape}")
        v = v.reshape(())[()]
    if not isinstance(v, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must return a real scalar, got {type(v).__name__}")
    return float(v)


class scalar_fn:
    """Wrap ``f`` so that every call returns a finite Python float.

    Raises ``TypeError`` when ``f`` returns something that is not a real scalar
    and ``ValueError`` when it returns NaN or an infinity, naming ``f`` and the
    point. Counts evaluations in ``ncalls``.
    """

    def __init__(self, f, name="f"):
        self.f = check_callable(f, name)
        self.name = name
        self.ncalls = 0

    def __call__(self, y):
        self.ncalls += 1
        v = real_scalar(self.f(y), self.name)
        if not np.isfinite(v):
            raise ValueError(f"{self.name} returned {v} at the point {_short(y)}")
        return v


class vector_fn:
    """Wrap a gradient-like map ``g: R^n -> R^n``; checks shape and finiteness."""

    def __init__(self, g, n, name="grad"):
        self.g = check_callable(g, name)
        self.n = n
        self.name = name
        self.ncalls = 0

    def __call__(self, y):
        self.ncalls += 1
        v = np.asarray(self.g(y), dtype=float)
        if v.shape != (self.n,):
            v = v.reshape(-1) if v.size == self.n else v
            if v.shape != (self.n,):
                raise ValueError(f"{self.name} must return an array of shape ({self.n},), got {np.shape(v)}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{self.name} returned non-finite values at the point {_short(y)}")
        return v


def _short(y):
    y = np.asarray(y)
    return np.array2string(y, precision=4, threshold=6)
