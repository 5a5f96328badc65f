"""Every registered loss: gradchecked, compared with PyTorch, and its errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet.nn import losses

N, C = 5, 4
_rng = np.random.default_rng(0)
LABELS = np.array([0, 3, 1, 2, 3])
ONE_HOT = np.eye(C)[LABELS]
SIGNS = _rng.choice([-1.0, 1.0], (N, C))
BITS = _rng.integers(0, 2, (N, C)).astype(float)
PROBS = _rng.dirichlet(np.ones(C), N)


def renormalized_xent(p, t):
    """Keras's categorical cross-entropy from probabilities renormalises p first."""
    return -(t * torch.log(p / p.sum(-1, keepdim=True))).sum(-1)


# name, loss object, target, how to make y_pred from normal z (numpy), torch per-sample fn(pred, target)
CASES = [
    ("mse", losses.MeanSquaredError(), _rng.standard_normal((N, C)), None,
     lambda p, t: TF.mse_loss(p, t, reduction="none").mean(-1)),
    ("mae", losses.MeanAbsoluteError(), _rng.standard_normal((N, C)), None,
     lambda p, t: TF.l1_loss(p, t, reduction="none").mean(-1)),
    ("huber", losses.Huber(delta=0.8), _rng.standard_normal((N, C)), None,
     lambda p, t: TF.huber_loss(p, t, reduction="none", delta=0.8).mean(-1)),
    ("bce", losses.BinaryCrossentropy(), BITS, "sigmoid",
     lambda p, t: TF.binary_cross_entropy(p, t, reduction="none").mean(-1)),
    ("bce_logits", losses.BinaryCrossentropy(from_logits=True), BITS, None,
     lambda p, t: TF.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1)),
    ("cce_one_hot", losses.CategoricalCrossentropy(), ONE_HOT, "softmax", renormalized_xent),
    ("cce_probs", losses.CategoricalCrossentropy(), PROBS, "softmax", renormalized_xent),
    ("cce_logits", losses.CategoricalCrossentropy(from_logits=True), PROBS, None,
     lambda p, t: TF.cross_entropy(p, t, reduction="none")),
    ("scce", losses.SparseCategoricalCrossentropy(), LABELS, "softmax",
     lambda p, t: TF.nll_loss(torch.log(p), t.long(), reduction="none")),
    ("scce_logits", losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, None,
     lambda p, t: TF.cross_entropy(p, t.long(), reduction="none")),
    ("hinge", losses.Hinge(), SIGNS, None, lambda p, t: torch.clamp(1 - t * p, min=0).mean(-1)),
    ("hinge_01", losses.Hinge(), BITS, None, lambda p, t: torch.clamp(1 - (2 * t - 1) * p, min=0).mean(-1)),
    ("squared_hinge", losses.SquaredHinge(), SIGNS, None,
     lambda p, t: (torch.clamp(1 - t * p, min=0) ** 2).mean(-1)),
    ("multiclass_hinge", losses.MulticlassHinge(), LABELS, None,
     lambda p, t: TF.multi_margin_loss(p, t.long(), reduction="none")),
    ("kl_divergence", losses.KLDivergence(), PROBS, "softmax",
     lambda p, t: TF.kl_div(torch.log(p), t, reduction="none").sum(-1)),
]
IDS = [c[0] for c in CASES]


def test_every_registered_loss_is_in_the_table():
    covered = {type(c[1]) for c in CASES}
    assert {losses.LOSSES.get(n) for n in losses.LOSSES.names()} <= covered


def prediction(kind, seed):
    z = np.random.default_rng(seed).standard_normal((N, C))
    if kind == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if kind == "softmax":
        e = np.exp(z)
        return e / e.sum(-1, keepdims=True)
    return z


@pytest.mark.parametrize("name,loss,target,kind,torch_fn", CASES, ids=IDS)
def test_gradcheck(name, loss, target, kind, torch_fn):
    assert gn.gradcheck(lambda p: loss(target, p), [prediction(kind, 1)], atol=1e-5)


@pytest.mark.parametrize("name,loss,target,kind,torch_fn", CASES, ids=IDS)
def test_matches_torch(name, loss, target, kind, torch_fn):
    p = prediction(kind, 2)
    weights = np.linspace(0.5, 1.5, N)
    for reduction in ("none", "mean", "sum"):
        loss.reduction = reduction
        ours = gn.Tensor(p, requires_grad=True)
        theirs = torch.tensor(p, requires_grad=True)
        y = loss(target, ours, sample_weight=weights)
        per = torch_fn(theirs, torch.tensor(target)) * torch.tensor(weights)
        ty = {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
        v = np.ones(y.shape)
        y.backward(v)
        ty.backward(torch.tensor(v))
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-8, atol=1e-12)
    loss.reduction = "mean"


def test_string_names_and_aliases():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("log_loss"), losses.BinaryCrossentropy)
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    with pytest.raises(ValueError, match="unknown loss 'msee'; known names: .*mse"):
        losses.get("msee")


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"y_true with shape \(5, 3\) does not fit y_pred with shape \(5, 4\)"):
        losses.MeanSquaredError()(np.zeros((5, 3)), np.zeros((5, 4)))
    # (n,) against (n, 1) is the same data and is accepted
    assert losses.MeanSquaredError()(np.ones(5), np.ones((5, 1))).item() == 0


def test_labels_out_of_range_are_a_clear_error():
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 4\); received values from 0 to 4"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 4]), np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match=r"in \[0, 4\); received values from -1"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([-1, 2]), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="labels must be integers"):
        losses.SparseCategoricalCrossentropy()(np.array([0.5, 2]), np.full((2, 4), 0.25))


def test_bad_arguments():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(2,\)"):
        losses.MeanSquaredError()(np.zeros(2), np.zeros(2), sample_weight=np.ones(3))


def test_cross_entropy_from_probabilities_never_takes_log_of_zero():
    # the seed's np.log(0) problem: p = 0 for the true class
    with np.errstate(divide="raise", invalid="raise"):
        value = losses.CategoricalCrossentropy()(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])).item()
        bce = losses.BinaryCrossentropy()(np.array([1.0, 0.0]), np.array([0.0, 1.0])).item()
    assert np.isfinite(value) and np.isfinite(bce) and value > 10
