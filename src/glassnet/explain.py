"""One training step, every number shown: forward, loss, backward and update, neuron by neuron.

``explain(model, x, y)`` walks one sample through a stack of Dense layers in
the notation of seed 000 (section 3.4): ``z1 = w11*x1 + w21*x2 + b1``,
``a1 = relu(z1)``, ``dL/dz3 = a3 - y``, ``dL/dw31 = dL/dz3 * a1``,
``w31 <- w31 - eta * dL/dw31``. Neurons are numbered across the whole network;
a first-layer weight ``w_ij`` joins input i to neuron j, a later weight
``w_ji`` joins neuron i to neuron j, as in the seed. The numbers come from the
chain rule written out; the tests check every one against autograd.
"""
import html as html_lib
from dataclasses import dataclass, field

import numpy as np

from .nn import activations
from .nn import losses as losses_lib
from .nn.layers import Dense, Dropout, Rescaling
from .tensor import Tensor

LABELS = {
    "en": {"forward": "Forward pass", "loss": "Loss", "backward": "Backward pass (chain rule)",
           "update": "Update (gradient descent, eta = {eta})", "summary": "layer {n}: {units} neurons, too many to list",
           "title": "One training step of {model}", "notes": "Notes"},
    "zh": {"forward": "前向传播", "loss": "损失", "backward": "反向传播(链式法则)",
           "update": "参数更新(梯度下降,eta = {eta})", "summary": "第 {n} 层:{units} 个神经元,太多,只显示摘要",
           "title": "{model} 的一次训练", "notes": "说明"},
}


@dataclass
class Line:
    """One printed equation: ``symbol = formula = substituted = value``.

    ``key`` names the quantity for the tests: ("z", layer, j), ("a", layer, j),
    ("loss",), ("dz", layer, j), ("dw", layer, i, j), ("db", layer, j),
    ("w_new", layer, i, j), ("b_new", layer, j); ``None`` for summaries.
    """

    section: str
    symbol: str
    formula: str
    substituted: str
    value: float
    key: tuple = None


@dataclass
class Explanation:
    lines: list
    eta: float
    model_name: str = "the network"
    notes: list = field(default_factory=list)

    def section(self, name):
        return [line for line in self.lines if line.section == name]

    def to_text(self, lang="en"):
        labels = LABELS[lang]
        out = [labels["title"].format(model=self.model_name), ""]
        for sec in ("forward", "loss", "backward", "update"):
            out.append(f"== {labels[sec].format(eta=self.eta)} ==")
            for line in self.section(sec):
                parts = [line.symbol, line.formula, line.substituted, _num(line.value)]
                out.append("  " + " = ".join(p for p in parts if p) if line.key or line.formula
                           else "  " + line.symbol)
            out.append("")
        if self.notes:
            out.append(f"{labels['notes']}: " + " ".join(self.notes))
        return "\n".join(out).rstrip() + "\n"

    def to_markdown(self, lang="en"):
        labels = LABELS[lang]
        out = [f"# {labels['title'].format(model=self.model_name)}", ""]
        for sec in ("forward", "loss", "backward", "update"):
            out += [f"## {labels[sec].format(eta=self.eta)}", ""]
            for line in self.section(sec):
                if line.key is None and not line.formula:
                    out.append(f"- {line.symbol}")
                    continue
                tex = " = ".join(_tex(p) for p in (line.symbol, line.formula, line.substituted) if p)
                out.append(f"- $${tex} = {_num(line.value)}$$")
            out.append("")
        if self.notes:
            out.append(f"*{labels['notes']}:* " + " ".join(self.notes))
        return "\n".join(out).rstrip() + "\n"

    def to_html(self, lang="en"):
        labels = LABELS[lang]
        title = html_lib.escape(labels["title"].format(model=self.model_name))
        body = [f"<h1>{title}</h1>"]
        for sec in ("forward", "loss", "backward", "update"):
            body.append(f"<h2>{html_lib.escape(labels[sec].format(eta=self.eta))}</h2><ul>")
            for line in self.section(sec):
                if line.key is None and not line.formula:
                    body.append(f"<li>{html_lib.escape(line.symbol)}</li>")
                    continue
                parts = [p for p in (line.symbol, line.formula, line.substituted) if p] + [_num(line.value)]
                row = "<mo>=</mo>".join(_mathml(p) for p in parts)
                body.append(f'<li><math display="block"><mrow>{row}</mrow></math></li>')
            body.append("</ul>")
        if self.notes:
            body.append(f"<p><em>{html_lib.escape(labels['notes'])}:</em> {html_lib.escape(' '.join(self.notes))}</p>")
        return ("<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title>"
                "<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5}}"
                "li{{list-style:none;margin:.4em 0}}math{{font-size:1.1em;text-align:left}}</style></head><body>\n{body}\n"
                "</body></html>\n").format(lang=lang, title=title, body="\n".join(body))

    def render(self, fmt="text", lang="en"):
        if lang not in LABELS:
            raise ValueError(f"lang must be one of {sorted(LABELS)}; received: lang={lang!r}")
        renderers = {"text": self.to_text, "markdown": self.to_markdown, "html": self.to_html}
        if fmt not in renderers:
            raise ValueError(f"format must be one of {sorted(renderers)}; received: format={fmt!r}")
        return renderers[fmt](lang)

    def __str__(self):
        return self.to_text()


