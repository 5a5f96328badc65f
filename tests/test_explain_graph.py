"""explain(tensor), seed 003's examples and the graph drawing: every number equals autograd's."""
import copy
import os
import pathlib
import re
import shutil

import numpy as np
import pytest
from PIL import Image

import glassnet as gn
from glassnet.cli import main as cli
from glassnet.explanation import example, explain
from glassnet.explanation.graph import build_graph
from glassnet.explanation.seed003 import X3, Y3, explain_logistic, graph_example

BUILD = pathlib.Path(__file__).resolve().parents[1] / "build"


def leaf(value, name=None):
    return gn.Tensor(np.asarray(value, dtype=np.float64), requires_grad=True, name=name)


def autograd_gradient(graph, node):
    """dJ/d(node) by Tensor.backward: replay the graph with ``node`` made a leaf."""
    made = {}
    for n in graph.nodes:
        if n is node or n.op in ("", "const"):
            made[id(n)] = gn.Tensor(n.value.copy(), requires_grad=n.op != "const" or n is node)
    for n in graph.ops():
        if n is not node:
            made[id(n)] = copy.copy(n.tensor.grad_fn)(*[made[id(x)] for x in n.inputs])
    made[id(graph.output)].backward()
    return made[id(node)].grad


def check_graph(J):
    e = explain(J)
    graph = build_graph(J)
    values = e.values()
    text = e.to_text()
    for n in graph.nodes:
        if n.op == "const" or ("value", n.name) not in values:  # constants, and ops summarised
            assert n.op == "const" or len(graph.ops()) > 40
            continue
        np.testing.assert_allclose(values[("value", n.name)], n.value, rtol=1e-12)
        truth = autograd_gradient(graph, n) if n is not graph.output else np.ones(())
        if n is not graph.output:
            np.testing.assert_allclose(values[("grad", n.name)], truth, rtol=1e-9, atol=1e-12, err_msg=n.name)
            assert f"dJ/d{n.name} = " in text
    leaves = graph.leaves()
    J.backward(retain_graph=True)  # the leaves' gradients as the user gets them
    for n in leaves:
        np.testing.assert_allclose(values[("grad", n.name)], n.tensor.grad, rtol=1e-9, err_msg=n.name)
    return e, text


def test_seed_003_graph_in_the_seed_notation():
    e, text = check_graph(graph_example())
    for expected in ("u = b*c = 3*2 = 6", "v = a + u = 5 + 6 = 11", "J = 3*v = 3*11 = 33", "dJ/dv = 3\n",
                     "dJ/da = dJ/dv * dv/da = 3*1 = 3", "dJ/du = dJ/dv * dv/du = 3*1 = 3",
                     "dJ/db = dJ/du * du/db = 3*c = 3*2 = 6", "dJ/dc = dJ/du * du/dc = 3*b = 3*3 = 9"):
        assert expected in text, expected
    order = [text.index(f"dJ/d{n} = ") for n in "vaubc"]  # backward from J, as the seed walks it
    assert order == sorted(order)
    assert text.startswith("Forward and backward pass of J = 3*(a + b*c)")


def test_a_value_used_twice_adds_its_contributions():
    a, b = leaf(2.0, "a"), leaf(3.0, "b")
    e, text = check_graph(a * a + a * b)
    assert "dJ/da = dJ/du * du/da + dJ/du * du/da + dJ/dv * dv/da = 1*a + 1*a + 1*b = 1*2 + 1*2 + 1*3 = 7" in text
    assert "a is used 3 times: its gradient is the sum of the contributions" in text
    x, y = leaf(2.0), leaf(3.0)
    u = x * y
    check_graph((u + x) * u.exp().log() / y)  # exp, log, division, a shared intermediate


