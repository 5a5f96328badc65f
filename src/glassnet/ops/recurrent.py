"""Recurrent layers as single ops: a loop over time steps forward, backpropagation through
time backward, everything inside a step vectorised over the batch.

Shapes: x (N, T, D); kernel W (D, G*U) for G gates; recurrent kernel U (U, G*U).
``mask`` (N, T) marks real steps; at a masked step the state is carried over
unchanged (so the last output is the state after the last real step).
Gate orders follow Keras: LSTM (i, f, c, o); GRU (z, r, h) with ``reset_after``.

Each op has two paths for the element-wise work of a step: the NumPy reference (below) and
a compiled kernel per step (recurrent_kernels.py), chosen by ``kernels.compiled()``. Both
save the same backward factors, and the matrix products are the same NumPy calls.
"""
import numpy as np

from .. import kernels
from .. import tensor as _tensor
from ..backend import as_strided, get_array_module
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
                if not relu:
                    np.tanh(z, out=z)
                _k.simple_rnn_step(z, rows, t, units, masks, factors, relu, self.record)
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


class LSTMOp(_RecurrentOp):
    """Long short-term memory. Output: (2, N, T, U), the h sequence then the c sequence; with
    ``cells=False``, the h sequence alone (N, T, U), so that the backward receives no gradient of
    the c sequence that would be all zeros (a (2, N, T, U) array, 13 MB in the char LM).

    Gate columns in Keras's order (i, f, g, o); i, f, o use sigmoid, g tanh.

    NOTE, three measured choices (bench/NOTES.md):
    - sigmoid(p) = (1 + tanh(p / 2)) / 2: the sigmoid gates' weights are halved
      once per call (exact in binary floating point), so each step takes one
      tanh over all four gates and one affine pass.
    - One buffer holds, for each step t, the row [h_{t-1}, x_t, 1, c_{t-1}]: the
      step's gates are one product of its first U + D + 1 columns with the
      stacked [U; W; b], and after the loop the same rows give dU, dW and db in
      one product. The output is a strided view of the buffer's h and c columns.
    - While a graph is recorded, each forward step saves the gate values
      (i, f, g, o) and tanh(c): 5U numbers per row, from which the backward step
      forms its factors (c_{t-1} is in the rows buffer). The six factor blocks
      saved before took 6U (bench/NOTES.md).
    The compiled path keeps the product and does the rest of a step in one kernel
    (recurrent_fused.lstm_step, with its own vectorised tanh), the backward step
    likewise (recurrent_kernels.lstm_step_backward); both save the same arrays.
    """

    def __init__(self, mask=None, cells=True):
        super().__init__(mask)
        self.cells = cells

    def forward(self, x, w, u, b, h0, c0):
        xp = get_array_module(x)
        n, steps, d = x.shape
        units = u.shape[0]
        width = units + d + 1  # the product's columns: h, x, 1
        self.w, self.u = w, u
        rows = self._rows(x, h0, tail=units)  # [h_{t-1}, x_t, 1, c_{t-1}]
        rows[0, :, width:] = c0
        if self.record:
            self.gates = empty((steps, n, 4 * units), x.dtype, xp)  # i, f, g, o
            self.tanh_c = empty((steps, n, units), x.dtype, xp)  # tanh(c_t), before a mask's carry
        if self._sequence_kernel(x):
            self._run_sequence_kernel(_fused.lstm_sequence, x, rows, w, u, b)
        else:
            halved = xp.concatenate([u, w, b[None]])
            halved *= self._scale(units, x.dtype, xp)  # sigmoid(p) = (1 + tanh(p / 2)) / 2
            (self._forward_compiled if self._compiled(x) else self._forward_reference)(rows, halved)
        if not self.cells:
            return self._h_sequence(units)
        item = rows.itemsize
        return as_strided(  # [h | c] columns of rows[1:], as (2, N, T, U)
            rows[1:], (2, n, steps, units), (width * item, rows.strides[1], rows.strides[0], item))

    @staticmethod
    def _scale(units, dtype, xp):
        """0.5 on the sigmoid gates' columns (i, f, o), 1 on g's."""
        scale = xp.full(4 * units, 0.5, dtype=dtype)
        scale[2 * units:3 * units] = 1
        return scale

    def _forward_reference(self, rows, stacked):
        xp = get_array_module(rows)
        steps, n = rows.shape[0] - 1, rows.shape[1]
        units, width = stacked.shape[1] // 4, stacked.shape[0]
        scale = self._scale(units, rows.dtype, xp)
        shift = 1 - scale  # 0.5 on i, f, o; 0 on g
        z, ig, tc = (xp.empty((n, k * units), rows.dtype) for k in (4, 1, 1))
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        for t in range(steps):
            c, h_out, c_out = rows[t, :, width:], rows[t + 1, :, :units], rows[t + 1, :, width:]
            xp.matmul(rows[t, :, :width], stacked, out=z)
            xp.tanh(z, out=z)
            z *= scale
            z += shift
            xp.multiply(f, c, out=c_out)
            c_out += xp.multiply(i, g, out=ig)
            xp.tanh(c_out, out=tc)
            xp.multiply(o, tc, out=h_out)
            if self.record:
                self.gates[t], self.tanh_c[t] = z, tc
            m = _mask_at(self.mask, t, rows.dtype)
            if m is not None:  # a masked step carries the previous state
                h_out[...] = _carry(m, h_out, rows[t, :, :units])
                c_out[...] = _carry(m, c_out, c)

    def _forward_compiled(self, rows, stacked):
        steps, n = rows.shape[0] - 1, rows.shape[1]
        units, width = stacked.shape[1] // 4, stacked.shape[0]
        z, tc = np.empty((n, 4 * units), rows.dtype), np.empty((n, units), rows.dtype)
        masks = self._masks(steps, n, z.dtype)
        for t in range(steps):
            if self.record:  # the step's gates and tanh(c) are computed where they are saved
                z, tc = self.gates[t], self.tanh_c[t]
            np.matmul(rows[t, :, :width], stacked, out=z)
            _fused.lstm_step(z, rows, t, tc, masks)

    def _backward_compiled(self, gy, u_t):
        n, steps, units = gy.shape[-3], gy.shape[-2], self.u.shape[0]
        dz_all = self._gradient_buffer(self.gates, (steps, n, 4 * units))
        gy, masks = np.ascontiguousarray(gy), self._masks(steps, n, gy.dtype)
        gy_h, gy_c = (gy[0], gy[1]) if self.cells else (gy, np.empty((0, 0, 0), gy.dtype))
        dh_next, dc_next, carry = (np.zeros((n, units), gy.dtype) for _ in range(3))
        for t in reversed(range(steps)):
            _k.lstm_step_backward(gy_h, gy_c, t, dh_next, dc_next, carry, masks, self.rows, self.gates,
                                  self.tanh_c, dz_all)
            np.matmul(dz_all[t], u_t, out=dh_next)
        return _weight_grads(self, dz_all, units) + (dh_next + carry, dc_next)

    def backward(self, gy):
        xp = get_array_module(gy)
        n, steps, units = gy.shape[-3], gy.shape[-2], self.u.shape[0]
        u_t = xp.ascontiguousarray(self.u.T)  # measured faster than the transposed view
        if self._compiled(gy):
            return self._backward_compiled(gy, u_t)
        dz_all = self._gradient_buffer(self.gates, (steps, n, 4, units))  # (T, N, gate, U)
        gates, c_prevs = self.gates.reshape(steps, n, 4, units), self.rows[:, :, -units:]
        gy = gy.transpose(0, 2, 1, 3) if self.cells else gy.transpose(1, 0, 2)[None]  # time-major, as the states
        dh_next, dc_next = xp.zeros((n, units), gy.dtype), xp.zeros((n, units), gy.dtype)
        for t in reversed(range(steps)):
            dh, dc = gy[0, t] + dh_next, (gy[1, t] + dc_next if self.cells else dc_next)
            m = _mask_at(self.mask, t, gy.dtype)
            (dh, dh_carry), (dc, dc_carry) = _split(dh, m), _split(dc, m)
            i, f, g, o = (gates[t, :, k] for k in range(4))
            tc = self.tanh_c[t]
            dct = dh * o * (1 - tc * tc) + dc  # dL/dc_t
            dz = (i * (1 - i) * g * dct, f * (1 - f) * c_prevs[t] * dct, (1 - g * g) * i * dct, o * (1 - o) * tc * dh)
            dc_next = dct * f  # dL/dc_{t-1}; before dz_all, which may be the gates' buffer, is written
            for k in range(4):
                dz_all[t, :, k] = dz[k]
            dh_next = dz_all[t].reshape(n, -1) @ u_t
            if m is not None:
                dh_next += dh_carry
                dc_next += dc_carry
        return _weight_grads(self, dz_all.reshape(steps, n, 4 * units), units) + (dh_next, dc_next)


