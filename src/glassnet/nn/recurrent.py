"""Sequence layers: Embedding, Masking, SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed.

Inputs are (batch, time steps, features). A mask (batch, time steps) of real
steps comes from ``Embedding(mask_zero=True)`` or ``Masking`` and travels
through ``Sequential`` to the next layers that support it; a recurrent layer
carries its state unchanged over masked steps.
"""
import numpy as np

from .. import ops
from ..backend import DEFAULT_DTYPE, asarray_like, get_array_module
from ..random import make_rng
from ..tensor import Tensor
from . import initializers
from .layer import LAYERS, Layer, _positive_int
from .module import Parameter


@LAYERS.register("Embedding")
class Embedding(Layer):
    """Maps integer ids (batch, steps) to vectors (batch, steps, output_dim).

    Args:
        input_dim: the vocabulary size; ids must lie in [0, input_dim).
        output_dim: the vector size.
        mask_zero: id 0 is padding: later layers skip it. Defaults to ``False``.
    """

    def __init__(self, input_dim, output_dim, mask_zero=False, embeddings_initializer="random_uniform", seed=None,
                 name=None, dtype=DEFAULT_DTYPE):
        super().__init__(name, dtype)
        self.input_dim, self.output_dim = _positive_int("input_dim", input_dim), _positive_int("output_dim", output_dim)
        self.mask_zero, self.embeddings_initializer, self.seed = bool(mask_zero), embeddings_initializer, seed
        self.embeddings = None

    def build(self, input_shape):
        init = initializers.get(self.embeddings_initializer)
        self.embeddings = Parameter(init((self.input_dim, self.output_dim), make_rng(self.seed), self.dtype),
                                    name="embeddings")

    def _ids(self, x):
        ids = asarray_like(x.data if isinstance(x, Tensor) else x, self.embeddings.data)
        if ids.dtype.kind == "f":
            if not np.all(ids == np.round(ids)):
                raise ValueError("Embedding expects integer ids; received non-integer values")
            ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(f"Embedding ids must be in [0, {self.input_dim}); received values from "
                             f"{ids.min()} to {ids.max()}")
        return ids

    def _as_input(self, x):
        return x  # integer ids: no conversion to floats

    def forward(self, x):
        return self.embeddings[self._ids(x)]

    def compute_mask(self, x, mask=None):
        return (self._ids(x) != 0) if self.mask_zero else None

    def get_config(self):
        return {"input_dim": self.input_dim, "output_dim": self.output_dim, "mask_zero": self.mask_zero,
                "name": self.name}


@LAYERS.register("Masking")
class Masking(Layer):
    """Marks time steps whose features all equal ``mask_value`` as padding (and zeroes them)."""

    def __init__(self, mask_value=0.0, name=None):
        super().__init__(name)
        self.mask_value = float(mask_value)

    def compute_mask(self, x, mask=None):
        data = x.data if isinstance(x, Tensor) else x
        return (get_array_module(data).asarray(data) != self.mask_value).any(axis=-1)

    def forward(self, x):
        keep = self.compute_mask(x)[..., None].astype(x.dtype)
        return x * keep

    def get_config(self):
        return {"mask_value": self.mask_value, "name": self.name}


class _RNN(Layer):
    """Shared by SimpleRNN, LSTM and GRU.

    The outputs' arrays are read-only views of the op's own buffers (no copy per call; the
    backward pass reads the same memory). ``Model.predict`` returns writable copies.
    """

    gates = 1
    supports_masking = True

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 seed=None, name=None, dtype=DEFAULT_DTYPE):
        super().__init__(name, dtype)
        self.units = _positive_int("units", units)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer, self.seed = bias_initializer, seed
        self.kernel = self.recurrent_kernel = self.bias = None

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, steps, features), "
                             f"got shape {tuple(input_shape)}")
        rng = make_rng(self.seed)
        width = self.gates * self.units
        self.kernel = Parameter(initializers.get(self.kernel_initializer)((input_shape[-1], width), rng, self.dtype),
                                name="kernel")
        self.recurrent_kernel = Parameter(
            initializers.get(self.recurrent_initializer)((self.units, width), rng, self.dtype), name="recurrent_kernel")
        self.bias = Parameter(self._initial_bias(rng), name="bias")

    def _initial_bias(self, rng):
        return initializers.get(self.bias_initializer)((self.gates * self.units,), rng, self.dtype)

    def _states(self, x, initial_state, count):
        if initial_state is None:
            xp = get_array_module(x.data)
            return [Tensor(xp.zeros((x.shape[0], self.units), dtype=x.dtype)) for _ in range(count)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != count:
            raise ValueError(f"{type(self).__name__} takes {count} initial state(s); received {len(states)}")
        states = [s if isinstance(s, Tensor) else Tensor(asarray_like(s, x.data, x.dtype)) for s in states]
        for s in states:
            if s.shape != (x.shape[0], self.units):
                raise ValueError(f"{type(self).__name__}: each initial state must have shape "
                                 f"{(x.shape[0], self.units)}; received {s.shape}")
        return states

    def forward(self, x, mask=None, initial_state=None):
        if x.ndim != 3 or x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, steps, {self.kernel.shape[0]}), "
                             f"got x with shape {x.shape}")
        if mask is not None:
            mask = asarray_like(mask, x.data, bool)
            if mask.shape != x.shape[:2]:
                raise ValueError(f"mask must have shape {x.shape[:2]}; received {mask.shape}")
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        sequence, finals = self._run(x, mask, initial_state)  # finals: [] without return_state
        output = sequence if self.return_sequences else sequence[:, -1]
        return [output, *finals] if self.return_state else output

    def compute_mask(self, x, mask=None):
        if mask is None or not self.return_sequences:
            return None
        return mask[:, ::-1] if self.go_backwards else mask

    def get_config(self):
        return {"units": self.units, "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "name": self.name}


@LAYERS.register("SimpleRNN")
class SimpleRNN(_RNN):
    """h_t = activation(x_t W + h_{t-1} U + b), activation ``"tanh"`` (default) or ``"relu"``."""

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"SimpleRNN activation must be 'tanh' or 'relu'. Received: activation={activation!r}")
        self.activation = activation

    def _run(self, x, mask, initial_state):
        (h0,) = self._states(x, initial_state, 1)
        hs = ops.SimpleRNNOp(self.activation, mask)(x, self.kernel, self.recurrent_kernel, self.bias, h0)
        return hs, ([hs[:, -1]] if self.return_state else [])

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


