"""PyTorch's module habits: Linear's signature, Sequential(a, b, c), optimizers and lazy layers,
``lr=``, state dicts into fresh models, and seeds that reach wrapped layers and the model file."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn, optim


# -- Linear -------------------------------------------------------------------------------
def test_linear_takes_pytorchs_signature_and_matches_torch():
    layer = nn.Linear(4, 3, seed=0)
    assert (layer.in_features, layer.out_features, layer.kernel.shape, layer.bias.shape) == (4, 3, (4, 3), (3,))
    assert repr(layer) == "Linear(in_features=4, out_features=3, bias=True)"
    assert nn.Linear(4, 3, bias=False).bias is None and nn.Linear(4, 3, False).bias is None
    bound = 1 / np.sqrt(4)  # PyTorch's initialisation: kernel and bias uniform in +-1/sqrt(in_features)
    big = nn.Linear(4, 5000, seed=1)
    for w in (big.kernel.data, big.bias.data):
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound and abs(w.mean()) < 0.02
    linear = torch.nn.Linear(4, 3)
    with torch.no_grad():  # PyTorch's weight is (out, in): glassnet's kernel transposed
        linear.weight.copy_(torch.tensor(layer.kernel.data.T))
        linear.bias.copy_(torch.tensor(layer.bias.data))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x).data, linear(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_linear_errors_name_the_argument():
    with pytest.raises(ValueError, match="Received: out_features=0"):
        nn.Linear(4, 0)
    with pytest.raises(ValueError, match="Received: in_features=2.5"):
        nn.Linear(2.5, 3)
    with pytest.raises(TypeError, match="Received: bias=3"):
        nn.Linear(4, 3, 3)
    with pytest.raises(ValueError, match=r"Linear expects 4 input features, got x with shape \(2, 5\)"):
        nn.Linear(4, 3)(np.zeros((2, 5)))
    with pytest.raises(AttributeError, match="the transpose of PyTorch's `weight`"):
        nn.Linear(4, 3).weight  # noqa: B018
    assert type(nn.Dense(4)) is nn.Dense and nn.Dense(4).kernel is None  # Keras's Dense is unchanged


def test_linear_in_a_saved_sequential_and_onnx_free_round_trip(tmp_path):
    model = gn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2), seed=0)
    assert model.built  # the input size is known: built at once, as PyTorch's modules are
    model.save(tmp_path / "m.gnet")
    again = gn.load_model(tmp_path / "m.gnet")
    assert [type(layer).__name__ for layer in again.layers] == ["Linear", "ReLU", "Linear"]
    x = np.random.default_rng(0).standard_normal((3, 6))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


# -- Sequential -----------------------------------------------------------------------------
def test_sequential_takes_layers_as_arguments_or_as_a_list():
    a = gn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2), seed=3)
    b = gn.Sequential([nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)], seed=3)
    c = gn.Sequential(layers=[nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)], seed=3)
    assert gn.nn.Sequential is gn.Sequential
    for other in (b, c):
        for (k1, v1), (k2, v2) in zip(a.state_dict().items(), other.state_dict().items()):
            assert k1 == k2 and np.array_equal(v1, v2)
    assert len(gn.Sequential().layers) == 0 and len(gn.Sequential(nn.ReLU()).layers) == 1
    with pytest.raises(TypeError, match="takes its layers once"):
        gn.Sequential(nn.ReLU(), layers=[nn.ReLU()])
    with pytest.raises(TypeError, match="Sequential takes layers; received: 3"):
        gn.Sequential(nn.ReLU(), 3)


# -- optimizers, lr and lazy layers ---------------------------------------------------------
class TwoLayers(nn.Module):
    """The first layer knows its input size, the second is lazy (Keras's Dense without input_dim)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Dense(8, activation="relu", input_dim=4, seed=0)
        self.fc2 = nn.Dense(3, seed=1)

    def forward(self, x):
        return self.fc2(self.fc1(x))


def test_an_optimizer_refuses_a_model_whose_lazy_layers_have_no_weights_yet():
    net = TwoLayers()
    with pytest.raises(ValueError, match=r"layers fc2 \(Dense\) have no weights yet.*Run one forward pass first"):
        optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"fc2 \(Dense\)"):
        optim.Adam(net)
    net(np.zeros((1, 4)))  # one forward pass builds fc2: now every layer trains
    opt = optim.SGD(net.parameters(), lr=0.1)
    assert len(opt.params) == 4
    before = [p.data.copy() for p in net.parameters()]
    x, y = np.random.default_rng(0).standard_normal((16, 4)), np.random.default_rng(1).standard_normal((16, 3))
    opt.zero_grad()
    ((net(x) - gn.Tensor(y)) ** 2).mean().backward()
    opt.step()
    assert all(not np.array_equal(b, p.data) for b, p in zip(before, net.parameters()))


