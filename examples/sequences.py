"""Recurrent networks (LSTM, GRU) on two sequence tasks.

1. The digits read row by row: 8 time steps of 8 pixels, classified by
   LSTM(64) or GRU(64) -> Dense(10, softmax).
2. The adding problem (Hochreiter & Schmidhuber): a sequence of T random values
   in [0, 1], two of them marked; the target is the sum of the two marked
   values. Always answering the mean (1.0) gives MSE 1/6 = 0.167. An LSTM
   learns to pick out the marked values; a feed-forward network on the
   flattened sequence has no notion of order and does much worse.

Run: python examples/sequences.py
"""
import argparse
import time

import numpy as np

import glassnet as gn
from glassnet import nn
from glassnet.workflow import TrainConfig, load_split


def rows_model(cell="lstm", seed=0):
    """LSTM(64) or GRU(64) -> Dense(10, softmax) over the 8 rows of a digit."""
    layer = nn.LSTM(64) if cell == "lstm" else nn.GRU(64)
    return gn.Sequential([layer, nn.Dense(10, activation="softmax")], seed=seed)


def digits_rows(cell="lstm", epochs=40, verbose=0, seed=0):
    split = load_split(TrainConfig(dataset="digits", seed=42))
    rows = lambda x: (x / 16.0).reshape(-1, 8, 8).astype(np.float32)  # noqa: E731
    model = rows_model(cell, seed)
    model.compile(optimizer=gn.optim.Adam(learning_rate=3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(rows(split.x_train), split.y_train, epochs=epochs, batch_size=32, validation_split=0.1,
              verbose=verbose, seed=seed,
              callbacks=[gn.callbacks.EarlyStopping(patience=6, restore_best_weights=True)])
    return model.evaluate(rows(split.x_test), split.y_test, return_dict=True)["accuracy"]


def adding_problem(n, steps=30, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (n, steps))
    marks = np.zeros((n, steps))
    first = rng.integers(0, steps // 2, n)
    second = rng.integers(steps // 2, steps, n)
    marks[np.arange(n), first] = marks[np.arange(n), second] = 1
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    return x, (values * marks).sum(axis=1, keepdims=True).astype(np.float32)


def adding(model_kind="lstm", n_train=4000, epochs=30, steps=30, verbose=0, seed=0):
    x, y = adding_problem(n_train, steps, seed)
    x_test, y_test = adding_problem(1000, steps, seed + 1)
    if model_kind == "lstm":
        model = gn.Sequential([nn.LSTM(32), nn.Dense(1)], seed=seed)
    else:
        model = gn.Sequential([nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(128, activation="relu"),
                               nn.Dense(1)], seed=seed)
    model.compile(optimizer=gn.optim.Adam(learning_rate=3e-3), loss="mse")
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=verbose, seed=seed)
    return model.evaluate(x_test, y_test)


def main(verbose=True):
    results = {}
    for cell in ("lstm", "gru"):
        start = time.perf_counter()
        results[f"digits rows {cell}"] = digits_rows(cell)
        if verbose:
            print(f"digits row by row, {cell.upper()}(64): test accuracy {results[f'digits rows {cell}']:.4f} "
                  f"({time.perf_counter() - start:.1f} s)")
    for kind in ("lstm", "mlp"):
        start = time.perf_counter()
        results[f"adding {kind}"] = adding(kind)
        if verbose:
            print(f"adding problem (T=30), {kind.upper()}: test MSE {results[f'adding {kind}']:.4f} "
                  f"(predicting the mean: 0.167; {time.perf_counter() - start:.1f} s)")
    return results


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    main()
