"""Compiled convolution and pooling passes (Numba), beside their NumPy reference in conv.py.

All arrays are channels-last: x (N, H, W, C). A window's cell (i, j) at output position
(p, q) reads x[s, p * sh + i * dh - pt, q * sw + j * dw - pl, ch], where (pt, pl) is the
"same" padding before the first row and column; cells outside x read 0 (convolution), -inf
(max pooling) or are not counted (average pooling). The kernels test the bounds instead of
reading a padded copy of x, so no padded array is made. The innermost loop runs over the
channels, contiguous in memory, with selects rather than branches, so that it vectorises.

The kernels are ``parallel=True`` over rows or samples: each thread writes its own rows of the
output, so their results do not depend on the number of threads. They run on Numba's threads only
where no idle OpenBLAS or OpenMP worker spins on the cores they need (``kernels.threaded``; with
spinning workers, a CNN step with parallel kernels took 1,284 against 132 ms on this project's 2-core
machine, bench/NOTES.md, "Parallel kernels"). ``col2im_add``, whose rows add into overlapping
cells of gx, runs over whole samples.

- ``im2col``: a block of rows of the columns of the convolution's product, one row per output
  position, ``cols[(s, p, q), (i, j, ch)] = x[s, r, col, ch]`` and a last column of ones (the bias row).
- ``col2im_add``: its adjoint over a block of rows, gx[s, r, col, ch] += gcols[(s, p, q), (i, j, ch)].
- ``max_pool`` / ``max_pool_backward``: the window's maximum and the offset of its first
  maximum (NaN propagates, as with np.maximum); backward routes gy to that cell.
- ``avg_pool`` / ``avg_pool_backward``: the mean of the window's cells inside x, and gy
  divided by that count, spread over them.
"""
import numpy as np

from .. import kernels
from ..kernels import prange


@kernels.jit(parallel=True)
def im2col(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, first, cols):
    """Rows first, first + 1, ... of the columns (N * OH * OW, KH * KW * C [+ 1]): row (s, p, q)
    holds the receptive field of output position (p, q) of sample s (zeros outside x), and 1 in
    the last column when cols has one more column than KH * KW * C."""
    _, h, w, c = x.shape
    k = kh * kw * c
    zero, one = cols.dtype.type(0), cols.dtype.type(1)
    for row in prange(first, first + cols.shape[0]):
        s, pq = divmod(row, oh * ow)
        p, q = divmod(pq, ow)
        out = cols[row - first]
        for i in range(kh):
            r = p * sh + i * dh - pt
            for j in range(kw):
                col = q * sw + j * dw - pl
                base = (i * kw + j) * c
                if 0 <= r < h and 0 <= col < w:
                    for ch in range(c):
                        out[base + ch] = x[s, r, col, ch]
                else:
                    for ch in range(c):
                        out[base + ch] = zero
        if cols.shape[1] > k:
            out[k] = one


