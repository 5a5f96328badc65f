"""Activation functions by name: ``activation="relu"`` anywhere a layer takes one.

Primitives with analytic derivatives live in :mod:`glassnet.ops.activation`;
the rest are compositions of primitives, so their derivatives come from the
chain rule.
"""
from .. import functional as F
from ..registry import Registry

ACTIVATIONS = Registry("activation")

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@ACTIVATIONS.register("linear")
def linear(x):
    """The identity: a(z) = z."""
    return x


ACTIVATIONS.register("sigmoid")(F.sigmoid)
ACTIVATIONS.register("tanh")(F.tanh)
ACTIVATIONS.register("relu")(F.relu)
ACTIVATIONS.register("leaky_relu")(F.leaky_relu)
ACTIVATIONS.register("elu")(F.elu)
ACTIVATIONS.register("softplus")(F.softplus)
ACTIVATIONS.register("softmax")(F.softmax)
ACTIVATIONS.register("log_softmax")(F.log_softmax)
ACTIVATIONS.register("gelu")(F.gelu)


@ACTIVATIONS.register("hard_sigmoid")
def hard_sigmoid(x):
    """relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    return F.clip(x / 6.0 + 0.5, 0.0, 1.0)


@ACTIVATIONS.register("relu6")
def relu6(x):
    """min(max(x, 0), 6)."""
    return F.clip(x, 0.0, 6.0)


@ACTIVATIONS.register("selu")
def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants."""
    return F.elu(x, _SELU_ALPHA) * _SELU_SCALE


@ACTIVATIONS.register("swish", "silu")
def swish(x):
    """x * sigmoid(x)."""
    return x * F.sigmoid(x)


@ACTIVATIONS.register("softsign")
def softsign(x):
    """x / (1 + |x|)."""
    return x / (F.abs(x) + 1.0)


@ACTIVATIONS.register("maxout")
def maxout(x, num_pieces=2):
    """The max over groups of ``num_pieces`` consecutive features (seed 001's maxout).

    x of shape (..., units * num_pieces) gives (..., units).
    """
    x = F._t(x)
    if x.shape[-1] % num_pieces:
        raise ValueError(f"maxout needs a last dimension divisible by num_pieces={num_pieces}; "
                         f"received x with shape {x.shape}")
    grouped = x.reshape(*x.shape[:-1], x.shape[-1] // num_pieces, num_pieces)
    return grouped.max(axis=-1)


# The activations a Dense layer runs inside its own node (``ops.Linear``), by kind.
DENSE_FUSED = {
    linear: "linear",
    F.relu: "relu",
    F.sigmoid: "sigmoid",
    F.tanh: "tanh",
    F.leaky_relu: "leaky_relu",
    F.elu: "elu",
    F.softplus: "softplus",
    F.gelu: "gelu",
    F.softmax: "softmax",
}


def get(identifier):
    """An activation function from a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return ACTIVATIONS.get(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a name or a callable; received: activation={identifier!r}")


def name_of(fn):
    """The registry name of an activation function, or None for a custom one."""
    return ACTIVATIONS.name_of(fn)
