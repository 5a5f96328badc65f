"""One converter per layer type: ``fn(g, layer, x, mask)`` adds the layer's nodes to the graph
``g`` for the input ``x`` (a :class:`Value`) and returns the output's name.

glassnet is channels-last (batch, height, width, channels) and ONNX's convolutions and poolings
are channels-first, so those converters transpose in and out around the ONNX node.
"""
import numpy as np

from ..nn import activations, conv, layers, normalization, recurrent
from ..ops.conv import out_size
from ..tensor import Tensor, no_grad
from .graph import FLOAT, INT64, Value

CONVERTERS = {}  # layer class -> converter
MASKS = {}  # layer class -> fn(g, layer, x, mask) giving the mask the next layer receives


def converts(*classes, table=CONVERTERS):
    def register(fn):
        for cls in classes:
            table[cls] = fn
        return fn

    return register


class ExportError(ValueError):
    """A layer, activation or setting that has no ONNX form."""


def describe(layer):
    return f"{type(layer).__name__} layer {layer.name!r}" if layer.name else f"{type(layer).__name__} layer"


def output_shape(layer, shape):
    """The layer's output shape for inputs of ``shape`` (``None`` for a dynamic axis), found by
    running it on zeros; a dynamic input axis is tried at two sizes, and an output axis that
    changes with it is dynamic too."""
    def run(size):
        x = np.zeros((1, *(size if d is None else d for d in shape[1:])), dtype=np.float32)
        was_training = layer.training
        layer.eval()
        try:
            with no_grad():
                y = layer(Tensor(x))
        finally:
            layer.train(was_training)
        if isinstance(y, (list, tuple)):
            raise ExportError(f"{describe(layer)} returns several tensors (return_state=True); "
                              "export it without return_state")
        return y.shape[1:]

    first = run(2)
    second = run(3) if None in shape[1:] else first
    return (None, *(a if a == b else None for a, b in zip(first, second)))


def static(layer, value, axes, why):
    """``value``'s sizes on ``axes``; an ExportError naming the layer where one is dynamic."""
    sizes = [value.shape[a] for a in axes]
    if None in sizes:
        raise ExportError(f"{describe(layer)} {why}, so it needs fixed sizes there; received an input of shape "
                          f"{value.shape} (give the Input fixed sizes)")
    return sizes


def convert(g, layer, x, mask=None):
    """Add ``layer`` applied to ``x``; returns (output Value, the mask for the next layer or None).

    Raises:
        ExportError: the layer (or something it uses) has no ONNX form; the message names it.
    """
    fn = CONVERTERS.get(type(layer))
    if fn is None:
        raise ExportError(f"{describe(layer)} cannot be exported to ONNX: no converter for "
                          f"{type(layer).__name__} (exportable: {', '.join(sorted(c.__name__ for c in CONVERTERS))})")
    y = Value(fn(g, layer, x, mask if getattr(layer, "supports_masking", False) else None),
              output_shape(layer, x.shape))
    mask_fn = MASKS.get(type(layer))
    return y, (mask_fn(g, layer, x, mask) if mask_fn is not None else None)


# -- activations ---------------------------------------------------------------------------
def _gelu(g, x, approximate=False):
    if approximate:  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Mul", g.op("Add", x, g.op("Mul", cube, g.const(0.044715))), g.const(np.sqrt(2 / np.pi)))
        return g.op("Mul", g.op("Mul", x, g.const(0.5)), g.op("Add", g.op("Tanh", inner), g.const(1.0)))
    if g.opset >= 20:
        return g.op("Gelu", x)
    cdf = g.op("Mul", g.op("Add", g.op("Erf", g.op("Div", x, g.const(np.sqrt(2)))), g.const(1.0)), g.const(0.5))
    return g.op("Mul", x, cdf)


