"""Loss functions: ``loss(y_true, y_pred, sample_weight=None)`` returns a Tensor.

Arguments follow Keras's order: the target first, the prediction second. The
target is a constant (array or Tensor); the prediction is differentiated.
Each loss first computes one value per sample (averaging over the non-batch
axes), then weights it by ``sample_weight`` and reduces it: ``"mean"`` divides
the sum by the batch size, ``"sum"`` adds, ``"none"`` returns the vector.
"""
import numpy as np

from ..backend import asarray_like, get_array_module
from .. import functional as F
from ..registry import Registry
from ..tensor import Tensor

LOSSES = Registry("loss")
TORCH_LOSSES = Registry("PyTorch loss")  # called (input, target): filled by torch_losses.py
REDUCTIONS = ("mean", "sum", "none")
EPSILON = 1e-7  # Keras's clipping epsilon for probabilities


class Loss:
    """Base class. Subclasses define ``per_element(t, p)`` or override ``per_sample``."""

    def __init__(self, reduction="mean", name=None):
        if reduction == "sum_over_batch_size":
            reduction = "mean"
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}; received: reduction={reduction!r}")
        self.reduction = reduction
        self.name = name or type(self).__name__

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
        return self.compute(self.prepare_target(_array(y_true), y_pred), y_pred, sample_weight)

    def compute(self, t, y_pred, sample_weight=None):
        """The loss from a target already checked and converted by ``prepare_target``
        (``fit`` prepares the whole target once instead of once per batch)."""
        t = asarray_like(t, y_pred.data)  # NOTE: a NumPy target meets an output on a GPU here
        if self.reduction == "mean" and sample_weight is None:
            fused = self.fused_mean(t, y_pred)
            if fused is not None:
                return fused
        per = self.per_sample(t, y_pred)
        if sample_weight is not None:
            w = asarray_like(sample_weight, y_pred.data, y_pred.dtype)
            if w.shape not in ((len(y_pred),), (len(y_pred), 1)):
                raise ValueError(f"{self.name}: sample_weight must have shape ({len(y_pred)},), "
                                 f"received shape {w.shape}")
            per = per * w.reshape(-1)
        if self.reduction == "none":
            return per
        # NOTE: "mean" divides by the batch size even with sample weights, as Keras does.
        return per.mean() if self.reduction == "mean" else per.sum()

    def prepare_target(self, t, y_pred):
        """The target as an array of ``y_pred``'s shape and dtype; else a clear error."""
        if t.shape != y_pred.shape:
            if t.size == y_pred.size and t.shape[:1] == y_pred.shape[:1] and _squeezed(t) == _squeezed(y_pred):
                t = t.reshape(y_pred.shape)
            else:
                raise ValueError(f"{self.name}: y_true with shape {t.shape} does not fit "
                                 f"y_pred with shape {y_pred.shape}")
        return t.astype(y_pred.dtype, copy=False)

    def fused_mean(self, t, p):
        """The mean loss as one fused op, where there is one; else None."""
        return None

    def per_sample(self, t, p):
        elements = self.per_element(t, p)
        if elements.ndim <= 1:
            return elements
        return elements.mean(axis=tuple(range(1, elements.ndim)))

    def per_element(self, t, p):
        raise NotImplementedError

    def get_config(self):
        return {k: v for k, v in vars(self).items() if k != "name"}

    def keras_order(self):
        """This loss called ``(y_true, y_pred)``, as ``Model.fit`` calls it (PyTorch's losses adapt)."""
        return self

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _array(y):
    if isinstance(y, Tensor):
        return y.data
    return y if get_array_module(y) is not np else np.asarray(y)


def _squeezed(a):
    return tuple(n for n in a.shape if n != 1)


@LOSSES.register("mean_squared_error", "mse")
class MeanSquaredError(Loss):
    """mean((y_pred - y_true)**2)."""

    def per_element(self, t, p):
        d = p - t
        return d * d


@LOSSES.register("mean_absolute_error", "mae")
class MeanAbsoluteError(Loss):
    """mean(|y_pred - y_true|)."""

    def per_element(self, t, p):
        return F.abs(p - t)


@LOSSES.register("huber")
class Huber(Loss):
    """0.5 e^2 where |e| <= delta, else delta * (|e| - 0.5 delta), e = y_pred - y_true."""

    def __init__(self, delta=1.0, reduction="mean", name=None):
        super().__init__(reduction, name)
        if delta <= 0:
            raise ValueError(f"delta must be > 0; received: delta={delta!r}")
        self.delta = float(delta)

    def per_element(self, t, p):
        e = p - t
        small = np.abs(e.data) <= self.delta
        return F.where(small, e * e * 0.5, (F.abs(e) - 0.5 * self.delta) * self.delta)


