"""Recurrent kernels that compute their own tanh: the whole-sequence forward loops for small
batches without a graph, and the LSTM's forward time step (``lstm_step``: everything after the
step's product: gates, state and what the backward step needs, in one kernel). Their helpers (``tanh``,
``add_product``) live in this file with every kernel that calls them: Numba's disk cache checks
only the calling kernel's own file for changes.

``tanh`` and ``tanh_float32`` are vectorisable (no libm call; a libm tanh per element measured ~30 ns,
more than a batch-1 step's product); ``tanh_inplace`` takes the float32 one for float32 arrays.

At batch 1 a time step's product is a vector-matrix product of microseconds, so the stepwise
path (recurrent_kernels.py: one NumPy product, NumPy tanh calls and kernel calls per step) spends
its time in Python calls. The ``*_sequence`` kernels run the whole loop over time steps in one
call: per step, z = (x_t W + b) + h_{t-1} U, the first term for all steps at once by one product
before the call (``xw``), the second as plain loops (``add_product``: axpys over U's contiguous
rows, which the compiler vectorises), then the gates and the state with the mask's carry. No
backward factors are saved: they run under no_grad (``_RecurrentOp._sequence_kernel`` picks them
by batch size); the NumPy loops in recurrent.py, lstm.py and gru.py are the reference and
tests/test_recurrent_fused.py holds the two equal.

Arguments: ``rows`` (T + 1, N, U + D + 1 [+ U]) as the stepwise path's, rows[t] = [h_{t-1}, x_t, 1
(, c_{t-1})], filled with h_t (and c_t) in rows[t + 1]; ``xw`` (N, T, G) = x W + b; ``u`` (U, G)
the recurrent kernel (GRU: its stacked h rows, blocks z, r, h Un, 0); ``masks`` (T, N), 1 on
real steps, 0 on masked ones (new = m new + (1 - m) old). The weights are not halved for the
sigmoid gates as in the stepwise path: the kernels halve the pre-activations, which gives the
same numbers (halving is exact in binary floating point).
"""
import numpy as np

from .. import kernels
from ..kernels import prange


@kernels.jit(**kernels.VECTORISE)
def tanh(x):
    """tanh(x) in float64 arithmetic, as x's type, with no libm call, so a loop of it vectorises.

    tanh(|x|) = -m / (m + 2) with m = exp(-2|x|) - 1 (no cancellation near 0). m comes from
    expm1(a) at a = -2|x| / 64 (a in [-0.625, 0]; |x| is clamped at 20, where tanh is 1 in
    float64) by its Taylor polynomial to a^9 / 9!, then six doublings expm1(2a) = m (m + 2).
    Measured: float32 results equal tanh rounded from float64 exactly (0 ulp over 1.3 M points,
    where NumPy's float32 tanh is within 1 ulp); float64 within 9e-16 relative.
    """
    v = np.float64(x)
    a = -min(abs(v), 20.0) * 0.03125
    p = 1.0 / 362880.0  # 1 / 9!, then Horner down to 1 / 1!
    p = p * a + 1.0 / 40320.0
    p = p * a + 1.0 / 5040.0
    p = p * a + 1.0 / 720.0
    p = p * a + 1.0 / 120.0
    p = p * a + 1.0 / 24.0
    p = p * a + 1.0 / 6.0
    p = p * a + 0.5
    p = p * a + 1.0
    m = a * p
    for _ in range(6):
        m = m * (m + 2.0)
    y = -m / (m + 2.0)
    return type(x)(y if v > 0 else (-y if v < 0 else v))  # tanh(±0) = ±0; nan stays nan


