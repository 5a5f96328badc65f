"""Ops that move values around without changing them."""
import numpy as np

from ..backend import get_array_module, scatter_add
from ..tensor import Tensor
from . import gather_kernels
from .bias_activation import compilable
from .function import Function


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {tuple(self.shape)}"
            ) from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        axes = tuple(reversed(range(x.ndim))) if self.axes is None else tuple(self.axes)
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"transpose axes {axes} are not a permutation of the {x.ndim} axes "
                             f"of a tensor of shape {x.shape}")
        self.axes = axes
        return x.transpose(axes)

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy.transpose(tuple(xp.argsort(xp.asarray([a % gy.ndim for a in self.axes]))))


def _basic_index(index):
    """True when ``index`` uses only ints, slices, None and Ellipsis."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Function):
    def __init__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        self.index = index

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as err:
            raise IndexError(f"index {self.index!r} is invalid for a tensor of shape {x.shape}: {err}") from None

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _basic_index(self.index):
            gx[self.index] = gy
        elif _row_gather(self.index) and gy.size and compilable(gx):  # x[ids]: a compiled np.add.at
            ids = self.index.reshape(-1)
            gather_kernels.scatter_add_rows(gx.reshape(len(gx), -1), ids,
                                            np.ascontiguousarray(gy).reshape(len(ids), -1))
        else:
            scatter_add(gx, self.index, gy)  # repeated indices must add up
        return gx


def _row_gather(index):
    """True when ``index`` is one NumPy integer array: ``x[index]`` gathers rows of x."""
    return type(index) is np.ndarray and index.dtype.kind in "iu"


class Concatenate(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(*xs)
        self.sizes = [x.shape[self.axis] for x in xs]
        try:
            return xp.concatenate(xs, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"concatenate along axis {self.axis} needs equal shapes elsewhere, "
                             f"got {shapes}") from None

    def backward(self, gy):
        xp = get_array_module(gy)
        cuts = xp.cumsum(xp.asarray(self.sizes))[:-1].tolist()
        return tuple(xp.split(gy, cuts, axis=self.axis))


class Stack(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(*xs)
        shapes = {x.shape for x in xs}
        if len(shapes) > 1:
            raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
        return xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        return tuple(xp.moveaxis(gy, self.axis, 0))


class Pad(Function):
    def __init__(self, pad_width, value=0.0):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        xp = get_array_module(x)
        width = xp.broadcast_to(xp.asarray(self.pad_width, dtype=int), (x.ndim, 2))
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(width.tolist(), x.shape))
        return xp.pad(x, width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        return gy[self.slices]
