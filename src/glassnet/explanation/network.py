"""One training step of any Sequential, layer by layer at one chosen place.

The sample goes through the model once with autograd, each layer's input cut into a leaf so that
the gradient reaching every layer is known (``Step``); then each layer is explained by its own
rule (``layers``, ``recurrent``, and here Dense at one neuron, softmax included). The model is
left as it was: its gradients, moving statistics and dropout generators are restored.
"""
import numpy as np

from ..nn import activations, conv, layers as core, normalization, recurrent as rnn
from ..nn import losses as losses_lib
from ..tensor import Tensor
from .layers import (Step, explain_conv, explain_dropout, explain_embedding, explain_norm, explain_pool, heading,
                     terms)
from .outputs import loss_for, loss_lines, output_delta, target_row
from .recurrent import explain_recurrent
from .render import Explanation, Line


def _run(model, x, loss_fn, t, dropout_seed, digits, eta):
    """Forward and backward with every layer's input a leaf: one Step per layer, and the loss."""
    layers = list(model.layers)
    params = list(model.parameters())
    saved_grads = [p.grad for p in params]
    saved_buffers = [(b, b.data.copy()) for _, b in model.named_buffers()]
    saved_rngs = [(layer, layer.rng) for layer in layers if isinstance(layer, core.Dropout)]
    try:
        for p in params:
            p.grad = None
        for k, (layer, _) in enumerate(saved_rngs):
            layer.rng = np.random.default_rng(dropout_seed + k)
        ids = isinstance(layers[0], rnn.Embedding)
        h = Tensor(np.asarray(x)[None]) if ids else Tensor(np.asarray(x, dtype=np.float64)[None].astype(
            layers[0].dtype), requires_grad=True)
        ins, outs = [], []
        for layer in layers:
            ins.append(h)
            out = layer(h)
            outs.append(out)
            h = Tensor(out.data.copy(), requires_grad=True)
        last = activations.name_of(getattr(layers[-1], "activation", None)) or "linear"
        target = np.array([int(np.argmax(t))]) if isinstance(loss_fn, losses_lib.SparseCategoricalCrossentropy) \
            else t[None, :].astype(h.dtype)
        loss = loss_fn(target, h)
        loss.backward()
        grads = [h.grad]
        for k in reversed(range(len(layers))):
            outs[k].backward(grads[0])
            grads.insert(0, ins[k].grad)
        masks = {}
        for k, (layer, _) in enumerate(saved_rngs):  # the same first draw as the layer's fresh generator
            shape, dtype = ins[layers.index(layer)].shape, ins[layers.index(layer)].dtype
            masks[id(layer)] = np.random.default_rng(dropout_seed + k).random(shape, dtype=dtype)[0] >= layer.rate
        steps = []
        for k, layer in enumerate(layers):
            gx = None if grads[k] is None else grads[k][0].astype(np.float64)
            steps.append(Step(k + 1, layer, np.asarray(ins[k].data[0], dtype=np.float64), outs[k].data[0].astype(
                np.float64), grads[k + 1][0].astype(np.float64), gx,
                {name: p.grad.astype(np.float64) for name, p in layer.named_parameters() if p.grad is not None},
                digits, eta, masks.get(id(layer))))
        return steps, float(loss.data), last
    finally:
        for p, g in zip(params, saved_grads):
            p.grad = g
        for b, data in saved_buffers:
            b.data[...] = data
        for layer, rng in saved_rngs:
            layer.rng = rng


def explain_network(model, x, y, learning_rate=0.1, digits=6, position=None, step=None, neurons=None,
                    dropout_seed=0):
    """Explain one training step of ``model`` on one sample, every layer at one place (see ``explain``)."""
    layers = list(getattr(model, "layers", None) or [])
    if not layers:
        raise ValueError("explain needs a Sequential model with layers")
    if any(getattr(layer, "kernel", 0) is None or getattr(layer, "embeddings", 0) is None for layer in layers):
        raise ValueError("the model is not built yet: call it on data or fit it first")
    last = activations.name_of(getattr(layers[-1], "activation", None)) or "linear"
    out_units = getattr(layers[-1], "units", None)
    if out_units is None:
        raise ValueError("explain needs a Dense layer last (the outputs the loss compares with y)")
    shape = getattr(model, "_input_shape", None)
    x = np.asarray(x)
    if shape and None not in shape and x.shape != tuple(shape):  # (a size left open takes any length)
        if x.size != int(np.prod(shape)):
            raise ValueError(f"explain expects one sample of shape {tuple(shape)} (no batch axis); "
                             f"received shape {x.shape}")
        x = x.reshape(shape)  # a flat sample, as the command line gives it
    loss_fn = loss_for(model, last)
    t = target_row(y, out_units)
    steps, loss, _ = _run(model, x, loss_fn, t, dropout_seed, digits, learning_rate)
    forward, backward, update = [], [], []
    for s in steps:
        chosen = _position_for(position, s)
        lines = _explain_layer(s, chosen, step, (neurons or {}).get(s.number), s is steps[-1], loss_fn, t)
        forward += [line for line in lines if line.section == "forward"]
        back = [line for line in lines if line.section == "backward"]
        if back:
            backward = [Line("backward", text=("layer", {"n": s.number, "kind": type(s.layer).__name__}),
                             heading=True)] + back + backward
        update += [line for line in lines if line.section == "update"]
    out = steps[-1].y
    loss_part = loss_lines(loss_fn, out, [str(k) for k in range(out.size)], t, digits, first=0)
    lines = forward + loss_part + backward + update
    for line in lines:
        if line.key == ("loss",):
            line.value = loss  # the library's own loss, as autograd computed it
    notes = [("note.dropout", {"seed": dropout_seed})] if any(isinstance(s.layer, core.Dropout) for s in steps) \
        else []
    name = getattr(model, "name", None) or " -> ".join(type(layer).__name__ for layer in layers)
    return Explanation(lines, learning_rate, name, notes, digits=digits)


