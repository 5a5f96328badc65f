"""Tensor habits of PyTorch users: comparisons, argmax, shapes, casts, 0-d results, retain_grad."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import Tensor

COMPARISONS = ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"]


@pytest.mark.parametrize("op", COMPARISONS)
@pytest.mark.parametrize("other", [2.0, "tensor", "array"])
def test_comparisons_give_boolean_tensors_like_torch(op, other):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype=np.float32)
    b = {"tensor": np.array([2.0, 2.0, 2.0], dtype=np.float32), "array": np.array([1.0, 2.0, 4.0])}.get(other, other)
    ours = getattr(Tensor(a), op)(Tensor(b) if other == "tensor" else b)
    theirs = getattr(torch.tensor(a), op)(b if other == 2.0 else torch.tensor(b))
    assert isinstance(ours, Tensor) and ours.dtype == np.bool_
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_tensors_stay_hashable_by_identity():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    assert len({a, b}) == 2 and {a: 1, b: 2}[b] == 2
    assert (a == None) is False and (a != None) is True  # noqa: E711 - PyTorch's answer
    assert a in [a] and b not in {a}


def test_truth_value_of_one_element_and_of_many():
    assert bool(Tensor(2.0) > 1) and not (Tensor([3.0]) < 1)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]) > 0)
    assert float(Tensor([2.5])) == 2.5 and int(Tensor(3.0)) == 3


def test_argmax_argmin_match_torch():
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    for name in ("argmax", "argmin"):
        t = torch.tensor(x)
        assert getattr(Tensor(x), name)().item() == getattr(t, name)().item()
        np.testing.assert_array_equal(getattr(Tensor(x), name)(dim=1).data, getattr(t, name)(dim=1).numpy())
        np.testing.assert_array_equal(getattr(Tensor(x), name)(0, keepdim=True).data,
                                      getattr(t, name)(0, keepdim=True).numpy())
    assert Tensor(x).argmax(1).dtype == np.int64


def test_accuracy_idiom_of_the_torch_quickstart():
    pred, y = Tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), Tensor([1, 1, 1])
    assert (pred.argmax(1) == y).float().sum().item() == 2.0


@pytest.mark.parametrize("shape", [(2, 1, 3), (1, 4), (3,), (1, 1)])
def test_shape_methods_match_torch(shape):
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    t = torch.tensor(x)
    assert Tensor(x).squeeze().shape == tuple(t.squeeze().shape)
    assert Tensor(x).squeeze(0).shape == tuple(t.squeeze(0).shape)
    for d in range(-len(shape) - 1, len(shape) + 1):
        assert Tensor(x).unsqueeze(d).shape == tuple(t.unsqueeze(d).shape)
    assert Tensor(x).flatten().shape == tuple(t.flatten().shape)
    assert Tensor(x).flatten(1).shape == tuple(t.flatten(1).shape) if len(shape) > 1 else True
    assert Tensor(x).view(-1, 1).shape == tuple(t.view(-1, 1).shape)
    assert Tensor(x).tolist() == t.tolist()
    with pytest.raises(IndexError, match="unsqueeze: dim must be in"):
        Tensor(x).unsqueeze(len(shape) + 2)


def test_shape_methods_and_casts_are_differentiable():
    x = Tensor(np.ones((2, 1, 3), dtype=np.float32), requires_grad=True)
    y = x.squeeze(1).unsqueeze(0).view(3, 2).flatten().double()
    assert y.dtype == np.float64 and x.float() is x
    (y * Tensor(np.arange(6.0))).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.reshape(-1), np.arange(6.0))


def test_full_reductions_and_0d_gradients_are_arrays_not_scalars():
    a = Tensor([1.0, 2.0], requires_grad=True)
    s = a.sum()
    assert type(s.data) is np.ndarray and s.shape == ()
    b = Tensor(3.0, requires_grad=True)
    (b * b + b).backward()
    assert type(b.grad) is np.ndarray and b.grad.shape == () and b.grad == 7.0
    assert type((a.mean() * 2).data) is np.ndarray


def test_retain_grad_keeps_a_non_leaf_gradient_like_torch():
    x = np.array([1.0, -2.0, 3.0])
    a = Tensor(x, requires_grad=True)
    h = a * a
    h.retain_grad()
    (h * 3).sum().backward()
    ta = torch.tensor(x, requires_grad=True)
    th = ta * ta
    th.retain_grad()
    (th * 3).sum().backward()
    np.testing.assert_allclose(h.grad, th.grad.numpy())
    np.testing.assert_allclose(a.grad, ta.grad.numpy())
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).retain_grad()


def test_softmax_cross_entropy_takes_integer_labels_stored_as_floats():
    z = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    ours = gn.functional.softmax_cross_entropy(Tensor(z), Tensor(labels), mean=True)  # Tensor() stores float32
    theirs = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(labels))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)


@pytest.mark.parametrize("target, message", [
    ([0.0, 2.5, 1.0, 2.0], "integer class labels"),
    ([0, 3, 1, 2], r"label 3 \(row 1\) is not a class index in \[0, 3\); the target holds values from 0 to 3"),
    (np.zeros((4, 2)), r"target with shape \(4, 2\) does not fit logits with shape \(4, 3\)"),
])
def test_softmax_cross_entropy_bad_targets_get_clear_errors(target, message):
    with pytest.raises(ValueError, match=message):
        gn.functional.softmax_cross_entropy(Tensor(np.zeros((4, 3))), Tensor(target))


@pytest.mark.parametrize("path", ["numba", "numpy"])
@pytest.mark.parametrize("labels, message", [
    ([0, 1, -1, 2], r"label -1 \(row 2\) is not a class index in \[0, 3\); the target holds values from -1 to 2"),
    ([0, 3, 1, 7], r"label 3 \(row 1\) is not a class index in \[0, 3\); the target holds values from 0 to 7"),
])
def test_softmax_cross_entropy_names_the_first_bad_label_on_both_paths(path, labels, message):
    """No label wraps around (NumPy's z[-1]) or reads past the row, on the compiled pass or the reference."""
    with gn.kernels.use(path), pytest.raises(ValueError, match=message):
        gn.functional.softmax_cross_entropy(Tensor(np.zeros((4, 3), np.float32)), np.array(labels))


def test_comparisons_from_the_left_of_arrays_and_with_lists():
    t = Tensor([1.0, 2.0, 3.0])
    for ours, theirs in [(np.array([1.0, 0.0, 3.0]) == t, [True, False, True]),
                         (t > [0.0, 2.0, 4.0], [True, False, False]),
                         (2.0 <= t, [False, True, True])]:
        assert isinstance(ours, Tensor) and ours.tolist() == theirs
    y = Tensor([1.0], requires_grad=True) > 0
    assert not y.requires_grad and y.grad_fn is None


def test_shape_methods_and_casts_gradcheck_in_float64():
    from glassnet import ops
    assert gn.gradcheck(lambda x: x.squeeze(1).unsqueeze(0).view(3, 2).flatten() * x.flatten(),
                        [np.random.default_rng(1).standard_normal((2, 1, 3))])
    assert gn.gradcheck(lambda x: ops.Cast(np.float64)(x) ** 2, [np.array([1.0, -2.0, 0.5])])
    assert gn.gradcheck(lambda x: x.double().sum(dim=0, keepdim=True), [np.ones((2, 3))])


def _linear_and_steps(optimizer, hold):
    """A Linear layer trained 3 steps; ``hold(params)`` takes references before the optimizer packs them."""
    net = gn.nn.Linear(3, 2)
    net.kernel.data[...] = np.arange(6, dtype=np.float32).reshape(net.kernel.shape) / 10
    net.bias.data[...] = 0.5
    held = hold(list(net.parameters()))
    opt = optimizer(net.parameters())
    x = Tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    for _ in range(3):
        opt.zero_grad()
        (net(x) ** 2).sum().backward()
        opt.step()
        for p, h in zip(net.parameters(), held):
            np.testing.assert_array_equal(h.data if isinstance(h, Tensor) else h, p.data.reshape(np.shape(h)))
    return net, opt, held


@pytest.mark.parametrize("optimizer", [lambda p: gn.optim.SGD(p, lr=0.1, momentum=0.9),
                                       lambda p: gn.optim.Adam(p, lr=0.1)])
@pytest.mark.parametrize("hold", [lambda ps: [p.detach() for p in ps], lambda ps: [p.data for p in ps],
                                  lambda ps: [p.data.reshape(-1) for p in ps]],
                         ids=["detach", "data", "view_of_data"])
def test_references_taken_before_packing_keep_following_the_updates(optimizer, hold):
    net, opt, held = _linear_and_steps(optimizer, hold)
    assert opt._flat is not None and opt._flat.held == [0, 1]
    reference, _, _ = _linear_and_steps(optimizer, lambda ps: [])  # nothing held: packed as views from the start
    for p, q in zip(net.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.data, q.data)  # the same numbers, bit for bit
    assert not np.allclose(np.ravel(held[0].data if isinstance(held[0], Tensor) else held[0]), np.arange(6) / 10)


def test_a_held_parameter_moves_into_the_buffer_once_released_and_edits_in_place_count():
    net, opt, held = _linear_and_steps(lambda p: gn.optim.SGD(p, lr=0.1), lambda ps: [p.data for p in ps])
    held[1][...] = 7.0  # an in-place edit through the old array reaches the next update
    del held
    x = Tensor(np.ones((1, 3), dtype=np.float32))
    opt.zero_grad()
    net(x).sum().backward()
    opt.step()
    np.testing.assert_allclose(net.bias.data, 7.0 - 0.1)  # d(sum)/d(bias) = 1
    assert opt._flat.held == [] and all(p.data.base is opt._flat.data for p in net.parameters())
    after = net.kernel.detach()  # taken after packing: a view of the buffer, following as well
    opt.zero_grad()
    net(x).sum().backward()
    opt.step()
    np.testing.assert_array_equal(after.data, net.kernel.data)


def test_torch_detach_shares_storage_the_same_way():
    w = torch.nn.Parameter(torch.ones(2))
    d, opt = w.detach(), torch.optim.SGD([w], lr=0.5)
    w.sum().backward()
    opt.step()
    ours = gn.nn.Parameter(np.ones(2, dtype=np.float32))
    other = gn.nn.Parameter(np.ones(1, dtype=np.float32))  # two parameters: packed
    mine, ours_opt = ours.detach(), gn.optim.SGD([ours, other], lr=0.5)
    (ours.sum() + other.sum()).backward()
    ours_opt.step()
    np.testing.assert_array_equal(mine.data, d.numpy())


# -- more of PyTorch's tensor methods, as compositions: values and gradients against torch ---------------------
TORCH_METHODS = [
    ("var", lambda t: t.var()),
    ("var(dim, unbiased=False, keepdim)", lambda t: t.var(1, unbiased=False, keepdim=True)),
    ("std(dim=0)", lambda t: t.std(dim=0)), ("var(correction=0)", lambda t: t.var(1, correction=0)),
    ("permute", lambda t: t.permute(1, 0)), ("permute(tuple)", lambda t: t.permute((1, 0))), ("t", lambda t: t.t()),
    ("clamp", lambda t: t.clamp(min=-0.5, max=0.7)), ("clamp(max)", lambda t: t.clamp(max=0.1)),
    ("pow", lambda t: t.pow(3)), ("matmul", lambda t: t.matmul(t.t())), ("clone", lambda t: t.clone() * 2),
    ("masked_fill", lambda t: t.masked_fill(t > 0.3, -1.0)),
]


@pytest.mark.parametrize("name,fn", TORCH_METHODS, ids=[m[0] for m in TORCH_METHODS])
def test_more_torch_methods_match_values_and_gradients(name, fn):
    x = np.random.default_rng(0).standard_normal((3, 4))
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = fn(ours), fn(theirs)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(y.shape)
    (y * Tensor(v)).sum().backward()
    (ty * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_size_numel_dim_and_casts_outside_the_graph_like_torch():
    x = np.array([[1.5, -2.0, np.nan], [0.0, 3.0, 4.0]], dtype=np.float32)
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x)
    assert ours.size() == tuple(theirs.size()) and ours.size(0) == theirs.size(0) and ours.size(-1) == 3
    assert ours.size == 6 and ours.numel() == theirs.numel() and ours.dim() == theirs.dim()  # NumPy's size too
    import copy  # noqa: PLC0415
    assert copy.deepcopy(ours.size)(1) == 3
    finite, t_finite = Tensor(np.nan_to_num(x), requires_grad=True), torch.tensor(np.nan_to_num(x))
    for name in ("long", "int", "bool", "isnan", "any", "all"):
        ours_y, theirs_y = ((ours, theirs) if name == "isnan" else (finite, t_finite))
        ours_y, theirs_y = getattr(ours_y, name)(), getattr(theirs_y, name)()
        assert not ours_y.requires_grad and ours_y.dtype == np.dtype(str(theirs_y.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(ours_y.data, theirs_y.numpy())
    assert ours.requires_grad_(False) is ours and not ours.requires_grad


def test_max_and_min_with_dim_give_values_and_indices_like_torch():
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for name in ("max", "min"):
        values, indices = getattr(ours, name)(dim=1)
        t_values, t_indices = getattr(theirs, name)(dim=1)
        np.testing.assert_array_equal(values.data, t_values.detach().numpy())
        np.testing.assert_array_equal(indices.data, t_indices.numpy())
        assert getattr(ours, name)(dim=0, keepdim=True).values.shape == (1, 3)
        assert getattr(ours, name)(axis=1).shape == (2,)  # NumPy's axis: the values only
    ours.max(dim=1).values.sum().backward()
    theirs.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())
    with pytest.raises(TypeError, match="axis or its PyTorch name dim, not both"):
        ours.max(0, dim=1)