class _ProbabilisticLoss(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="mean", name=None):
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = check_label_smoothing(label_smoothing)

    def _probabilities(self, p):
        """``p``, after checking that it holds probabilities (NaN passes: divergence is reported elsewhere)."""
        if p.size and (p.data.min() < -1e-6 or p.data.max() > 1 + 1e-6):
            raise ValueError(f"{self.name}: y_pred must hold probabilities in [0, 1], but it holds values from "
                             f"{p.data.min():.4g} to {p.data.max():.4g}. If the model outputs logits (no sigmoid "
                             f"or softmax at the end), use {type(self).__name__}(from_logits=True), or end the "
                             "model with that activation")
        return p

    def fused_mean(self, t, p):
        if self.from_logits and isinstance(self, (CategoricalCrossentropy, SparseCategoricalCrossentropy)):
            return F.softmax_cross_entropy(p, self._rows(t, p), mean=True)
        return None

    def _rows(self, t, p):
        """The target as the cross-entropy uses it (the sparse loss smooths its labels here)."""
        return t


def check_label_smoothing(value):
    """``value`` as a float in [0, 1], else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not 0 <= value <= 1:
        raise ValueError(f"label_smoothing must be a number in [0, 1]; received: label_smoothing={value!r}")
    return float(value)


def smoothed_one_hot(labels, classes, smoothing, dtype):
    """One-hot rows of ``labels`` mixed with the uniform distribution: (1 - s) one_hot + s / classes."""
    rows = np.full((*labels.shape, classes), smoothing / classes, dtype=dtype)
    np.put_along_axis(rows, labels[..., None], 1 - smoothing + smoothing / classes, axis=-1)
    return rows


@LOSSES.register("binary_crossentropy", "bce", "log_loss")
class BinaryCrossentropy(_ProbabilisticLoss):
    """-(t log p + (1 - t) log(1 - p)); p clipped to [1e-7, 1 - 1e-7].

    ``label_smoothing`` s moves the labels towards 1/2 as Keras does: t (1 - s) + s / 2.

    With ``from_logits=True`` it takes z with p = sigmoid(z) and computes the
    stable ``softplus(z) - t z``.

    Raises:
        ValueError: y_true holds values outside [0, 1] (the message suggests the
            hinge or sparse loss where they fit); y_pred holds values outside
            [0, 1] without ``from_logits=True``.
    """

    def prepare_target(self, t, y_pred):
        t = super().prepare_target(t, y_pred)
        if t.size and (t.min() < 0 or t.max() > 1):
            values = np.unique(t)
            hint = ("; for labels in {-1, 1} use loss='hinge'" if set(values.tolist()) <= {-1, 1}
                    else "; for class indices use loss='sparse_categorical_crossentropy'"
                    if np.all(values == np.round(values)) and values.min() >= 0 else "")
            raise ValueError(f"{self.name}: y_true must hold labels in [0, 1] (0 or 1, or probabilities); "
                             f"received values from {t.min():g} to {t.max():g}{hint}")
        return t * (1 - self.label_smoothing) + 0.5 * self.label_smoothing if self.label_smoothing else t

    def per_element(self, t, p):
        if self.from_logits:
            return F.softplus(p) - p * t
        p = F.clip(self._probabilities(p), EPSILON, 1 - EPSILON)
        return -(F.log(p) * t + F.log(1 - p) * (1 - t))


@LOSSES.register("categorical_crossentropy", "cce")
class CategoricalCrossentropy(_ProbabilisticLoss):
    """-sum_k t_k log p_k over the class axis; t one-hot or probabilities.

    From probabilities, p is renormalised (by a row sum clipped to at least 1e-7,
    so an all-zero row stays finite) and clipped to [1e-7, 1] (as Keras does);
    from logits it is the fused, stable softmax cross-entropy. ``label_smoothing`` s mixes
    the target with the uniform distribution as Keras does: t (1 - s) + s / classes.

    Raises:
        ValueError: y_true holds integer labels (use the sparse loss) or rows that
            are not distributions; y_pred holds values outside [0, 1] without
            ``from_logits=True``.
    """

    def prepare_target(self, t, y_pred):
        if t.shape != y_pred.shape and t.shape in ((len(t),), (len(t), 1)) and y_pred.shape[-1] > 1 \
                and np.all(t == np.round(t)):
            raise ValueError(f"{self.name}: y_true holds integer class labels (shape {t.shape}) but this loss "
                             f"takes one-hot rows like y_pred's shape {y_pred.shape}: use "
                             "loss='sparse_categorical_crossentropy' for integer labels, or one-hot encode y")
        t = super().prepare_target(t, y_pred)
        rows = t.reshape(-1, t.shape[-1]) if t.size else t
        bad = np.flatnonzero((np.abs(rows.sum(axis=-1, dtype=np.float64) - 1) > 1e-3) | (rows < 0).any(axis=-1))
        if bad.size:
            raise ValueError(f"{self.name}: each row of y_true must be a probability distribution (values >= 0 "
                             f"summing to 1, e.g. one-hot); {bad.size} rows are not, the first is row {bad[0]}: "
                             f"{np.round(rows[bad[0]], 4).tolist()}")
        s = self.label_smoothing
        return t * (1 - s) + s / t.shape[-1] if s else t

    def per_sample(self, t, p):
        if self.from_logits:
            return F.softmax_cross_entropy(p, t)
        p = self._probabilities(p)
        # NOTE: the row sum is clipped too: an all-zero row (a relu output) gives a finite loss
        # and zero gradients instead of 0/0.
        p = F.clip(p / F.clip(p.sum(axis=-1, keepdims=True), EPSILON, None), EPSILON, 1.0)
        return -(F.log(p) * t).sum(axis=-1)


def _labels(name, t, p):
    """Integer class labels of shape (n,) in [0, classes), else a clear error."""
    classes = p.shape[-1]
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t.reshape(t.shape[:-1])
    if t.shape != p.shape[:-1]:
        raise ValueError(f"{name}: y_true with shape {t.shape} does not fit y_pred with shape "
                         f"{p.shape}; expected integer labels of shape {p.shape[:-1]}")
    if t.dtype.kind not in "iu":
        if t.size and not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError(f"{name}: labels must be integers; received dtype {t.dtype}")
        t = t.astype(np.int64)
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise ValueError(f"{name}: labels must be integers in [0, {classes}); "
                         f"received values from {t.min()} to {t.max()}")
    return t


@LOSSES.register("sparse_categorical_crossentropy", "scce")
class SparseCategoricalCrossentropy(_ProbabilisticLoss):
    """Categorical cross-entropy with integer labels instead of one-hot rows.

    ``label_smoothing`` (which Keras's sparse loss lacks) smooths the labels' one-hot rows as
    ``CategoricalCrossentropy`` does: (1 - s) one_hot + s / classes.
    """

    def prepare_target(self, t, y_pred):
        return _labels(self.name, t, y_pred)

    def _rows(self, t, p):
        return smoothed_one_hot(t, p.shape[-1], self.label_smoothing, p.dtype) if self.label_smoothing else t

    def per_sample(self, t, p):
        if self.from_logits:
            return F.softmax_cross_entropy(p, self._rows(t, p))
        if self.label_smoothing:
            return -(F.log(F.clip(self._probabilities(p), EPSILON, 1.0)) * self._rows(t, p)).sum(axis=-1)
        picked = self._probabilities(p)[np.arange(len(t)), t]
        return -F.log(F.clip(picked, EPSILON, 1.0))


def _signed(t):
    """Labels in {0, 1} become {-1, 1}; labels in {-1, 1} stay."""
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


@LOSSES.register("hinge")
class Hinge(Loss):
    """max(1 - t * y_pred, 0) with labels in {-1, 1} (or {0, 1}, converted)."""

    def per_element(self, t, p):
        return F.relu(1 - p * _signed(t))


@LOSSES.register("squared_hinge")
class SquaredHinge(Loss):
    """max(1 - t * y_pred, 0)**2 with labels in {-1, 1} (or {0, 1}, converted)."""

    def per_element(self, t, p):
        h = F.relu(1 - p * _signed(t))
        return h * h


@LOSSES.register("multiclass_hinge")
class MulticlassHinge(Loss):
    """sum over wrong classes k of max(0, margin - s_y + s_k), divided by the class count.

    The Weston-Watkins multiclass hinge (PyTorch's ``MultiMarginLoss``);
    targets are integer labels or one-hot rows.
    """

    def __init__(self, margin=1.0, reduction="mean", name=None):
        super().__init__(reduction, name)
        self.margin = float(margin)

    def prepare_target(self, t, y_pred):
        if t.shape == y_pred.shape:
            t = t.argmax(axis=-1)
        return _labels(self.name, t, y_pred)

    def per_sample(self, t, s):
        rows = np.arange(len(t))
        true_score = s[rows, t].reshape(-1, 1)
        margins = F.relu(s - true_score + self.margin)
        wrong = np.ones(s.shape, dtype=s.dtype)
        wrong[rows, t] = 0
        return (margins * wrong).sum(axis=-1) / float(s.shape[-1])


@LOSSES.register("kl_divergence", "kld", "kullback_leibler_divergence")
class KLDivergence(Loss):
    """sum_k t_k log(t_k / p_k), both clipped to [1e-7, 1]."""

    def per_sample(self, t, p):
        t = np.clip(t, EPSILON, 1.0)
        return (F.log(t / F.clip(p, EPSILON, 1.0)) * t).sum(axis=-1)


def name_of(loss):
    """The registered name of a loss as ``get`` returns it (PyTorch's by class name), or None."""
    return LOSSES.name_of(loss) or TORCH_LOSSES.name_of(getattr(loss, "torch_loss", None))


def from_config(name, config):
    """The loss registered as ``name``, made from ``get_config()``'s dict (a model file's)."""
    return (TORCH_LOSSES if name in TORCH_LOSSES else LOSSES).get(name)(**config)


def get(identifier):
    """A Loss from a name, a Loss, or a callable ``(y_true, y_pred) -> Tensor``; PyTorch's
    losses (``"CrossEntropyLoss"`` or an instance) come called in Keras's order."""
    if isinstance(identifier, str):
        registry = TORCH_LOSSES if identifier in TORCH_LOSSES else LOSSES
        return registry.get(identifier)().keras_order()
    if isinstance(identifier, Loss):
        return identifier.keras_order()
    if callable(identifier):
        return identifier
    raise TypeError(f"loss must be a name, a Loss or a callable; received: loss={identifier!r}")