def test_linear_layers_are_built_at_once_so_the_optimizer_gets_every_parameter():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(gn.functional.relu(self.fc1(x)))

    net = Net()
    opt = optim.SGD(net.parameters(), lr=0.1)  # before any forward pass
    assert [p.shape for p in opt.params] == [(4, 8), (8,), (8, 3), (3,)]
    assert net.parameters().unbuilt == ()


@pytest.mark.parametrize("name", sorted(set(optim.OPTIMIZERS.names())))
def test_every_optimizer_takes_lr_as_learning_rate(name):
    cls = optim.OPTIMIZERS.get(name)
    w = nn.Parameter(np.ones(3, np.float32))
    assert cls([w], lr=0.25).learning_rate == 0.25
    assert cls(lr=0.5).learning_rate == cls(learning_rate=0.5).learning_rate == 0.5
    with pytest.raises(TypeError, match=r"lr= \(PyTorch's name\) or learning_rate= \(Keras's\), not both"):
        cls([w], lr=0.1, learning_rate=0.1)
    with pytest.raises(TypeError, match="not both"):
        cls(0.1, lr=0.1)
    with pytest.raises(ValueError, match="Received: learning_rate=-1"):
        cls([w], lr=-1)


def test_lr_steps_like_torch_sgd():
    w = nn.Parameter(np.array([1.0, -2.0]))
    tw = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt, topt = optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for _ in range(5):
        opt.zero_grad(), topt.zero_grad()
        (w * w).sum().backward(), (tw * tw).sum().backward()
        opt.step(), topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,hyper,torch_hyper", [("SGD", {"momentum": 0.9}, {"momentum": 0.9}),
                                                    ("Adam", {"epsilon": 1e-8}, {"eps": 1e-8})])
def test_param_groups_schedule_the_learning_rate_as_in_torch(name, hyper, torch_hyper):
    w = nn.Parameter(np.array([1.0, -2.0]))
    tw = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt, topt = getattr(optim, name)([w], lr=0.1, **hyper), getattr(torch.optim, name)([tw], lr=0.1, **torch_hyper)
    for step in range(6):
        for group, tgroup in zip(opt.param_groups, topt.param_groups):  # a hand-written step decay
            group["lr"] = tgroup["lr"] = 0.1 * 0.5 ** (step // 2)
        opt.zero_grad(), topt.zero_grad()
        (w * w).sum().backward(), (tw * tw).sum().backward()
        opt.step(), topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)
    group = opt.param_groups[0]
    assert group["lr"] == 0.025 and group["params"] == [w] and "lr" in group and len(opt.param_groups) == 1
    with pytest.raises(KeyError, match=r"sets 'lr' and its hyperparameters \[.*\]; received: 'betas'"):
        group["betas"] = (0.9, 0.99)  # PyTorch's name: glassnet's are Keras's (beta_1, beta_2)
    with pytest.raises(ValueError, match="Received: learning_rate=-1"):
        group["lr"] = -1


