"""Gradient clipping by value, by each gradient's norm, and by the global norm."""
import numpy as np


def clip_grads(grads, clipvalue=None, clipnorm=None, global_clipnorm=None):
    """Clipped copies of ``grads`` (``None`` entries stay ``None``)."""
    if clipvalue is not None:
        grads = [None if g is None else np.clip(g, -clipvalue, clipvalue) for g in grads]
    if clipnorm is not None:
        grads = [None if g is None else g * (clipnorm / max(float(np.linalg.norm(g)), clipnorm)) for g in grads]
    if global_clipnorm is not None:
        total = global_norm(grads)
        scale = min(1.0, global_clipnorm / (total + 1e-6))
        if scale < 1.0:
            grads = [None if g is None else g * g.dtype.type(scale) for g in grads]
    return grads


def global_norm(grads):
    """sqrt(sum of every squared gradient element)."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads if g is not None)))


def clip_grad_norm_(params, max_norm):
    """Rescale the gradients of ``params`` in place so their joint norm is at most
    ``max_norm``; returns the norm before clipping (as PyTorch's)."""
    params = [p for p in params if p.grad is not None]
    total = global_norm([p.grad for p in params])
    scale = min(1.0, max_norm / (total + 1e-6))
    for p in params:
        p.grad = p.grad * p.grad.dtype.type(scale)
    return total


def clip_grad_value_(params, clip_value):
    """Clip every gradient element of ``params`` to [-clip_value, clip_value] in place."""
    for p in params:
        if p.grad is not None:
            p.grad = np.clip(p.grad, -clip_value, clip_value)
