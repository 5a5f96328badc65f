"""Convolution, transposed convolution, pooling and up-sampling: channels-last (N, H, W, C).

Each convolution is one matrix product over a strided view of the input
(im2col without a Python loop over pixels); backward scatters the column
gradients back with one vectorised slice-add per kernel offset (col2im).
1-D layers call these with a height of 1.

That NumPy code is the reference path. With compiled kernels (``kernels.compiled()``, NumPy
float arrays) Conv2D makes its columns a block of rows at a time with a Numba im2col and keeps
none, scatters the input gradient with a col2im kernel, and pooling runs as kernels
(``conv_kernels``); tests/test_conv_kernels.py holds the two paths equal.
"""
import numpy as np

from ..backend import as_strided, get_array_module
from . import conv_kernels
from .bias_activation import BiasActivation, compilable
from .function import Function
from .workspace import empty

# NOTE: the convolution's products run over blocks of rows of the columns, about this many bytes
# of columns each (512 rows of 3 x 3 x 32 + 1 float32 columns): cols.T @ gy over all N * OH * OW
# rows at once measured 2.7x slower in OpenBLAS (one thread) than the same product summed over
# blocks of 512 rows (bench/NOTES.md, "Convolution kernels"); since import maps OpenBLAS's buffer
# pages (blas_buffers) the two measure the same (45-51 against 45-49 ms), and blocks of 0.5-8x this
# size too. The compiled path makes each block's columns when it needs them, so it keeps no columns.
BLOCK_BYTES = 512 * 289 * 4
# The compiled path's column blocks (forward and weight gradient) are 4x that: each block is one
# im2col call on Numba's threads, and fewer, larger calls measured im2col 11.4-13.0 to 9.2-10.6 ms a
# CNN step and 18.2-23.2 to 15.8-17.8 a CIFAR step (alternating processes on the AVX-512 host; steps
# 70.7 to 66.8 and 133.5 to 126.3 ms median), for ~1.8 MB more of block buffer. The input gradient's
# blocks keep BLOCK_BYTES (its column-gradient buffer grows with whole samples; col2im did not gain).
COLUMN_BLOCK_BYTES = 4 * BLOCK_BYTES