@kernels.jit(fastmath={"contract"}, **kernels.VECTORISE)
def tanh_float32(x):
    """tanh(x) in float32 arithmetic (8 lanes per instruction where ``tanh`` has 4), no libm call.

    |x| < 0.9: x + x^3 P(x^2), P of degree 6 fitted (weighted least squares on Chebyshev nodes) to
    (tanh(x) - x) / x^3, relative error 1.2e-9. Else 1 - 2 / (e + 1) with e = exp(2|x|) = 2^k e^r,
    r = 2|x| - k ln 2 in [-ln2 / 2, ln2 / 2] (ln 2 in two parts), e^r by its Taylor polynomial to
    r^6 / 6!, 2^k as the integer 1 << k; |x| clamped at 10, where tanh is 1 in float32.
    Measured over 7 M float32 points: within 1.12 ulp of tanh rounded from float64, 97.7% of them
    equal to it (NumPy's float32 tanh: within 1.37 ulp, 74%).

    ``fastmath={"contract"}`` (and nothing else of fast-math): each multiply and add of the
    polynomials is one fused multiply-add where the CPU has them (the instructions keep the flag
    when inlined into the kernels). Measured on this project's AMD EPYC (Zen 1): 148 to 110 us per
    32,768 values, and over 10 M points (normal at scales 0.3, 1, 3, and a grid over [-12, 12])
    the largest error against float64's tanh went from 1.17 to 1.07 ulp, the share equal to it
    rounded from 95.6 to 96.1%.
    """
    f = np.float32
    a = min(abs(x), f(10.0))
    t = a * a
    p = f(-0.0004524849848725858)
    p = p * t + f(0.002574164281251668)
    p = p * t + f(-0.008254990164712178)
    p = p * t + f(0.02165822213764769)
    p = p * t + f(-0.053927785870829255)
    p = p * t + f(0.13332958009487067)
    p = p * t + f(-0.3333332132628985)
    small = a + a * t * p
    y = f(2.0) * a
    k = np.int32(y * f(1.4426950408889634) + f(0.5))  # round(y / ln 2), y >= 0
    r = (y - f(k) * f(0.693145751953125)) - f(k) * f(1.428606765330187e-06)
    e = f(1.0 / 720.0)
    e = e * r + f(1.0 / 120.0)
    e = e * r + f(1.0 / 24.0)
    e = e * r + f(1.0 / 6.0)
    e = e * r + f(0.5)
    e = e * r + f(1.0)
    e = (e * r + f(1.0)) * f(np.int32(1) << k)
    v = small if a < f(0.9) else f(1.0) - f(2.0) / (e + f(1.0))
    return type(x)(v if x > 0 else (-v if x < 0 else x))  # tanh(±0) = ±0; nan stays nan


@kernels.jit(**kernels.VECTORISE)
def tanh_inplace(z):
    """z = tanh(z), one loop over a 1-D array: ``tanh_float32`` for float32 (vectorised, 8 lanes per
    instruction), ``tanh`` otherwise (4 float64 lanes)."""
    if z.itemsize == 4:
        for j in range(z.shape[0]):
            z[j] = tanh_float32(z[j])
    else:
        for j in range(z.shape[0]):
            z[j] = tanh(z[j])


@kernels.jit(**kernels.VECTORISE)
def add_product(h, u, z):
    """z += h @ u (h (N, K), u (K, G), z (N, G)) as plain loops: four rows of u at a time, for
    every row of h (so u passes through the cache once per call, not once per row of h)."""
    width = u.shape[0]
    k = 0
    while k + 4 <= width:
        for s in range(h.shape[0]):
            a0, a1, a2, a3 = h[s, k], h[s, k + 1], h[s, k + 2], h[s, k + 3]
            for j in range(z.shape[1]):
                z[s, j] += a0 * u[k, j] + a1 * u[k + 1, j] + a2 * u[k + 2, j] + a3 * u[k + 3, j]
        k += 4
    for k in range(k, width):
        for s in range(h.shape[0]):
            for j in range(z.shape[1]):
                z[s, j] += h[s, k] * u[k, j]


@kernels.jit(**kernels.VECTORISE)
def preactivations(rows, xw, u, t, z):
    """z (N, G) = x_t W + b + h_{t-1} U for every row of the batch at step t."""
    for s in range(z.shape[0]):  # loops, not z[:] = xw[:, t]: array expressions compile slowly (6 s)
        for j in range(z.shape[1]):
            z[s, j] = xw[s, t, j]
    add_product(rows[t, :, :u.shape[0]], u, z)


