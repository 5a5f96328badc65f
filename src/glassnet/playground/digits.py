"""The playground's digits mode: scikit-learn's 8x8 digits and the drawing pad's predictions.

Each digit is 64 pixel counts from 0 to 16 (a 32x32 bitmap counted in 4x4 blocks); the
network reads them scaled to [0, 1] and answers ten class probabilities. The page's drawing
pad sends its own 8x8 picture in the same form.
"""
import numpy as np

from .. import datasets

PIXELS = 64


class PadError(ValueError):
    """A drawing that is not 64 numbers in [0, 1]."""


def load():
    """(points, targets, inputs) for the session: the scaled pixels twice and the labels."""
    x, y = datasets.load_digits()
    pixels = (x / 16).astype(np.float32)
    return pixels, y.astype(np.int64), pixels


def read_pad(pixels):
    """The pad's 64 values as a (1, 64) float32 row; PadError names what is wrong."""
    if not isinstance(pixels, (list, tuple)) or len(pixels) != PIXELS:
        count = len(pixels) if isinstance(pixels, (list, tuple)) else type(pixels).__name__
        raise PadError(f"pixels must be a list of {PIXELS} numbers in [0, 1] (8 rows of 8); received {count}")
    try:
        row = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError):
        raise PadError("pixels must be numbers in [0, 1]") from None
    if not np.all(np.isfinite(row)) or row.min() < 0 or row.max() > 1:
        raise PadError(f"pixels must be numbers in [0, 1]; received values from {row.min()} to {row.max()}")
    return row.astype(np.float32).reshape(1, PIXELS)


def predict(model, row):
    """The class probabilities, the predicted digit and every hidden unit's activation for one drawing."""
    hidden, a = [], row
    for layer in model.layers[:-1]:
        a = layer.infer(a)
        hidden.append(np.round(a[0], 4).tolist())
    probabilities = model.layers[-1].infer(a)[0]
    return {"probabilities": np.round(probabilities, 4).tolist(), "prediction": int(probabilities.argmax()),
            "hidden": hidden}


def accuracy(model, inputs, targets, idx):
    if len(idx) == 0:
        return float("nan")
    return float((model.predict(inputs[idx], batch_size=1024).argmax(axis=1) == targets[idx]).mean())
