"""Symbolic tensors: the placeholders a functional model is drawn with.

``Input(shape)`` (in :mod:`glassnet.nn.input_layer`) returns a :class:`SymbolicTensor`. Calling a layer on symbolic
tensors builds the layer and records a :class:`Node` (which layer, on which
tensors) instead of computing anything; ``glassnet.Model(inputs, outputs)``
then walks the nodes back from the outputs to the inputs.
"""
import numpy as np

from ..tensor import Tensor, no_grad
from .module import evaluating


OPEN_SIZES = (16, 32)  # NOTE: two probe sizes for a size left open: large enough for a few valid 3x3
# convolutions and poolings, and unequal after each halving, so a size that follows stays None


def concrete(shape, size=OPEN_SIZES[0]):
    """``shape`` with each ``None`` (a size left open, as sequence lengths) replaced by ``size``:
    the shape of a zero sample that builds layers or probes their output shapes.

    >>> concrete((None, 8)), concrete((8, 8, 1))
    ((16, 8), (8, 8, 1))
    """
    return tuple(size if d is None else d for d in shape)


class SymbolicTensor:
    """A placeholder: a shape whose first (batch) dimension is ``None``, a dtype, and the
    node that produced it.

    >>> from glassnet.nn.input_layer import Input
    >>> Input((8,), name="features")
    <SymbolicTensor shape=(None, 8) dtype=float32 from 'features'>
    """

    __slots__ = ("shape", "dtype", "node", "index")

    def __init__(self, shape, dtype, node, index=0):
        self.shape, self.dtype, self.node, self.index = tuple(shape), np.dtype(dtype), node, index

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def layer(self):
        return self.node.layer

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype} from {self.layer.name!r}>"


class Node:
    """One call of a layer on symbolic tensors: ``outputs = layer(inputs, **kwargs)``.

    ``inputs`` is a list; ``multi`` says whether the layer received it as a list
    (merge layers) or as its one tensor.
    """

    __slots__ = ("layer", "inputs", "multi", "kwargs", "outputs")

    def __init__(self, layer, inputs, multi, kwargs):
        self.layer, self.inputs, self.multi, self.kwargs = layer, list(inputs), multi, dict(kwargs)
        self.outputs = []


def is_symbolic(x):
    """True for a SymbolicTensor or a non-empty list of them."""
    if isinstance(x, SymbolicTensor):
        return True
    return isinstance(x, (list, tuple)) and bool(x) and all(isinstance(t, SymbolicTensor) for t in x)


def call_symbolic(layer, x, kwargs):
    """Build ``layer`` for the symbolic input ``x``, record the call, return symbolic outputs.

    The output shapes come from running the layer once on zeros in evaluation mode
    (no dropout draw, no moving-statistics update); a dimension given as ``None``
    is probed with two sizes, and an output dimension that follows it stays ``None``.
    """
    multi = isinstance(x, (list, tuple))
    inputs = list(x) if multi else [x]
    first, several = _probe(layer, inputs, multi, kwargs, 2, OPEN_SIZES[0])
    variable = any(d is None for t in inputs for d in t.shape[1:])
    second = _probe(layer, inputs, multi, kwargs, 3, OPEN_SIZES[1])[0] if variable else first
    node = Node(layer, inputs, multi, kwargs)
    for i, (a, b) in enumerate(zip(first, second)):
        shape = (None, *(da if da == db else None for da, db in zip(a.shape[1:], b.shape[1:])))
        node.outputs.append(SymbolicTensor(shape, a.dtype, node, i))
    return node.outputs if several else node.outputs[0]


def _probe(layer, inputs, multi, kwargs, size, open_size):
    arrays = [Tensor(np.zeros((size, *concrete(t.shape[1:], open_size)), dtype=t.dtype), dtype=t.dtype)
              for t in inputs]
    try:
        with evaluating(), no_grad():
            out = layer(arrays if multi else arrays[0], **kwargs)
    except (ValueError, TypeError) as err:
        shapes = ", ".join(str(t.shape) for t in inputs)
        # NOTE: a layer has no name before its model counts it; the error then names its class only
        label = type(layer).__name__ + (f" layer {layer.name!r}" if layer.name else "")
        tried = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"{label} cannot take symbolic input of shape {shapes} (tried on zeros of shape {tried}): "
                         f"{err}") from None
    return (out, True) if isinstance(out, list) else ([out], False)