class GRUOp(_RecurrentOp):
    """Gated recurrent unit (reset gate after the matrix product, as Keras's default and
    PyTorch's). b has shape (2, 3U): input bias, recurrent bias. Output: h sequence (N, T, U).

        z = sigmoid(x Wz + h Uz + b0z + b1z)      r = sigmoid(x Wr + h Ur + b0r + b1r)
        n = tanh(x Wn + b0n + r * (h Un + b1n))   h' = n + z (h - n)

    NOTE: as in LSTMOp, a buffer of rows [h_{t-1}, x_t, 1] makes each step one product, here
    with the stacked matrix whose four column blocks give z, r (pre-activations), h Un + b1n
    and x Wn + b0n; z and r use sigmoid(p) = (1 + tanh(p / 2)) / 2 with halved columns. The
    state is the only recurrence, so the forward saves per step the factors F (N, 4, U) with
    dL/d(block) = dL/dh' * F, and z for the direct path dh' z: backward is three array ops and
    one product per step. The compiled path (recurrent_kernels.gru_candidate, gru_state)
    keeps the product and the tanh calls and saves the same factors.
    """

    def forward(self, x, w, u, b, h0):
        xp = get_array_module(x)
        n, steps, d = x.shape
        units = u.shape[0]
        width = units + d + 1
        zero_h, zero_x = xp.zeros((units, units), x.dtype), xp.zeros((d, units), x.dtype)
        self.stacked = xp.concatenate([  # column blocks: z, r, h Un + b1n, x Wn + b0n
            xp.concatenate([u, zero_h], axis=1),
            xp.concatenate([w[:, :2 * units], zero_x, w[:, 2 * units:]], axis=1),
            xp.concatenate([b[0, :2 * units] + b[1, :2 * units], b[1, 2 * units:], b[0, 2 * units:]])[None]])
        rows = self._rows(x, h0)
        p = xp.empty((n, 4 * units), x.dtype)
        if self.record:
            self.factors = empty((steps, n, 4, units), x.dtype, xp)
            self.zs = empty((steps, n, units), x.dtype, xp)
        if self._sequence_kernel(x):
            w_rows, u_rows, b_row = self.stacked[units:width - 1], self.stacked[:units], self.stacked[-1]
            self._run_sequence_kernel(_fused.gru_sequence, x, rows, w_rows, u_rows, b_row)
            return self._h_sequence(units)
        scale = xp.ones(4 * units, dtype=x.dtype)
        scale[:2 * units] = 0.5
        halved = self.stacked * scale
        if self._compiled(x):
            masks, factors, zs = self._masks(steps, n, x.dtype), self._saved("factors", x.dtype, 4), \
                self._saved("zs", x.dtype, 3)
            cand = np.empty((n, units), x.dtype)
            for t in range(steps):
                np.matmul(rows[t], halved, out=p)
                np.tanh(p[:, :2 * units], out=p[:, :2 * units])
                _k.gru_candidate(p, units, cand)
                np.tanh(cand, out=cand)
                _k.gru_state(p, rows, t, units, cand, masks, factors, zs, self.record)
            return self._h_sequence(units)
        cand, diff = xp.empty((n, units), x.dtype), xp.empty((n, units), x.dtype)
        z, r, hn, xn = (p[:, k * units:(k + 1) * units] for k in range(4))
        for t in range(steps):
            h_prev, h_out = rows[t, :, :units], rows[t + 1, :, :units]
            xp.matmul(rows[t], halved, out=p)
            zr = p[:, :2 * units]
            xp.tanh(zr, out=zr)
            zr *= 0.5
            zr += 0.5
            xp.multiply(r, hn, out=cand)
            cand += xn
            xp.tanh(cand, out=cand)
            xp.subtract(h_prev, cand, out=diff)
            if self.record:
                fz, fr, fhn, fn = (self.factors[t, :, k] for k in range(4))
                xp.subtract(1, z, out=fn)  # (1 - z), completed below
                xp.multiply(z, fn, out=fz)
                fz *= diff  # dL/dz_pre = dh' (h - n) z (1 - z)
                k = xp.multiply(cand, cand, out=fhn)
                xp.subtract(1, k, out=k)
                fn *= k  # dL/d(x Wn) = dh' (1 - z)(1 - n^2)
                xp.subtract(1, r, out=fr)
                fr *= r
                fr *= hn
                fr *= fn  # dL/dr_pre = dh' (1 - z)(1 - n^2) (h Un + b1n) r (1 - r)
                xp.multiply(fn, r, out=fhn)  # dL/d(h Un + b1n) = dh' (1 - z)(1 - n^2) r
                self.zs[t] = z
            xp.multiply(diff, z, out=h_out)
            h_out += cand
            m = _mask_at(self.mask, t, x.dtype)
            if m is not None:  # a masked step carries the previous state
                h_out[...] = _carry(m, h_out, h_prev)
        return self._h_sequence(units)

    def _steps_backward_compiled(self, gy, dp_all, h_rows_t):
        """The backward loop of the compiled path: fills dp_all, returns dL/dh0."""
        n, steps, units = gy.shape
        gy, masks = np.ascontiguousarray(gy), self._masks(steps, n, gy.dtype)
        dh_next, extra = np.zeros((n, units), gy.dtype), np.zeros((n, units), gy.dtype)
        for t in reversed(range(steps)):
            _k.gru_step_backward(gy, t, dh_next, extra, masks, self.factors, self.zs, dp_all)
            np.matmul(dp_all[t].reshape(n, -1), h_rows_t, out=dh_next)
        return dh_next + extra

    def _steps_backward_reference(self, gy, dp_all, h_rows_t):
        """The NumPy reference of the backward loop: fills dp_all, returns dL/dh0."""
        xp = get_array_module(gy)
        n, steps, units = gy.shape
        dh_next, direct = xp.zeros((n, units), gy.dtype), xp.empty((n, units), gy.dtype)
        gy = gy.transpose(1, 0, 2)  # time-major
        for t in reversed(range(steps)):
            dh = gy[t] + dh_next
            m = _mask_at(self.mask, t, gy.dtype)
            dh, carry = _split(dh, m)
            dp = xp.multiply(self.factors[t], dh[:, None], out=dp_all[t])
            dh_next = dp.reshape(n, -1) @ h_rows_t
            dh_next += xp.multiply(dh, self.zs[t], out=direct)
            if m is not None:
                dh_next += carry
        return dh_next

    def backward(self, gy):
        xp = get_array_module(gy)
        n, steps, units = gy.shape
        width = self.rows.shape[-1]
        d = width - units - 1
        dp_all = self._gradient_buffer(self.factors, (steps, n, 4, units))
        h_rows_t = xp.ascontiguousarray(self.stacked[:units].T)
        loop = self._steps_backward_compiled if self._compiled(gy) else self._steps_backward_reference
        dh0 = loop(gy, dp_all, h_rows_t)
        flat = dp_all.reshape(-1, 4 * units)
        g = self.rows[:steps].reshape(-1, width).T @ flat  # [h_prev, x, 1]^T dP
        gz_r, ghn, gxn = g[:, :2 * units], g[:, 2 * units:3 * units], g[:, 3 * units:]
        du = xp.concatenate([gz_r[:units], ghn[:units]], axis=1)
        dw = xp.concatenate([gz_r[units:units + d], gxn[units:units + d]], axis=1)
        db = xp.stack([xp.concatenate([gz_r[-1], gxn[-1]]), xp.concatenate([gz_r[-1], ghn[-1]])])
        dx = None
        if self.needs_grad(0):
            dx = (flat @ self.stacked[units:units + d].T).reshape(steps, n, d).transpose(1, 0, 2)
        return dx, dw, du, db, dh0
