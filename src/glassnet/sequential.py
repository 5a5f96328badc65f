"""Sequential: a stack of layers, each feeding the next."""
import copy

import numpy as np

from .model import Model
from .nn import activations
from .nn import losses as losses_lib
from .nn.input_layer import InputLayer
from .nn.layers import Activation, Dense, Layer, ReLU
from .nn.module import evaluating
from .nn.normalization import BatchNormalization
from .nn.symbolic import OPEN_SIZES, SymbolicTensor, concrete
from .random import make_rng
from .summary import layer_names, snake_case, summary_table
from .tensor import Tensor, no_grad

# Output activation + loss pairs computed together from the pre-activation
# (logits): numerically stable and one fused backward instead of two.
_FUSED = {
    ("softmax", losses_lib.CategoricalCrossentropy): losses_lib.CategoricalCrossentropy,
    ("softmax", losses_lib.SparseCategoricalCrossentropy): losses_lib.SparseCategoricalCrossentropy,
    ("sigmoid", losses_lib.BinaryCrossentropy): losses_lib.BinaryCrossentropy,
}


class Sequential(Model):
    """Layers applied in order.

    Args:
        *layers: a list of layers (Keras's ``Sequential([a, b])``) or the layers
            themselves (PyTorch's ``Sequential(a, b)``). Defaults to none (add them
            with ``add``); ``layers=[...]`` also works.
        seed: seeds every layer's initial weights and dropout masks that has
            no seed of its own, and the shuffling in ``fit``. Defaults to
            ``None``.

    >>> import glassnet as gn
    >>> model = gn.Sequential([gn.nn.Dense(64, activation="relu"), gn.nn.Dense(10, activation="softmax")], seed=0)
    >>> model.predict(np.zeros((2, 64))).shape
    (2, 10)
    """

    def __init__(self, *layers, name=None, seed=None, **kwargs):
        if "layers" in kwargs:
            if layers:
                raise TypeError("Sequential takes its layers once: Sequential([a, b]), Sequential(a, b) or "
                                "Sequential(layers=[a, b])")
            layers = (kwargs.pop("layers"),)
        if kwargs:
            raise TypeError(f"Sequential got unexpected keyword arguments: {', '.join(kwargs)}")
        super().__init__(name, seed)
        self._rng = make_rng(seed) if seed is not None else None
        self.layers = []
        if len(layers) == 1 and (layers[0] is None or isinstance(layers[0], (list, tuple))):
            layers = layers[0] or ()
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            if self.layers:
                raise ValueError("gn.Input(...) can only start a Sequential model")
            self._declared_input = layer.shape  # Keras's Sequential([Input(shape), ...]): build at once
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes layers; received: {layer!r}")
        if self._rng is not None:  # every unseeded layer, wrapped ones (Bidirectional, TimeDistributed) too
            for module in layer.modules():
                if getattr(module, "seed", 0) is None:
                    module.seed = int(self._rng.integers(2**63))
                    if module.built and getattr(module, "input_dim", None):  # built in its constructor: redraw
                        module.build((None, module.input_dim))
        self.layers.append(layer)
        self._masking = self._masking or hasattr(layer, "compute_mask")
        self.built = False
        self._penalty_modules = None
        # The input shape is known (an Input, or input_shape= or Dense's input_dim on the first
        # layer, never Embedding's input_dim, the vocabulary size): build now, as Keras does,
        # sizes left open (None: sequences of any length) included.
        hint = self.layers[0].input_shape_hint
        shape = self._declared_input or ((None, *hint) if hint else ())
        if len(shape) > 1:
            self.build(shape)

    def build(self, input_shape):
        if not self.layers:
            raise ValueError("this Sequential model has no layers: give them to Sequential([...]) or add them "
                             "with model.add(layer) before build, fit, evaluate or predict")
        super().build(input_shape)

    def forward(self, x, logits=False):
        """Run every layer; with ``logits`` the last Dense layer skips its activation."""
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        last = len(self.layers) - 1
        if not self._masking:  # the common case: a plain chain of layers
            folded = _relus_folded(self.layers[:-1])
            for i, layer in enumerate(self.layers[:-1]):
                if i not in folded:
                    x = layer(x, relu=True) if i + 1 in folded else layer(x)
            return self.layers[-1](x, apply_activation=False) if logits else self.layers[-1](x)
        mask = None
        for i, layer in enumerate(self.layers):
            inputs = x
            if logits and i == last:
                x = layer(x, apply_activation=False)
            elif mask is not None and getattr(layer, "supports_masking", False):
                x = layer(x, mask=mask)
            else:
                x = layer(x)
            compute_mask = getattr(layer, "compute_mask", None)
            mask = compute_mask(inputs, mask) if compute_mask is not None else None
        return x

    def infer(self, x):
        """Inference on an array, layer by layer, without building a graph."""
        if any(hasattr(layer, "compute_mask") for layer in self.layers):
            return super().infer(x)  # masks travel between layers: take the graph path
        folded = _relus_folded(self.layers)
        for i, layer in enumerate(self.layers):
            if i not in folded:
                x = layer.infer(x, relu=True) if i + 1 in folded else layer.infer(x)
        return x

    # -- the fused output activation + loss ---------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, loss_weights=None):
        super().compile(optimizer, loss, metrics, loss_weights)
        self._fused_loss = None
        last = self.layers[-1] if self.layers else None
        if isinstance(last, Dense) and type(last) is Dense and isinstance(self.loss, losses_lib.Loss) \
                and not getattr(self.loss, "from_logits", True):
            name = activations.name_of(last.activation)
            fused = _FUSED.get((name, type(self.loss)))
            if fused is not None:
                self._fused_loss = copy.copy(self.loss)  # NOTE: every setting (label_smoothing) kept
                self._fused_loss.from_logits = True
                self._fused_activation = last.activation

    def _forward_for_loss(self, x):
        return self.forward(x, logits=self._fused_loss is not None)

    def _training_loss(self, y, output, sample_weight, prepared=False):
        loss = self._fused_loss or self.loss
        if prepared:
            return loss.compute(y, output, sample_weight)
        return loss(y, output, sample_weight=sample_weight)

    def _probabilities(self, output):
        if self._fused_loss is None:
            return output.data
        return self._fused_activation(output.detach()).data

    _fused_loss = None
    _masking = False
    _declared_input = None

    def extra_repr(self):
        return f"name={self.name!r}" if self.name else ""

    def summary(self, print_fn=print):
        """Print a table of the layers with their output shapes and parameter counts.

        Returns:
            The table as a string.
        """
        names = layer_names(self.layers, lambda layer: snake_case(type(layer).__name__))
        rows = [(f"{name} ({type(layer).__name__})", str(shape), f"{layer.count_params():,}")
                for name, layer, shape in zip(names, self.layers, self._output_shapes("summary()"))]
        return summary_table(self, "sequential", ("Layer (type)", "Output Shape", "Param #"), rows, print_fn)

    def _output_shapes(self, what):
        """Each layer's output shape, batch axis None, from zeros run through the layers."""
        if not self.built:
            raise ValueError(f"{what} needs a built model: call model.build((None, *input_shape)), fit it, "
                             "or start with gn.Input(shape) or input_shape= on the first layer")
        # NOTE: sizes left open (None) are probed with two lengths; an output size that follows them stays None
        x, x2 = (Tensor(np.zeros((1, *concrete(self._input_shape, size)), dtype=self.dtype)) for size in OPEN_SIZES)
        shapes = []
        with evaluating(), no_grad():  # no dropout draw, no moving-statistics update
            for layer in self.layers:
                x, x2 = layer(x), (layer(x2) if None in self._input_shape else None)
                shape = x.shape[1:] if x2 is None else tuple(a if a == b else None for a, b in zip(x.shape[1:],
                                                                                                   x2.shape[1:]))
                shapes.append((None, *shape))
        return shapes

    @property
    def input_shape(self):
        """Keras's: one batch's input shape, the batch axis None (a built model only)."""
        if not self.built:
            raise ValueError("input_shape needs a built model: call model.build((None, *input_shape)), fit it, "
                             "or start with gn.Input(shape) or input_shape= on the first layer")
        return (None, *self._input_shape)

    @property
    def output_shape(self):
        """Keras's: the last layer's output shape, the batch axis None (a built model only)."""
        return self._output_shapes("output_shape")[-1]

    def get_config(self):
        from .nn.layers import LAYERS  # noqa: PLC0415

        for layer in self.layers:
            if not any(LAYERS.get(n) is type(layer) for n in LAYERS.names()):
                raise ValueError(f"{type(layer).__name__} is not a registered layer and cannot be saved")
        return {"name": self.name, "layers": [{"class": type(layer).__name__, "config": layer.get_config()}
                                              for layer in self.layers]}


def _relus_folded(layers):
    """The indexes of the relu activation layers (``Activation("relu")``, ``ReLU()``) that directly
    follow a BatchNormalization: that layer applies the relu in its own pass (one pass and one
    full-size array fewer each way), and the relu layer is skipped."""
    return {i + 1 for i in range(len(layers) - 1) if isinstance(layers[i], BatchNormalization)
            and type(layers[i + 1]) in (Activation, ReLU) and not layers[i + 1].kwargs
            and activations.name_of(layers[i + 1].fn) == "relu"}
