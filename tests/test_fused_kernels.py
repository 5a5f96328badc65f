"""The fused compiled kernels (Dense bias + activation, cross-entropy losses, dropout) against the NumPy
reference, gradchecked, and against PyTorch."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import kernels, ops
from glassnet.ops.bias_activation import KINDS
from glassnet.tensor import Tensor

TORCH = {
    "linear": lambda z: z,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "elu": torch.nn.functional.elu,
    "softplus": torch.nn.functional.softplus,
    "gelu": torch.nn.functional.gelu,
    "softmax": lambda z: torch.softmax(z, -1),
}
PATHS = ("numba", "numpy")


def _inputs(dtype, shape=(6, 5), units=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 1.5
    w = rng.standard_normal((shape[-1], units))
    b = rng.standard_normal(units)
    return [a.astype(dtype) for a in (x, w, b)]


def _run(kind, path, arrays, bias=True, seed=3):
    """The Linear node's output and the gradients of sum(y * v) for each input."""
    with kernels.use(path):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        y = ops.Linear(activation=kind)(*(ts if bias else ts[:2]))
        v = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
        y.backward(v)
    return y.data, [t.grad for t in (ts if bias else ts[:2])]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_compiled_path_equals_the_reference(kind, dtype, rtol):
    arrays = _inputs(dtype)
    y, grads = _run(kind, "numba", arrays)
    y_ref, grads_ref = _run(kind, "numpy", arrays)
    assert y.dtype == dtype and all(g.dtype == dtype for g in grads)
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=rtol)
    for g, g_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(g, g_ref, rtol=rtol, atol=10 * rtol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", PATHS)
def test_gradcheck_float64(kind, path):
    with kernels.use(path):
        result = gn.gradcheck(lambda x, w, b: ops.Linear(activation=kind)(x, w, b), _inputs(np.float64, (2, 3, 5)))
    assert result, f"{kind} ({path}): {result}"


@pytest.mark.parametrize("kind", KINDS)
def test_float32_gradients_match_float64(kind):
    y32, g32 = _run(kind, "numba", _inputs(np.float32), bias=False)
    y64, g64 = _run(kind, "numpy", _inputs(np.float64), bias=False)
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    for a, b in zip(g32, g64):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", PATHS)
def test_matches_torch(kind, path):
    arrays = _inputs(np.float64, (3, 2, 5))
    y, grads = _run(kind, path, arrays)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in arrays)
    ty = TORCH[kind](tx @ tw + tb)
    ty.backward(torch.tensor(np.random.default_rng(3).standard_normal(y.shape)))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for g, t in zip(grads, (tx, tw, tb)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", [*KINDS, "selu"])
def test_dense_predict_equals_its_graph_on_both_paths(activation):
    x = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)
    layer = gn.nn.Dense(4, activation=activation, input_dim=5, seed=0)
    outputs = []
    for path in PATHS:
        with kernels.use(path):
            outputs += [layer.infer(x.copy()), layer(x).data]
    for out in outputs[1:]:
        np.testing.assert_allclose(out, outputs[0], rtol=2e-6, atol=2e-6)


def test_the_kernels_stay_finite_at_extremes():
    z = np.array([[-1000.0, 1000.0, 0.0, 30.0], [1000.0, 999.0, -1000.0, -30.0]], dtype=np.float32)
    eye = np.eye(4, dtype=np.float32)
    with kernels.use("numba"), np.errstate(over="raise", invalid="raise", divide="raise"):
        for kind in KINDS:
            x = Tensor(z, requires_grad=True)
            y = ops.Linear(activation=kind)(x, Tensor(eye))
            y.backward(np.ones_like(z))
            assert np.isfinite(y.data).all() and np.isfinite(x.grad).all(), kind


# -- the fused cross-entropy losses ------------------------------------------------------------
LABELS = np.array([0, 3, 1, 3, 2])
LOSSES = {
    "softmax_labels": lambda z, mean: F.softmax_cross_entropy(z, LABELS, mean=mean),
    "softmax_probabilities": lambda z, mean: F.softmax_cross_entropy(
        z, np.random.default_rng(5).dirichlet(np.ones(4), 5), mean=mean),
    "sigmoid": lambda z, mean: F.sigmoid_cross_entropy(
        z, (np.random.default_rng(6).random((5, 4)) > 0.5) * 1.0, mean=mean),
}


