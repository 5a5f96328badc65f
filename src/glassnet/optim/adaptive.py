"""Per-coordinate adaptive optimizers: AdaGrad, RMSProp and Adadelta (PyTorch's formulas)."""
import numpy as np

from .optimizer import OPTIMIZERS, Optimizer, check_hyper, coupled_decay


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
        g = coupled_decay(w, g, h["weight_decay"])
        s = state.setdefault("sum", np.full_like(w, h["initial_accumulator_value"]))
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
        g = coupled_decay(w, g, h["weight_decay"])
        v = state.setdefault("square_avg", np.zeros_like(w))
        v *= rho
        v += (1 - rho) * (g * g)
        if h["centered"]:
            mean = state.setdefault("grad_avg", np.zeros_like(w))
            mean *= rho
            mean += (1 - rho) * g
            avg = np.sqrt(v - mean * mean) + h["epsilon"]
        else:
            avg = np.sqrt(v) + h["epsilon"]
        if h["momentum"]:
            buf = state.setdefault("momentum_buffer", np.zeros_like(w))
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
        g = coupled_decay(w, g, h["weight_decay"])
        v = state.setdefault("square_avg", np.zeros_like(w))
        acc = state.setdefault("acc_delta", np.zeros_like(w))
        v *= rho
        v += (1 - rho) * (g * g)
        delta = np.sqrt(acc + eps) / np.sqrt(v + eps) * g
        acc *= rho
        acc += (1 - rho) * (delta * delta)
        w -= lr * delta
