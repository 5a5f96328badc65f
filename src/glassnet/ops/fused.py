"""Fused ops for the hot spots of training: dense layers and softmax + cross-entropy.

Each computes in one node what a composition would compute in several, and is
gradchecked like every primitive.
"""
from ..backend import get_array_module
from .activation import log_softmax_array
from .function import Function


class Linear(Function):
    """y = x @ w + b over the last axis of x (b optional)."""

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        self.has_bias = b is not None
        y = x @ w
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, w = self.x, self.w
        gx = gy @ w.T if self.needs_grad(0) else None
        gw = gb = None
        if self.needs_grad(1):
            x2 = x.reshape(-1, x.shape[-1])
            gw = x2.T @ gy.reshape(-1, gy.shape[-1])
        if self.has_bias and self.needs_grad(2):
            gb = gy.reshape(-1, gy.shape[-1]).sum(axis=0)
        return gx, gw, gb


class SoftmaxCrossEntropy(Function):
    """Per-sample -sum(t * log_softmax(z)) from logits z.

    ``target`` is either integer class labels of shape (n,) or a probability
    (one-hot) array shaped like the logits. It is a constant: no gradient.
    """

    def __init__(self, target, axis=-1):
        self.target, self.axis = target, axis

    def forward(self, z):
        xp = get_array_module(z)
        self.logp = log_softmax_array(z, self.axis)
        t = self.target
        if t.ndim == z.ndim:  # probabilities compute in the logits' dtype
            t = self.target = t.astype(z.dtype, copy=False)
            return -(t * self.logp).sum(axis=self.axis)
        return -xp.take_along_axis(self.logp, xp.expand_dims(t, self.axis), self.axis).squeeze(self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        p = xp.exp(self.logp)
        t = self.target
        if t.ndim == p.ndim - 1:
            xp.put_along_axis(p, xp.expand_dims(t, self.axis),
                              xp.take_along_axis(p, xp.expand_dims(t, self.axis), self.axis) - 1, self.axis)
            g = p
        else:
            g = p * t.sum(axis=self.axis, keepdims=True) - t
        return g * xp.expand_dims(gy, self.axis)
