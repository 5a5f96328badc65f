"""Recurrent layers as single ops: a loop over time steps forward, backpropagation through
time backward, everything inside a step vectorised over the batch.

Shapes: x (N, T, D); kernel W (D, G*U) for G gates; recurrent kernel U (U, G*U).
``mask`` (N, T) marks real steps; at a masked step the state is carried over
unchanged (so the last output is the state after the last real step).
Gate orders follow Keras: LSTM (i, f, c, o); GRU (z, r, h) with ``reset_after``.

Each op has two paths for the element-wise work of a step: the NumPy reference (below) and
a compiled kernel per step (recurrent_kernels.py), chosen by ``kernels.compiled()``. Both
save the same backward factors, and the matrix products are the same NumPy calls.

This module holds what the ops share (the rows buffer, masks, the weight gradients) and
SimpleRNNOp; LSTMOp is in lstm.py, GRUOp in gru.py and gru_reset_before.py.
"""
import numpy as np

from .. import kernels
from .. import tensor as _tensor
from ..backend import get_array_module
from . import recurrent_fused as _fused
from . import recurrent_kernels as _k
from .function import Function
from .workspace import empty

# The largest batch for the whole-sequence kernels (measured, bench/NOTES.md: at 128 units they
# beat the stepwise path up to here).
SEQUENCE_KERNEL_MAX_BATCH = 8


def _mask_at(mask, t, dtype):
    return None if mask is None else mask[:, t, None].astype(dtype)


def _carry(m, new, old):
    return new if m is None else m * new + (1 - m) * old


def _split(g, m):
    """The adjoint of ``_carry``: (the part for the new state, the part carried to the old one)."""
    return (g, 0) if m is None else (g * m, g * (1 - m))


class _RecurrentOp(Function):
    """Shared by the recurrent ops: the rows buffer and whether forward saves backward factors.

    ``record``: while a graph is recorded, each forward step saves the factors its backward
    step needs, computed while the step's arrays are still in cache; under no_grad it does not.
    """

    record = True

    def __init__(self, mask=None):
        self.mask = mask

    def __call__(self, *inputs):
        self.record = _tensor.is_grad_enabled() and any(t.requires_grad for t in inputs)
        return super().__call__(*inputs)

    def _rows(self, x, h0, tail=0):
        """(T + 1, N, U + D + 1 + tail): rows[t] = [h_{t-1}, x_t, 1, ...]; each step's h is written
        into the next block, so a step is one product with the stacked [U; W; b], and after the
        loop rows[:T]^T dz gives dU, dW and db in one product."""
        xp = get_array_module(x)
        n, steps, d = x.shape
        units = h0.shape[1]
        rows = empty((steps + 1, n, units + d + 1 + tail), x.dtype, xp)
        rows[0, :, :units] = h0
        rows[:steps, :, units:units + d] = x.transpose(1, 0, 2)
        rows[steps, :, units:units + d] = 0
        rows[:, :, units + d] = 1
        self.rows = rows
        return rows

    def _compiled(self, x):
        """True when this call runs the compiled kernels (NumPy arrays, compiled path chosen)."""
        return kernels.compiled() and isinstance(x, np.ndarray)

    def _sequence_kernel(self, x):
        """True when the whole forward loop runs in one compiled kernel (recurrent_fused.py):
        compiled path, no graph recorded, and a batch small enough that a step's product is a
        vector-matrix product slower through BLAS calls from Python than as plain loops."""
        return self._compiled(x) and not self.record and x.shape[0] <= SEQUENCE_KERNEL_MAX_BATCH

    def _run_sequence_kernel(self, kernel, x, rows, w, u, b, *options):
        """Fill rows with the states by one whole-sequence kernel (recurrent_fused.py):
        every step's x W + b first, as one product over all steps, then the loop over time."""
        n, steps, d = x.shape
        xw = x.reshape(n * steps, d) @ w
        xw += b
        kernel(rows, xw.reshape(n, steps, -1), np.ascontiguousarray(u), self._masks(steps, n, x.dtype), *options)

    def _masks(self, steps, n, dtype):
        """The mask as (T, N) floats, time-major (ones when there is none), for the kernels."""
        if self.mask is None:
            return np.ones((steps, n), dtype)
        return np.ascontiguousarray(self.mask.T, dtype=dtype)

    def _saved(self, name, dtype, ndim):
        """The saved factors ``name``, or an empty stand-in when the graph is not recorded."""
        return getattr(self, name) if self.record else np.empty((0,) * ndim, dtype)

    def _gradient_buffer(self, saved, shape):
        """Where backward writes the per-step gradients of the pre-activations, ``shape``: over the
        saved factors (same size; each is read once, at its own step, just before it is overwritten)
        when the graph is released after this pass (``releasing``), else a new buffer. Saves one
        (T, N, G) array of peak memory."""
        if self.releasing:
            return saved.reshape(shape)
        return empty(shape, saved.dtype, get_array_module(saved))

    def _h_sequence(self, units):
        """The h columns of rows[1:] as a read-only (N, T, U) view."""
        out = self.rows[1:, :, :units].transpose(1, 0, 2)
        out.flags.writeable = False
        return out


