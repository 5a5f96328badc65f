"""Inverted dropout as one op: the mask and the scale in one pass each way.

Forward: ``keep = r >= rate`` for r uniform in [0, 1) drawn by the layer's generator (in the
input's float type), ``y = x * keep / (1 - rate)``; backward: ``gx = gy * keep / (1 - rate)``.
The NumPy reference keeps the factor array ``keep * scale``; the compiled path keeps only r and
multiplies in the same pass that tests it. Both draw the same numbers, so they drop the same
values.
"""
import numpy as np

from .. import kernels
from ..kernels import prange
from ..backend import random_like
from .bias_activation import compilable
from .function import Function


class Dropout(Function):
    """y = x * (r >= rate) / (1 - rate), r = ``rng.random(x.shape)``.

    Args:
        rate: the fraction to drop, in [0, 1).
        rng: the ``numpy.random.Generator`` that draws r.
    """

    def __init__(self, rate, rng):
        self.rate, self.rng = rate, rng

    def forward(self, x):
        self.r = r = random_like(self.rng, x.shape, x)  # drawn on the host, on x's device
        self.scale = scale = x.dtype.type(1 / (1 - self.rate))
        self.compiled = compilable(x)
        if self.compiled:
            x = np.ascontiguousarray(x)
            y = np.empty_like(x)
            _masked_scale(x.reshape(-1), r.reshape(-1), r.dtype.type(self.rate), scale, y.reshape(-1))
            return y
        self.factor = (r >= self.rate) * scale
        return x * self.factor

    def backward(self, gy):
        if self.compiled and type(gy) is np.ndarray and gy.dtype == self.scale.dtype:
            gy = np.ascontiguousarray(gy)
            gx = np.empty_like(gy)
            _masked_scale(gy.reshape(-1), self.r.reshape(-1), self.r.dtype.type(self.rate), self.scale,
                          gx.reshape(-1))
            return gx
        factor = self.factor if not self.compiled else (self.r >= self.rate) * self.scale
        return gy * factor


@kernels.jit(parallel=True)
def _masked_scale(x, r, rate, scale, y):
    """y = x * (scale if r >= rate else 0), over flat arrays (x * 0 keeps NaN and -0.0, as NumPy's product)."""
    zero = x.dtype.type(0)
    for i in prange(x.size):
        y[i] = x[i] * (scale if r[i] >= rate else zero)
