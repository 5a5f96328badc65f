"""Seed 002: a network described by a `sizes` list, sigmoid everywhere, half squared error.

`Network([2, 8, 1])` draws each layer's weights and biases at random from a
standard normal, as the seed does, applies sigmoid after every layer, and
learns by gradient descent on E = 1/2 sum (y - a)^2. The seed derives the
output-hidden and hidden-input updates by hand; autograd computes the same
numbers (the test suite checks the output layer's against the seed's formula
dE/dw_hj = -(y_j - a_j) a_j (1 - a_j) b_h).

Run: python examples/seed002_sizes_network.py
"""
import numpy as np

import glassnet as gn
from glassnet import functional as F
from glassnet import optim


class Network:
    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.biases = [gn.nn.Parameter(rng.standard_normal((1, y))) for y in sizes[1:]]
        self.weights = [gn.nn.Parameter(rng.standard_normal((x, y))) for x, y in zip(sizes[:-1], sizes[1:])]

    def parameters(self):
        return self.weights + self.biases

    def feedforward(self, a):
        a = gn.Tensor(np.asarray(a, dtype=float))
        for w, b in zip(self.weights, self.biases):
            a = F.sigmoid(a @ w + b)
        return a

    def error(self, x, y):
        return 0.5 * ((self.feedforward(x) - y) ** 2).sum()

    def train(self, x, y, epochs, eta):
        opt = optim.SGD(self.parameters(), learning_rate=eta)
        errors = []
        for _ in range(epochs):
            opt.zero_grad()
            e = self.error(x, y)
            e.backward()
            opt.step()
            errors.append(e.item())
        return errors


def main(epochs=3000, verbose=True):
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    net = Network([2, 8, 1])
    errors = net.train(x, y, epochs, eta=2.0)
    with gn.no_grad():
        prediction = net.feedforward(x).data.ravel()
    if verbose:
        print(f"Network{net.sizes}: E = {errors[0]:.4f} -> {errors[-1]:.4f}; "
              f"outputs {np.round(prediction, 3).tolist()} for XOR targets [0, 1, 1, 0]")
    return errors, prediction, net


if __name__ == "__main__":
    main()
