"""End to end in a real browser: Debian's Chromium driven by Playwright (no browser download).

Open the page, pick xor, start training, wait until the shown test loss falls below 0.1,
pause, check the numbers shown match the server's, click a neuron, save a screenshot.
The screenshot goes to build/playground-screenshot.png (or $GLASSNET_SCREENSHOT).
"""
import json
import os
import pathlib
import shutil
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = pathlib.Path(os.environ.get("GLASSNET_SCREENSHOT",
                                         pathlib.Path(__file__).resolve().parents[1] / "build" /
                                         "playground-screenshot.png"))
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


def server_state(base, sid):
    with urllib.request.urlopen(f"{base}/api/sessions/{sid}", timeout=10) as r:
        return json.loads(r.read())


def test_train_xor_in_the_browser(base, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 820})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/?dataset=moons")
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
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
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
    assert "hidden=3%2C2%2C2" in page.url


def test_explain_button_opens_the_explanation(base, browser):
    page = browser.new_page()
    page.goto(f"{base}/?dataset=xor&hidden=2")
    page.wait_for_function("document.body.dataset.session")
    with page.expect_popup() as popup:
        page.click("#explain")
    explanation = popup.value
    explanation.wait_for_load_state()
    assert "Forward pass" in explanation.content() and "<math" in explanation.content()
