"""Walk a model's layers in the order it runs them, adding each layer's nodes to the graph.

Each walker returns the graph's input and output Values. Masks travel as glassnet's do: a layer
with ``compute_mask`` hands the next layer a mask, which only layers that support masking read.
"""
from ..functional_model import Functional
from ..nn.input_layer import InputLayer
from .graph import Value
from .layers import ExportError, convert, describe
from .merge import MERGES


def sequential_graph(g, model, input_shape):
    """A Sequential: one input ``"input"``, one output ``"output"``."""
    x, mask = Value("input", (None, *input_shape)), None
    inputs = [x]
    for layer in model.layers:
        x, mask = convert(g, layer, x, mask)
    return inputs, [_named_output(g, x, "output")]


def functional_graph(g, model):
    """A functional model: its inputs and outputs keep the model's input and output names."""
    values, masks = {}, {}
    inputs = [Value(name, t.shape) for name, t in zip(model.input_names, model.inputs)]
    for t, value in zip(model.inputs, inputs):
        values[id(t)] = value
    for node in model.nodes:
        if isinstance(node.layer, InputLayer):
            continue
        if node.kwargs:
            raise ExportError(f"{describe(node.layer)} is called with {sorted(node.kwargs)}, which the ONNX export "
                              "does not take")
        args = [values[id(t)] for t in node.inputs]
        if node.multi:
            fn = MERGES.get(type(node.layer))
            if fn is None:
                raise ExportError(f"{describe(node.layer)} cannot be exported to ONNX: no converter for a layer "
                                  f"called on a list of tensors")
            y, mask = Value(fn(g, node.layer, args), node.outputs[0].shape), None
        else:
            y, mask = convert(g, node.layer, args[0], masks.get(id(node.inputs[0])))
            y = Value(y.name, node.outputs[0].shape)
        values[id(node.outputs[0])], masks[id(node.outputs[0])] = y, mask
    outputs = [_named_output(g, values[id(t)], name) for t, name in zip(model.outputs, model.output_names)]
    return inputs, outputs


def _named_output(g, value, name):
    g.op("Identity", value.name, output_names=[name])
    return Value(name, value.shape)


def graph_names(model):
    """The names the graph's inputs and outputs take (no node may take them)."""
    if isinstance(model, Functional):
        return [*model.input_names, *model.output_names]
    return ["input", "output"]

