"""Every op and layer, and a training run, on a second array module that is not NumPy.

The strict module (tests/strict_array.py) refuses implicit conversion to NumPy and mixing with
NumPy arrays, as CuPy does, so a NumPy-only call left in glassnet fails here without a GPU.
Each case is gradchecked on strict arrays and compared with the NumPy reference path
(which tests/test_ops.py and the layer tests compare with PyTorch).
"""
import copy

import numpy as np
import pytest
from strict_array import StrictArray, strict
from test_ops import CASES, IDS, make_inputs

import glassnet as gn
from glassnet import kernels, nn
from glassnet.backend import get_array_module, on_host, to_numpy
from glassnet.tensor import Tensor


def test_the_strict_module_is_as_strict_as_cupy():
    a = strict.asarray([1.0, 2.0])
    assert get_array_module(a) is strict and not on_host(a) and not isinstance(a, np.ndarray)
    with pytest.raises(TypeError, match="implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="NumPy array"):
        a + np.ones(2)
    with pytest.raises(TypeError, match="NumPy array"):
        np.concatenate([a, np.ones(2)])
    assert to_numpy(a * 2 + 1).tolist() == [3.0, 5.0]


def _run(fn, arrays):
    """Forward and backward (a fixed upstream gradient drawn on the host); host copies of all."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    y = fn(*tensors)
    gy = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(gn.backend.move(gy, get_array_module(y.data)))
    return to_numpy(y.data), [to_numpy(t.grad) for t in tensors]


@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=IDS)
def test_op_on_strict_arrays(name, fn, torch_fn, shapes, maker):
    inputs = make_inputs(shapes, maker, 1)
    on_device = [strict.asarray(x) for x in inputs]
    assert gn.gradcheck(fn, on_device), name
    y_ref, g_ref = _run(fn, inputs)
    y, g = _run(fn, on_device)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


F64 = {"dtype": np.float64}
SEQ = (2, 4, 3)
LAYERS = [
    ("dense_tanh", lambda: nn.Dense(3, activation="tanh", seed=0, **F64), (3, 4)),
    ("dense_relu", lambda: nn.Dense(3, activation="relu", seed=0, **F64), (3, 4)),
    ("dense_softmax", lambda: nn.Dense(3, activation="softmax", seed=0, **F64), (3, 4)),
    ("linear", lambda: nn.Linear(4, 2, dtype=np.float64), (3, 4)),
    ("conv2d_same_stride", lambda: nn.Conv2D(2, 3, strides=2, padding="same", seed=0, **F64), (2, 5, 5, 2)),
    ("conv2d_relu_dilated", lambda: nn.Conv2D(2, 2, dilation_rate=2, activation="relu", seed=0, **F64),
     (1, 5, 5, 1)),
    ("conv1d", lambda: nn.Conv1D(2, 3, padding="same", seed=0, **F64), (2, 5, 2)),
    ("conv2d_elu", lambda: nn.Conv2D(2, 3, activation="elu", seed=0, **F64), (2, 5, 5, 2)),
    ("conv2d_softmax", lambda: nn.Conv2D(3, 2, activation="softmax", seed=0, **F64), (2, 4, 4, 2)),
    ("conv2d_transpose", lambda: nn.Conv2DTranspose(2, 3, strides=2, seed=0, **F64), (1, 3, 3, 2)),
    ("conv2d_transpose_same_elu", lambda: nn.Conv2DTranspose(2, 3, strides=2, padding="same", activation="elu",
                                                             seed=0, **F64), (1, 3, 3, 2)),
    ("max_pool2d", lambda: nn.MaxPooling2D(2), (2, 4, 4, 2)),
    ("avg_pool2d_same", lambda: nn.AveragePooling2D(3, strides=2, padding="same"), (1, 5, 5, 1)),
    ("max_pool1d", lambda: nn.MaxPooling1D(2), (2, 4, 2)),
    ("global_avg2d", lambda: nn.GlobalAveragePooling2D(), (2, 3, 3, 2)),
    ("global_max2d", lambda: nn.GlobalMaxPooling2D(), (2, 3, 3, 2)),
    ("upsampling2d", lambda: nn.UpSampling2D(2), (1, 2, 2, 2)),
    ("batch_norm", lambda: nn.BatchNormalization(**F64), (4, 3)),
    ("layer_norm", lambda: nn.LayerNormalization(**F64), (3, 4)),
    ("simple_rnn", lambda: nn.SimpleRNN(3, return_sequences=True, seed=0, **F64), SEQ),
    ("lstm", lambda: nn.LSTM(3, seed=0, **F64), SEQ),
    ("gru", lambda: nn.GRU(3, return_sequences=True, seed=0, **F64), SEQ),
    ("gru_reset_before", lambda: nn.GRU(3, reset_after=False, return_sequences=True, seed=0, **F64), SEQ),
    ("bidirectional", lambda: nn.Bidirectional(nn.LSTM(2, seed=0, **F64)), SEQ),
    ("time_distributed", lambda: nn.TimeDistributed(nn.Dense(2, seed=0, **F64)), SEQ),
    ("dropout", lambda: nn.Dropout(0.5, seed=0), (3, 4)),
    ("flatten", lambda: nn.Flatten(), (2, 2, 3)),
    ("maxout", lambda: nn.Maxout(2, seed=0, **F64), (3, 4)),
    ("rescaling", lambda: nn.Rescaling(0.5, 1.0, **F64), (3, 4)),
    ("reshape", lambda: nn.Reshape((4, 3)), (2, 12)),
]


def _layer_pair(make, shape):
    """The same layer twice: built on the host, and a copy moved to the strict module."""
    x = np.random.default_rng(2).standard_normal(shape)
    layer = make()
    layer(x)  # build on the host
    moved = copy.deepcopy(layer).to(strict)
    assert all(not on_host(p.data) for p in moved.parameters())
    return layer, moved, x


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_on_strict_arrays(name, make, shape):
    layer, moved, x = _layer_pair(make, shape)
    with kernels.use("numpy"):  # the reference path: the strict module never gets compiled kernels
        y_ref, (gx_ref,) = _run(layer, [x])
    y, (gx,) = _run(moved, [strict.asarray(x)])
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-12, atol=1e-12)
    for p, q in zip(layer.parameters(), moved.parameters()):
        np.testing.assert_allclose(to_numpy(q.grad), p.grad, rtol=1e-12, atol=1e-12)
    if name != "dropout":  # (a new mask on every call: not a function to differentiate numerically)
        assert gn.gradcheck(moved, [strict.asarray(x)], params=moved.parameters()), name


def test_embedding_and_masking_on_strict_arrays():
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    model = gn.Sequential([nn.Embedding(4, 3, mask_zero=True, seed=0, dtype=np.float64),
                           nn.LSTM(2, seed=0, dtype=np.float64)])
    model(ids)
    moved = copy.deepcopy(model).to(strict)
    with kernels.use("numpy"):
        y_ref, _ = _run(lambda e: model.layers[1](e, mask=ids != 0), [model.layers[0](ids).data])
    y = moved(strict.asarray(ids))
    np.testing.assert_allclose(to_numpy(y.data), y_ref, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(moved(strict.asarray(ids)).data), to_numpy(model(ids).data), rtol=1e-12)


def _digits_model(seed=0):
    model = gn.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.2), nn.Dense(10, activation="softmax")],
                          seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


OPTIMIZERS = [("adam", {"amsgrad": True}), ("adamw", {}), ("nadam", {}), ("adagrad", {}),
              ("rmsprop", {"momentum": 0.5, "centered": True}), ("adadelta", {}),
              ("sgd", {"momentum": 0.9, "nesterov": True}), ("sgd", {"clipnorm": 0.5})]


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=[f"{n}{o}" for n, o in OPTIMIZERS])
def test_optimizer_steps_on_strict_arrays_equal_numpys(name, options):
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal((2, 3)), rng.standard_normal((4, 2, 3))
    finals = []
    for xp in (np, strict):
        w, b = gn.nn.Parameter(xp.asarray(start[0])), gn.nn.Parameter(xp.asarray(start[1]))
        opt = gn.optim.OPTIMIZERS.get(name)([w, b], learning_rate=0.1, **options)
        with kernels.use("numpy"):
            for g in grads:
                w.grad, b.grad = xp.asarray(g[0]), xp.asarray(g[1])
                opt.step()
        finals.append([to_numpy(w.data), to_numpy(b.data)])
    np.testing.assert_array_equal(finals[0], finals[1])


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_on_strict_arrays_equals_the_numpy_reference(optimizer):
    x, y = gn.datasets.load_digits()
    x, y = (x[:160] / 16).astype(np.float32), y[:160]
    histories, weights = [], []
    for device in ("cpu", strict):
        model = _digits_model()
        model.compile(optimizer=gn.optim.SGD(momentum=0.9) if optimizer == "sgd" else optimizer,
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.to(device)
        with kernels.use("numpy"):
            history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
            histories.append((history.history, model.evaluate(x, y), model.predict(x[:5])))
        weights.append([to_numpy(p.data) for p in model.parameters()])
    assert all(isinstance(p.data, StrictArray) for p in model.parameters())
    (h_ref, e_ref, p_ref), (h, e, p) = histories
    assert h == h_ref and e == e_ref
    assert isinstance(p, np.ndarray) and np.array_equal(p, p_ref)  # predict answers NumPy, as on the CPU
    for a, b in zip(weights[0], weights[1]):
        assert np.array_equal(a, b)
