"""Export a trained model to an ONNX file that onnxruntime (or any ONNX runtime) can run.

Needs the ``onnx`` package: ``pip install 'glassnet[onnx]'`` (onnxruntime to run the file).
The graph is float32. A Sequential's file has one input ``"input"`` of shape (batch, ...) and
one output ``"output"``, the other axes fixed to the model's built input shape; a functional
model's inputs and outputs keep the model's names and its Inputs' shapes (``None`` axes stay
dynamic). The batch axis is always dynamic.
"""
try:
    import onnx
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError("glassnet.onnx needs the onnx package: pip install 'glassnet[onnx]'") from None

from ..functional_model import Functional
from ..saving import atomic_write
from ..sequential import Sequential
from . import recurrent as _recurrent  # noqa: F401 - registers the recurrent converters
from .graph import Graph
from .layers import CONVERTERS, ExportError
from .merge import MERGES
from .models import functional_graph, graph_names, sequential_graph

MIN_OPSET = 17  # LayerNormalization arrived in opset 17


def export(model, path, opset=MIN_OPSET, input_shape=None):
    """Write ``model`` as an ONNX file (inference: dropout off, batch normalization's moving statistics).

    Args:
        model: a built ``Sequential`` (fitted, called on data, or started with ``gn.Input``),
            or a functional model (``gn.Model(inputs, outputs)``).
        path: the file to write (atomically: a crash leaves the old file or the new one).
        opset: the ONNX opset version, from 17 to the newest the installed onnx knows.
            Defaults to ``17``.
        input_shape: a Sequential's sample shape, such as ``(steps, features)``. Defaults to
            ``None``: the shape the model was built with.

    Returns:
        The ``onnx.ModelProto`` that was written (checked with ``onnx.checker``).

    Raises:
        TypeError: ``model`` is not a model glassnet can export.
        ValueError: ``opset`` or ``input_shape`` is invalid, the model is not built, or a layer
            has no ONNX form (an ``ExportError``, whose message names the layer).

    >>> import glassnet as gn, numpy as np, onnxruntime, tempfile, os
    >>> model = gn.Sequential([gn.nn.Dense(3, activation="softmax", input_dim=4)], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> _ = export(model, path)
    >>> x = np.ones((2, 4), dtype=np.float32)
    >>> y = onnxruntime.InferenceSession(path).run(None, {"input": x})[0]
    >>> bool(np.allclose(y, model.predict(x), atol=1e-6))
    True
    """
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"`opset` must be an integer from {MIN_OPSET} to {newest}. Received: opset={opset!r}")
    if not isinstance(model, (Sequential, Functional)):
        raise TypeError(f"export takes a Sequential or functional model. Received: model of type "
                        f"{type(model).__name__}")
    if not model.built:
        raise ValueError("export needs a built model: fit it, call predict on data, or start it with "
                         "gn.Input(shape)")
    g = Graph(opset, reserved=graph_names(model))
    if isinstance(model, Functional):
        if input_shape is not None:
            raise ValueError("input_shape is for Sequential models; a functional model's Input shapes set its "
                             f"inputs. Received: input_shape={input_shape!r}")
        inputs, outputs = functional_graph(g, model)
    else:
        if input_shape is None:
            input_shape = model._input_shape
        elif not all(isinstance(n, int) and n > 0 for n in input_shape):
            raise ValueError(f"`input_shape` must be positive integers (one sample, no batch axis). "
                             f"Received: input_shape={input_shape!r}")
        inputs, outputs = sequential_graph(g, model, tuple(input_shape))
    proto = g.to_proto(inputs, outputs, name=model.name or "glassnet")
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(path, proto.SerializeToString())
    return proto


__all__ = ["export", "ExportError", "CONVERTERS", "MERGES", "MIN_OPSET"]
