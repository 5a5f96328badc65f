"""Operators and methods of Tensor, attached in one place."""
from . import functional as F
from .tensor import Tensor


def _reflect(fn):
    return lambda self, other: fn(other, self)


_METHODS = {
    "__add__": F.add, "__radd__": _reflect(F.add),
    "__sub__": F.sub, "__rsub__": _reflect(F.sub),
    "__mul__": F.mul, "__rmul__": _reflect(F.mul),
    "__truediv__": F.div, "__rtruediv__": _reflect(F.div),
    "__pow__": F.pow, "__rpow__": _reflect(F.pow),
    "__matmul__": F.matmul, "__rmatmul__": _reflect(F.matmul),
    "__neg__": F.neg, "__getitem__": F.getitem, "__abs__": F.abs,
    "sum": F.sum, "mean": F.mean, "max": F.max, "min": F.min,
    "exp": F.exp, "log": F.log, "sqrt": F.sqrt, "abs": F.abs, "clip": F.clip,
    "reshape": F.reshape, "transpose": F.transpose, "swapaxes": F.swapaxes,
    "flatten": F.flatten, "sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu,
    "softmax": F.softmax, "log_softmax": F.log_softmax,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: F.transpose(self))
