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


def test_plots_leave_pyplot_and_the_backend_alone(tmp_path):
    """A notebook's backend stays what it was, and pyplot is never imported (fresh process: other
    tests import pyplot)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    script = f"""
import sys, matplotlib
matplotlib.use("svg")
from glassnet import plot
plot.training_curves({{"loss": [1.0, 0.5]}}, {str(tmp_path / "c.png")!r})
plot.confusion_matrix([[1, 0], [0, 1]], {str(tmp_path / "m.png")!r})
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "False"]
    assert is_png(tmp_path / "c.png") and is_png(tmp_path / "m.png")


def test_threads_draw_at_once_and_get_the_same_picture(tmp_path):
    """Four threads draw the same curves at the same time: each file holds the bytes one thread
    alone writes (each picture is a Figure of its own, no shared current figure)."""
    import threading  # noqa: PLC0415

    history = {"loss": list(np.linspace(1, 0.1, 30)), "val_loss": list(np.linspace(1.1, 0.3, 30))}
    alone = open(plot.training_curves(history, tmp_path / "alone.png"), "rb").read()
    start, errors = threading.Barrier(4), []

    def draw(i):
        try:
            start.wait()
            for k in range(3):
                plot.training_curves(history, tmp_path / f"t{i}-{k}.png")
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(4):
        for k in range(3):
            assert (tmp_path / f"t{i}-{k}.png").read_bytes() == alone
