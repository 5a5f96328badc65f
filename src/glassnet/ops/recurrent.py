"""Recurrent layers as single ops: a loop over time steps forward, backpropagation through
time backward, everything inside a step vectorised over the batch.

Shapes: x (N, T, D); kernel W (D, G*U) for G gates; recurrent kernel U (U, G*U).
``mask`` (N, T) marks real steps; at a masked step the state is carried over
unchanged (so the last output is the state after the last real step).
Gate orders follow Keras: LSTM (i, f, c, o); GRU (z, r, h) with ``reset_after``.
"""
from ..backend import get_array_module
from .activation import stable_sigmoid
from .function import Function


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


def _sigmoid_inplace(z):
    """sigmoid(z) = (1 + tanh(z / 2)) / 2, in place: one transcendental pass, no overflow."""
    z *= 0.5
    get_array_module(z).tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def _previous(first, seq_tn):
    """States before each step, (T, N, U): ``first`` then the sequence shifted by one."""
    xp = get_array_module(first)
    prev = xp.empty_like(seq_tn)
    prev[0] = first
    prev[1:] = seq_tn[:-1]
    return prev


class LSTMOp(Function):
    """Long short-term memory. Output: (2, N, T, U), the h sequence then the c sequence.

    NOTE: inside, the gate columns are reordered (i, f, o, c) so that the three
    sigmoid gates are one contiguous block: one pass each for sigmoid and tanh.
    """

    def __init__(self, mask=None):
        self.mask = mask

    def forward(self, x, w, u, b, h0, c0):
        xp = get_array_module(x)
        n, steps, _ = x.shape
        units = u.shape[0]
        self.perm = xp.concatenate([xp.arange(2 * units), xp.arange(3 * units, 4 * units),
                                    xp.arange(2 * units, 3 * units)])
        self.x, self.w, self.u, self.h0, self.c0 = x, w[:, self.perm], u[:, self.perm], h0, c0
        # time-major from the start: transposing x (D wide) is cheaper than transposing xw (4U wide)
        xw = (x.transpose(1, 0, 2).reshape(-1, x.shape[-1]) @ self.w).reshape(steps, n, -1)
        xw += b[self.perm]
        states = xp.empty((2, steps, n, units), dtype=x.dtype)  # time-major: each step writes one block
        self.gates = xp.empty((steps, n, 4 * units), dtype=x.dtype)
        self.tanh_c = xp.empty((steps, n, units), dtype=x.dtype)
        h, c = h0, c0
        for t in range(steps):
            z = self.gates[t]
            xp.matmul(h, self.u, out=z)
            z += xw[t]
            _sigmoid_inplace(z[:, :3 * units])
            xp.tanh(z[:, 3 * units:], out=z[:, 3 * units:])
            i, f, o, g = (z[:, k * units:(k + 1) * units] for k in range(4))
            m = _mask_at(self.mask, t, x.dtype)
            if m is None:  # NOTE: written straight into the stored states, no temporaries
                c_new = xp.multiply(f, c, out=states[1, t])
                c_new += i * g
                tc = xp.tanh(c_new, out=self.tanh_c[t])
                h, c = xp.multiply(o, tc, out=states[0, t]), c_new
                continue
            c_new = f * c
            c_new += i * g
            tc = xp.tanh(c_new, out=self.tanh_c[t])
            h, c = _carry(m, o * tc, h), _carry(m, c_new, c)
            states[0, t], states[1, t] = h, c
        self.states = states
        return states.transpose(0, 2, 1, 3)

    def backward(self, gy):
        xp = get_array_module(gy)
        steps, units = gy.shape[2], self.u.shape[0]
        dz_all = xp.empty((steps, gy.shape[1], 4 * units), dtype=gy.dtype)  # (T, N, 4U)
        c_prev_all = _previous(self.c0, self.states[1])
        gy = gy.transpose(0, 2, 1, 3)  # time-major, as the states
        dh_next, dc_next = xp.zeros_like(self.h0), xp.zeros_like(self.c0)
        u_t = self.u.T
        for t in reversed(range(steps)):
            dh, dc = gy[0, t] + dh_next, gy[1, t] + dc_next
            m = _mask_at(self.mask, t, gy.dtype)
            (dh, dh_carry), (dc, dc_carry) = _split(dh, m), _split(dc, m)
            gates, tc = self.gates[t], self.tanh_c[t]
            i, f, o, g = (gates[:, k * units:(k + 1) * units] for k in range(4))
            dct = dh * o
            dct *= 1 - tc * tc
            dct += dc
            dz = dz_all[t]
            sig = gates[:, :3 * units]
            xp.multiply(sig, 1 - sig, out=dz[:, :3 * units])  # sigmoid' of the three gates at once
            dz[:, :units] *= dct * g
            dz[:, units:2 * units] *= dct * c_prev_all[t]
            dz[:, 2 * units:3 * units] *= dh * tc
            xp.multiply(g, g, out=dz[:, 3 * units:])
            xp.subtract(1, dz[:, 3 * units:], out=dz[:, 3 * units:])
            dz[:, 3 * units:] *= dct * i
            dh_next = dz @ u_t
            dh_next += dh_carry
            dc_next = dct * f
            dc_next += dc_carry
        # NOTE: the weight gradients are one large product each, after the loop.
        h_prev_all = _previous(self.h0, self.states[0])
        inverse = xp.argsort(self.perm)
        flat_dz = dz_all.reshape(-1, 4 * units)
        du = (h_prev_all.reshape(-1, units).T @ flat_dz)[:, inverse]
        x_tn = self.x.transpose(1, 0, 2).reshape(-1, self.x.shape[-1])
        dw = (x_tn.T @ flat_dz)[:, inverse]
        db = flat_dz.sum(axis=0)[inverse]
        dx = (dz_all @ self.w.T).transpose(1, 0, 2)
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
