"""A dense layer's epilogue: y = a(z + b) forward, and gz = gy * a'(z), gb = sum of gz backward.

``Linear`` computes ``z = x @ w`` with BLAS and hands the rest to this module. The NumPy
reference runs the activation's own op (``ops.activation``: ``Sigmoid().forward``,
``.backward``), so the fused layer computes exactly what the two separate nodes compute. The
compiled path does the bias, the activation and what its backward needs in one pass over z
forward, and the activation's derivative and the bias gradient in one pass backward.

y overwrites z. The compiled backward needs y alone: relu's derivative is ``y > 0``, sigmoid's
``y (1 - y)``, tanh's ``1 - y^2``, elu's ``y + alpha`` where z <= 0, softmax's
``gz = y (gy - sum(gy y))``; softplus and gelu, whose derivatives need z, run their reference op.
"""
import math

import numpy as np

from .. import kernels
from ..kernels import COLUMNS, prange
from .activation import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh

# Activation codes of the compiled kernels (module constants: Numba reads them as constants).
LINEAR, RELU, SIGMOID, TANH, LEAKY_RELU, ELU_, SOFTPLUS, GELU_, SOFTMAX = range(9)
LEAKY_ALPHA = 0.01  # F.leaky_relu's default, the one ``activation="leaky_relu"`` names
ELU_ALPHA = 1.0

# name: (code, the reference op, its alpha, compiled forward, compiled backward). Measured on
# this project's 2-core machine (bench/NOTES.md): NumPy's float32 tanh, log1p and erf are
# vectorised and beat Numba's scalar calls, so those forward passes stay NumPy's (after the bias
# is added, as is the bias alone: ``z += b`` is one vectorised NumPy call); every backward
# computed from y alone is one compiled pass.
KINDS = {
    "linear": (LINEAR, None, 0.0, False, False),
    "relu": (RELU, ReLU, 0.0, True, True),
    "sigmoid": (SIGMOID, Sigmoid, 0.0, True, True),
    "tanh": (TANH, Tanh, 0.0, False, True),
    "leaky_relu": (LEAKY_RELU, lambda: LeakyReLU(LEAKY_ALPHA), LEAKY_ALPHA, True, True),
    "elu": (ELU_, lambda: ELU(ELU_ALPHA), ELU_ALPHA, True, True),
    "softplus": (SOFTPLUS, Softplus, 0.0, False, False),
    "gelu": (GELU_, GELU, 0.0, False, False),
    "softmax": (SOFTMAX, lambda: Softmax(-1), 0.0, True, True),
}


def compilable(z, b=None):
    """True when the compiled kernels take these arrays: NumPy, float32 or float64, one dtype."""
    return (kernels.compiled() and type(z) is np.ndarray and z.dtype.char in "fd"
            and (b is None or (type(b) is np.ndarray and b.dtype == z.dtype)))


class BiasActivation:
    """y = a(z + b) (``b`` may be None) with its backward; one per ``Linear`` node.

    ``forward`` may overwrite ``z``: it is the fresh product ``x @ w``.
    """

    def __init__(self, kind):
        self.kind = kind
        self.code, self.make_reference, self.alpha, self.compiled_forward, self.compiled_backward = KINDS[kind]
        self.reference = None  # the activation's op, made when the NumPy path runs

    def forward(self, z, b):
        self.compiled = compilable(z, b)
        if self.compiled and self.compiled_forward:
            _forward_kernel(_rows(z), _bias(z, b), self.code, self.alpha, _rows(z))
            y = z
        else:
            if b is not None:
                z += b
            if self.make_reference is not None:
                self.reference = self.make_reference()
            y = z if self.reference is None else self.reference.forward(z)
        self.y = y
        return y

    def backward(self, gy, bias):
        """gz = gy * a'(z) and, with ``bias``, gb = gz summed over every axis but the last."""
        if self.compiled and self.compiled_backward:
            y = self.y
            if gy.dtype != y.dtype:  # e.g. a float64 loss over float32 outputs: NumPy would promote
                y = y.astype(np.promote_types(y.dtype, gy.dtype))
                gy = gy.astype(y.dtype, copy=False)
            gy = np.ascontiguousarray(gy)
            gz, gb = np.empty_like(gy), np.zeros(gy.shape[-1], dtype=gy.dtype)
            _backward_kernel(_rows(gy), _rows(y), self.code, self.alpha, _rows(gz), gb)
            return gz, (gb if bias else None)
        gz = gy if self.reference is None else self.reference.backward(gy)
        return gz, (gz.reshape(-1, gz.shape[-1]).sum(axis=0) if bias else None)