# -- state dicts ------------------------------------------------------------------------------
def test_load_state_dict_into_a_freshly_constructed_model_builds_its_lazy_layers():
    trained = TwoLayers()
    trained(np.zeros((1, 4)))
    trained.fc2.kernel.data[...] = 0.5
    fresh = TwoLayers()
    assert fresh.fc2.kernel is None
    result = fresh.load_state_dict(trained.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(fresh.state_dict()) == ["fc1.kernel", "fc1.bias", "fc2.kernel", "fc2.bias"]
    x = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_array_equal(fresh(x).data, trained(x).data)

    keras_style = gn.Sequential([nn.Conv2D(4, 3), nn.BatchNormalization(), nn.Flatten(), nn.Dense(2)], seed=0)
    keras_style.build((None, 6, 6, 1))
    again = gn.Sequential([nn.Conv2D(4, 3), nn.BatchNormalization(), nn.Flatten(), nn.Dense(2)])
    again.load_state_dict(keras_style.state_dict())
    images = np.random.default_rng(1).standard_normal((2, 6, 6, 1))
    np.testing.assert_array_equal(again.predict(images), keras_style.predict(images))


def test_load_state_dict_reports_missing_and_unexpected_keys_as_pytorch():
    net = gn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    state = net.state_dict()
    assert list(state) == ["layers.0.kernel", "layers.0.bias", "layers.2.kernel", "layers.2.bias"]
    partial = {k: v for k, v in state.items() if k != "layers.2.bias"}
    partial["head.kernel"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="missing keys: layers.2.bias; unexpected keys: head.kernel"):
        net.load_state_dict(partial)
    result = net.load_state_dict(partial, strict=False)
    assert result == (["layers.2.bias"], ["head.kernel"])
    assert result.missing_keys == ["layers.2.bias"] and result.unexpected_keys == ["head.kernel"]
    with pytest.raises(ValueError, match=r"layers.0.kernel: expected shape \(4, 3\), received shape \(3, 3\)"):
        net.load_state_dict({**state, "layers.0.kernel": np.zeros((3, 3))}, strict=False)
    with pytest.raises(TypeError, match="takes a dict of arrays"):
        net.load_state_dict([1, 2])


def test_optimizer_state_dict_round_trip_continues_exactly():
    def run(steps, restore=None):
        net = gn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), seed=0)
        opt = optim.Adam(net.parameters(), lr=0.01)
        if restore is not None:
            net.load_state_dict(restore["model"])
            opt.load_state_dict(restore["optimizer"])
        x, y = np.linspace(-1, 1, 24).reshape(8, 3), np.arange(8.0).reshape(8, 1) / 8
        for _ in range(steps):
            opt.zero_grad()
            ((net(x) - gn.Tensor(y)) ** 2).mean().backward()
            opt.step()
        return net, opt

    straight, _ = run(6)
    half, opt = run(3)
    resumed, _ = run(3, {"model": half.state_dict(), "optimizer": opt.state_dict()})
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


# -- seeds reaching wrapped layers, saved with the model ---------------------------------------
def _wrapped(seed):
    return gn.Sequential([nn.Bidirectional(nn.LSTM(4, return_sequences=True)), nn.TimeDistributed(nn.Dropout(0.3)),
                          nn.TimeDistributed(nn.Dense(3)), nn.Flatten(), nn.Dense(2, activation="softmax")], seed=seed)


def test_sequential_seed_reaches_layers_inside_bidirectional_and_time_distributed():
    x = np.random.default_rng(0).standard_normal((4, 5, 3)).astype(np.float32)
    a, b = _wrapped(0), _wrapped(0)
    a.build(x.shape), b.build(x.shape)
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2 and np.array_equal(v, v2), k
    assert not np.array_equal(_wrapped(1).predict(x), a.predict(x))
    assert np.array_equal(a(x).data, b(x).data)  # training mode: the wrapped dropout draws the same masks


@pytest.mark.parametrize("fit_seed", [{}, {"seed": 3}], ids=["model seed", "fit seed"])
def test_a_resumed_run_equals_an_uninterrupted_one_with_or_without_fit_seed(tmp_path, fit_seed):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 5, 3)).astype(np.float32), rng.integers(0, 2, 40)

    def fresh():
        model = _wrapped(7)
        model.compile(optimizer=optim.Adam(lr=0.01), loss="sparse_categorical_crossentropy")
        return model

    straight = fresh()
    straight.fit(x, y, epochs=4, batch_size=8, verbose=0, **fit_seed)  # without fit(seed=): the model's seed
    first = fresh()
    first.fit(x, y, epochs=2, batch_size=8, verbose=0, **fit_seed)
    first.save(tmp_path / "half.gnet")
    resumed = gn.load_model(tmp_path / "half.gnet")
    assert resumed.seed == 7
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0, **fit_seed)
    for (k, v), (k2, v2) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert k == k2 and np.array_equal(v, v2), k


def test_manual_seed_is_set_seed_under_pytorchs_name():
    gn.manual_seed(3)
    first = nn.Linear(4, 2).kernel.data.copy()
    gn.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(4, 2).kernel.data, first)
    assert not np.array_equal(nn.Linear(4, 2).kernel.data, first)


def test_zero_grad_sets_to_none_or_to_zeros_as_pytorch():
    net = gn.Sequential(nn.Linear(2, 2), seed=0)
    opt = optim.SGD(net.parameters(), lr=0.1)
    for clear in (opt.zero_grad, net.zero_grad):
        net(np.ones((1, 2))).sum().backward()
        clear(set_to_none=False)
        assert all(np.array_equal(p.grad, np.zeros(p.shape)) for p in net.parameters())
        clear()
        assert all(p.grad is None for p in net.parameters())
