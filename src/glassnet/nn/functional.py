"""PyTorch's ``torch.nn.functional`` (``import glassnet.nn.functional as F``): glassnet's functions
under PyTorch's names and arguments (``dim``, ``negative_slope``, a ``weight`` shaped
(out_features, in_features)), and the PyTorch-named losses as functions, ``F.cross_entropy(input, target)``.

>>> import numpy as np
>>> from glassnet import Tensor
>>> logits = Tensor([[2.0, 0.0], [0.0, 2.0]])
>>> round(cross_entropy(logits, Tensor([0, 1])).item(), 4), softmax(logits, dim=1).shape
(0.1269, (2, 2))
"""
from .. import functional as _F
from .torch_losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss

relu, sigmoid, tanh, softplus, gelu = _F.relu, _F.sigmoid, _F.tanh, _F.softplus, _F.gelu


def softmax(input, dim=-1):  # noqa: A002 - PyTorch's argument names, here and below
    return _F.softmax(input, axis=dim)


def log_softmax(input, dim=-1):  # noqa: A002
    return _F.log_softmax(input, axis=dim)


def leaky_relu(input, negative_slope=0.01):  # noqa: A002
    return _F.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0):  # noqa: A002
    return _F.elu(input, alpha)


def linear(input, weight, bias=None):  # noqa: A002
    """``input @ weight.T + bias`` with PyTorch's weight layout (out_features, in_features)."""
    return _F.linear(input, _F.transpose(_F._t(weight)), bias)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):  # noqa: A002
    return CrossEntropyLoss(weight, ignore_index, reduction, label_smoothing)(input, target)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    return NLLLoss(weight, ignore_index, reduction)(input, target)


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    return MSELoss(reduction=reduction)(input, target)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    return L1Loss(reduction=reduction)(input, target)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    return BCELoss(weight, reduction)(input, target)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):  # noqa: A002
    return BCEWithLogitsLoss(weight, reduction, pos_weight)(input, target)
