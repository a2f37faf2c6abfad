"""Result objects that behave as the number they compute.

Every flatlib result with a single numerical ``value`` (``MaxVariationResult``,
``LevelDistanceResult``, ``EigenResult``, ``TraceResult``, the sharpness results,
``DirectionalConstantResult``, ``SeparableResult``, ``TrustRegionResult``,
``QuadraticVariationResult``) stays a result object (its other fields: the maximizer,
the bracket, the evaluation counts, the message) and is also usable as that value:

* ``float(res)`` is ``float(res.value)`` (a ``TypeError`` naming the type when ``value``
  holds several numbers, e.g. a profile over several radii: use ``res.value``);
* arithmetic and comparisons with numbers (or other results) act on ``value``:
  ``0.5 * res``, ``res / r ** 2``, ``res - other``, ``res > 1e-3``, ``abs(res)``, ``round(res, 3)``;
* ``np.asarray(res)`` (and every numpy function, ``np.sqrt(res)``) sees ``value``;
* ``f"{res:.4f}"`` formats ``value`` (``f"{res}"`` without a format spec is the repr).

Equality ``==`` stays the comparison of whole results (all fields); compare
``res.value`` or ``float(res)`` with a number.

Examples
--------
>>> import numpy as np
>>> from flatlib import hessian_lambda_max
>>> lam = hessian_lambda_max(lambda x, v: np.array([2.0 * v[0], v[1]]), np.zeros(2))
>>> float(lam), 0.5 * lam, lam / 4, lam > 1.5, f"{lam:.2f}"
(2.0, 1.0, 0.5, True, '2.00')
"""
from __future__ import annotations

import operator

import numpy as np

__all__ = ["ScalarResult", "add_scalar_protocol"]


def _unwrap(v):
    return v.value if isinstance(v, ScalarResult) or getattr(v, "_is_scalar_result", False) else v


def _float(self):
    v = self.value
    if np.ndim(v) != 0:
        if np.size(v) == 1:
            return float(np.asarray(v, dtype=float).reshape(()))
        raise TypeError(f"float() of a {type(self).__name__} holding {np.size(v)} values "
                        f"(one per radius or point): use its .value array")
    return float(v)


def _array(self, dtype=None, copy=None):
    a = np.asarray(self.value, dtype=dtype)
    return a.copy() if copy else a


def _format(self, spec):
    if not spec:
        return str(self)
    return format(_unwrap(self) if np.ndim(self.value) else float(self), spec)


def _round(self, ndigits=None):
    return round(float(self), ndigits)


def _binary(op):
    def forward(self, other):
        other = _unwrap(other)
        try:
            return op(self.value, other)
        except TypeError:
            return NotImplemented

    def reflected(self, other):
        other = _unwrap(other)
        try:
            return op(other, self.value)
        except TypeError:
            return NotImplemented

    return forward, reflected


def _unary(op):
    def method(self):
        return op(self.value)
    return method


_METHODS = {"__float__": _float, "__array__": _array, "__format__": _format, "__round__": _round,
            "__neg__": _unary(operator.neg), "__pos__": _unary(operator.pos),
            "__abs__": _unary(abs)}
for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow)):
    _METHODS[f"__{_name}__"], _METHODS[f"__r{_name}__"] = _binary(_op)
for _name, _op in (("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge)):
    _METHODS[f"__{_name}__"] = _binary(_op)[0]


class ScalarResult:
    """Mixin of the results with a numerical ``value``: ``float()``, arithmetic, comparisons
    and numpy conversion act on ``value`` (module docstring)."""

    __slots__ = ()


for _name, _m in _METHODS.items():
    setattr(ScalarResult, _name, _m)


def add_scalar_protocol(cls):
    """Give the class ``cls`` (e.g. a ``NamedTuple``, which cannot take a mixin) the methods of
    :class:`ScalarResult`; returns ``cls``. For a tuple, ``+`` and ``*`` then act on ``value``
    (not concatenation and repetition); unpacking and indexing are unchanged."""
    for name, m in _METHODS.items():
        setattr(cls, name, m)
    cls._is_scalar_result = True
    return cls
