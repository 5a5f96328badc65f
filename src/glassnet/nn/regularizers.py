"""Weight penalties added to the loss (seed 004): L1 = sum|w|, L2 = 1/2 sum w^2.

NOTE: L2 here is ``l2 / 2 * sum(w**2)``, as in the seed, so its gradient
``l2 * w`` equals SGD's ``weight_decay=l2``. Keras's L2 has no 1/2: use
``L2(2 * l2)`` to reproduce a Keras model.
"""
from .. import functional as F
from ..registry import Registry

REGULARIZERS = Registry("regularizer")


class Regularizer:
    def __call__(self, w):
        raise NotImplementedError

    def get_config(self):
        return dict(vars(self))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in vars(self).items())})"


def _check(name, value):
    if not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0; received: {name}={value!r}")
    return float(value)


@REGULARIZERS.register("l1")
class L1(Regularizer):
    """``l1 * sum(|w|)``: drives weights to exactly zero (sparse weights)."""

    def __init__(self, l1=0.01):
        self.l1 = _check("l1", l1)

    def __call__(self, w):
        return F.abs(w).sum() * self.l1


@REGULARIZERS.register("l2")
class L2(Regularizer):
    """``l2 / 2 * sum(w**2)``: prefers many small weights.

    >>> import numpy as np
    >>> float(L2(1.0)(np.array([1.0, 0, 0, 0])).item()), float(L2(1.0)(np.full(4, 0.25)).item())
    (0.5, 0.125)
    """

    def __init__(self, l2=0.01):
        self.l2 = _check("l2", l2)

    def __call__(self, w):
        w = F._t(w)
        return (w * w).sum() * (self.l2 / 2)


@REGULARIZERS.register("l1_l2", "l1l2")
class L1L2(Regularizer):
    """Both penalties: ``l1 * sum|w| + l2 / 2 * sum w**2``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _check("l1", l1), _check("l2", l2)

    def __call__(self, w):
        return L1(self.l1)(w) + L2(self.l2)(w)


def get(identifier):
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        return REGULARIZERS.get(identifier)()
    if isinstance(identifier, dict):
        config = dict(identifier)
        return REGULARIZERS.get(config.pop("name"))(**config)
    raise TypeError(f"regularizer must be a name, a Regularizer or None; received: {identifier!r}")
