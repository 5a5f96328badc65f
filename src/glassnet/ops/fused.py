"""Fused ops for the hot spots of training: dense layers and softmax + cross-entropy.

Each computes in one node what a composition would compute in several, and is
gradchecked like every primitive.
"""
import numpy as np

from ..backend import get_array_module
from . import cross_entropy_kernels as xent
from .activation import log_softmax_array
from .bias_activation import BiasActivation, compilable
from .function import Function


class Linear(Function):
    """y = activation(x @ w + b) over the last axis of x (b optional): a dense layer in one node.

    Args:
        relu: shorthand for ``activation="relu"``. Defaults to ``False``.
        activation: one of ``bias_activation.KINDS`` ("linear", "relu", "sigmoid", "tanh",
            "leaky_relu", "elu", "softplus", "gelu", "softmax"). Defaults to ``None`` (linear).

    The bias and the activation run in one compiled pass each way where the kernels are on
    (see ``bias_activation``), and as the activation's own op otherwise.
    """

    def __init__(self, relu=False, activation=None):
        self.epilogue = BiasActivation(activation or ("relu" if relu else "linear"))

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        self.has_bias = b is not None
        return self.epilogue.forward(x @ w, b)

    def backward(self, gy):
        x, w, inputs = self.x, self.w, self.inputs
        gy, gb = self.epilogue.backward(gy, self.has_bias and inputs[2].requires_grad)
        gx = None
        if inputs[0].requires_grad:
            # NOTE: with one unit, gy @ w.T is an outer product; BLAS runs it as a general product
            # with k = 1, several times slower than the same numbers by broadcasting.
            gx = gy * w[:, 0] if w.shape[1] == 1 and gy.ndim == 2 else gy @ w.T
        gw = None
        if inputs[1].requires_grad:
            x2 = x.reshape(-1, x.shape[-1])
            gw = x2.T @ gy.reshape(-1, gy.shape[-1])
        return gx, gw, gb


class SoftmaxCrossEntropy(Function):
    """Per-sample -sum(t * log_softmax(z)) from logits z.

    ``target`` is either integer class labels of shape (n,) or a probability
    (one-hot) array shaped like the logits. It is a constant: no gradient.
    """

    def __init__(self, target, axis=-1, mean=False):
        self.target, self.axis, self.mean = target, axis, mean

    def forward(self, z):
        t = self.target
        self.compiled = (z.ndim == 2 and z.size > 0 and self.axis in (-1, 1) and compilable(z)
                         and (t.shape == z.shape or (t.shape == z.shape[:1] and t.dtype.kind in "iu")))
        if self.compiled:
            return self._compiled_forward(np.ascontiguousarray(z))
        if t.ndim < z.ndim and t.size:
            classes = z.shape[self.axis]
            if t.min() < 0 or t.max() >= classes:
                flat = t.reshape(-1)
                self._bad_label(int(np.flatnonzero((flat < 0) | (flat >= classes))[0]), classes)
        self.logp = log_softmax_array(z, self.axis)
        if t.ndim == z.ndim:  # probabilities compute in the logits' dtype
            t = self.target = t.astype(z.dtype, copy=False)
            per = -(t * self.logp).sum(axis=self.axis)
        else:
            per = -self._picked(self.logp)
        # NOTE: with mean=True the op is the whole batch loss: one node instead of two.
        return per.mean(dtype=z.dtype) if self.mean else per

    def _compiled_forward(self, z):
        """The loss and its gradient (kept for the backward) in one compiled pass."""
        t = self.target
        self.g, per = np.empty_like(z), np.empty(len(z), dtype=z.dtype)
        if t.ndim == 2:
            t = self.target = np.ascontiguousarray(t, dtype=z.dtype)
            labels = _NO_LABELS
        else:
            labels, t = t.astype(np.intp, copy=False), np.empty((0, 0), dtype=z.dtype)
        bad, total = xent.softmax_xent(z, labels, t, self.g, per)
        if bad >= 0:
            self._bad_label(bad, z.shape[1])
        return z.dtype.type(total / len(z)) if self.mean else per

    def _bad_label(self, row, classes):
        t = self.target
        raise ValueError(f"softmax_cross_entropy: label {t.reshape(-1)[row]} (row {row}) is not a class index in "
                         f"[0, {classes}); the target holds values from {t.min()} to {t.max()}")

    def _picked(self, a):
        """a[..., t] along the class axis (plain fancy indexing for the usual 2-D case)."""
        xp = get_array_module(a)
        if a.ndim == 2 and self.axis in (-1, 1):
            return a[xp.arange(len(a)), self.target]
        idx = xp.expand_dims(self.target, self.axis)
        return xp.take_along_axis(a, idx, self.axis).squeeze(self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        if self.compiled:
            return _scaled(self.g, gy, self.mean)
        p = xp.exp(self.logp)
        t = self.target
        if t.ndim == p.ndim - 1:
            if p.ndim == 2 and self.axis in (-1, 1):
                p[xp.arange(len(p)), t] -= 1
            else:
                idx = xp.expand_dims(t, self.axis)
                xp.put_along_axis(p, idx, xp.take_along_axis(p, idx, self.axis) - 1, self.axis)
            g = p
        else:
            g = p * t.sum(axis=self.axis, keepdims=True) - t
        if self.mean:
            g *= gy / g.dtype.type(g.size // g.shape[self.axis])
            return g
        return g * (gy[:, None] if g.ndim == 2 and self.axis in (-1, 1) else xp.expand_dims(gy, self.axis))


class SigmoidCrossEntropy(Function):
    """Per-sample sum over the outputs of -(t log p + (1 - t) log(1 - p)), p = sigmoid(z).

    Computed from the logits as ``max(z, 0) - t z + log(1 + exp(-|z|))`` (softplus(z) - t z,
    without overflow); gradient ``sigmoid(z) - t``. ``target`` (shaped like ``z``) is a
    constant. With ``mean`` the op returns the batch mean: one node for the whole loss.
    """

    def __init__(self, target, mean=False):
        self.target, self.mean = target, mean

    def forward(self, z):
        xp = get_array_module(z)
        t = self.target = self.target.astype(z.dtype, copy=False)
        self.compiled = z.size > 0 and compilable(z)
        if self.compiled:
            self.target = t = np.ascontiguousarray(t)
            self.g, per = np.empty_like(z), np.empty(len(z), dtype=z.dtype)
            total = xent.sigmoid_xent(np.ascontiguousarray(z), t, self.g, per)
            return z.dtype.type(total / len(z)) if self.mean else per
        self.positive = z >= 0
        self.e = e = xp.exp(-abs(z))  # in (0, 1]: never overflows; the backward reuses it
        per = (xp.maximum(z, 0) - t * z + xp.log1p(e)).sum(axis=1)
        return per.mean(dtype=z.dtype) if self.mean else per

    def backward(self, gy):
        xp = get_array_module(gy)
        if self.compiled:
            return _scaled(self.g, gy, self.mean)
        # sigmoid(z) = 1 / (1 + e) for z >= 0, e / (1 + e) otherwise, with e = exp(-|z|)
        g = xp.where(self.positive, 1, self.e).astype(self.e.dtype, copy=False)
        g /= 1 + self.e
        g -= self.target
        if self.mean:
            g *= gy / g.dtype.type(len(g))
            return g
        return g * gy[:, None]


_NO_LABELS = np.zeros(0, dtype=np.intp)


def _scaled(g, gy, mean):
    """The kept gradient g of a per-row loss times gy: gy / n for the mean, row by row otherwise."""
    if mean:
        g *= gy / g.dtype.type(len(g))
        return g
    return g * gy[:, None]
