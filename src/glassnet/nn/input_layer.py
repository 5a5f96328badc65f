"""``Input`` and ``InputLayer``: where a functional model's data comes in (Keras's names)."""
from ..backend import DEFAULT_DTYPE
from .layer import LAYERS, Layer, _sample_shape
from .symbolic import Node, SymbolicTensor


@LAYERS.register("InputLayer")
class InputLayer(Layer):
    """The layer behind :func:`Input`: it passes its data through and holds the shape.

    Args:
        shape: one sample's shape (no batch dimension); ``None`` for a free dimension.
        name: the input's name. Defaults to ``None``.
        dtype: Defaults to ``"float32"``.

    Raises:
        ValueError: a dimension is not a positive integer or ``None``.
    """

    def __init__(self, shape, name=None, dtype=DEFAULT_DTYPE):
        super().__init__(name, dtype)
        self.shape = _sample_shape(shape, "shape")
        self.built = True
        node = Node(self, [], False, {})
        node.outputs.append(SymbolicTensor((None, *self.shape), self.dtype, node))
        self.output = node.outputs[0]

    def forward(self, x):
        return x

    def get_config(self):
        return {"shape": list(self.shape), "dtype": self.dtype.name, "name": self.name}


def Input(shape, name=None, dtype=DEFAULT_DTYPE, batch_size=None):  # noqa: N802 - Keras's name
    """A symbolic input for a functional model (Keras's ``keras.Input``).

    Args:
        shape: the shape of one sample, without the batch dimension, e.g. ``(8, 8, 1)``;
            ``None`` marks a dimension of any size (sequences of any length).
        name: the input's name (the dict keys of ``fit`` use it). Defaults to ``None``
            (the model names it ``input_layer``, ``input_layer_1``, ...).
        dtype: the data type. Defaults to ``"float32"``.
        batch_size: accepted for Keras compatibility; the batch dimension stays free.

    Returns:
        A :class:`~glassnet.nn.symbolic.SymbolicTensor` of shape ``(None, *shape)``.

    Raises:
        ValueError: a dimension is not a positive integer or ``None``.

    >>> Input((3,)).shape
    (None, 3)
    """
    return InputLayer(shape, name=name, dtype=dtype).output
