"""PyTorch-named losses: values and gradients against torch, gradchecks, errors; label_smoothing on Keras's."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
import glassnet.nn.functional as GF
from glassnet import Tensor, nn

N, C = 6, 4
_rng = np.random.default_rng(0)
Z = _rng.standard_normal((N, C))
LABELS = np.array([0, 3, 1, 2, 3, 1])
PROBS = _rng.dirichlet(np.ones(C), N)
BITS = _rng.integers(0, 2, (N, C)).astype(float)
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
Z3 = _rng.standard_normal((2, C, 3))  # (N, C, d): classes on axis 1, as PyTorch
LABELS3 = np.array([[0, 1, 3], [2, 2, 0]])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def log_softmax(z):
    return z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))


# id, glassnet loss, torch loss, input, target
CASES = [
    ("ce", nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), Z, LABELS),
    ("ce_sum_weight", nn.CrossEntropyLoss(weight=WEIGHT, reduction="sum"),
     torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHT), reduction="sum"), Z, LABELS),
    ("ce_mean_weight_ignore_smooth", nn.CrossEntropyLoss(weight=WEIGHT, ignore_index=3, label_smoothing=0.2),
     torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHT), ignore_index=3, label_smoothing=0.2), Z, LABELS),
    ("ce_none_ignore", nn.CrossEntropyLoss(ignore_index=1, reduction="none"),
     torch.nn.CrossEntropyLoss(ignore_index=1, reduction="none"), Z, LABELS),
    ("ce_probabilities_smooth_weight", nn.CrossEntropyLoss(weight=WEIGHT, label_smoothing=0.1),
     torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHT), label_smoothing=0.1), Z, PROBS),
    ("ce_probabilities_none", nn.CrossEntropyLoss(reduction="none"), torch.nn.CrossEntropyLoss(reduction="none"),
     Z, PROBS),
    ("ce_spatial", nn.CrossEntropyLoss(label_smoothing=0.3), torch.nn.CrossEntropyLoss(label_smoothing=0.3),
     Z3, LABELS3),
    ("ce_spatial_none", nn.CrossEntropyLoss(reduction="none"), torch.nn.CrossEntropyLoss(reduction="none"),
     Z3, LABELS3),
    ("ce_unbatched", nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), Z[0], np.array(2)),
    ("nll", nn.NLLLoss(), torch.nn.NLLLoss(), log_softmax(Z), LABELS),
    ("nll_weight_ignore", nn.NLLLoss(weight=WEIGHT, ignore_index=0),
     torch.nn.NLLLoss(weight=torch.tensor(WEIGHT), ignore_index=0), log_softmax(Z), LABELS),
    ("nll_none", nn.NLLLoss(reduction="none"), torch.nn.NLLLoss(reduction="none"), log_softmax(Z), LABELS),
    ("mse", nn.MSELoss(), torch.nn.MSELoss(), Z, PROBS),
    ("mse_none", nn.MSELoss(reduction="none"), torch.nn.MSELoss(reduction="none"), Z, PROBS),
    ("l1_sum", nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), Z, PROBS),
    ("bce", nn.BCELoss(), torch.nn.BCELoss(), sigmoid(Z), BITS),
    ("bce_weight_none", nn.BCELoss(weight=WEIGHT, reduction="none"),
     torch.nn.BCELoss(weight=torch.tensor(WEIGHT), reduction="none"), sigmoid(Z), PROBS),
    ("bce_logits", nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), Z, BITS),
    ("bce_logits_pos_weight", nn.BCEWithLogitsLoss(pos_weight=WEIGHT, weight=WEIGHT[::-1].copy(), reduction="sum"),
     torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(WEIGHT), weight=torch.tensor(WEIGHT[::-1].copy()),
                                reduction="sum"), Z, PROBS),
]


@pytest.mark.parametrize("name, ours, theirs, x, target", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name, ours, theirs, x, target):
    a = Tensor(x, requires_grad=True)
    loss = ours(a, target)
    ta = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(target) if target.dtype.kind == "f" else torch.tensor(target, dtype=torch.long)
    expected = theirs(ta, tt)
    assert loss.shape == tuple(expected.shape) and type(loss.data) is np.ndarray
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(loss.shape)
    loss.backward(v)
    expected.backward(torch.tensor(v))
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, ours, theirs, x, target", CASES, ids=[c[0] for c in CASES])
def test_gradcheck_in_float64(name, ours, theirs, x, target):
    assert gn.gradcheck(lambda a: ours(a, target), [x])


def test_float32_and_integer_labels_stored_as_floats():
    loss = nn.CrossEntropyLoss()(Tensor(Z.astype(np.float32)), Tensor(LABELS))  # Tensor() stores labels as float32
    assert loss.dtype == np.float32
    expected = torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(LABELS))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-6)


@pytest.mark.parametrize("make, target, message", [
    (nn.CrossEntropyLoss, LABELS + 0.5, "integer class indices"),
    (nn.CrossEntropyLoss, LABELS + 1, r"in \[0, 4\) or equal ignore_index=-100; received values from 1 to 4"),
    (nn.CrossEntropyLoss, np.zeros((N, 2)), r"target with shape \(6, 2\) does not fit input with shape \(6, 4\)"),
    (nn.NLLLoss, PROBS, r"expected class indices of shape \(6,\)$"),
    (lambda: nn.CrossEntropyLoss(weight=np.ones(3)), LABELS, r"weight must have one entry per class \(4\)"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), LABELS, "label_smoothing must be a number in"),
    (lambda: nn.MSELoss(reduction="avg"), PROBS, "reduction must be one of"),
    (nn.MSELoss, PROBS[:, :2], r"target with shape \(6, 2\) does not fit input with shape \(6, 4\)"),
    (nn.BCELoss, BITS + 1, r"target must hold values in \[0, 1\]"),
    (nn.BCELoss, BITS, r"input must hold probabilities .* BCEWithLogitsLoss"),
])
def test_bad_arguments_get_clear_errors(make, target, message):
    with pytest.raises(ValueError, match=message):
        make()(Tensor(Z), target)


def test_compile_takes_a_pytorch_loss_by_instance_and_by_name(tmp_path):
    x = np.random.default_rng(0).standard_normal((40, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    for loss in (nn.CrossEntropyLoss(label_smoothing=0.1), "CrossEntropyLoss"):
        model = gn.Sequential([nn.Dense(3, input_dim=5)], seed=0)
        model.compile(optimizer=gn.optim.SGD(learning_rate=0.5), loss=loss)
        first = model.evaluate(x, y, verbose=0)
        history = model.fit(x, y, epochs=5, batch_size=40, verbose=0).history["loss"]
        assert history[-1] < history[0]
        expected = torch.nn.CrossEntropyLoss(label_smoothing=0.0 if isinstance(loss, str) else 0.1)(
            torch.tensor(model.predict(x, verbose=0)), torch.tensor(y))
        assert np.isclose(model.evaluate(x, y, verbose=0), expected.item(), rtol=1e-5) and first > 0
    model.save(tmp_path / "m.gnet")  # the training config keeps the PyTorch loss and its arguments
    restored = gn.models.load_model(tmp_path / "m.gnet")
    assert type(restored.loss.torch_loss) is nn.CrossEntropyLoss
    assert np.isclose(restored.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6)
    weighted = gn.Sequential([nn.Dense(3, input_dim=5)], seed=0)
    weighted.compile(loss=nn.CrossEntropyLoss(weight=[1.0, 2.0, 0.5], ignore_index=1, label_smoothing=0.2))
    weighted.save(tmp_path / "w.gnet")
    config = gn.models.load_model(tmp_path / "w.gnet").loss.get_config()
    assert config == {"reduction": "mean", "weight": [1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.2}


# Keras's label_smoothing: y (1 - s) + s / classes (categorical), y (1 - s) + s / 2 (binary)
@pytest.mark.parametrize("from_logits", [False, True])
def test_keras_cross_entropies_smooth_labels(from_logits):
    s = 0.2
    p = Tensor(Z if from_logits else np.exp(log_softmax(Z)))
    smooth = np.eye(C)[LABELS] * (1 - s) + s / C
    reference = nn.CategoricalCrossentropy(from_logits=from_logits)(smooth, p).item()
    for loss, target in [(nn.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=s), np.eye(C)[LABELS]),
                         (nn.SparseCategoricalCrossentropy(from_logits=from_logits, label_smoothing=s), LABELS)]:
        assert np.isclose(loss(target, p).item(), reference, rtol=1e-12)
        assert gn.gradcheck(lambda a, loss=loss, target=target: loss(target, a), [p.data])
    torch_value = torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(LABELS), label_smoothing=s)
    if from_logits:
        assert np.isclose(reference, torch_value.item(), rtol=1e-12)
    q = Tensor(Z if from_logits else sigmoid(Z))
    binary = nn.BinaryCrossentropy(from_logits=from_logits, label_smoothing=s)(BITS, q).item()
    assert np.isclose(binary, nn.BinaryCrossentropy(from_logits=from_logits)(BITS * (1 - s) + s / 2, q).item())
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\]; received: label_smoothing=-1"):
        nn.BinaryCrossentropy(label_smoothing=-1)


def test_label_smoothing_reaches_the_fused_softmax_of_a_sequential_and_its_file(tmp_path):
    x = np.random.default_rng(0).standard_normal((30, 5)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 30)
    model = gn.Sequential([nn.Dense(3, activation="softmax", input_dim=5)], seed=0)
    model.compile(optimizer="sgd", loss=nn.SparseCategoricalCrossentropy(label_smoothing=0.3))
    logits = torch.tensor(model.layers[0](Tensor(x)).data.astype(np.float64))
    logits = torch.log(logits)  # softmax's output back to logits (up to a per-row constant)
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor(y), label_smoothing=0.3).item()
    assert np.isclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)
    assert np.isclose(model.fit(x, y, epochs=1, batch_size=30, verbose=0).history["loss"][0], expected, rtol=1e-5)
    model.save(tmp_path / "m.gnet")
    assert gn.models.load_model(tmp_path / "m.gnet").loss.label_smoothing == 0.3


# -- torch.nn.functional's names: import glassnet.nn.functional as F -----------------------------------
def _functional_cases():
    rng = np.random.default_rng(4)
    logits, labels = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    probs, bits = 1 / (1 + np.exp(-logits)), (rng.random((5, 3)) > 0.5).astype(np.float64)
    w, b = rng.standard_normal((4, 3)), rng.standard_normal(4)
    return [
        ("cross_entropy", lambda F, x: F.cross_entropy(x, tensor_of(F, labels), label_smoothing=0.1), logits),
        ("nll_loss", lambda F, x: F.nll_loss(F.log_softmax(x, dim=1), tensor_of(F, labels)), logits),
        ("mse_loss", lambda F, x: F.mse_loss(x, tensor_of(F, bits), reduction="sum"), logits),
        ("l1_loss", lambda F, x: F.l1_loss(x, tensor_of(F, bits)), logits),
        ("binary_cross_entropy", lambda F, x: F.binary_cross_entropy(F.sigmoid(x), tensor_of(F, bits)), logits),
        ("bce_with_logits", lambda F, x: F.binary_cross_entropy_with_logits(x, tensor_of(F, bits)), logits),
        ("softmax_dim0", lambda F, x: F.softmax(x, dim=0), probs),
        ("leaky_relu", lambda F, x: F.leaky_relu(x, negative_slope=0.2), logits),
        ("elu_relu_tanh", lambda F, x: F.elu(x) + F.relu(x) * F.tanh(x), logits),
        ("linear", lambda F, x: F.linear(x, tensor_of(F, w), tensor_of(F, b)), logits),
    ]


def tensor_of(F, a):
    return torch.tensor(a) if F is TF else gn.Tensor(a)


@pytest.mark.parametrize("name,fn,x", _functional_cases(), ids=[c[0] for c in _functional_cases()])
def test_nn_functional_matches_torch(name, fn, x):
    ours, theirs = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = fn(GF, ours), fn(TF, theirs)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(5).standard_normal(y.shape)
    (y * gn.Tensor(v)).sum().backward()
    (ty * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