def _num(v):
    return f"{v + 0.0:.6g}"  # + 0.0 turns -0.0 into 0.0


def _tex(text):
    out = text.replace("<-", r"\leftarrow").replace("*", r" \cdot ").replace("eta", r"\eta")
    return out


def _mathml(text):
    tokens = text.replace("<-", " ← ").replace("*", " · ").replace("(", " ( ").replace(")", " ) ").split()
    parts = []
    for tok in tokens:
        esc = html_lib.escape(tok)
        if tok.startswith("dL/d") and len(tok) > 4:  # a partial derivative as a fraction
            parts.append(f"<mfrac><mrow><mo>∂</mo><mi>L</mi></mrow><mrow><mo>∂</mo>{_mathml(tok[4:])}</mrow></mfrac>")
        elif tok == "eta":
            parts.append("<mi>η</mi>")
        elif tok in ("+", "-", "·", "←", "(", ")", "=", "/"):
            parts.append(f"<mo>{esc}</mo>")
        elif tok[0].isdigit() or (tok[0] == "-" and len(tok) > 1):
            parts.append(f"<mn>{esc}</mn>")
        elif tok[0].isalpha() and tok[1:].replace(",", "").isdigit() and len(tok) > 1:
            parts.append(f"<msub><mi>{esc[0]}</mi><mn>{esc[1:]}</mn></msub>")
        else:
            parts.append(f"<mi>{esc}</mi>")
    return "".join(parts)


def _idx(*numbers):
    return ("," if any(n >= 10 for n in numbers) else "").join(str(n) for n in numbers)


def _paren(v):
    return f"({_num(v)})" if v + 0.0 < 0 else _num(v)


_OUTPUT_SHORTCUTS = {("sigmoid", losses_lib.BinaryCrossentropy), ("softmax", losses_lib.CategoricalCrossentropy),
                     ("softmax", losses_lib.SparseCategoricalCrossentropy)}


def _loss_for(model, last_activation):
    loss = getattr(model, "loss", None)
    if isinstance(loss, losses_lib.Loss):
        return loss
    if last_activation == "softmax":
        return losses_lib.CategoricalCrossentropy()
    return losses_lib.BinaryCrossentropy() if last_activation == "sigmoid" else losses_lib.MeanSquaredError()


