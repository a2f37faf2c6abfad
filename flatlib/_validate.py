"""Input checks shared by every public function.

Every error names the offending argument, so that a user sees *which* input
was bad; nothing here lets a NaN through silently.
"""
from __future__ import annotations

import numbers

import numpy as np


class NonFiniteError(ValueError):
    """A user function returned NaN or an infinity (raised by :class:`scalar_fn` and
    :class:`vector_fn`); a ``ValueError``, told apart from the errors the user's own code raises."""


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


def _real_array(v, name, what):
    """``v`` as a float ndarray (a copy). Strings, booleans and complex numbers are refused with a
    ``TypeError`` naming ``name`` (numpy would read ``"0.1"`` as 0.1, ``True`` as 1 and drop an
    imaginary part with only a warning)."""
    if _contains_string(v):
        raise TypeError(f"{name} must be {what}, got strings: {v!r}"[:200])
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}, got bool")
    try:
        raw = np.asarray(v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {what}, got {type(v).__name__}") from exc
    if raw.dtype.kind == "c":
        raise TypeError(f"{name} must be {what}, got complex values (the imaginary part would be "
                        f"discarded)")
    if raw.dtype.kind == "b":
        raise TypeError(f"{name} must be {what}, got booleans")
    try:
        return np.array(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {what}, got {type(v).__name__}") from exc


def as_point(x, name="x", n=None):
    """Return ``x`` as a finite 1-D float array (a copy). Strings, booleans and complex numbers
    are refused (``TypeError``)."""
    arr = _real_array(x, name, "a 1-D array of real numbers")
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


def as_real_array(v, name, ndim=None):
    """``v`` as a finite float array (a copy) with ``ndim`` dimensions when given; every error
    names ``name`` (strings, booleans, complex numbers: ``TypeError``; wrong shape, empty,
    NaN or infinity: ``ValueError``)."""
    arr = _real_array(v, name, "an array of real numbers")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def as_nonneg(r, name="radius", allow_inf=False, strictly_positive=False):
    """Return ``r`` as a float (scalar input) or a 1-D float array; all entries
    must be finite (unless ``allow_inf``) and >= 0 (> 0 if ``strictly_positive``).
    Booleans and strings (even numeric ones like ``"0.1"``) are refused with a ``TypeError``."""
    if type(r) is float and r >= 0 and (r > 0 or not strictly_positive) and (allow_inf or r != np.inf):
        return r  # fast path (a plain float in range; NaN fails r >= 0): same result as below
    arr = _real_array(r, name, "a real number or 1-D array")
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
        raise ValueError(f"{name} must be a positive integer, got {k!r}"[:200])
    return int(k)


def as_int(k, name, low=None, high=None):
    """``k`` as a Python int in ``[low, high]`` (either end may be ``None``); booleans, floats,
    strings ... are refused with a ``ValueError`` naming ``name``."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {k!r}"[:200])
    k = int(k)
    if (low is not None and k < low) or (high is not None and k > high):
        rng = (f">= {low}" if high is None else f"<= {high}" if low is None
               else f"between {low} and {high}")
        raise ValueError(f"{name} must be an integer {rng}, got {k}")
    return k


def as_scalar(v, name, *, low=None, high=None, low_open=False, high_open=False, allow_inf=False,
              allow_none=False):
    """``v`` as a Python float in the interval from ``low`` to ``high`` (open ends with
    ``low_open``/``high_open``; ``None``: unbounded). Booleans, strings, complex numbers, arrays
    and ``None`` (unless ``allow_none``) are refused with a ``TypeError``; NaN, infinities (unless
    ``allow_inf``) and values out of range with a ``ValueError``; every message names ``name``."""
    if v is None and allow_none:
        return None
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got bool")
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if not isinstance(v, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}: {v!r}"[:200])
    v = float(v)
    if np.isnan(v) or (np.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite real number, got {v!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {v!r}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high:g}, got {v!r}")
    return v


def as_bool(v, name):
    """``v`` as a Python bool; anything but ``True``/``False`` (numpy booleans included) is a
    ``TypeError`` naming ``name`` (a string such as ``"no"`` would otherwise count as true)."""
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(v).__name__}: {v!r}"[:200])
    return bool(v)


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
            raise NonFiniteError(f"{self.name} returned {v} at the point {_short(y)}")
        return v


class vector_fn:
    """Wrap a gradient-like map ``g: R^n -> R^n``; checks shape and finiteness. ``point`` names
    the argument whose length ``n`` is (for the message of a shape mismatch)."""

    def __init__(self, g, n, name="grad", point="x"):
        self.g = check_callable(g, name)
        self.n = n
        self.name = name
        self.point = point
        self.ncalls = 0

    def __call__(self, y):
        self.ncalls += 1
        v = self.g(y)
        if type(v) is not np.ndarray or v.dtype != np.float64:
            v = returned_floats(v, self.name)
        if v.shape != (self.n,):
            v = v.reshape(-1) if v.size == self.n else v
            if v.shape != (self.n,):
                raise ValueError(f"{self.name} must return an array of shape ({self.n},) (the length "
                                 f"of {self.point}), got {np.shape(v)}")
        if not np.all(np.isfinite(v)):
            what = "nan" if np.any(np.isnan(v)) else "inf (an overflow?)"
            raise NonFiniteError(f"{self.name} returned non-finite values ({what}) at the point {_short(y)}")
        return v


def returned_floats(v, name):
    """The value returned by the user's function ``name`` as a float array: complex values,
    booleans and strings are a ``TypeError`` naming ``name`` (never a silently dropped imaginary
    part)."""
    try:
        raw = np.asarray(v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must return an array of real numbers, got {type(v).__name__}") from exc
    if raw.dtype.kind not in "fiu":
        what = {"c": "complex values", "b": "booleans", "U": "strings", "S": "strings"}.get(
            raw.dtype.kind, f"dtype {raw.dtype}")
        if raw.dtype.kind != "O":
            raise TypeError(f"{name} must return real numbers, got {what}")
        try:
            return np.array([real_scalar(e, name) for e in raw.ravel()]).reshape(raw.shape)
        except TypeError:
            raise
    return np.asarray(raw, dtype=float)


def _short(y):
    y = np.asarray(y)
    return np.array2string(y, precision=4, threshold=6)
