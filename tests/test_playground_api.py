"""The playground server's API, bad requests included, without a browser."""
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from glassnet.playground.server import make_server


@pytest.fixture(scope="module")
def base():
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.playground.stop.set()
    server.shutdown()
    server.server_close()


def call(url, body=None, raw=False):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            return response.status, (payload.decode() if raw else json.loads(payload))
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def new_session(base, **config):
    status, body = call(f"{base}/api/sessions", config)
    assert status == 200, body
    return body["id"], body["state"]


def test_create_step_reset_and_state(base):
    sid, state = new_session(base, dataset="circles", hidden=[3], features=["x1", "x2", "x1^2"])
    assert state["epoch"] == 0 and state["config"]["hidden"] == [3]
    assert len(state["output"]) == state["grid"] ** 2 == 64 * 64
    assert len(state["neurons"]) == 1 and len(state["neurons"][0]) == 3
    status, stepped = call(f"{base}/api/sessions/{sid}/step", {})
    assert status == 200 and stepped["epoch"] == 1
    assert call(f"{base}/api/sessions/{sid}")[1]["epoch"] == 1
    assert call(f"{base}/api/sessions/{sid}/reset", {})[1]["epoch"] == 0


@pytest.mark.parametrize("config,message", [
    ({"dataset": "mnist"}, "dataset must be one of"),
    ({"noise": 2}, r"noise must be a number in \[0.0, 0.5\]; received 2"),
    ({"hidden": [4, 99]}, r"hidden layer size must be an integer in \[1, 8\]"),
    ({"hidden": [1] * 7}, "at most 6 layer sizes"),
    ({"points": 100000}, r"points must be an integer in \[20, 1000\]"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
    ({"features": ["x3"]}, "feature must be one of"),
    ({"features": []}, "features must be a non-empty list"),
    ({"bogus": 1}, "unknown parameters: bogus"),
])
def test_bad_configuration_is_400_and_changes_nothing(base, config, message):
    status, body = call(f"{base}/api/sessions", config)
    assert status == 400 and __import__("re").search(message, body["error"]), body
    sid, state = new_session(base, dataset="xor", hidden=[2])
    status, body = call(f"{base}/api/sessions/{sid}/config", config)
    assert status == 400
    after = call(f"{base}/api/sessions/{sid}")[1]
    assert after["config"] == state["config"] and after["version"] == state["version"]


def test_malformed_requests(base):
    sid, _ = new_session(base)
    assert call(f"{base}/api/sessions", b"{not json")[0] == 400
    assert call(f"{base}/api/sessions/nope")[0] == 404
    assert call(f"{base}/api/sessions/{sid}/neuron?layer=0&index=99")[0] == 400
    assert call(f"{base}/api/sessions/{sid}/neuron?layer=x&index=0")[0] == 400
    assert call(f"{base}/api/sessions/{sid}/explain?x1=1e9&x2=0")[0] == 400
    assert call(f"{base}/api/sessions/{sid}/fly", {})[0] == 404


def test_static_files_only_from_the_package(base):
    status, page = call(f"{base}/", raw=True)
    assert status == 200 and "<canvas id=\"boundary\"" in page
    for path in ("/static/../server.py", "/static/%2e%2e%2fserver.py", "/static/..%2F..%2Fetc%2Fpasswd",
                 "/static/nope.js", "/../../etc/passwd"):
        request = urllib.request.Request(base + path)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 404, path


def test_neuron_and_explain(base):
    sid, _ = new_session(base, dataset="xor", hidden=[2, 2])
    status, neuron = call(f"{base}/api/sessions/{sid}/neuron?layer=1&index=0")
    assert status == 200 and set(neuron["weights"]) == {"h1.0", "h1.1"}
    status, page = call(f"{base}/api/sessions/{sid}/explain?x1=0.5&x2=-0.5&format=html", raw=True)
    assert status == 200 and "<math" in page and "Forward pass" in page
    status, text = call(f"{base}/api/sessions/{sid}/explain?x1=0.5&x2=-0.5&format=text&lang=zh", raw=True)
    assert "前向传播" in text


def test_sessions_do_not_corrupt_each_other(base):
    a, _ = new_session(base, dataset="xor", seed=1)
    b, _ = new_session(base, dataset="moons", seed=2)
    call(f"{base}/api/sessions/{a}/start", {})
    time.sleep(0.5)
    call(f"{base}/api/sessions/{a}/pause", {})
    state_a, state_b = call(f"{base}/api/sessions/{a}")[1], call(f"{base}/api/sessions/{b}")[1]
    assert state_a["epoch"] > 0 and state_b["epoch"] == 0
    assert state_a["config"]["dataset"] == "xor" and state_b["config"]["dataset"] == "moons"


def test_an_open_event_stream_does_not_block_other_requests(base):
    sid, _ = new_session(base)
    call(f"{base}/api/sessions/{sid}/start", {})
    stream = urllib.request.urlopen(f"{base}/api/sessions/{sid}/events", timeout=30)
    first = stream.readline().decode()
    assert first.startswith("data: ") and json.loads(first[6:])["config"]["dataset"] == "xor"
    started = time.monotonic()
    assert call(f"{base}/api/sessions/{sid}")[0] == 200  # answered while the stream stays open
    assert time.monotonic() - started < 5
    stream.close()
    call(f"{base}/api/sessions/{sid}/pause", {})


def test_binds_to_loopback_by_default():
    server = make_server(port=0)  # the default host
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.playground.stop.set()
        server.server_close()
