"""LSTMOp: the long short-term memory layer's op (Keras's gate order i, f, g, o), on the shared
rows buffer and helpers of recurrent.py."""
import numpy as np

from ..backend import as_strided, get_array_module
from . import recurrent_fused as _fused
from . import recurrent_kernels as _k
from .recurrent import _RecurrentOp, _carry, _mask_at, _split, _weight_grads
from .workspace import empty



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
