"""explain: every number it prints equals what autograd computes."""
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.cli import main as cli
from glassnet.explanation import explain, seed_example


def autograd_values(model, x, y, eta):
    """Every quantity explain prints, computed by the engine: forward values, loss, gradients, updates."""
    dense = [layer for layer in model.layers if isinstance(layer, nn.Dense)]
    values = {}
    a = gn.Tensor(np.asarray(x, dtype=np.float64)[None, :])
    if isinstance(model.layers[0], nn.Rescaling):
        a = model.layers[0](a)
    for p in model.parameters():
        p.grad = None
    for l, layer in enumerate(dense):
        z = layer(a, apply_activation=False)
        a = layer.activation(z)
        for j in range(layer.units):
            values[("z", l, j)], values[("a", l, j)] = z.data[0, j], a.data[0, j]
    loss = model.loss(np.asarray(y, dtype=np.float64).reshape(1, -1), a)
    loss.backward()
    values[("loss",)] = loss.item()
    for l, layer in enumerate(dense):
        for j in range(layer.units):
            values[("db", l, j)] = values[("dz", l, j)] = layer.bias.grad[j]
            values[("b_new", l, j)] = layer.bias.data[j] - eta * layer.bias.grad[j]
            for i in range(layer.input_dim):
                values[("dw", l, i, j)] = layer.kernel.grad[i, j]
                values[("w_new", l, i, j)] = layer.kernel.data[i, j] - eta * layer.kernel.grad[i, j]
    return values


def check_every_number(model, x, y, eta=0.1):
    e = explain(model, x, y, learning_rate=eta)
    truth = autograd_values(model, x, y, eta)
    keyed = [line for line in e.lines if line.key is not None]
    assert {line.key for line in keyed} == set(truth)  # every quantity is shown, nothing else
    text = e.to_text()
    for line in keyed:
        np.testing.assert_allclose(line.value, truth[line.key], rtol=1e-9, atol=1e-12, err_msg=str(line))
        assert f"{line.value + 0.0:.6g}" in text
    return e


def test_seed_000_section_3_4_every_number_matches_autograd():
    model, x, y = seed_example()
    e = check_every_number(model, x, y)
    text = e.to_text()
    for expected in ("z1 = w11*x1 + w21*x2 + b1 = 0.3*0.5 + 0.2*1.2 + 0.05 = 0.44", "a1 = relu(z1) = 0.44",
                     "a2 = relu(z2) = 0", "z3 = w31*a1 + w32*a2 + b3", "dL/dz3 = a3 - y = 0.624338 - 1 = -0.375662",
                     "dL/dw31 = dL/dz3*a1 = (-0.375662)*0.44 = -0.165291",
                     "w31 <- w31 - eta*dL/dw31 = 0.7 - 0.1*(-0.165291) = 0.716529"):
        assert expected in text, expected


def float64_model(layers, features, loss, seed=0):
    model = gn.Sequential(layers, seed=seed)
    for layer in model.layers:
        layer.dtype = np.dtype(np.float64)
    model.build((None, features))
    model.built = True
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    model.compile(optimizer="sgd", loss=loss)
    return model


@pytest.mark.parametrize("build,loss,y", [
    (lambda: [nn.Dense(4, activation="tanh"), nn.Dense(3, activation="softmax")], "categorical_crossentropy",
     [0.0, 1.0, 0.0]),
    (lambda: [nn.Dense(3, activation="elu"), nn.Dense(2, activation="sigmoid")], "binary_crossentropy", [1.0, 0.0]),
    (lambda: [nn.Dense(3, activation="leaky_relu"), nn.Dense(2, activation="swish"), nn.Dense(1)], "mse", [0.7]),
    (lambda: [nn.Dense(2, activation="sigmoid"), nn.Dense(2, activation="softmax")], "mse", [0.2, 0.8]),
])
def test_other_networks_and_losses(build, loss, y):
    model = float64_model(build(), 3, loss, seed=3)
    check_every_number(model, np.array([0.3, -0.8, 1.1]), np.array(y), eta=0.05)


def test_formats_and_languages():
    model, x, y = seed_example()
    e = explain(model, x, y)
    md, page, zh = e.render("markdown"), e.render("html"), e.render("text", "zh")
    assert md.startswith("# One training step") and "$$z1 = w11 \\cdot x1" in md and r"\frac{\partial L}{\partial w31}" in md
    assert page.startswith("<!DOCTYPE html>") and "<math" in page and "<mfrac>" in page and "0.716529" in page
    assert "前向传播" in zh and "反向传播" in zh and "0.716529" in zh and "目标值 y = 1" in zh
    assert "Noto Sans CJK SC" in e.render("html", "zh") and 'class="eq"' in page
    with pytest.raises(ValueError, match="format must be one of"):
        e.render("pdf")


