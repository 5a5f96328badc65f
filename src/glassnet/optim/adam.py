"""Adam and its relatives: AdamW (decoupled weight decay) and Nadam (Nesterov).

The updates follow PyTorch's formulas exactly (the tests compare trajectories
with ``torch.optim``); hyperparameter names and defaults follow Keras
(``beta_1``, ``beta_2``, ``epsilon=1e-7``).
"""
import math

import numpy as np

from .optimizer import OPTIMIZERS, Optimizer, check_hyper, coupled_decay


def _moments(state, w, g, beta_1, beta_2, tmp):
    """Update the first and second moment estimates in place (``tmp`` is scratch space)."""
    if "m" not in state:
        state["m"], state["v"] = np.zeros_like(w), np.zeros_like(w)
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
        h, t = self.hyper, state["step"]
        if not self.decoupled:
            g = coupled_decay(w, g, h["weight_decay"])
        tmp = self.scratch(w)
        m, v = _moments(state, w, g, h["beta_1"], h["beta_2"], tmp)
        if h["amsgrad"]:
            v_max = state.setdefault("v_max", np.zeros_like(w))
            np.maximum(v_max, v, out=v_max)
            v = v_max
        # w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), written as
        # w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps * sqrt(1 - b2^t))
        # to save one pass over memory, and without temporaries.
        root = math.sqrt(1 - h["beta_2"] ** t)
        np.sqrt(v, out=tmp)
        tmp += h["epsilon"] * root
        np.divide(m, tmp, out=tmp)
        tmp *= lr * root / (1 - h["beta_1"] ** t)
        w -= tmp


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay: w *= 1 - lr * weight_decay before the Adam step.

    ``weight_decay`` defaults to ``0.01``.
    """

    def __init__(self, params=None, learning_rate=0.001, weight_decay=0.01, **kwargs):
        super().__init__(params, learning_rate, weight_decay=weight_decay, **kwargs)

    decoupled = True  # weight decay shrinks w; it is not added to g

    def update(self, w, g, state, lr):
        w *= 1 - lr * self.hyper["weight_decay"]
        super().update(w, g, state, lr)


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
        m, v = _moments(state, w, g, b1, h["beta_2"], self.scratch(w))
        denom = np.sqrt(v / (1 - h["beta_2"] ** t)) + h["epsilon"]
        w -= (lr * (1 - mu) / (1 - mu_product)) * g / denom
        w -= (lr * mu_next / (1 - mu_product * mu_next)) * m / denom
