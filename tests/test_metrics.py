"""Metrics against PyTorch (the simple ones) and scikit-learn (the confusion-based ones)."""
import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from glassnet import metrics

rng = np.random.default_rng(0)
N, C = 60, 4
LABELS = rng.integers(0, C, N)
SCORES = rng.standard_normal((N, C)) + 1.5 * np.eye(C)[LABELS]
PROBS = np.exp(SCORES) / np.exp(SCORES).sum(1, keepdims=True)
BIN_TRUE = rng.integers(0, 2, N)
BIN_PROB = np.clip(0.5 + 0.35 * (BIN_TRUE - 0.5) + 0.3 * rng.standard_normal(N), 0, 1)
REG_TRUE = rng.standard_normal((N, 2))
REG_PRED = REG_TRUE + 0.4 * rng.standard_normal((N, 2))
PRED = SCORES.argmax(1)


def test_accuracy_picks_the_form_from_the_shapes():
    t = torch.tensor(SCORES)
    expected_cat = (t.argmax(1) == torch.tensor(LABELS)).double().mean().item()
    assert metrics.Accuracy()(np.eye(C)[LABELS], PROBS) == pytest.approx(expected_cat)  # one-hot: categorical
    assert metrics.Accuracy()(LABELS, PROBS) == pytest.approx(expected_cat)  # integers: sparse
    assert metrics.Accuracy()(LABELS.reshape(-1, 1), PROBS) == pytest.approx(expected_cat)
    expected_bin = ((torch.tensor(BIN_PROB) > 0.5).long() == torch.tensor(BIN_TRUE)).double().mean().item()
    assert metrics.Accuracy()(BIN_TRUE, BIN_PROB) == pytest.approx(expected_bin)  # one column: binary
    assert metrics.BinaryAccuracy()(BIN_TRUE.reshape(-1, 1), BIN_PROB.reshape(-1, 1)) == pytest.approx(expected_bin)
    assert metrics.CategoricalAccuracy()(np.eye(C)[LABELS], PROBS) == pytest.approx(expected_cat)
    assert metrics.SparseCategoricalAccuracy()(LABELS, PROBS) == pytest.approx(expected_cat)


def test_accumulates_over_batches_like_one_call():
    m = metrics.Accuracy()
    for s in range(0, N, 7):
        m.update_state(LABELS[s:s + 7], PROBS[s:s + 7])
    assert m.result() == pytest.approx(metrics.Accuracy()(LABELS, PROBS))
    m.reset_state()
    assert m.result() == 0.0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy(k):
    assert metrics.TopKAccuracy(k)(LABELS, SCORES) == pytest.approx(
        skm.top_k_accuracy_score(LABELS, SCORES, k=k, labels=range(C)))
    topk = torch.tensor(SCORES).topk(k, dim=1).indices
    expected = (topk == torch.tensor(LABELS)[:, None]).any(1).double().mean().item()
    assert metrics.TopKAccuracy(k)(np.eye(C)[LABELS], SCORES) == pytest.approx(expected)


def test_zero_one_loss_is_seed_004s():
    assert metrics.ZeroOneLoss()(LABELS, PROBS) == pytest.approx(skm.zero_one_loss(LABELS, PRED))


@pytest.mark.parametrize("cls,fn", [(metrics.Precision, skm.precision_score), (metrics.Recall, skm.recall_score),
                                    (metrics.F1Score, skm.f1_score)])
@pytest.mark.parametrize("average", ["macro", "micro"])
def test_precision_recall_f1_multiclass(cls, fn, average):
    m = cls(average=average)
    for s in range(0, N, 16):
        m.update_state(LABELS[s:s + 16], PROBS[s:s + 16])
    assert m.result() == pytest.approx(fn(LABELS, PRED, average=average))


@pytest.mark.parametrize("cls,fn", [(metrics.Precision, skm.precision_score), (metrics.Recall, skm.recall_score),
                                    (metrics.F1Score, skm.f1_score)])
def test_precision_recall_f1_binary(cls, fn):
    assert cls()(BIN_TRUE, BIN_PROB) == pytest.approx(fn(BIN_TRUE, (BIN_PROB > 0.5).astype(int)))


def test_confusion_matrix():
    m = metrics.ConfusionMatrix()
    m.update_state(LABELS[:30], PROBS[:30])
    m.update_state(LABELS[30:], PROBS[30:])
    np.testing.assert_array_equal(m.result(), skm.confusion_matrix(LABELS, PRED, labels=range(C)))
    np.testing.assert_array_equal(metrics.ConfusionMatrix()(BIN_TRUE, BIN_PROB),
                                  skm.confusion_matrix(BIN_TRUE, (BIN_PROB > 0.5).astype(int)))


def test_regression_metrics():
    t, p = torch.tensor(REG_TRUE), torch.tensor(REG_PRED)
    assert metrics.MeanSquaredError()(REG_TRUE, REG_PRED) == pytest.approx(torch.nn.functional.mse_loss(p, t).item())
    assert metrics.MeanAbsoluteError()(REG_TRUE, REG_PRED) == pytest.approx(torch.nn.functional.l1_loss(p, t).item())
    m = metrics.R2Score()
    m.update_state(REG_TRUE[:25], REG_PRED[:25])
    m.update_state(REG_TRUE[25:], REG_PRED[25:])
    assert m.result() == pytest.approx(skm.r2_score(REG_TRUE, REG_PRED))
    assert metrics.R2Score()(REG_TRUE[:, 0], REG_PRED[:, 0]) == pytest.approx(skm.r2_score(REG_TRUE[:, 0], REG_PRED[:, 0]))


def test_sample_weight():
    w = np.linspace(0, 1, N)
    assert metrics.Accuracy()(LABELS, PROBS, sample_weight=w) == pytest.approx(
        skm.accuracy_score(LABELS, PRED, sample_weight=w))


def test_registry():
    assert isinstance(metrics.get("acc"), metrics.Accuracy)
    assert isinstance(metrics.get("f1"), metrics.F1Score)
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; known names: .*accuracy"):
        metrics.get("acuracy")
    with pytest.raises(ValueError, match="average must be"):
        metrics.F1Score(average="weighted")
