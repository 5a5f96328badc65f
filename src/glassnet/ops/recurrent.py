"""Recurrent layers as single ops: a loop over time steps forward, backpropagation through
time backward, everything inside a step vectorised over the batch.

Shapes: x (N, T, D); kernel W (D, G*U) for G gates; recurrent kernel U (U, G*U).
``mask`` (N, T) marks real steps; at a masked step the state is carried over
unchanged (so the last output is the state after the last real step).
Gate orders follow Keras: LSTM (i, f, c, o); GRU (z, r, h) with ``reset_after``.
"""
from .. import tensor as _tensor
from ..backend import get_array_module
from .activation import stable_sigmoid
from .function import Function
from .workspace import empty


def _mask_at(mask, t, dtype):
    return None if mask is None else mask[:, t, None].astype(dtype)


def _carry(m, new, old):
    return new if m is None else m * new + (1 - m) * old


def _split(g, m):
    """The adjoint of ``_carry``: (the part for the new state, the part carried to the old one)."""
    return (g, 0) if m is None else (g * m, g * (1 - m))


class SimpleRNNOp(Function):
    """h_t = act(x_t W + h_{t-1} U + b), act tanh or relu. Output: the h sequence (N, T, U)."""

    def __init__(self, activation="tanh", mask=None):
        self.activation, self.mask = activation, mask

    def forward(self, x, w, u, b, h0):
        xp = get_array_module(x)
        n, steps, _ = x.shape
        self.x, self.w, self.u, self.h0 = x, w, u, h0
        xw = x @ w + b
        hs = xp.empty((n, steps, u.shape[0]), dtype=x.dtype)
        self.acts = xp.empty((steps, n, u.shape[0]), dtype=x.dtype)
        h = h0
        for t in range(steps):
            z = xw[:, t] + h @ u
            a = xp.tanh(z) if self.activation == "tanh" else xp.maximum(z, 0)
            self.acts[t] = a
            h = _carry(_mask_at(self.mask, t, x.dtype), a, h)
            hs[:, t] = h
        self.hs = hs
        return hs

    def backward(self, gy):
        xp = get_array_module(gy)
        steps = gy.shape[1]
        dxw = xp.empty_like(gy)
        du = xp.zeros_like(self.u)
        dh_next = xp.zeros_like(self.h0)
        for t in reversed(range(steps)):
            dh = gy[:, t] + dh_next
            m = _mask_at(self.mask, t, gy.dtype)
            da, carry = _split(dh, m)
            a = self.acts[t]
            dz = da * (1 - a * a) if self.activation == "tanh" else da * (a > 0)
            dxw[:, t] = dz
            h_prev = self.hs[:, t - 1] if t else self.h0
            du += h_prev.T @ dz
            dh_next = dz @ self.u.T + carry
        return _input_grads(self, dxw, du, dh_next)


def _input_grads(op, dxw, du, dh0, extra=()):
    """dx, dW, dU, db, dh0 (and any extra state gradients) from the per-step dxw."""
    d = op.x.shape[-1]
    dw = op.x.reshape(-1, d).T @ dxw.reshape(-1, dxw.shape[-1])
    db = dxw.sum(axis=(0, 1))
    dx = dxw @ op.w.T
    return (dx, dw, du, db, dh0, *extra)


