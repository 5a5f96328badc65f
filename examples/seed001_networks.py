"""Seed 001 (after CS231n): a neuron, a sigmoid network on random data, a ReLU network on XOR.

- `Neuron`: a dot product, a bias and a sigmoid.
- A two-layer sigmoid network fitting random data: N=64, D_in=1000, H=100,
  D_out=10, summed squared error, lr 1e-4, 2000 steps.
- A ReLU network learning XOR: 4 samples, H=30, no biases, lr 0.002, 200 steps.
Both print the loss falling; `--plot DIR` writes the loss curves as PNG.
The seed wrote every gradient by hand; here autograd computes them.

Run: python examples/seed001_networks.py [--plot DIR]
"""
import argparse
import os

import numpy as np

import glassnet as gn
from glassnet import functional as F
from glassnet import optim


class Neuron:
    """z = w.x + b, then a sigmoid: the unit every network is built from."""

    def __init__(self, weights, bias):
        self.weights, self.bias = np.asarray(weights, dtype=float), float(bias)

    def forward(self, inputs):
        return F.sigmoid(gn.Tensor(np.asarray(inputs, dtype=float) @ self.weights + self.bias)).item()


def gradient_descent(loss_fn, params, learning_rate, steps):
    """Plain gradient descent on ``loss_fn()``; returns the loss of every step."""
    opt = optim.SGD(params, learning_rate=learning_rate)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def sigmoid_network_on_random_data(steps=2000, seed=0):
    rng = np.random.default_rng(seed)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x, y = rng.standard_normal((N, D_in)), rng.standard_normal((N, D_out))
    w1, w2 = gn.nn.Parameter(rng.standard_normal((D_in, H))), gn.nn.Parameter(rng.standard_normal((H, D_out)))
    return gradient_descent(lambda: ((F.sigmoid(gn.Tensor(x) @ w1) @ w2 - y) ** 2).sum(), [w1, w2], 1e-4, steps)


def relu_network_on_xor(steps=200, seed=0):
    rng = np.random.default_rng(seed)
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    w1, w2 = gn.nn.Parameter(rng.standard_normal((2, 30))), gn.nn.Parameter(rng.standard_normal((30, 1)))
    losses = gradient_descent(lambda: ((F.relu(gn.Tensor(x) @ w1) @ w2 - y) ** 2).sum(), [w1, w2], 0.002, steps)
    with gn.no_grad():
        prediction = (F.relu(gn.Tensor(x) @ w1) @ w2).data.ravel()
    return losses, prediction


def main(plot_dir=None, verbose=True, random_steps=2000, xor_steps=200):
    neuron = Neuron([0.5, -0.25], 0.1)
    random_losses = sigmoid_network_on_random_data(random_steps)
    xor_losses, xor_pred = relu_network_on_xor(xor_steps)
    if verbose:
        print(f"neuron([1, 2]) = {neuron.forward([1.0, 2.0]):.4f}")
        print(f"sigmoid network on random data: loss {random_losses[0]:.1f} -> {random_losses[-1]:.1f}")
        print(f"ReLU network on XOR: loss {xor_losses[0]:.3f} -> {xor_losses[-1]:.4f}, "
              f"predictions {np.round(xor_pred, 2).tolist()}")
    if plot_dir:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415

        os.makedirs(plot_dir, exist_ok=True)
        for name, losses in (("random_sigmoid", random_losses), ("xor_relu", xor_losses)):
            fig, ax = plt.subplots(figsize=(5, 3))
            ax.plot(losses)
            ax.set(title=name, xlabel="step", ylabel="summed squared error", yscale="log")
            fig.savefig(os.path.join(plot_dir, f"{name}.png"), dpi=100, bbox_inches="tight")
            plt.close(fig)
    return random_losses, xor_losses, xor_pred


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="folder for the loss-curve PNGs")
    main(parser.parse_args().plot)
