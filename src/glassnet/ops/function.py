"""The base of every differentiable op."""
import itertools

import numpy as np

from .. import tensor as _tensor
from ..tensor import Tensor, as_tensor


_sequence = itertools.count()


def new_tensor(data):
    """A Tensor around ``data`` without conversion (the hot path of every op)."""
    t = object.__new__(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t.grad_fn = None
    t.name = None
    t.retains_grad = False
    return t


class Function:
    """One primitive op: ``forward`` on arrays, ``backward`` on gradients.

    ``forward(*xs)`` receives the input arrays and returns the output array;
    it may save on ``self`` what the backward needs. ``backward(gy)`` receives
    the gradient of the output and returns one gradient per input (a tuple,
    or a single array for one input), each already reduced to that input's
    shape, or ``None`` where no gradient is needed.

    ``releasing`` is True while the backward pass that calls ``backward`` releases the graph after
    it (``Tensor.backward`` without ``retain_graph``): ``backward`` may then overwrite its saved
    arrays (the recurrent ops write their gradients into their saved factors: less peak memory).
    """

    inputs = None
    releasing = False

    def __call__(self, *inputs):
        y = self.forward(*[x.data for x in inputs])
        if isinstance(y, np.generic):  # NOTE: NumPy reductions and 0-d arithmetic return scalars
            y = np.asarray(y)
        out = new_tensor(y)
        if _tensor._grad_mode.enabled:
            for x in inputs:
                if x.requires_grad:
                    out.requires_grad = True
                    out.grad_fn = self
                    self.inputs = inputs
                    self.seq = next(_sequence)  # after every input's: orders the backward pass
                    break
        return out

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def needs_grad(self, i):
        return self.inputs[i].requires_grad

    def release(self):
        """Drop saved arrays and inputs once the backward pass is done."""
        seq = self.__dict__.get("seq")
        self.__dict__.clear()
        self.inputs, self.seq = None, seq


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``: the backward of NumPy broadcasting."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def binary_operands(a, b):
    """Both operands as Tensors; a Python scalar takes the other's dtype."""
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b)
    if not isinstance(b, Tensor):
        b = as_tensor(b, like=a)
    return a, b