class SimpleRNNOp(_RecurrentOp):
    """h_t = act(x_t W + h_{t-1} U + b), act tanh or relu. Output: the h sequence (N, T, U)."""

    def __init__(self, activation="tanh", mask=None):
        super().__init__(mask)
        self.activation = activation

    def forward(self, x, w, u, b, h0):
        xp = get_array_module(x)
        n, steps, d = x.shape
        units = u.shape[0]
        self.w, self.u = w, u
        rows = self._rows(x, h0)
        if self._sequence_kernel(x):
            self._run_sequence_kernel(_fused.simple_rnn_sequence, x, rows, w, u, b, self.activation == "relu")
            return self._h_sequence(units)
        stacked = xp.concatenate([u, w, b[None]])
        z = xp.empty((n, units), x.dtype)
        if self.record:
            self.factors = empty((steps, n, units), x.dtype, xp)  # the activation's derivative
        if self._compiled(x):
            masks, factors = self._masks(steps, n, x.dtype), self._saved("factors", x.dtype, 3)
            relu = self.activation == "relu"
            for t in range(steps):
                np.matmul(rows[t], stacked, out=z)
                _fused.simple_rnn_step(z, rows, t, masks, factors, relu, self.record)
            return self._h_sequence(units)
        for t in range(steps):
            h_out = rows[t + 1, :, :units]
            xp.matmul(rows[t], stacked, out=z)
            if self.activation == "tanh":
                xp.tanh(z, out=h_out)
                if self.record:
                    k = xp.multiply(h_out, h_out, out=self.factors[t])
                    xp.subtract(1, k, out=k)
            else:
                xp.maximum(z, 0, out=h_out)
                if self.record:
                    xp.greater(z, 0, out=self.factors[t])
            m = _mask_at(self.mask, t, x.dtype)
            if m is not None:  # a masked step carries the previous state
                h_out[...] = _carry(m, h_out, rows[t, :, :units])
        return self._h_sequence(units)

    def backward(self, gy):
        xp = get_array_module(gy)
        n, steps, units = gy.shape
        dz_all = self._gradient_buffer(self.factors, (steps, n, units))
        u_t = xp.ascontiguousarray(self.u.T)
        dh_next = xp.zeros((n, units), gy.dtype)
        if self._compiled(gy):
            gy, masks, carry = np.ascontiguousarray(gy), self._masks(steps, n, gy.dtype), np.zeros_like(dh_next)
            for t in reversed(range(steps)):
                _k.simple_rnn_step_backward(gy, t, dh_next, carry, masks, self.factors, dz_all)
                np.matmul(dz_all[t], u_t, out=dh_next)
            return _weight_grads(self, dz_all, units) + (dh_next + carry,)
        gy = gy.transpose(1, 0, 2)  # time-major
        for t in reversed(range(steps)):
            dh = gy[t] + dh_next
            m = _mask_at(self.mask, t, gy.dtype)
            dh, carry = _split(dh, m)
            dz = xp.multiply(dh, self.factors[t], out=dz_all[t])
            dh_next = dz @ u_t
            if m is not None:
                dh_next += carry
        return _weight_grads(self, dz_all, units) + (dh_next,)


def _weight_grads(op, dz_all, units):
    """dx, dW, dU, db from the per-step pre-activation gradients dz_all (T, N, G) and op.rows."""
    steps, n = dz_all.shape[:2]
    width = units + op.w.shape[0] + 1
    flat = dz_all.reshape(steps * n, -1)
    grads = op.rows[:steps, :, :width].reshape(-1, width).T @ flat  # [h_prev, x, 1]^T dz
    dx = (flat @ op.w.T).reshape(steps, n, -1).transpose(1, 0, 2) if op.needs_grad(0) else None
    return dx, grads[units:-1], grads[:units], grads[-1]
