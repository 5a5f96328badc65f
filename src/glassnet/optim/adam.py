"""Adam and its relatives: AdamW (decoupled weight decay) and Nadam (Nesterov).

The updates follow PyTorch's formulas exactly (the tests compare trajectories
with ``torch.optim``); hyperparameter names and defaults follow Keras
(``beta_1``, ``beta_2``, ``epsilon=1e-7``).
"""
import math

import numpy as np

from .. import cupy_kernels, kernels
from ..kernels import prange
from ..backend import is_cupy
from .optimizer import OPTIMIZERS, Optimizer, check_hyper, coupled_decay


@kernels.jit(parallel=True, **kernels.VECTORISE)
def _adam_kernel(w, g, m, v, v_max, lr, beta_1, beta_2, epsilon, weight_decay, shrink, amsgrad, rest_1, rest_2):
    """One pass of Adam over every element (the NumPy reference makes about eleven), on Numba's
    threads where they have the cores (``kernels.threaded``: with OpenBLAS's workers spinning after
    the step's last product, a threaded Adam made the wide MLP epoch 1.41-1.50 s against 1.26-1.41 s
    on the calling thread, 2 cores).

    lr and epsilon come with the bias corrections folded in, as in ``Adam.update``; ``shrink``
    is AdamW's decoupled ``1 - lr * weight_decay`` (1 for Adam), ``weight_decay`` Adam's coupled one;
    ``rest_1``, ``rest_2`` are ``1 - beta_1``, ``1 - beta_2`` (passed in w's dtype, as every scalar,
    so the arithmetic stays in w's dtype: an integer 1 would promote float32 to float64). The
    operations run in the NumPy reference's order, so the two agree to the last bit. ``v_max`` is
    written only with amsgrad (it is ``v`` otherwise).
    """
    for i in prange(w.size):
        g_i = g[i] + weight_decay * w[i]
        m_i = beta_1 * m[i] + g_i * rest_1
        v_i = beta_2 * v[i] + g_i * g_i * rest_2
        m[i] = m_i
        v[i] = v_i
        if amsgrad:
            v_i = max(v_max[i], v_i)
            v_max[i] = v_i
        w[i] = shrink * w[i] - m_i / (math.sqrt(v_i) + epsilon) * lr


@kernels.jit(parallel=True, **kernels.VECTORISE)
def _nadam_kernel(w, g, m, v, lr_g, lr_m, beta_1, beta_2, rest_1, rest_2, bias_2, epsilon):
    """One pass of Nadam, as ``_adam_kernel`` runs (threads, w's dtype, the reference's order):
    w -= lr_g * g / denom, then w -= lr_m * m / denom, with denom = sqrt(v / bias_2) + eps."""
    for i in prange(w.size):
        m[i] = m[i] * beta_1 + g[i] * rest_1
        v[i] = v[i] * beta_2 + g[i] * g[i] * rest_2
        denom = math.sqrt(v[i] / bias_2) + epsilon
        w[i] = w[i] - lr_g * g[i] / denom
        w[i] = w[i] - lr_m * m[i] / denom


