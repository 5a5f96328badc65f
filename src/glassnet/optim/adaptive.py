"""Per-coordinate adaptive optimizers: AdaGrad, RMSProp and Adadelta (PyTorch's formulas)."""
import math

import numpy as np

from .. import kernels
from ..kernels import prange
from .optimizer import OPTIMIZERS, Optimizer, check_hyper, coupled_decay


# Each kernel makes one pass, on Numba's threads where they have the cores (as ``_adam_kernel``), in
# w's dtype (``Optimizer.typed``), with the NumPy reference's operations in its order, so the two agree
# to the last bit on any number of threads (each element is its own). ``rest`` is 1 - rho.
@kernels.jit(parallel=True, **kernels.VECTORISE)
def _adagrad_kernel(w, g, s, lr, epsilon, weight_decay):
    for i in prange(w.size):
        g_i = g[i] + weight_decay * w[i] if weight_decay != 0 else g[i]
        s[i] = s[i] + g_i * g_i
        w[i] = w[i] - lr * g_i / (math.sqrt(s[i]) + epsilon)


@kernels.jit(parallel=True, **kernels.VECTORISE)
def _rmsprop_kernel(w, g, v, mean, buf, lr, rho, rest, momentum, epsilon, weight_decay, centered):
    """One pass of RMSprop; ``mean`` is used when centered, ``buf`` when momentum > 0."""
    for i in prange(w.size):
        g_i = g[i] + weight_decay * w[i] if weight_decay != 0 else g[i]
        v[i] = v[i] * rho + rest * (g_i * g_i)
        if centered:
            mean[i] = mean[i] * rho + rest * g_i
            avg = math.sqrt(v[i] - mean[i] * mean[i]) + epsilon
        else:
            avg = math.sqrt(v[i]) + epsilon
        if momentum != 0:
            buf[i] = buf[i] * momentum + g_i / avg
            w[i] = w[i] - lr * buf[i]
        else:
            w[i] = w[i] - lr * g_i / avg


@kernels.jit(parallel=True, **kernels.VECTORISE)
def _adadelta_kernel(w, g, v, acc, lr, rho, rest, epsilon, weight_decay):
    for i in prange(w.size):
        g_i = g[i] + weight_decay * w[i] if weight_decay != 0 else g[i]
        v[i] = v[i] * rho + rest * (g_i * g_i)
        delta = math.sqrt(acc[i] + epsilon) / math.sqrt(v[i] + epsilon) * g_i
        acc[i] = acc[i] * rho + rest * (delta * delta)
        w[i] = w[i] - lr * delta


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer):
    """s += g^2; w -= lr * g / (sqrt(s) + eps).

    Args:
        learning_rate: Defaults to ``0.01``.
        initial_accumulator_value: the starting s. Defaults to ``0.0``.
        epsilon: Defaults to ``1e-10``.
        weight_decay: Defaults to ``0.0``.
    """

    def __init__(self, params=None, learning_rate=0.01, initial_accumulator_value=0.0, epsilon=1e-10,
                 weight_decay=0.0, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.hyper = {"initial_accumulator_value": check_hyper("initial_accumulator_value",
                                                                initial_accumulator_value),
                      "epsilon": check_hyper("epsilon", epsilon),
                      "weight_decay": check_hyper("weight_decay", weight_decay)}

    def update(self, w, g, state, lr):
        h = self.hyper
        s = state.setdefault("sum", np.full_like(w, h["initial_accumulator_value"]))
        views = self.fused(w, g, s)
        if views is not None:
            _adagrad_kernel(*views, *self.typed(w, lr, h["epsilon"], h["weight_decay"]))
            return
        g = coupled_decay(w, g, h["weight_decay"])
        s += g * g
        w -= lr * g / (np.sqrt(s) + h["epsilon"])


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    """v = rho v + (1 - rho) g^2; w -= lr * g / (sqrt(v) + eps).

    ``centered`` subtracts the squared running mean of g from v; ``momentum``
    accumulates the scaled steps in a buffer.

    Args:
        learning_rate: Defaults to ``0.001``.
        rho: Defaults to ``0.9``.
        momentum: Defaults to ``0.0``.
        epsilon: Defaults to ``1e-7``.
        centered: Defaults to ``False``.
        weight_decay: Defaults to ``0.0``.
    """

    def __init__(self, params=None, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=0.0, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.hyper = {"rho": check_hyper("rho", rho, 0.0, 1.0),
                      "momentum": check_hyper("momentum", momentum, 0.0, 1.0),
                      "epsilon": check_hyper("epsilon", epsilon),
                      "centered": bool(centered),
                      "weight_decay": check_hyper("weight_decay", weight_decay)}

    def update(self, w, g, state, lr):
        h = self.hyper
        rho = h["rho"]
        v = state.setdefault("square_avg", np.zeros_like(w))
        if h["centered"]:
            state.setdefault("grad_avg", np.zeros_like(w))
        if h["momentum"]:
            state.setdefault("momentum_buffer", np.zeros_like(w))
        views = self.fused(w, g, v, state.get("grad_avg", v), state.get("momentum_buffer", v))
        if views is not None:
            scalars = self.typed(w, lr, rho, 1 - rho, h["momentum"], h["epsilon"], h["weight_decay"])
            _rmsprop_kernel(*views, *scalars, h["centered"])
            return
        g = coupled_decay(w, g, h["weight_decay"])
        v *= rho
        v += (1 - rho) * (g * g)
        if h["centered"]:
            mean = state["grad_avg"]
            mean *= rho
            mean += (1 - rho) * g
            avg = np.sqrt(v - mean * mean) + h["epsilon"]
        else:
            avg = np.sqrt(v) + h["epsilon"]
        if h["momentum"]:
            buf = state["momentum_buffer"]
            buf *= h["momentum"]
            buf += g / avg
            w -= lr * buf
        else:
            w -= lr * g / avg


@OPTIMIZERS.register("adadelta")
class Adadelta(Optimizer):
    """Step sizes from the ratio of running RMS of updates and of gradients.

    Args:
        learning_rate: Defaults to ``1.0``.
        rho: Defaults to ``0.9``.
        epsilon: Defaults to ``1e-6``.
        weight_decay: Defaults to ``0.0``.
    """

    def __init__(self, params=None, learning_rate=1.0, rho=0.9, epsilon=1e-6, weight_decay=0.0, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.hyper = {"rho": check_hyper("rho", rho, 0.0, 1.0),
                      "epsilon": check_hyper("epsilon", epsilon),
                      "weight_decay": check_hyper("weight_decay", weight_decay)}

    def update(self, w, g, state, lr):
        h = self.hyper
        rho, eps = h["rho"], h["epsilon"]
        v = state.setdefault("square_avg", np.zeros_like(w))
        acc = state.setdefault("acc_delta", np.zeros_like(w))
        views = self.fused(w, g, v, acc)
        if views is not None:
            _adadelta_kernel(*views, *self.typed(w, lr, rho, 1 - rho, eps, h["weight_decay"]))
            return
        g = coupled_decay(w, g, h["weight_decay"])
        v *= rho
        v += (1 - rho) * (g * g)
        delta = np.sqrt(acc + eps) / np.sqrt(v + eps) * g
        acc *= rho
        acc += (1 - rho) * (delta * delta)
        w -= lr * delta
