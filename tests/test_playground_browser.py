"""End to end in a real browser: Debian's Chromium driven by Playwright (no browser download).

Open the page, pick xor, start training, wait until the shown test loss falls below 0.1,
pause, check the numbers shown match the server's, click a neuron; then every control past
the basics: weight links, hover preview, problem type, discretize, test data, the digits
pad, the in-page explanation, the exports, closing the page.
Screenshots go to runs/screenshots/ (or $GLASSNET_SCREENSHOTS): playground-xor.png,
playground-spirals.png (after training spirals) and playground-digits.png (after drawing).
"""
import json
import os
import pathlib
import shutil
import time
import urllib.request

import numpy as np
import pytest

import glassnet as gn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = pathlib.Path(os.environ.get("GLASSNET_SCREENSHOTS",
                                          pathlib.Path(__file__).resolve().parents[1] / "runs" / "screenshots"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def base(playground_base):
    return playground_base


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), (
        "the browser tests need Debian's chromium: apt-get install -y chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))
    return SCREENSHOTS / name


def open_page(browser, base, query, errors=None):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    page.goto(f"{base}/?{query}")
    page.wait_for_function("document.body.dataset.session")
    return page, page.evaluate("document.body.dataset.session")


def post(base, path, body):
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def server_state(base, sid):
    with urllib.request.urlopen(f"{base}/api/sessions/{sid}", timeout=10) as r:
        return json.loads(r.read())


def test_train_xor_in_the_browser(base, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 820})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/?dataset=moons&learning_rate=0.03")
    page.wait_for_function("document.body.dataset.session")
    page.click("#datasets button:has-text('xor')")  # pick xor
    page.wait_for_function("location.search.includes('dataset=xor')")
    assert page.text_content("#datasets button.active") == "xor"  # the controls follow the change
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('test-loss').textContent) < 0.1", timeout=60_000)
    page.click("#play")  # pause
    sid = page.evaluate("document.body.dataset.session")
    page.wait_for_function("document.getElementById('play').textContent.includes('start')")
    state = server_state(base, sid)
    assert not state["running"] and state["config"]["dataset"] == "xor"
    page.wait_for_function(f"document.getElementById('epoch').textContent === '{state['epoch']}'")
    assert page.text_content("#test-loss") == f"{state['test_loss']:.3f}"
    assert page.text_content("#train-loss") == f"{state['train_loss']:.3f}"
    assert state["test_loss"] < 0.1
    page.locator("canvas.neuron").first.click()
    page.wait_for_function("document.getElementById('neuron-info').textContent.includes('bias')")
    assert screenshot(page, "playground-xor.png").stat().st_size > 10_000
    assert errors == []


def test_the_url_keeps_the_setup_and_restores_it(base, browser):
    page = browser.new_page()
    page.goto(f"{base}/?dataset=circles&hidden=3,2&activation=relu&features=x1,x2,x1%5E2&learning_rate=0.1")
    page.wait_for_function("document.body.dataset.session")
    sid = page.evaluate("document.body.dataset.session")
    config = server_state(base, sid)["config"]
    assert config["dataset"] == "circles" and config["hidden"] == [3, 2] and config["activation"] == "relu"
    assert config["features"] == ["x1", "x2", "x1^2"] and config["learning_rate"] == 0.1
    page.select_option("#activation", "sigmoid")
    page.wait_for_function("location.search.includes('activation=sigmoid')")
    assert server_state(base, sid)["config"]["activation"] == "sigmoid"
    page.click("#add-layer")
    page.wait_for_function("document.querySelectorAll('.layer').length === 3")
    page.wait_for_function("location.search.includes('hidden=3%2C2%2C2')")  # set once the server answered


def test_one_bad_url_value_resets_only_that_field(base, browser):
    page = browser.new_page()
    page.goto(f"{base}/?dataset=circles&hidden=12&activation=relu")
    page.wait_for_function("document.body.dataset.session")
    config = server_state(base, page.evaluate("document.body.dataset.session"))["config"]
    assert config["dataset"] == "circles" and config["activation"] == "relu" and config["hidden"] == [8, 4]
    page.close()


LINK_WEIGHTS = "[...document.querySelectorAll('#links path')].map((p) => Number(p.dataset.weight))"


