"""Seed 000: the `NeuralNetwork` and `Trainer` classes on the digits task, on glassnet.

The seed's network: input -> sigmoid hidden layer -> softmax (several classes)
or sigmoid output; random-normal weights, zero biases; loss 'mse',
'log_loss' or 'categorical_crossentropy'; full-batch gradient descent with
lr 0.1 for 1000 epochs; a Trainer records train and test loss every epoch.
Here glassnet's autograd computes `backward`, so the seed's hand-written
gradients cannot go wrong.

Seed bugs fixed here (see ../shared/SEEDS.md):
- its 'log_loss' backward used dL/da where dL/dz is needed (the sigmoid's
  derivative was missing); autograd applies the chain rule for every loss;
- its categorical cross-entropy averaged over the classes as well as the
  samples; here it sums over classes and averages over samples;
- `np.log(0)` was possible; glassnet's losses clip probabilities to [1e-7, 1].

Run: python examples/seed000_neural_network.py [--epochs 1000]
"""
import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

import glassnet as gn
from glassnet import functional as F
from glassnet import nn

LOSSES = {"mse": nn.MeanSquaredError(), "log_loss": nn.BinaryCrossentropy(),
          "categorical_crossentropy": nn.CategoricalCrossentropy()}


class NeuralNetwork:
    """One sigmoid hidden layer; softmax output for categorical cross-entropy, sigmoid otherwise."""

    def __init__(self, input_size, hidden_size, output_size, loss_func="mse", seed=0):
        rng = np.random.default_rng(seed)
        self.loss_func = loss_func
        self.weights1 = nn.Parameter(rng.standard_normal((input_size, hidden_size)))
        self.bias1 = nn.Parameter(np.zeros((1, hidden_size)))
        self.weights2 = nn.Parameter(rng.standard_normal((hidden_size, output_size)))
        self.bias2 = nn.Parameter(np.zeros((1, output_size)))
        self.parameters = [self.weights1, self.bias1, self.weights2, self.bias2]

    def forward(self, X):
        hidden = F.sigmoid(gn.Tensor(X) @ self.weights1 + self.bias1)
        z2 = hidden @ self.weights2 + self.bias2
        return F.softmax(z2) if self.loss_func == "categorical_crossentropy" else F.sigmoid(z2)

    def backward(self, X, y, learning_rate):
        """One gradient-descent step: w <- w - learning_rate * dL/dw, for every weight."""
        loss = LOSSES[self.loss_func](y, self.forward(X))
        for p in self.parameters:
            p.grad = None
        loss.backward()
        with gn.no_grad():
            for p in self.parameters:
                p.data -= learning_rate * p.grad
        return loss.item()


class Trainer:
    """Trains a NeuralNetwork and records the train and test loss of every epoch."""

    def __init__(self, model, loss_func="mse"):
        self.model, self.loss = model, LOSSES[loss_func]
        self.train_loss, self.test_loss = [], []

    def train(self, X_train, y_train, X_test, y_test, epochs, learning_rate):
        for _ in range(epochs):
            self.train_loss.append(self.model.backward(X_train, y_train, learning_rate))
            with gn.no_grad():
                self.test_loss.append(self.loss(y_test, self.model.forward(X_test)).item())


def main(epochs=1000, learning_rate=0.1, verbose=True):
    digits = load_digits()
    X = MinMaxScaler().fit_transform(digits.data)
    y_onehot = OneHotEncoder(sparse_output=False).fit_transform(digits.target.reshape(-1, 1))
    X_train, X_test, y_train, y_test = train_test_split(X, y_onehot, test_size=0.2, random_state=42)

    network = NeuralNetwork(X.shape[1], 64, 10, "categorical_crossentropy")
    trainer = Trainer(network, "categorical_crossentropy")
    trainer.train(X_train, y_train, X_test, y_test, epochs, learning_rate)

    with gn.no_grad():
        predictions = network.forward(X_test).data.argmax(axis=1)
    accuracy = float(np.mean(predictions == y_test.argmax(axis=1)))
    if verbose:
        print(f"train loss {trainer.train_loss[0]:.4f} -> {trainer.train_loss[-1]:.4f}, "
              f"test loss {trainer.test_loss[0]:.4f} -> {trainer.test_loss[-1]:.4f}")
        print(f"Accuracy: {accuracy:.2%}")
    return accuracy, trainer


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    main(parser.parse_args().epochs)
