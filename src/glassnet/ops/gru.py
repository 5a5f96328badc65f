"""GRUOp: the gated recurrent unit's op with the reset gate after the product (Keras's and
PyTorch's default), on the shared rows buffer and helpers of recurrent.py; gru_reset_before.py
has the other variant."""
import numpy as np

from ..backend import get_array_module
from . import recurrent_fused as _fused
from . import recurrent_kernels as _k
from .recurrent import _RecurrentOp, _carry, _mask_at, _split
from .workspace import empty



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
    one product per step. The compiled path keeps the product and does the rest of a step in one
    kernel (recurrent_fused.gru_step), the backward step likewise (recurrent_kernels.gru_step_backward);
    both save the same factors.
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
                _fused.gru_step(p, rows, t, cand, masks, factors, zs, self.record)
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
