"""The network behind the MLP estimators: glassnet Dense layers, scikit-learn's losses.

scikit-learn's multilayer perceptron is a stack of dense layers with one hidden
activation and an output activation chosen by the task (softmax, logistic,
identity or exp). This module builds that stack from glassnet layers and computes
one batch's loss and gradients the way scikit-learn defines them:

- the data term is averaged over the samples (weighted by ``sample_weight``,
  divided by the weights' sum ``sw_sum``); for regression it is
  ``1/2 sum_k (p_k - y_k)^2`` per sample, for classification the log-loss
  (summed over the labels of a multilabel problem);
- the penalty is ``alpha / 2 * sum ||W||^2 / sw_sum`` over the kernels (not the
  biases), with gradient ``alpha * W / sw_sum``; glassnet's ``l1`` adds
  ``l1 * sum |W| / sw_sum`` the same way.
"""
import numpy as np
from scipy.special import xlogy

from .. import functional as F
from .. import kernels
from ..nn.layers import Dense, Dropout
from ..ops.function import new_tensor

# scikit-learn's activation names -> glassnet's
SKLEARN_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def init_bound(activation, fan_in, fan_out):
    """scikit-learn's uniform initialisation bound: sqrt(6 / (fan_in + fan_out)), 2 for logistic."""
    factor = 2.0 if activation == "logistic" else 6.0
    return np.sqrt(factor / (fan_in + fan_out))


