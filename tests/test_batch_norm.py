"""Batch normalisation's compiled kernels against its NumPy reference (ops/batch_norm.py): outputs,
moving statistics, every gradient, float32 and float64, channels-last 4-D and 2-D inputs, training
and evaluation, the fused relu, without gamma or beta; gradchecks and PyTorch parity of both paths.
(The layer's PyTorch parity in float64 is also in test_recurrent_layers.py.)"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import kernels, nn, ops
from glassnet.ops import batch_norm
from glassnet.tensor import Tensor

TOLERANCE = {np.float32: {"rtol": 1e-4, "atol": 1e-5}, np.float64: {"rtol": 1e-11, "atol": 1e-12}}
PATHS = ("numba", "numpy")


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 5).astype(dtype)  # a mean well away from 0
    c = shape[-1]
    return x, (1 + rng.standard_normal(c)).astype(dtype), rng.standard_normal(c).astype(dtype)


def _run(path, x, gamma, beta, training, relu, scale=True, center=True):
    """The op's output, the moving statistics after it and the gradients of sum(y * v)."""
    moving = [np.linspace(-1, 1, x.shape[-1]).astype(x.dtype), np.linspace(0.5, 2, x.shape[-1]).astype(x.dtype)]
    params = [p for p, used in ((gamma, scale), (beta, center)) if used]
    with kernels.use(path):
        ts = [Tensor(a, requires_grad=True) for a in (x, *params)]
        y = ops.BatchNorm(1e-3, *moving, 0.9, training, scale, center, relu)(*ts)
        v = np.random.default_rng(4).standard_normal(y.shape).astype(y.dtype)
        y.backward(v)
    return [y.data, *moving] + [t.grad for t in ts]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 5, 4, 3), (40, 7)])
@pytest.mark.parametrize("training, relu", [(True, False), (True, True), (False, False), (False, True)])
def test_compiled_equals_reference(shape, dtype, training, relu):
    x, gamma, beta = _data(shape, dtype)
    compiled, reference = (_run(p, x, gamma, beta, training, relu) for p in PATHS)
    for a, b in zip(compiled, reference):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOLERANCE[dtype])


@pytest.mark.parametrize("scale, center", [(False, True), (True, False), (False, False)])
def test_compiled_equals_reference_without_gamma_or_beta(scale, center):
    x, gamma, beta = _data((5, 3, 3, 4), np.float32, seed=1)
    compiled, reference = (_run(p, x, gamma, beta, True, True, scale, center) for p in PATHS)
    assert len(compiled) == 4 + scale + center
    for a, b in zip(compiled, reference):
        np.testing.assert_allclose(a, b, **TOLERANCE[np.float32])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("training", [True, False])
def test_matches_torch_in_float32_channels_last(path, training):
    """The layer on (N, H, W, C) against F.batch_norm on (N, C, H, W); the statistics of 4 x 5 x 6 x 3
    values with a large mean (sums of squares would cancel in float32)."""
    x = (np.random.default_rng(2).standard_normal((4, 5, 6, 3)) * 0.5 + 100).astype(np.float32)
    with kernels.use(path):
        layer = nn.BatchNormalization(axis=3, momentum=0.9)
        layer(x)
        layer.gamma.data[...] = [1.0, 2.0, -0.5]
        layer.beta.data[...] = [0.0, 0.1, -0.2]
        layer.train(training)
        mean, var = layer.moving_mean.data.copy(), layer.moving_variance.data.copy()
        gx = Tensor(x, requires_grad=True)
        y = layer(gx)
        v = np.random.default_rng(3).standard_normal(y.shape).astype(np.float32)
        y.backward(v)
        inferred = layer.infer(x) if not training else None
    tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    tg, tb = torch.tensor(layer.gamma.data, requires_grad=True), torch.tensor(layer.beta.data, requires_grad=True)
    ty = TF.batch_norm(tx, torch.tensor(mean), torch.tensor(var), tg, tb, training=training, momentum=0.1, eps=1e-3)
    ty.backward(torch.tensor(v.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(y.data, ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx.grad, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(layer.gamma.grad, tg.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(layer.beta.grad, tb.grad.numpy(), rtol=1e-5, atol=1e-4)
    if training:  # Keras's rule, with the biased variance of the batch
        np.testing.assert_allclose(layer.moving_mean.data, 0.9 * mean + 0.1 * x.mean((0, 1, 2), dtype=np.float64),
                                   rtol=1e-6)
        np.testing.assert_allclose(layer.moving_variance.data,
                                   0.9 * var + 0.1 * x.astype(np.float64).var((0, 1, 2)), rtol=1e-5)
    else:
        np.testing.assert_allclose(inferred, y.data, rtol=1e-6)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("training, relu", [(True, False), (True, True), (False, True)])
def test_gradcheck(path, training, relu):
    x, gamma, beta = _data((3, 2, 2, 3), np.float64, seed=5)
    moving = [np.zeros(3), np.ones(3)]
    with kernels.use(path):
        assert gn.gradcheck(lambda *t: ops.BatchNorm(1e-3, *moving, 0.9, training, relu=relu)(*t), [x, gamma, beta])


@pytest.mark.parametrize("path", PATHS)
def test_infer_gives_the_evaluation_output_and_takes_the_axis_by_index(path):
    x, _, _ = _data((10, 4), np.float32, seed=6)
    with kernels.use(path):
        model = gn.Sequential([gn.Input((4,)), nn.BatchNormalization(axis=1)])
        model.layers[0].train()
        model.layers[0](x)  # one step of the moving statistics
        model.layers[0].eval()
        np.testing.assert_allclose(model.predict(x, verbose=0), model.layers[0](x).data, rtol=1e-6)
        out = batch_norm.infer(x, model.layers[0].moving_mean.data, model.layers[0].moving_variance.data, 1e-3)
    assert out.dtype == np.float32


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("relu_layer", [lambda: nn.Activation("relu"), lambda: nn.ReLU()])
def test_sequential_folds_a_following_relu_into_the_batch_normalization(path, relu_layer):
    """Conv2D, BatchNormalization, relu: the same outputs, gradients and predictions as the layers
    called one by one, without calling the relu layer."""
    x = np.random.default_rng(7).standard_normal((4, 5, 5, 2)).astype(np.float32)
    with kernels.use(path):
        model = gn.Sequential([nn.Conv2D(3, 3, padding="same"), nn.BatchNormalization(), relu_layer(), nn.Flatten(),
                               nn.Dense(2)], seed=0)
        model(x)
        layer_by_layer = Tensor(x)
        for layer in model.layers:
            layer_by_layer = layer(layer_by_layer)
        layer_by_layer.backward(np.ones(layer_by_layer.shape, dtype=np.float32))
        expected = [p.grad.copy() for p in model.parameters()]
        model.zero_grad()
        model.layers[2].forward = lambda t: pytest.fail("the relu layer was called")
        y = model(x)
        y.backward(np.ones(y.shape, dtype=np.float32))
        np.testing.assert_allclose(y.data, layer_by_layer.data, rtol=1e-6)
        for p, g in zip(model.parameters(), expected):
            np.testing.assert_allclose(p.grad, g, rtol=1e-5, atol=1e-6)
        model.eval()
        expected = x
        for layer in model.layers:
            expected = layer.infer(expected) if layer is not model.layers[2] else np.maximum(expected, 0)
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert (model.layers[1].infer(model.layers[0].infer(x)) < 0).any()  # the relu had values to clip
