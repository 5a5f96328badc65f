"""The convolution's and pooling's compiled kernels against their NumPy reference: outputs and every
gradient, float32 and float64, strides, "same" and "valid" padding, dilation, relu, with and without
bias; gradchecks of both paths. (PyTorch parity of the default path is in test_conv_layers.py.)"""
import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels, nn, ops
from glassnet.ops import conv
from glassnet.tensor import Tensor

TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}
CONV_CASES = [  # strides, padding, dilation, relu, bias
    ((1, 1), "valid", (1, 1), False, True),
    ((1, 1), "same", (1, 1), True, True),
    ((2, 1), "same", (1, 1), True, False),
    ((2, 2), "valid", (1, 1), False, False),
    ((1, 1), "same", (2, 2), True, True),
    ((1, 2), "valid", (2, 1), False, True),
]
POOL_CASES = [  # pool size, strides, padding
    ((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "valid"), ((3, 3), (2, 2), "same"),
    ((2, 3), (1, 2), "same"), ((2, 2), (1, 1), "valid"), ((1, 3), (1, 3), "valid"),
]


def _run(path, make_op, arrays, seed=3):
    """The op's output and the gradients of sum(y * v) for every input."""
    with kernels.use(path):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        y = make_op()(*ts)
        v = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
        y.backward(v)
    return [y.data] + [t.grad for t in ts]


def _assert_paths_equal(make_op, arrays, dtype):
    compiled, reference = _run("numba", make_op, arrays), _run("numpy", make_op, arrays)
    for a, b in zip(compiled, reference):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strides, padding, dilation, relu, bias", CONV_CASES)
def test_conv2d_compiled_equals_reference(strides, padding, dilation, relu, bias, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 8, 2)).astype(dtype)
    w = rng.standard_normal((3, 2, 2, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    arrays = [x, w, b] if bias else [x, w]
    _assert_paths_equal(lambda: ops.Conv2D(strides, padding, dilation, relu), arrays, dtype)


ACTIVATIONS = ["sigmoid", "tanh", "leaky_relu", "elu", "softplus", "gelu", "softmax"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_conv2d_with_an_activation_compiled_equals_reference(activation, dtype):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 6, 7, 2)), rng.standard_normal((3, 3, 2, 5)), rng.standard_normal(5)
    _assert_paths_equal(lambda: ops.Conv2D((1, 1), "same", (1, 1), activation=activation),
                        [a.astype(dtype) for a in (x, w, b)], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "elu", "softmax"])
def test_conv2d_transpose_with_an_activation_compiled_equals_reference(activation, dtype):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 4, 3, 3)), rng.standard_normal((3, 3, 5, 3)), rng.standard_normal(5)
    _assert_paths_equal(lambda: ops.Conv2DTranspose((2, 2), "same", activation=activation),
                        [a.astype(dtype) for a in (x, w, b)], dtype)


@pytest.mark.parametrize("path", ["numba", "numpy"])
@pytest.mark.parametrize("activation", ["tanh", "elu", "softmax"])
def test_gradcheck_float64_with_an_activation(path, activation):
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 5, 6, 2)), rng.standard_normal((3, 3, 2, 3)), rng.standard_normal(3)
    with kernels.use(path):
        assert gn.gradcheck(lambda x, w, b: ops.Conv2D((1, 2), "valid", (1, 1), activation=activation)(x, w, b),
                            [x, w, b])


@pytest.mark.parametrize("bias", [True, False])
def test_narrow_columns_kept_for_the_backward_give_the_same_bits(monkeypatch, bias):
    """Columns no wider than the output (3 x 3 x 3 + 1 against 32 filters) are made once, in the
    forward, and the weight gradient equals the one from columns made again, bit for bit."""
    rng = np.random.default_rng(6)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((7, 30, 31, 3), (3, 3, 3, 32), (32,)))
    made = []
    monkeypatch.setattr(conv, "COLUMN_BLOCK_BYTES", conv.BLOCK_BYTES)  # (several blocks: see the assertion below)
    im2col = conv.conv_kernels.im2col
    monkeypatch.setattr(conv.conv_kernels, "im2col", lambda *args: (made.append(len(args[-1])), im2col(*args))[1])
    results = {}
    for keep in (True, False):
        monkeypatch.setattr(ops.Conv2D, "keep_narrow_columns", keep)
        made.clear()
        results[keep] = _run("numba", lambda: ops.Conv2D((1, 1), "same", (1, 1), True), [x, w, b] if bias else [x, w])
        results[keep].append(sum(made))
    assert results[True][-1] == 7 * 30 * 31 and results[False][-1] == 2 * 7 * 30 * 31  # rows made
    assert conv.block_rows(28, 4, conv.COLUMN_BLOCK_BYTES) < 7 * 30 * 31  # (several blocks)
    for a, b_ in zip(results[True][:-1], results[False][:-1]):
        np.testing.assert_array_equal(a, b_)


