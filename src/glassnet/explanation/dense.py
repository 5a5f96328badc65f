"""One training step of a stack of Dense layers, neuron by neuron (seed 000, section 3.4).

Notation of the seed: ``z1 = w11*x1 + w21*x2 + b1``, ``a1 = relu(z1)``, ``dL/dz3 = a3 - y``,
``dL/dw31 = dL/dz3 * a1``, ``w31 <- w31 - eta * dL/dw31``. Neurons are numbered across the whole
network; a first-layer weight ``w_ij`` joins input i to neuron j, a later weight ``w_ji`` joins
neuron i to neuron j. A layer wider than ``max_neurons`` shows the chosen neurons and
summarises the rest; a sum over inputs that were not shown is given as one number.
"""
import numpy as np

from ..nn import activations
from ..nn.layers import Dense, Dropout, Rescaling
from ..tensor import Tensor
from .outputs import loss_for, loss_lines, output_delta, target_row
from .render import Explanation, Line, fmt, paren


def explain_dense(model, x, y, learning_rate=0.1, max_neurons=8, max_inputs=8, neurons=None, digits=6):
    """Explain one gradient-descent step of a stack of Dense layers on one sample (see ``explain``)."""
    layers = [layer for layer in getattr(model, "layers", [model]) if not isinstance(layer, Dropout)]
    notes = []
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if layers and isinstance(layers[0], Rescaling):
        rescaling = layers.pop(0)
        x = x * rescaling.scale + rescaling.offset
        notes.append(("note.rescaled", {}))
    if any(layer.kernel_regularizer is not None for layer in layers):
        notes.append(("note.penalty", {}))
    if layers[0].kernel is None:
        raise ValueError("the model is not built yet: call it on data or fit it first")
    if x.size != layers[0].input_dim:
        raise ValueError(f"explain expects one sample with {layers[0].input_dim} features; received {x.size} values")

    acts = [activations.name_of(layer.activation) or "f" for layer in layers]
    ws = [layer.kernel.data.astype(np.float64) for layer in layers]
    bs = [layer.bias.data.astype(np.float64) if layer.bias is not None else np.zeros(layer.units) for layer in layers]
    starts = np.cumsum([0] + [layer.units for layer in layers]).tolist()  # global neuron numbering
    shown = _shown_neurons(ws, neurons or {}, max_neurons)
    in_shown = list(range(min(x.size, max(max_inputs, 1))))
    num = lambda v: paren(v, digits)  # noqa: E731
    lines = []

    # -- forward ---------------------------------------------------------------------------------
    zs, as_ = [], []
    a_prev, prev_names, prev_shown = x, [f"x{i + 1}" for i in range(x.size)], in_shown
    for l, (w, b, act) in enumerate(zip(ws, bs, acts)):
        z = a_prev @ w + b
        a = _activate(act, z)
        zs.append(z)
        as_.append(a)
        names = [str(starts[l] + j + 1) for j in range(w.shape[1])]
        if len(shown[l]) < w.shape[1]:
            lines.append(Line("forward", text=("layer.shown", {"n": l + 1, "units": w.shape[1],
                                                               "shown": ", ".join(f"a{names[j]}" for j in shown[l])}),
                              heading=True))
        for j in shown[l]:
            wn = [_wname(l, i, j, prev_names, names) for i in range(w.shape[0])]
            formula = " + ".join(f"{wn[i]}*{prev_names[i]}" for i in prev_shown)
            subst = " + ".join(f"{num(w[i, j])}*{num(a_prev[i])}" for i in prev_shown)
            rest = [i for i in range(w.shape[0]) if i not in prev_shown]
            if rest:  # the inputs not shown, as one number
                formula += f" + <more:{len(rest)}>"
                subst += f" + {num(float(a_prev[rest] @ w[rest, j]))}"
            lines.append(Line("forward", f"z{names[j]}", f"{formula} + b{names[j]}", f"{subst} + {num(b[j])}",
                              float(z[j]), ("z", l, j)))
        for j in shown[l]:
            fn = f"{act}(z{names[j]})" if act != "softmax" else f"softmax(z)_{j + 1}"
            lines.append(Line("forward", f"a{names[j]}", fn, "", float(a[j]), ("a", l, j)))
        rest = [j for j in range(w.shape[1]) if j not in shown[l]]
        if rest:
            lines.append(Line("forward", text=("layer.rest", {
                "n": l + 1, "count": len(rest), "names": _span([f"a{names[j]}" for j in rest]),
                "low": float(a[rest].min()), "high": float(a[rest].max())})))
        a_prev, prev_names, prev_shown = a, [f"a{n}" for n in names], shown[l]

    # -- loss -------------------------------------------------------------------------------------
    loss_fn = loss_for(model, acts[-1])
    out = as_[-1]
    t = target_row(y, out.size)
    last_names = [str(starts[-2] + j + 1) for j in range(out.size)]
    lines += loss_lines(loss_fn, out, last_names, t, digits, max_neurons)

    # -- backward ---------------------------------------------------------------------------------
    dz, shortcut = output_delta(loss_fn, acts[-1], zs[-1], out, t)
    dzs = [None] * len(ws)
    dzs[-1] = dz
    for l in reversed(range(len(ws))):
        w, names = ws[l], [str(starts[l] + j + 1) for j in range(ws[l].shape[1])]
        for j in shown[l]:
            if l == len(ws) - 1:
                if shortcut:
                    y_name = "y" if out.size == 1 else f"y{j + 1}"
                    divided = out.size > 1 and acts[-1] == "sigmoid"
                    formula = f"(a{names[j]} - {y_name}) / {out.size}" if divided else f"a{names[j]} - {y_name}"
                    subst = f"{num(out[j])} - {num(t[j])}"
                    subst = f"({subst}) / {out.size}" if divided else subst
                else:
                    formula, subst = f"dL/da{names[j]} * {acts[-1]}'(z{names[j]})", ""
            else:
                nxt = [str(starts[l + 1] + k + 1) for k in range(ws[l + 1].shape[1])]
                w_next, d_next = ws[l + 1], dzs[l + 1]
                terms = " + ".join(f"w{_idx(int(nxt[k]), int(names[j]))}*dL/dz{nxt[k]}" for k in shown[l + 1])
                nums = " + ".join(f"{num(w_next[j, k])}*{num(d_next[k])}" for k in shown[l + 1])
                rest = [k for k in range(len(nxt)) if k not in shown[l + 1]]
                if rest:
                    terms += f" + <more:{len(rest)}>"
                    nums += f" + {num(float(w_next[j, rest] @ d_next[rest]))}"
                slope = _derivative(acts[l], zs[l][j:j + 1])[0]
                formula = f"({terms}) * {acts[l]}'(z{names[j]})"
                subst = f"({nums}) * {num(slope)}"
            lines.append(Line("backward", f"dL/dz{names[j]}", formula, subst, float(dzs[l][j]), ("dz", l, j)))
        a_in = x if l == 0 else as_[l - 1]
        in_names = [f"x{i + 1}" for i in range(x.size)] if l == 0 else \
            [f"a{starts[l - 1] + i + 1}" for i in range(w.shape[0])]
        inputs = in_shown if l == 0 else shown[l - 1]
        for j in shown[l]:
            for i in inputs:
                wn = _wname(l, i, j, in_names, names)
                lines.append(Line("backward", f"dL/d{wn}", f"dL/dz{names[j]}*{in_names[i]}",
                                  f"{num(dzs[l][j])}*{num(a_in[i])}", float(dzs[l][j] * a_in[i]), ("dw", l, i, j)))
            lines.append(Line("backward", f"dL/db{names[j]}", f"dL/dz{names[j]}", "", float(dzs[l][j]), ("db", l, j)))
        if l:
            dzs[l - 1] = (w @ dzs[l]) * _derivative(acts[l - 1], zs[l - 1])

    # -- update -----------------------------------------------------------------------------------
    for l, (w, b) in enumerate(zip(ws, bs)):
        names = [str(starts[l] + j + 1) for j in range(w.shape[1])]
        in_names = [f"x{i + 1}" for i in range(w.shape[0])] if l == 0 else \
            [f"a{starts[l - 1] + i + 1}" for i in range(w.shape[0])]
        a_in = x if l == 0 else as_[l - 1]
        gw = np.outer(a_in, dzs[l])
        for j in shown[l]:
            for i in (in_shown if l == 0 else shown[l - 1]):
                wn = _wname(l, i, j, in_names, names)
                lines.append(Line("update", f"{wn} <- {wn} - eta*dL/d{wn}", "",
                                  f"{num(w[i, j])} - {learning_rate:g}*{num(gw[i, j])}",
                                  float(w[i, j] - learning_rate * gw[i, j]), ("w_new", l, i, j)))
            lines.append(Line("update", f"b{names[j]} <- b{names[j]} - eta*dL/db{names[j]}", "",
                              f"{num(b[j])} - {learning_rate:g}*{num(dzs[l][j])}",
                              float(b[j] - learning_rate * dzs[l][j]), ("b_new", l, j)))
    name = getattr(model, "name", None) or f"a {'-'.join(str(n) for n in [x.size, *[w.shape[1] for w in ws]])} network"
    return Explanation(lines, learning_rate, name, notes, digits=digits)


