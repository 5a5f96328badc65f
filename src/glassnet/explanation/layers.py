"""One layer of a network at one chosen place: the forward sum or rule with its numbers, and
where the gradient goes. Each ``explain_*`` takes a :class:`Step` (what the layer received and
gave, and the gradients autograd found, all for one sample) and returns lines whose numbers
are computed here from the formulas; the tests compare them with the Step's autograd values.

Keys: (layer, "y", position) output value, (layer, "dx", position) input gradient,
(layer, "dW"/"db"/"dgamma"/"dbeta"/"dE", index) parameter gradient, (layer, "new", name, index).
"""
from dataclasses import dataclass, field

import numpy as np

from ..nn import activations
from ..ops.conv import out_size
from .render import Line, fmt, paren


@dataclass
class Step:
    """One layer's share of one training step, for one sample (no batch axis)."""

    number: int  # 1-based, as printed
    layer: object
    x: np.ndarray  # what the layer received
    y: np.ndarray  # what it gave
    gy: np.ndarray  # dL/dy
    gx: np.ndarray = None  # dL/dx (None for integer inputs)
    grads: dict = field(default_factory=dict)  # parameter name -> dL/dparameter
    digits: int = 6
    eta: float = 0.1
    mask: np.ndarray = None  # Dropout: the kept values

    def n(self, v):
        return paren(v, self.digits)

    def f(self, v):
        return fmt(v, self.digits)


def terms(names, left, right, step, limit=8):
    """``a1*b1 + a2*b2 + ...`` symbols and numbers, the terms after ``limit`` as one number."""
    k = min(limit, len(left))
    formula = " + ".join(f"{names[i][0]}*{names[i][1]}" for i in range(k))
    subst = " + ".join(f"{step.n(left[i])}*{step.n(right[i])}" for i in range(k))
    if len(left) > k:
        formula += f" + <more:{len(left) - k}>"
        subst += f" + {step.n(float(np.dot(left[k:], right[k:])))}"
    return formula, subst


def heading(step, what, where, shape=None):
    kind = type(step.layer).__name__
    if what is None:
        return Line("forward", text=("layer", {"n": step.number, "kind": kind}), heading=True)
    return Line("forward", text=("layer.position", {"n": step.number, "kind": kind, "what": what,
                                                    "where": where, "shape": shape or step.y.shape}), heading=True)


def _where(pos):
    return "[" + ", ".join(str(p) for p in pos) + "]"


def pick(position, shape, default):
    """The chosen position, checked against ``shape``; ``default`` when none was chosen."""
    if position is None:
        return tuple(default)
    position = tuple(int(p) for p in position)
    if len(position) != len(shape) or any(not 0 <= p < s for p, s in zip(position, shape)):
        raise ValueError(f"position must index an output of shape {shape} (no batch axis); "
                         f"received: position={position}")
    return position


def _update(step, lines, name, param, index, label):
    grad = step.grads[name][index]
    old = float(param[index])
    lines.append(Line("update", f"{label} <- {label} - eta*dL/d{label}", "",
                      f"{step.n(old)} - {step.eta:g}*{step.n(grad)}", old - step.eta * grad,
                      (step.number, "new", name, index if isinstance(index, tuple) else (index,))))


