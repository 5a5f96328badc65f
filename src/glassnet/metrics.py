"""Metrics: stateful objects that accumulate over batches, as in Keras.

``metric.update_state(y_true, y_pred)`` adds a batch; ``metric.result()``
gives the value over everything seen since ``reset_state()``. Each metric is
also usable in one call: ``Accuracy()(y_true, y_pred)``.

How predictions become classes (chosen from the shapes, as Keras does):
one column (or a 1-D vector) is a binary probability, thresholded at 0.5;
several columns give ``argmax``; the target is one-hot when it has the
prediction's shape and integer labels otherwise.
"""
import numpy as np

from .registry import Registry
from .tensor import Tensor

METRICS = Registry("metric")


def _np(y):
    return np.asarray(y.data if isinstance(y, Tensor) else y)


def to_classes(y_true, y_pred, threshold=0.5):
    """(true labels, predicted labels) as integer vectors."""
    t, p = _np(y_true), _np(y_pred)
    if p.ndim <= 1 or p.shape[-1] == 1:
        return np.rint(t.reshape(-1)).astype(np.int64), (p.reshape(-1) > threshold).astype(np.int64)
    pred = p.argmax(axis=-1).reshape(-1)
    true = t.argmax(axis=-1).reshape(-1) if t.shape == p.shape else np.rint(t.reshape(-1)).astype(np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"y_true with shape {t.shape} does not fit y_pred with shape {p.shape}")
    return true, pred


class Metric:
    """Base class: ``update_state``, ``result``, ``reset_state``."""

    def __init__(self, name=None):
        self.name = name or _snake(type(self).__name__)
        self.reset_state()

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.reset_state()
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _snake(name):
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class MeanMetric(Metric):
    """The (weighted) mean of a per-sample value ``self.values(y_true, y_pred)``."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        v = np.asarray(self.values(y_true, y_pred), dtype=np.float64)
        w = np.ones(len(v)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        self.total += float(v @ w)
        self.count += float(w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


@METRICS.register("accuracy", "acc")
class Accuracy(MeanMetric):
    """Fraction of samples whose predicted class is the true one (any of the three forms)."""

    def __init__(self, threshold=0.5, name="accuracy"):
        self.threshold = threshold
        super().__init__(name)

    def values(self, y_true, y_pred):
        true, pred = to_classes(y_true, y_pred, self.threshold)
        return true == pred


@METRICS.register("binary_accuracy")
class BinaryAccuracy(Accuracy):
    def __init__(self, threshold=0.5, name="binary_accuracy"):
        super().__init__(threshold, name)


@METRICS.register("categorical_accuracy")
class CategoricalAccuracy(Accuracy):
    def __init__(self, name="categorical_accuracy"):
        super().__init__(0.5, name)


@METRICS.register("sparse_categorical_accuracy")
class SparseCategoricalAccuracy(Accuracy):
    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(0.5, name)


@METRICS.register("zero_one_loss")
class ZeroOneLoss(Accuracy):
    """Seed 004's 0-1 loss: the fraction of misclassified samples (1 - accuracy)."""

    def __init__(self, threshold=0.5, name="zero_one_loss"):
        super().__init__(threshold, name)

    def values(self, y_true, y_pred):
        return ~super().values(y_true, y_pred)


@METRICS.register("top_k_accuracy", "top_k_categorical_accuracy")
class TopKAccuracy(MeanMetric):
    """Fraction of samples whose true class is among the ``k`` highest scores."""

    def __init__(self, k=5, name="top_k_accuracy"):
        self.k = k
        super().__init__(name)

    def values(self, y_true, y_pred):
        t, p = _np(y_true), _np(y_pred)
        true = t.argmax(axis=-1) if t.shape == p.shape else t.reshape(-1).astype(np.int64)
        true_score = np.take_along_axis(p, true[:, None], axis=-1)
        return (p > true_score).sum(axis=-1) < self.k


@METRICS.register("mean_squared_error", "mse")
class MeanSquaredError(MeanMetric):
    def values(self, y_true, y_pred):
        d = _np(y_pred) - _np(y_true).reshape(_np(y_pred).shape)
        return (d * d).reshape(len(d), -1).mean(axis=1)


