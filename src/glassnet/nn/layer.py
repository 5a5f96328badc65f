"""Layer: the base of every Keras-style layer (build on first call, config, symbolic calls) and
the LAYERS registry; layers.py holds the core layers built on it."""
import functools
import inspect

import numpy as np

from ..backend import DEFAULT_DTYPE, get_array_module
from ..registry import Registry
from ..tensor import Tensor, no_grad
from .module import Module, evaluating, training_mode
from .symbolic import call_symbolic, is_symbolic


LAYERS = Registry("layer")


def _sample_shape(shape, name="input_shape"):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(shape, (tuple, list)) or not all(
            d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0) for d in shape):
        raise ValueError(f"{name} must be a tuple of positive integers or None (one sample, no batch "
                         f"dimension). Received: {name}={shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


def _place_like(layer, x):
    """Weights are made on the host (NumPy Generators): move a new layer's to its input's device."""
    first = x[0] if isinstance(x, (list, tuple)) else x
    xp = get_array_module(first.data if isinstance(first, Tensor) else first)
    if xp is not np:
        layer.to(xp)


def _shape_of(x):
    """The shape of a Tensor or an array, or the list of shapes of a list of them (merge layers)."""
    if isinstance(x, (list, tuple)):
        return [_shape_of(t) for t in x]
    return x.shape if isinstance(x, Tensor) else np.shape(x)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Received an invalid value for `{name}`, expected a positive integer. "
                         f"Received: {name}={value!r}")
    return int(value)


class Layer(Module):
    """A Module that may build its weights on the first call, from the input's shape.

    Called on symbolic tensors (``glassnet.Input``), a layer builds itself and
    records the call for a functional model instead of computing. Every layer also
    takes Keras's ``input_shape=`` keyword (one sample's shape): a ``Sequential``
    whose first layer has it builds at once.
    """

    input_shape_hint = None  # one sample's shape, when the constructor was told it
    _forward_takes_training = False

    def __init_subclass__(cls, **kwargs):
        """Every layer's constructor takes ``input_shape=``; every ``build`` marks the layer built
        (a Keras user's ``layer.build(shape)`` is not undone by the first call). A subclass may
        write Keras's ``call(inputs, training=None)`` instead of ``forward``."""
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__ and "forward" not in cls.__dict__:
            cls.forward = cls.__dict__["call"]
        cls._forward_takes_training = "training" in inspect.signature(cls.forward).parameters
        if cls._forward_takes_training and "forward" in cls.__dict__:
            forward = cls.__dict__["forward"]

            @functools.wraps(forward)
            def forward_in_mode(self, *args, training=None, **kw):
                # NOTE: as Keras, training left out is the mode of the moment: True in fit, False in predict
                return forward(self, *args, training=self.training if training is None else training, **kw)

            cls.forward = forward_in_mode
        init, build = cls.__dict__.get("__init__"), cls.__dict__.get("build")
        if init is not None:
            @functools.wraps(init)
            def __init__(self, *args, input_shape=None, **kw):
                init(self, *args, **kw)
                if input_shape is not None:
                    self.input_shape_hint = _sample_shape(input_shape)

            cls.__init__ = __init__
        if build is not None:
            @functools.wraps(build)
            def build_and_mark(self, *args, **kw):
                build(self, *args, **kw)
                self.built = True

            cls.build = build_and_mark

    def __init__(self, name=None, dtype=DEFAULT_DTYPE):
        super().__init__()
        self.name = name
        self.dtype = np.dtype(dtype)
        self.built = False

    def __call__(self, x, *args, **kwargs):
        if is_symbolic(x):
            return call_symbolic(self, x, kwargs)
        # Keras's training= switches dropout and batch statistics for this call; a forward (or call)
        # that names training receives it as well
        training = None
        if kwargs and "training" in kwargs:
            training = kwargs["training"] if self._forward_takes_training else kwargs.pop("training")
        if training is not None:
            with training_mode(training):
                return self._call(x, args, kwargs)
        return self._call(x, args, kwargs)

    def _call(self, x, args, kwargs):
        x = self._as_input(x)
        if not self.built:
            self.build(_shape_of(x))
            self.built = True
            _place_like(self, x)
        return self.forward(x, *args, **kwargs)

    def _as_input(self, x):
        return x if isinstance(x, Tensor) else Tensor(x, dtype=self.dtype)

    def build(self, input_shape):
        """Create weights for inputs of ``input_shape``; nothing by default."""

    def _waits_for_input(self):
        # NOTE: only layers with weights define build (containers such as Model say no themselves)
        return not self.built and type(self).build is not Layer.build

    _kernel_input_axis = -2  # the kernel's input-features axis: (in, units), (kh, kw, in, filters)

    def _build_from_shapes(self, shapes):
        """Build from a state dict's shapes of this layer's weights (``load_state_dict`` into a fresh
        model): the input's feature count is the kernel's input axis, or a normalization's size."""
        if "kernel" in shapes and len(shapes["kernel"]) >= 2:
            features = shapes["kernel"][self._kernel_input_axis]
        else:
            sizes = [shapes[k][0] for k in ("gamma", "beta", "moving_mean", "embeddings")
                     if len(shapes.get(k, ())) >= 1]
            if not sizes:
                return
            features = sizes[0]
        self.build((None, None, features))  # NOTE: every build reads only the last axis (recurrent ones the rank)
        self.built = True

    def infer(self, x):
        """Inference on a plain array: evaluation mode, no graph. Layers override this
        with straight array code where it matters (``Model.predict`` calls it)."""
        with evaluating(), no_grad():
            return self(Tensor(x)).data

    def get_config(self):
        """The constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {"name": self.name}

    @property
    def trainable_weights(self):
        """Keras's: the parameters an optimizer updates (none of a layer set ``trainable = False``)."""
        return list(self.trainable_parameters())

    @property
    def non_trainable_weights(self):
        """Keras's: frozen parameters, then buffers (batch normalization's moving statistics)."""
        trainable = {id(p) for p in self.trainable_parameters()}
        return [p for p in self.parameters() if id(p) not in trainable] + [b for _, b in self.named_buffers()]

    @property
    def weights(self):
        """Keras's: the weight tensors, trainable ones first, as ``trainable_weights + non_trainable_weights``."""
        return self.trainable_weights + self.non_trainable_weights

    def get_weights(self):
        """Copies of the weight arrays: parameters, then buffers (moving statistics), as Keras orders them."""
        return [p.data.copy() for _, p in self._named_state()]

    def set_weights(self, weights):
        """Copy ``weights`` (as :meth:`get_weights` returns them) into the layer.

        Raises:
            ValueError: the number of arrays or a shape differs; the message names both.
        """
        state = [p for _, p in self._named_state()]
        if len(weights) != len(state):
            raise ValueError(f"set_weights expects {len(state)} arrays; received {len(weights)}")
        for i, (p, w) in enumerate(zip(state, weights)):
            if np.shape(w) != p.shape:
                raise ValueError(f"set_weights: array {i} must have shape {p.shape}; received {np.shape(w)}")
        for p, w in zip(state, weights):
            p.data[...] = w

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None and k != "name")


def _serialize(obj, registry):
    """A JSON form of an initializer or a regularizer given as a name or an object (a dict is
    already that form: a layer loaded from a file holds it)."""
    if obj is None or isinstance(obj, (str, dict)):
        return obj
    name = registry.name_of(obj)
    if name is None:
        raise ValueError(f"{obj!r} is not a registered object and cannot be saved")
    return {"name": name, **(obj.get_config() if hasattr(obj, "get_config") else vars(obj))}