# -- convolution -------------------------------------------------------------------------------------
def explain_conv(step, position=None):
    layer = step.layer
    rank1 = layer.rank == 1
    x = step.x[None] if rank1 else step.x  # (H, W, C)
    y = step.y[None] if rank1 else step.y
    gy = step.gy[None] if rank1 else step.gy
    w = layer.kernel.data.astype(np.float64)  # (KH, KW, C, F)
    b = layer.bias.data.astype(np.float64) if layer.bias is not None else np.zeros(w.shape[-1])
    (kh, kw, c, _), (sh, sw), (dh, dw) = w.shape, layer.strides, layer.dilation_rate
    oh, (pt, _) = out_size(x.shape[0], kh, sh, dh, layer.padding)
    ow, (pl, _) = out_size(x.shape[1], kw, sw, dw, layer.padding)
    xpad = np.zeros((x.shape[0] + 2 * kh * dh, x.shape[1] + 2 * kw * dw, c))
    xpad[pt:pt + x.shape[0], pl:pl + x.shape[1]] = x
    pos = pick(position, step.y.shape, [d // 2 for d in step.y.shape[:-1]] + [0])
    i, j, f = (0, *pos) if rank1 else pos
    rows, cols = i * sh + np.arange(kh) * dh, j * sw + np.arange(kw) * dw
    window = xpad[np.ix_(rows, cols, np.arange(c))]
    kernel = w[..., f]
    act = activations.name_of(layer.activation) or "linear"
    where = _where(pos)
    lines = [heading(step, "position", where)]
    at = (lambda r, q: f"{q}") if rank1 else (lambda r, q: f"{r},{q}")
    shown_window = window[0] if rank1 else window  # (KH, KW, C) as printed: one channel drops its axis
    shown_kernel = kernel[0] if rank1 else kernel
    if c == 1:
        shown_window, shown_kernel = shown_window[..., 0], shown_kernel[..., 0]
    lines.append(Line("forward", f"<w.window:{where}>", "", "", shown_window))
    lines.append(Line("forward", f"<w.kernel:{f}>", "", "", shown_kernel))
    names = [(f"x({at(r, q)}{'' if c == 1 else f',{ch}'})", f"w({at(r, q)}{'' if c == 1 else f',{ch}'})")
             for r in range(kh) for q in range(kw) for ch in range(c)]
    names = [(f"w({n[1][2:]}", n[0]) for n in names]
    formula, subst = terms(names, kernel.reshape(-1), window.reshape(-1), step)
    z = float((window * kernel).sum() + b[f])
    lines.append(Line("forward", "z", f"{formula} + b{f}", f"{subst} + {step.n(b[f])}", z, (step.number, "z", pos)))
    a = float(activations.get(act)(_t(np.array([z]))).data[0])
    lines.append(Line("forward", "y", f"{act}(z)", "", a, (step.number, "y", pos)))
    # backward: this position's share, then the sums over every position
    slope = _slope(act, z)
    g = float(gy[i, j, f])
    dz = g * slope
    lines.append(Line("backward", "dL/dz", f"dL/dy * {act}'(z)", f"{step.n(g)}*{step.n(slope)}", dz,
                      (step.number, "dz", pos)))
    lines.append(Line("backward", f"<w.here:{f}>", "dL/dz * <w.win:>", "",
                      dz * shown_window))
    zs = _pre_activation(act, y, gy)
    g_all = gy[..., f] * zs[..., f]
    db = float(g_all.sum())
    lines.append(Line("backward", f"dL/db{f}", "<w.allpos:dL/dz>", "", db, (step.number, "db", (f,))))
    dw00 = sum(float(g_all[p, q] * xpad[p * sh, q * sw, 0]) for p in range(oh) for q in range(ow))
    lines.append(Line("backward", f"dL/dW[0, 0, 0, {f}]" if not rank1 else f"dL/dW[0, 0, {f}]",
                      "<w.allpos:dL/dz * x>", "", dw00,
                      (step.number, "dW", (0, 0, 0, f))))
    _update(step, lines, "bias", b, f, f"b{f}") if layer.bias is not None else None
    return lines


def _t(a):
    from ..tensor import Tensor  # noqa: PLC0415

    return Tensor(a)


def _slope(act, z):
    from ..tensor import Tensor  # noqa: PLC0415

    t = Tensor(np.array([z], dtype=np.float64), requires_grad=True)
    activations.get(act)(t).sum().backward()
    return float(t.grad[0])


def _pre_activation(act, y, gy):
    """f'(z) everywhere, from the outputs (relu, linear) where z itself is not kept."""
    if act == "linear":
        return np.ones_like(y)
    if act == "relu":
        return (y > 0).astype(np.float64)
    if act == "sigmoid":
        return y * (1 - y)
    if act == "tanh":
        return 1 - y * y
    raise ValueError(f"explain shows convolutions with linear, relu, sigmoid or tanh; found {act}")


# -- pooling -----------------------------------------------------------------------------------------
def explain_pool(step, position=None):
    layer = step.layer
    rank1 = layer.rank == 1
    x = step.x[None] if rank1 else step.x
    (ph, pw), (sh, sw) = layer.pool_size, layer.strides
    _, (pt, _) = out_size(x.shape[0], ph, sh, 1, layer.padding)
    _, (pl, _) = out_size(x.shape[1], pw, sw, 1, layer.padding)
    pos = pick(position, step.y.shape, [d // 2 for d in step.y.shape[:-1]] + [0])
    i, j, ch = (0, *pos) if rank1 else pos
    cells = [(r, q) for r in range(i * sh - pt, i * sh - pt + ph) for q in range(j * sw - pl, j * sw - pl + pw)
             if 0 <= r < x.shape[0] and 0 <= q < x.shape[1]]
    values = np.array([x[r, q, ch] for r, q in cells])
    name = (lambda r, q: f"x[{q}, {ch}]") if rank1 else (lambda r, q: f"x[{r}, {q}, {ch}]")
    where = _where(pos)
    lines = [heading(step, "position", where)]
    g = float((step.gy[None] if rank1 else step.gy)[i, j, ch])
    listed = ", ".join(name(r, q) for r, q in cells)
    numbers = ", ".join(step.n(v) for v in values)
    if layer.mode == "max":
        win = int(np.argmax(values))  # the first maximum, as PyTorch and glassnet's op
        lines.append(Line("forward", "y", f"max({listed})", f"max({numbers})", float(values[win]),
                          (step.number, "y", pos)))
        lines.append(Line("forward", f"<w.winner:{name(*cells[win])}>", "", "", float(values[win])))
        grads = [g if k == win else 0.0 for k in range(len(cells))]
    else:
        lines.append(Line("forward", "y", f"({' + '.join(name(r, q) for r, q in cells)}) / {len(cells)}",
                          f"({' + '.join(step.n(v) for v in values)}) / {len(cells)}", float(values.mean()),
                          (step.number, "y", pos)))
        grads = [g / len(cells)] * len(cells)
    lines.append(Line("backward", "dL/dy", "", "", g))
    overlapping = sh < ph or sw < pw
    for k, (r, q) in enumerate(cells):
        formula = ("dL/dy" if k == win else "") if layer.mode == "max" else f"dL/dy / {len(cells)}"
        key = None if overlapping else (step.number, "dx", (q, ch) if rank1 else (r, q, ch))
        lines.append(Line("backward", f"dL/d{name(r, q)}", formula, "", grads[k], key))
    return lines


# -- normalization -----------------------------------------------------------------------------------
def explain_norm(step, position=None):
    """BatchNormalization (over every axis but the features: here, the sample's positions) and
    LayerNormalization (over the last axis)."""
    layer = step.layer
    batch = type(layer).__name__ == "BatchNormalization"
    x, gy = step.x, step.gy
    pos = pick(position, step.y.shape, [d // 2 for d in step.y.shape[:-1]] + [0])
    ch = pos[-1]
    if batch:  # one sample: the batch axis has one entry, the statistics run over the positions
        group, g_group, index = x[..., ch].reshape(-1), gy[..., ch].reshape(-1), np.ravel_multi_index(
            pos[:-1], x.shape[:-1]) if x.ndim > 1 else 0
    else:
        group, g_group, index = x[pos[:-1]].reshape(-1), gy[pos[:-1]].reshape(-1), ch
    n = group.size
    eps = layer.epsilon
    gamma = layer.gamma.data.astype(np.float64) if layer.gamma is not None else np.ones(x.shape[-1])
    beta = layer.beta.data.astype(np.float64) if layer.beta is not None else np.zeros(x.shape[-1])
    mu = float(group.mean())
    var = float(((group - mu) ** 2).mean())
    xhat = (group - mu) / np.sqrt(var + eps)
    k = index
    gs = gamma[ch] if batch else gamma
    bs = beta[ch] if batch else beta
    g_k, b_k = (gs, bs) if batch else (gamma[k], beta[k])
    where = _where(pos)
    lines = [heading(step, "position", where)]
    if batch and n == 1:
        lines.append(Line("forward", text=("note.batch1", {})))
    listed = " + ".join(step.n(v) for v in group[:8]) + (f" + <more:{n - 8}>" if n > 8 else "")
    lines.append(Line("forward", "mu", f"(<w.sumof:{n}>) / {n}", f"({listed}) / {n}", mu,
                      (step.number, "mean", pos)))
    lines.append(Line("forward", "sigma^2", f"(<w.sumsq:>) / {n}", "", var, (step.number, "var", pos)))
    lines.append(Line("forward", "xhat", "(x - mu) / sqrt(sigma^2 + eps)",
                      f"({step.n(group[k])} - {step.n(mu)}) / sqrt({step.n(var)} + {eps:g})", float(xhat[k]),
                      (step.number, "xhat", pos)))
    y = float(g_k * xhat[k] + b_k)
    lines.append(Line("forward", "y", "gamma*xhat + beta", f"{step.n(g_k)}*{step.n(xhat[k])} + {step.n(b_k)}", y,
                      (step.number, "y", pos)))
    # backward
    dxhat = g_group * (gs if batch else gamma)
    dx = (dxhat - dxhat.mean() - xhat * (dxhat * xhat).mean()) / np.sqrt(var + eps)
    lines.append(Line("backward", "dL/dy", "", "", float(g_group[k])))
    lines.append(Line("backward", "dL/dx", "(dL/dxhat - mean(dL/dxhat) - xhat*mean(dL/dxhat*xhat)) / "
                      "sqrt(sigma^2 + eps)", "", float(dx[k]), (step.number, "dx", pos)))
    if batch:
        if layer.gamma is not None:
            lines.append(Line("backward", f"dL/dgamma{ch}", "<w.sum:dL/dy*xhat>", "", float((g_group * xhat).sum()),
                              (step.number, "dgamma", (ch,))))
            _update(step, lines, "gamma", gamma, ch, f"gamma{ch}")
        if layer.beta is not None:
            lines.append(Line("backward", f"dL/dbeta{ch}", "<w.sum:dL/dy>", "", float(g_group.sum()),
                              (step.number, "dbeta", (ch,))))
            _update(step, lines, "beta", beta, ch, f"beta{ch}")
    else:
        if layer.gamma is not None:
            lines.append(Line("backward", f"dL/dgamma{k}", "dL/dy*xhat", f"{step.n(g_group[k])}*{step.n(xhat[k])}",
                              float(g_group[k] * xhat[k]), (step.number, "dgamma", (k,)) if x.ndim == 1 else None))
        if layer.beta is not None:
            lines.append(Line("backward", f"dL/dbeta{k}", "dL/dy", "", float(g_group[k]),
                              (step.number, "dbeta", (k,)) if x.ndim == 1 else None))
    return lines


# -- dropout -----------------------------------------------------------------------------------------
def explain_dropout(step, position=None, limit=8):
    layer = step.layer
    flat_x, flat_y, flat_g = step.x.reshape(-1), step.y.reshape(-1), step.gy.reshape(-1)
    scale = 1 / (1 - layer.rate)
    mask = step.mask.reshape(-1)
    start = 0 if position is None else int(np.ravel_multi_index(pick(position, step.y.shape, ()), step.y.shape))
    shown = range(start, min(start + limit, flat_x.size))
    lines = [heading(step, None, None),
             Line("forward", "scale", "1/(1 - rate)", f"1/(1 - {layer.rate:g})", scale),
             Line("forward", f"mask[{shown.start}:{shown.stop}]", "", "", mask[shown.start:shown.stop].astype(float))]
    for k in shown:
        lines.append(Line("forward", f"y{k}", f"x{k}*m{k}*scale",
                          f"{step.n(flat_x[k])}*{int(mask[k])}*{step.n(scale)}", float(flat_x[k] * mask[k] * scale),
                          (step.number, "y", np.unravel_index(k, step.y.shape))))
    for k in shown:
        lines.append(Line("backward", f"dL/dx{k}", f"dL/dy{k}*m{k}*scale",
                          f"{step.n(flat_g[k])}*{int(mask[k])}*{step.n(scale)}", float(flat_g[k] * mask[k] * scale),
                          (step.number, "dx", np.unravel_index(k, step.x.shape))))
    return lines


# -- embedding ---------------------------------------------------------------------------------------
def explain_embedding(step, position=None):
    layer = step.layer
    ids = step.x.astype(np.int64).reshape(-1)
    t = pick(position, ids.shape, (len(ids) - 1,))[0] if position is None or len(position) == 1 else \
        pick(position[:1], ids.shape, ())[0]
    token = int(ids[t])
    table = layer.embeddings.data.astype(np.float64)
    row = table[token]
    lines = [heading(step, "token", f"[{t}]"),
             Line("forward", f"<w.id:{t}>", "", "", token),
             Line("forward", f"y[{t}]", f"E[{token}]", "", row, (step.number, "y", (t,)))]
    steps = [s for s in range(len(ids)) if ids[s] == token]
    gy = step.gy.reshape(len(ids), -1)
    d_row = gy[steps].sum(axis=0)
    lines.append(Line("backward", f"dL/dE[{token}]", " + ".join(f"dL/dy[{s}]" for s in steps), "", d_row,
                      (step.number, "dE", (token,))))
    lines.append(Line("update", f"E[{token}] <- E[{token}] - eta*dL/dE[{token}]", "", "", row - step.eta * d_row,
                      (step.number, "new", "embeddings", (token,))))
    return lines