def test_spirals_weight_links_hover_preview_and_favicon(base, browser):
    errors = []
    page, sid = open_page(browser, base, "dataset=spirals&hidden=8,8&learning_rate=0.03&features=x1,x2,x1%5E2,x2%5E2,sin(x1),sin(x2)",
                          errors)
    # one link per weight: 6 inputs x 8 + 8 x 8 + 8 x 1 output
    assert page.locator("#links path").count() == 6 * 8 + 8 * 8 + 8
    assert page.locator("#features canvas").count() == 7  # each input feature has its own map
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('epoch').textContent) >= 2")
    before = page.evaluate(LINK_WEIGHTS)
    page.wait_for_function("Number(document.getElementById('epoch').textContent) >= 12", timeout=60_000)
    assert page.evaluate(LINK_WEIGHTS) != before  # the links follow the weights while training
    page.wait_for_function("Number(document.getElementById('test-loss').textContent) < 0.15", timeout=90_000)
    page.click("#play")
    page.wait_for_function("document.getElementById('play').textContent.includes('start')")
    state = server_state(base, sid)
    page.wait_for_function(f"document.getElementById('epoch').textContent === '{state['epoch']}'")
    kernels = [np.ravel(w["kernel"]) for w in state["weights"]]
    np.testing.assert_array_equal(page.evaluate(LINK_WEIGHTS), np.concatenate(kernels))
    # hovering a neuron shows its output in the output panel; leaving shows the network's output again
    page.hover("canvas.neuron[data-layer='1'][data-index='2']")
    page.wait_for_function("document.getElementById('boundary').dataset.preview === 'layer 2, neuron 3'")
    assert page.text_content("#preview-label") == "showing layer 2, neuron 3"
    page.hover("#features canvas[data-feature='sin(x1)']")  # outside the network
    page.wait_for_function("document.getElementById('boundary').dataset.preview === ''")
    page.hover("canvas.input[data-key='in:x1^2']")
    page.wait_for_function("document.getElementById('boundary').dataset.preview === 'x1^2'")
    page.mouse.move(5, 5)
    page.wait_for_function("document.getElementById('boundary').dataset.preview === ''")
    assert page.evaluate("document.querySelector('link[rel=icon]').getAttribute('href')") == "/static/favicon.svg"
    assert page.evaluate("fetch('/static/favicon.svg').then((r) => r.status)") == 200
    assert screenshot(page, "playground-spirals.png").stat().st_size > 10_000
    assert errors == []  # no script error and no 404 (the favicon included)
    page.close()


def heat_share(page):
    """The share of the output panel's pixels that are exactly one of the two end colours."""
    return page.evaluate("""(() => {
        const c = document.getElementById('boundary');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let k = 0; k < d.length; k += 4) {
          const rgb = d[k] + ',' + d[k + 1] + ',' + d[k + 2];
          if (rgb === '8,119,189' || rgb === '245,147,34') n++;
        }
        return n / (d.length / 4);
    })()""")


def test_problem_type_discretize_and_test_data(base, browser):
    page, sid = open_page(browser, base, "dataset=xor&hidden=2&points=200&train_ratio=0.5")
    # untrained, the output is near 0.5 everywhere: smooth colours are light, none is an end colour
    assert heat_share(page) < 0.05
    page.check("#discretize")
    page.wait_for_function("location.search.includes('discretize=1')")
    assert heat_share(page) > 0.85  # every pixel but the points' is blue or orange
    assert page.evaluate("document.getElementById('boundary').dataset.points") == "100"
    page.check("#show_test")
    page.wait_for_function("document.getElementById('boundary').dataset.points === '200'")
    assert "show_test=1" in page.url
    page.select_option("#problem", "regression")
    page.wait_for_function("location.search.includes('problem=regression')")
    assert page.locator("#datasets button").all_text_contents() == ["plane", "bump", "multi_gaussian"]
    page.click("#datasets button:has-text('multi_gaussian')")
    page.wait_for_function("location.search.includes('dataset=multi_gaussian')")
    config = server_state(base, sid)["config"]
    assert config["problem"] == "regression" and config["dataset"] == "multi_gaussian"
    page.reload()  # the URL keeps the problem type and the view options
    page.wait_for_function("document.body.dataset.session")
    assert page.input_value("#problem") == "regression" and page.is_checked("#discretize")
    page.close()


