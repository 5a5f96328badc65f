"""PyTorch's losses under PyTorch's names, arguments and argument order.

``loss_fn(input, target)``: the prediction first, the target second (the Keras losses of
:mod:`glassnet.nn.losses` take ``(y_true, y_pred)``). ``reduction`` is ``"mean"`` (the default),
``"sum"`` or ``"none"``; ``"mean"`` averages over every element, as PyTorch does, and the
class-weighted losses divide by the summed weights of the targets. Each is also a Keras
``Loss``: ``model.compile(loss=CrossEntropyLoss())`` works (with a model that outputs logits).

>>> import numpy as np
>>> loss_fn = CrossEntropyLoss()
>>> round(loss_fn(np.zeros((2, 4), dtype=np.float32), np.array([0, 3])).item(), 4)   # log(4)
1.3863
"""
import numpy as np

from .. import functional as F
from ..tensor import Tensor
from .losses import TORCH_LOSSES, Loss, _array, check_label_smoothing


class _TorchLoss(Loss):
    """A loss called ``loss_fn(input, target)``; subclasses define ``elements(input, target)``."""

    def __call__(self, input, target):  # noqa: A002 - PyTorch's argument name
        input = input if isinstance(input, Tensor) else Tensor(input)
        return self.compute(self.prepare_target(_array(target), input), input)

    def keras_order(self):
        """This loss called ``(y_true, y_pred)``, the order ``Model.fit`` uses."""
        return _KerasOrder(self)

    def prepare_target(self, t, input):  # noqa: A002
        if t.shape != input.shape:
            raise ValueError(f"{self.name}: target with shape {t.shape} does not fit input with shape "
                             f"{input.shape}; they must have one shape")
        return t.astype(input.dtype, copy=False)

    def compute(self, t, input, sample_weight=None):  # noqa: A002
        if sample_weight is not None:
            raise ValueError(f"{self.name} takes no sample_weight (PyTorch's losses have none); "
                             "use reduction='none' and weigh the result")
        return self.reduce(self.elements(t, input), None)

    def reduce(self, values, weight_sum):
        """Apply ``reduction``; ``"mean"`` divides by ``weight_sum`` when given, else by the count."""
        if self.reduction == "none":
            return values
        total = values.sum()
        if self.reduction == "sum":
            return total
        return total / weight_sum if weight_sum is not None else total / float(max(values.size, 1))

    def elements(self, t, input):  # noqa: A002
        raise NotImplementedError

    def get_config(self):
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in super().get_config().items()}


class _KerasOrder(Loss):
    """A PyTorch loss seen with Keras's argument order ``(y_true, y_pred)``, for ``compile``."""

    def __init__(self, loss):
        self.torch_loss, self.reduction, self.name = loss, loss.reduction, loss.name

    def prepare_target(self, t, y_pred):
        return self.torch_loss.prepare_target(t, y_pred)

    def compute(self, t, y_pred, sample_weight=None):
        return self.torch_loss.compute(t, y_pred, sample_weight)

    def get_config(self):
        return self.torch_loss.get_config()


def _class_weight(name, weight, argument="weight"):
    if weight is None:
        return None
    w = np.asarray(_array(weight), dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"{name}: {argument} must be a 1-d array with one entry per class; "
                         f"received shape {w.shape}")
    return w


@TORCH_LOSSES.register("MSELoss")
class MSELoss(_TorchLoss):
    """(input - target)**2, averaged over every element (``reduction="mean"``)."""

    def elements(self, t, x):
        d = x - t
        return d * d


@TORCH_LOSSES.register("L1Loss")
class L1Loss(_TorchLoss):
    """|input - target|, averaged over every element (``reduction="mean"``)."""

    def elements(self, t, x):
        return F.abs(x - t)