def test_vectors_and_activations():
    w, b = leaf([0.01, 0.01], "w"), leaf(1.0, "b")
    x = gn.Tensor(np.array([3.0, 4.0]))
    a = (w @ x + b).sigmoid()
    e, text = check_graph(-(a.log()))
    assert "w = [0.01, 0.01]" in text and "k1 = [3, 4]" in text
    z = leaf([0.5, -1.0, 2.0], "z")
    check_graph((z.tanh() * z.relu()).sum() + (z * z).mean().sqrt())


def test_large_graph_is_summarised_and_released_graph_is_an_error(tmp_path):
    x = leaf(0.5, "x")
    y = x
    for k in range(60):
        y = y * 0.9 + x if k % 2 else y.tanh()
    e, text = check_graph(y)
    assert "nodes (" in text and len(text.splitlines()) < 120
    svg = gn.pictures.graph_diagram(y, tmp_path / "big.svg")
    assert "earlier ops not drawn" in pathlib.Path(svg).read_text()
    y.backward()
    with pytest.raises(ValueError, match="released by backward"):
        explain(y)
    with pytest.raises(ValueError, match="scalar Tensor"):
        explain(leaf([1.0, 2.0]) * 2)


def test_logistic_regression_every_number_matches_autograd():
    e = explain_logistic(learning_rate=0.1)
    values, text = e.values(), e.to_text()
    w, b = leaf([0.01, 0.01]), leaf(1.0)
    x = gn.Tensor(np.array([3.0, 4.0]))
    z = w @ x + b
    z_leaf = leaf(z.data)
    a = z_leaf.sigmoid()
    a_leaf = leaf(a.data)
    loss = -(1.0 * a_leaf.log() + 0.0 * (1 - a_leaf).log())
    loss.backward()
    (z.sigmoid().log() * -1.0).backward()
    (-(z_leaf.sigmoid().log())).backward()
    truth = {("z",): z.item(), ("a",): a.item(), ("loss",): loss.item(), ("da",): a_leaf.grad,
             ("dz",): z_leaf.grad, ("dw", 0): w.grad[0], ("dw", 1): w.grad[1], ("db",): b.grad,
             ("w_new", 0): 0.01 - 0.1 * w.grad[0], ("w_new", 1): 0.01 - 0.1 * w.grad[1], ("b_new",): 1 - 0.1 * b.grad}
    # the three samples: J = mean of the losses, by autograd
    W, B = leaf([0.01, 0.01]), leaf(1.0)
    Z = gn.Tensor(X3) @ W + B
    Z_leaf = leaf(Z.data)
    A = Z_leaf.sigmoid()
    J = -(gn.Tensor(Y3) * A.log() + gn.Tensor(1 - Y3) * (1 - A).log()).mean()
    J.backward()
    (-(gn.Tensor(Y3) * (Z.sigmoid()).log() + gn.Tensor(1 - Y3) * (1 - Z.sigmoid()).log()).mean()).backward()
    truth.update({("J",): J.item(), ("dB",): B.grad, ("B_new",): 1 - 0.1 * B.grad})
    for k in range(3):
        truth[("Z", k)], truth[("A", k)] = Z.data[k], A.data[k]
        truth[("dZ", k)] = 3 * Z_leaf.grad[k]  # Ng's dz(i) is dL(i)/dz(i) = m * dJ/dz(i)
    for i in range(2):
        truth[("dW", i)], truth[("W_new", i)] = W.grad[i], 0.01 - 0.1 * W.grad[i]
    assert set(values) == set(truth)
    for key, value in values.items():
        np.testing.assert_allclose(value, truth[key], rtol=1e-12, atol=1e-15, err_msg=str(key))
    for expected in ("z = w1*x1 + w2*x2 + b = 0.01*3 + 0.01*4 + 1 = 1.07", "= 0.7445969158274759\n",
                     "= 0.29491225960491124\n", "dz = dL/dz = da * a*(1 - a) = a - y = 0.7445969158274759 - 1 = ",
                     "J = (L(1) + L(2) + L(3)) / m = ", "= 0.6541488512601813\n", "db = (dz(1) + dz(2) + dz(3)) / m",
                     "= 0.07602078677077188\n", "dw = X^T·dZ / m = [0.4860103637164739, 0.3047216957899314]",
                     "b <- b - eta*db = 1 - 0.1*(-0.2554030841725241) = "):
        assert expected in text, expected


