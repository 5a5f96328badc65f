"""Merge layers: gradchecked in float64 and compared with PyTorch, values and gradients."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn

CASES = [  # layer, the same in torch, number of inputs, one input's shape
    (lambda: nn.Add(), lambda xs: xs[0] + xs[1] + xs[2], 3, (4, 5)),
    (lambda: nn.Subtract(), lambda xs: xs[0] - xs[1], 2, (4, 5)),
    (lambda: nn.Multiply(), lambda xs: xs[0] * xs[1] * xs[2], 3, (4, 5)),
    (lambda: nn.Average(), lambda xs: (xs[0] + xs[1]) / 2, 2, (4, 5)),
    (lambda: nn.Maximum(), lambda xs: torch.maximum(torch.maximum(xs[0], xs[1]), xs[2]), 3, (4, 5)),
    (lambda: nn.Minimum(), lambda xs: torch.minimum(xs[0], xs[1]), 2, (4, 5)),
    (lambda: nn.Concatenate(), lambda xs: torch.cat(xs, dim=-1), 3, (4, 2, 3)),
    (lambda: nn.Concatenate(axis=1), lambda xs: torch.cat(xs, dim=1), 2, (4, 2, 3)),
    (lambda: nn.Dot(axes=1), lambda xs: (xs[0] * xs[1]).sum(1, keepdim=True), 2, (4, 5)),
    (lambda: nn.Dot(axes=1, normalize=True),
     lambda xs: torch.nn.functional.cosine_similarity(xs[0], xs[1], eps=0)[:, None], 2, (4, 5)),
    (lambda: nn.Dot(axes=2), lambda xs: torch.bmm(xs[0], xs[1].transpose(1, 2)), 2, (4, 3, 5)),
    (lambda: nn.Dot(axes=(1, 1)), lambda xs: torch.bmm(xs[0].transpose(1, 2), xs[1]), 2, (4, 3, 5)),
]


def _inputs(count, shape):
    rng = np.random.default_rng(count * 10 + len(shape))
    return [rng.standard_normal(shape) for _ in range(count)]


@pytest.mark.parametrize("make,torch_fn,count,shape", CASES)
def test_merge_layer_gradcheck(make, torch_fn, count, shape):
    layer = make()
    assert gn.gradcheck(lambda *xs: layer(list(xs)), _inputs(count, shape))


@pytest.mark.parametrize("make,torch_fn,count,shape", CASES)
def test_merge_layer_matches_torch(make, torch_fn, count, shape):
    xs = _inputs(count, shape)
    gx = [gn.Tensor(x, requires_grad=True) for x in xs]
    tx = [torch.tensor(x, requires_grad=True) for x in xs]
    y, ty = make()(gx), torch_fn(tx)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(9).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    for g, t in zip(gx, tx):
        np.testing.assert_allclose(g.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_merge_layers_check_their_inputs():
    with pytest.raises(ValueError, match=r"Add needs inputs of one shape; received shapes \(2, 3\), \(2, 4\)"):
        nn.Add()([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(TypeError, match=r"takes a list of tensors, e.g. Multiply\(\)\(\[a, b\]\)"):
        nn.Multiply()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Subtract takes 2 inputs; received 3"):
        nn.Subtract()([np.zeros((2, 3))] * 3)
    with pytest.raises(ValueError, match=r"agree on every other axis; received shapes \(2, 3\), \(3, 3\)"):
        nn.Concatenate()([np.zeros((2, 3)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match=r"Received: axis=0"):
        nn.Concatenate(axis=0)
    with pytest.raises(ValueError, match=r"axes of equal size"):
        nn.Dot(axes=1)([np.zeros((2, 3)), np.zeros((2, 4))])
    a, b = gn.Input((3,)), gn.Input((4,))
    with pytest.raises(ValueError, match=r"^Add cannot take symbolic input of shape \(None, 3\), \(None, 4\) \(tried"):
        nn.Add()([a, b])  # no "layer None": the layer has no name before a model counts it
    with pytest.raises(ValueError, match=r"^Add layer 'join' cannot take symbolic input"):
        nn.Add(name="join")([a, b])


def test_symbolic_merge_shapes():
    a, b = gn.Input((3, 5)), gn.Input((2, 5))
    assert nn.Concatenate(axis=1)([a, b]).shape == (None, 5, 5)
    assert nn.Dot(axes=2)([a, b]).shape == (None, 3, 2)
    assert nn.Maximum()([a, a]).shape == (None, 3, 5)