def _moments(state, w, g, beta_1, beta_2, tmp):
    """Update the first and second moment estimates in place (``tmp`` is scratch space)."""
    m, v = state["m"], state["v"]
    m *= beta_1
    np.multiply(g, 1 - beta_1, out=tmp)
    m += tmp
    v *= beta_2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta_2
    v += tmp
    return m, v


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adaptive moments: w -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps).

    Args:
        learning_rate: Defaults to ``0.001``.
        beta_1: Defaults to ``0.9``.
        beta_2: Defaults to ``0.999``.
        epsilon: Defaults to ``1e-7`` (PyTorch uses 1e-8).
        amsgrad: use the running maximum of v. Defaults to ``False``.
        weight_decay: L2 gradient added to g (coupled, as PyTorch's Adam). Defaults to ``0.0``.
    """

    decoupled = False  # AdamW: weight decay shrinks w instead

    def __init__(self, params=None, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=0.0, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.hyper = {"beta_1": check_hyper("beta_1", beta_1, 0.0, 1.0),
                      "beta_2": check_hyper("beta_2", beta_2, 0.0, 1.0),
                      "epsilon": check_hyper("epsilon", epsilon),
                      "amsgrad": bool(amsgrad),
                      "weight_decay": check_hyper("weight_decay", weight_decay)}

    def update(self, w, g, state, lr):
        if is_cupy(w):
            return self._update_on_gpu(w, g, state, lr)
        h, t = self.hyper, state["step"]
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(w), np.zeros_like(w)
        if h["amsgrad"] and "v_max" not in state:
            state["v_max"] = np.zeros_like(w)
        root = math.sqrt(1 - h["beta_2"] ** t)
        views = self.fused(w, g, state["m"], state["v"], state.get("v_max", state["v"]))
        if views is not None:
            decay = h["weight_decay"]
            shrink, coupled = (1 - lr * decay, 0.0) if self.decoupled else (1.0, decay)
            lr_t, beta_1, beta_2, eps, coupled, shrink, rest_1, rest_2 = self.typed(
                w, lr * root / (1 - h["beta_1"] ** t), h["beta_1"], h["beta_2"], h["epsilon"] * root, coupled, shrink,
                1 - h["beta_1"], 1 - h["beta_2"])
            _adam_kernel(*views, lr_t, beta_1, beta_2, eps, coupled, shrink, h["amsgrad"], rest_1, rest_2)
            return
        if self.decoupled:
            w *= 1 - lr * h["weight_decay"]
        else:
            g = coupled_decay(w, g, h["weight_decay"])
        tmp = self.scratch(w)
        m, v = _moments(state, w, g, h["beta_1"], h["beta_2"], tmp)
        if h["amsgrad"]:
            v_max = state["v_max"]
            np.maximum(v_max, v, out=v_max)
            v = v_max
        # w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), written as
        # w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps * sqrt(1 - b2^t))
        # to save one pass over memory, and without temporaries.
        np.sqrt(v, out=tmp)
        tmp += h["epsilon"] * root
        np.divide(m, tmp, out=tmp)
        tmp *= lr * root / (1 - h["beta_1"] ** t)
        w -= tmp


    def _update_on_gpu(self, w, g, state, lr):
        """The same update on CuPy arrays as one fused kernel (glassnet.cupy_kernels.adam)."""
        h, t = self.hyper, state["step"]
        for key in ("m", "v", "v_max") if h["amsgrad"] else ("m", "v"):
            if key not in state:
                state[key] = w * 0  # zeros on w's device
        root, decay = math.sqrt(1 - h["beta_2"] ** t), h["weight_decay"]
        shrink, coupled = (1 - lr * decay, 0.0) if self.decoupled else (1.0, decay)
        cupy_kernels.adam(w, g, state["m"], state["v"], state.get("v_max"), lr * root / (1 - h["beta_1"] ** t),
                          h["beta_1"], h["beta_2"], h["epsilon"] * root, coupled, shrink)


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay: w *= 1 - lr * weight_decay before the Adam step.

    ``weight_decay`` defaults to ``0.01``.
    """

    def __init__(self, params=None, learning_rate=0.001, weight_decay=0.01, **kwargs):
        super().__init__(params, learning_rate, weight_decay=weight_decay, **kwargs)

    decoupled = True  # weight decay shrinks w (w *= 1 - lr * weight_decay); it is not added to g


@OPTIMIZERS.register("nadam")
class Nadam(Optimizer):
    """Adam with Nesterov momentum and PyTorch's momentum-decay schedule
    mu_t = beta_1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)).

    Args:
        learning_rate: Defaults to ``0.002``.
        beta_1, beta_2, epsilon: as Adam's (``0.9``, ``0.999``, ``1e-7``).
        momentum_decay: Defaults to ``0.004``.
    """

    scalar_state = ("step", "mu_product")

    def __init__(self, params=None, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 momentum_decay=0.004, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.hyper = {"beta_1": check_hyper("beta_1", beta_1, 0.0, 1.0),
                      "beta_2": check_hyper("beta_2", beta_2, 0.0, 1.0),
                      "epsilon": check_hyper("epsilon", epsilon),
                      "momentum_decay": check_hyper("momentum_decay", momentum_decay)}

    def update(self, w, g, state, lr):
        h, t = self.hyper, state["step"]
        b1, psi = h["beta_1"], h["momentum_decay"]
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = state["mu_product"] = state.get("mu_product", 1.0) * mu
        lr_g, lr_m = lr * (1 - mu) / (1 - mu_product), lr * mu_next / (1 - mu_product * mu_next)
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(w), np.zeros_like(w)
        views = self.fused(w, g, state["m"], state["v"])
        if views is not None:
            scalars = self.typed(w, lr_g, lr_m, b1, h["beta_2"], 1 - b1, 1 - h["beta_2"], 1 - h["beta_2"] ** t,
                                 h["epsilon"])
            _nadam_kernel(*views, *scalars)
            return
        m, v = _moments(state, w, g, b1, h["beta_2"], self.scratch(w))
        denom = np.sqrt(v / (1 - h["beta_2"] ** t)) + h["epsilon"]
        w -= lr_g * g / denom
        w -= lr_m * m / denom