def test_large_layers_are_summarised():
    model = gn.Sequential([nn.Dense(32, activation="relu"), nn.Dense(2, activation="softmax")], seed=0)
    model.compile(loss="categorical_crossentropy")
    model.build((None, 20))
    model.built = True
    e = explain(model, np.linspace(0, 1, 20), [0, 1])
    text = str(e)
    assert "layer 1: 32 neurons, showing a1, a2" in text and "the other 24 neurons of layer 1: a9 ... a32" in text
    assert "+ 24 more terms + b33" in text and "+ 12 more terms + b1" in text
    assert_every_name_shown(text)
    assert len(text.splitlines()) < 240  # 8 of 32 neurons, 8 of 20 inputs
    truth = autograd_values(model, np.linspace(0, 1, 20), [0, 1], 0.1)
    for key, value in e.values().items():  # the neurons shown are exact, the sums of the rest too
        np.testing.assert_allclose(value, truth[key], rtol=1e-5, atol=1e-6, err_msg=str(key))


def assert_every_name_shown(text):
    """Every activation a<n> used on the right of a formula has its own line first."""
    defined = set()
    for line in text.splitlines():
        head, _, rest = line.strip().partition(" = ")
        used = set(re.findall(r"\ba(\d+)\b", rest))
        assert used <= defined, f"{line!r} uses a{sorted(used - defined)} before showing them"
        if re.fullmatch(r"a\d+", head):
            defined.add(head[1:])


def test_wide_playground_network_2_8_4_2_1():
    """The case that broke: 8 inputs into layer 2 over max_inputs=7 gave a summary with no values."""
    model = float64_model([nn.Dense(8, activation="tanh"), nn.Dense(4, activation="tanh"),
                           nn.Dense(2, activation="tanh"), nn.Dense(1, activation="sigmoid")], 2,
                          "binary_crossentropy", seed=1)
    e = check_every_number(model, np.array([0.4, -0.7]), np.array([1.0]))
    text = e.render("text")
    assert "too many" not in text and "|z|" not in text and "|W|" not in text
    assert_every_name_shown(text)
    assert "target y = 1" in text
    assert re.search(r"L = -\(y\*log\(a15\) \+ \(1 - y\)\*log\(1 - a15\)\) = -\(1\*log\(0\.\d+\) \+ "
                     r"\(1 - 1\)\*log\(1 - 0\.\d+\)\) = 0\.\d+", text), text
    same = explain(model, np.array([0.4, -0.7]), [1.0], max_inputs=7, max_neurons=7)
    assert "layer 1: 8 neurons, showing a1" in str(same) and "+ 1 more terms" in str(same)
    assert_every_name_shown(str(same))


def test_chosen_neurons_and_loss_formulas():
    model, x, y = seed_example()
    text = str(explain(model, x, y, neurons={1: [1]}))
    assert "a2 = relu(z2)" in text and "a1 = relu" not in text and "the other 1 neurons of layer 1: a1" in text
    with pytest.raises(ValueError, match=r"layer 1 has 2 neurons \(indices 0 to 1\); received: neurons=\{1: \[5\]\}"):
        explain(model, x, y, neurons={1: [5]})
    softmax = gn.Sequential([nn.Dense(3, activation="softmax", input_dim=2)], seed=0)
    softmax.compile(loss="sparse_categorical_crossentropy")
    text = str(explain(softmax, x, [2]))
    assert "target class 2 (one-hot y = [0, 0, 1])" in text
    assert re.search(r"L = -\(y1\*log\(a1\) \+ y2\*log\(a2\) \+ y3\*log\(a3\)\) = -log\(a3\) = -log\(0\.\d+\)", text)
    regression = gn.Sequential([nn.Dense(2, input_dim=2)], seed=0)
    regression.compile(loss="mse")
    assert re.search(r"L = \(\(a1 - y1\)\^2 \+ \(a2 - y2\)\^2\) / 2 = \(\(", str(explain(regression, x, [0.5, 1.0])))


def test_bad_models_and_inputs():
    conv = gn.Sequential([nn.Reshape((2, 2, 1)), nn.Conv2D(1, 2), nn.Flatten(), nn.Dense(1)])
    conv.build((None, 4))
    model, x, y = seed_example()
    with pytest.raises(ValueError, match="one sample with 2 features; received 3"):
        explain(model, np.zeros(3), y)


def test_cli_explain(tmp_path, capsys):
    assert cli(["explain", "--example", "seed"]) == 0
    out = capsys.readouterr().out
    assert "dL/dz3 = a3 - y" in out
    assert cli(["explain", "--format", "html", "--lang", "zh", "--out", str(tmp_path / "e.html")]) == 0
    assert "<math" in (tmp_path / "e.html").read_text()
    assert cli(["train", "--dataset", "iris", "--hidden", "4", "--epochs", "5", "--quiet",
                "--out", str(tmp_path / "run")]) == 0
    assert cli(["explain", "--model", str(tmp_path / "run" / "model.gnet"), "--x", "5.1,3.5,1.4,0.2",
                "--y", "0"]) == 0
    text = capsys.readouterr().out
    assert "rescaled features" in text and re.search(r"dL/dz5 = a5 - y1 = ", text)
    assert cli(["explain", "--model", str(tmp_path / "run" / "model.gnet")]) == 1
