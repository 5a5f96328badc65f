"""On an NVIDIA GPU through CuPy: every op and layer gradchecked and compared with PyTorch and
the NumPy reference, the optimizers (Adam's fused CuPy kernel included), and a training run.

Skipped as a whole, with the reason (CuPy not installed, or no CUDA device), where no GPU is
present: ``python -m pytest -m gpu -rs`` shows it. The same tables run without a GPU on the
strict array module (tests/test_strict_backend.py).
"""
import copy

import numpy as np
import pytest
import torch
from test_ops import CASES, IDS, make_inputs
from test_strict_backend import LAYERS, OPTIMIZERS

import glassnet as gn
from glassnet import backend, kernels, nn

pytestmark = pytest.mark.gpu

try:
    cupy = backend.array_module("gpu")
except (ImportError, RuntimeError) as err:
    pytest.skip(f"no GPU for the CuPy tests: {err}", allow_module_level=True)


def run(fn, arrays):
    """Forward and backward with a fixed upstream gradient; host copies of the output and grads."""
    tensors = [gn.Tensor(a, requires_grad=True) for a in arrays]
    y = fn(*tensors)
    gy = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(backend.move(gy, backend.get_array_module(y.data)))
    return backend.to_numpy(y.data), [backend.to_numpy(t.grad) for t in tensors]


@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=IDS)
def test_op_on_the_gpu(name, fn, torch_fn, shapes, maker):
    inputs = make_inputs(shapes, maker, 1)
    on_gpu = [cupy.asarray(x) for x in inputs]
    assert gn.gradcheck(fn, on_gpu), name
    y, grads = run(fn, on_gpu)
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    expected = torch_fn(*tensors)
    expected.backward(torch.tensor(np.random.default_rng(3).standard_normal(tuple(expected.shape))))
    np.testing.assert_allclose(y, expected.detach().numpy(), rtol=1e-6, atol=1e-8)
    for g, t in zip(grads, tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_on_the_gpu(name, make, shape):
    x = np.random.default_rng(2).standard_normal(shape)
    layer = make()
    layer(x)
    moved = copy.deepcopy(layer).to("gpu")
    with kernels.use("numpy"):
        y_ref, (gx_ref,) = run(layer, [x])
    y, (gx,) = run(moved, [cupy.asarray(x)])
    np.testing.assert_allclose(y, y_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-9, atol=1e-12)
    if name != "dropout":
        assert gn.gradcheck(moved, [cupy.asarray(x)], params=moved.parameters()), name


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=[f"{n}{o}" for n, o in OPTIMIZERS])
def test_optimizer_on_the_gpu_equals_numpys(name, options):
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal((2, 3)), rng.standard_normal((4, 2, 3))
    finals = []
    for xp in (np, cupy):
        w, b = nn.Parameter(xp.asarray(start[0])), nn.Parameter(xp.asarray(start[1]))
        opt = gn.optim.OPTIMIZERS.get(name)([w, b], learning_rate=0.1, **options)
        with kernels.use("numpy"):
            for g in grads:
                w.grad, b.grad = xp.asarray(g[0]), xp.asarray(g[1])
                opt.step()
        finals.append([backend.to_numpy(w.data), backend.to_numpy(b.data)])
    np.testing.assert_allclose(finals[1], finals[0], rtol=1e-10, atol=1e-12)


def test_training_on_the_gpu_learns_and_saves_a_cpu_model(tmp_path):
    x, y = gn.datasets.load_digits()
    x = (x / 16).astype(np.float32)
    model = gn.Sequential([nn.Dense(64, activation="relu"), nn.Dropout(0.1), nn.Dense(10, activation="softmax")],
                          seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.to("gpu")
    model.fit(x[:1400], y[:1400], epochs=10, batch_size=32, verbose=0)
    assert all(backend.is_cupy(p.data) for p in model.parameters())
    loss, accuracy = model.evaluate(x[1400:], y[1400:])
    assert accuracy > 0.9, accuracy
    model.save(tmp_path / "gpu.gnet")
    on_cpu = gn.load_model(tmp_path / "gpu.gnet")
    np.testing.assert_allclose(on_cpu.predict(x[1400:]), model.predict(x[1400:]), rtol=1e-5, atol=1e-6)