def infer(kind, z, b):
    """a(z + b) on arrays, for inference (overwrites z)."""
    code, reference, alpha, compiled_forward, _ = KINDS[kind]
    if compiled_forward and compilable(z, b):
        _forward_kernel(_rows(z), _bias(z, b), code, alpha, _rows(z))
        return z
    if b is not None:
        z += b
    return z if reference is None else reference().forward(z)


def _rows(a):
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


def _bias(z, b):
    return np.zeros(z.shape[-1], dtype=z.dtype) if b is None else b


@kernels.jit(parallel=True)
def _forward_kernel(z, b, code, alpha, y):
    """y = a(z + b) (y may be z itself); z, y: (n, m), b: (m,). One loop per activation, so
    that each compiles to a plain vectorisable loop."""
    n, m = z.shape
    zero, one = z.dtype.type(0), z.dtype.type(1)
    alpha = z.dtype.type(alpha)
    if code == RELU:
        for i in prange(n):
            for j in range(m):
                v = z[i, j] + b[j]
                y[i, j] = max(v, zero)
    elif code == LEAKY_RELU:
        for i in prange(n):
            for j in range(m):
                v = z[i, j] + b[j]
                y[i, j] = v if v > zero else alpha * v
    elif code == SIGMOID:  # 1 / (1 + exp(-v)) without overflow: e = exp(-|v|) is in (0, 1]
        for i in prange(n):
            for j in range(m):
                v = z[i, j] + b[j]
                e = math.exp(-abs(v))
                y[i, j] = (one if v >= zero else e) / (one + e)
    elif code == ELU_:
        for i in prange(n):
            for j in range(m):
                v = z[i, j] + b[j]
                y[i, j] = v if v > zero else alpha * math.expm1(v)
    elif code == SOFTMAX:  # y = exp(v - max) / sum(exp(v - max)) over each row
        for i in prange(n):
            top = z[i, 0] + b[0]
            for j in range(m):
                y[i, j] = z[i, j] + b[j]
                top = max(top, y[i, j])
            total = zero
            for j in range(m):
                e = math.exp(y[i, j] - top)
                y[i, j] = e
                total += e
            for j in range(m):
                y[i, j] /= total
    else:  # LINEAR, and the kinds whose activation runs as NumPy's vectorised function
        for i in prange(n):
            for j in range(m):
                y[i, j] = z[i, j] + b[j]


@kernels.jit(parallel=True)
def _backward_kernel(gy, y, code, alpha, gz, gb):
    """gz = gy * a'(z), from y alone (the threads take rows); gb = gz summed over the rows in order
    (the threads take blocks of columns: the same sums on any number of threads). gy, y, gz: (n, m),
    gb: (m,) zeros."""
    n, m = gy.shape
    zero, one = y.dtype.type(0), y.dtype.type(1)
    alpha = y.dtype.type(alpha)
    for i in prange(n):
        if code == RELU:
            for j in range(m):
                gz[i, j] = gy[i, j] if y[i, j] > zero else zero
        elif code == LEAKY_RELU:
            for j in range(m):
                gz[i, j] = gy[i, j] if y[i, j] > zero else alpha * gy[i, j]
        elif code == SIGMOID:
            for j in range(m):
                gz[i, j] = gy[i, j] * y[i, j] * (one - y[i, j])
        elif code == TANH:
            for j in range(m):
                gz[i, j] = gy[i, j] * (one - y[i, j] * y[i, j])
        elif code == ELU_:  # y + alpha = alpha exp(z) where z <= 0
            for j in range(m):
                gz[i, j] = gy[i, j] if y[i, j] > zero else gy[i, j] * (y[i, j] + alpha)
        elif code == SOFTMAX:  # gz = y * (gy - sum(gy * y)) over the row
            s = zero
            for j in range(m):
                s += gy[i, j] * y[i, j]
            for j in range(m):
                gz[i, j] = y[i, j] * (gy[i, j] - s)
        else:  # LINEAR
            for j in range(m):
                gz[i, j] = gy[i, j]
    for block in prange(-(-m // COLUMNS)):
        first, last = block * COLUMNS, min(m, (block + 1) * COLUMNS)
        sums = gb[first:last]
        for i in range(n):  # NOTE: 1-D views of the row's block (2-D indexing here did not vectorise)
            row = gz[i, first:last]
            for j in range(last - first):
                sums[j] += row[j]
