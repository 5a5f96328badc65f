"""Convolution, pooling and up-sampling layers: gradchecks and PyTorch parity (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import nn
from glassnet.ops.conv import out_size

RNG = np.random.default_rng(0)


def nchw(a):
    return a.permute(0, 3, 1, 2)


def torch_conv2d(x, w, b, strides, padding, dilation):
    """Keras-layout conv through torch: explicit (possibly asymmetric) "same" padding."""
    kh, kw = w.shape[:2]
    _, ph = out_size(x.shape[1], kh, strides[0], dilation[0], padding)
    _, pw = out_size(x.shape[2], kw, strides[1], dilation[1], padding)
    xt = TF.pad(nchw(x), (pw[0], pw[1], ph[0], ph[1]))
    y = TF.conv2d(xt, w.permute(3, 2, 0, 1), b, stride=strides, dilation=dilation)
    return y.permute(0, 2, 3, 1)


CONV_CASES = [
    ("valid", dict(filters=4, kernel_size=3)),
    ("same", dict(filters=4, kernel_size=3, padding="same")),
    ("strided_same", dict(filters=3, kernel_size=(3, 2), strides=2, padding="same")),
    ("strided_valid", dict(filters=3, kernel_size=2, strides=(2, 1))),
    ("dilated_same", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same")),
    ("dilated_valid", dict(filters=2, kernel_size=2, dilation_rate=(2, 1))),
]


def compare(layer, torch_fn, x, params_to_torch):
    """Outputs and gradients (input and parameters) of a layer against torch, float64."""
    gx = gn.Tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    y = layer(gx)
    tparams = [torch.tensor(p.data, requires_grad=True) for p in layer.parameters()]
    ty = torch_fn(tx, *params_to_torch(tparams))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-11)
    v = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    np.testing.assert_allclose(gx.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    for p, tp in zip(layer.parameters(), tparams):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name,kwargs", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv2d(name, kwargs):
    x = RNG.standard_normal((2, 7, 6, 3))
    layer = nn.Conv2D(**kwargs, seed=0, dtype=np.float64)
    layer(x)
    layer.bias.data[...] = RNG.standard_normal(layer.bias.shape)
    assert gn.gradcheck(layer, [x], params=layer.parameters())
    s, d = layer.strides, layer.dilation_rate
    compare(layer, lambda t, w, b: torch_conv2d(t, w, b, s, layer.padding, d), x, lambda ps: ps)


@pytest.mark.parametrize("padding,strides,dilation", [("valid", 1, 1), ("same", 1, 2), ("same", 2, 1)])
def test_conv1d(padding, strides, dilation):
    x = RNG.standard_normal((2, 9, 3))
    layer = nn.Conv1D(4, 3, strides=strides, padding=padding, dilation_rate=dilation, seed=0, dtype=np.float64)
    layer(x)
    assert gn.gradcheck(layer, [x], params=layer.parameters())

    def torch_fn(t, w, b):
        _, pads = out_size(t.shape[1], 3, strides, dilation, padding)
        y = TF.conv1d(TF.pad(t.permute(0, 2, 1), pads), w[0].permute(2, 1, 0), b, stride=strides, dilation=dilation)
        return y.permute(0, 2, 1)

    compare(layer, torch_fn, x, lambda ps: ps)


@pytest.mark.parametrize("padding,kernel,strides,torch_padding", [("valid", 3, 2, 0), ("same", 4, 2, 1),
                                                                   ("valid", 2, 1, 0)])
def test_conv2d_transpose(padding, kernel, strides, torch_padding):
    x = RNG.standard_normal((2, 3, 4, 3))
    layer = nn.Conv2DTranspose(2, kernel, strides=strides, padding=padding, seed=0, dtype=np.float64)
    y = layer(x)
    expected = (3 * strides, 4 * strides) if padding == "same" else ((3 - 1) * strides + kernel, (4 - 1) * strides + kernel)
    assert y.shape == (2, *expected, 2)
    layer.bias.data[...] = [0.3, -0.2]
    assert gn.gradcheck(layer, [x], params=layer.parameters())
    compare(layer, lambda t, w, b: TF.conv_transpose2d(nchw(t), w.permute(3, 2, 0, 1), b, stride=strides,
                                                       padding=torch_padding).permute(0, 2, 3, 1), x, lambda ps: ps)


@pytest.mark.parametrize("layer,torch_fn", [
    (nn.MaxPooling2D(2), lambda t: TF.max_pool2d(nchw(t), 2).permute(0, 2, 3, 1)),
    (nn.MaxPooling2D(3, strides=2), lambda t: TF.max_pool2d(nchw(t), 3, 2).permute(0, 2, 3, 1)),
    (nn.AveragePooling2D(2), lambda t: TF.avg_pool2d(nchw(t), 2).permute(0, 2, 3, 1)),
    (nn.AveragePooling2D((2, 3), strides=1), lambda t: TF.avg_pool2d(nchw(t), (2, 3), 1).permute(0, 2, 3, 1)),
    (nn.UpSampling2D(2), lambda t: TF.interpolate(nchw(t), scale_factor=2, mode="nearest").permute(0, 2, 3, 1)),
    (nn.UpSampling2D((1, 3)), lambda t: TF.interpolate(nchw(t), scale_factor=(1, 3), mode="nearest").permute(0, 2, 3, 1)),
    (nn.GlobalAveragePooling2D(), lambda t: t.mean(dim=(1, 2))),
    (nn.GlobalMaxPooling2D(), lambda t: t.amax(dim=(1, 2))),
    (nn.MaxPooling1D(2), lambda t: TF.max_pool1d(t.permute(0, 2, 1), 2).permute(0, 2, 1)),
    (nn.AveragePooling1D(3, strides=2), lambda t: TF.avg_pool1d(t.permute(0, 2, 1), 3, 2).permute(0, 2, 1)),
    (nn.GlobalAveragePooling1D(), lambda t: t.mean(dim=1)),
    (nn.GlobalMaxPooling1D(), lambda t: t.amax(dim=1)),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Layer) else "")
def test_pooling_and_upsampling(layer, torch_fn):
    shape = (2, 9, 3) if "1D" in type(layer).__name__ else (2, 6, 7, 3)
    x = RNG.permutation(np.prod(shape)).reshape(shape) / 10.0  # distinct values: max is unique
    assert gn.gradcheck(layer, [x])
    compare(layer, lambda t: torch_fn(t), x, lambda ps: ps)


@pytest.mark.parametrize("size,strides", [(2, None), (3, 2), (3, 1)])
def test_max_pooling_ties_send_the_gradient_to_the_first_maximum_as_torch(size, strides):
    """After a ReLU most windows tie at 0; the gradient goes to the first, as in PyTorch."""
    x = np.maximum(RNG.standard_normal((2, 7, 6, 3)), 0).round(1)
    layer = nn.MaxPooling2D(size, strides=strides)
    compare(layer, lambda t: TF.max_pool2d(nchw(t), size, strides).permute(0, 2, 3, 1), x, lambda ps: ps)


@pytest.mark.parametrize("layer", [nn.MaxPooling2D(3, strides=2, padding="same"),
                                   nn.AveragePooling2D(3, strides=2, padding="same")])
def test_same_padded_pooling(layer):
    x = RNG.permutation(2 * 5 * 5 * 2).reshape(2, 5, 5, 2) / 7.0
    y = layer(x)
    assert y.shape == (2, 3, 3, 2)
    assert gn.gradcheck(layer, [x])
    if layer.mode == "avg":  # the padded cells are not counted: a corner averages 2x2 real cells
        np.testing.assert_allclose(y.data[:, 0, 0], x[:, :2, :2].mean(axis=(1, 2)), rtol=1e-6)


def test_shape_errors_name_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"Conv2D expects \(batch, height, width, channels\) \(rank 4\), "
                                         r"got x with shape \(2, 8, 8\)"):
        nn.Conv2D(2, 3)(np.zeros((2, 8, 8)))
    layer = nn.Conv2D(2, 3)
    layer(np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"expects 3 input channels, got x with shape \(1, 8, 8, 1\)"):
        layer(np.zeros((1, 8, 8, 1)))
    with pytest.raises(ValueError, match="does not fit an input of shape"):
        nn.Conv2D(2, 5)(np.zeros((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="`padding` must be 'valid' or 'same'"):
        nn.Conv2D(2, 3, padding="full")


@pytest.mark.parametrize("use_bias", [True, False])
def test_conv_with_relu_runs_fused_and_equals_conv_then_relu(use_bias):
    x = RNG.standard_normal((2, 6, 5, 3))
    fused = nn.Conv2D(4, 3, padding="same", activation="relu", use_bias=use_bias, seed=0, dtype=np.float64)
    plain = nn.Conv2D(4, 3, padding="same", use_bias=use_bias, seed=0, dtype=np.float64)
    fused(x), plain(x)
    if use_bias:
        fused.bias.data[...] = plain.bias.data[...] = RNG.standard_normal(4)
    gx_fused, gx_plain = gn.Tensor(x, requires_grad=True), gn.Tensor(x, requires_grad=True)
    y_fused, y_plain = fused(gx_fused), gn.functional.relu(plain(gx_plain))
    assert y_fused.grad_fn.relu and y_fused.grad_fn is not y_plain.grad_fn
    np.testing.assert_array_equal(y_fused.data, y_plain.data)
    v = RNG.standard_normal(y_fused.shape)
    y_fused.backward(v)
    y_plain.backward(v)
    np.testing.assert_allclose(gx_fused.grad, gx_plain.grad, rtol=1e-12)
    for a, b in zip(fused.parameters(), plain.parameters()):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12)
    assert gn.gradcheck(fused, [x], params=fused.parameters())


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "leaky_relu", "elu", "softplus", "gelu", "softmax"])
def test_conv_with_another_activation_runs_in_its_node_and_equals_conv_then_activation(activation):
    """The usual activations run inside the convolution's node, as Dense's do; conv then the
    activation's own layer gives the same output and gradients."""
    def layer(**kw):
        return nn.Conv2D(4, 3, padding="same", seed=0, dtype=np.float64, **kw)

    _assert_fused_equals_plain(layer, activation, RNG.standard_normal((2, 6, 5, 3)), gn.ops.Conv2D)