def test_digits_pad_predicts_while_drawing(base, browser):
    errors = []
    page, sid = open_page(browser, base, "problem=digits&dataset=digits&hidden=8&batch_size=32", errors)
    for _ in range(4):
        page.click("#step")
    page.wait_for_function("document.getElementById('epoch').textContent === '4'")
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 70, box["y"] + 40)
    page.mouse.down()
    for t in range(8):  # the top bar of a 7 ...
        page.mouse.move(box["x"] + 70 + t * 12, box["y"] + 40)
    page.wait_for_function("document.getElementById('prediction').textContent !== ''")
    first = page.evaluate("document.getElementById('pad').dataset.pixels")
    for t in range(12):  # ... and its stem: the prediction is asked again as the drawing grows
        page.mouse.move(box["x"] + 160 - t * 5, box["y"] + 40 + t * 14)
    page.mouse.up()
    page.wait_for_function(f"document.getElementById('pad').dataset.pixels !== {json.dumps(first)}")
    page.wait_for_timeout(300)  # let the last answer arrive
    pixels = json.loads(page.evaluate("document.getElementById('pad').dataset.pixels"))
    answer = post(base, f"/api/sessions/{sid}/predict", {"pixels": pixels})
    page.wait_for_function(f"document.getElementById('prediction').textContent === '{answer['prediction']}'")
    shown = page.evaluate("[...document.querySelectorAll('.unit[data-activation]')].map((u) => Number(u.dataset.activation))")
    assert shown == pytest.approx(answer["hidden"][0], abs=1e-4) and len(shown) == 8  # every hidden unit
    assert page.locator("#probabilities div").count() == 10
    # the input column shows the 8x8 picture the network read: each cell's grey level is its pixel
    grey = page.evaluate("""(() => {
        const d = document.getElementById('pad-view').getContext('2d').getImageData(0, 0, 64, 64).data;
        return [...Array(64).keys()].map((k) => d[((Math.floor(k / 8) * 8 + 4) * 64 + (k % 8) * 8 + 4) * 4]);
    })()""")
    assert np.abs(np.array(grey) - np.round(255 * np.array(pixels))).max() <= 1 and max(grey) > 128
    assert screenshot(page, "playground-digits.png").stat().st_size > 10_000
    page.click("#explain-digit")  # the drawing explained beside the network
    page.frame_locator("#explanation").locator("text=64-8-10 network").first.wait_for()
    assert page.text_content("#explained-point") == f"the drawing, as a {answer['prediction']}"
    assert errors == []
    page.close()


def test_explain_this_point_opens_inside_the_page(base, browser):
    page, _ = open_page(browser, base, "dataset=xor&hidden=2")
    popups = []
    page.on("popup", lambda p: popups.append(p))
    page.click("#explain")
    frame = page.frame_locator("#explanation")
    frame.locator("text=Forward pass").first.wait_for()
    assert page.is_visible("#explanation-panel") and popups == []
    assert page.text_content("#explained-point") == "the point " + page.text_content("#point")
    assert frame.locator("math").count() > 0
    page.click("#close-explanation")
    assert not page.is_visible("#explanation-panel")
    page.close()


def test_exports_load_back_and_closing_the_page_pauses(base, browser, tmp_path, run_script):
    page, sid = open_page(browser, base, "dataset=circles&hidden=3")
    page.click("#step")
    page.wait_for_function("document.getElementById('epoch').textContent === '1'")
    with page.expect_download() as download:
        page.click("#export-model")
    download.value.save_as(tmp_path / "playground.gnet")
    model = gn.load_model(tmp_path / "playground.gnet")
    state = server_state(base, sid)
    assert [np.round(d.kernel.data, 4).tolist() for d in model.layers] == [w["kernel"] for w in state["weights"]]
    with page.expect_download() as download:
        page.click("#export-python")
    download.value.save_as(tmp_path / "playground.py")
    assert run_script(tmp_path / "playground.py").startswith("epochs 1  train loss")
    page.click("#play")
    page.wait_for_function("document.getElementById('play').textContent.includes('pause')")
    assert server_state(base, sid)["running"]
    page.close()
    deadline = time.monotonic() + 10
    while server_state(base, sid)["running"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server_state(base, sid)["running"]  # the closed page paused its session
