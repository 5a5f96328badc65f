"""A convolutional network on the digits (8x8 images, channels-last), seed 000's network types.

Conv2D(32, 3, same, relu) -> BatchNormalization -> Conv2D(64, 3, same, relu) -> BatchNormalization
-> MaxPooling2D(2) -> Dropout(0.25)
-> Flatten -> Dense(128, relu) -> Dropout(0.5) -> Dense(10, softmax); Adam; early stopping on a
validation split; the same 80/20 split with seed 42 as seed 000.

Run: python examples/cnn_digits.py
"""
import argparse
import time

import glassnet as gn
from glassnet import nn
from glassnet.workflow import TrainConfig, load_split


def build(seed=0):
    return gn.Sequential([
        nn.Rescaling(1 / 16.0),  # digits pixels are 0..16
        nn.Reshape((8, 8, 1)),
        nn.Conv2D(32, 3, padding="same", activation="relu"),
        nn.BatchNormalization(),
        nn.Conv2D(64, 3, padding="same", activation="relu"),
        nn.BatchNormalization(),
        nn.MaxPooling2D(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Dense(128, activation="relu"),
        nn.Dropout(0.5),
        nn.Dense(10, activation="softmax"),
    ], seed=seed)


def main(epochs=60, patience=8, verbose=2, seed=0):
    split = load_split(TrainConfig(dataset="digits", seed=42))
    model = build(seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(split.x_train, split.y_train, epochs=epochs, batch_size=32, validation_split=0.1, verbose=verbose,
              seed=seed, callbacks=[gn.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)])
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(split.x_test, split.y_test)
    if verbose:
        print(f"CNN on digits: test accuracy {accuracy:.4f}, test loss {loss:.4f}, trained in {seconds:.1f} s")
    return accuracy, model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    main(parser.parse_args().epochs)
