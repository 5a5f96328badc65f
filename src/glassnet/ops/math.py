"""Element-wise arithmetic, matmul and reductions."""
from ..backend import get_array_module
from .function import Function, binary_operands, unbroadcast


# -- element-wise binary ------------------------------------------------------
class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(-gy, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy * b, a.shape) if self.needs_grad(0) else None
        gb = unbroadcast(gy * a, b.shape) if self.needs_grad(1) else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy / b, a.shape) if self.needs_grad(0) else None
        gb = unbroadcast(-gy * a / (b * b), b.shape) if self.needs_grad(1) else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        xp = get_array_module(a)
        ga = unbroadcast(gy * b * a ** (b - 1), a.shape) if self.needs_grad(0) else None
        gb = None
        if self.needs_grad(1):
            safe = xp.where(a > 0, a, 1)  # d(a**b)/db = a**b log a, defined for a > 0
            gb = unbroadcast(gy * self.y * xp.log(safe), b.shape)
        return ga, gb


class Maximum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        # NOTE: ties split the gradient evenly, as PyTorch does.
        wa = ((a > b) + gy.dtype.type(0.5) * (a == b)).astype(gy.dtype, copy=False)
        return unbroadcast(gy * wa, a.shape), unbroadcast(gy * (1 - wa), b.shape)


class Where(Function):
    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return get_array_module(a).where(self.condition, a, b)

    def backward(self, gy):
        c = self.condition
        return unbroadcast(gy * c, self.shapes[0]), unbroadcast(gy * ~c, self.shapes[1])


# -- element-wise unary -------------------------------------------------------
class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Exp(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, gy):
        return gy * get_array_module(gy).sign(self.x)


class Cast(Function):
    """The same values in another floating dtype; the gradient goes back in the input's dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.in_dtype)


class Clip(Function):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        self.x = x
        return get_array_module(x).clip(x, self.low, self.high)

    def backward(self, gy):
        x, inside = self.x, True
        if self.low is not None:
            inside = inside & (x >= self.low)
        if self.high is not None:
            inside = inside & (x <= self.high)
        return gy * inside


# -- linear algebra -----------------------------------------------------------
class MatMul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        xp = get_array_module(a)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # NOTE: 1-D operands were promoted to matrices; put their axes back in gy.
        gy = gy.reshape(xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_grad(0):
            ga = unbroadcast(gy @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad(1):
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb


# -- reductions ---------------------------------------------------------------
def _normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(ax % max(ndim, 1) for ax in axes))


def _expand_reduced(g, shape, axes):
    """Put back the reduced axes of ``g`` as size-1 axes, then broadcast."""
    if len(axes) == len(shape):  # a full reduction: the common case of a loss
        return get_array_module(g).full(shape, g, dtype=g.dtype)
    keep = list(shape)
    for ax in axes:
        keep[ax] = 1
    return get_array_module(g).broadcast_to(g.reshape(keep), shape)


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        self.axes = _normalize_axis(self.axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return _expand_reduced(gy, self.shape, self.axes)


class Mean(Sum):
    def forward(self, x):
        y = super().forward(x)
        n = 1
        for ax in self.axes:
            n *= x.shape[ax]
        self.n = n
        return y / x.dtype.type(n) if n else y

    def backward(self, gy):
        return super().backward(gy / gy.dtype.type(self.n))


class Max(Function):
    """max (``mode='max'``) or min over axes; ties share the gradient evenly."""

    def __init__(self, axis=None, keepdims=False, mode="max"):
        self.axis, self.keepdims, self.mode = axis, keepdims, mode

    def forward(self, x):
        self.x = x
        self.axes = _normalize_axis(self.axis, x.ndim)
        reduce = x.max if self.mode == "max" else x.min
        if x.size == 0:
            raise ValueError(f"{self.mode}() of an empty tensor of shape {x.shape}")
        self.y = reduce(axis=self.axes, keepdims=True)
        return self.y if self.keepdims else self.y.reshape(
            [n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        mask = self.x == self.y
        count = mask.sum(axis=self.axes, keepdims=True)
        return _expand_reduced(gy, self.x.shape, self.axes) * mask / count.astype(gy.dtype)


def add(a, b):
    return Add()(*binary_operands(a, b))


def sub(a, b):
    return Sub()(*binary_operands(a, b))


def mul(a, b):
    return Mul()(*binary_operands(a, b))


def div(a, b):
    return Div()(*binary_operands(a, b))