def test_formats_languages_and_cli(tmp_path, capsys):
    e = example("graph")
    md, page, zh = e.render("markdown"), e.render("html", "zh"), e.render("text", "zh")
    assert r"$$\frac{\partial J}{\partial b} = \frac{\partial J}{\partial u} \cdot \frac{\partial u}{\partial b}" in md
    assert "<svg" in page and page.count('class="node"') == 7 and "<mfrac>" in page and "Noto Sans CJK SC" in page
    assert "前向与反向传播" in zh and "反向传播(链式法则)" in zh and "值 33" in page and "梯度 6" in page
    assert cli(["explain", "--example", "graph"]) == 0
    assert "dJ/dc = dJ/du * du/dc = 3*b = 3*3 = 9" in capsys.readouterr().out
    assert cli(["explain", "--example", "logistic", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "向量化" in out and "0.6541488512601813" in out
    assert cli(["explain", "--example", "logistic", "--format", "html", "--out", str(tmp_path / "l.html")]) == 0
    assert "0.29491225960491124" in (tmp_path / "l.html").read_text()


def test_graph_drawing_svg_and_png():
    BUILD.mkdir(exist_ok=True)
    svg = pathlib.Path(gn.pictures.graph_diagram(graph_example(), BUILD / "graph-seed003.svg")).read_text()
    assert svg.startswith("<svg") and svg.count('class="node"') == 7 and svg.count("marker-end=") == 6
    for text in ("u = b*c", "v = a + u", "J = 3*v", "value 33", "grad 6", "grad 9"):
        assert text in svg, text
    png = Image.open(gn.pictures.graph_diagram(graph_example(), BUILD / "graph-seed003.png"))
    assert png.format == "PNG" and png.size[0] > 600
    assert len(np.unique(np.asarray(png.convert("RGB")).reshape(-1, 3), axis=0)) > 20  # boxes, text, arrows
    with pytest.raises(ValueError, match="writes .svg or .png files"):
        gn.pictures.graph_diagram(graph_example(), BUILD / "g.pdf")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_html_page_in_a_browser_wraps_and_shows_the_drawing(tmp_path):
    """The page of seed 003's graph and a wide network's page: nothing runs off the right edge."""
    assert os.path.exists(CHROMIUM), "the browser tests need Debian's chromium: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    (tmp_path / "graph.html").write_text(example("graph").render("html"))
    (tmp_path / "graph-zh.html").write_text(example("graph").render("html", "zh"))
    model = gn.Sequential([gn.nn.Dense(8, activation="relu"), gn.nn.Dense(1, activation="sigmoid")], seed=0)
    model.compile(loss="binary_crossentropy")
    model.build((None, 8))
    (tmp_path / "wide.html").write_text(explain(model, np.linspace(-1, 1, 8), [1.0]).render("html"))
    lstm = gn.Sequential([gn.nn.Embedding(5, 3), gn.nn.LSTM(6), gn.nn.Dense(2, activation="softmax")], seed=0)
    lstm.compile(loss="sparse_categorical_crossentropy")
    lstm.build((None, 4))
    lstm.built = True
    (tmp_path / "lstm.html").write_text(explain(lstm, np.array([1, 2, 3, 4]), [1]).render("html", "zh"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 700, "height": 900})
        for name in ("graph", "graph-zh", "wide", "lstm"):
            page.goto((tmp_path / f"{name}.html").as_uri())
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"
        page.goto((tmp_path / "graph.html").as_uri())
        assert page.locator("svg g.node").count() == 7
        BUILD.mkdir(exist_ok=True)
        page.screenshot(path=str(BUILD / "explain-graph-seed003.png"), full_page=True)
        browser.close()
    assert Image.open(BUILD / "explain-graph-seed003.png").size[0] == 700
