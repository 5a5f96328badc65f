"""SimpleRNN, LSTM and GRU as ONNX's RNN, LSTM and GRU operators; unrolled over the time steps
when a mask (from Embedding(mask_zero=True) or Masking) reaches them, since ONNX's operators
only skip padding at the end of a sequence while glassnet carries the state over any masked step.

Gate orders: glassnet stores Keras's (LSTM i, f, c, o; GRU z, r, h). ONNX's LSTM wants i, o, f, c
and its GRU z, r, h; glassnet's GRU applies the reset gate after the recurrent product, which is
ONNX's ``linear_before_reset=1``; ``GRU(reset_after=False)`` is ONNX's default ``linear_before_reset=0``
with a zero recurrent bias. ONNX's weights are (gates * units, features), the transpose.
"""
import numpy as np

from ..nn import recurrent
from .layers import MASKS, ExportError, converts, describe, static

_LSTM_TO_ONNX = [0, 3, 1, 2]  # glassnet's i, f, c, o blocks in ONNX's order i, o, f, c


def _blocks(w, order, units):
    """The gate column blocks of ``w`` (..., G * units) in ``order``, transposed to (G * units, ...)."""
    parts = [w[..., k * units:(k + 1) * units] for k in order]
    return np.concatenate(parts, axis=-1).T


def _onnx_weights(layer):
    """(W, R, B) for ONNX's operator, each with the leading num_directions axis of 1."""
    units, kernel, recurrent_kernel, bias = layer.units, layer.kernel.data, layer.recurrent_kernel.data, layer.bias.data
    if isinstance(layer, recurrent.LSTM):
        w, r = _blocks(kernel, _LSTM_TO_ONNX, units), _blocks(recurrent_kernel, _LSTM_TO_ONNX, units)
        b = np.concatenate([_blocks(bias, _LSTM_TO_ONNX, units), np.zeros(4 * units, np.float32)])
    elif isinstance(layer, recurrent.GRU):  # bias: input bias, then recurrent bias (none before the reset)
        w, r = kernel.T, recurrent_kernel.T
        b = bias.reshape(-1) if layer.reset_after else np.concatenate([bias, np.zeros_like(bias)])
    else:
        w, r, b = kernel.T, recurrent_kernel.T, np.concatenate([bias, np.zeros(units, np.float32)])
    return w[None], r[None], b[None]


def _as_operator(g, layer, x):
    """The layer as one ONNX RNN / LSTM / GRU node over the whole sequence."""
    w, r, b = (g.const(a, name) for a, name in zip(_onnx_weights(layer), ("W", "R", "B")))
    xt = g.op("Transpose", x.name, perm=[1, 0, 2])  # ONNX's default layout is (steps, batch, features)
    if layer.go_backwards:
        xt = g.reverse(xt, 0)
    attrs = {"hidden_size": layer.units}
    if isinstance(layer, recurrent.GRU):
        attrs["linear_before_reset"] = int(layer.reset_after)
    elif isinstance(layer, recurrent.SimpleRNN):
        attrs["activations"] = ["Tanh" if layer.activation == "tanh" else "Relu"]
    op_type = {recurrent.LSTM: "LSTM", recurrent.GRU: "GRU", recurrent.SimpleRNN: "RNN"}[type(layer)]
    sequence, last = g.op(op_type, xt, w, r, b, outputs=2, **attrs)  # (T, 1, N, U), (1, N, U)
    if layer.return_sequences:
        return g.op("Transpose", g.op("Squeeze", sequence, g.ints([1])), perm=[1, 0, 2])
    return g.op("Squeeze", last, g.ints([0]))


# -- unrolled, for masked sequences ----------------------------------------------------------
def _gate(g, z, k, units):
    return g.slice(z, -1, k * units, (k + 1) * units)


def _simple_rnn_step(g, layer, xw_t, state):
    (h,) = state
    z = g.op("Add", xw_t, g.op("MatMul", h, g.const(layer.recurrent_kernel.data, "recurrent_kernel")))
    return [g.op("Tanh" if layer.activation == "tanh" else "Relu", z)]


def _lstm_step(g, layer, xw_t, state):
    h, c = state
    z = g.op("Add", xw_t, g.op("MatMul", h, g.const(layer.recurrent_kernel.data, "recurrent_kernel")))
    i, f, cand, o = (_gate(g, z, k, layer.units) for k in range(4))
    c = g.op("Add", g.op("Mul", g.op("Sigmoid", f), c), g.op("Mul", g.op("Sigmoid", i), g.op("Tanh", cand)))
    return [g.op("Mul", g.op("Sigmoid", o), g.op("Tanh", c)), c]


