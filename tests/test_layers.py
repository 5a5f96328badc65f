"""Modules and core layers: traversal, state, gradchecks and PyTorch parity."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn


def dense64(units, in_features, **kwargs):
    return nn.Dense(units, input_dim=in_features, seed=0, dtype=np.float64, **kwargs)


def test_dense_gradcheck_inputs_and_parameters():
    layer = dense64(3, 4, activation="tanh")
    x = np.random.default_rng(0).standard_normal((5, 4))
    assert gn.gradcheck(layer, [x], params=layer.parameters())


@pytest.mark.parametrize("activation,torch_fn", [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                                                  (None, lambda z: z), ("softmax", lambda z: torch.softmax(z, -1))])
def test_dense_matches_torch_linear(activation, torch_fn):
    layer = dense64(3, 4, activation=activation)
    linear = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(layer.kernel.data.T))  # torch stores (out, in)
        linear.bias.copy_(torch.tensor(np.linspace(-1, 1, 3)))
    layer.bias.data[...] = np.linspace(-1, 1, 3)
    x = np.random.default_rng(1).standard_normal((6, 4))
    tx = torch.tensor(x, requires_grad=True)
    gx = gn.Tensor(x, requires_grad=True)
    y, ty = layer(gx), torch_fn(linear(tx))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10)
    v = np.random.default_rng(2).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    np.testing.assert_allclose(gx.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.kernel.grad, linear.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, linear.bias.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_dense_infers_input_size_and_checks_it():
    layer = nn.Dense(5)
    assert layer.kernel is None
    layer(np.zeros((2, 7)))
    assert layer.kernel.shape == (7, 5) and layer.bias.shape == (5,)
    with pytest.raises(ValueError, match=r"Dense expects 7 input features, got x with shape \(32, 6\)"):
        layer(np.zeros((32, 6)))
    with pytest.raises(ValueError, match="expected a positive integer. Received: units=0"):
        nn.Dense(0)
    assert issubclass(nn.Linear, nn.Dense)  # PyTorch's signature on Dense (tests/test_torch_modules.py)


def test_dense_defaults_are_glorot_uniform_and_zero_bias():
    layer = nn.Dense(300, input_dim=200, seed=0)
    limit = np.sqrt(6 / (200 + 300))
    assert np.abs(layer.kernel.data).max() <= limit
    assert np.abs(layer.kernel.data).max() > 0.95 * limit
    np.testing.assert_array_equal(layer.bias.data, 0)
    assert layer.kernel.dtype == np.float32


def test_same_seed_same_model_bit_for_bit():
    def make(seed):
        return gn.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.5), nn.Dense(3)], seed=seed)

    x = np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32)
    a, b, c = make(7), make(7), make(8)
    ya, yb, yc = a(x).data, b(x).data, c(x).data  # training mode: dropout active
    assert np.array_equal(ya, yb) and not np.array_equal(ya, yc)
    gn.set_seed(3)
    d = nn.Dense(4, input_dim=2)
    gn.set_seed(3)
    e = nn.Dense(4, input_dim=2)
    assert np.array_equal(d.kernel.data, e.kernel.data)


def test_dropout_is_inverted_seeded_and_off_in_eval():
    layer = nn.Dropout(0.25, seed=0)
    x = np.ones((400, 50), dtype=np.float32)
    y = layer(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(y.mean() - 1) < 0.02
    layer.eval()
    assert np.array_equal(layer(x).data, x)
    with pytest.raises(ValueError, match=r"Expected a float in \[0, 1\). Received: rate=1.0"):
        nn.Dropout(1.0)


def test_dropout_gradient_is_the_mask():
    layer = nn.Dropout(0.5, seed=1)
    x = gn.Tensor(np.ones((4, 6)), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # mask / (1 - rate), times 1

    def fixed_mask(x):
        layer.rng = np.random.default_rng(5)
        return layer(x)

    assert gn.gradcheck(fixed_mask, [np.random.default_rng(0).standard_normal((3, 4))])


def test_flatten_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    gx, tx = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = nn.Flatten()(gx), torch.flatten(tx, 1)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    assert gn.gradcheck(nn.Flatten(), [x])


def test_maxout_layer():
    layer = nn.Maxout(3, num_pieces=4, input_dim=5, seed=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((6, 5))
    y = layer(x)
    assert y.shape == (6, 3)
    k, b = layer.kernel.data, layer.bias.data
    expected = torch.tensor(x @ k + b).reshape(6, 3, 4).amax(-1).numpy()
    np.testing.assert_allclose(y.data, expected)
    np.testing.assert_allclose(layer.infer(x), expected)  # predict's path: the maxout too
    assert gn.gradcheck(layer, [x], params=layer.parameters())


def test_rescaling_is_a_constant_affine_map():
    layer = nn.Rescaling([2.0, 0.5], [1.0, -1.0])
    np.testing.assert_allclose(layer(np.array([[1.0, 4.0]])).data, [[3.0, 1.0]])
    assert layer.parameters() == []


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Dense(4, input_dim=3, seed=0)
        self.blocks = [nn.Dense(2, input_dim=4, seed=1), nn.Dropout(0.1)]

    def forward(self, x):
        return self.blocks[1](self.blocks[0](self.first(x)))


def test_module_traversal_modes_and_zero_grad():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["first.kernel", "first.bias", "blocks.0.kernel", "blocks.0.bias"]
    assert m.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    m(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    text = repr(m)
    assert "(first): Dense(units=4" in text and "(blocks.1): Dropout(rate=0.1)" in text


def test_state_dict_round_trip_and_clear_mismatch_errors():
    a, b = TwoLayer(), TwoLayer()
    b.first.kernel.data += 1
    b.load_state_dict(a.state_dict())
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    state = a.state_dict()
    state["first.kernel"] = np.zeros((5, 4))
    del state["first.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError) as err:
        b.load_state_dict(state)
    message = str(err.value)
    assert "missing keys: first.bias" in message and "unexpected keys: extra" in message
    assert "first.kernel: expected shape (3, 4), received shape (5, 4)" in message


def test_regularization_loss_collects_every_penalty():
    layer = nn.Dense(2, input_dim=2, kernel_regularizer=nn.L2(1.0), bias_regularizer=nn.L1(0.5), seed=0)
    layer.bias.data[...] = [1.0, -2.0]
    model = gn.Sequential([layer])
    expected = 0.5 * (layer.kernel.data ** 2).sum() + 0.5 * 3.0
    np.testing.assert_allclose(model.regularization_loss().data, expected, rtol=1e-6)