@TORCH_LOSSES.register("BCELoss")
class BCELoss(_TorchLoss):
    """-w (t log p + (1 - t) log(1 - p)) on probabilities p, each log clamped to >= -100 as PyTorch does.

    Args:
        weight: rescales each element (broadcast against ``input``). Defaults to ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``. Defaults to ``"mean"``.
    Raises:
        ValueError: ``input`` or ``target`` leaves [0, 1], or their shapes differ.
    """

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = None if weight is None else np.asarray(_array(weight), dtype=np.float64)

    def prepare_target(self, t, input):  # noqa: A002
        t = super().prepare_target(t, input)
        if t.size and (t.min() < 0 or t.max() > 1):
            raise ValueError(f"{self.name}: target must hold values in [0, 1]; received values from "
                             f"{t.min():g} to {t.max():g}")
        return t

    def elements(self, t, p):
        if p.size and (p.data.min() < 0 or p.data.max() > 1):
            raise ValueError(f"{self.name}: input must hold probabilities in [0, 1]; received values from "
                             f"{p.data.min():.4g} to {p.data.max():.4g} (for logits use BCEWithLogitsLoss)")
        tiny = np.exp(-100.0)  # NOTE: log(tiny) = -100, PyTorch's clamp; the clip has no gradient below it
        loss = -(F.log(F.clip(p, tiny, None)) * t + F.log(F.clip(1 - p, tiny, None)) * (1 - t))
        return loss if self.weight is None else loss * self.weight.astype(p.dtype)


@TORCH_LOSSES.register("BCEWithLogitsLoss")
class BCEWithLogitsLoss(_TorchLoss):
    """-w (pos_weight t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))), computed stably as
    w (pos_weight t softplus(-z) + (1 - t) softplus(z)).

    Args:
        weight: rescales each element (broadcast against ``input``). Defaults to ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``. Defaults to ``"mean"``.
        pos_weight: the weight of positive targets, one per class (the last axis). Defaults to ``None``.
    """

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight = None if weight is None else np.asarray(_array(weight), dtype=np.float64)
        self.pos_weight = None if pos_weight is None else np.asarray(_array(pos_weight), dtype=np.float64)

    def elements(self, t, z):
        positive = t if self.pos_weight is None else t * self.pos_weight.astype(z.dtype)
        loss = F.softplus(-z) * positive + F.softplus(z) * (1 - t)
        return loss if self.weight is None else loss * self.weight.astype(z.dtype)


