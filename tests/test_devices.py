"""Device placement: Tensor.to, model.to, batches moved by fit/evaluate/predict, saving from a
device, and clear errors where no GPU can be had.

The device here is the strict array module (tests/strict_array.py): not NumPy, and as strict
as CuPy about mixing. tests/test_gpu.py runs the same on CuPy where a GPU is present.
"""
import copy
import importlib.util
import pathlib
import sys
import types

import numpy as np
import pytest
from strict_array import StrictArray, strict

import glassnet as gn
from glassnet import backend, kernels, nn
from glassnet.cli import main


def test_tensor_to_moves_and_keeps_requires_grad():
    t = gn.Tensor([1.0, 2.0], requires_grad=True)
    assert t.to("cpu") is t and t.device == "cpu"
    moved = t.to(strict)
    assert isinstance(moved.data, StrictArray) and moved.requires_grad and moved.device == "strict"
    (moved * moved).sum().backward()
    assert backend.to_numpy(moved.grad).tolist() == [2.0, 4.0]
    back = moved.cpu()
    assert isinstance(back.data, np.ndarray) and back.numpy().tolist() == [1.0, 2.0]
    assert "device='strict'" in repr(moved)


def test_unknown_device_is_named():
    with pytest.raises(ValueError, match=r"Received: device='tpu'"):
        gn.Tensor([1.0]).to("tpu")
    with pytest.raises(ValueError, match=r"cuda:0"):
        nn.Dense(2).to("cuda:1")


def test_gpu_without_cupy_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    with pytest.raises(ImportError, match=r"needs CuPy, which is not installed.*glassnet\[gpu\]"):
        gn.Tensor([1.0]).to("gpu")


def test_gpu_without_a_device_says_so(monkeypatch):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(RuntimeError, match=r"found no usable CUDA device \(RuntimeError: cudaErrorNoDevice"):
        gn.Sequential([nn.Dense(2)]).to("cuda")


def test_cli_train_on_a_missing_gpu_is_one_clear_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # the same answer here whether CuPy is installed or not
    code = main(["train", "--device", "gpu", "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "CuPy" in err, err


def _trained(device, tmp_path, name):
    x, y = gn.datasets.load_digits()
    x, y = (x[:96] / 16).astype(np.float32), y[:96]
    model = gn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(10, activation="softmax")], seed=1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.build((None, 64))
    model.to(device)  # after build: the weights move; later batches follow them
    with kernels.use("numpy"):
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, seed=0)
    model.save(tmp_path / name)
    return model, x, y


def _contents(path):
    """A model file's metadata and tensors (safetensors orders the header's keys as it likes,
    so two saves of one model may differ in that order alone)."""
    from safetensors import safe_open  # noqa: PLC0415

    with safe_open(path, framework="numpy") as f:
        return f.metadata(), {k: (f.get_tensor(k).dtype.str, f.get_tensor(k).tobytes()) for k in f.keys()}


def test_a_device_model_saves_the_same_file_and_loads_onto_either(tmp_path):
    cpu, x, y = _trained("cpu", tmp_path, "cpu.gnet")
    dev, _, _ = _trained(strict, tmp_path, "device.gnet")
    assert all(isinstance(p.data, StrictArray) for p in dev.parameters())
    assert _contents(tmp_path / "cpu.gnet") == _contents(tmp_path / "device.gnet")
    loaded = gn.load_model(tmp_path / "device.gnet")
    onto_device = gn.load_model(tmp_path / "cpu.gnet").to(strict)
    assert isinstance(onto_device.optimizer.state[0]["m"], StrictArray)
    with kernels.use("numpy"):
        np.testing.assert_array_equal(loaded.predict(x), onto_device.predict(x))
        # training goes on from the saved optimizer state on either device, identically
        loaded.fit(x, y, epochs=1, verbose=0, seed=1)
        onto_device.fit(x, y, epochs=1, verbose=0, seed=1)
    for a, b in zip(loaded.parameters(), onto_device.parameters()):
        np.testing.assert_array_equal(a.data, backend.to_numpy(b.data))
    assert copy.deepcopy(onto_device)._device_module is strict and copy.deepcopy(loaded.to("cpu")).built
    fresh = gn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(10, activation="softmax")], seed=5)
    fresh.build((None, 64))
    fresh.to(strict).load_weights(tmp_path / "device.gnet")
    assert isinstance(fresh.layers[0].kernel.data, StrictArray)
    np.testing.assert_array_equal(backend.to_numpy(fresh.layers[0].kernel.data), cpu.layers[0].kernel.data)


