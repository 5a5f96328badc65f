"""Seed 003: logistic regression as one neuron, on glassnet's autograd.

z = w.x + b, a = sigmoid(z), L = -(y log a + (1 - y) log(1 - a)), J = mean L.
The seed's hand-derived gradients are dz = a - y, dw = x dz, db = dz
(averaged over the m samples); here autograd computes them and the script
checks they agree, then runs gradient descent and prints the loss falling.

Seed bugs fixed here: its loop overwrote z instead of summing w_i x_i
(it printed z = 1.04 for x = [3, 4]; the right value is 1.07), and its update
`b = b - learning_rate * b` must use db.

Run: python examples/seed003_logistic_regression.py
"""
import numpy as np

import glassnet as gn
from glassnet import functional as F


def cost(w, b, X, y):
    a = F.sigmoid(X @ w + b)
    return -(y * F.log(a) + (1 - y) * F.log(1 - a)).mean()


def main(steps=200, learning_rate=0.5, verbose=True):
    # One sample: x = [3, 4], w = [0.01, 0.01], b = 1 -> z = 1.07.
    x = np.array([3.0, 4.0])
    z = x @ np.array([0.01, 0.01]) + 1.0
    if verbose:
        print(f"one sample: z = {z:.2f}, a = {1 / (1 + np.exp(-z)):.16f}")

    X = np.array([[2.0, 3.0], [3.0, 4.0], [1.0, 5.0]])
    y = np.array([1.0, 0.0, 1.0])
    w = gn.Tensor(np.array([0.01, 0.01]), requires_grad=True)
    b = gn.Tensor(np.array(1.0), requires_grad=True)

    J = cost(w, b, X, y)
    J.backward()
    a = 1 / (1 + np.exp(-(X @ w.data + b.data)))
    dz = a - y                              # the seed's formulas, by hand
    assert np.allclose(w.grad, X.T @ dz / len(y)) and np.isclose(b.grad, dz.mean())
    if verbose:
        print(f"three samples: J = {J.item():.16f}, dw = {w.grad}, db = {float(b.grad):.16f}")

    losses = []
    for step in range(steps):
        w.grad = b.grad = None
        J = cost(w, b, X, y)
        J.backward()
        with gn.no_grad():
            w.data -= learning_rate * w.grad
            b.data -= learning_rate * b.grad    # the seed wrote `- learning_rate * b`
        losses.append(J.item())
        if verbose and step % 40 == 0:
            print(f"step {step:3d}  J = {J.item():.6f}")
    if verbose:
        print(f"final   J = {losses[-1]:.6f}  (from {losses[0]:.6f})")
    return losses


if __name__ == "__main__":
    main()