def _shown_neurons(ws, chosen, max_neurons):
    """Per layer, the neurons listed one by one: the chosen ones, else the first ``max_neurons``."""
    shown = []
    for l, w in enumerate(ws):
        units = w.shape[1]
        picked = chosen.get(l + 1)
        if picked is None:
            shown.append(list(range(min(units, max_neurons))))
            continue
        picked = [picked] if isinstance(picked, (int, np.integer)) else list(picked)
        bad = [j for j in picked if not 0 <= j < units]
        if bad:
            raise ValueError(f"neurons: layer {l + 1} has {units} neurons (indices 0 to {units - 1}); "
                             f"received: neurons={{{l + 1}: {picked}}}")
        shown.append(sorted(set(picked)))
    bad = sorted(set(chosen) - set(range(1, len(ws) + 1)))
    if bad:
        raise ValueError(f"neurons: the layers are numbered 1 to {len(ws)}; received layer {bad[0]}")
    return shown


def _span(names):
    return ", ".join(names) if len(names) <= 3 else f"{names[0]} ... {names[-1]}"


def _idx(*numbers):
    return ("," if any(n >= 10 for n in numbers) else "").join(str(n) for n in numbers)


def _wname(layer, i, j, in_names, names):
    if layer == 0:
        return f"w{_idx(i + 1, int(names[j]))}"
    return f"w{_idx(int(names[j]), int(in_names[i][1:]))}"


