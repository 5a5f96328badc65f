"""A small builder over ``onnx.helper``: named nodes, constant weights, one opset.

The converters in :mod:`glassnet.onnx.layers` and :mod:`glassnet.onnx.recurrent` add nodes
through it and never touch protobuf themselves.
"""
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

FLOAT, INT64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64


@dataclass(frozen=True)
class Value:
    """A tensor of the graph being built: its name and its shape, ``None`` for the batch axis."""

    name: str
    shape: tuple


class Graph:
    """Nodes and initializers of one ONNX graph for one opset (float32 tensors).

    Args:
        opset: the default domain's opset version.
    """

    def __init__(self, opset, reserved=()):
        self.opset = opset
        self.nodes, self.initializers = [], []
        self._count, self._taken = {}, set(reserved)  # reserved: the graph's input and output names

    def fresh(self, hint):
        """A name used nowhere else in the graph."""
        while True:
            self._count[hint] = self._count.get(hint, -1) + 1
            name = f"{hint}_{self._count[hint]}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def const(self, array, hint="const", dtype=np.float32):
        """A constant tensor (weights, shapes, axes) as an initializer; returns its name."""
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def ints(self, values, hint="ints"):
        """An int64 constant (shapes, axes, slice bounds)."""
        return self.const(np.asarray(values, dtype=np.int64), hint, np.int64)

    def op(self, op_type, *inputs, outputs=1, output_names=None, **attributes):
        """Add one node; returns its output name (or a list of names when ``outputs`` > 1).
        An input given as ``None`` is an omitted optional input."""
        names = output_names or [self.fresh(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, ["" if i is None else i for i in inputs], names,
                                           name=self.fresh(f"node_{op_type}"), **attributes))
        return names[0] if outputs == 1 else names

    # -- helpers whose form changed between opsets ------------------------------------------
    def reduce(self, op_type, x, axes, keepdims=False):
        """ReduceMax, ReduceMean, ...: ``axes`` became an input in opset 18 (ReduceSum in 13)."""
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.ints(axes, "axes"), keepdims=int(keepdims))
        return self.op(op_type, x, axes=list(axes), keepdims=int(keepdims))

    def slice(self, x, axis, start, end, step=1):
        """x[start:end:step] along ``axis``."""
        return self.op("Slice", x, self.ints([start]), self.ints([end]), self.ints([axis]), self.ints([step]))

    def reverse(self, x, axis):
        """x reversed along ``axis`` (a slice with step -1)."""
        return self.slice(x, axis, -1, -2**63, -1)

    def to_proto(self, inputs, outputs, name="glassnet"):
        """The whole ModelProto: ``inputs`` and ``outputs`` are Values (float32); a ``None``
        in a shape is a dynamic axis (``batch`` for the first, ``<name>_<axis>`` for the others)."""
        def info(value):
            dims = ["batch" if i == 0 else f"{value.name}_{i}" if d is None else d for i, d in enumerate(value.shape)]
            return helper.make_tensor_value_info(value.name, FLOAT, dims)

        graph = helper.make_graph(self.nodes, name, [info(v) for v in inputs], [info(v) for v in outputs],
                                  initializer=self.initializers)
        opset_ids = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(graph, opset_imports=opset_ids, producer_name="glassnet")
        # NOTE: the oldest IR version that carries this opset, so that older runtimes load the file
        model.ir_version = helper.find_min_ir_version_for(opset_ids)
        return model
