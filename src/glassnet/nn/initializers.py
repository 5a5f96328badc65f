"""Weight initializers: ``init(shape, rng, dtype)`` returns a new array.

Defaults as in Keras: Glorot uniform kernels, zero biases. Every draw comes
from a ``numpy.random.Generator``, so a seed fixes the model bit for bit.
Shapes are (fan_in, fan_out) for a dense kernel, and
(*receptive_field, fan_in, fan_out) for convolution kernels.
"""
import math
import threading

import numpy as np

from ..backend import DEFAULT_DTYPE
from ..registry import Registry

INITIALIZERS = Registry("initializer")


def fans(shape):
    """(fan_in, fan_out) of a kernel shape."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class _Placeholders(threading.local):
    on = False


_placeholders = _Placeholders()


class placeholders:
    """Inside this block (in the calling thread) every initializer returns a zero-stride
    view of one number instead of drawing: a layer can be built to learn its
    weight shapes without allocating them (how a model file is checked against its
    size before anything is allocated)."""

    def __enter__(self):
        self.previous, _placeholders.on = _placeholders.on, True
        return self

    def __exit__(self, *exc):
        _placeholders.on = self.previous


class Initializer:
    """Base class; subclasses define ``draw(shape, rng)`` in float64.

    ``seed`` (Keras's argument, on every random initializer): draw from this seed instead of the
    layer's generator, the same values at every call, as Keras's seeded initializers.
    """

    seed = None

    def __call__(self, shape, rng=None, dtype=DEFAULT_DTYPE):
        from ..random import make_rng  # noqa: PLC0415

        if _placeholders.on:
            return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), tuple(shape), (0,) * len(shape))
        rng = make_rng(self.seed if self.seed is not None else rng)
        return np.ascontiguousarray(self.draw(tuple(shape), rng), dtype=dtype)

    def draw(self, shape, rng):
        raise NotImplementedError

    def get_config(self):
        """The arguments that make this initializer again (saved in model files)."""
        return dict(vars(self))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


@INITIALIZERS.register("zeros")
class Zeros(Initializer):
    def draw(self, shape, rng):
        return np.zeros(shape)


@INITIALIZERS.register("ones")
class Ones(Initializer):
    def draw(self, shape, rng):
        return np.ones(shape)


@INITIALIZERS.register("constant")
class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def draw(self, shape, rng):
        return np.full(shape, self.value)


@INITIALIZERS.register("random_normal")
class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def draw(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)


@INITIALIZERS.register("random_uniform")
class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def draw(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)


class VarianceScaling(Initializer):
    """Variance ``scale / fan`` from a normal or a uniform distribution.

    ``fan`` is fan_in, fan_out or their average (``mode``). The normal is the
    plain normal, as in PyTorch's ``xavier_normal_``/``kaiming_normal_``.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg'; received: mode={mode!r}")
        if distribution not in ("normal", "uniform"):
            raise ValueError(f"distribution must be 'normal' or 'uniform'; received: distribution={distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def draw(self, shape, rng):
        fan_in, fan_out = fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "normal":
            return rng.normal(0.0, math.sqrt(variance), shape)
        limit = math.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, shape)


def _variance_scaling(name, scale, mode, distribution):
    @INITIALIZERS.register(name)
    class Named(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale, mode, distribution, seed)

        def get_config(self):
            return {"seed": self.seed}

    Named.__name__ = Named.__qualname__ = "".join(p.capitalize() for p in name.split("_"))
    Named.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return Named


GlorotUniform = _variance_scaling("glorot_uniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("glorot_normal", 1.0, "fan_avg", "normal")
HeUniform = _variance_scaling("he_uniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling("he_normal", 2.0, "fan_in", "normal")
LecunUniform = _variance_scaling("lecun_uniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("lecun_normal", 1.0, "fan_in", "normal")
for _alias, _target in [("xavier_uniform", "glorot_uniform"), ("xavier_normal", "glorot_normal"),
                        ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal")]:
    INITIALIZERS.register(_alias)(INITIALIZERS.get(_target))


@INITIALIZERS.register("orthogonal")
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def draw(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"orthogonal needs a shape with at least 2 dimensions; received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # makes the distribution uniform over orthogonal matrices
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


def get(identifier):
    """An initializer from a name, an Initializer, or a callable ``(shape, rng, dtype)``."""
    if isinstance(identifier, str):
        return INITIALIZERS.get(identifier)()
    if isinstance(identifier, dict):  # the saved form: {"name": "random_normal", "stddev": 0.1, ...}
        config = dict(identifier)
        return INITIALIZERS.get(config.pop("name"))(**config)
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a name, a dict of a name and arguments, or a callable; "
                    f"received: {identifier!r}")
