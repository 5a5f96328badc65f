"""Convolution and pooling layers, channels-last as in Keras: (batch, height, width, channels)
for the 2-D layers and (batch, steps, channels) for the 1-D ones."""
import numpy as np

from .. import ops
from ..backend import DEFAULT_DTYPE
from ..random import make_rng
from . import activations, initializers, regularizers
from .layer import LAYERS, Layer, _positive_int, _serialize
from .module import Parameter


def _pair(name, value):
    items = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(items) != 2:
        raise ValueError(f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}")
    return tuple(_positive_int(name, v) for v in items)


def _padding(value):
    if value not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same'. Received: padding={value!r}")
    return value


def _expect_rank(layer, x, rank, what):
    if x.ndim != rank:
        raise ValueError(f"{type(layer).__name__} expects {what} (rank {rank}), got x with shape {x.shape}")


class _Conv(Layer):
    """Shared by Conv1D and Conv2D: a kernel (KH, KW, C_in, filters) and a bias."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, seed=None, name=None, dtype=DEFAULT_DTYPE):
        super().__init__(name, dtype)
        self.filters = _positive_int("filters", filters)
        self.kernel_size = self._norm("kernel_size", kernel_size)
        self.strides = self._norm("strides", strides)
        self.dilation_rate = self._norm("dilation_rate", dilation_rate)
        self.padding = _padding(padding)
        self.activation_name = activation if isinstance(activation, str) or activation is None else None
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.seed = seed
        self.kernel = self.bias = None

    def _norm(self, name, value):
        if self.rank == 1:
            v = value[0] if isinstance(value, (tuple, list)) else value
            return (1, _positive_int(name, v))
        return _pair(name, value)

    def build(self, input_shape):
        channels = input_shape[-1]
        rng = make_rng(self.seed)
        shape = (*self.kernel_size, channels, self.filters)
        self.kernel = Parameter(initializers.get(self.kernel_initializer)(shape, rng, self.dtype), name="kernel")
        if self.use_bias:
            self.bias = Parameter(initializers.get(self.bias_initializer)((self.filters,), rng, self.dtype),
                                  name="bias")

    def forward(self, x):
        _expect_rank(self, x, self.rank + 2, "(batch, steps, channels)" if self.rank == 1
                     else "(batch, height, width, channels)")
        if x.shape[-1] != self.kernel.shape[2]:
            raise ValueError(f"{type(self).__name__} expects {self.kernel.shape[2]} input channels, "
                             f"got x with shape {x.shape}")
        kind = activations.DENSE_FUSED.get(self.activation)  # the usual activations run inside the node
        fused = kind is not None
        op = ops.Conv2D(self.strides, self.padding, self.dilation_rate, activation=kind)
        x4 = x.reshape(x.shape[0], 1, *x.shape[1:]) if self.rank == 1 else x
        args = (x4, self.kernel) if self.bias is None else (x4, self.kernel, self.bias)
        y = op(*args)
        if self.rank == 1:
            y = y.reshape(y.shape[0], *y.shape[2:])
        return y if fused else self.activation(y)

    def _penalties(self):
        if self.kernel_regularizer is not None and self.kernel is not None:
            yield self.kernel_regularizer(self.kernel)

    def get_config(self):
        pick = (lambda t: t[1]) if self.rank == 1 else (lambda t: list(t))
        return {"filters": self.filters, "kernel_size": pick(self.kernel_size), "strides": pick(self.strides),
                "padding": self.padding, "dilation_rate": pick(self.dilation_rate),
                "activation": self.activation_name or activations.name_of(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": _serialize(self.kernel_initializer, initializers.INITIALIZERS),
                "bias_initializer": _serialize(self.bias_initializer, initializers.INITIALIZERS),
                "kernel_regularizer": _serialize(self.kernel_regularizer, regularizers.REGULARIZERS),
                "name": self.name}


@LAYERS.register("Conv2D")
class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels).

    Args:
        filters: output channels.
        kernel_size: an int or (height, width).
        strides: an int or a pair. Defaults to ``1``.
        padding: ``"valid"`` (no padding) or ``"same"`` (output size
            ceil(input / stride)). Defaults to ``"valid"``.
        dilation_rate: an int or a pair. Defaults to ``1``.
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, seed: as for Dense.

    >>> Conv2D(4, 3, padding="same", seed=0)(np.zeros((2, 8, 8, 1))).shape
    (2, 8, 8, 4)
    """


