"""Batch normalisation over the last axis as one op: y = relu?(gamma * (x - mean) / sqrt(var + eps) + beta).

Every axis but the last is the batch: x is seen as rows (n, c), one column per feature.
In training, mean and var are the batch's (the biased variance) and the moving statistics are
updated in place, ``moving = momentum * moving + (1 - momentum) * batch``; in evaluation the
moving statistics are used. Per feature, with inv = 1 / sqrt(var + eps), the forward is one
scale and shift, ``y = x * a + b`` with ``a = gamma * inv`` and ``b = beta - mean * a``; the
backward, with g = gy (times ``y > 0`` with relu) and xhat = (x - mean) * inv:

    gbeta = sum(g),   ggamma = sum(g * xhat)
    gx = a * g                                            (evaluation: constant statistics)
    gx = a * g - a * gbeta / n - (x - mean) * a * inv * ggamma / n      (training)

The op keeps nothing full-size besides x (which the graph holds anyway): the mean, inv and the
per-feature a and b; the relu's mask is recomputed from x, a and b.

Both paths share the per-feature arithmetic (a few arrays of c values, float64 where it adds
up). The passes over the n x c values are the NumPy reference (a handful of NumPy calls) or
compiled kernels (statistics in one pass, accumulated in float64 per feature; the forward in
one pass; the backward in two: the sums, then gx).
"""
import numpy as np

from .. import kernels
from ..kernels import ROW_CHUNKS, prange
from ..backend import get_array_module
from .bias_activation import compilable
from .function import Function


class BatchNorm(Function):
    """Batch normalisation of x's last axis, with optional gamma, beta and a fused relu.

    ``BatchNorm(...)(x, gamma, beta)``, leaving out gamma (``scale=False``) or beta
    (``center=False``).

    Args:
        epsilon: added to the variance.
        moving_mean, moving_variance: the moving statistics (arrays of c values): updated in
            place in training, used in evaluation.
        momentum: the moving statistics' factor, used in training.
        training: use (and fold into the moving statistics) the batch's statistics.
        scale, center: whether gamma, beta are among the inputs.
        relu: apply max(y, 0) in the same pass. Defaults to ``False``.
    """

    def __init__(self, epsilon, moving_mean, moving_variance, momentum, training, scale=True, center=True,
                 relu=False):
        self.epsilon, self.moving_mean, self.moving_variance = epsilon, moving_mean, moving_variance
        self.momentum, self.training, self.scale, self.center, self.relu = momentum, training, scale, center, relu

    def forward(self, x, *params):
        xp = get_array_module(x)
        gamma = params[0] if self.scale else None
        beta = params[-1] if self.center else None
        dtype = np.result_type(x.dtype, np.float32, *(p.dtype for p in params))
        x2 = x.reshape(-1, x.shape[-1]).astype(dtype, copy=False)
        self.compiled = compilable(x2) and all(type(p) is np.ndarray for p in params)
        if self.compiled:
            x2 = np.ascontiguousarray(x2)
        n = len(x2)
        if self.training:
            mean, var = _statistics(x2, self.compiled, xp)
            m = self.momentum
            self.moving_mean[...] = m * self.moving_mean + (1 - m) * mean
            self.moving_variance[...] = m * self.moving_variance + (1 - m) * var
        else:
            mean = self.moving_mean.astype(np.float64)
            var = self.moving_variance.astype(np.float64)
        inv = 1 / xp.sqrt(var + self.epsilon)
        a = inv if gamma is None else gamma * inv
        b = -mean * a if beta is None else beta - mean * a
        self.x2, self.n, self.shape = x2, n, x.shape
        self.mean, self.inv, self.a, self.b = (v.astype(dtype) for v in (mean, inv, a, b))
        if self.compiled:
            y2 = np.empty_like(x2)
            _scale_shift(x2, self.a, self.b, self.relu, y2)
        else:
            y2 = x2 * self.a + self.b
            if self.relu:
                xp.maximum(y2, 0, out=y2)
        return y2.reshape(x.shape)

    def backward(self, gy):
        x2, a, b, mean, inv = self.x2, self.a, self.b, self.mean, self.inv
        xp = get_array_module(x2)
        gy2 = gy.reshape(x2.shape).astype(x2.dtype, copy=False)
        gx2 = None
        if self.compiled:
            gy2 = np.ascontiguousarray(gy2)
            sum_g, sum_gxhat = np.zeros(len(a)), np.zeros(len(a))
            _backward_sums(gy2, x2, a, b, mean, inv, self.relu, sum_g, sum_gxhat)
        else:
            g = gy2 * (x2 * a + b > 0) if self.relu else gy2
            sum_g = g.sum(axis=0, dtype=np.float64)
            sum_gxhat = (g * ((x2 - mean) * inv)).sum(axis=0, dtype=np.float64)
        if self.needs_grad(0):
            # gx = a * g + (x - mean) * q + r, with q, r zero in evaluation (constant statistics)
            q = -a * inv * sum_gxhat / self.n if self.training else xp.zeros(len(a))
            r = -a * sum_g / self.n if self.training else xp.zeros(len(a))
            q, r = q.astype(x2.dtype), r.astype(x2.dtype)
            if self.compiled:
                gx2 = np.empty_like(x2)
                _backward_input(gy2, x2, a, b, mean, q, r, self.relu, gx2)
            else:
                gx2 = g * a + (x2 - mean) * q + r
        grads = [None if gx2 is None else gx2.reshape(self.shape)]
        if self.scale:
            grads.append(sum_gxhat.astype(self.inputs[1].data.dtype))
        if self.center:
            grads.append(sum_g.astype(self.inputs[-1].data.dtype))
        return tuple(grads)