@LAYERS.register("LSTM")
class LSTM(_RNN):
    """Long short-term memory (gates i, f, c, o as Keras and PyTorch order them).

    ``unit_forget_bias`` starts the forget gate's bias at 1 (Keras's default).
    ``return_state`` adds the final h and c.
    """

    gates = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        super().__init__(units, **kwargs)

    def _initial_bias(self, rng):
        b = super()._initial_bias(rng)
        if self.unit_forget_bias:
            b[self.units:2 * self.units] = 1
        return b

    def _run(self, x, mask, initial_state):
        h0, c0 = self._states(x, initial_state, 2)
        out = ops.LSTMOp(mask, cells=self.return_state)(x, self.kernel, self.recurrent_kernel, self.bias, h0, c0)
        return (out[0], [out[0, :, -1], out[1, :, -1]]) if self.return_state else (out, [])

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@LAYERS.register("GRU")
class GRU(_RNN):
    """Gated recurrent unit, gates z, r, h (Keras's order).

    Args:
        units: the state size.
        reset_after: ``True`` applies the reset gate after the recurrent product,
            ``n = tanh(x Wn + bn + r * (h Un + b'n))``, PyTorch's formula, with a bias of shape
            (2, 3 * units) (input bias, recurrent bias); ``False`` applies it before,
            ``n = tanh(x Wn + bn + (r * h) Un)``, with one bias (3 * units,). Parameter counts
            are Keras's either way. Defaults to ``True`` (as Keras).
        **kwargs: those of every recurrent layer (``return_sequences``, ``seed``, ...).
    """

    gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        self.reset_after = bool(reset_after)
        super().__init__(units, **kwargs)

    def _initial_bias(self, rng):
        if not self.reset_after:
            return super()._initial_bias(rng)
        init = initializers.get(self.bias_initializer)
        return init((2, 3 * self.units), rng, self.dtype)

    def _run(self, x, mask, initial_state):
        (h0,) = self._states(x, initial_state, 1)
        op = ops.GRUOp(mask) if self.reset_after else ops.GRUResetBeforeOp(mask)
        hs = op(x, self.kernel, self.recurrent_kernel, self.bias, h0)
        return hs, ([hs[:, -1]] if self.return_state else [])

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


@LAYERS.register("Bidirectional")
class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, then merges the outputs.

    Args:
        layer: a SimpleRNN, LSTM or GRU (without return_state).
        merge_mode: ``"concat"``, ``"sum"``, ``"mul"`` or ``"ave"``. Defaults to ``"concat"``.
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", name=None):
        super().__init__(name)
        if not isinstance(layer, _RNN) or layer.return_state:
            raise ValueError("Bidirectional wraps a SimpleRNN, LSTM or GRU without return_state")
        if merge_mode not in ("concat", "sum", "mul", "ave"):
            raise ValueError(f"merge_mode must be 'concat', 'sum', 'mul' or 'ave'. Received: {merge_mode!r}")
        self.merge_mode, self.dtype = merge_mode, layer.dtype
        self.forward_layer = layer
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        config["go_backwards"] = not layer.go_backwards
        backward_seed = None if layer.seed is None else int(make_rng(layer.seed).integers(2**63))
        self.backward_layer = type(layer)(**config, seed=backward_seed, dtype=layer.dtype)

    def forward(self, x, mask=None):
        yf = self.forward_layer(x, mask=mask)
        yb = self.backward_layer(x, mask=mask)
        if self.forward_layer.return_sequences:
            yb = yb[:, ::-1]
        if self.merge_mode == "concat":
            from ..functional import concatenate  # noqa: PLC0415

            return concatenate([yf, yb], axis=-1)
        if self.merge_mode == "sum":
            return yf + yb
        if self.merge_mode == "mul":
            return yf * yb
        return (yf + yb) * 0.5

    def compute_mask(self, x, mask=None):
        return mask if self.forward_layer.return_sequences else None

    def get_config(self):
        return {"layer": {"class": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()},
                "merge_mode": self.merge_mode, "name": self.name}


@LAYERS.register("TimeDistributed")
class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: (batch, steps, ...) -> (batch, steps, ...)."""

    supports_masking = True

    def __init__(self, layer, name=None):
        super().__init__(name)
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed wraps a layer; received {layer!r}")
        self.layer, self.dtype = layer, layer.dtype

    def forward(self, x, mask=None):
        if x.ndim < 3:
            raise ValueError(f"TimeDistributed expects (batch, steps, ...), got x with shape {x.shape}")
        n, steps = x.shape[:2]
        y = self.layer(x.reshape(n * steps, *x.shape[2:]))
        return y.reshape(n, steps, *y.shape[1:])

    def compute_mask(self, x, mask=None):
        return mask

    def get_config(self):
        return {"layer": {"class": type(self.layer).__name__, "config": self.layer.get_config()}, "name": self.name}