@kernels.jit(**kernels.VECTORISE)
def lstm_sequence(rows, xw, u, masks):
    """LSTM: z = x W + b + h U, blocks (i, f, g, o); i, f, o = sigmoid, g = tanh;
    c = f c_prev + i g; h = o tanh(c)."""
    half, one = rows.dtype.type(0.5), rows.dtype.type(1)
    steps, n = rows.shape[0] - 1, rows.shape[1]
    units = u.shape[0]
    width = rows.shape[2] - units  # the c columns
    z, tc = np.empty((n, u.shape[1]), rows.dtype), np.empty(units, rows.dtype)
    for t in range(steps):
        preactivations(rows, xw, u, t, z)
        for s in range(n):
            zs, m = z[s], masks[t, s]
            for k in range(units):  # sigmoid(p) = (1 + tanh(p / 2)) / 2 on i, f, o
                zs[k] *= half
                zs[units + k] *= half
                zs[3 * units + k] *= half
            tanh_inplace(zs)
            for k in range(units):
                i, f, g = half + half * zs[k], half + half * zs[units + k], zs[2 * units + k]
                c_prev = rows[t, s, width + k]
                tc[k] = f * c_prev + i * g
                rows[t + 1, s, width + k] = m * tc[k] + (one - m) * c_prev
            tanh_inplace(tc)
            for k in range(units):
                o = half + half * zs[3 * units + k]
                rows[t + 1, s, k] = m * (o * tc[k]) + (one - m) * rows[t, s, k]


# A step's work, for when it runs on Numba's threads (kernels.PARALLEL_MIN): four times its gate elements,
# each of which costs a tanh and several products (measured: 64 x 512 gates gain from two threads, LSTM step
# 43.3 to 39.8 ms).
def _step_work(z, *rest):
    return 4 * z.size


@kernels.jit(parallel=True, work=_step_work, **kernels.VECTORISE)
def lstm_step(z, rows, t, tc, masks):
    """One time step of the LSTM's stepwise compiled path, after the step's product (BLAS).

    z (N, 4U): the pre-activations, the sigmoid gates' (i, f, o) computed with halved weights
    (sigmoid(p) = (1 + tanh(p / 2)) / 2); overwritten by the gate values i, f, g, o. Writes
    c = f c_prev + i g and h = o tanh(c) into rows[t + 1] (a masked row keeps its state) and
    tanh(c) (before the mask's carry) into tc (N, U). While a graph is recorded, z and tc are
    the op's saved gates[t] and tanh_c[t], from which recurrent_kernels.lstm_step_backward forms
    its factors, as lstm.py's reference does.
    """
    half, one = z.dtype.type(0.5), z.dtype.type(1)
    n, units = tc.shape
    width = rows.shape[2] - units  # the c columns
    for s in prange(n):  # (each row its own: the threads take rows)
        zs, tcs, m = z[s], tc[s], masks[t, s]
        # NOTE: one-dimensional views (the gates' blocks, the states before and after), not 3-D indexing
        # of rows: the loops vectorise. Threaded, 64 x 128: 43-44 against 53-66 us (min) a call.
        zi, zf, zg, zo = zs[:units], zs[units:2 * units], zs[2 * units:3 * units], zs[3 * units:]
        h_prev, c_prev = rows[t, s, :units], rows[t, s, width:]
        h_new, c_new = rows[t + 1, s, :units], rows[t + 1, s, width:]
        tanh_inplace(zs)
        for k in range(units):
            i, f = half + half * zi[k], half + half * zf[k]
            zi[k], zf[k], zo[k] = i, f, half + half * zo[k]
            tcs[k] = f * c_prev[k] + i * zg[k]
            c_new[k] = m * tcs[k] + (one - m) * c_prev[k]
        tanh_inplace(tcs)  # now tanh(c)
        for k in range(units):
            h_new[k] = m * (zo[k] * tcs[k]) + (one - m) * h_prev[k]