def _gru_step(g, layer, xw_t, state):
    """z = sig(x Wz + h Uz + b0z + b1z), r likewise, n = tanh(x Wn + b0n + r (h Un + b1n)),
    h' = n + z (h - n); ``xw_t`` already holds x W + b0. With ``reset_after=False``: no b1, and
    n = tanh(x Wn + b0n + (r h) Un)."""
    (h,) = state
    units, u = layer.units, layer.recurrent_kernel.data
    if layer.reset_after:
        hu = g.op("Add", g.op("MatMul", h, g.const(u, "recurrent_kernel")),
                  g.const(layer.bias.data[1], "recurrent_bias"))
    else:
        hu = g.op("MatMul", h, g.const(u[:, :2 * units], "recurrent_kernel_zr"))
    z, r = (g.op("Sigmoid", g.op("Add", _gate(g, xw_t, k, units), _gate(g, hu, k, units))) for k in range(2))
    if layer.reset_after:
        recurrent_n = g.op("Mul", r, _gate(g, hu, 2, units))
    else:
        recurrent_n = g.op("MatMul", g.op("Mul", r, h), g.const(u[:, 2 * units:], "recurrent_kernel_n"))
    n = g.op("Tanh", g.op("Add", _gate(g, xw_t, 2, units), recurrent_n))
    return [g.op("Add", n, g.op("Mul", z, g.op("Sub", h, n)))]


_STEPS = {recurrent.SimpleRNN: _simple_rnn_step, recurrent.LSTM: _lstm_step, recurrent.GRU: _gru_step}


def _unrolled(g, layer, x, mask):
    """One group of nodes per time step; a masked step carries the previous state (m new + (1 - m) old)."""
    (steps,) = static(layer, x, [1], "is unrolled over the time steps under a mask")
    input_bias = layer.bias.data[0] if layer.bias.ndim == 2 else layer.bias.data  # GRU(reset_after=True): two
    xw = g.op("Add", g.op("MatMul", x.name, g.const(layer.kernel.data, "kernel")), g.const(input_bias, "bias"))
    batch = g.op("Shape", x.name, start=0, end=1)
    zeros = g.op("ConstantOfShape", g.op("Concat", batch, g.ints([layer.units]), axis=0))  # (N, U), N dynamic
    state = [zeros] * (2 if isinstance(layer, recurrent.LSTM) else 1)
    outputs = []
    for t in (range(steps - 1, -1, -1) if layer.go_backwards else range(steps)):
        xw_t = g.op("Squeeze", g.slice(xw, 1, t, t + 1), g.ints([1]))
        new = _STEPS[type(layer)](g, layer, xw_t, state)
        m = g.slice(mask, 1, t, t + 1)  # (N, 1)
        keep = g.op("Sub", g.const(1.0), m)
        state = [g.op("Add", g.op("Mul", m, s_new), g.op("Mul", keep, s)) for s_new, s in zip(new, state)]
        outputs.append(state[0])
    if not layer.return_sequences:
        return outputs[-1]
    return g.op("Concat", *(g.op("Unsqueeze", h, g.ints([1])) for h in outputs), axis=1)


@converts(recurrent.SimpleRNN, recurrent.LSTM, recurrent.GRU)
def _recurrent(g, layer, x, mask):
    if layer.return_state:
        raise ExportError(f"{describe(layer)} has return_state=True; export it without return_state")
    return _as_operator(g, layer, x) if mask is None else _unrolled(g, layer, x, mask)


@converts(recurrent.SimpleRNN, recurrent.LSTM, recurrent.GRU, table=MASKS)
def _recurrent_mask(g, layer, x, mask):
    if mask is None or not layer.return_sequences:
        return None
    return g.reverse(mask, 1) if layer.go_backwards else mask


@converts(recurrent.Bidirectional)
def _bidirectional(g, layer, x, mask):
    forward, backward = (_recurrent(g, rnn, x, mask) for rnn in (layer.forward_layer, layer.backward_layer))
    if layer.forward_layer.return_sequences:
        backward = g.reverse(backward, 1)
    if layer.merge_mode == "concat":
        return g.op("Concat", forward, backward, axis=-1)
    if layer.merge_mode == "ave":
        return g.op("Mul", g.op("Add", forward, backward), g.const(0.5))
    return g.op({"sum": "Add", "mul": "Mul"}[layer.merge_mode], forward, backward)


@converts(recurrent.Bidirectional, table=MASKS)
def _bidirectional_mask(g, layer, x, mask):
    return mask if layer.forward_layer.return_sequences else None