def test_gn_save_of_a_device_tensor_is_a_host_array(tmp_path):
    gn.save({"w": gn.Tensor([1.0, 2.0]).to(strict)}, tmp_path / "t.safetensors")
    assert gn.load(tmp_path / "t.safetensors")["w"].numpy().tolist() == [1.0, 2.0]


def test_cupy_kernels_are_defined_where_cupy_imports():
    """Without a GPU only the definitions can run (CuPy compiles a kernel at its first call,
    on the device): their signatures parse; tests/test_gpu.py runs them against NumPy."""
    pytest.importorskip("cupy", reason="CuPy is not installed (pip install 'glassnet[gpu]')")
    from glassnet import cupy_kernels  # noqa: PLC0415

    made = cupy_kernels.kernels()
    assert {name: (k.nin, k.nout) for name, k in made.items()} == {"adam": (7, 3), "adam_amsgrad": (7, 4)}
    assert not backend.is_cupy(np.zeros(1))


def _bench_gpu(monkeypatch):
    """bench/gpu.py as a module (its folder on sys.path for this test, as when it runs as a script)."""
    folder = pathlib.Path(__file__).resolve().parents[1] / "bench"
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location("bench_gpu", folder / "gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _StandInCupy(types.ModuleType):
    """CuPy's few calls that bench/gpu.py makes, over the strict array module (its arrays, its
    functions): what ``import cupy`` gives in the test below."""

    def __init__(self, synced):
        super().__init__("strict")  # (glassnet treats its arrays as the strict module's, not as CuPy's)
        device = types.SimpleNamespace(id=0, synchronize=lambda: synced.append(True))
        runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, runtimeGetVersion=lambda: 12040,
                                        getDeviceProperties=lambda index: {"name": b"stand-in GPU"})
        self.cuda = types.SimpleNamespace(runtime=runtime, Device=lambda: device)
        self.__version__ = "stand-in"

    def __getattr__(self, name):
        return getattr(strict, name)

    @staticmethod
    def get_default_memory_pool():
        return types.SimpleNamespace(total_bytes=lambda: 3 * 2**20)


def test_gpu_benchmark_runs_glassnet_on_the_device_it_is_given(monkeypatch):
    """bench/gpu.py's glassnet side with device "gpu", ``import cupy`` answered by a stand-in over
    the strict array module: the model's weights and the data move there, every workload's step
    runs, the device is synchronised after each timed step and its memory read. (Its PyTorch side
    needs CUDA; ``--device cpu`` runs both sides: tests/test_speed_paths.py.)"""
    synced = []
    monkeypatch.setitem(sys.modules, "cupy", _StandInCupy(synced))
    backend._cupy.cache_clear()
    try:
        bench = _bench_gpu(monkeypatch)
        model, x, _ = bench._glassnet_model("cnn", True, "gpu")
        assert isinstance(x.data, StrictArray)
        assert all(isinstance(p.data, StrictArray) for p in model.parameters())
        for name in bench.WORKLOADS:
            synced.clear()
            result = bench.worker("glassnet", name, True, "gpu", repeats=2, warm_up=1)
            assert result["memory_mib"] == 3.0 and result["step_s"] > 0 and len(synced) == 3, (name, result)
        assert bench.device_line("gpu") == "device: stand-in GPU, CUDA runtime 12040, CuPy stand-in"
    finally:
        backend._cupy.cache_clear()  # (its cache holds successes: the stand-in must not outlive the test)