@kernels.jit(parallel=True, work=_step_work, **kernels.VECTORISE)
def gru_step(p, rows, t, cand, masks, factors, zs, record):
    """One time step of the GRU's stepwise compiled path (reset after the product), after the
    step's product (BLAS): everything else in one pass per row, as ``lstm_step``.

    p (N, 4U): blocks z, r (pre-activations from halved weights: sigmoid(p) = (1 + tanh(p / 2)) / 2),
    p_hn = h Un + b1n and p_xn = x Wn + b0n; z and r are overwritten by their values. cand (N, U)
    gets n = tanh(p_xn + r p_hn); h = n + z (h_prev - n) goes into rows[t + 1] (a masked row keeps
    its state). While a graph is recorded, factors[t] (N, 4, U) and zs[t] get what the backward
    step needs (recurrent_kernels.gru_step_backward), with a = (1 - z)(1 - n^2):
    dL/dp = dh * (z (1 - z)(h_prev - n), r (1 - r) p_hn a, r a, a), and z for the direct path.
    """
    half, one = p.dtype.type(0.5), p.dtype.type(1)
    n, units = cand.shape
    for s in prange(n):  # (each row its own: the threads take rows)
        ps, cs, m = p[s], cand[s], masks[t, s]
        tanh_inplace(ps[:2 * units])
        for k in range(units):
            r = half + half * ps[units + k]
            ps[k], ps[units + k] = half + half * ps[k], r
            cs[k] = ps[3 * units + k] + r * ps[2 * units + k]
        tanh_inplace(cs)  # now n
        for k in range(units):
            z, r, c, h_prev = ps[k], ps[units + k], cs[k], rows[t, s, k]
            rows[t + 1, s, k] = m * (c + z * (h_prev - c)) + (one - m) * h_prev
            if record:
                a = (one - z) * (one - c * c)
                factors[t, s, 0, k] = z * (one - z) * (h_prev - c)
                factors[t, s, 1, k] = r * (one - r) * ps[2 * units + k] * a
                factors[t, s, 2, k] = r * a
                factors[t, s, 3, k] = a
                zs[t, s, k] = z


@kernels.jit(parallel=True, work=_step_work, **kernels.VECTORISE)
def simple_rnn_step(z, rows, t, masks, factors, relu, record):
    """One time step of the SimpleRNN's stepwise compiled path, after the step's product (BLAS):
    h = tanh(z) or relu(z) into rows[t + 1] (a masked row keeps its state); while a graph is
    recorded, factors[t] = 1 - h^2 (tanh) or [z > 0] (relu), before the carry."""
    one, zero = z.dtype.type(1), z.dtype.type(0)
    n, units = z.shape
    for s in prange(n):  # (each row its own: the threads take rows)
        zs, m = z[s], masks[t, s]
        if relu:
            for k in range(units):
                slope = one if zs[k] > zero else zero
                zs[k] = max(zs[k], zero)
                if record:
                    factors[t, s, k] = slope
        else:
            tanh_inplace(zs)
            if record:
                for k in range(units):
                    factors[t, s, k] = one - zs[k] * zs[k]
        for k in range(units):
            rows[t + 1, s, k] = m * zs[k] + (one - m) * rows[t, s, k]


@kernels.jit(**kernels.VECTORISE)
def gru_sequence(rows, xw, u, masks):
    """GRU (reset after the product): p = x W + b + h U, blocks (z, r, h Un + b1n, x Wn + b0n);
    z, r = sigmoid; n = tanh(p_xn + r p_hn); h = n + z (h_prev - n)."""
    half, one = rows.dtype.type(0.5), rows.dtype.type(1)
    steps, n = rows.shape[0] - 1, rows.shape[1]
    units = u.shape[0]
    p, cand = np.empty((n, u.shape[1]), rows.dtype), np.empty(units, rows.dtype)
    for t in range(steps):
        preactivations(rows, xw, u, t, p)
        for s in range(n):
            ps, m = p[s], masks[t, s]
            for k in range(2 * units):  # sigmoid(p) = (1 + tanh(p / 2)) / 2 on z, r
                ps[k] *= half
            tanh_inplace(ps[:2 * units])
            for k in range(units):
                r = half + half * ps[units + k]
                cand[k] = ps[3 * units + k] + r * ps[2 * units + k]
            tanh_inplace(cand)
            for k in range(units):
                z, c, h_prev = half + half * ps[k], cand[k], rows[t, s, k]
                rows[t + 1, s, k] = m * (c + z * (h_prev - c)) + (one - m) * h_prev


@kernels.jit(**kernels.VECTORISE)
def simple_rnn_sequence(rows, xw, u, masks, relu):
    """SimpleRNN: h = tanh(x W + b + h U), or relu."""
    one, zero = rows.dtype.type(1), rows.dtype.type(0)
    steps, n = rows.shape[0] - 1, rows.shape[1]
    units = u.shape[0]
    z = np.empty((n, units), rows.dtype)
    for t in range(steps):
        preactivations(rows, xw, u, t, z)
        for s in range(n):
            zs, m = z[s], masks[t, s]
            if relu:
                for k in range(units):
                    zs[k] = max(zs[k], zero)
            else:
                tanh_inplace(zs)
            for k in range(units):
                rows[t + 1, s, k] = m * zs[k] + (one - m) * rows[t, s, k]
