"""Merge layers: one tensor from several (Keras's Concatenate, Add, Subtract, Multiply,
Average, Maximum, Minimum and Dot). Each is called on a list of tensors:
``Add()([a, b])``; in a functional model, on a list of symbolic tensors."""
import numpy as np

from .. import functional as F
from ..tensor import Tensor
from .layer import LAYERS, Layer, _shape_of


class _Merge(Layer):
    """Shared by the merge layers: a list of at least ``min_inputs`` tensors, checked."""

    min_inputs, max_inputs = 2, None

    def _as_input(self, x):
        if not isinstance(x, (list, tuple)):
            raise TypeError(f"{type(self).__name__} takes a list of tensors, e.g. {type(self).__name__}()([a, b]); "
                            f"received {type(x).__name__}")
        if len(x) < self.min_inputs or (self.max_inputs and len(x) > self.max_inputs):
            expected = self.max_inputs if self.max_inputs == self.min_inputs else f"at least {self.min_inputs}"
            raise ValueError(f"{type(self).__name__} takes {expected} inputs; received {len(x)}")
        return [t if isinstance(t, Tensor) else Tensor(np.asarray(t, dtype=self.dtype)) for t in x]

    def forward(self, inputs):
        shapes = _shape_of(inputs)
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"{type(self).__name__} needs inputs of one shape; received shapes "
                             f"{', '.join(str(s) for s in shapes)}")
        return self._merge(inputs)


def _reduce(fn, inputs):
    out = inputs[0]
    for x in inputs[1:]:
        out = fn(out, x)
    return out


@LAYERS.register("Add")
class Add(_Merge):
    """The element-wise sum of the inputs (all of one shape).

    >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).data.sum()
    np.float32(12.0)
    """

    def _merge(self, inputs):
        return _reduce(F.add, inputs)


@LAYERS.register("Subtract")
class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


@LAYERS.register("Multiply")
class Multiply(_Merge):
    """The element-wise product of the inputs."""

    def _merge(self, inputs):
        return _reduce(F.mul, inputs)


@LAYERS.register("Average")
class Average(_Merge):
    """The element-wise mean of the inputs."""

    def _merge(self, inputs):
        return _reduce(F.add, inputs) * (1.0 / len(inputs))


@LAYERS.register("Maximum")
class Maximum(_Merge):
    """The element-wise maximum of the inputs (ties share the gradient)."""

    def _merge(self, inputs):
        return _reduce(F.maximum, inputs)


@LAYERS.register("Minimum")
class Minimum(_Merge):
    """The element-wise minimum of the inputs (ties share the gradient)."""

    def _merge(self, inputs):
        return _reduce(F.minimum, inputs)


@LAYERS.register("Concatenate")
class Concatenate(_Merge):
    """Joins the inputs along ``axis``; the other dimensions must agree.

    Args:
        axis: Defaults to ``-1`` (the features).
    """

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis == 0:
            raise ValueError(f"Concatenate joins along a non-batch axis. Received: axis={axis!r}")
        self.axis = int(axis)

    def forward(self, inputs):
        shapes = _shape_of(inputs)
        rank = len(shapes[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0 or any(len(s) != rank for s in shapes) or any(
                s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:] for s in shapes):
            raise ValueError(f"Concatenate(axis={self.axis}) needs inputs that agree on every other axis; "
                             f"received shapes {', '.join(str(s) for s in shapes)}")
        return F.concatenate(inputs, axis=axis)

    def get_config(self):
        return {"axis": self.axis, "name": self.name}


@LAYERS.register("Dot")
class Dot(_Merge):
    """The dot product of two inputs along ``axes``, sample by sample (Keras's ``batch_dot``).

    (batch, n) with (batch, n) gives (batch, 1); (batch, m, n) with (batch, k, n) and
    ``axes=2`` gives (batch, m, k).

    Args:
        axes: the axis of each input to sum over: an int for both or a pair.
        normalize: divide each input by its L2 norm along that axis first, so the
            result is the cosine similarity. Defaults to ``False``.
    """

    max_inputs = 2

    def __init__(self, axes, normalize=False, name=None):
        super().__init__(name)
        pair = (axes, axes) if isinstance(axes, (int, np.integer)) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in pair):
            raise ValueError(f"Dot axes must be an int or a pair of ints. Received: axes={axes!r}")
        self.axes, self.normalize = tuple(int(a) for a in pair), bool(normalize)

    def forward(self, inputs):
        x, y = inputs
        if x.ndim != y.ndim or x.ndim not in (2, 3):
            raise ValueError(f"Dot takes two inputs of rank 2 or 3 (the batch included); received shapes "
                             f"{x.shape} and {y.shape}")
        ax, ay = (a % x.ndim for a in self.axes)
        if 0 in (ax, ay) or x.shape[ax] != y.shape[ay]:
            raise ValueError(f"Dot(axes={self.axes}) sums over axes of equal size (not the batch axis); "
                             f"received shapes {x.shape} and {y.shape}")
        if self.normalize:
            x, y = _l2_normalize(x, ax), _l2_normalize(y, ay)
        if x.ndim == 2:
            return (x * y).sum(axis=1, keepdims=True)
        x = x if ax == 2 else F.swapaxes(x, 1, 2)  # (batch, m, n)
        y = y if ay == 1 else F.swapaxes(y, 1, 2)  # (batch, n, k)
        return F.matmul(x, y)

    def get_config(self):
        return {"axes": list(self.axes), "normalize": self.normalize, "name": self.name}


def _l2_normalize(x, axis):
    """``x / sqrt(max(sum(x^2), 1e-12))`` along ``axis`` (Keras's epsilon)."""
    squares = (x * x).sum(axis=axis, keepdims=True)
    return x / F.sqrt(F.maximum(squares, 1e-12))


# Keras's functional forms: ``concatenate([a, b])`` is ``Concatenate()([a, b])``.
def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    return Dot(axes, normalize=normalize, **kwargs)(inputs)