@LAYERS.register("Conv1D")
class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); arguments as Conv2D with ints."""

    rank = 1


@LAYERS.register("Conv2DTranspose")
class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (up-sampling by ``strides``): the generator's layer.

    The kernel has Keras's layout (KH, KW, filters, C_in). Dilation is not supported.
    """

    _kernel_input_axis = -1

    def build(self, input_shape):
        if self.dilation_rate != (1, 1):
            raise ValueError(f"Conv2DTranspose supports dilation_rate=1 only; received {self.dilation_rate}")
        rng = make_rng(self.seed)
        shape = (*self.kernel_size, self.filters, input_shape[-1])
        self.kernel = Parameter(initializers.get(self.kernel_initializer)(shape, rng, self.dtype), name="kernel")
        if self.use_bias:
            self.bias = Parameter(initializers.get(self.bias_initializer)((self.filters,), rng, self.dtype),
                                  name="bias")

    def forward(self, x):
        _expect_rank(self, x, 4, "(batch, height, width, channels)")
        if x.shape[-1] != self.kernel.shape[3]:
            raise ValueError(f"Conv2DTranspose expects {self.kernel.shape[3]} input channels, "
                             f"got x with shape {x.shape}")
        kind = activations.DENSE_FUSED.get(self.activation)  # the usual activations run inside the node
        op = ops.Conv2DTranspose(self.strides, self.padding, activation=kind)
        y = op(x, self.kernel) if self.bias is None else op(x, self.kernel, self.bias)
        return y if kind is not None else self.activation(y)


class _Pool(Layer):
    rank, mode = 2, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(name)
        if self.rank == 1:
            size = pool_size[0] if isinstance(pool_size, (tuple, list)) else pool_size
            stride = size if strides is None else (strides[0] if isinstance(strides, (tuple, list)) else strides)
            self.pool_size, self.strides = (1, _positive_int("pool_size", size)), (1, _positive_int("strides", stride))
        else:
            self.pool_size = _pair("pool_size", pool_size)
            self.strides = self.pool_size if strides is None else _pair("strides", strides)
        self.padding = _padding(padding)

    def forward(self, x):
        _expect_rank(self, x, self.rank + 2, "(batch, steps, channels)" if self.rank == 1
                     else "(batch, height, width, channels)")
        op = ops.Pool2D(self.pool_size, self.strides, self.padding, self.mode)
        if self.rank == 1:
            y = op(x.reshape(x.shape[0], 1, *x.shape[1:]))
            return y.reshape(y.shape[0], *y.shape[2:])
        return op(x)

    def get_config(self):
        pick = (lambda t: t[1]) if self.rank == 1 else (lambda t: list(t))
        return {"pool_size": pick(self.pool_size), "strides": pick(self.strides), "padding": self.padding,
                "name": self.name}


@LAYERS.register("MaxPooling2D")
class MaxPooling2D(_Pool):
    """The maximum of each (pool_size) window; strides default to the pool size."""


@LAYERS.register("AveragePooling2D")
class AveragePooling2D(_Pool):
    """The mean of each (pool_size) window; strides default to the pool size."""

    mode = "avg"


@LAYERS.register("MaxPooling1D")
class MaxPooling1D(_Pool):
    rank = 1


@LAYERS.register("AveragePooling1D")
class AveragePooling1D(_Pool):
    rank, mode = 1, "avg"


class _GlobalPool(Layer):
    rank, mode = 2, "avg"

    def forward(self, x):
        _expect_rank(self, x, self.rank + 2, "(batch, steps, channels)" if self.rank == 1
                     else "(batch, height, width, channels)")
        axes = tuple(range(1, self.rank + 1))
        return x.mean(axis=axes) if self.mode == "avg" else x.max(axis=axes)


@LAYERS.register("GlobalAveragePooling2D")
class GlobalAveragePooling2D(_GlobalPool):
    """(batch, H, W, C) -> (batch, C): the mean over all positions."""


@LAYERS.register("GlobalAveragePooling1D")
class GlobalAveragePooling1D(_GlobalPool):
    rank = 1


@LAYERS.register("GlobalMaxPooling2D", "GlobalMaxPooling")
class GlobalMaxPooling2D(_GlobalPool):
    """(batch, H, W, C) -> (batch, C): the maximum over all positions."""

    mode = "max"


@LAYERS.register("GlobalMaxPooling1D")
class GlobalMaxPooling1D(_GlobalPool):
    rank, mode = 1, "max"


GlobalMaxPooling = GlobalMaxPooling2D


@LAYERS.register("UpSampling2D")
class UpSampling2D(Layer):
    """Repeat each pixel ``size`` times along height and width (nearest neighbour)."""

    def __init__(self, size=2, name=None):
        super().__init__(name)
        self.size = _pair("size", size)

    def forward(self, x):
        _expect_rank(self, x, 4, "(batch, height, width, channels)")
        return ops.UpSample2D(self.size)(x)

    def get_config(self):
        return {"size": list(self.size), "name": self.name}


@LAYERS.register("Reshape")
class Reshape(Layer):
    """Reshape every sample to ``target_shape`` (the batch axis is kept)."""

    def __init__(self, target_shape, name=None):
        super().__init__(name)
        self.target_shape = tuple(int(n) for n in target_shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.target_shape)

    def get_config(self):
        return {"target_shape": list(self.target_shape), "name": self.name}
