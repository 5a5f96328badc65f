"""Gradient descent (seed 000: w <- w - eta * dL/dw), with momentum and Nesterov."""
import numpy as np

from .. import kernels
from ..kernels import prange
from .optimizer import OPTIMIZERS, Optimizer, check_hyper, coupled_decay


@kernels.jit(parallel=True, **kernels.VECTORISE)
def _sgd_kernel(w, g, buf, lr, momentum, rest, weight_decay, first, nesterov):
    """One pass of SGD over every element, on Numba's threads where they have the cores, in w's dtype
    and in the NumPy reference's order of operations (the two agree to the last bit; see
    ``Optimizer.typed``).
    ``rest`` is ``1 - dampening``; ``buf`` is unused without momentum."""
    for i in prange(w.size):
        g_i = g[i] + weight_decay * w[i] if weight_decay != 0 else g[i]
        if momentum != 0:
            buf[i] = g_i if first else buf[i] * momentum + rest * g_i
            g_i = g_i + momentum * buf[i] if nesterov else buf[i]
        w[i] = w[i] - lr * g_i


@OPTIMIZERS.register("sgd", "gradient_descent")
class SGD(Optimizer):
    """w -= lr * g, optionally with momentum, Nesterov momentum and weight decay.

    Follows PyTorch's update: ``g += weight_decay * w``; ``buf = momentum * buf
    + (1 - dampening) * g`` (``buf = g`` on the first step); ``g = g + momentum
    * buf`` with Nesterov, else ``g = buf``; ``w -= lr * g``.

    Args:
        learning_rate: Defaults to ``0.01``.
        momentum: in [0, 1). Defaults to ``0.0``.
        nesterov: Defaults to ``False``.
        weight_decay: an L2 penalty's gradient. Defaults to ``0.0``.
        dampening: Defaults to ``0.0``.

    >>> import glassnet as gn
    >>> w = gn.nn.Parameter([1.0])
    >>> (w * w).sum().backward()
    >>> SGD([w], learning_rate=0.1).step()
    >>> float(w.data[0])
    0.800000011920929
    """

    small_kernel = False  # see Optimizer.small_kernel

    def __init__(self, params=None, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0,
                 dampening=0.0, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.hyper = {"momentum": check_hyper("momentum", momentum, 0.0, 1.0),
                      "nesterov": bool(nesterov),
                      "weight_decay": check_hyper("weight_decay", weight_decay),
                      "dampening": check_hyper("dampening", dampening, 0.0, 1.0 + 1e-12)}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0; "
                             f"received: momentum={momentum}, dampening={dampening}")

    def update(self, w, g, state, lr):
        h = self.hyper
        first = h["momentum"] and "momentum_buffer" not in state
        if first:
            state["momentum_buffer"] = np.empty_like(w)
        views = self.fused(w, g, state.get("momentum_buffer", w))
        if views is not None:
            scalars = self.typed(w, lr, h["momentum"], 1 - h["dampening"], h["weight_decay"])
            _sgd_kernel(*views, *scalars, bool(first), h["nesterov"])
            return
        g = coupled_decay(w, g, h["weight_decay"])
        if h["momentum"]:
            if first:
                state["momentum_buffer"][...] = g
            else:
                buf = state["momentum_buffer"]
                buf *= h["momentum"]
                buf += (1 - h["dampening"]) * g
            buf = state["momentum_buffer"]
            g = g + h["momentum"] * buf if h["nesterov"] else buf
        w -= lr * g