def block_rows(columns, itemsize, size=None):
    """Rows per block of about ``size`` bytes (default ``BLOCK_BYTES``), for columns of ``columns``
    values of ``itemsize`` bytes (at least 64)."""
    return max(64, (BLOCK_BYTES if size is None else size) // (columns * itemsize))


def out_size(size, kernel, stride, dilation, padding):
    """Output length and (before, after) padding for "valid" or "same" (as Keras / TensorFlow)."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (size - span) // stride + 1, (0, 0)
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return out, (total // 2, total - total // 2)


def windows(x, kh, kw, sh, sw, dh, dw, oh, ow):
    """A read-only view (N, OH, OW, KH, KW, C) of every receptive field of x (N, H, W, C)."""
    n, _, _, c = x.shape
    s0, s1, s2, s3 = x.strides
    return as_strided(x, (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3))


def scatter_windows(cols, shape, sh, sw, dh, dw):
    """The adjoint of ``windows``: add cols (N, OH, OW, KH, KW, C) back into an array of ``shape``."""
    xp = get_array_module(cols)
    out = xp.zeros(shape, dtype=cols.dtype)
    _, oh, ow, kh, kw, _ = cols.shape
    for i in range(kh):  # NOTE: a loop over kernel offsets, each a vectorised strided add
        for j in range(kw):
            rows, columns = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            out[:, rows, columns, :] += cols[:, :, :, i, j, :]
    return out


def _pad(x, pads, value=0.0):
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    return get_array_module(x).pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


class Conv2D(Function):
    """y = a(conv(x, w) + b) with w of shape (KH, KW, C_in, C_out) (cross-correlation, as every framework).

    The activation runs in this node: relu (``relu=True``, or ``activation="relu"``) as a maximum
    and its mask; any other of ``bias_activation.KINDS`` (``activation="tanh"``, ...) through a
    ``BiasActivation`` over the rows of the product (one compiled pass each way where the kernels
    are on, the activation's own op on the NumPy path).

    NOTE: the bias rides in the product: the columns get a last column of ones
    and the weights a last row b, so y, dW and db are each one product.
    """

    keep_narrow_columns = True  # (an attribute: the tests switch it off to compare)

    def __init__(self, strides=(1, 1), padding="valid", dilation=(1, 1), relu=False, activation=None):
        self.strides, self.padding, self.dilation = strides, padding, dilation
        kind = activation or ("relu" if relu else "linear")
        self.relu = kind == "relu"
        self.epilogue = None if kind in ("relu", "linear") else BiasActivation(kind)

    def forward(self, x, w, b=None):
        xp = get_array_module(x)
        (sh, sw), (dh, dw) = self.strides, self.dilation
        kh, kw, c, f = w.shape
        oh, ph = out_size(x.shape[1], kh, sh, dh, self.padding)
        ow, pw = out_size(x.shape[2], kw, sw, dw, self.padding)
        if oh < 1 or ow < 1:
            raise ValueError(f"Conv2D: a kernel of {kh}x{kw} (dilation {dh}x{dw}) does not fit an input of "
                             f"shape {x.shape} with padding={self.padding!r}")
        self.pads, self.x_shape, self.out_hw = (ph, pw), x.shape, (oh, ow)
        self.padded_shape = (x.shape[0], x.shape[1] + sum(ph), x.shape[2] + sum(pw), c)
        self.compiled = compilable(x, w) and (b is None or b.dtype == x.dtype)
        n, k = x.shape[0], kh * kw * c
        weights = w.reshape(k, f)
        if b is not None:
            weights = xp.concatenate([weights, b[None].astype(w.dtype, copy=False)])
        self.w, self.has_bias = w, b is not None
        if self.compiled:
            self.x = np.ascontiguousarray(x)
            y = np.empty((n * oh * ow, f), dtype=x.dtype)
            # NOTE: columns no wider than the output (a first layer: 3 x 3 x 3 + 1 = 28 columns against
            # 32 filters) take no more memory than y, which the backward keeps anyway: they are kept
            # for the weight gradient instead of being made again (CIFAR's first layer: 131,072 rows).
            narrow = self.keep_narrow_columns and k + (b is not None) <= f
            self.kept_cols = np.empty((n * oh * ow, k + (b is not None)), x.dtype) if narrow else None
            for rows, cols in self._column_blocks(made=False):
                np.matmul(cols, weights, out=y[rows])
        else:
            self.cols = empty((n * oh * ow, k + (b is not None)), x.dtype, xp)
            xpad = _pad(x, (ph, pw))
            xp.copyto(self.cols[:, :k].reshape(n, oh, ow, kh, kw, c), windows(xpad, kh, kw, sh, sw, dh, dw, oh, ow))
            if b is not None:
                self.cols[:, k] = 1
            y = self.cols @ weights
        if self.relu:
            xp.maximum(y, 0, out=y)
            self.y = y
        elif self.epilogue is not None:
            y = self.epilogue.forward(y, None)
        return y.reshape(n, oh, ow, f)

    def backward(self, gy):
        (sh, sw), (dh, dw) = self.strides, self.dilation
        kh, kw, c, f = self.w.shape
        g2 = gy.reshape(-1, f)
        compiled = self.compiled
        if compiled:  # NOTE: in the forward's dtype (a float64 loss over float32 outputs: float32 gradients)
            g2 = np.ascontiguousarray(g2, dtype=self.x.dtype)
        if self.relu and compiled:
            gz = np.empty_like(g2)
            conv_kernels.relu_backward(g2, self.y, gz)
            g2 = gz
        elif self.relu:
            g2 = g2 * (self.y > 0)
        elif self.epilogue is not None:
            g2 = self.epilogue.backward(g2, False)[0].reshape(-1, f)
        gw = gb = gx = None
        if self.needs_grad(1) or (self.has_bias and self.needs_grad(2)):
            gwb = self._weight_gradient_compiled(g2) if self.compiled else _blocked_tn(self.cols, g2)
            gw = gwb[:kh * kw * c].reshape(self.w.shape) if self.needs_grad(1) else None
            gb = gwb[-1] if self.has_bias and self.needs_grad(2) else None
        if self.needs_grad(0) and compiled:
            gx = self._input_gradient_compiled(g2)
        elif self.needs_grad(0):
            # NOTE: one product per kernel offset, added into the input positions it read: cheaper than
            # the whole (N, OH, OW, KH, KW, C) column gradient at once (measured: 12 ms against 21 ms)
            xp = get_array_module(gy)
            gpad = xp.zeros(self.padded_shape, dtype=gy.dtype)
            n, oh, ow, _ = gy.shape
            for i in range(kh):
                for j in range(kw):
                    gpad[:, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw, :] += (
                        g2 @ self.w[i, j].T).reshape(n, oh, ow, c)
            (pt, _), (pl, _) = self.pads
            gx = gpad[:, pt:pt + self.x_shape[1], pl:pl + self.x_shape[2], :]
        return gx, gw, gb

    def _column_blocks(self, made=True):
        """(rows, cols) for each block of rows of the columns, made by the compiled im2col into one
        reused buffer (valid until the next block), or into the kept columns (``made``: the forward
        made them already)."""
        (sh, sw), (dh, dw) = self.strides, self.dilation
        kh, kw, c, _ = self.w.shape
        oh, ow = self.out_hw
        total, width = self.x.shape[0] * oh * ow, kh * kw * c + self.has_bias
        step = block_rows(width, self.x.itemsize, COLUMN_BLOCK_BYTES)
        kept = self.kept_cols
        buffer = np.empty((min(step, total), width), dtype=self.x.dtype) if kept is None else None
        for first in range(0, total, step):
            rows = slice(first, min(first + step, total))
            cols = buffer[:rows.stop - first] if kept is None else kept[rows]
            if kept is None or not made:
                conv_kernels.im2col(self.x, kh, kw, sh, sw, dh, dw, self.pads[0][0], self.pads[1][0], oh, ow, first,
                                    cols)
            yield rows, cols

    def _weight_gradient_compiled(self, g2):
        """[dW; db] = cols^T g2, summed over the blocks (the kept columns, or made again block by block)."""
        gwb = None
        for rows, cols in self._column_blocks():
            part = cols.T @ g2[rows]
            if gwb is None:
                gwb = part
            else:
                gwb += part
        return gwb

    def _input_gradient_compiled(self, g2):
        """gx = col2im(g2 @ w^T), a block of rows at a time (the block's column gradient stays in cache).

        The blocks are whole samples where two or more fit in 4x the usual block (col2im's threads
        take whole samples); a block of 513 rows against 1,728 (3 samples) gave a 3x3 convolution
        over 64 x 26 x 26 x 32 col2im in 5.6 against 4.1 ms (serial: 5.6 and 5.6)."""
        (sh, sw), (dh, dw) = self.strides, self.dilation
        kh, kw, c, f = self.w.shape
        oh, ow = self.out_hw
        wt = self.w.reshape(kh * kw * c, f).T
        gx = np.zeros(self.x_shape, dtype=g2.dtype)
        total, step = g2.shape[0], block_rows(kh * kw * c, g2.itemsize)
        if 4 * step // (oh * ow) >= 2:
            step = 4 * step // (oh * ow) * (oh * ow)
        gcols = np.empty((min(step, total), kh * kw * c), dtype=g2.dtype)
        for first in range(0, total, step):
            block = np.matmul(g2[first:first + step], wt, out=gcols[:min(step, total - first)])
            conv_kernels.col2im_add(block, first, kh, kw, sh, sw, dh, dw, self.pads[0][0], self.pads[1][0],
                                    oh, ow, gx)
        return gx


def _blocked_tn(a, b):
    """a.T @ b, summed over blocks of rows (see BLOCK_BYTES)."""
    step = block_rows(a.shape[1], a.itemsize)
    if get_array_module(a) is not np or a.shape[0] <= step:
        return a.T @ b
    out = a[:step].T @ b[:step]
    for start in range(step, a.shape[0], step):
        out += a[start:start + step].T @ b[start:start + step]
    return out


class Conv2DTranspose(Function):
    """y = a(conv_transpose(x, w) + b): the transpose (adjoint) of a strided convolution, which
    up-samples by ``strides``.

    w has Keras's layout (KH, KW, C_out, C_in). Output size: (H - 1) * s + KH
    for "valid", H * s for "same" (the centre crop of the "valid" output). The bias and the
    activation (any of ``bias_activation.KINDS``) run in this node, as Conv2D's: one compiled pass
    each way where the kernels are on, the activation's own op on the NumPy path.
    """

    def __init__(self, strides=(1, 1), padding="valid", activation=None):
        self.strides, self.padding = strides, padding
        self.epilogue = BiasActivation(activation or "linear")

    def forward(self, x, w, b=None):
        sh, sw = self.strides
        kh, kw, f, c = w.shape
        n, h, wd, _ = x.shape
        full = (n, (h - 1) * sh + kh, (wd - 1) * sw + kw, f)
        cols = (x.reshape(-1, c) @ w.reshape(-1, c).T).reshape(n, h, wd, kh, kw, f)
        y = scatter_windows(cols, full, sh, sw, 1, 1)
        if self.padding == "same":
            oh, ow = h * sh, wd * sw
            top, left = max(full[1] - oh, 0) // 2, max(full[2] - ow, 0) // 2
            self.crop = (top, left, oh, ow)
            # a copy of the crop, not a view: the epilogue writes its output over it
            y = get_array_module(y).ascontiguousarray(y[:, top:top + oh, left:left + ow, :])
        else:
            self.crop = None
        self.x, self.w, self.full, self.has_bias = x, w, full, b is not None
        return self.epilogue.forward(y, b)

    def backward(self, gy):
        sh, sw = self.strides
        kh, kw, f, c = self.w.shape
        gy, gb = self.epilogue.backward(gy, self.has_bias and self.needs_grad(2))
        xp = get_array_module(gy)
        n, h, wd, _ = self.x.shape
        if self.crop is not None:
            top, left, oh, ow = self.crop
            gfull = xp.zeros(self.full, dtype=gy.dtype)
            gfull[:, top:top + oh, left:left + ow, :] = gy
        else:
            gfull = gy
        gcols = windows(xp.ascontiguousarray(gfull), kh, kw, sh, sw, 1, 1, h, wd).reshape(-1, kh * kw * f)
        gx = (gcols @ self.w.reshape(-1, c)).reshape(self.x.shape) if self.needs_grad(0) else None
        gw = (gcols.T @ self.x.reshape(-1, c)).reshape(self.w.shape) if self.needs_grad(1) else None
        return gx, gw, gb


class Pool2D(Function):
    """Max or average pooling over (PH, PW) windows with strides; "same" pads (max: -inf;
    average: padded cells are not counted, as in Keras)."""

    def __init__(self, pool_size, strides, padding="valid", mode="max"):
        self.pool_size, self.strides, self.padding, self.mode = pool_size, strides, padding, mode

    def forward(self, x):
        xp = get_array_module(x)
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        oh, pad_h = out_size(x.shape[1], ph, sh, 1, self.padding)
        ow, pad_w = out_size(x.shape[2], pw, sw, 1, self.padding)
        if oh < 1 or ow < 1:
            raise ValueError(f"pooling of {ph}x{pw} does not fit an input of shape {x.shape} with "
                             f"padding={self.padding!r}")
        self.x_shape, self.pads, self.dtype = x.shape, (pad_h, pad_w), x.dtype
        self.compiled = compilable(x)
        if self.compiled:
            return self._forward_compiled(np.ascontiguousarray(x), oh, ow)
        fill = -xp.inf if self.mode == "max" else 0.0
        xpad = _pad(x, (pad_h, pad_w), fill)
        self.padded_shape = xpad.shape
        win = windows(xpad, ph, pw, sh, sw, 1, 1, oh, ow)
        if self.mode == "max":  # NOTE: a loop over window offsets, each a vectorised pass
            # NOTE: masked writes (copyto/where with a random mask) measured 40x slower than arithmetic
            # here, so the offset of the maximum is kept as arg = arg * (1 - better) + k * better.
            best = win[:, :, :, 0, 0, :].copy()
            self.arg = xp.zeros(best.shape, dtype=xp.uint8 if ph * pw < 256 else xp.int32)
            better, keep = xp.empty(best.shape, dtype=bool), xp.empty_like(self.arg)
            for k in range(1, ph * pw):
                v = win[:, :, :, k // pw, k % pw, :]
                xp.greater(v, best, out=better)  # strictly: the first maximum keeps the gradient, as in PyTorch
                b = better.view(xp.uint8)
                self.arg *= xp.subtract(1, b, out=keep)
                self.arg += xp.multiply(b, k, out=keep)
                xp.maximum(best, v, out=best)  # (maximum, not the comparison, so that NaN propagates)
            return best
        total = win.sum(axis=(3, 4))
        if any(pad_h) or any(pad_w):
            ones = _pad(xp.ones((1, *x.shape[1:3], 1), dtype=x.dtype), (pad_h, pad_w))
            self.count = windows(ones, ph, pw, sh, sw, 1, 1, oh, ow).sum(axis=(3, 4))
        else:
            self.count = xp.asarray(ph * pw, dtype=x.dtype)
        return total / self.count

    def _forward_compiled(self, x, oh, ow):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        (pt, _), (pl, _) = self.pads
        y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
        if self.mode == "max":
            self.arg = np.empty(y.shape, dtype=np.int32)  # (uint8 measured 6x slower: no vectorised selects)
            conv_kernels.max_pool(x, ph, pw, sh, sw, pt, pl, y, self.arg)
        else:
            conv_kernels.avg_pool(x, ph, pw, sh, sw, pt, pl, y)
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        (pt, _), (pl, _) = self.pads
        if self.compiled:  # (gy: the forward's dtype, or float64 for a float64 loss, as NumPy would promote)
            gy = np.ascontiguousarray(gy, dtype=np.promote_types(gy.dtype, self.dtype))
            # windows that tile x: the max pooling's backward writes each cell of gx once
            tiled = (sh, sw) == (ph, pw) and self.x_shape[1:3] == (gy.shape[1] * ph, gy.shape[2] * pw)
            gx = (np.empty if tiled and self.mode == "max" else np.zeros)(self.x_shape, dtype=gy.dtype)
            if self.mode == "max":
                conv_kernels.max_pool_backward(gy, self.arg, ph, pw, sh, sw, pt, pl, tiled, gx)
            else:
                conv_kernels.avg_pool_backward(gy, ph, pw, sh, sw, pt, pl, gx)
            return gx
        if self.mode == "max":
            gpad = xp.zeros(self.padded_shape, dtype=gy.dtype)
            oh, ow = gy.shape[1:3]
            hit = xp.empty(gy.shape, dtype=bool)
            for k in range(ph * pw):
                i, j = divmod(k, pw)
                target = gpad[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
                picked = gy * xp.equal(self.arg, k, out=hit)
                if sh >= ph and sw >= pw:  # windows do not overlap: each cell is written once
                    target[...] = picked
                else:
                    target += picked
        else:
            g = gy / self.count
            cols = xp.broadcast_to(g[:, :, :, None, None, :], (*gy.shape[:3], ph, pw, gy.shape[-1]))
            gpad = scatter_windows(cols.astype(gy.dtype, copy=False), self.padded_shape, sh, sw, 1, 1)
        return gpad[:, pt:pt + self.x_shape[1], pl:pl + self.x_shape[2], :]


class UpSample2D(Function):
    """Nearest-neighbour up-sampling: each pixel repeated (sh, sw) times."""

    def __init__(self, size):
        self.size = size

    def forward(self, x):
        xp = get_array_module(x)
        sh, sw = self.size
        return xp.repeat(xp.repeat(x, sh, axis=1), sw, axis=2)

    def backward(self, gy):
        sh, sw = self.size
        n, h, w, c = gy.shape
        return gy.reshape(n, h // sh, sh, w // sw, sw, c).sum(axis=(2, 4))