def _loss_run(name, path, z, mean):
    with kernels.use(path):
        t = Tensor(z, requires_grad=True)
        loss = LOSSES[name](t, mean)
        gy = np.asarray(1.0) if mean else np.random.default_rng(4).standard_normal(len(z))
        loss.backward(gy.astype(z.dtype))
    return np.asarray(loss.data), t.grad


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("mean", [False, True])
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-6), (np.float64, 1e-13)])
def test_compiled_losses_equal_the_reference(name, mean, dtype, rtol):
    z = (np.random.default_rng(2).standard_normal((5, 4)) * 3).astype(dtype)
    loss, grad = _loss_run(name, "numba", z, mean)
    loss_ref, grad_ref = _loss_run(name, "numpy", z, mean)
    assert loss.dtype == dtype and grad.dtype == dtype
    np.testing.assert_allclose(loss, loss_ref, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(grad, grad_ref, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("mean", [False, True])
def test_compiled_losses_gradcheck(name, mean):
    with kernels.use("numba"):
        result = gn.gradcheck(lambda z: LOSSES[name](z, mean), [np.random.default_rng(2).standard_normal((5, 4))])
    assert result, f"{name}: {result}"


@pytest.mark.parametrize("path", PATHS)
def test_compiled_losses_match_torch(path):
    z = np.random.default_rng(2).standard_normal((5, 4)) * 3
    loss, grad = _loss_run("softmax_labels", path, z, True)
    tz = torch.tensor(z, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor(LABELS))
    tl.backward()
    np.testing.assert_allclose(loss, tl.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, tz.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_compiled_softmax_loss_names_a_label_out_of_range():
    z = Tensor(np.zeros((3, 4), dtype=np.float32))
    with kernels.use("numba"), pytest.raises(ValueError, match=r"label 4 \(row 1\).*\[0, 4\)"):
        F.softmax_cross_entropy(z, np.array([0, 4, 1]))


def test_compiled_losses_stay_finite_at_extremes():
    z = np.array([[-1000.0, 1000.0, 0.0], [1000.0, 999.0, -1000.0]], dtype=np.float32)
    with kernels.use("numba"), np.errstate(over="raise", invalid="raise", divide="raise"):
        for loss, target in ((F.softmax_cross_entropy, np.array([0, 2])), (F.sigmoid_cross_entropy, np.eye(2, 3))):
            t = Tensor(z, requires_grad=True)
            out = loss(t, target, mean=True)
            out.backward()
            assert np.isfinite(out.data) and np.isfinite(t.grad).all()


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "softmax"])
def test_a_float64_gradient_into_a_float32_layer_promotes_as_numpy_does(kind):
    arrays = _inputs(np.float32)
    grads = {}
    for path in PATHS:
        with kernels.use(path):
            ts = [Tensor(a, requires_grad=True) for a in arrays]
            y = ops.Linear(activation=kind)(*ts)
            (y * Tensor(np.random.default_rng(3).standard_normal(y.shape))).sum().backward()  # float64 loss
            grads[path] = [t.grad for t in ts]
    for g, g_ref in zip(grads["numba"], grads["numpy"]):
        assert g.dtype == g_ref.dtype == np.float64
        np.testing.assert_allclose(g, g_ref, rtol=2e-6, atol=1e-7)  # y itself is float32: its rounding


# -- dropout -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_dropout_drops_what_the_reference_drops(dtype):
    x = np.random.default_rng(0).standard_normal((6, 7)).astype(dtype)
    x[0, 0] = np.nan  # x * 0 stays NaN on both paths
    out = {}
    for path in PATHS:
        with kernels.use(path):
            t = Tensor(x, requires_grad=True)
            y = ops.Dropout(0.4, np.random.default_rng(7))(t)
            y.backward(np.arange(42, dtype=dtype).reshape(6, 7))
            out[path] = (y.data, t.grad)
    keep = np.random.default_rng(7).random(x.shape, dtype=dtype) >= dtype(0.4)
    for y, gx in out.values():
        assert y.dtype == gx.dtype == dtype
        np.testing.assert_array_equal(y, x * keep * dtype(1 / 0.6))
        np.testing.assert_array_equal(gx, np.arange(42, dtype=dtype).reshape(6, 7) * keep * dtype(1 / 0.6))


@pytest.mark.parametrize("path", PATHS)
def test_dropout_gradcheck_and_torch(path):
    x = np.random.default_rng(1).standard_normal((4, 5))
    with kernels.use(path):
        assert gn.gradcheck(lambda t: ops.Dropout(0.3, np.random.default_rng(2))(t), [x])
        t = Tensor(x, requires_grad=True)
        y = ops.Dropout(0.3, np.random.default_rng(2))(t)
        y.backward(np.ones_like(x))
    mask = torch.tensor(np.random.default_rng(2).random(x.shape) >= 0.3, dtype=torch.float64)
    tx = torch.tensor(x, requires_grad=True)
    ty = tx * mask / 0.7
    ty.backward(torch.ones_like(tx))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(t.grad, tx.grad.numpy(), rtol=1e-15)


def test_a_seeded_dropout_model_trains_alike_on_both_paths():
    x = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    weights = {}
    for path in PATHS:
        with kernels.use(path):
            model = gn.Sequential([gn.nn.Dense(8, activation="relu"), gn.nn.Dropout(0.5),
                                   gn.nn.Dense(1, activation="sigmoid")], seed=0)
            model.compile(optimizer="adam", loss="binary_crossentropy")
            model.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=0)
            weights[path] = model.get_weights()
    for a, b in zip(weights["numba"], weights["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- scikit-learn's MLP: its L2 penalty, and a whole fit, on both paths ------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_sklearn_network_penalty_and_gradients_equal_the_reference(dtype):
    from glassnet.sklearn._network import MLPNetwork

    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((30, 4)).astype(dtype), (rng.random((30, 1)) > 0.5).astype(dtype)
    out = {}
    for path in PATHS:
        net = MLPNetwork([4, 8, 1], "relu", "logistic", np.random.RandomState(0), dtype)
        with kernels.use(path):
            loss = net.loss_and_grads(x, t, None, alpha=0.3, l1=0.0)
        out[path] = [loss] + [p.grad for p in net.parameters()]
    rtol = 2e-6 if dtype == np.float32 else 1e-12
    for a, b in zip(out["numba"], out["numpy"]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def test_an_sklearn_mlp_fits_alike_on_both_paths():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from glassnet.sklearn import MLPClassifier

    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x)[:200]
    fits = {}
    for path in PATHS:
        with kernels.use(path):
            fits[path] = MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(x, y[:200])
    a, b = fits["numba"], fits["numpy"]
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-5)
    assert a.score(x, y[:200]) == b.score(x, y[:200])