class LSTMOp(Function):
    """Long short-term memory. Output: (2, N, T, U), the h sequence then the c sequence.

    Gate columns in Keras's order (i, f, g, o); i, f, o use sigmoid, g tanh.

    NOTE, three measured choices (bench/NOTES.md):
    - sigmoid(p) = (1 + tanh(p / 2)) / 2: the sigmoid gates' weights are halved
      once per call (exact in binary floating point), so each step takes one
      tanh over all four gates and one affine pass.
    - One buffer holds, for each step t, the row [h_{t-1}, x_t, 1, c_{t-1}]: the
      step's gates are one product of its first U + D + 1 columns with the
      stacked [U; W; b], and after the loop the same rows give dU, dW and db in
      one product. The output is a strided view of the buffer's h and c columns.
    - While a graph is recorded, each forward step saves the factors its
      backward step needs, computed while the step's arrays are in cache; the
      backward loop is then four array operations and one product per step.
    """

    record = True  # whether forward saves the backward's factors

    def __init__(self, mask=None):
        self.mask = mask

    def __call__(self, *inputs):
        self.record = _tensor.is_grad_enabled() and any(t.requires_grad for t in inputs)
        return super().__call__(*inputs)

    def forward(self, x, w, u, b, h0, c0):
        xp = get_array_module(x)
        n, steps, d = x.shape
        units = u.shape[0]
        width = units + d + 1  # the product's columns: h, x, 1
        self.w, self.u, self.width = w, u, width
        scale = xp.full(4 * units, 0.5, dtype=x.dtype)
        scale[2 * units:3 * units] = 1
        shift = xp.where(scale < 1, 0.5, 0).astype(x.dtype)
        stacked = xp.concatenate([u, w, b[None]]) * scale
        rows = self.rows = empty((steps + 1, n, width + units), x.dtype, xp)
        rows[0, :, :units], rows[0, :, width:] = h0, c0
        rows[:steps, :, units:units + d] = x.transpose(1, 0, 2)
        rows[steps, :, units:units + d] = 0
        rows[:, :, units + d] = 1
        z, ig, tc = xp.empty((n, 4 * units), x.dtype), xp.empty((n, units), x.dtype), xp.empty((n, units), x.dtype)
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        if self.record:
            # dL/dz = factors * (dc_t, dc_t, dc_t, dh_t); dL/dc_t = dh_t * o(1 - tanh(c)^2) + ...;
            # dL/dc_{t-1} = dL/dc_t * f. Activation derivatives from the gate value a: a(1 - a) for
            # the sigmoid gates, 1 - a^2 for g; both are bias + a (slope - a).
            slope = 1 - (scale == 1).astype(x.dtype)
            bias = 1 - slope
            self.factors = empty((steps, n, 4 * units), x.dtype, xp)
            self.dc_factors = empty((steps, 2, n, units), x.dtype, xp)  # o(1 - tanh(c)^2), f
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
                k = xp.subtract(slope, z, out=self.factors[t])
                k *= z
                k += bias
                k[:, :units] *= g
                k[:, units:2 * units] *= c
                k[:, 2 * units:3 * units] *= i
                k[:, 3 * units:] *= tc
                k = xp.multiply(tc, tc, out=self.dc_factors[t, 0])
                xp.subtract(1, k, out=k)
                k *= o
                self.dc_factors[t, 1] = f
            m = _mask_at(self.mask, t, x.dtype)
            if m is not None:  # a masked step carries the previous state
                h_out[...] = _carry(m, h_out, rows[t, :, :units])
                c_out[...] = _carry(m, c_out, c)
        item = rows.itemsize
        return xp.lib.stride_tricks.as_strided(  # [h | c] columns of rows[1:], as (2, N, T, U)
            rows[1:], shape=(2, n, steps, units),
            strides=(width * item, rows.strides[1], rows.strides[0], item), writeable=False)

    def backward(self, gy):
        xp = get_array_module(gy)
        steps, n, units = gy.shape[2], gy.shape[1], self.u.shape[0]
        dz_all = empty((steps, n, 4, units), gy.dtype, xp)  # (T, N, gate, U)
        factors = self.factors.reshape(steps, n, 4, units)
        gy = gy.transpose(0, 2, 1, 3)  # time-major, as the states
        dh_next, dc_next = xp.zeros((n, units), gy.dtype), xp.zeros((n, units), gy.dtype)
        dct = xp.empty((n, units), dtype=gy.dtype)
        u_t = xp.ascontiguousarray(self.u.T)  # measured faster than the transposed view
        for t in reversed(range(steps)):
            dh, dc = gy[0, t] + dh_next, gy[1, t] + dc_next
            m = _mask_at(self.mask, t, gy.dtype)
            (dh, dh_carry), (dc, dc_carry) = _split(dh, m), _split(dc, m)
            xp.multiply(dh, self.dc_factors[t, 0], out=dct)
            dct += dc
            xp.multiply(factors[t, :, :3], dct[:, None], out=dz_all[t, :, :3])
            xp.multiply(factors[t, :, 3], dh, out=dz_all[t, :, 3])
            dh_next, dc_next = dz_all[t].reshape(n, -1) @ u_t, dct * self.dc_factors[t, 1]
            if m is not None:
                dh_next += dh_carry
                dc_next += dc_carry
        flat_dz = dz_all.reshape(-1, 4 * units)
        grads = self.rows[:steps, :, :self.width].reshape(-1, self.width).T @ flat_dz  # [h_prev, x, 1]^T dz
        du, dw, db = grads[:units], grads[units:-1], grads[-1]
        dx = (flat_dz @ self.w.T).reshape(steps, n, -1).transpose(1, 0, 2) if self.needs_grad(0) else None
        return dx, dw, du, db, dh_next, dc_next


