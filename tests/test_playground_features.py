"""The playground's views beyond the basics, through the API: problem types, weights, feature
maps, the digits mode's predictions and the exports (model file and Python script)."""
import json
import urllib.error
import urllib.request

import numpy as np
import pytest

import glassnet as gn
from glassnet.playground.export import FEATURE_CODE
from glassnet.playground.session import FEATURES


@pytest.fixture(scope="module")
def base(playground_base):
    return playground_base


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            kind = response.headers["Content-Type"]
            return response.status, json.loads(raw) if kind == "application/json" else raw
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def session(base, **config):
    status, body = call(f"{base}/api/sessions", config)
    assert status == 200, body
    return body["id"], body["state"]


def test_problem_type_follows_the_dataset_and_must_agree_with_it(base):
    _, state = session(base, dataset="multi_gaussian")
    assert state["config"]["problem"] == "regression" and state["problem"] == "regression"
    assert not state["classification"] and min(state["targets"]) < -0.5 < 0.5 < max(state["targets"])
    status, body = call(f"{base}/api/sessions", {"problem": "regression", "dataset": "spirals"})
    assert status == 400 and body["error"] == ("dataset 'spirals' is not a regression data set; "
                                               "regression data sets: plane, bump, multi_gaussian")
    status, body = call(f"{base}/api/sessions", {"problem": "images"})
    assert status == 400 and body["error"].startswith("problem must be one of classification, regression, digits")


def test_weights_and_feature_maps_in_the_state(base):
    sid, state = session(base, dataset="xor", hidden=[3, 2], features=["x1", "x2", "x1*x2"])
    shapes = [np.array(w["kernel"]).shape for w in state["weights"]]
    assert shapes == [(3, 3), (3, 2), (2, 1)] and [len(w["bias"]) for w in state["weights"]] == [3, 2, 1]
    n = state["neuron_grid"]
    maps = state["feature_maps"]
    assert set(maps) == set(FEATURES) and all(len(v) == n * n for v in maps.values())
    # the map of x1*x2 is the product of the maps of x1 and x2, point by point
    np.testing.assert_allclose(np.multiply(maps["x1"], maps["x2"]), maps["x1*x2"], atol=2e-3)
    stepped = call(f"{base}/api/sessions/{sid}/step", {})[1]
    assert stepped["weights"][0]["kernel"] != state["weights"][0]["kernel"]


def test_feature_code_is_the_twin_of_the_features():
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2)).astype(np.float32)
    for name, f in FEATURES.items():
        np.testing.assert_array_equal(eval(FEATURE_CODE[name], {"np": np, "x": x}), f(x))  # noqa: S307


def test_digits_mode_predicts_a_drawing(base):
    sid, state = session(base, problem="digits", dataset="digits", hidden=[6], batch_size=64, train_ratio=0.5)
    assert state["problem"] == "digits" and np.array(state["weights"][0]["kernel"]).shape == (64, 6)
    for _ in range(3):
        state = call(f"{base}/api/sessions/{sid}/step", {})[1]
    assert state["accuracy"]["test"] > 0.5  # three epochs of 64-pixel digits: far above chance (0.1)
    zero = gn.datasets.load_digits().x[0] / 16  # the first digit is a 0
    status, answer = call(f"{base}/api/sessions/{sid}/predict", {"pixels": zero.tolist()})
    assert status == 200 and len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 1e-3
    assert answer["prediction"] == int(np.argmax(answer["probabilities"]))
    assert [len(h) for h in answer["hidden"]] == [6]
    for bad, message in [([0.5] * 63, "pixels must be a list of 64 numbers"), ([2.0] * 64, "in \\[0, 1\\]"),
                         (None, "received NoneType")]:
        status, body = call(f"{base}/api/sessions/{sid}/predict", {"pixels": bad})
        assert status == 400 and __import__("re").search(message, body["error"]), body
    status, page = call(f"{base}/api/sessions/{sid}/explain_digit", {"pixels": zero.tolist(), "format": "text"})
    assert status == 200 and b"One training step of a 64-6-10 network" in page
    status, body = call(f"{base}/api/sessions/{sid}/explain_digit", {"pixels": zero.tolist(), "lang": "fr"})
    assert status == 400 and "lang must be one of" in body["error"]
    plane, _ = session(base)
    status, body = call(f"{base}/api/sessions/{plane}/predict", {"pixels": zero.tolist()})
    assert status == 400 and "problem is classification" in body["error"]


@pytest.mark.parametrize("config", [
    {"dataset": "circles", "hidden": [3], "features": ["x1", "x2", "x1^2", "sin(x2)"], "regularization": "l2",
     "regularization_rate": 0.001, "optimizer": "sgd", "learning_rate": 0.1},
    {"dataset": "multi_gaussian", "hidden": [4, 2], "activation": "relu", "noise": 0.1},
    {"problem": "digits", "dataset": "digits", "hidden": [4], "batch_size": 100},
])
def test_exports_load_back_and_the_script_retrains_the_same_network(base, tmp_path, config, run_script):
    sid, _ = session(base, **config)
    for _ in range(3):
        state = call(f"{base}/api/sessions/{sid}/step", {})[1]
    status, data = call(f"{base}/api/sessions/{sid}/export?format=model")
    assert status == 200
    (tmp_path / "m.gnet").write_bytes(data)
    model = gn.load_model(tmp_path / "m.gnet")
    assert [w["kernel"] for w in state["weights"]] == [np.round(d.kernel.data, 4).tolist() for d in model.layers]
    status, source = call(f"{base}/api/sessions/{sid}/export?format=python")
    (tmp_path / "train.py").write_bytes(source)
    words = run_script(tmp_path / "train.py").split()
    assert words[:2] == ["epochs", "3"]
    # the script trains from scratch with the same seed, so it ends where the page's session did
    assert float(words[4]) == pytest.approx(state["train_loss"], abs=2e-6)
    assert float(words[7]) == pytest.approx(state["test_loss"], abs=2e-6)
    assert call(f"{base}/api/sessions/{sid}/export?format=onnx")[0] == 400