@METRICS.register("mean_absolute_error", "mae")
class MeanAbsoluteError(MeanMetric):
    def values(self, y_true, y_pred):
        d = _np(y_pred) - _np(y_true).reshape(_np(y_pred).shape)
        return np.abs(d).reshape(len(d), -1).mean(axis=1)


@METRICS.register("confusion_matrix")
class ConfusionMatrix(Metric):
    """Counts: row = true class, column = predicted class."""

    def __init__(self, num_classes=None, threshold=0.5, name=None):
        self.num_classes, self.threshold = num_classes, threshold
        super().__init__(name)

    def reset_state(self):
        self.matrix = np.zeros((self.num_classes or 0,) * 2, dtype=np.int64)
        self.binary = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        true, pred = to_classes(y_true, y_pred, self.threshold)
        p = _np(y_pred)
        self.binary = p.ndim <= 1 or p.shape[-1] == 1
        n = max(len(self.matrix), true.max(initial=-1) + 1, pred.max(initial=-1) + 1,
                2 if self.binary else (p.shape[-1] if p.ndim > 1 else 0))
        if n > len(self.matrix):
            grown = np.zeros((n, n), dtype=np.int64)
            grown[:len(self.matrix), :len(self.matrix)] = self.matrix
            self.matrix = grown
        np.add.at(self.matrix, (true, pred), 1)

    def result(self):
        return self.matrix.copy()


class _FromConfusion(ConfusionMatrix):
    """Precision, recall and F1 computed from an accumulated confusion matrix.

    ``average``: ``"binary"`` (the positive class 1), ``"macro"`` (unweighted
    mean over classes) or ``"micro"`` (from the pooled counts). Defaults to
    ``None``: binary for one-column predictions, macro otherwise.
    """

    def __init__(self, average=None, threshold=0.5, name=None):
        if average not in (None, "binary", "macro", "micro"):
            raise ValueError(f"average must be 'binary', 'macro' or 'micro'; received: average={average!r}")
        self.average = average
        super().__init__(None, threshold, name)

    def result(self):
        m = self.matrix.astype(np.float64)
        tp, fp, fn = np.diag(m), m.sum(axis=0) - np.diag(m), m.sum(axis=1) - np.diag(m)
        average = self.average or ("binary" if self.binary else "macro")
        if average == "micro":
            tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
        elif average == "binary":
            tp, fp, fn = tp[1:2], fp[1:2], fn[1:2]
        return float(np.mean(self.score(tp, fp, fn))) if len(tp) else 0.0


def _ratio(a, b):
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


@METRICS.register("precision")
class Precision(_FromConfusion):
    def score(self, tp, fp, fn):
        return _ratio(tp, tp + fp)


@METRICS.register("recall")
class Recall(_FromConfusion):
    def score(self, tp, fp, fn):
        return _ratio(tp, tp + fn)


@METRICS.register("f1", "f1_score")
class F1Score(_FromConfusion):
    def score(self, tp, fp, fn):
        return _ratio(2 * tp, 2 * tp + fp + fn)


@METRICS.register("r2", "r2_score")
class R2Score(Metric):
    """Coefficient of determination 1 - SS_res / SS_tot, averaged over outputs."""

    def reset_state(self):
        self.n, self.sum_t, self.sum_t2, self.ss_res = 0, 0.0, 0.0, 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = _np(y_pred).astype(np.float64)
        t = _np(y_true).astype(np.float64).reshape(p.shape)
        p, t = p.reshape(len(p), -1), t.reshape(len(t), -1)
        self.n += len(t)
        self.sum_t = self.sum_t + t.sum(axis=0)
        self.sum_t2 = self.sum_t2 + (t * t).sum(axis=0)
        self.ss_res = self.ss_res + ((t - p) ** 2).sum(axis=0)

    def result(self):
        if self.n == 0:
            return 0.0
        ss_tot = np.asarray(self.sum_t2 - self.sum_t**2 / self.n)
        ss_res = np.asarray(self.ss_res)
        # NOTE: a constant target has no variance to explain: 1 if fitted exactly, else 0 (as scikit-learn).
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), (ss_res == 0) * 1.0)
        return float(r2.mean())


def get(identifier):
    """A new Metric from a name, or the Metric given."""
    if isinstance(identifier, str):
        return METRICS.get(identifier)()
    if isinstance(identifier, Metric):
        return identifier
    raise TypeError(f"metric must be a name or a Metric; received: {identifier!r}")
