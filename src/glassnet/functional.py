"""Stateless functions on Tensors: the lowercase face of the ops.

Each wraps one primitive op from :mod:`glassnet.ops` (``relu(x)`` is
``ReLU()(x)``) or composes several; compositions need no backward of their own.
"""
import numpy as np

from . import ops
from .backend import asarray_like
from .ops.function import binary_operands
from .tensor import Tensor, as_tensor


def _t(x):
    return x if isinstance(x, Tensor) else as_tensor(x)


# -- arithmetic -------------------------------------------------------------
def add(a, b):
    return ops.Add()(*binary_operands(a, b))


def sub(a, b):
    return ops.Sub()(*binary_operands(a, b))


def mul(a, b):
    return ops.Mul()(*binary_operands(a, b))


def div(a, b):
    return ops.Div()(*binary_operands(a, b))


def pow(a, b):  # noqa: A001 - mirrors the operator's name
    return ops.Pow()(*binary_operands(a, b))


def neg(x):
    return ops.Neg()(_t(x))


def maximum(a, b):
    """Element-wise maximum; ties split the gradient evenly."""
    return ops.Maximum()(*binary_operands(a, b))


def minimum(a, b):
    """Element-wise minimum (``-maximum(-a, -b)``)."""
    a, b = binary_operands(a, b)
    return neg(maximum(neg(a), neg(b)))


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (the condition is not differentiated)."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    a, b = binary_operands(a, b)
    return ops.Where(asarray_like(cond, a.data, bool))(a, b)


def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D, 2-D and batched (broadcast) operands.

    Raises:
        ValueError: the inner dimensions differ; the message names both shapes.
    """
    a, b = binary_operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs operands with at least 1 dimension, got shapes {a.shape} and {b.shape}")
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: the last dimension of "
            f"the first ({inner_a}) must equal the "
            f"{'second-to-last' if b.ndim > 1 else 'only'} dimension of the second ({inner_b})"
        )
    try:
        return ops.MatMul()(a, b)
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not broadcast") from None


# -- element-wise functions -------------------------------------------------
def exp(x):
    return ops.Exp()(_t(x))


def log(x):
    return ops.Log()(_t(x))


def sqrt(x):
    return ops.Sqrt()(_t(x))


def abs(x):  # noqa: A001 - mirrors NumPy's name
    return ops.Abs()(_t(x))


def clip(x, low=None, high=None):
    """Clamp into ``[low, high]``; the gradient passes where ``low <= x <= high``."""
    if low is None and high is None:
        raise ValueError("clip needs low, high or both; got neither")
    return ops.Clip(low, high)(_t(x))


# -- reductions -------------------------------------------------------------
def sum(x, axis=None, keepdims=False):  # noqa: A001
    return ops.Sum(axis, keepdims)(_t(x))


def mean(x, axis=None, keepdims=False):
    return ops.Mean(axis, keepdims)(_t(x))


def max(x, axis=None, keepdims=False):  # noqa: A001
    return ops.Max(axis, keepdims, "max")(_t(x))


def min(x, axis=None, keepdims=False):  # noqa: A001
    return ops.Max(axis, keepdims, "min")(_t(x))


# -- shapes -----------------------------------------------------------------
def reshape(x, *shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return ops.Reshape(shape)(_t(x))


def transpose(x, *axes):
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return ops.Transpose(axes or None)(_t(x))


def swapaxes(x, axis1, axis2):
    x = _t(x)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return ops.Transpose(axes)(x)


def getitem(x, index):
    return ops.GetItem(index)(_t(x))


def concatenate(tensors, axis=0):
    tensors = [_t(x) for x in tensors]
    if not tensors:
        raise ValueError("concatenate needs at least one tensor, got none")
    return ops.Concatenate(axis)(*tensors)


def stack(tensors, axis=0):
    tensors = [_t(x) for x in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor, got none")
    return ops.Stack(axis)(*tensors)


def pad(x, pad_width, value=0.0):
    """Constant padding with NumPy's ``pad_width`` convention."""
    return ops.Pad(pad_width, value)(_t(x))


def flatten(x):
    """Keep the first (batch) axis, flatten the rest."""
    x = _t(x)
    return reshape(x, (x.shape[0], -1))


# -- activations ------------------------------------------------------------
def sigmoid(x):
    return ops.Sigmoid()(_t(x))


def tanh(x):
    return ops.Tanh()(_t(x))


def relu(x):
    return ops.ReLU()(_t(x))


def leaky_relu(x, alpha=0.01):
    return ops.LeakyReLU(alpha)(_t(x))


def elu(x, alpha=1.0):
    return ops.ELU(alpha)(_t(x))


def softplus(x):
    return ops.Softplus()(_t(x))


def softmax(x, axis=-1):
    return ops.Softmax(axis)(_t(x))


def log_softmax(x, axis=-1):
    return ops.LogSoftmax(axis)(_t(x))


def gelu(x, approximate=False):
    return ops.GELU(approximate)(_t(x))


# -- fused layers -----------------------------------------------------------
def linear(x, w, b=None, relu=False):
    """``x @ w + b`` in one node (then ``relu`` when asked). ``w`` has shape (in_features, out_features).

    Raises:
        ValueError: ``x``'s last dimension differs from ``w``'s first.
    """
    x, w = _t(x), _t(w)
    if x.shape[-1:] != w.shape[:1]:
        raise ValueError(f"linear expects x with {w.shape[0]} features in its last dimension, "
                         f"got x with shape {x.shape}")
    op = ops.Linear(relu)
    return op(x, w) if b is None else op(x, w, _t(b))


def softmax_cross_entropy(logits, target, axis=-1, mean=False):
    """Per-sample cross-entropy of ``softmax(logits)`` against ``target`` (their mean with ``mean``).

    ``target`` holds integer labels (one axis fewer than ``logits``) or
    probabilities shaped like ``logits``.
    """
    logits = _t(logits)
    t = asarray_like(target.data if isinstance(target, Tensor) else target, logits.data)
    if t.ndim == logits.ndim - 1:
        t = _class_labels(t)
    elif t.shape != logits.shape:
        labels = logits.shape[:axis] + logits.shape[axis:][1:]
        raise ValueError(f"softmax_cross_entropy: target with shape {t.shape} does not fit logits with shape "
                         f"{logits.shape}; expected integer labels of shape {labels} "
                         f"or probabilities of shape {logits.shape}")
    return ops.SoftmaxCrossEntropy(t, axis, mean)(logits)


def sigmoid_cross_entropy(logits, target, mean=False):
    """Per-sample binary cross-entropy of ``sigmoid(logits)``, summed over the outputs (their
    batch mean with ``mean``); ``logits`` and ``target`` have shape (n, outputs)."""
    logits = _t(logits)
    t = asarray_like(target.data if isinstance(target, Tensor) else target, logits.data)
    if logits.ndim != 2 or t.shape != logits.shape:
        raise ValueError(f"sigmoid_cross_entropy expects logits and target of one shape (n, outputs); "
                         f"received logits {logits.shape} and target {t.shape}")
    return ops.SigmoidCrossEntropy(t, mean)(logits)


def _class_labels(t):
    """``t`` as integer class labels (float storage accepted), else a clear error. (The op checks
    that they are class indices: the compiled pass before its rows, the NumPy path before indexing.)"""
    if t.dtype.kind not in "iu":
        if t.dtype.kind not in "fb" or not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError(f"softmax_cross_entropy: target must hold integer class labels; received dtype "
                             f"{t.dtype} with non-integer values")
        t = t.astype(np.int64)
    return t
