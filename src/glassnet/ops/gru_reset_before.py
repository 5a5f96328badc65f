"""GRU with the reset gate applied before the recurrent product: Keras's ``GRU(reset_after=False)``
(the original GRU of Cho et al. 2014, and Keras 2's default under TensorFlow 1).

Shapes as the other recurrent ops: x (N, T, D), W (D, 3U), U (U, 3U) with gate blocks z, r, h
in Keras's order, one bias b (3U,). Output: the h sequence (N, T, U). NumPy only (no compiled
step): glassnet's default GRU, with the reset after the product, is the fast one.
"""
from ..backend import get_array_module
from .function import Function
from .recurrent import _mask_at, _split


def _sigmoid(p, xp):
    return 0.5 * (1 + xp.tanh(0.5 * p))  # NOTE: the overflow-free form the other recurrent ops use


class GRUResetBeforeOp(Function):
    """
        z = sigmoid(x Wz + h Uz + bz)      r = sigmoid(x Wr + h Ur + br)
        n = tanh(x Wn + bn + (r * h) Un)   h' = n + z (h - n)

    ``mask`` (N, T) marks real steps; a masked step carries the previous state. The input
    products of all steps are one matrix product before the loop; each step then needs two
    products, h [Uz Ur] and (r h) Un, since the reset gate sits between h and Un.
    """

    def __init__(self, mask=None):
        self.mask = mask

    def forward(self, x, w, u, b, h0):
        xp = get_array_module(x)
        n, steps, _ = x.shape
        units = u.shape[0]
        xw = (x @ w + b).transpose(1, 0, 2)  # (T, N, 3U), time-major
        self.x, self.w, self.u = x, w, u
        self.hs = xp.empty((steps + 1, n, units), x.dtype)  # hs[t] = h_{t-1}; hs[0] = h0
        self.gates = xp.empty((steps, 4, n, units), x.dtype)  # z, r, n, r * h per step
        self.hs[0] = h0
        for t in range(steps):
            h = self.hs[t]
            z, r, cand, rh = self.gates[t]
            zr = _sigmoid(xw[t, :, :2 * units] + h @ u[:, :2 * units], xp)
            z[...], r[...] = zr[:, :units], zr[:, units:]
            xp.multiply(r, h, out=rh)
            cand[...] = xp.tanh(xw[t, :, 2 * units:] + rh @ u[:, 2 * units:])
            h_new = cand + z * (h - cand)
            m = _mask_at(self.mask, t, x.dtype)
            self.hs[t + 1] = h_new if m is None else m * h_new + (1 - m) * h
        out = self.hs[1:].transpose(1, 0, 2)
        out.flags.writeable = False  # a view of what backward reads, as the other recurrent ops' outputs
        return out

    def backward(self, gy):
        xp = get_array_module(gy)
        n, steps, units = gy.shape
        u_zr_t, u_n_t = self.u[:, :2 * units].T, self.u[:, 2 * units:].T
        dz_all = xp.empty((steps, n, 3 * units), gy.dtype)  # dL/d(pre-activations) of z, r, n
        dh_next = xp.zeros((n, units), gy.dtype)
        for t in reversed(range(steps)):
            h = self.hs[t]
            z, r, cand, _ = self.gates[t]
            dh, carry = _split(gy[:, t] + dh_next, _mask_at(self.mask, t, gy.dtype))
            dz_n = dh * (1 - z) * (1 - cand * cand)
            drh = dz_n @ u_n_t  # dL/d(r * h)
            dz_all[t, :, :units] = dh * (h - cand) * z * (1 - z)
            dz_all[t, :, units:2 * units] = drh * h * r * (1 - r)
            dz_all[t, :, 2 * units:] = dz_n
            dh_next = dh * z + drh * r + dz_all[t, :, :2 * units] @ u_zr_t + carry
        flat = dz_all.reshape(steps * n, -1)
        x_rows = self.x.transpose(1, 0, 2).reshape(steps * n, -1)
        dw, db = x_rows.T @ flat, flat.sum(axis=0)
        du = xp.concatenate([self.hs[:steps].reshape(steps * n, -1).T @ flat[:, :2 * units],
                             self.gates[:, 3].reshape(steps * n, -1).T @ flat[:, 2 * units:]], axis=1)
        dx = (flat @ self.w.T).reshape(steps, n, -1).transpose(1, 0, 2) if self.needs_grad(0) else None
        return dx, dw, du, db, dh_next
