"""Functional models: a graph of layers from ``glassnet.Input`` to the outputs (Keras's
functional API). Several inputs and outputs, branches, skip connections and shared layers.

``Model(inputs, outputs)`` makes a :class:`Functional`; it trains with the loop every
``Model`` shares. Arrays for several inputs or outputs come as lists (in order) or dicts
keyed by the input and output names.
"""
import copy

import numpy as np

from . import metrics as metrics_lib
from .data_checks import as_features, as_targets
from .model import Model
from .nn import losses as losses_lib
from .nn.input_layer import InputLayer
from .nn.module import evaluating
from .nn.symbolic import SymbolicTensor, is_symbolic
from .random import make_rng
from .summary import layer_names, snake_case, summary_table
from .tensor import Tensor, no_grad


class Functional(Model, functional=True):
    """A model drawn by calling layers on symbolic tensors.

    Args:
        inputs: a symbolic tensor from ``glassnet.Input``, or a list of them.
        outputs: a symbolic tensor computed from the inputs, or a list of them.
        name: Defaults to ``None``.
        seed: seeds every layer's initial weights and dropout masks that has no seed
            of its own (the weights are drawn again), and the shuffling in ``fit``.
            Defaults to ``None``.

    Raises:
        TypeError: inputs or outputs are not symbolic tensors.
        ValueError: an output does not depend on the given inputs (the message names
            the model's inputs and the missing one), or two inputs share a name.

    >>> import glassnet as gn
    >>> a, b = gn.Input((4,), name="a"), gn.Input((4,), name="b")
    >>> h = gn.layers.Dense(8, activation="relu")(gn.layers.Concatenate()([a, b]))
    >>> model = gn.Model([a, b], [gn.layers.Dense(1, name="y")(h), gn.layers.Add()([a, b])], seed=0)
    >>> [o.shape for o in model.predict({"a": np.ones((2, 4)), "b": np.ones((2, 4))})]
    [(2, 1), (2, 4)]
    """

    def __init__(self, inputs, outputs, name=None, seed=None):
        super().__init__(name, seed)
        self.output_keys = list(outputs) if isinstance(outputs, dict) else None  # Keras 3's dict of outputs
        outputs = list(outputs.values()) if isinstance(outputs, dict) else outputs
        self._single_input, self._single_output = not isinstance(inputs, (list, tuple)), \
            not isinstance(outputs, (list, tuple))
        self.inputs = [inputs] if self._single_input else list(inputs)
        self.outputs = [outputs] if self._single_output else list(outputs)
        for what, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
                raise TypeError(f"Model {what} must be symbolic tensors (from glassnet.Input and layers called on "
                                f"it); received {what}={tensors!r}")
        if not all(isinstance(t.layer, InputLayer) for t in self.inputs):
            raise ValueError("Model inputs must come from glassnet.Input(...); received "
                             f"{[repr(t) for t in self.inputs if not isinstance(t.layer, InputLayer)]}")
        self.nodes = self._sorted_nodes()
        self.layers = list(dict.fromkeys(node.layer for node in self.nodes))
        self._name_layers()
        self.input_names = [t.layer.name for t in self.inputs]
        if len(set(self.input_names)) < len(self.input_names):
            raise ValueError(f"Model inputs need distinct names; received {self.input_names}")
        self.output_names = self.output_keys or _unique([t.layer.name for t in self.outputs])
        self.built = True
        if seed is not None:
            self._reseed(make_rng(seed))

    # -- the graph ----------------------------------------------------------------------
    def _sorted_nodes(self):
        """Every node from the inputs to the outputs, each after the nodes it reads."""
        order, state = [], {}
        given = {id(t.node) for t in self.inputs}
        for out in self.outputs:
            stack = [(out.node, False)]
            while stack:
                node, done = stack.pop()
                if done:
                    state[id(node)] = "done"
                    order.append(node)
                    continue
                if state.get(id(node)):
                    continue
                if isinstance(node.layer, InputLayer) and id(node) not in given:
                    names = [t.layer.name for t in self.inputs]
                    raise ValueError(f"Model outputs depend on the input {node.layer.name or '(unnamed)'!r}, which is "
                                     f"not among the model's inputs {names}: pass it in inputs=")
                state[id(node)] = "open"
                stack.append((node, True))
                stack.extend((t.node, False) for t in reversed(node.inputs) if not state.get(id(t.node)))
        return order

    def _name_layers(self):
        """Keras's names for unnamed layers: ``dense``, ``dense_1``, ... (counted per model)."""
        names = layer_names(self.layers, lambda layer: "input_layer" if isinstance(layer, InputLayer)
                            else snake_case(type(layer).__name__))
        for layer, name in zip(self.layers, names):
            layer.name = name

    def _reseed(self, rng):
        """Give every unseeded layer (wrapped ones included) a seed and draw its weights again."""
        for layer in self.modules():
            if layer is not self and getattr(layer, "seed", 0) is None:
                layer.seed = int(rng.integers(2**63))
                if layer.built and not isinstance(layer, InputLayer):
                    layer.built = False
        probe = [Tensor(np.zeros((1, *(1 if d is None else d for d in t.shape[1:])), dtype=t.dtype), dtype=t.dtype)
                 for t in self.inputs]
        with evaluating(), no_grad():
            self.forward(probe)  # unbuilt layers build again, now seeded

    def forward(self, inputs):
        """Run the graph on one tensor per input (a tensor, a list, or a dict by input name)."""
        values, masks = {}, {}
        for t, x in zip(self.inputs, self._as_list(inputs, self.input_names, "inputs")):
            values[id(t)] = x if isinstance(x, Tensor) else Tensor(np.asarray(x), dtype=t.dtype)
        for node in self.nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = [values[id(t)] for t in node.inputs]
            mask = None if node.multi else masks.get(id(node.inputs[0]))
            kwargs = dict(node.kwargs)
            if mask is not None and getattr(node.layer, "supports_masking", False):
                kwargs["mask"] = mask
            out = node.layer(args if node.multi else args[0], **kwargs)
            outs = out if isinstance(out, list) else [out]
            compute_mask = getattr(node.layer, "compute_mask", None)
            for t, y in zip(node.outputs, outs):
                values[id(t)] = y
                if compute_mask is not None and not node.multi:
                    masks[id(t)] = compute_mask(args[0], mask)
        results = [values[id(t)] for t in self.outputs]
        return results[0] if self._single_output else results

    def infer(self, x):
        with evaluating(), no_grad():
            out = self.forward(x)
        return [o.data for o in out] if isinstance(out, list) else out.data

    def predict(self, x, batch_size=32, verbose=0):
        """The outputs for ``x``: an array, a list in output order, or a dict when the
        model's outputs were given as a dict (as Keras 3 returns them)."""
        out = super().predict(x, batch_size, verbose)
        return dict(zip(self.output_keys, out)) if self.output_keys else out

    def build(self, input_shape=None):
        """A functional model is built when it is made; nothing to do."""
        self.built = True

    def _as_list(self, data, names, what):
        """One item per name from a single item, a list or a dict keyed by the names."""
        if isinstance(data, dict):
            unknown = [k for k in data if k not in names]
            if unknown:
                singular = what[:-1] if what.endswith("s") else what
                raise ValueError(f"{what} dict keys {unknown} match no model {singular}"
                                 f"; the valid names are {names}")
            missing = [k for k in names if k not in data]
            if missing:
                raise ValueError(f"{what} dict lacks {missing}; the valid names are {names}")
            return [data[k] for k in names]
        items = list(data) if isinstance(data, (list, tuple)) and not is_symbolic(data) else [data]
        if len(names) == 1 and len(items) != 1:
            items = [data]  # one input given as a list of samples
        if len(items) != len(names):
            raise ValueError(f"the model has {len(names)} {what} {names}; received {len(items)} arrays")
        return items

    # -- data for the shared training loop ----------------------------------------------
    def _input_data(self, x, name="x"):
        items = self._as_list(x, self.input_names, "inputs")
        arrays = [as_features(a, f"{name} {n!r}", t.dtype if t.dtype.kind == "f" else self.dtype)
                  for a, n, t in zip(items, self.input_names, self.inputs)]
        if len({len(a) for a in arrays}) > 1:
            raise ValueError(f"every input needs the same number of samples; received "
                             f"{dict(zip(self.input_names, (len(a) for a in arrays)))}")
        return arrays[0] if self._single_input else arrays

    def _target_data(self, y, n, name="y"):
        if self._single_output:
            y = self._as_list(y, self.output_names, "outputs")[0] if isinstance(y, dict) else y
            return as_targets(y, n, name)
        items = self._as_list(y, self.output_names, "outputs")
        return [as_targets(a, n, f"{name} {k!r}") for a, k in zip(items, self.output_names)]

    # -- several outputs: a loss, metrics and a weight each ------------------------------
    def _compile_loss(self, loss, metrics, loss_weights):
        if self._single_output:
            loss = self._per_output(loss, "loss")[0] if isinstance(loss, (dict, list, tuple)) else loss
            metrics = self._per_output(metrics, "metrics")[0] if isinstance(metrics, dict) else metrics
            if loss_weights is not None:
                weights = self._per_output(loss_weights, "loss_weights")
                if weights[0] != 1:
                    raise ValueError(f"loss_weights of a model with one output must be 1; received {loss_weights!r}")
            return super()._compile_loss(loss, metrics, None)
        self.loss = [losses_lib.get(entry) for entry in self._per_output(loss, "loss")]
        self.loss_weights = [float(w) for w in self._per_output(1.0 if loss_weights is None else loss_weights,
                                                                 "loss_weights")]
        self.metrics = [OutputLoss(loss, f"{name}_loss", i) for i, (loss, name) in
                        enumerate(zip(self.loss, self.output_names))]
        self.metric_names = {}
        for i, (name, entries) in enumerate(zip(self.output_names, self._metrics_per_output(metrics))):
            entries = [] if entries is None else list(entries) if isinstance(entries, (list, tuple)) else [entries]
            self.metric_names[name] = [e if isinstance(e, str) else metrics_lib.get(e).name for e in entries]
            for entry in entries:
                metric = copy.deepcopy(metrics_lib.get(entry))
                metric.name, metric.output_index = f"{name}_{metric.name}", i
                self.metrics.append(metric)

    def _metrics_per_output(self, metrics):
        """A dict by output name, a list of lists (one per output), or one list for every output."""
        if metrics is None:
            return [[]] * len(self.outputs)
        if isinstance(metrics, dict):
            return self._per_output(metrics, "metrics")
        metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        if metrics and all(m is None or isinstance(m, (list, tuple)) for m in metrics):
            return self._per_output(metrics, "metrics")
        return [metrics] * len(self.outputs)

    def _per_output(self, value, what):
        """One entry per output from one value (for every output), a list, or a dict by output name."""
        if isinstance(value, dict):
            unknown = [k for k in value if k not in self.output_names]
            if unknown:
                raise ValueError(f"{what} dict keys {unknown} match no model output; the valid names are "
                                 f"{self.output_names}")
            return [value.get(k) for k in self.output_names]
        if isinstance(value, (list, tuple)):
            if len(value) != len(self.outputs):
                raise ValueError(f"{what} needs one entry per output {self.output_names}; received {len(value)}")
            return list(value)
        return [value] * len(self.outputs)

    def _prepare_targets(self, y, out):
        if self._single_output:
            return super()._prepare_targets(y, out)
        if not all(isinstance(loss, losses_lib.Loss) for loss in self.loss):
            return None
        return [loss.prepare_target(t, Tensor(np.zeros((len(t), *o.shape[1:]), dtype=o.dtype)))
                for loss, t, o in zip(self.loss, y, out)]

    def _training_loss(self, y, output, sample_weight, prepared=False):
        if self._single_output:
            return super()._training_loss(y, output, sample_weight, prepared)
        total = None
        for loss, weight, t, o in zip(self.loss, self.loss_weights, y, output):
            value = loss.compute(t, o, sample_weight) if prepared else loss(t, o, sample_weight=sample_weight)
            value = value * weight if weight != 1 else value
            total = value if total is None else total + value
        return total

    def _update_metrics(self, metrics, y, output, sample_weight):
        if self._single_output:
            return super()._update_metrics(metrics, y, output, sample_weight)
        for m in metrics:
            m.update_state(y[m.output_index], output[m.output_index].data, sample_weight)
        return None

    # -- display and saving ------------------------------------------------------------
    @property
    def input_shape(self):
        """Keras's: the input's shape, batch axis None (a list of shapes for several inputs)."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if self._single_input else shapes

    @property
    def output_shape(self):
        """Keras's: the output's shape, batch axis None (a list of shapes for several outputs)."""
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if self._single_output else shapes

    def summary(self, print_fn=print):
        """Print a table of the layers with their output shapes, parameter counts and the
        layers each one reads ("Connected to"), then the parameter totals.

        Returns:
            The table as a string.
        """
        rows, calls = [], {}
        for node in self.nodes:  # a shared layer's calls are numbered: name[call][output]
            calls[id(node)] = calls.setdefault(id(node.layer), -1) + 1
            calls[id(node.layer)] = calls[id(node)]
        for node in self.nodes:
            layer = node.layer
            shapes = [t.shape for t in node.outputs]
            connected = ", ".join(f"{t.layer.name}[{calls[id(t.node)]}][{t.index}]" for t in node.inputs) or "-"
            rows.append((f"{layer.name} ({type(layer).__name__})", str(shapes[0] if len(shapes) == 1 else shapes),
                         f"{layer.count_params():,}", connected))
        return summary_table(self, "functional", ("Layer (type)", "Output Shape", "Param #", "Connected to"), rows,
                             print_fn)

    def get_config(self):
        """The layers, the calls between them and the inputs and outputs, JSON-ready."""
        from .nn.layers import LAYERS  # noqa: PLC0415

        for layer in self.layers:
            if LAYERS.name_of(layer) is None:
                raise ValueError(f"{type(layer).__name__} is not a registered layer and cannot be saved")
        node_index = {id(node): i for i, node in enumerate(self.nodes)}
        layer_index = {id(layer): i for i, layer in enumerate(self.layers)}

        def ref(t):
            return [node_index[id(t.node)], t.index]

        return {"name": self.name,
                "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
                "nodes": [{"layer": layer_index[id(n.layer)], "inputs": [ref(t) for t in n.inputs], "multi": n.multi,
                           "kwargs": n.kwargs} for n in self.nodes],
                "inputs": [ref(t) for t in self.inputs], "outputs": [ref(t) for t in self.outputs],
                "single_input": self._single_input, "single_output": self._single_output,
                "output_keys": self.output_keys}

    @classmethod
    def from_config(cls, config, layers):
        """Rebuild the graph from :meth:`get_config`, given its layers (already made)."""
        produced = []
        for spec in config["nodes"]:
            layer = layers[spec["layer"]]
            if isinstance(layer, InputLayer):
                produced.append([layer.output])
                continue
            args = [produced[i][k] for i, k in spec["inputs"]]
            out = layer(args if spec["multi"] else args[0], **spec["kwargs"])
            produced.append(out if isinstance(out, list) else [out])
        inputs = [produced[i][k] for i, k in config["inputs"]]
        outputs = [produced[i][k] for i, k in config["outputs"]]
        if config.get("output_keys"):
            outputs = dict(zip(config["output_keys"], outputs))
        return cls(inputs[0] if config["single_input"] else inputs,
                   outputs[0] if config["single_output"] else outputs, name=config.get("name"))


class OutputLoss(metrics_lib.Metric):
    """One output's loss as a logged quantity (Keras's ``digit_loss`` beside the total ``loss``):
    the mean over the epoch's batches, weighted by their sizes."""

    def __init__(self, loss, name, output_index):
        self.loss, self.output_index = loss, output_index
        super().__init__(name)

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        with no_grad():
            value = self.loss(y_true, Tensor(y_pred), sample_weight=sample_weight)
        self.total += float(value.data) * len(y_pred)
        self.count += len(y_pred)

    def result(self):
        return self.total / self.count if self.count else 0.0


def _unique(names):
    seen, out = {}, []
    for name in names:
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append(name if k == 0 else f"{name}_{k}")
    return out