def test_conv2d_in_blocks_of_rows_across_samples(monkeypatch):
    """Blocks of 64 rows, which split samples of 25 rows (and a last, shorter block): the columns made
    block by block give the reference's output and gradients."""
    monkeypatch.setattr(conv, "BLOCK_BYTES", 1)
    monkeypatch.setattr(conv, "COLUMN_BLOCK_BYTES", 1)
    assert conv.block_rows(28, 8) == conv.block_rows(28, 8, conv.COLUMN_BLOCK_BYTES) == 64
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((5, 5, 5, 3)), rng.standard_normal((3, 3, 3, 2)), rng.standard_normal(2)
    _assert_paths_equal(lambda: ops.Conv2D((1, 1), "same", (1, 1), True), [x, w, b], np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("pool_size, strides, padding", POOL_CASES)
def test_pooling_compiled_equals_reference(pool_size, strides, padding, mode, dtype):
    x = np.random.default_rng(2).standard_normal((3, 7, 8, 5)).astype(dtype)
    if mode == "max":  # ties (as after a relu): the gradient goes to the first maximum on both paths
        x = np.maximum(x, 0).round(1)
    _assert_paths_equal(lambda: ops.Pool2D(pool_size, strides, padding, mode), [x], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool_size, padding", [((2, 2), "valid"), ((3, 2), "same"), ((1, 4), "valid")])
def test_max_pooling_whose_windows_tile_x_compiled_equals_reference(pool_size, padding, dtype):
    """Strides = pool size over 6 x 8 positions: the backward writes gx without zeros first (ties
    included: the gradient goes to the first maximum)."""
    x = np.maximum(np.random.default_rng(4).standard_normal((3, 6, 8, 5)), 0).round(1).astype(dtype)
    _assert_paths_equal(lambda: ops.Pool2D(pool_size, pool_size, padding, "max"), [x], dtype)


def test_max_pooling_propagates_nan_on_both_paths():
    x = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(2, 4, 4, 2)
    x[0, 1, 0, 1] = np.nan
    x[1, 3, 3, 0] = -np.inf
    outputs = [_run(path, lambda: ops.Pool2D((2, 2), (2, 2), "valid", "max"), [x])[:2] for path in ("numba", "numpy")]
    (y, gx), (y_ref, gx_ref) = outputs
    assert np.isnan(y[0, 0, 0, 1]) and np.isnan(y_ref[0, 0, 0, 1])
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)


@pytest.mark.parametrize("path", ["numba", "numpy"])
def test_gradcheck_float64(path):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 6, 5, 2)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    with kernels.use(path):
        assert gn.gradcheck(lambda x, w, b: ops.Conv2D((2, 1), "same", (1, 2), True)(x, w, b), [x, w, b])
        assert gn.gradcheck(lambda x: ops.Pool2D((3, 2), (2, 1), "same", "avg")(x), [x])
        assert gn.gradcheck(lambda x: ops.Pool2D((2, 2), (1, 2), "valid", "max")(x), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_and_pooling1d_layers_on_both_paths(dtype):
    x = np.random.default_rng(4).standard_normal((3, 11, 2)).astype(dtype)
    results = []
    for path in ("numba", "numpy"):
        with kernels.use(path):
            model = gn.Sequential([nn.Conv1D(4, 3, strides=2, padding="same", activation="relu"),
                                   nn.MaxPooling1D(2), nn.Flatten(), nn.Dense(1)], seed=0)
            model.compile(optimizer="adam", loss="mse")
            model.fit(x.astype(np.float32), np.ones((3, 1), np.float32), epochs=2, verbose=0)
            results.append([np.array(p.data) for p in model.parameters()] + [model.predict(x, verbose=0)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