@kernels.jit(parallel=True, work=lambda gcols, *args: gcols.size)
def col2im_add(gcols, first, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, gx):
    """The adjoint of im2col for rows first, first + 1, ... whose gradient gcols (m, KH * KW * C)
    holds: gx[s, r, col, ch] += gcols[(s, p, q), (i, j, ch)]; a cell outside x (padding) is dropped.

    The threads take whole samples (the rows of one sample add into that sample's cells only), and
    each adds its rows in order: the serial result bit for bit. Blocks of whole samples, two or
    more, give both threads work."""
    _, h, w, c = gx.shape
    per, last = oh * ow, first + gcols.shape[0] - 1
    for s in prange(first // per, last // per + 1):
        for row in range(max(first, s * per), min(last, s * per + per - 1) + 1):
            p, q = divmod(row - s * per, ow)
            g = gcols[row - first]
            for i in range(kh):
                r = p * sh + i * dh - pt
                if r < 0 or r >= h:
                    continue
                for j in range(kw):
                    col = q * sw + j * dw - pl
                    if 0 <= col < w:
                        base = (i * kw + j) * c
                        for ch in range(c):
                            gx[s, r, col, ch] += g[base + ch]


@kernels.jit(parallel=True)
def max_pool(x, ph, pw, sh, sw, pt, pl, y, arg):
    """y[s, p, q, ch] = the maximum of the window, arg = the window offset k = i * PW + j of its
    first maximum (a cell outside x counts as -inf; a NaN is kept once seen, as np.maximum does)."""
    n, h, w, c = x.shape
    _, oh, ow, _ = y.shape
    low = -np.inf
    for s in prange(n):
        for p in range(oh):
            for q in range(ow):
                for ch in range(c):
                    y[s, p, q, ch] = low
                    arg[s, p, q, ch] = 0
                for i in range(ph):
                    r = p * sh + i - pt
                    for j in range(pw):
                        col = q * sw + j - pl
                        if r < 0 or r >= h or col < 0 or col >= w:
                            continue
                        k = arg.dtype.type(i * pw + j)  # (arg's type: a narrowing select would not vectorise)
                        for ch in range(c):  # selects, not branches: the channel loop vectorises
                            v, best = x[s, r, col, ch], y[s, p, q, ch]
                            better = v > best
                            # a NaN v is kept (v != v); a NaN best stays, as nothing compares greater
                            y[s, p, q, ch] = v if better or v != v else best
                            arg[s, p, q, ch] = k if better else arg[s, p, q, ch]


@kernels.jit(parallel=True)
def max_pool_backward(gy, arg, ph, pw, sh, sw, pt, pl, tiled, gx):
    """gx (zeros, shape of x) += gy at each window's arg-max cell. With ``tiled`` (the windows tile
    x exactly: strides = pool size, no padding, no cell left over) every cell is in one window and
    is written once, gx = gy or 0, so gx needs no zeros first (on the CIFAR CNN's pools, half the
    time of zeros and adding)."""
    n, h, w, c = gx.shape
    _, oh, ow, _ = gy.shape
    zero = gx.dtype.type(0)
    for s in prange(n):
        for p in range(oh):
            for q in range(ow):
                for i in range(ph):
                    r = p * sh + i - pt
                    for j in range(pw):
                        col = q * sw + j - pl
                        if r < 0 or r >= h or col < 0 or col >= w:
                            continue
                        k = arg.dtype.type(i * pw + j)
                        if tiled:
                            for ch in range(c):
                                gx[s, r, col, ch] = gy[s, p, q, ch] if arg[s, p, q, ch] == k else zero
                        else:
                            for ch in range(c):  # every cell of the window, so that the channel loop vectorises
                                gx[s, r, col, ch] += gy[s, p, q, ch] if arg[s, p, q, ch] == k else zero


@kernels.jit(parallel=True)
def avg_pool(x, ph, pw, sh, sw, pt, pl, y):
    """y[s, p, q, ch] = the mean of the window's cells that lie inside x."""
    n, h, w, c = x.shape
    _, oh, ow, _ = y.shape
    zero = y.dtype.type(0)
    for s in prange(n):
        for p in range(oh):
            for q in range(ow):
                count = 0
                for ch in range(c):
                    y[s, p, q, ch] = zero
                for i in range(ph):
                    r = p * sh + i - pt
                    for j in range(pw):
                        col = q * sw + j - pl
                        if 0 <= r < h and 0 <= col < w:
                            count += 1
                            for ch in range(c):
                                y[s, p, q, ch] += x[s, r, col, ch]
                inv = y.dtype.type(1) / y.dtype.type(count)
                for ch in range(c):
                    y[s, p, q, ch] *= inv


@kernels.jit(parallel=True)
def avg_pool_backward(gy, ph, pw, sh, sw, pt, pl, gx):
    """gx (zeros, shape of x) += gy / count over each window's cells inside x (windows overlap within
    a sample, not across samples: the threads take whole samples)."""
    n, h, w, c = gx.shape
    _, oh, ow, _ = gy.shape
    for s in prange(n):
        for p in range(oh):
            for q in range(ow):
                count = 0
                for i in range(ph):
                    for j in range(pw):
                        r, col = p * sh + i - pt, q * sw + j - pl
                        if 0 <= r < h and 0 <= col < w:
                            count += 1
                inv = gx.dtype.type(1) / gx.dtype.type(count)
                for i in range(ph):
                    r = p * sh + i - pt
                    for j in range(pw):
                        col = q * sw + j - pl
                        if 0 <= r < h and 0 <= col < w:
                            for ch in range(c):
                                gx[s, r, col, ch] += gy[s, p, q, ch] * inv


@kernels.jit(parallel=True)
def relu_backward(gy, y, gz):
    """gz = gy where y > 0, else 0 (the relu fused into the convolution; y is its output)."""
    zero = gz.dtype.type(0)
    n, m = gy.shape
    for i in prange(n):
        for j in range(m):
            gz[i, j] = gy[i, j] if y[i, j] > zero else zero