def _activate(name, z):
    fn = activations.get(name if name != "f" else "linear")
    return fn(Tensor(z)).data


def _derivative(name, z):
    """f'(z) of an element-wise activation, by autograd."""
    if name == "softmax":
        raise ValueError("explain needs element-wise activations in the hidden layers; found softmax")
    t = Tensor(z, requires_grad=True)
    activations.get(name if name != "f" else "linear")(t).sum().backward()
    return t.grad


def is_dense_stack(model):
    layers = [layer for layer in getattr(model, "layers", [model]) if not isinstance(layer, Dropout)]
    if layers and isinstance(layers[0], Rescaling):
        layers = layers[1:]
    return bool(layers) and all(type(layer) is Dense for layer in layers)


def seed_example():
    """Seed 000 section 3.4's network: 2 inputs, 2 ReLU hidden neurons, 1 sigmoid output, binary
    cross-entropy; with weights and one data point chosen to show every case."""
    from ..sequential import Sequential  # noqa: PLC0415

    hidden = Dense(2, activation="relu", input_dim=2, dtype=np.float64)
    out = Dense(1, activation="sigmoid", input_dim=2, dtype=np.float64)
    hidden.kernel.data[...] = [[0.3, -0.4], [0.2, -0.6]]
    hidden.bias.data[...] = [0.05, 0.1]
    out.kernel.data[...] = [[0.7], [-0.5]]
    out.bias.data[...] = [0.2]
    model = Sequential([hidden, out], name="seed 000, section 3.4")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model, np.array([0.5, 1.2]), np.array([1.0])
