"""The fast paths keep exact semantics: packed optimizer updates, array inference,
float32 end to end, and the benchmark suite runs (no timing is asserted)."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim

ROOT = pathlib.Path(__file__).resolve().parents[1]


def params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in ((3, 4), (4,), (4, 2))]


@pytest.mark.parametrize("name", optim.OPTIMIZERS.names())
def test_packed_update_equals_per_parameter_update(name):
    packed, single = params(), params()
    opt = optim.OPTIMIZERS.get(name)(packed)
    singles = [optim.OPTIMIZERS.get(name)([p]) for p in single]
    assert opt._flat is not None and all(s._flat is None for s in singles)
    for step in range(5):
        for a, b in zip(packed, single):
            a.grad = b.grad = np.cos(step + np.arange(a.size)).reshape(a.shape)
        opt.step()
        for s in singles:
            s.step()
    for a, b in zip(packed, single):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-15)


def test_packed_mode_falls_back_when_a_gradient_is_missing_or_data_is_replaced():
    ps = params()
    opt = optim.Adam(ps, learning_rate=0.1)
    for p in ps:
        p.grad = np.ones(p.shape)
    opt.step()
    ps[1].grad = None
    before = ps[1].data.copy()
    opt.step()  # the parameter without a gradient is not touched (as in PyTorch)
    assert opt._flat is None and np.array_equal(ps[1].data, before)
    assert opt.state[0]["step"] == 2 and opt.state[1]["step"] == 1
    ps2 = params()
    opt2 = optim.SGD(ps2, learning_rate=1.0)
    ps2[0].data = np.zeros((3, 4))  # the user swaps an array: the update must still reach it
    for p in ps2:
        p.grad = np.ones(p.shape)
    opt2.step()
    np.testing.assert_array_equal(ps2[0].data, -1.0)


def test_packed_state_round_trips_through_state_dict():
    ps = params()
    opt = optim.Adam(ps, learning_rate=0.1)
    for p in ps:
        p.grad = np.ones(p.shape)
    opt.step()
    state = opt.state_dict()
    assert state["0.m"].shape == (3, 4) and int(state["0.step"][0]) == 1
    clone = params()
    opt2 = optim.Adam(clone, learning_rate=0.1)
    opt2.load_state_dict(state)
    for a, b in zip(ps, clone):
        b.data[...] = a.data
    for o, group in ((opt, ps), (opt2, clone)):
        for p in group:
            p.grad = np.full(p.shape, 0.5)
        o.step()
    for a, b in zip(ps, clone):
        np.testing.assert_array_equal(a.data, b.data)


def test_float32_end_to_end():
    model = gn.Sequential([nn.Dense(8, activation="relu", kernel_regularizer=nn.L1L2(0.01, 0.01)),
                           nn.Dropout(0.1), nn.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="nadam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).standard_normal((40, 5))  # float64 on purpose: fit converts once
    y = np.eye(3)[np.arange(40) % 3]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(p.dtype == np.float32 for p in model.parameters())
    for state in model.optimizer.state:
        assert all(v.dtype == np.float32 for v in state.values() if isinstance(v, np.ndarray))
    out = model(x[:4].astype(np.float32))
    assert out.dtype == np.float32 and model.predict(x).dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_predict_equals_the_graph_forward_in_eval_mode():
    model = gn.Sequential([nn.Dense(6, activation="tanh"), nn.Dropout(0.5), nn.Dense(4, activation="elu"),
                           nn.Dense(3, activation="softmax")], seed=1)
    x = np.random.default_rng(2).standard_normal((10, 5)).astype(np.float32)
    fast = model.predict(x, batch_size=4)
    model.eval()
    with gn.no_grad():
        slow = model(x).data
    np.testing.assert_allclose(fast, slow, rtol=1e-6)


def test_benchmark_suite_quick_mode_runs(tmp_path):
    """bench/run.py --quick: the MLP suite and the CNN / LSTM / GAN steps, once each."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    for name in ("glassnet", "gemm floor", "lstm", "cnn", "gan"):
        assert name in result.stdout
    for name in ("mlp-quick.json", "mlp-quick.png", "networks-quick.json"):
        assert (tmp_path / name).exists()


def test_conv_engines_and_pytorch_generic_run(tmp_path):
    """bench/conv_engines.py --quick (conv 2 of the CNN: glassnet, its three products in NumPy and in
    PyTorch, PyTorch's convolution with and without oneDNN) and bench/networks.py's PyTorch without
    oneDNN ("pytorch-generic") on one quick workload."""
    engines = subprocess.run([sys.executable, str(ROOT / "bench" / "conv_engines.py"), "--quick", "--out",
                              str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert engines.returncode == 0, engines.stderr
    for name in ("glassnet", "numpy", "torch-mm", "torch-conv", "torch-conv-generic", "weight-gradient product"):
        assert name in engines.stdout
    assert (tmp_path / "conv_engines.json").exists()
    steps = subprocess.run([sys.executable, str(ROOT / "bench" / "networks.py"), "--quick", "--only", "gan",
                            "--pytorch-generic", "--out", str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert steps.returncode == 0, steps.stderr
    assert "pytorch-generic" in steps.stdout and "glassnet-numpy" not in steps.stdout


def test_gpu_benchmark_runs_on_the_cpu(tmp_path):
    """bench/gpu.py --device cpu --quick: both competitors on the three workloads, each in its own
    process, on the CPU (where no GPU is; tests/test_devices.py runs its device path)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--device", "cpu", "--quick", "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("device: CPU")
    rows = json.loads((tmp_path / "gpu-quick.json").read_text())
    assert [(r["workload"], r["competitor"]) for r in rows] == [
        (w, c) for w in ("wide mlp", "cnn", "lstm") for c in ("glassnet", "pytorch")]
    assert all(r["step_s"] > 0 and r["memory_mib"] is None for r in rows)
