"""Operators and methods of Tensor, attached in one place.

Besides NumPy's names (``axis``, ``keepdims``), the methods PyTorch users reach
for work as in PyTorch: comparisons give boolean tensors, ``argmax(dim=1)``,
``unsqueeze``, ``view``, ``flatten`` over every axis, ``float()``, ``tolist()``,
``size(dim)``, ``numel()``, ``permute``, ``clamp``, ``var``/``std`` (unbiased by default),
``masked_fill``, ``clone()``; integer and boolean casts and ``isnan``/``any``/``all`` give
tensors outside the graph.
"""
import numbers
from collections import namedtuple

import numpy as np

from . import functional as F
from . import ops
from .ops.function import new_tensor
from .tensor import Tensor


def _reflect(fn):
    return lambda self, other: fn(other, self)


def _comparison(compare):
    """A comparison operator: a boolean Tensor, outside the graph (as in PyTorch)."""

    def method(self, other):
        if isinstance(other, Tensor):
            other = other.data
        elif isinstance(other, (list, tuple)):
            other = np.asarray(other)
        elif not isinstance(other, (numbers.Number, np.ndarray, np.generic)):
            return NotImplemented  # t == None and t == "text" are False, as for any object
        return new_tensor(np.asarray(compare(self.data, other)))

    return method


def _axis(axis, dim, name):
    if dim is not None and axis is not None:
        raise TypeError(f"{name}() takes axis or its PyTorch name dim, not both; received: axis={axis}, dim={dim}")
    return axis if dim is None else dim


