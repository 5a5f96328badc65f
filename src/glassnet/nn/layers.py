"""Core layers: Dense, activation layers, Dropout, Flatten, Maxout.

Shapes are batch-first: a Dense layer maps (batch, ..., in_features) to
(batch, ..., units). Kernels are stored (in_features, units), as in Keras.
"""
import numpy as np

from .. import functional as F
from .. import ops
from ..backend import DEFAULT_DTYPE
from ..ops import bias_activation
from ..random import make_rng
from . import activations, initializers, regularizers
from .layer import LAYERS, Layer, _positive_int, _serialize
from .module import Parameter


@LAYERS.register("Dense")
class Dense(Layer):
    """A fully connected layer: ``activation(x @ kernel + bias)``.

    Args:
        units: the number of output features (neurons).
        activation: a name (``"relu"``) or a callable. Defaults to ``None`` (linear).
        use_bias: add a bias vector. Defaults to ``True``.
        kernel_initializer: name or callable. Defaults to ``"glorot_uniform"``.
        bias_initializer: name or callable. Defaults to ``"zeros"``.
        kernel_regularizer: a penalty on the kernel (``"l2"``, ``L2(1e-4)``). Defaults to ``None``.
        bias_regularizer: a penalty on the bias. Defaults to ``None``.
        input_dim: the number of input features; inferred on the first call
            when ``None``. Defaults to ``None``.
        seed: int or Generator for the initial weights. Defaults to ``None``
            (the thread's default generator, see ``glassnet.random.set_seed``).

    Raises:
        ValueError: ``units`` is not a positive integer; an input's last
            dimension differs from the built input size.

    >>> layer = Dense(3, activation="relu", input_dim=2, seed=0)
    >>> layer(np.ones((4, 2))).shape
    (4, 3)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 input_dim=None, seed=None, name=None, dtype=DEFAULT_DTYPE):
        super().__init__(name, dtype)
        self.units = _positive_int("units", units)
        self.activation_name = activation if isinstance(activation, str) or activation is None else None
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_dim = None if input_dim is None else _positive_int("input_dim", input_dim)
        self.seed = seed
        self.kernel = self.bias = None
        if self.input_dim is not None:
            self.input_shape_hint = (self.input_dim,)
            self.build((None, self.input_dim))
            self.built = True

    def build(self, input_shape):
        self.input_dim = _positive_int("input features", input_shape[-1])
        rng = make_rng(self.seed)
        shape = (self.input_dim, self.units)
        self.kernel = Parameter(initializers.get(self.kernel_initializer)(shape, rng, self.dtype), name="kernel")
        if self.use_bias:
            self.bias = Parameter(initializers.get(self.bias_initializer)((self.units,), rng, self.dtype),
                                  name="bias")

    def forward(self, x, apply_activation=True):
        if x.shape[-1:] != (self.input_dim,):
            self._wrong_input(x)
        # NOTE: the op directly: the shapes were checked just above. The bias and the usual
        # activations run inside the Linear node (one node, fused compiled passes).
        kind = activations.DENSE_FUSED.get(self.activation) if apply_activation else "linear"
        if kind is not None:
            op = ops.Linear(activation=kind)
            return op(x, self.kernel) if self.bias is None else op(x, self.kernel, self.bias)
        z = ops.Linear()(x, self.kernel) if self.bias is None else ops.Linear()(x, self.kernel, self.bias)
        return self.activation(z)

    def infer(self, x):
        if x.shape[-1:] != (self.input_dim,):
            self._wrong_input(x)
        kind = activations.DENSE_FUSED.get(self.activation)
        if kind is None:
            return super().infer(x)
        return bias_activation.infer(kind, x @ self.kernel.data, None if self.bias is None else self.bias.data)

    def _label(self):
        return f"Dense layer {self.name!r}" if self.name else "Dense"

    def _wrong_input(self, x):
        hint = ""
        if x.ndim > 2:
            hint = (f"; Dense acts on the last axis only: add a Flatten() layer before it to turn samples of shape "
                    f"{x.shape[1:]} into {int(np.prod(x.shape[1:]))} features")
        raise ValueError(f"{self._label()} expects {self.input_dim} input features, got x with shape {x.shape}{hint}")

    def _penalties(self):
        if self.kernel_regularizer is not None and self.kernel is not None:
            yield self.kernel_regularizer(self.kernel)
        if self.bias_regularizer is not None and self.bias is not None:
            yield self.bias_regularizer(self.bias)

    def get_config(self):
        if self.activation_name is None and self.activation is not activations.linear:
            name = activations.name_of(self.activation)
        else:
            name = self.activation_name
        return {"units": self.units, "activation": name, "use_bias": self.use_bias,
                "kernel_initializer": _serialize(self.kernel_initializer, initializers.INITIALIZERS),
                "bias_initializer": _serialize(self.bias_initializer, initializers.INITIALIZERS),
                "kernel_regularizer": _serialize(self.kernel_regularizer, regularizers.REGULARIZERS),
                "bias_regularizer": _serialize(self.bias_regularizer, regularizers.REGULARIZERS),
                "input_dim": self.input_dim, "name": self.name}


@LAYERS.register("Linear")
class Linear(Dense):
    """PyTorch's ``Linear(in_features, out_features, bias=True)``: ``x @ kernel + bias``.

    A Dense layer with PyTorch's signature and PyTorch's initialisation (kernel and bias
    uniform in ``+-1/sqrt(in_features)``), built at once since its input size is known.
    The weight is ``kernel``, stored ``(in_features, out_features)``: the transpose of
    PyTorch's ``weight`` (give ``kernel.data.T`` to PyTorch, ``weight.T`` to glassnet).

    Args:
        in_features: the size of each input sample's last axis.
        out_features: the size of each output sample's last axis.
        bias: learn an additive bias. Defaults to ``True``.
        seed: int or Generator for the initial weights. Defaults to ``None``.

    Raises:
        ValueError: ``in_features`` or ``out_features`` is not a positive integer.
        TypeError: ``bias`` is not a bool.

    >>> layer = Linear(4, 3, seed=0)
    >>> layer.kernel.shape, layer(np.ones((2, 4))).shape
    ((4, 3), (2, 3))
    """

    def __init__(self, in_features, out_features, bias=True, seed=None, name=None, dtype=DEFAULT_DTYPE):
        in_features = _positive_int("in_features", in_features)
        out_features = _positive_int("out_features", out_features)
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False (whether to learn a bias). Received: bias={bias!r}")
        bound = 1 / np.sqrt(in_features)
        uniform = initializers.RandomUniform(-bound, bound)
        super().__init__(out_features, use_bias=bool(bias), kernel_initializer=uniform, bias_initializer=uniform,
                         input_dim=in_features, seed=seed, name=name, dtype=dtype)

    @property
    def in_features(self):
        return self.input_dim

    @property
    def out_features(self):
        return self.units

    @property
    def weight(self):
        raise AttributeError("glassnet's Linear keeps its weight as `kernel`, shaped (in_features, out_features): "
                             "the transpose of PyTorch's `weight`. Use layer.kernel (layer.kernel.T for PyTorch's "
                             "layout)")

    def _label(self):
        return f"Linear layer {self.name!r}" if self.name else "Linear"

    def get_config(self):
        return {"in_features": self.input_dim, "out_features": self.units, "bias": self.use_bias,
                "name": self.name}


@LAYERS.register("Activation")
class Activation(Layer):
    """Applies an activation function; keyword arguments go to it (``alpha=0.2``)."""

    def __init__(self, activation, name=None, **kwargs):
        super().__init__(name)
        self.activation_name = activation
        self.fn = activations.get(activation)
        self.kwargs = kwargs

    def forward(self, x):
        return self.fn(x, **self.kwargs)

    def get_config(self):
        return {"activation": self.activation_name, "name": self.name, **self.kwargs}


def _activation_layer(class_name, activation, **defaults):
    def __init__(self, name=None, **kwargs):
        Activation.__init__(self, activation, name=name, **{**defaults, **kwargs})

    def get_config(self):
        return {"name": self.name, **self.kwargs}

    cls = type(class_name, (Activation,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": f"The {activation} activation as a layer."})
    return LAYERS.register(class_name)(cls)


ReLU = _activation_layer("ReLU", "relu")
ReLU6 = _activation_layer("ReLU6", "relu6")
LeakyReLU = _activation_layer("LeakyReLU", "leaky_relu", alpha=0.01)
ELU = _activation_layer("ELU", "elu", alpha=1.0)
SELU = _activation_layer("SELU", "selu")
GELU = _activation_layer("GELU", "gelu")
Sigmoid = _activation_layer("Sigmoid", "sigmoid")
HardSigmoid = _activation_layer("HardSigmoid", "hard_sigmoid")
Tanh = _activation_layer("Tanh", "tanh")
Softplus = _activation_layer("Softplus", "softplus")
Softsign = _activation_layer("Softsign", "softsign")
Swish = SiLU = _activation_layer("Swish", "swish")
Softmax = _activation_layer("Softmax", "softmax")
LogSoftmax = _activation_layer("LogSoftmax", "log_softmax")


@LAYERS.register("Dropout")
class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability ``rate``
    and scale the rest by ``1 / (1 - rate)``; in evaluation, do nothing.

    Args:
        rate: the fraction of values to drop, in [0, 1).
        seed: int or Generator for the masks. Defaults to ``None``.
    """

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float in [0, 1). "
                             f"Received: rate={rate!r}")
        self.rate, self.seed = float(rate), seed
        self.rng = None  # made on first use, so a seed set later by Sequential counts

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        if self.rng is None:
            self.rng = make_rng(self.seed)
        return ops.Dropout(self.rate, self.rng)(x)

    def infer(self, x):
        return x

    def get_config(self):
        return {"rate": self.rate, "name": self.name}