class _ClassLoss(_TorchLoss):
    """Shared by NLLLoss and CrossEntropyLoss: input (N, C, *d) or (C,), class indices of shape
    (N, *d) or (); rows weighted by ``weight[target]``; targets equal to ``ignore_index`` add nothing."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.weight = _class_weight(type(self).__name__, weight)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise TypeError(f"ignore_index must be an integer; received: ignore_index={ignore_index!r}")
        self.ignore_index = int(ignore_index)

    def prepare_target(self, t, input):  # noqa: A002
        if input.ndim == 0:
            raise ValueError(f"{self.name}: input must have a class axis; received a 0-d input")
        classes = input.shape[0 if input.ndim == 1 else 1]
        if self.weight is not None and self.weight.shape != (classes,):
            raise ValueError(f"{self.name}: weight must have one entry per class ({classes}); "
                             f"received shape {self.weight.shape}")
        if self.accepts_probabilities and t.shape == input.shape and t.dtype.kind == "f":
            return t.astype(input.dtype, copy=False)
        expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
        if t.shape != expected:
            raise ValueError(f"{self.name}: target with shape {t.shape} does not fit input with shape {input.shape}; "
                             f"expected class indices of shape {expected}"
                             + (f" or probabilities of shape {input.shape}" if self.accepts_probabilities else ""))
        if t.dtype.kind not in "iu":
            if t.dtype.kind not in "fb" or not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
                raise ValueError(f"{self.name}: target must hold integer class indices; received dtype {t.dtype} "
                                 "with non-integer values")
            t = t.astype(np.int64)
        kept = t[t != self.ignore_index]
        if kept.size and (kept.min() < 0 or kept.max() >= classes):
            raise ValueError(f"{self.name}: target class indices must be in [0, {classes}) or equal "
                             f"ignore_index={self.ignore_index}; received values from {kept.min()} to {kept.max()}")
        return t

    accepts_probabilities = False

    def compute(self, t, input, sample_weight=None):  # noqa: A002
        if sample_weight is not None:
            raise ValueError(f"{self.name} takes no sample_weight (PyTorch's losses have none); use weight=")
        x = input if input.ndim != 1 else input.reshape(1, -1)
        if x.ndim > 2:  # NOTE: classes last, so that each row of (-1, C) is one position's scores
            x = F.transpose(x, (0, *range(2, x.ndim), 1))
        rows = x.reshape(-1, x.shape[-1])
        w = np.ones(rows.shape[-1]) if self.weight is None else self.weight
        if t.dtype.kind == "f":  # probabilities: -sum_c w_c t_c log p_c, mean over the positions
            targets = np.moveaxis(t, 1, -1) if t.ndim > 2 else t
            matrix = self.smoothed(targets.reshape(-1, rows.shape[-1])) * w
            weight_sum = None
        else:
            labels = t.reshape(-1)
            kept = labels != self.ignore_index
            matrix = self.label_matrix(np.where(kept, labels, 0), w) * kept[:, None]
            weight_sum = float(np.sum(w[labels[kept]]))
        per = self.per_row(rows, matrix.astype(input.dtype))
        shape = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
        per = per.reshape(shape)
        if self.reduction == "mean" and weight_sum is None:
            weight_sum = float(max(per.size, 1))
        return self.reduce(per, weight_sum)

    def smoothed(self, probabilities):
        return probabilities

    def label_matrix(self, labels, w):
        """Row n: what multiplies -log p_n (one-hot of the label, weighted)."""
        matrix = np.zeros((labels.size, w.size))
        matrix[np.arange(labels.size), labels] = w[labels]
        return matrix


@TORCH_LOSSES.register("NLLLoss")
class NLLLoss(_ClassLoss):
    """-weight[t] input[t]: the negative log-likelihood of log-probabilities (after ``LogSoftmax``).

    Args:
        weight: one weight per class. Defaults to ``None`` (all 1).
        ignore_index: a target value that adds nothing to the loss nor to the mean's
            denominator. Defaults to ``-100``.
        reduction: ``"mean"`` (divided by the summed weights of the targets), ``"sum"`` or
            ``"none"``. Defaults to ``"mean"``.
    """

    def per_row(self, rows, matrix):
        return -(rows * matrix).sum(axis=-1)


@TORCH_LOSSES.register("CrossEntropyLoss")
class CrossEntropyLoss(_ClassLoss):
    """Softmax cross-entropy from logits, as ``torch.nn.CrossEntropyLoss``.

    ``target`` holds class indices (integers, or whole numbers stored as floats) of shape
    (N, *d) or class probabilities shaped like ``input`` (N, C, *d). ``label_smoothing`` s
    mixes the target with the uniform distribution: (1 - s) target + s / C.

    Args:
        weight: one weight per class. Defaults to ``None`` (all 1).
        ignore_index: a class-index target that adds nothing, neither to the loss nor to the
            mean's denominator. Defaults to ``-100``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``. With class indices ``"mean"`` divides by
            the summed weights of the targets; with probabilities by N. Defaults to ``"mean"``.
        label_smoothing: in [0, 1]. Defaults to ``0.0``.
    Raises:
        ValueError: a target of the wrong shape, non-integer or out-of-range class indices,
            a ``weight`` without one entry per class, ``label_smoothing`` outside [0, 1].
    """

    accepts_probabilities = True

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = check_label_smoothing(label_smoothing)

    def smoothed(self, probabilities):
        s = self.label_smoothing
        return probabilities * (1 - s) + s / probabilities.shape[-1]

    def label_matrix(self, labels, w):
        s = self.label_smoothing
        # (1 - s) w_y on the label, plus s / C w_c on every class c
        return super().label_matrix(labels, w) * (1 - s) + (s / w.size) * w

    def per_row(self, rows, matrix):
        return F.softmax_cross_entropy(rows, matrix)
