"""One time step of SimpleRNN, LSTM or GRU: every gate's pre-activation and activation, the cell
state, and the gradient through that step (backpropagation through time, written out in NumPy).

Gate orders as glassnet's ops (Keras's): LSTM i, f, g (the candidate, Keras's c), o; GRU z, r, n
with the reset gate applied after the recurrent product. Keys: (layer, "gate", name, t) the
activations, (layer, "h", t), (layer, "c", t), (layer, "dx", (t,)), (layer, "dW"|"dU"|"db", "all").
"""
import numpy as np

from .render import Line


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _forward(kind, act, x, w, u, b, units):
    """Every step's gates and states: a list of dicts."""
    h, c = np.zeros(units), np.zeros(units)
    steps = []
    for t in range(len(x)):
        s = {"x": x[t], "h_prev": h, "c_prev": c}
        if kind == "SimpleRNN":
            s["z"] = x[t] @ w + h @ u + b
            h = np.tanh(s["z"]) if act == "tanh" else np.maximum(s["z"], 0)
        elif kind == "LSTM":
            z = x[t] @ w + h @ u + b
            s.update({f"z_{g}": z[k * units:(k + 1) * units] for k, g in enumerate("ifgo")})
            s["i"], s["f"], s["o"] = _sigmoid(s["z_i"]), _sigmoid(s["z_f"]), _sigmoid(s["z_o"])
            s["g"] = np.tanh(s["z_g"])
            c = s["f"] * c + s["i"] * s["g"]
            h = s["o"] * np.tanh(c)
        else:  # GRU
            xw, hu = x[t] @ w + b[0], h @ u + b[1]
            s["z_z"], s["z_r"] = xw[:units] + hu[:units], xw[units:2 * units] + hu[units:2 * units]
            s["z"], s["r"] = _sigmoid(s["z_z"]), _sigmoid(s["z_r"])
            s["hu_n"] = hu[2 * units:]
            s["z_n"] = xw[2 * units:] + s["r"] * s["hu_n"]
            s["n"] = np.tanh(s["z_n"])
            h = s["n"] + s["z"] * (h - s["n"])
        s["h"], s["c"] = h, c
        steps.append(s)
    return steps


def _backward(kind, act, steps, w, u, dh_out, units):
    """BPTT: dL/dx_t, the weight gradients, and each step's gate gradients."""
    dW, dU = np.zeros_like(w), np.zeros_like(u)
    db = np.zeros((2, 3 * units)) if kind == "GRU" else np.zeros(w.shape[1])
    dh_next, dc_next = np.zeros(units), np.zeros(units)
    dxs = np.zeros((len(steps), w.shape[0]))
    for t in reversed(range(len(steps))):
        s = steps[t]
        dh = dh_out[t] + dh_next
        s["dh"] = dh
        if kind == "SimpleRNN":
            dz = dh * ((1 - s["h"] ** 2) if act == "tanh" else (s["z"] > 0))
            s["dz"] = dz
            dW += np.outer(s["x"], dz)
            dU += np.outer(s["h_prev"], dz)
            db += dz
            dxs[t], dh_next = w @ dz, u @ dz
        elif kind == "LSTM":
            tc = np.tanh(s["c"])
            s["do"] = dh * tc
            dc = dh * s["o"] * (1 - tc ** 2) + dc_next
            s["dc"] = dc
            s["di"], s["df"], s["dg"] = dc * s["g"], dc * s["c_prev"], dc * s["i"]
            dz = np.concatenate([s["di"] * s["i"] * (1 - s["i"]), s["df"] * s["f"] * (1 - s["f"]),
                                 s["dg"] * (1 - s["g"] ** 2), s["do"] * s["o"] * (1 - s["o"])])
            s["dz"] = dz
            dW += np.outer(s["x"], dz)
            dU += np.outer(s["h_prev"], dz)
            db += dz
            dxs[t], dh_next, dc_next = w @ dz, u @ dz, dc * s["f"]
        else:
            s["dn"] = dh * (1 - s["z"])
            s["dzg"] = dh * (s["h_prev"] - s["n"])
            dzn = s["dn"] * (1 - s["n"] ** 2)
            s["dr"] = dzn * s["hu_n"]
            dzz, dzr = s["dzg"] * s["z"] * (1 - s["z"]), s["dr"] * s["r"] * (1 - s["r"])
            dx_part = np.concatenate([dzz, dzr, dzn])
            dh_part = np.concatenate([dzz, dzr, dzn * s["r"]])
            s["dz"] = dx_part
            dW += np.outer(s["x"], dx_part)
            dU += np.outer(s["h_prev"], dh_part)
            db[0] += dx_part
            db[1] += dh_part
            dxs[t], dh_next = w @ dx_part, u @ dh_part + dh * s["z"]
        s["dh_prev"] = dh_next
    return dxs, dW, dU, db