class MLPNetwork:
    """Dense layers ``layer_units[0] -> ... -> layer_units[-1]``, weights drawn as scikit-learn draws them.

    Args:
        layer_units: input features, the hidden sizes, the outputs.
        activation: a scikit-learn name or any glassnet activation name.
        out_activation: "softmax", "logistic", "identity" or "exp".
        random_state: a ``numpy.random.RandomState``; each layer draws its kernel
            then its bias from ``uniform(-bound, bound)``, in scikit-learn's order.
        dtype: the floating type of the weights and the computation.
        dropout: the rate of a Dropout after each hidden layer. Defaults to ``0.0``.
    """

    def __init__(self, layer_units, activation, out_activation, random_state, dtype, dropout=0.0):
        hidden = SKLEARN_ACTIVATIONS.get(activation, activation)
        self.out_activation = out_activation
        self.dtype = np.dtype(dtype)
        self.dense, self.layers = [], []
        n_layers = len(layer_units) - 1
        for i, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
            last = i == n_layers - 1
            layer = Dense(fan_out, activation=None if last else hidden, input_dim=fan_in,
                          kernel_initializer="zeros", dtype=self.dtype)
            bound = init_bound(activation, fan_in, fan_out)
            layer.kernel.data[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
            layer.bias.data[...] = random_state.uniform(-bound, bound, fan_out)
            self.dense.append(layer)
            self.layers.append(layer)
            if dropout and not last:
                self.layers.append(Dropout(dropout, seed=int(random_state.randint(2**31 - 1))))

    def parameters(self):
        return [p for layer in self.dense for p in (layer.kernel, layer.bias)]

    def train(self, mode=True):
        for layer in self.layers:
            layer.train(mode)

    # -- forward ------------------------------------------------------------------------
    def logits(self, x):
        """The last layer's pre-activation z as a Tensor (the graph for the backward pass)."""
        h = new_tensor(x)
        for layer in self.layers:
            h = layer(h)
        return h

    def predict(self, x):
        """The output activation of the network on the array ``x``, in float64, without a graph."""
        h = x
        for layer in self.layers:
            h = layer.infer(h)
        z = h.astype(np.float64)
        if self.out_activation == "softmax":
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
        elif self.out_activation == "logistic":
            z = np.exp(-np.logaddexp(0.0, -z))  # sigmoid without overflow
        elif self.out_activation == "exp":
            np.exp(z, out=z)
        return z

    # -- one batch ------------------------------------------------------------------------
    def data_loss(self, z, target, sample_weight, sw_sum):
        """The data term as a Tensor, and the factor that turns it into scikit-learn's reported loss.

        ``target``: integer labels for softmax, else an array shaped like ``z``.
        """
        kind = self.out_activation
        if kind in ("softmax", "logistic"):  # the log-loss from the logits, one fused op
            loss = F.softmax_cross_entropy if kind == "softmax" else F.sigmoid_cross_entropy
            if sample_weight is None:
                return loss(z, target, mean=True), 1.0
            per = loss(z, target)
        elif kind == "exp":  # Poisson deviance up to a constant: exp(z) - t z
            per = (F.exp(z) - z * target).sum(axis=1)
        else:
            d = z - target
            per = (d * d).sum(axis=1) * 0.5
        if sample_weight is not None:
            per = per * sample_weight
        # NOTE: scikit-learn's squared loss is reported as a mean over the outputs, but its
        # gradient is that of the sum; the factor reconciles the two.
        return per.sum() * (1.0 / sw_sum), (1.0 / z.shape[1] if kind == "identity" else 1.0)

    def penalty(self, alpha, l1, sw_sum, add_grad):
        """scikit-learn's L2 penalty (and glassnet's L1) for one batch; their gradients are
        added to the kernels' gradients when ``add_grad``."""
        total = 0.0
        for layer in self.dense:
            w, g = layer.kernel.data, layer.kernel.grad
            if alpha and not l1 and add_grad and _compilable(w, g):
                # NOTE: the NumPy lines below, in one compiled pass: sum(w * w), and g += alpha / sw_sum * w
                total += 0.5 * alpha * _l2_penalty(w.reshape(-1), g.reshape(-1), g.dtype.type(alpha / sw_sum)) / sw_sum
                continue
            flat = w.reshape(-1)
            if alpha:
                total += 0.5 * alpha * float(flat @ flat) / sw_sum
            if l1:
                total += l1 * float(np.abs(flat).sum()) / sw_sum
            if add_grad and (alpha or l1):
                if alpha:
                    g += w * g.dtype.type(alpha / sw_sum)
                if l1:
                    g += np.sign(w) * g.dtype.type(l1 / sw_sum)
        return total

    def loss_and_grads(self, x, target, sample_weight, alpha, l1):
        """Forward and backward on one batch: scikit-learn's loss (float) with the gradients
        left in each parameter's ``grad``."""
        sw_sum = len(x) if sample_weight is None else float(sample_weight.sum())
        z = self.logits(x)
        loss, report = self.data_loss(z, target, sample_weight, sw_sum)
        for p in self.parameters():
            p.grad = None
        loss.backward()
        value = float(loss.data) * report + self.penalty(alpha, l1, sw_sum, add_grad=True)
        if self.out_activation == "exp":  # the constant term of the deviance, as scikit-learn reports it
            t = np.asarray(target, dtype=np.float64)
            per = (xlogy(t, t) - t).sum(axis=1)
            value += float((per if sample_weight is None else per * sample_weight).sum() / sw_sum)
        return value

    # -- flat parameter vector (L-BFGS) ----------------------------------------------------------
    def pack(self, grads=False):
        """Every kernel, then every bias, in one float64 vector (scikit-learn's order)."""
        params = [layer.kernel for layer in self.dense] + [layer.bias for layer in self.dense]
        return np.concatenate([(p.grad if grads else p.data).reshape(-1) for p in params]).astype(np.float64)

    def unpack(self, vector):
        start = 0
        for p in [layer.kernel for layer in self.dense] + [layer.bias for layer in self.dense]:
            p.data[...] = vector[start:start + p.size].reshape(p.shape)
            start += p.size


def _compilable(w, g):
    return (kernels.compiled() and type(w) is np.ndarray and type(g) is np.ndarray and w.dtype == g.dtype
            and w.dtype.char in "fd" and w.flags.c_contiguous and g.flags.c_contiguous)


@kernels.jit()
def _l2_penalty(w, g, c):
    """g += c * w over the flat arrays; returns sum(w * w) (accumulated in float64)."""
    total = 0.0
    for i in range(w.size):
        total += w[i] * w[i]
        g[i] += c * w[i]
    return total
