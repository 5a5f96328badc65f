"""Every registered activation: gradchecked, compared with PyTorch, stable at +-1000."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet.nn import activations
from glassnet.nn.layers import LAYERS

TORCH = {
    "linear": lambda x: x,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": TF.hardsigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "relu6": TF.relu6,
    "leaky_relu": lambda x: TF.leaky_relu(x, 0.01),
    "elu": TF.elu,
    "selu": TF.selu,
    "gelu": TF.gelu,
    "swish": TF.silu,
    "silu": TF.silu,
    "softplus": TF.softplus,
    "softsign": TF.softsign,
    "softmax": lambda x: torch.softmax(x, -1),
    "log_softmax": lambda x: torch.log_softmax(x, -1),
    "maxout": lambda x: x.reshape(*x.shape[:-1], x.shape[-1] // 2, 2).amax(-1),
}


def test_every_registered_activation_has_a_torch_counterpart():
    assert set(activations.ACTIVATIONS.names()) == set(TORCH)


def inputs(seed):
    # Spread over [-4, 4] and away from the kinks at 0, +-3 and 6, so finite differences are valid.
    x = np.random.default_rng(seed).uniform(-4, 4, (4, 6))
    return np.where(np.abs(x) < 0.05, 0.1, np.where(np.abs(np.abs(x) - 3) < 0.05, 2.5, x))


@pytest.mark.parametrize("name", sorted(TORCH))
def test_gradcheck(name):
    fn = activations.get(name)
    assert gn.gradcheck(fn, [inputs(0)])


@pytest.mark.parametrize("name", sorted(TORCH))
def test_value_and_derivative_match_torch(name):
    x = inputs(1)
    ours = gn.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, ty = activations.get(name)(ours), TORCH[name](theirs)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(2).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    # NOTE: PyTorch's hardsigmoid backward multiplies by a float32 1/6 (relative error 3e-8).
    rtol = 1e-7 if name == "hard_sigmoid" else 1e-9
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_stable_at_plus_minus_1000(name):
    x = gn.Tensor(np.array([[-1000.0, 1000.0, 0.5, -0.5]], dtype=np.float32), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = activations.get(name)(x)
        y.backward(np.ones(y.shape, dtype=np.float32))
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    assert y.dtype == np.float32


def test_sigmoid_and_softmax_saturate_exactly():
    x = gn.Tensor([-1000.0, 1000.0])
    np.testing.assert_array_equal(x.sigmoid().data, [0.0, 1.0])
    np.testing.assert_array_equal(gn.Tensor([[1000.0, -1000.0]]).softmax().data, [[1.0, 0.0]])


def test_tanh_is_a_rescaled_sigmoid():
    # seed 001: tanh(x) = 2 sigmoid(2x) - 1
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(activations.get("tanh")(x).data,
                               2 * activations.get("sigmoid")(2 * x).data - 1, atol=1e-6)


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'rellu'; known names: .*relu"):
        activations.get("rellu")


@pytest.mark.parametrize("layer_name,fn_name", [
    ("ReLU", "relu"), ("ReLU6", "relu6"), ("LeakyReLU", "leaky_relu"), ("ELU", "elu"), ("SELU", "selu"),
    ("GELU", "gelu"), ("Sigmoid", "sigmoid"), ("HardSigmoid", "hard_sigmoid"), ("Tanh", "tanh"),
    ("Softplus", "softplus"), ("Softsign", "softsign"), ("Swish", "swish"), ("Softmax", "softmax"),
    ("LogSoftmax", "log_softmax"),
])
def test_activation_layers_apply_their_function(layer_name, fn_name):
    x = inputs(3).astype(np.float32)
    np.testing.assert_allclose(LAYERS.get(layer_name)()(x).data, activations.get(fn_name)(x).data)


def test_activation_layer_arguments():
    x = np.array([-2.0, 3.0], dtype=np.float32)
    np.testing.assert_allclose(gn.nn.LeakyReLU(alpha=0.2)(x).data, [-0.4, 3.0])
    np.testing.assert_allclose(gn.nn.Activation("elu", alpha=2.0)(x).data, [2 * np.expm1(-2.0), 3.0], rtol=1e-6)