def explain(model, x, y, learning_rate=0.1, max_neurons=8, max_inputs=8):
    """Explain one gradient-descent step of ``model`` (Dense layers) on one sample.

    Args:
        model: a Sequential of Dense layers (Rescaling first and Dropout are allowed).
        x: one sample, shape (features,).
        y: its target: a class label, a one-hot row, or the regression target(s).
        learning_rate: eta of the update shown. Defaults to ``0.1``.
        max_neurons, max_inputs: layers wider than this are summarised. Default to ``8``.

    Returns:
        An :class:`Explanation`; ``str()`` gives the text, ``.render("html")`` a page.

    Raises:
        ValueError: a layer that is not Dense, or ``x`` of the wrong size.
    """
    layers = [layer for layer in getattr(model, "layers", [model]) if not isinstance(layer, Dropout)]
    notes = []
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if layers and isinstance(layers[0], Rescaling):
        rescaling = layers.pop(0)
        x = x * rescaling.scale + rescaling.offset
        notes.append("The inputs x are the rescaled features (x * scale + offset of the Rescaling layer).")
    if not layers or not all(isinstance(layer, Dense) and type(layer) is Dense for layer in layers):
        kinds = sorted({type(layer).__name__ for layer in layers if not isinstance(layer, Dense)})
        raise ValueError(f"explain works on stacks of Dense layers; this model has {', '.join(kinds) or 'none'}")
    if any(layer.kernel_regularizer is not None for layer in layers):
        notes.append("Weight penalties are left out of the loss and gradients shown.")
    if layers[0].kernel is None:
        raise ValueError("the model is not built yet: call it on data or fit it first")
    if x.size != layers[0].input_dim:
        raise ValueError(f"explain expects one sample with {layers[0].input_dim} features; received {x.size} values")

    acts = [activations.name_of(layer.activation) or "f" for layer in layers]
    ws = [layer.kernel.data.astype(np.float64) for layer in layers]
    bs = [layer.bias.data.astype(np.float64) if layer.bias is not None else np.zeros(layer.units) for layer in layers]
    starts = np.cumsum([0] + [layer.units for layer in layers]).tolist()  # global neuron numbering
    lines = []

    # -- forward ----------------------------------------------------------------------------
    zs, as_ = [], []
    a_prev, prev_names = x, [f"x{i + 1}" for i in range(x.size)]
    for l, (w, b, act) in enumerate(zip(ws, bs, acts)):
        z = a_prev @ w + b
        a = _activate(act, z)
        zs.append(z)
        as_.append(a)
        names = [str(starts[l] + j + 1) for j in range(w.shape[1])]
        if w.shape[1] > max_neurons or w.shape[0] > max_inputs:
            lines.append(Line("forward", LABELS["en"]["summary"].format(n=l + 1, units=w.shape[1]), "", "", 0.0))
            lines.append(Line("forward", f"|z| (layer {l + 1})", "", "", float(np.linalg.norm(z))))
            lines.append(Line("forward", f"|W| (layer {l + 1}, shape {w.shape[0]}x{w.shape[1]})", "", "",
                              float(np.linalg.norm(w))))
        else:
            for j, name in enumerate(names):
                wn = [_wname(l, i, j, prev_names, names) for i in range(w.shape[0])]
                formula = " + ".join(f"{wn[i]}*{prev_names[i]}" for i in range(w.shape[0])) + f" + b{name}"
                subst = " + ".join(f"{_paren(w[i, j])}*{_paren(a_prev[i])}" for i in range(w.shape[0])) + \
                    f" + {_paren(b[j])}"
                lines.append(Line("forward", f"z{name}", formula, subst, float(z[j]), ("z", l, j)))
            for j, name in enumerate(names):
                shown = f"{act}(z{name})" if act != "softmax" else f"softmax(z)_{j + 1}"
                lines.append(Line("forward", f"a{name}", shown, "", float(a[j]), ("a", l, j)))
        a_prev, prev_names = a, [f"a{n}" for n in names]

    # -- loss ----------------------------------------------------------------------------------
    loss_fn = _loss_for(model, acts[-1])
    out = as_[-1]
    t = _target(loss_fn, y, out.size)
    a_t = Tensor(out[None, :], requires_grad=True)
    loss = loss_fn(t[None, :] if not isinstance(loss_fn, losses_lib.SparseCategoricalCrossentropy)
                   else np.array([int(np.argmax(t))]), a_t)
    loss.backward()
    last_names = [str(starts[-2] + j + 1) for j in range(out.size)]
    lines.append(Line("loss", "L", f"{type(loss_fn).__name__}(y, a)", "", float(loss.data), ("loss",)))

    # -- backward ------------------------------------------------------------------------------
    if (acts[-1], type(loss_fn)) in _OUTPUT_SHORTCUTS and getattr(loss_fn, "from_logits", False) is False:
        dz = out - t if not isinstance(loss_fn, losses_lib.BinaryCrossentropy) else (out - t) / out.size
        shortcut = True
    else:
        z_t = Tensor(zs[-1][None, :], requires_grad=True)
        target = t[None, :] if not isinstance(loss_fn, losses_lib.SparseCategoricalCrossentropy) \
            else np.array([int(np.argmax(t))])
        loss_fn(target, activations.get(acts[-1])(z_t) if acts[-1] != "f" else z_t).backward()
        dz, shortcut = z_t.grad[0], False
    dzs = [None] * len(ws)
    dzs[-1] = dz
    for l in reversed(range(len(ws))):
        w, names = ws[l], [str(starts[l] + j + 1) for j in range(ws[l].shape[1])]
        big = w.shape[1] > max_neurons or w.shape[0] > max_inputs
        if big:
            lines.append(Line("backward", f"|dL/dz| (layer {l + 1})", "", "", float(np.linalg.norm(dzs[l]))))
        else:
            for j, name in enumerate(names):
                if l == len(ws) - 1:
                    if shortcut:
                        y_name = "y" if out.size == 1 else f"y{j + 1}"
                        formula = f"a{name} - {y_name}" if out.size == 1 or not isinstance(
                            loss_fn, losses_lib.BinaryCrossentropy) else f"(a{name} - {y_name}) / {out.size}"
                        subst = f"{_paren(out[j])} - {_paren(t[j])}"
                    else:
                        formula, subst = f"dL/da{name} * {acts[-1]}'(z{name})", ""
                else:
                    nxt = [str(starts[l + 1] + k + 1) for k in range(ws[l + 1].shape[1])]
                    formula = "(" + " + ".join(f"w{_idx(int(n), int(name))}*dL/dz{n}" for n in nxt) + \
                        f") * {acts[l]}'(z{name})"
                    subst = ""
                lines.append(Line("backward", f"dL/dz{name}", formula, subst, float(dzs[l][j]), ("dz", l, j)))
        a_in = x if l == 0 else as_[l - 1]
        in_names = [f"x{i + 1}" for i in range(x.size)] if l == 0 else \
            [f"a{starts[l - 1] + i + 1}" for i in range(ws[l].shape[0])]
        if not big:
            for j, name in enumerate(names):
                for i in range(w.shape[0]):
                    wn = _wname(l, i, j, in_names, names)
                    lines.append(Line("backward", f"dL/d{wn}", f"dL/dz{name}*{in_names[i]}",
                                      f"{_paren(dzs[l][j])}*{_paren(a_in[i])}", float(dzs[l][j] * a_in[i]),
                                      ("dw", l, i, j)))
                lines.append(Line("backward", f"dL/db{name}", f"dL/dz{name}", "", float(dzs[l][j]), ("db", l, j)))
        if l:
            da = w @ dzs[l]
            dzs[l - 1] = da * _derivative(acts[l - 1], zs[l - 1], as_[l - 1])

    # -- update ----------------------------------------------------------------------------------
    for l, (w, b) in enumerate(zip(ws, bs)):
        names = [str(starts[l] + j + 1) for j in range(w.shape[1])]
        in_names = [f"x{i + 1}" for i in range(w.shape[0])] if l == 0 else \
            [f"a{starts[l - 1] + i + 1}" for i in range(w.shape[0])]
        a_in = x if l == 0 else as_[l - 1]
        gw = np.outer(a_in, dzs[l])
        if w.shape[1] > max_neurons or w.shape[0] > max_inputs:
            lines.append(Line("update", f"|W| (layer {l + 1}) after the step", "", "",
                              float(np.linalg.norm(w - learning_rate * gw))))
            continue
        for j, name in enumerate(names):
            for i in range(w.shape[0]):
                wn = _wname(l, i, j, in_names, names)
                lines.append(Line("update", f"{wn} <- {wn} - eta*dL/d{wn}", "",
                                  f"{_paren(w[i, j])} - {learning_rate:g}*{_paren(gw[i, j])}",
                                  float(w[i, j] - learning_rate * gw[i, j]), ("w_new", l, i, j)))
            lines.append(Line("update", f"b{name} <- b{name} - eta*dL/db{name}", "",
                              f"{_paren(b[j])} - {learning_rate:g}*{_paren(dzs[l][j])}",
                              float(b[j] - learning_rate * dzs[l][j]), ("b_new", l, j)))
    name = getattr(model, "name", None) or f"a {'-'.join(str(n) for n in [x.size, *[w.shape[1] for w in ws]])} network"
    return Explanation(lines, learning_rate, name, notes)


