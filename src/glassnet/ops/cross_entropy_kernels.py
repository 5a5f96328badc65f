"""Compiled passes of the fused cross-entropy ops (``fused.SoftmaxCrossEntropy``,
``fused.SigmoidCrossEntropy``): the loss of each row and its gradient in one pass over the logits.

The ops' NumPy code is the reference (``log_softmax_array``, then the picked or weighted
log-probabilities; the backward's ``exp(logp) - onehot``). Each kernel computes the same
formulas row by row and returns the sum of the per-row losses, so that the mean costs no
further pass.
"""
import math

from .. import kernels
from ..kernels import prange


@kernels.jit(parallel=True)
def softmax_xent(z, labels, t, g, per):
    """Cross-entropy of softmax(z) (n, m) row by row, with lse_i = log(sum_j exp(z[i, j])):

    - integer labels (n,): per[i] = lse_i - z[i, labels[i]], g = softmax(z) - onehot(labels);
    - probabilities t (n, m) when ``labels`` is empty: per[i] = sum_j t[i, j] (lse_i - z[i, j]),
      g = softmax(z) * sum_j t[i, j] - t.

    Returns (the first row whose label is not in [0, m), or -1; the sum of per). The rows run on
    Numba's threads where they have the cores (the exponentials are most of the time: 5.3 ms for
    6,400 rows of 96 on one core); the sum runs after them, in row order, as on one thread.
    """
    n, m = z.shape
    if labels.size:
        for i in range(n):
            if labels[i] < 0 or labels[i] >= m:
                return i, 0.0
    for i in prange(n):
        top = z[i, 0]
        for j in range(1, m):
            top = max(top, z[i, j])
        s = z.dtype.type(0)
        for j in range(m):
            e = math.exp(z[i, j] - top)
            g[i, j] = e
            s += e
        lse = math.log(s) + top
        if labels.size:
            label = labels[i]
            per[i] = lse - z[i, label]
            for j in range(m):
                g[i, j] /= s
            g[i, label] -= 1
        else:
            loss, mass = z.dtype.type(0), z.dtype.type(0)
            for j in range(m):
                loss += t[i, j] * (lse - z[i, j])
                mass += t[i, j]
            per[i] = loss
            for j in range(m):
                g[i, j] = g[i, j] / s * mass - t[i, j]
    total = 0.0
    for i in range(n):
        total += per[i]
    return -1, total


@kernels.jit()
def sigmoid_xent(z, t, g, per):
    """per[i] = sum_j max(z, 0) - t z + log(1 + exp(-|z|)) (softplus(z) - t z without overflow),
    g = sigmoid(z) - t, over (n, m) arrays. Returns the sum of per."""
    n, m = z.shape
    one = z.dtype.type(1)
    total = 0.0
    for i in range(n):
        loss = z.dtype.type(0)
        for j in range(m):
            v = z[i, j]
            e = math.exp(-abs(v))  # in (0, 1]: never overflows
            loss += max(v, 0) - t[i, j] * v + math.log1p(e)
            g[i, j] = (one if v >= 0 else e) / (one + e) - t[i, j]
        per[i] = loss
        total += loss
    return total