class GRUOp(Function):
    """Gated recurrent unit (reset gate after the matrix product, as Keras's default and
    PyTorch's). b has shape (2, 3U): input bias, recurrent bias. Output: h sequence (N, T, U)."""

    def __init__(self, mask=None):
        self.mask = mask

    def forward(self, x, w, u, b, h0):
        xp = get_array_module(x)
        n, steps, _ = x.shape
        units = u.shape[0]
        self.x, self.w, self.u, self.h0 = x, w, u, h0
        xw = x @ w + b[0]
        hs = xp.empty((n, steps, units), dtype=x.dtype)
        self.cache = xp.empty((steps, 4, n, units), dtype=x.dtype)  # z, r, n, recurrent h-part
        h = h0
        for t in range(steps):
            hu = h @ u + b[1]
            z = stable_sigmoid(xw[:, t, :units] + hu[:, :units])
            r = stable_sigmoid(xw[:, t, units:2 * units] + hu[:, units:2 * units])
            cand = xp.tanh(xw[:, t, 2 * units:] + r * hu[:, 2 * units:])
            self.cache[t] = z, r, cand, hu[:, 2 * units:]
            h = _carry(_mask_at(self.mask, t, x.dtype), z * h + (1 - z) * cand, h)
            hs[:, t] = h
        self.hs = hs
        return hs

    def backward(self, gy):
        xp = get_array_module(gy)
        steps, units = gy.shape[1], self.u.shape[0]
        dxw = xp.empty((gy.shape[0], steps, 3 * units), dtype=gy.dtype)
        dhu = xp.empty_like(dxw)
        du = xp.zeros_like(self.u)
        dh_next = xp.zeros_like(self.h0)
        for t in reversed(range(steps)):
            dh = gy[:, t] + dh_next
            m = _mask_at(self.mask, t, gy.dtype)
            dh, carry = _split(dh, m)
            z, r, cand, hu_h = self.cache[t]
            h_prev = self.hs[:, t - 1] if t else self.h0
            dcand = dh * (1 - z) * (1 - cand * cand)
            dzp = dh * (h_prev - cand) * z * (1 - z)
            drp = dcand * hu_h * r * (1 - r)
            dxw[:, t, :units], dxw[:, t, units:2 * units], dxw[:, t, 2 * units:] = dzp, drp, dcand
            dhu_t = dhu[:, t]
            dhu_t[:, :units], dhu_t[:, units:2 * units], dhu_t[:, 2 * units:] = dzp, drp, dcand * r
            du += h_prev.T @ dhu_t
            dh_next = dh * z + dhu_t @ self.u.T + carry
        dx, dw, _, db_x, dh0 = _input_grads(self, dxw, du, dh_next)
        db = xp.stack([db_x, dhu.sum(axis=(0, 1))])
        return dx, dw, du, db, dh0
