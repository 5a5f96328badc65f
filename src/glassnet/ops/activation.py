"""Activation functions as primitive ops with analytic derivatives.

Each is written to stay finite for inputs of +-1000: no overflow warning,
no NaN.
"""
import numpy as np

from ..backend import erf, get_array_module
from .function import Function


def stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    xp = get_array_module(x)
    e = xp.exp(-abs(x))  # in (0, 1]: never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    def forward(self, x):
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, gy):
        y = self.y
        return gy * y * (1 - y)


class Tanh(Function):
    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        y = self.y
        return gy * (1 - y * y)


class ReLU(Function):
    def forward(self, x):
        self.mask = x > 0
        return get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        return gy * self.mask


class LeakyReLU(Function):
    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward(self, x):
        self.mask = x > 0
        return get_array_module(x).where(self.mask, x, x * x.dtype.type(self.alpha))

    def backward(self, gy):
        return get_array_module(gy).where(self.mask, gy, gy * gy.dtype.type(self.alpha))


class ELU(Function):
    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        xp = get_array_module(x)
        self.mask = x > 0
        self.neg = x.dtype.type(self.alpha) * xp.expm1(xp.minimum(x, 0))
        return xp.where(self.mask, x, self.neg)

    def backward(self, gy):
        alpha = gy.dtype.type(self.alpha)
        return get_array_module(gy).where(self.mask, gy, gy * (self.neg + alpha))


class Softplus(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-abs(x)))

    def backward(self, gy):
        return gy * stable_sigmoid(self.x)


class Softmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        self.y = log_softmax_array(x, self.axis)
        return self.y

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


def log_softmax_array(x, axis=-1):
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class GELU(Function):
    """x * Phi(x) with the exact normal CDF (``approximate=False``) or tanh form."""

    def __init__(self, approximate=False):
        self.approximate = approximate

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        if self.approximate:
            c = x.dtype.type(np.sqrt(2 / np.pi))
            self.t = xp.tanh(c * (x + x.dtype.type(0.044715) * x**3))
            return x.dtype.type(0.5) * x * (1 + self.t)
        self.cdf = (0.5 * (1 + erf(x / np.sqrt(2)))).astype(x.dtype)
        return x * self.cdf

    def backward(self, gy):
        xp = get_array_module(gy)
        x = self.x
        if self.approximate:
            c = np.sqrt(2 / np.pi)
            dt = (1 - self.t**2) * c * (1 + 3 * 0.044715 * x**2)
            return (gy * (0.5 * (1 + self.t) + 0.5 * x * dt)).astype(gy.dtype)
        pdf = xp.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return (gy * (self.cdf + x * pdf)).astype(gy.dtype)
