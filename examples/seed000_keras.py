"""Seed 000, section 4.2: the same digits network in the Keras style, with glassnet.

    model = Sequential([Dense(64, activation="relu"), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=..., validation_data=(X_test, y_test), verbose=2)
    model.evaluate(X_test, y_test)

The seed trains for 1000 epochs and validates on the test set; 1000 epochs of
Adam overfit badly, so this example defaults to 100 (pass --epochs 1000 to
follow the seed exactly). `glassnet train` does it properly: early stopping
on a validation split carved from the training data, never the test set.

Run: python examples/seed000_keras.py [--epochs 100]
"""
import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

import glassnet as gn
from glassnet.nn import Dense


def main(epochs=100, verbose=2):
    digits = load_digits()
    X_scaled = MinMaxScaler().fit_transform(digits.data)
    y_onehot = OneHotEncoder(sparse_output=False).fit_transform(digits.target.reshape(-1, 1))
    X_train, X_test, y_train, y_test = train_test_split(X_scaled, y_onehot, test_size=0.2, random_state=42)

    model = gn.Sequential([
        Dense(64, activation="relu", input_dim=X_train.shape[1]),
        Dense(len(np.unique(digits.target)), activation="softmax"),
    ], seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=epochs, validation_data=(X_test, y_test), verbose=verbose, seed=0)
    test_loss, test_accuracy = model.evaluate(X_test, y_test)
    if verbose:
        print(f"Test accuracy: {test_accuracy:.2%}")
    return test_accuracy, history


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    main(parser.parse_args().epochs)