def _position_for(position, s):
    if isinstance(position, dict):
        return position.get(s.number)
    if position is not None and len(position) == s.y.ndim:
        return position
    return None


def _explain_layer(s, position, time_step, neuron, is_last, loss_fn, t):
    layer = s.layer
    if type(layer) is core.Dense:
        return explain_dense_neuron(s, neuron, is_last, loss_fn, t)
    if isinstance(layer, (conv.Conv2D, conv.Conv1D)):
        return explain_conv(s, position)
    if isinstance(layer, conv._Pool):
        return explain_pool(s, position)
    if isinstance(layer, (normalization.BatchNormalization, normalization.LayerNormalization)):
        return explain_norm(s, position)
    if isinstance(layer, core.Dropout):
        return explain_dropout(s, position)
    if isinstance(layer, rnn.Embedding):
        return explain_embedding(s, position)
    if isinstance(layer, (rnn.SimpleRNN, rnn.LSTM, rnn.GRU)):
        return explain_recurrent(s, time_step, neuron)
    # reshaping layers move values and gradients without arithmetic; others are named only
    return [heading(s, None, None), Line("forward", text=("shape", {"shape": s.y.shape}))]


def explain_dense_neuron(s, neuron, is_last, loss_fn, t):
    """Dense at one neuron j: z_j = sum_i w_ij x_i + b_j, a_j = f(z_j), and its gradients."""
    layer = s.layer
    if s.x.ndim != 1:
        raise ValueError(f"explain shows Dense layers on flat inputs; layer {s.number} receives shape {s.x.shape}")
    w = layer.kernel.data.astype(np.float64)
    b = layer.bias.data.astype(np.float64) if layer.bias is not None else np.zeros(layer.units)
    j = int(np.argmax(t)) if neuron is None and is_last else (0 if neuron is None else
                                                                 int(np.ravel(neuron)[0]))
    if not 0 <= j < layer.units:
        raise ValueError(f"neurons: layer {s.number} has {layer.units} neurons; received {j}")
    act = activations.name_of(layer.activation) or "linear"
    z = s.x @ w + b
    names = [(f"w[{i},{j}]", f"x{i}") for i in range(len(s.x))]
    formula, subst = terms(names, w[:, j], s.x, s)
    lines = [Line("forward", text=("layer.position", {"n": s.number, "kind": "Dense", "what": "neuron",
                                                      "where": f"[{j}]", "shape": s.y.shape}), heading=True),
             Line("forward", f"z{j}", f"{formula} + b{j}", f"{subst} + {s.n(b[j])}", float(z[j]),
                  (s.number, "z", (j,)))]
    a = activations.get(act)(Tensor(z[None])).data[0]
    if act == "softmax":
        listed = " + ".join(f"exp(z{k})" for k in range(min(len(z), 8))) + (" + ..." if len(z) > 8 else "")
        lines.append(Line("forward", f"a{j}", f"exp(z{j}) / ({listed})",
                          f"{s.n(np.exp(z[j]))} / {s.n(np.exp(z).sum())}", float(a[j]), (s.number, "y", (j,))))
    else:
        lines.append(Line("forward", f"a{j}", f"{act}(z{j})", "", float(a[j]), (s.number, "y", (j,))))
    if is_last:
        dz, shortcut = output_delta(loss_fn, act, z, a, t)
        formula, subst = (f"a{j} - y{j}", f"{s.n(a[j])} - {s.n(t[j])}") if shortcut else \
            (f"dL/da{j} * {act}'(z{j})", "")
    else:
        from .dense import _derivative  # noqa: PLC0415

        if act == "softmax":
            raise ValueError("explain needs element-wise activations in hidden Dense layers; found softmax")
        slope = _derivative(act, z)
        dz = s.gy * slope
        formula, subst = f"dL/da{j} * {act}'(z{j})", f"{s.n(s.gy[j])}*{s.n(slope[j])}"
    lines.append(Line("backward", f"dL/dz{j}", formula, subst, float(dz[j]), (s.number, "dz", (j,))))
    for i in range(min(len(s.x), 4)):
        lines.append(Line("backward", f"dL/dw[{i},{j}]", f"dL/dz{j}*x{i}", f"{s.n(dz[j])}*{s.n(s.x[i])}",
                          float(dz[j] * s.x[i]), (s.number, "dW", (i, j))))
    lines.append(Line("backward", f"dL/db{j}", f"dL/dz{j}", "", float(dz[j]), (s.number, "db", (j,))))
    lines.append(Line("backward", "dL/dx0", " + ".join(f"w[0,{k}]*dL/dz{k}" for k in range(min(3, len(dz))))
                      + (" + ..." if len(dz) > 3 else ""), "", float(w[0] @ dz), (s.number, "dx", (0,))))
    lines.append(Line("update", f"b{j} <- b{j} - eta*dL/db{j}", "", f"{s.n(b[j])} - {s.eta:g}*{s.n(dz[j])}",
                      float(b[j] - s.eta * dz[j]), (s.number, "new", "bias", (j,))))
    return lines
