"""The merge layers of functional models: ``fn(g, layer, xs)`` for the input Values ``xs``
returns the output's name. Each folds its inputs left to right, as glassnet does."""
from ..nn import merge
from .layers import converts

MERGES = {}  # merge layer class -> converter


def _fold(g, op_type, xs):
    out = xs[0].name
    for x in xs[1:]:
        out = g.op(op_type, out, x.name)
    return out


@converts(merge.Add, table=MERGES)
def _add(g, layer, xs):
    return _fold(g, "Add", xs)


@converts(merge.Subtract, table=MERGES)
def _subtract(g, layer, xs):
    return g.op("Sub", xs[0].name, xs[1].name)


@converts(merge.Multiply, table=MERGES)
def _multiply(g, layer, xs):
    return _fold(g, "Mul", xs)


@converts(merge.Average, table=MERGES)
def _average(g, layer, xs):
    return g.op("Mul", _fold(g, "Add", xs), g.const(1.0 / len(xs)))


@converts(merge.Maximum, table=MERGES)
def _maximum(g, layer, xs):
    return _fold(g, "Max", xs)


@converts(merge.Minimum, table=MERGES)
def _minimum(g, layer, xs):
    return _fold(g, "Min", xs)


@converts(merge.Concatenate, table=MERGES)
def _concatenate(g, layer, xs):
    return g.op("Concat", *(x.name for x in xs), axis=layer.axis % len(xs[0].shape))


def _l2_normalize(g, x, axis):
    """x / sqrt(max(sum(x^2), 1e-12)) along ``axis``."""
    squares = g.reduce("ReduceSum", g.op("Mul", x, x), [axis], keepdims=True)
    return g.op("Div", x, g.op("Sqrt", g.op("Max", squares, g.const(1e-12))))


@converts(merge.Dot, table=MERGES)
def _dot(g, layer, xs):
    rank = len(xs[0].shape)
    ax, ay = (a % rank for a in layer.axes)
    x, y = xs[0].name, xs[1].name
    if layer.normalize:
        x, y = _l2_normalize(g, x, ax), _l2_normalize(g, y, ay)
    if rank == 2:
        return g.reduce("ReduceSum", g.op("Mul", x, y), [1], keepdims=True)
    x = x if ax == 2 else g.op("Transpose", x, perm=[0, 2, 1])  # (batch, m, n)
    y = y if ay == 1 else g.op("Transpose", y, perm=[0, 2, 1])  # (batch, n, k)
    return g.op("MatMul", x, y)
