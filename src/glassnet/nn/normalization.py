"""Normalisation layers: BatchNormalization (running statistics) and LayerNormalization."""
import numpy as np

from ..backend import DEFAULT_DTYPE
from ..ops import batch_norm
from .layer import LAYERS, Layer
from .module import Buffer, Parameter


class _Normalization(Layer):
    """Shared by both: ``axis`` comes first, as in Keras, and must name the last axis (features
    last: glassnet's layout), as ``-1`` or as its index, checked when the input's rank is known."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, name=None, dtype=DEFAULT_DTYPE):
        super().__init__(name, dtype)
        if type(axis) is not int:
            raise TypeError(f"{type(self).__name__} normalises one axis, the last: axis must be -1 or its index. "
                            f"Received: axis={axis!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0. Received: epsilon={epsilon!r}")
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), bool(center), bool(scale)
        self.gamma = self.beta = None

    def build(self, input_shape):
        if self.axis not in (-1, len(input_shape) - 1):
            raise ValueError(f"{type(self).__name__} normalises the last axis (features last, as glassnet's layers "
                             f"keep them); for inputs of shape {tuple(input_shape)} that is axis=-1 or "
                             f"axis={len(input_shape) - 1}. Received: axis={self.axis}")
        features = input_shape[-1]
        if self.scale:
            self.gamma = Parameter(np.ones(features, dtype=self.dtype), name="gamma")
        if self.center:
            self.beta = Parameter(np.zeros(features, dtype=self.dtype), name="beta")

    def _affine(self, xhat):
        if self.gamma is not None:
            xhat = xhat * self.gamma
        if self.beta is not None:
            xhat = xhat + self.beta
        return xhat

    def _check(self, x):
        features = (self.gamma if self.gamma is not None else self.beta)
        if features is not None and x.shape[-1] != features.shape[0]:
            raise ValueError(f"{type(self).__name__} expects {features.shape[0]} features on the last axis, "
                             f"got x with shape {x.shape}")

    def get_config(self):
        return {"axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "name": self.name}


@LAYERS.register("BatchNormalization")
class BatchNormalization(_Normalization):
    """Normalise each feature (last axis) over the batch and all other axes.

    In training it uses the batch's mean and (biased) variance and updates the
    moving averages ``moving = momentum * moving + (1 - momentum) * batch``
    (Keras's rule; PyTorch's running variance is the unbiased one); in
    evaluation it uses the moving averages.

    Args:
        axis: the features' axis: the last (``-1`` or its index). Defaults to ``-1``.
        momentum: Defaults to ``0.99``.
        epsilon: added to the variance. Defaults to ``1e-3``.
        center, scale: learn beta and gamma. Default to ``True``.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, name=None,
                 dtype=DEFAULT_DTYPE):
        super().__init__(axis, epsilon, center, scale, name, dtype)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1). Received: momentum={momentum!r}")
        self.momentum = float(momentum)

    def build(self, input_shape):
        super().build(input_shape)
        self.moving_mean = Buffer(np.zeros(input_shape[-1], dtype=self.dtype), name="moving_mean")
        self.moving_variance = Buffer(np.ones(input_shape[-1], dtype=self.dtype), name="moving_variance")

    def forward(self, x, relu=False):
        """``relu``: apply max(., 0) in the same op (``Sequential`` asks for it when a relu layer follows)."""
        self._check(x)
        params = [p for p in (self.gamma, self.beta) if p is not None]
        op = batch_norm.BatchNorm(self.epsilon, self.moving_mean.data, self.moving_variance.data, self.momentum,
                                  self.training, self.gamma is not None, self.beta is not None, relu)
        return op(x, *params)

    def infer(self, x, relu=False):
        return batch_norm.infer(x, self.moving_mean.data, self.moving_variance.data, self.epsilon,
                                None if self.gamma is None else self.gamma.data,
                                None if self.beta is None else self.beta.data, relu)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


@LAYERS.register("LayerNormalization")
class LayerNormalization(_Normalization):
    """Normalise each sample over its last axis (no running statistics).

    Args:
        axis: the last axis (``-1`` or its index). Defaults to ``-1``.
        epsilon: added to the variance. Defaults to ``1e-3``.
        center, scale: learn beta and gamma. Default to ``True``.
    """

    def forward(self, x):
        self._check(x)
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=-1, keepdims=True)
        return self._affine(centred / (var + self.epsilon).sqrt())
