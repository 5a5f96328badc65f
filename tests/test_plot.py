"""Plots are real PNG files with the expected content size."""
import numpy as np

from glassnet import plot


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_training_curves(tmp_path):
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
               "val_accuracy": [0.4, 0.7, 0.8]}
    path = plot.training_curves(history, tmp_path / "curves.png")
    assert is_png(path)


def test_confusion_matrix(tmp_path):
    assert is_png(plot.confusion_matrix(np.array([[5, 1], [2, 7]]), tmp_path / "cm.png", ["no", "yes"]))


def test_activations_with_derivatives(tmp_path):
    assert is_png(plot.activations(tmp_path / "act.png", names=("sigmoid", "relu", "tanh")))