def _assert_fused_equals_plain(layer, activation, x, op):
    """``layer(activation=...)`` runs the activation in its own node (``op``, with the epilogue of that
    kind) and gives the output and gradients of ``layer()`` followed by the activation's layer."""
    fused, plain = layer(activation=activation), layer()
    fused(x), plain(x)
    fused.bias.data[...] = plain.bias.data[...] = RNG.standard_normal(plain.bias.shape)
    gx_fused, gx_plain = gn.Tensor(x, requires_grad=True), gn.Tensor(x, requires_grad=True)
    y_fused, y_plain = fused(gx_fused), nn.Activation(activation)(plain(gx_plain))
    assert type(y_fused.grad_fn) is op and y_fused.grad_fn.epilogue.kind == activation
    np.testing.assert_allclose(y_fused.data, y_plain.data, rtol=1e-12, atol=1e-14)
    v = RNG.standard_normal(y_fused.shape)
    y_fused.backward(v)
    y_plain.backward(v)
    np.testing.assert_allclose(gx_fused.grad, gx_plain.grad, rtol=1e-10, atol=1e-12)
    for a, b in zip(fused.parameters(), plain.parameters()):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12)
    return fused


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "elu", "gelu", "softmax"])
def test_conv2d_transpose_with_an_activation_runs_in_its_node(activation, padding):
    """Conv2DTranspose's bias and activation run inside its node, as Conv2D's; the same numbers and
    gradients as the plain transposed convolution followed by the activation's own layer."""
    x = RNG.standard_normal((2, 3, 4, 3))
    def layer(**kw):
        return nn.Conv2DTranspose(4, 3, strides=2, padding=padding, seed=0, dtype=np.float64, **kw)

    fused = _assert_fused_equals_plain(layer, activation, x, gn.ops.Conv2DTranspose)
    assert gn.gradcheck(fused, [x], params=fused.parameters())