def _maxout(g, x, num_pieces=2, shape=None):
    grouped = g.op("Reshape", x, g.ints([0] * (len(shape) - 1) + [shape[-1] // num_pieces, num_pieces]))
    return g.reduce("ReduceMax", grouped, [-1])


ACTIVATIONS = {  # registry name -> fn(g, x, **kwargs)
    "linear": lambda g, x: x,
    "sigmoid": lambda g, x: g.op("Sigmoid", x),
    "tanh": lambda g, x: g.op("Tanh", x),
    "relu": lambda g, x: g.op("Relu", x),
    "relu6": lambda g, x: g.op("Clip", x, g.const(0.0), g.const(6.0)),
    "leaky_relu": lambda g, x, alpha=0.01: g.op("LeakyRelu", x, alpha=float(alpha)),
    "elu": lambda g, x, alpha=1.0: g.op("Elu", x, alpha=float(alpha)),
    "selu": lambda g, x: g.op("Selu", x, alpha=activations._SELU_ALPHA, gamma=activations._SELU_SCALE),
    "gelu": _gelu,
    "hard_sigmoid": lambda g, x: g.op("HardSigmoid", x, alpha=1 / 6, beta=0.5),
    "swish": lambda g, x: g.op("Mul", x, g.op("Sigmoid", x)),
    "softplus": lambda g, x: g.op("Softplus", x),
    "softsign": lambda g, x: g.op("Softsign", x),
    "softmax": lambda g, x, axis=-1: g.op("Softmax", x, axis=axis),
    "log_softmax": lambda g, x, axis=-1: g.op("LogSoftmax", x, axis=axis),
}


def activation(g, layer, fn, x, **kwargs):
    """The activation ``fn`` (a registered function) applied to the Value ``x``."""
    name = activations.name_of(fn)
    if name == "maxout":
        return _maxout(g, x.name, shape=x.shape, **kwargs)
    if name not in ACTIVATIONS:
        raise ExportError(f"{describe(layer)} uses the activation {name or fn!r}, which has no ONNX form")
    return ACTIVATIONS[name](g, x.name, **kwargs)


@converts(*(cls for cls in {layers.LAYERS.get(n) for n in layers.LAYERS.names()}
            if isinstance(cls, type) and issubclass(cls, layers.Activation)))
def _activation_layer(g, layer, x, mask):
    return activation(g, layer, layer.fn, x, **layer.kwargs)


# -- core ----------------------------------------------------------------------------------
def _affine(g, x, kernel, bias):
    y = g.op("MatMul", x, g.const(kernel, "kernel"))
    return y if bias is None else g.op("Add", y, g.const(bias.data, "bias"))


@converts(layers.Dense, layers.Linear)
def _dense(g, layer, x, mask):
    y = _affine(g, x.name, layer.kernel.data, layer.bias)
    return activation(g, layer, layer.activation, Value(y, (*x.shape[:-1], layer.units)))


@converts(layers.Maxout)
def _maxout_layer(g, layer, x, mask):
    y = _affine(g, x.name, layer.kernel.data, layer.bias)
    y = activation(g, layer, layer.activation, Value(y, (*x.shape[:-1], layer.units)))
    return _maxout(g, y, layer.num_pieces, (*x.shape[:-1], layer.units))


@converts(layers.Dropout)
def _identity(g, layer, x, mask):
    return g.op("Identity", x.name)  # inference: dropout does nothing


@converts(layers.Flatten)
def _flatten(g, layer, x, mask):
    return g.op("Flatten", x.name, axis=1)


@converts(conv.Reshape)
def _reshape(g, layer, x, mask):
    return g.op("Reshape", x.name, g.ints([0, *layer.target_shape]))  # 0 keeps the batch size


@converts(layers.Rescaling)
def _rescaling(g, layer, x, mask):
    return g.op("Add", g.op("Mul", x.name, g.const(layer.scale, "scale")), g.const(layer.offset, "offset"))


# -- convolutions and poolings ---------------------------------------------------------------
def _channels_first(g, x, rank):
    return g.op("Transpose", x, perm=[0, rank + 1, *range(1, rank + 1)])


def _channels_last(g, x, rank):
    return g.op("Transpose", x, perm=[0, *range(2, rank + 2), 1])


def _pads(layer, x, kernel, strides, dilation):
    """ONNX's pads (all begins, then all ends) for glassnet's "valid" or "same" on x's sizes
    (with stride 1, "same" pads the same for every size)."""
    spatial = x.shape[1:-1]
    if layer.padding == "same" and max(strides) > 1:
        spatial = static(layer, x, range(1, len(x.shape) - 1), 'pads "same" by the input size at strides > 1')
    pairs = [out_size(n or k, k, s, d, layer.padding)[1] for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    return [p[0] for p in pairs] + [p[1] for p in pairs]


def _spatial(layer, pair):
    return list(pair[1:]) if layer.rank == 1 else list(pair)


@converts(conv.Conv1D, conv.Conv2D)
def _conv(g, layer, x, mask):
    rank = layer.rank
    kernel = layer.kernel.data  # (KH, KW, C, F); Conv1D: (1, K, C, F)
    w = kernel[0].transpose(2, 1, 0) if rank == 1 else kernel.transpose(3, 2, 0, 1)  # (F, C, *K)
    k, s, d = (_spatial(layer, p) for p in (layer.kernel_size, layer.strides, layer.dilation_rate))
    bias = None if layer.bias is None else g.const(layer.bias.data, "bias")
    y = g.op("Conv", _channels_first(g, x.name, rank), g.const(w, "kernel"), bias, kernel_shape=k, strides=s,
             dilations=d, pads=_pads(layer, x, k, s, d))
    y = _channels_last(g, y, rank)
    return activation(g, layer, layer.activation, Value(y, output_shape(layer, x.shape)))


@converts(conv.Conv2DTranspose)
def _conv_transpose(g, layer, x, mask):
    kh, kw = layer.kernel_size
    sh, sw = layer.strides
    w = layer.kernel.data.transpose(3, 2, 0, 1)  # (KH, KW, F, C) -> (C, F, KH, KW)
    pads = [0, 0, 0, 0]
    if layer.padding == "same":  # glassnet keeps the centre (H * s, W * s) of the full (H - 1) * s + k
        extra = [max(kh - sh, 0), max(kw - sw, 0)]
        pads = [extra[0] // 2, extra[1] // 2, extra[0] - extra[0] // 2, extra[1] - extra[1] // 2]
    bias = None if layer.bias is None else g.const(layer.bias.data, "bias")
    y = g.op("ConvTranspose", _channels_first(g, x.name, 2), g.const(w, "kernel"), bias, kernel_shape=[kh, kw],
             strides=[sh, sw], pads=pads)
    y = _channels_last(g, y, 2)
    return activation(g, layer, layer.activation, Value(y, output_shape(layer, x.shape)))


@converts(conv.MaxPooling1D, conv.MaxPooling2D, conv.AveragePooling1D, conv.AveragePooling2D)
def _pool(g, layer, x, mask):
    k, s = _spatial(layer, layer.pool_size), _spatial(layer, layer.strides)
    pads = _pads(layer, x, k, s, [1] * len(k))
    xt = _channels_first(g, x.name, layer.rank)
    if layer.mode == "max":  # ONNX's padding never wins a max, as glassnet's -inf
        y = g.op("MaxPool", xt, kernel_shape=k, strides=s, pads=pads)
    else:  # padded cells are not counted, as in glassnet and Keras
        y = g.op("AveragePool", xt, kernel_shape=k, strides=s, pads=pads, count_include_pad=0)
    return _channels_last(g, y, layer.rank)


@converts(conv.GlobalAveragePooling1D, conv.GlobalAveragePooling2D, conv.GlobalMaxPooling1D,
          conv.GlobalMaxPooling2D)
def _global_pool(g, layer, x, mask):
    op_type = "ReduceMean" if layer.mode == "avg" else "ReduceMax"
    return g.reduce(op_type, x.name, list(range(1, layer.rank + 1)))


@converts(conv.UpSampling2D)
def _upsampling(g, layer, x, mask):
    scales = g.const([1.0, *layer.size, 1.0], "scales")  # channels-last: scale the middle axes
    return g.op("Resize", x.name, None, scales, mode="nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")


# -- normalisation -------------------------------------------------------------------------
@converts(normalization.BatchNormalization)
def _batch_norm(g, layer, x, mask):
    inv = (1 / np.sqrt(layer.moving_variance.data + layer.epsilon)).astype(np.float32)
    y = g.op("Mul", g.op("Sub", x.name, g.const(layer.moving_mean.data, "moving_mean")), g.const(inv, "inv_std"))
    if layer.gamma is not None:
        y = g.op("Mul", y, g.const(layer.gamma.data, "gamma"))
    return y if layer.beta is None else g.op("Add", y, g.const(layer.beta.data, "beta"))


@converts(normalization.LayerNormalization)
def _layer_norm(g, layer, x, mask):
    # NOTE: both weights always given: onnxruntime 1.32 crashes loading a LayerNormalization without B
    gamma = np.ones(x.shape[-1]) if layer.gamma is None else layer.gamma.data
    beta = np.zeros(x.shape[-1]) if layer.beta is None else layer.beta.data
    return g.op("LayerNormalization", x.name, g.const(gamma, "gamma"), g.const(beta, "beta"), axis=-1,
                epsilon=layer.epsilon)


# -- sequences -----------------------------------------------------------------------------
@converts(recurrent.Embedding)
def _embedding(g, layer, x, mask):
    return g.op("Gather", g.const(layer.embeddings.data, "embeddings"), g.op("Cast", x.name, to=INT64), axis=0)


@converts(recurrent.Embedding, table=MASKS)
def _embedding_mask(g, layer, x, mask):
    if not layer.mask_zero:
        return None
    return g.op("Cast", g.op("Not", g.op("Equal", x.name, g.const(0.0))), to=FLOAT)  # 1.0 on real steps


@converts(recurrent.Masking)
def _masking(g, layer, x, mask):
    return g.op("Mul", x.name, _keep(g, layer, x, keepdims=True))


@converts(recurrent.Masking, table=MASKS)
def _masking_mask(g, layer, x, mask):
    return _keep(g, layer, x, keepdims=False)


def _keep(g, layer, x, keepdims):
    """1.0 where any feature of a step differs from mask_value, else 0.0."""
    differs = g.op("Cast", g.op("Not", g.op("Equal", x.name, g.const(layer.mask_value))), to=FLOAT)
    return g.op("Cast", g.op("Greater", g.reduce("ReduceSum", differs, [-1], keepdims), g.const(0.0)), to=FLOAT)


@converts(recurrent.TimeDistributed)
def _time_distributed(g, layer, x, mask):
    rest = static(layer, x, range(2, len(x.shape)), "folds the time steps into the batch")
    merged = Value(g.op("Reshape", x.name, g.ints([-1, *rest])), (None, *rest))
    y, _ = convert(g, layer.layer, merged)
    out_rest = static(layer, y, range(1, len(y.shape)), "unfolds the time steps from the batch")
    batch_steps = g.op("Shape", x.name, start=0, end=2)  # (batch, steps) of this input
    return g.op("Reshape", y.name, g.op("Concat", batch_steps, g.ints(out_rest), axis=0))


@converts(recurrent.TimeDistributed, table=MASKS)
def _pass_mask(g, layer, x, mask):
    return mask