def explain_recurrent(step, time_step=None, units_shown=None, limit=8):
    layer = step.layer
    kind = type(layer).__name__
    act = getattr(layer, "activation", "tanh")
    x = step.x.astype(np.float64)
    if layer.go_backwards:
        raise ValueError(f"explain shows {kind} layers with go_backwards=False")
    if not getattr(layer, "reset_after", True):
        raise ValueError("explain shows GRU layers with reset_after=True (the default); "
                         "this one has reset_after=False")
    w, u, b = (p.data.astype(np.float64) for p in (layer.kernel, layer.recurrent_kernel, layer.bias))
    n_units, steps_count = layer.units, len(x)
    steps = _forward(kind, act, x, w, u, b, n_units)
    gy = step.gy.reshape(-1, n_units) if layer.return_sequences else step.gy.reshape(1, n_units)
    dh_out = np.zeros((steps_count, n_units))
    if layer.return_sequences:
        dh_out[:] = gy
    else:
        dh_out[-1] = gy[0]
    dxs, dW, dU, db = _backward(kind, act, steps, w, u, dh_out, n_units)
    t = steps_count - 1 if time_step is None else int(time_step)
    if not 0 <= t < steps_count:
        raise ValueError(f"step must be a time step in [0, {steps_count}); received: step={time_step}")
    shown = list(range(min(n_units, limit))) if units_shown is None else list(units_shown)
    s = steps[t]
    v = lambda a: a[shown]  # noqa: E731 - the units shown
    num = step.number
    lines = [Line("forward", text=("recurrent.step", {"n": num, "kind": kind, "t": t, "steps": steps_count,
                                                       "shown": ", ".join(map(str, shown)), "units": n_units}),
                  heading=True),
             Line("forward", f"x_{t}", "", "", s["x"]), Line("forward", f"h_{t - 1}", "", "", v(s["h_prev"]))]
    if kind == "SimpleRNN":
        lines.append(Line("forward", f"z_{t}", f"x_{t}·W + h_{t - 1}·U + b", "", v(s["z"]), (num, "gate", "z", t)))
        lines.append(Line("forward", f"h_{t}", f"{act}(z_{t})", "", v(s["h"]), (num, "h", t)))
    elif kind == "LSTM":
        lines.append(Line("forward", f"c_{t - 1}", "", "", v(s["c_prev"])))
        for g, fn in zip("ifgo", ("sigmoid", "sigmoid", "tanh", "sigmoid")):
            lines.append(Line("forward", f"z_{g}", f"x_{t}·W_{g} + h_{t - 1}·U_{g} + b_{g}", "", v(s[f"z_{g}"]),
                              (num, "gate", f"z_{g}", t)))
            lines.append(Line("forward", g, f"{fn}(z_{g})", "", v(s[g]), (num, "gate", g, t)))
        lines.append(Line("forward", f"c_{t}", f"f*c_{t - 1} + i*g", "", v(s["c"]), (num, "c", t)))
        lines.append(Line("forward", f"h_{t}", f"o*tanh(c_{t})", "", v(s["h"]), (num, "h", t)))
    else:
        for g, formula in (("z", f"x_{t}·W_z + h_{t - 1}·U_z + b_z"), ("r", f"x_{t}·W_r + h_{t - 1}·U_r + b_r"),
                           ("n", f"x_{t}·W_n + b_n + r*(h_{t - 1}·U_n + b'_n)")):
            lines.append(Line("forward", f"z_{g}", formula, "", v(s[f"z_{g}"]), (num, "gate", f"z_{g}", t)))
            lines.append(Line("forward", g, f"{'tanh' if g == 'n' else 'sigmoid'}(z_{g})", "", v(s[g]),
                              (num, "gate", g, t)))
        lines.append(Line("forward", f"h_{t}", f"z*h_{t - 1} + (1 - z)*n", "", v(s["h"]), (num, "h", t)))
    # backward through step t
    after = f" + dL/dh_{t} <w.fromstep:{t + 1}>" if t + 1 < steps_count else ""
    lines.append(Line("backward", f"dL/dh_{t}", f"dL/dy_{t}{after}", "", v(s["dh"]), (num, "dh", t)))
    if kind == "SimpleRNN":
        slope = "1 - h^2" if act == "tanh" else "relu'(z)"
        lines.append(Line("backward", f"dL/dz_{t}", f"dL/dh_{t}*({slope})", "", v(s["dz"]), (num, "dz", "z", t)))
    elif kind == "LSTM":
        lines.append(Line("backward", "dL/do", f"dL/dh_{t}*tanh(c_{t})", "", v(s["do"]), (num, "dgate", "o", t)))
        lines.append(Line("backward", f"dL/dc_{t}", f"dL/dh_{t}*o*(1 - tanh(c_{t})^2) + dL/dc_{t} <w.fromstep:{t + 1}>",
                          "", v(s["dc"]), (num, "dc", t)))
        lines += [Line("backward", "dL/di", f"dL/dc_{t}*g", "", v(s["di"]), (num, "dgate", "i", t)),
                  Line("backward", "dL/df", f"dL/dc_{t}*c_{t - 1}", "", v(s["df"]), (num, "dgate", "f", t)),
                  Line("backward", "dL/dg", f"dL/dc_{t}*i", "", v(s["dg"]), (num, "dgate", "g", t))]
        for k, (g, slope) in enumerate(zip("ifgo", ("i*(1 - i)", "f*(1 - f)", "(1 - g^2)", "o*(1 - o)"))):
            lines.append(Line("backward", f"dL/dz_{g}", f"dL/d{g}*{slope}", "",
                              s["dz"][k * n_units:(k + 1) * n_units][shown], (num, "dz", g, t)))
        lines.append(Line("backward", f"dL/dc_{t - 1}", f"dL/dc_{t}*f", "", v(s["dc"] * s["f"]), (num, "dc_prev", t)))
    else:
        lines += [Line("backward", "dL/dn", f"dL/dh_{t}*(1 - z)", "", v(s["dn"]), (num, "dgate", "n", t)),
                  Line("backward", "dL/dz", f"dL/dh_{t}*(h_{t - 1} - n)", "", v(s["dzg"]), (num, "dgate", "z", t)),
                  Line("backward", "dL/dr", "dL/dn*(1 - n^2)*(h·U_n + b'_n)", "", v(s["dr"]), (num, "dgate", "r", t))]
        for k, g in enumerate("zrn"):
            lines.append(Line("backward", f"dL/dz_{g}", {"z": "dL/dz*z*(1 - z)", "r": "dL/dr*r*(1 - r)",
                                                         "n": "dL/dn*(1 - n^2)"}[g], "",
                              s["dz"][k * n_units:(k + 1) * n_units][shown], (num, "dz", g, t)))
    lines.append(Line("backward", f"dL/dx_{t}", "dL/dz·W^T", "", dxs[t], (num, "dx", (t,))))
    lines.append(Line("backward", f"dL/dh_{t - 1}", "dL/dz·U^T" + (" + dL/dh*z" if kind == "GRU" else ""), "",
                      v(s["dh_prev"]), (num, "dh_prev", t)))
    total = "<w.steps:"
    lines.append(Line("backward", "dL/dW[0]", total + "x_t^T·dL/dz_t>", "", dW[0], (num, "dW", "row0")))
    lines.append(Line("backward", "dL/dU[0]", total + "h_(t-1)^T·dL/dz_t>", "", dU[0], (num, "dU", "row0")))
    lines.append(Line("backward", "dL/db", total + "dL/dz_t>", "", db, (num, "db", "all")))
    return lines
