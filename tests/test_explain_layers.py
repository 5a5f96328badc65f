"""explain on every layer type: each number it prints equals what autograd computes."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.cli import main as cli
from glassnet.explanation import explain

ETA = 0.1


def float64_model(layers, input_shape, loss, seed=0):
    model = gn.Sequential(layers, seed=seed)
    for layer in model.layers:
        layer.dtype = np.dtype(np.float64)
    model.build((None, *input_shape))
    model.built = True
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    model.compile(optimizer="sgd", loss=loss)
    return model


def oracle(model, x, y):
    """Per layer: input, output, dL/doutput, dL/dinput, by autograd; parameter gradients by one
    whole-model backward (no cuts), as a training step computes them."""
    layers = model.layers
    for k, layer in enumerate(l for l in layers if isinstance(l, nn.Dropout)):
        layer.rng = np.random.default_rng(k)
    saved = [(b, b.data.copy()) for _, b in model.named_buffers()]
    ids = isinstance(layers[0], nn.Embedding)
    h = gn.Tensor(np.asarray(x)[None]) if ids else gn.Tensor(np.asarray(x, dtype=np.float64)[None], requires_grad=True)
    ins, outs = [], []
    for layer in layers:
        ins.append(h)
        out = layer(h)
        outs.append(out)
        h = gn.Tensor(out.data.copy(), requires_grad=True)
    t = target(model, y, h.shape[-1])
    model.loss(t, h).backward()
    grads = [h.grad]
    for k in reversed(range(len(layers))):
        outs[k].backward(grads[0])
        grads.insert(0, ins[k].grad)
    for b, data in saved:
        b.data[...] = data
    # the parameter gradients again, through the whole model at once
    for p in model.parameters():
        p.grad = None
    for k, layer in enumerate(l for l in layers if isinstance(l, nn.Dropout)):
        layer.rng = np.random.default_rng(k)
    model.loss(t, model(gn.Tensor(np.asarray(x)[None]) if ids else
                              gn.Tensor(np.asarray(x, dtype=np.float64)[None]))).backward()
    for b, data in saved:
        b.data[...] = data
    return [{"x": ins[k].data[0], "y": outs[k].data[0], "gy": grads[k + 1][0],
             "gx": None if grads[k] is None else grads[k][0],
             "params": {n: (p.data, p.grad) for n, p in layer.named_parameters()}}
            for k, layer in enumerate(layers)]


def target(model, y, outputs):
    t = np.asarray(y, dtype=np.float64).reshape(-1)
    if isinstance(model.loss, gn.nn.losses.SparseCategoricalCrossentropy):
        return t.astype(np.int64)
    return (np.eye(outputs)[int(t[0])] if t.size == 1 and outputs > 1 else t)[None]


PARAM = {"dW": "kernel", "db": "bias", "dgamma": "gamma", "dbeta": "beta", "dE": "embeddings"}


def truth_for(key, layers, model):
    number, kind, *rest = key
    o = layers[number - 1]
    layer = model.layers[number - 1]
    if kind == "y":
        return o["y"][tuple(rest[0])]
    if kind == "dx":
        return o["gx"][tuple(rest[0])]
    if kind in PARAM and rest[0] not in ("row0", "all"):
        return o["params"][PARAM[kind]][1][tuple(rest[0])]
    if kind == "new":
        data, grad = o["params"][rest[0]]
        return data[tuple(rest[1])] - ETA * grad[tuple(rest[1])]
    if kind in ("dW", "dU", "db"):  # recurrent: whole gradients
        name = {"dW": "kernel", "dU": "recurrent_kernel", "db": "bias"}[kind]
        grad = o["params"][name][1]
        return grad[0] if rest[0] == "row0" else grad
    if kind == "z":  # a pre-activation: the same layer without its activation
        return _linear_twin(layer, o["x"])[tuple(rest[0])]
    if kind == "dz" and isinstance(layer, nn.Dense):
        z = gn.Tensor(_linear_twin(layer, o["x"]), requires_grad=True)
        out = layer.activation(z)
        if number == len(layers):
            model.loss(target(model, model._explain_y, out.shape[-1]), out[None]).backward()
        else:
            out.backward(o["gy"])
        return z.grad[tuple(rest[0])]
    if kind == "dz":  # conv: dL/dz = dL/dy * f'(z)
        z = gn.Tensor(_linear_twin(layer, o["x"]), requires_grad=True)
        layer.activation(z).backward(o["gy"])
        return z.grad[tuple(rest[0])]
    if kind in ("mean", "var", "xhat"):
        x = gn.Tensor(o["x"][None])
        axes = tuple(range(x.ndim - 1)) if isinstance(layer, nn.BatchNormalization) else (-1,)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) * (x - mean)).mean(axis=axes, keepdims=True)
        xhat = (x - mean) / (var + layer.epsilon).sqrt()
        value = {"mean": mean, "var": var, "xhat": xhat}[kind].data
        return np.broadcast_to(value, x.shape)[(0, *rest[0])]
    raise KeyError(key)


def _linear_twin(layer, x):
    if isinstance(layer, nn.Dense):
        return x @ layer.kernel.data + layer.bias.data
    saved = layer.activation
    layer.activation = gn.nn.activations.get("linear")
    try:
        return layer(gn.Tensor(x[None])).data[0]
    finally:
        layer.activation = saved


def check(model, x, y, unchecked=(), **options):
    e = explain(model, x, y, learning_rate=ETA, **options)
    model._explain_y = y
    layers = oracle(model, x, y)
    values = e.values()
    for key, value in values.items():
        if key == ("loss",) or key[1] in unchecked:
            continue
        np.testing.assert_allclose(value, truth_for(key, layers, model), rtol=1e-8, atol=1e-10, err_msg=str(key))
    return e, str(e)


def test_conv2d_pooling_batchnorm_dropout_softmax():
    model = float64_model([nn.Conv2D(2, 3, padding="same", activation="tanh"), nn.BatchNormalization(),
                           nn.MaxPooling2D(2), nn.Conv2D(2, 2, activation="relu"), nn.AveragePooling2D(1),
                           nn.Flatten(), nn.Dropout(0.5), nn.Dense(3, activation="softmax")], (6, 6, 1),
                          "categorical_crossentropy", seed=2)
    x = np.random.default_rng(0).normal(size=(6, 6, 1))
    e, text = check(model, x, [0.0, 0.0, 1.0], position={1: (2, 1, 1), 2: (2, 1, 1), 3: (1, 0, 1)})
    assert "layer 1: Conv2D, position [2, 1, 1] of output shape (6, 6, 2)" in text
    assert "window of y[2, 1, 1] = [[" in text and "kernel W[..., 1] = " in text
    assert "+ b1 = " in text and "y = tanh(z) = " in text
    assert "layer 3: MaxPooling2D, position [1, 0, 1]" in text and "winner x[" in text
    assert "mu = (sum of the 36 values) / 36" in text and "xhat = (x - mu) / sqrt(sigma^2 + eps)" in text
    assert "scale = 1/(1 - rate) = 1/(1 - 0.5) = 2" in text and "mask[0:8] = [" in text
    assert "a2 = exp(z2) / (exp(z0) + exp(z1) + exp(z2))" in text
    assert "L = -(y0*log(a0) + y1*log(a1) + y2*log(a2)) = -log(a2) = -log(0." in text
    assert "dL/dz2 = a2 - y2 = " in text
    for part in ("dL/dgamma1 = sum of dL/dy*xhat", "gamma1 <- gamma1 - eta*dL/dgamma1", "dL/db1 = sum over all"):
        assert part in text, part
    fresh = float64_model([nn.Conv2D(2, 3, padding="same"), nn.BatchNormalization(), nn.Flatten(),
                           nn.Dropout(0.5), nn.Dense(1)], (3, 3, 1), "mse")
    rng = fresh.layers[3].rng
    explain(fresh, np.ones((3, 3, 1)), [1.0])
    assert fresh.layers[1].moving_mean.data.tolist() == [0.0, 0.0]  # the model is left as it was
    assert all(p.grad is None for p in fresh.parameters()) and fresh.layers[3].rng is rng
    zh = e.render("text", "zh")
    for word in ("y[2, 1, 1] 的窗口", "卷积核 W[..., 1]", "最大值来自 x[", "所有位置上 dL/dz 之和", "36 个值之和",
                 "第 1 层:Conv2D,输出形状 (6, 6, 2) 中的位置 [2, 1, 1]", "目标类别 2"):
        assert word in zh, word
    for english in ("window", "kernel", "winner", "sum over", "sum of", "layer", "target", "more terms"):
        assert english not in zh, english


def test_conv1d_average_pooling_layer_norm():
    model = float64_model([nn.Conv1D(3, 2, activation="relu"), nn.AveragePooling1D(2), nn.LayerNormalization(),
                           nn.Flatten(), nn.Dense(1, activation="sigmoid")], (7, 2), "binary_crossentropy", seed=1)
    x = np.random.default_rng(1).normal(size=(7, 2))
    e, text = check(model, x, [1.0])
    assert "layer 1: Conv1D, position [3, 0]" in text and "layer 2: AveragePooling1D" in text
    assert "dL/dy / 2" in text and "LayerNormalization" in text
    assert "target y = 1" in text


def test_embedding_and_recurrent_layers():
    for cell in (nn.SimpleRNN(3), nn.LSTM(3), nn.GRU(3)):
        model = float64_model([nn.Embedding(6, 2), cell, nn.Dense(2, activation="softmax")], (5,),
                              "sparse_categorical_crossentropy", seed=3)
        ids = np.array([1, 4, 1, 0, 5])
        e, text = check(model, ids, [1], unchecked={"gate", "h", "c", "dh", "dc", "dz", "dgate", "dh_prev",
                                                    "dc_prev"}, step=2)  # these: check_recurrent_steps
        kind = type(cell).__name__
        assert f"layer 2: {kind}, time step 2 of 5" in text
        assert "y[4] = E[5] = [" in text and "dL/dE[5] = dL/dy[4] = [" in text
        assert "E[5] <- E[5] - eta*dL/dE[5]" in text
        check_recurrent_steps(model, ids, e)
        zh = e.render("text", "zh")
        assert "各时间步 x_t^T·dL/dz_t 之和" in zh and "第 4 步的编号" in zh and "sum over" not in zh
        if kind == "LSTM":
            for part in ("z_i = x_2·W_i + h_1·U_i + b_i", "i = sigmoid(z_i)", "g = tanh(z_g)", "c_2 = f*c_1 + i*g",
                         "h_2 = o*tanh(c_2)", "dL/dc_2 = dL/dh_2*o*(1 - tanh(c_2)^2)", "dL/dz_f = dL/df*f*(1 - f)"):
                assert part in text, part
        if kind == "GRU":
            assert "z_n = x_2·W_n + b_n + r*(h_1·U_n + b'_n)" in text and "h_2 = z*h_1 + (1 - z)*n" in text


def check_recurrent_steps(model, ids, e):
    """The states and their gradients at every step, by autograd (initial_state cuts the sequence)."""
    emb, cell, dense = model.layers
    x = emb(gn.Tensor(ids[None])).data
    values = e.values()
    t = 2
    cell.return_sequences = True  # the layer's own op, all the states
    hs = np.array(cell(gn.Tensor(x)).data[0])
    cell.return_sequences = False
    np.testing.assert_allclose(values[(2, "h", t)], hs[t], rtol=1e-10)
    if isinstance(cell, nn.LSTM):  # c_t: run t + 1 steps with return_state
        cell.return_state = True
        _, h_t, c_t = cell(gn.Tensor(x[:, :t + 1]))
        cell.return_state = False
        np.testing.assert_allclose(values[(2, "c", t)], c_t.data[0], rtol=1e-10)
        h_leaf, c_leaf = gn.Tensor(np.array(h_t.data), requires_grad=True), gn.Tensor(np.array(c_t.data),
                                                                                      requires_grad=True)
        rest = cell(gn.Tensor(x[:, t + 1:]), initial_state=[h_leaf, c_leaf])
    else:
        h_leaf = gn.Tensor(hs[t][None], requires_grad=True)
        rest = cell(gn.Tensor(x[:, t + 1:]), initial_state=h_leaf)
    label = np.array([1])
    model.loss(label, dense(rest)).backward()
    dh_total = h_leaf.grad[0]  # the output is the last state only: no direct gradient at step t
    np.testing.assert_allclose(values[(2, "dh", t)], dh_total, rtol=1e-8)
    dc_future = c_leaf.grad[0] if isinstance(cell, nn.LSTM) else None
    if isinstance(cell, nn.LSTM):
        c = c_t.data[0]
        o = h_t.data[0] / np.tanh(c)
        np.testing.assert_allclose(values[(2, "dc", t)], dc_future + dh_total * o * (1 - np.tanh(c) ** 2), rtol=1e-8)
        cell.return_state = True
        _, _, c_prev = cell(gn.Tensor(x[:, :t]))
        cell.return_state = False
        c_prev = c_prev.data[0]
    else:
        c_prev = None
    truth = one_step(cell, x[0, t], hs[t - 1], c_prev, dh_total, dc_future)
    checked = 0
    for key, value in values.items():
        if key[0] == 2 and key[1] in ("gate", "dgate", "dz", "dh_prev", "dc_prev"):
            np.testing.assert_allclose(value, truth[key[1:-1]], rtol=1e-7, atol=1e-12, err_msg=str(key))
            checked += 1
    assert checked == {"SimpleRNN": 3, "LSTM": 18, "GRU": 13}[type(cell).__name__]


def one_step(cell, x_t, h_prev, c_prev, dh, dc_future):
    """Step t by Tensor ops, three times: leaves at h_{t-1} (and c_{t-1}), at the gates' values, and at
    their pre-activations; backward from dL/dh_t (and dL/dc_t through step t + 1)."""
    units = cell.units
    w, u, b = (p.data for p in (cell.kernel, cell.recurrent_kernel, cell.bias))
    kind = type(cell).__name__
    T = lambda a, grad=False: gn.Tensor(np.array(a, dtype=np.float64), requires_grad=grad)  # noqa: E731
    out = {}

    def finish(h_new, c_new=None):
        total = (h_new * T(dh)).sum()
        if c_new is not None:
            total = total + (c_new * T(dc_future)).sum()
        total.backward()

    if kind == "SimpleRNN":
        z = T(x_t @ w + h_prev @ u + b, True)
        out[("gate", "z")] = z.data
        finish(z.tanh())
        out[("dz", "z")] = z.grad
        hp = T(h_prev, True)
        finish((T(x_t) @ T(w) + hp @ T(u) + T(b)).tanh())
        out[("dh_prev",)] = hp.grad
        return out
    if kind == "LSTM":
        zs = x_t @ w + h_prev @ u + b
        pre = {g: T(zs[k * units:(k + 1) * units], True) for k, g in enumerate("ifgo")}
        acts = {g: (pre[g].tanh() if g == "g" else pre[g].sigmoid()) for g in "ifgo"}
        for g in "ifgo":
            out[("gate", f"z_{g}")], out[("gate", g)] = pre[g].data, acts[g].data
        leaves = {g: T(acts[g].data, True) for g in "ifgo"}
        c_new = leaves["f"] * T(c_prev) + leaves["i"] * leaves["g"]
        finish(leaves["o"] * c_new.tanh(), c_new)
        for g in "ifgo":
            out[("dgate", g)] = leaves[g].grad
        c_new = acts["f"] * T(c_prev) + acts["i"] * acts["g"]
        finish(acts["o"] * c_new.tanh(), c_new)
        for g in "ifgo":
            out[("dz", g)] = pre[g].grad
        hp, cp = T(h_prev, True), T(c_prev, True)
        z = T(x_t) @ T(w) + hp @ T(u) + T(b)
        i, f, g, o = (z[k * units:(k + 1) * units] for k in range(4))
        c_new = f.sigmoid() * cp + i.sigmoid() * g.tanh()
        finish(o.sigmoid() * c_new.tanh(), c_new)
        out[("dh_prev",)], out[("dc_prev",)] = hp.grad, cp.grad
        return out
    xw, hu = x_t @ w + b[0], h_prev @ u + b[1]
    pre_z, pre_r = T(xw[:units] + hu[:units], True), T(xw[units:2 * units] + hu[units:2 * units], True)
    zg, r = pre_z.sigmoid(), pre_r.sigmoid()
    pre_n = T(xw[2 * units:] + r.data * hu[2 * units:], True)
    n = pre_n.tanh()
    for name, t in (("z_z", pre_z), ("z", zg), ("z_r", pre_r), ("r", r), ("z_n", pre_n), ("n", n)):
        out[("gate", name)] = t.data
    leaves = {g: T(a.data, True) for g, a in (("z", zg), ("r", r), ("n", n))}
    finish(leaves["n"] + leaves["z"] * (T(h_prev) - leaves["n"]))
    out[("dgate", "z")], out[("dgate", "n")] = leaves["z"].grad, leaves["n"].grad
    r_leaf = T(r.data, True)
    finish((T(xw[2 * units:]) + r_leaf * T(hu[2 * units:])).tanh() * (1 - T(zg.data)) + T(zg.data) * T(h_prev))
    out[("dgate", "r")] = r_leaf.grad
    n_full = (T(xw[2 * units:]) + r * T(hu[2 * units:])).tanh()
    finish(n_full + zg * (T(h_prev) - n_full))
    out[("dz", "z")], out[("dz", "r")] = pre_z.grad, pre_r.grad
    finish(n + T(zg.data) * (T(h_prev) - n))
    out[("dz", "n")] = pre_n.grad
    hp = T(h_prev, True)
    xw_t, hu_t = T(x_t) @ T(w) + T(b[0]), hp @ T(u) + T(b[1])
    zz = (xw_t[:units] + hu_t[:units]).sigmoid()
    rr = (xw_t[units:2 * units] + hu_t[units:2 * units]).sigmoid()
    nn_ = (xw_t[2 * units:] + rr * hu_t[2 * units:]).tanh()
    finish(nn_ + zz * (hp - nn_))
    out[("dh_prev",)] = hp.grad
    return out


def test_positions_steps_and_errors(capsys, tmp_path):
    model = float64_model([nn.Conv2D(1, 2), nn.Flatten(), nn.Dense(1)], (3, 3, 1), "mse")
    with pytest.raises(ValueError, match=r"position must index an output of shape \(2, 2, 1\)"):
        explain(model, np.zeros((3, 3, 1)), [0.5], position={1: (5, 0, 0)})
    rnn = float64_model([nn.SimpleRNN(2), nn.Dense(1)], (4, 1), "mse")
    with pytest.raises(ValueError, match=r"step must be a time step in \[0, 4\); received: step=9"):
        explain(rnn, np.zeros((4, 1)), [0.5], step=9)
    gru = float64_model([nn.GRU(2, reset_after=False), nn.Dense(1)], (4, 1), "mse")
    with pytest.raises(ValueError, match=r"GRU layers with reset_after=True .* this one has reset_after=False"):
        explain(gru, np.zeros((4, 1)), [0.5])
    rnn.save(tmp_path / "rnn.gnet")
    assert cli(["explain", "--model", str(tmp_path / "rnn.gnet"), "--x", "0.1,0.2,0.3,0.4", "--y", "0.5",
                "--step", "1", "--lang", "zh"]) == 0  # a flat --x takes the model's input shape
    out = capsys.readouterr().out
    assert "第 1 层:SimpleRNN,第 1 个时间步(共 4 步)" in out and "目标值 y = 0.5" in out
    with pytest.raises(ValueError, match=r"one sample of shape \(4, 1\) \(no batch axis\); received shape \(3,\)"):
        explain(rnn, np.zeros(3), [0.5])
    conv = float64_model([nn.Conv2D(2, 2), nn.Flatten(), nn.Dense(2, activation="softmax")], (3, 3, 1),
                         "categorical_crossentropy")
    conv.save(tmp_path / "conv.gnet")
    assert cli(["explain", "--model", str(tmp_path / "conv.gnet"), "--x", ",".join(["0.5"] * 9), "--y", "1",
                "--position", "1,0,1", "--format", "html", "--out", str(tmp_path / "c.html")]) == 0
    page = (tmp_path / "c.html").read_text()
    assert "layer 1: Conv2D, position [1, 0, 1] of output shape (2, 2, 2)" in page and "<math" in page