@LAYERS.register("Flatten")
class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""

    def forward(self, x):
        return F.flatten(x)


@LAYERS.register("Rescaling")
class Rescaling(Layer):
    """x * scale + offset with constant (not trained) scale and offset.

    Puts a fitted scaler (such as scikit-learn's ``MinMaxScaler``: ``scale_``
    and ``min_``) inside the model, so the saved model takes raw inputs.
    """

    def __init__(self, scale=1.0, offset=0.0, name=None, dtype=DEFAULT_DTYPE):
        super().__init__(name, dtype)
        self.scale = np.asarray(scale, dtype=self.dtype)
        self.offset = np.asarray(offset, dtype=self.dtype)

    def forward(self, x):
        if self.scale.ndim and x.shape[-1:] != self.scale.shape:
            raise ValueError(f"Rescaling expects {self.scale.shape[0]} input features, got x with shape {x.shape}")
        return x * self.scale + self.offset

    def get_config(self):
        return {"scale": self.scale.tolist(), "offset": self.offset.tolist(), "name": self.name}

    def extra_repr(self):
        return f"features={self.scale.size}"


@LAYERS.register("Maxout")
class Maxout(Dense):
    """A maxout layer: ``units`` neurons, each the max of ``num_pieces`` linear pieces."""

    def __init__(self, units, num_pieces=2, **kwargs):
        self.num_pieces = _positive_int("num_pieces", num_pieces)
        super().__init__(units * self.num_pieces, **kwargs)
        self.maxout_units = _positive_int("units", units)

    def forward(self, x, apply_activation=True):
        return activations.maxout(super().forward(x, apply_activation=True), self.num_pieces)

    # NOTE: not Dense's array path, which would return the units * num_pieces linear pieces
    infer = Layer.infer

    def get_config(self):
        config = super().get_config()
        config.update(units=self.maxout_units, num_pieces=self.num_pieces)
        return config