def _reduction(fn):
    """``fn(x, axis, keepdims)`` that also takes PyTorch's ``dim`` and ``keepdim``."""

    def method(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return fn(self, _axis(axis, dim, fn.__name__), keepdims or keepdim)

    method.__name__ = fn.__name__
    return method


def _arg(which):
    def method(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """Indices of the largest (smallest) values along ``axis`` (all axes when None), as int64."""
        axis = _axis(axis, dim, which)
        index = getattr(self.data, which)(axis=axis, keepdims=keepdims or keepdim)
        return new_tensor(np.asarray(index, dtype=np.int64))

    return method


ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "What ``max(dim=...)`` and ``min(dim=...)`` return, as PyTorch's ``torch.return_types.max``."


def _extreme(fn, which):
    """``max``/``min``: NumPy's with ``axis`` (the values); PyTorch's with ``dim`` (values and indices)."""

    def method(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        if dim is None:
            return fn(self, axis, keepdims or keepdim)
        if axis is not None:
            raise TypeError(f"{which}() takes axis or its PyTorch name dim, not both; "
                            f"received: axis={axis}, dim={dim}")
        index = getattr(self.data, f"arg{which}")(axis=dim, keepdims=keepdim)
        return ValuesIndices(fn(self, dim, keepdim), new_tensor(np.asarray(index, dtype=np.int64)))

    method.__name__ = which
    return method


def _along(fn):
    def method(self, axis=-1, *, dim=None):
        return fn(self, axis if dim is None else dim)

    return method


def squeeze(self, dim=None):
    """Drop axes of length 1 (only ``dim`` when given, if its length is 1, as PyTorch does)."""
    if dim is None:
        shape = tuple(n for n in self.shape if n != 1)
    else:
        dims = {d % self.ndim for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        shape = tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1))
    return F.reshape(self, shape)


def unsqueeze(self, dim):
    """Insert an axis of length 1 at ``dim`` (negative counts from the end of the result)."""
    if not -self.ndim - 1 <= dim <= self.ndim:
        raise IndexError(f"unsqueeze: dim must be in [{-self.ndim - 1}, {self.ndim}] for a tensor of shape "
                         f"{self.shape}; received: dim={dim}")
    return F.reshape(self, np.expand_dims(np.empty(self.shape, dtype=np.bool_), dim).shape)


def flatten(self, start_dim=0, end_dim=-1):
    """Axes ``start_dim`` to ``end_dim`` merged into one (all of them by default, as PyTorch).
    Keras's ``Flatten`` layer and ``functional.flatten`` keep the batch axis instead."""
    if self.ndim == 0:
        return F.reshape(self, (1,))
    start, end = start_dim % self.ndim, end_dim % self.ndim
    return F.reshape(self, (*self.shape[:start], -1, *self.shape[end + 1:]))


def _cast(dtype):
    def method(self):
        """The same values in this dtype, differentiable (``self`` when it has that dtype already)."""
        return self if self.dtype == dtype else ops.Cast(dtype)(self)

    return method


def _variance(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """PyTorch's ``var``: over ``dim`` (all axes when None), divided by n - 1 unless ``unbiased=False``."""
    correction = int(unbiased) if correction is None else correction
    centred = self - F.mean(self, dim, keepdims=True)
    n = self.size if dim is None else int(np.prod([self.shape[d] for d in np.atleast_1d(dim)]))
    return F.sum(centred * centred, dim, keepdim) / max(n - correction, 0)


def _outside_graph(fn):
    """A method whose result is not differentiable (a cast to integers or booleans, a test)."""
    return lambda self, *args: new_tensor(np.asarray(fn(self.data, *args)))


def _requires_grad_(self, requires_grad=True):
    self.requires_grad = bool(requires_grad)
    return self


def _bool(self):
    if self.size != 1:
        raise ValueError(f"the truth value of a tensor with {self.size} elements is ambiguous; "
                         "use .any() or .all() on its data")
    return bool(self.data)


_METHODS = {
    "__add__": F.add, "__radd__": _reflect(F.add),
    "__sub__": F.sub, "__rsub__": _reflect(F.sub),
    "__mul__": F.mul, "__rmul__": _reflect(F.mul),
    "__truediv__": F.div, "__rtruediv__": _reflect(F.div),
    "__pow__": F.pow, "__rpow__": _reflect(F.pow),
    "__matmul__": F.matmul, "__rmatmul__": _reflect(F.matmul),
    "__neg__": F.neg, "__getitem__": F.getitem, "__abs__": F.abs,
    "__eq__": _comparison(np.equal), "__ne__": _comparison(np.not_equal),
    "__lt__": _comparison(np.less), "__le__": _comparison(np.less_equal),
    "__gt__": _comparison(np.greater), "__ge__": _comparison(np.greater_equal),
    "__bool__": _bool, "__float__": lambda self: float(self.item()), "__int__": lambda self: int(self.item()),
    "sum": _reduction(F.sum), "mean": _reduction(F.mean), "max": _extreme(F.max, "max"), "min": _extreme(F.min, "min"),
    "argmax": _arg("argmax"), "argmin": _arg("argmin"),
    "exp": F.exp, "log": F.log, "sqrt": F.sqrt, "abs": F.abs, "clip": F.clip,
    "reshape": F.reshape, "view": F.reshape, "transpose": F.transpose, "swapaxes": F.swapaxes,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten,
    "float": _cast(np.float32), "double": _cast(np.float64), "tolist": lambda self: self.data.tolist(),
    "sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu,
    "softmax": _along(F.softmax), "log_softmax": _along(F.log_softmax),
    # PyTorch's names for compositions of the above
    "numel": lambda self: int(self.data.size), "dim": lambda self: self.data.ndim,
    "permute": lambda self, *dims: F.transpose(self, *(dims[0] if len(dims) == 1 else dims)),
    "t": lambda self: F.transpose(self), "pow": F.pow, "matmul": F.matmul,
    "clamp": lambda self, min=None, max=None: F.clip(self, min, max),  # noqa: A002 - PyTorch's names
    "clone": lambda self: self * 1,  # a copy in the graph, as PyTorch's clone
    "var": _variance, "std": lambda self, *args, **kwargs: F.sqrt(_variance(self, *args, **kwargs)),
    "masked_fill": lambda self, mask, value: F.where(mask.data if isinstance(mask, Tensor) else mask, value, self),
    "long": _outside_graph(lambda a: a.astype(np.int64)), "int": _outside_graph(lambda a: a.astype(np.int32)),
    "bool": _outside_graph(lambda a: a.astype(np.bool_)), "isnan": _outside_graph(np.isnan),
    "any": _outside_graph(np.any), "all": _outside_graph(np.all), "requires_grad_": _requires_grad_,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: F.transpose(self))
