"""Compiled backward time steps of the recurrent ops (Numba), beside their NumPy reference in
recurrent.py, lstm.py and gru.py.

Each kernel is a backward step's element-wise work: the gradient of the step's pre-activations
from the saved factors, and what passes to the previous step (a mask's carry, the GRU's direct
path). The step's matrix product stays outside, one NumPy call (BLAS) per step. The forward steps
are in recurrent_fused.py (``lstm_step``, ``gru_step``, ``simple_rnn_step``): one kernel after the
product, with a vectorisable tanh of their own (a libm tanh inside a Numba loop is a scalar call,
measured ~20x slower per element than NumPy's). One forward kernel per step measured: the LSTM's 5%
faster than two kernels and two NumPy tanh calls; the GRU's element-wise work 116-179 us a step
against 261-266 us at 64 x 512 pre-activations (bench/NOTES.md). The kernels only see arrays:

- ``rows`` (T + 1, N, U + D + 1 [+ U]): rows[t] = [h_{t-1}, x_t, 1 (, c_{t-1})], as in
  recurrent.py; a forward step writes h_t (and c_t) into rows[t + 1].
- ``masks`` (T, N): 1 on real steps, 0 on masked ones (a masked row keeps its state:
  new = m new + (1 - m) old, the reference's formula).
- ``factors`` as the reference saves them; (0, 0, 0) arrays when the graph is not recorded.

Whole buffers and the step index t are passed (not per-step views), so every call has the
same argument layouts and each kernel compiles once per dtype. ``one = z.dtype.type(1)``
keeps float32 arithmetic in float32 (a bare ``1`` would promote it to float64).
"""
import numpy as np

from .. import kernels
from ..kernels import prange


@kernels.jit(parallel=True, work=lambda gy_h, gy_c, t, dh_next, *rest: 16 * dh_next.size)  # (as lstm_step's)
def lstm_step_backward(gy_h, gy_c, t, dh_next, dc_next, carry, masks, rows, gates, tanh_c, dz):
    """dz[t] (N, 4U) from dh = gy_h + dh_next + carry and dc = gy_c + dc_next (gy_h, gy_c (N, T, U);
    gy_c empty when the op outputs no c sequence: dc = dc_next), the saved gates[t] (i, f, g, o),
    tanh_c[t] and c_{t-1} (rows[t]'s last U columns):

        dL/dc_t = dh o (1 - tanh(c)^2) + dc,    dL/dc_{t-1} = dL/dc_t f,
        dz = (i (1 - i) g, f (1 - f) c_{t-1}, (1 - g^2) i) dL/dc_t, o (1 - o) tanh(c) dh.

    dz may be the gates' own buffer (each element is read before it is written).
    A masked row's gradients pass to the previous state unchanged: the part (1 - m) dh goes
    to ``carry`` (added at the next call or by the caller), (1 - m) dc into ``dc_next``.
    Updates dc_next to dL/dc_{t-1}; the caller computes dh_next = dz[t] U^T.
    """
    one = dz.dtype.type(1)
    n, units = dh_next.shape
    width = rows.shape[2] - units  # the c columns
    saved = np.empty((n, 4 * units), gates.dtype)  # the step's gates, copied: dz may be the same memory
    for s in prange(n):  # (each row its own: the threads take rows)
        m, dhs, dcs, cs, row = masks[t, s], dh_next[s], dc_next[s], carry[s], saved[s]
        for j in range(4 * units):
            row[j] = gates[t, s, j]
        # NOTE: one-dimensional views of the row, not 3-D indexing, and the gates read from a copy (dz
        # may be their buffer): the loop below then vectorises. dz over the gates, threaded: 48-58 us
        # against 64-82 for 3-D indexing at 64 x 128, 75-82 against 118-124 at 64 x 256.
        i, f, g, o = row[:units], row[units:2 * units], row[2 * units:3 * units], row[3 * units:]
        di, df, dg, do = dz[t, s, :units], dz[t, s, units:2 * units], dz[t, s, 2 * units:3 * units], dz[t, s, 3 * units:]
        gh, tc, c_prev = gy_h[s, t], tanh_c[t, s], rows[t, s, width:]
        if gy_c.size > 0:
            gc = gy_c[s, t]
            for k in range(units):
                dcs[k] = gc[k] + dcs[k]
        for k in range(units):
            dh = gh[k] + dhs[k] + cs[k]
            dc = dcs[k]
            cs[k] = (one - m) * dh
            dh, dc_carry = m * dh, (one - m) * dc
            ik, fk, gk, ok, tk = i[k], f[k], g[k], o[k], tc[k]
            dct = dh * (ok * (one - tk * tk)) + m * dc
            di[k] = ik * (one - ik) * gk * dct
            df[k] = fk * (one - fk) * c_prev[k] * dct
            dg[k] = (one - gk * gk) * ik * dct
            do[k] = ok * (one - ok) * tk * dh
            dcs[k] = dct * fk + dc_carry


@kernels.jit(parallel=True, work=lambda gy, t, dh_next, *rest: 8 * dh_next.size)  # (four blocks of products)
def gru_step_backward(gy, t, dh_next, extra, masks, factors, zs, dp):
    """dp[t] (N, 4, U) = factors[t] * dh, dh = m (gy[:, t] + dh_next + extra).

    ``extra`` holds what reaches h_{t-1} besides the product: the direct path dh z and a
    masked row's carried (1 - m) dh; it is added at the next call (or by the caller after
    the last). The caller computes dh_next = dp[t] (the stacked matrix's h rows)^T.
    """
    one = dp.dtype.type(1)
    n, units = dh_next.shape
    for s in prange(n):  # (each row its own)
        m = masks[t, s]
        for k in range(units):
            dh = gy[s, t, k] + dh_next[s, k] + extra[s, k]
            carry, dh = (one - m) * dh, m * dh
            for block in range(4):
                dp[t, s, block, k] = factors[t, s, block, k] * dh
            extra[s, k] = dh * zs[t, s, k] + carry


@kernels.jit()
def simple_rnn_step_backward(gy, t, dh_next, carry, masks, factors, dz):
    """dz[t] = m (gy[:, t] + dh_next + carry) * factors[t]; carry = the masked part (1 - m) dh."""
    one = dz.dtype.type(1)
    n, units = dh_next.shape
    for s in range(n):
        m = masks[t, s]
        for k in range(units):
            dh = gy[s, t, k] + dh_next[s, k] + carry[s, k]
            carry[s, k] = (one - m) * dh
            dz[t, s, k] = m * dh * factors[t, s, k]
