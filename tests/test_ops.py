"""Every primitive op: gradchecked in float64 and compared with PyTorch autograd."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet.tensor import Tensor


def positive(shape, rng):
    return rng.uniform(0.5, 2.0, shape)


def normal(shape, rng):
    return rng.standard_normal(shape)


def distinct(shape, rng):
    """Values with no ties, so max/min/relu are differentiable everywhere."""
    n = int(np.prod(shape))
    return (rng.permutation(n) / n * 4 - 2 + 0.013).reshape(shape)


IDX = np.array([0, 2, 0, 1, 2, 2])  # repeated indices: backward must scatter-add

# name, glassnet fn, torch fn, input shapes, input maker
SIGMOID_T = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.3, 0.0, 1.0, 0.5]])
CASES = [
    ("add_broadcast", lambda a, b: a + b, lambda a, b: a + b, [(3, 1, 4), (5, 4)], normal),
    ("sub_broadcast", lambda a, b: a - b, lambda a, b: a - b, [(3, 1, 4), (5, 4)], normal),
    ("mul_broadcast", lambda a, b: a * b, lambda a, b: a * b, [(3, 1, 4), (5, 4)], normal),
    ("div_broadcast", lambda a, b: a / b, lambda a, b: a / b, [(3, 1, 4), (5, 4)], positive),
    ("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, [(3, 4), (4,)], positive),
    ("pow_scalar", lambda a: a**3, lambda a: a**3, [(3, 4)], normal),
    ("rpow", lambda a: 2.0**a, lambda a: 2.0**a, [(3, 4)], normal),
    ("rsub_scalar", lambda a: 1 - a, lambda a: 1 - a, [(3, 4)], normal),
    ("rdiv_scalar", lambda a: 1 / a, lambda a: 1 / a, [(3, 4)], positive),
    ("neg", lambda a: -a, lambda a: -a, [(3, 4)], normal),
    ("matmul_1d_1d", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4,)], normal),
    ("matmul_1d_2d", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4, 3)], normal),
    ("matmul_2d_1d", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 4), (4,)], normal),
    ("matmul_2d", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 4), (4, 3)], normal),
    ("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 5)], normal),
    ("matmul_batched_bcast", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)], normal),
    ("sum_all", lambda a: a.sum(), lambda a: a.sum(), [(3, 4, 2)], normal),
    *[(f"sum_axis{ax}", lambda a, ax=ax: a.sum(axis=ax), lambda a, ax=ax: a.sum(dim=ax), [(3, 4, 2)], normal)
      for ax in (0, 1, 2, -1)],
    ("sum_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True),
     lambda a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)], normal),
    ("mean_all", lambda a: a.mean(), lambda a: a.mean(), [(3, 4)], normal),
    *[(f"mean_axis{ax}", lambda a, ax=ax: a.mean(axis=ax), lambda a, ax=ax: a.mean(dim=ax), [(3, 4, 2)], normal)
      for ax in (0, 1, 2)],
    ("max_all", lambda a: a.max(), lambda a: a.amax(), [(3, 4)], distinct),
    *[(f"max_axis{ax}", lambda a, ax=ax: a.max(axis=ax), lambda a, ax=ax: a.amax(dim=ax), [(3, 4, 2)], distinct)
      for ax in (0, 1, 2)],
    ("max_keepdims", lambda a: a.max(axis=1, keepdims=True), lambda a: a.amax(dim=1, keepdim=True),
     [(3, 4)], distinct),
    ("min_axis1", lambda a: a.min(axis=1), lambda a: a.amin(dim=1), [(3, 4)], distinct),
    ("exp", F.exp, torch.exp, [(3, 4)], normal),
    ("log", F.log, torch.log, [(3, 4)], positive),
    ("sqrt", F.sqrt, torch.sqrt, [(3, 4)], positive),
    ("abs", F.abs, torch.abs, [(3, 4)], distinct),
    ("clip", lambda a: F.clip(a, -0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), [(3, 4)], distinct),
    ("maximum", F.maximum, torch.maximum, [(3, 4), (4,)], distinct),
    ("minimum", F.minimum, torch.minimum, [(3, 4), (4,)], distinct),
    ("where", lambda a, b: F.where(np.arange(12).reshape(3, 4) % 3 == 0, a, b),
     lambda a, b: torch.where(torch.tensor(np.arange(12).reshape(3, 4) % 3 == 0), a, b), [(3, 4), (4,)], normal),
    ("reshape", lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6), [(2, 3, 4)], normal),
    ("transpose", lambda a: a.transpose(2, 0, 1), lambda a: a.permute(2, 0, 1), [(2, 3, 4)], normal),
    ("T", lambda a: a.T, lambda a: a.T, [(3, 4)], normal),
    ("swapaxes", lambda a: a.swapaxes(0, 2), lambda a: a.transpose(0, 2), [(2, 3, 4)], normal),
    ("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 4)], normal),
    ("getitem_int", lambda a: a[1], lambda a: a[1], [(3, 4)], normal),
    ("getitem_repeated", lambda a: a[IDX], lambda a: a[torch.tensor(IDX)], [(3, 4)], normal),
    ("getitem_pairs", lambda a: a[IDX, IDX % 2], lambda a: a[torch.tensor(IDX), torch.tensor(IDX % 2)],
     [(3, 4)], normal),
    ("concatenate", lambda a, b: gn.concatenate([a, b, a], axis=1),
     lambda a, b: torch.cat([a, b, a], dim=1), [(2, 3), (2, 2)], normal),
    ("stack", lambda a, b: gn.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], dim=1),
     [(2, 3), (2, 3)], normal),
    ("pad", lambda a: gn.pad(a, ((1, 0), (2, 1))),
     lambda a: torch.nn.functional.pad(a, (2, 1, 1, 0)), [(2, 3)], normal),
    ("sigmoid", F.sigmoid, torch.sigmoid, [(3, 4)], normal),
    ("tanh", F.tanh, torch.tanh, [(3, 4)], normal),
    ("relu", F.relu, torch.relu, [(3, 4)], distinct),
    ("leaky_relu", lambda a: F.leaky_relu(a, 0.2),
     lambda a: torch.nn.functional.leaky_relu(a, 0.2), [(3, 4)], distinct),
    ("elu", lambda a: F.elu(a, 0.7), lambda a: torch.nn.functional.elu(a, 0.7), [(3, 4)], distinct),
    ("softplus", F.softplus, torch.nn.functional.softplus, [(3, 4)], normal),
    ("softmax", F.softmax, lambda a: torch.softmax(a, -1), [(3, 4)], normal),
    ("softmax_axis0", lambda a: F.softmax(a, 0), lambda a: torch.softmax(a, 0), [(3, 4)], normal),
    ("log_softmax", F.log_softmax, lambda a: torch.log_softmax(a, -1), [(3, 4)], normal),
    ("gelu", F.gelu, torch.nn.functional.gelu, [(3, 4)], normal),
    ("gelu_tanh", lambda a: F.gelu(a, approximate=True),
     lambda a: torch.nn.functional.gelu(a, approximate="tanh"), [(3, 4)], normal),
    ("linear", F.linear, lambda x, w, b: x @ w + b, [(5, 3), (3, 4), (4,)], normal),
    ("linear_relu", lambda x, w, b: F.linear(x, w, b, relu=True), lambda x, w, b: torch.relu(x @ w + b),
     [(5, 3), (3, 4), (4,)], normal),
    ("linear_3d", F.linear, lambda x, w, b: x @ w + b, [(2, 5, 3), (3, 4), (4,)], normal),
    ("softmax_xent_labels", lambda z: F.softmax_cross_entropy(z, np.array([0, 3, 1])),
     lambda z: torch.nn.functional.cross_entropy(z, torch.tensor([0, 3, 1]), reduction="none"),
     [(3, 4)], normal),
    ("softmax_xent_mean", lambda z: F.softmax_cross_entropy(z, np.array([0, 3, 1]), mean=True),
     lambda z: torch.nn.functional.cross_entropy(z, torch.tensor([0, 3, 1])), [(3, 4)], normal),
    ("softmax_xent_probs", lambda z: F.softmax_cross_entropy(z, np.full((3, 4), 0.25)),
     lambda z: torch.nn.functional.cross_entropy(z, torch.full((3, 4), 0.25, dtype=torch.float64),
                                                 reduction="none"), [(3, 4)], normal),
    ("sigmoid_xent", lambda z: F.sigmoid_cross_entropy(z, SIGMOID_T),
     lambda z: torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(SIGMOID_T),
                                                                    reduction="none").sum(1), [(3, 4)], normal),
    ("sigmoid_xent_mean", lambda z: F.sigmoid_cross_entropy(z * 20, SIGMOID_T, mean=True),
     lambda z: torch.nn.functional.binary_cross_entropy_with_logits(z * 20, torch.tensor(SIGMOID_T),
                                                                    reduction="sum") / 3, [(3, 4)], normal),
    ("linear_one_unit", F.linear, lambda x, w, b: x @ w + b, [(5, 3), (3, 1), (1,)], normal),
]
IDS = [c[0] for c in CASES]


def make_inputs(shapes, maker, seed):
    rng = np.random.default_rng(seed)
    return [maker(s, rng) for s in shapes]


@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=IDS)
def test_gradcheck(name, fn, torch_fn, shapes, maker):
    result = gn.gradcheck(fn, make_inputs(shapes, maker, 1))
    assert result, f"{name}: {result}"


@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=IDS)
def test_matches_torch(name, fn, torch_fn, shapes, maker):
    arrays = make_inputs(shapes, maker, 2)
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    for a, ta in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=IDS)
def test_float32_stays_float32(name, fn, torch_fn, shapes, maker):
    ours = [Tensor(a.astype(np.float32), requires_grad=True) for a in make_inputs(shapes, maker, 4)]
    y = fn(*ours)
    assert y.dtype == np.float32, name
    y.backward(np.ones(y.shape, dtype=np.float32))
    for a in ours:
        assert a.grad.dtype == np.float32, name


@pytest.mark.parametrize("fn", [F.sigmoid, F.softmax, F.log_softmax, F.softplus, F.tanh, F.elu,
                                F.gelu, lambda x: F.softmax_cross_entropy(x, np.array([0, 1]))])
def test_activations_stable_at_extremes(fn):
    x = Tensor(np.array([[-1000.0, 1000.0, 0.0], [1000.0, 999.0, -1000.0]], dtype=np.float32),
               requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = fn(x)
        y.backward(np.ones(y.shape, dtype=np.float32))
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