def _wname(layer, i, j, in_names, names):
    if layer == 0:
        return f"w{_idx(i + 1, int(names[j]))}"
    return f"w{_idx(int(names[j]), int(in_names[i][1:]))}"


def _activate(name, z):
    fn = activations.get(name if name != "f" else "linear")
    return fn(Tensor(z)).data


def _derivative(name, z, a):
    """f'(z) of an element-wise activation, by autograd."""
    if name == "softmax":
        raise ValueError("explain needs element-wise activations in the hidden layers; found softmax")
    t = Tensor(z, requires_grad=True)
    activations.get(name if name != "f" else "linear")(t).sum().backward()
    return t.grad


def _target(loss_fn, y, outputs):
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.size == outputs:
        return y
    if y.size == 1 and outputs > 1:
        onehot = np.zeros(outputs)
        label = int(y[0])
        if not 0 <= label < outputs:
            raise ValueError(f"the label must be in [0, {outputs}); received {label}")
        onehot[label] = 1.0
        return onehot
    raise ValueError(f"the target must have {outputs} values or be one class label; received {y.size} values")


def seed_example():
    """Seed 000 section 3.4's network: 2 inputs, 2 ReLU hidden neurons, 1 sigmoid output, binary
    cross-entropy; with weights and one data point chosen to show every case."""
    from .sequential import Sequential  # noqa: PLC0415

    hidden = Dense(2, activation="relu", input_dim=2, dtype=np.float64)
    out = Dense(1, activation="sigmoid", input_dim=2, dtype=np.float64)
    hidden.kernel.data[...] = [[0.3, -0.4], [0.2, -0.6]]
    hidden.bias.data[...] = [0.05, 0.1]
    out.kernel.data[...] = [[0.7], [-0.5]]
    out.bias.data[...] = [0.2]
    model = Sequential([hidden, out], name="seed 000, section 3.4")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model, np.array([0.5, 1.2]), np.array([1.0])
