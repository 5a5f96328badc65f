"""Compiled time steps of the recurrent ops (Numba), beside their NumPy reference in recurrent.py.

Each kernel is a time step's element-wise work: the gates, the state update, the carry over
masked steps and the factors the backward step needs (forward), or the gradient of the step's
pre-activations (backward). The per-step matrix product stays outside, one NumPy call (BLAS)
per step, and so do the tanh calls: NumPy's tanh is vectorised (SIMD), while a tanh or exp
inside a Numba loop is a scalar libm call, measured ~20x slower per element (an LSTM step's
five transcendental functions per unit took longer than the whole NumPy reference step).
So a GRU forward step is: product, np.tanh, kernel (gates, candidate), np.tanh, kernel (state,
factors). The LSTM's forward step is the exception: one kernel after the product
(recurrent_fused.lstm_step) with a vectorisable tanh of its own, measured 5% faster than two kernels
and two NumPy tanh calls (bench/NOTES.md). The kernels only see arrays:

- ``rows`` (T + 1, N, U + D + 1 [+ U]): rows[t] = [h_{t-1}, x_t, 1 (, c_{t-1})], as in
  recurrent.py; a forward step writes h_t (and c_t) into rows[t + 1].
- ``masks`` (T, N): 1 on real steps, 0 on masked ones (a masked row keeps its state:
  new = m new + (1 - m) old, the reference's formula).
- ``factors`` as the reference saves them; (0, 0, 0) arrays when the graph is not recorded.

Whole buffers and the step index t are passed (not per-step views), so every call has the
same argument layouts and each kernel compiles once per dtype. ``one = z.dtype.type(1)``
keeps float32 arithmetic in float32 (a bare ``1`` would promote it to float64).
"""

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
    cells = gy_c.size > 0
    for s in prange(n):  # (each row its own: the threads take rows)
        m = masks[t, s]
        for k in range(units):
            dh = gy_h[s, t, k] + dh_next[s, k] + carry[s, k]
            dc = gy_c[s, t, k] + dc_next[s, k] if cells else dc_next[s, k]
            carry[s, k] = (one - m) * dh
            dh, dc_carry = m * dh, (one - m) * dc
            i, f, g, o = gates[t, s, k], gates[t, s, units + k], gates[t, s, 2 * units + k], gates[t, s, 3 * units + k]
            tc = tanh_c[t, s, k]
            dct = dh * (o * (one - tc * tc)) + m * dc
            dz[t, s, k] = i * (one - i) * g * dct
            dz[t, s, units + k] = f * (one - f) * rows[t, s, width + k] * dct
            dz[t, s, 2 * units + k] = (one - g * g) * i * dct
            dz[t, s, 3 * units + k] = o * (one - o) * tc * dh
            dc_next[s, k] = dct * f + dc_carry


@kernels.jit()
def gru_candidate(p, units, cand):
    """z, r from p's first blocks, which hold tanh(p / 2) (halved columns: sigmoid(p) =
    (1 + tanh(p / 2)) / 2); overwritten by z, r. cand = p_xn + r p_hn, the candidate's
    pre-activation (the caller takes its tanh)."""
    half = p.dtype.type(0.5)
    n = p.shape[0]
    for s in range(n):
        for k in range(units):
            p[s, k] = half + half * p[s, k]
            r = half + half * p[s, units + k]
            p[s, units + k] = r
            cand[s, k] = p[s, 3 * units + k] + r * p[s, 2 * units + k]


@kernels.jit()
def gru_state(p, rows, t, units, cand, masks, factors, zs, record):
    """h = n + z (h_prev - n) into rows[t + 1] (a masked row keeps its state), from z, r in
    p's first blocks, p_hn = h Un + b1n and n = cand = tanh(p_xn + r p_hn).

    Factors (the reference's), with a = (1 - z)(1 - n^2):
    dL/dp = dh * (z(1-z)(h_prev - n), r(1-r) p_hn a, r a, a); zs[t] = z for the direct path.
    """
    one = p.dtype.type(1)
    n = p.shape[0]
    for s in range(n):
        m = masks[t, s]
        for k in range(units):
            z, r, hn, c = p[s, k], p[s, units + k], p[s, 2 * units + k], cand[s, k]
            h_prev = rows[t, s, k]
            rows[t + 1, s, k] = m * (c + z * (h_prev - c)) + (one - m) * h_prev
            if record:
                a = (one - z) * (one - c * c)
                factors[t, s, 0, k] = z * (one - z) * (h_prev - c)
                factors[t, s, 1, k] = r * (one - r) * hn * a
                factors[t, s, 2, k] = r * a
                factors[t, s, 3, k] = a
                zs[t, s, k] = z


@kernels.jit()
def gru_step_backward(gy, t, dh_next, extra, masks, factors, zs, dp):
    """dp[t] (N, 4, U) = factors[t] * dh, dh = m (gy[:, t] + dh_next + extra).

    ``extra`` holds what reaches h_{t-1} besides the product: the direct path dh z and a
    masked row's carried (1 - m) dh; it is added at the next call (or by the caller after
    the last). The caller computes dh_next = dp[t] (the stacked matrix's h rows)^T.
    """
    one = dp.dtype.type(1)
    n, units = dh_next.shape
    for s in range(n):
        m = masks[t, s]
        for k in range(units):
            dh = gy[s, t, k] + dh_next[s, k] + extra[s, k]
            carry, dh = (one - m) * dh, m * dh
            for block in range(4):
                dp[t, s, block, k] = factors[t, s, block, k] * dh
            extra[s, k] = dh * zs[t, s, k] + carry


@kernels.jit()
def simple_rnn_step(z, rows, t, units, masks, factors, relu, record):
    """h = relu(z), or h = z when z already holds tanh of the pre-activations (NumPy's tanh,
    vectorised, is called before); factors[t] = [z > 0] (relu) or 1 - h^2, before the carry."""
    one = z.dtype.type(1)
    zero = z.dtype.type(0)
    n = z.shape[0]
    for s in range(n):
        m = masks[t, s]
        for k in range(units):
            if relu:
                h = max(z[s, k], zero)
                slope = one if z[s, k] > zero else zero
            else:
                h = z[s, k]
                slope = one - h * h
            rows[t + 1, s, k] = m * h + (one - m) * rows[t, s, k]
            if record:
                factors[t, s, k] = slope


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