def infer(x, moving_mean, moving_variance, epsilon, gamma=None, beta=None, relu=False):
    """Batch normalisation with the moving statistics on arrays, without a graph (inference)."""
    op = BatchNorm(epsilon, moving_mean, moving_variance, 0.0, False, gamma is not None, beta is not None, relu)
    return op.forward(x, *(p for p in (gamma, beta) if p is not None))


def _statistics(x2, compiled, xp):
    """The mean and the biased variance of each column of x2, in float64."""
    if compiled:
        mean, var = np.empty(x2.shape[1]), np.empty(x2.shape[1])
        _statistics_kernel(x2, mean, var)
        return mean, var
    mean = x2.mean(axis=0, dtype=np.float64)
    centred = x2 - mean.astype(x2.dtype)
    return mean, (centred * centred).mean(axis=0, dtype=np.float64)


# NOTE: the column sums run over fixed chunks of rows (kernels.ROW_CHUNKS), not over blocks of
# kernels.COLUMNS columns: a row's columns are contiguous, so the column loop vectorises (the backward
# sums of CIFAR's first batch norm, 131,072 x 32: 13.3 ms threaded in column blocks, 4.4 ms in chunks).


@kernels.jit()
def _chunk(chunk, n):
    """The rows [start, stop) of ``chunk`` out of ROW_CHUNKS over n rows."""
    size = -(-n // ROW_CHUNKS)
    return chunk * size, min(n, (chunk + 1) * size)


@kernels.jit()
def _add_chunks(parts, out):
    """out += the chunks' partial sums parts (ROW_CHUNKS, c), in chunk order."""
    for chunk in range(parts.shape[0]):
        for j in range(parts.shape[1]):
            out[j] += parts[chunk, j]


@kernels.jit(parallel=True, **kernels.VECTORISE)
def _statistics_kernel(x, mean, var):
    """mean, var (c,) of x (n, c) in one pass: float64 sums of d = x - k and d^2, shifted by the
    first row k (the sums of squares then do not cancel when the mean is large against the spread):
    mean = k + sum(d) / n, var = sum(d^2) / n - (sum(d) / n)^2. Chunks of rows on the threads
    (ROW_CHUNKS)."""
    n, c = x.shape
    k = np.empty(c)
    for j in range(c):
        k[j] = x[0, j] if n > 0 else 0.0
    part_1, part_2 = np.zeros((ROW_CHUNKS, c)), np.zeros((ROW_CHUNKS, c))
    for chunk in prange(ROW_CHUNKS):
        start, stop = _chunk(chunk, n)
        for i in range(start, stop):
            for j in range(c):
                d = np.float64(x[i, j]) - k[j]
                part_1[chunk, j] += d
                part_2[chunk, j] += d * d
    s1, s2 = np.zeros(c), np.zeros(c)
    _add_chunks(part_1, s1)
    _add_chunks(part_2, s2)
    for j in range(c):
        m = s1[j] / n
        mean[j] = k[j] + m
        var[j] = max(s2[j] / n - m * m, 0.0)


@kernels.jit(parallel=True)
def _scale_shift(x, a, b, relu, y):
    """y = x * a + b per column (max(., 0) with relu); x, y: (n, c), a, b: (c,)."""
    n, c = x.shape
    zero = x.dtype.type(0)
    for i in prange(n):
        if relu:
            for j in range(c):
                y[i, j] = max(x[i, j] * a[j] + b[j], zero)
        else:
            for j in range(c):
                y[i, j] = x[i, j] * a[j] + b[j]


@kernels.jit()
def _relu_gradient(gy, x, a, b, relu, zero):
    """gy, or with relu gy where the output x * a + b is positive and 0 elsewhere."""
    return gy if not relu or x * a + b > zero else zero


@kernels.jit(parallel=True)
def _backward_sums(gy, x, a, b, mean, inv, relu, sum_g, sum_gxhat):
    """sum_g = sum(g), sum_gxhat = sum(g * (x - mean) * inv) per column, in float64, with g = gy
    (where x * a + b > 0 only, with relu); sum_g, sum_gxhat: (c,) zeros. Chunks of rows on the
    threads, as ``_statistics_kernel``."""
    n, c = x.shape
    zero = x.dtype.type(0)
    part_g, part_h = np.zeros((ROW_CHUNKS, c)), np.zeros((ROW_CHUNKS, c))
    for chunk in prange(ROW_CHUNKS):
        start, stop = _chunk(chunk, n)
        for i in range(start, stop):
            for j in range(c):
                g = _relu_gradient(gy[i, j], x[i, j], a[j], b[j], relu, zero)
                part_g[chunk, j] += g
                part_h[chunk, j] += g * ((x[i, j] - mean[j]) * inv[j])
    _add_chunks(part_g, sum_g)
    _add_chunks(part_h, sum_gxhat)


@kernels.jit(parallel=True)
def _backward_input(gy, x, a, b, mean, q, r, relu, gx):
    """gx = a * g + (x - mean) * q + r per column, with g as in ``_backward_sums``."""
    n, c = x.shape
    zero = x.dtype.type(0)
    for i in prange(n):
        for j in range(c):
            g = _relu_gradient(gy[i, j], x[i, j], a[j], b[j], relu, zero)
            gx[i, j] = a[j] * g + (x[i, j] - mean[j]) * q[j] + r[j]
