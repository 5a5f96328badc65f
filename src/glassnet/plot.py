"""Pictures as PNG (or SVG) files through matplotlib's object API (no screen needed).

Every picture is a ``matplotlib.figure.Figure`` of its own, rendered straight to bytes: pyplot is
never imported, so its global state (the current figure, the registry of open figures, the backend)
is neither used nor changed. A notebook keeps its inline backend after a glassnet plot, and threads
(a server, a GUI) can draw at the same time.
"""
import os

import numpy as np


def _figure(**kwargs):
    """A new Figure (``figsize=`` and the rest as ``matplotlib.figure.Figure`` takes them)."""
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415 - optional dependency
    except ImportError:  # pragma: no cover
        raise ImportError("plots need matplotlib: pip install 'glassnet[app]'") from None
    return Figure(**kwargs)


def _save(fig, path):
    from .saving import atomic_write  # noqa: PLC0415
    import io  # noqa: PLC0415

    buf = io.BytesIO()
    fig.savefig(buf, format=os.path.splitext(str(path))[1].lstrip(".") or "png", dpi=110, bbox_inches="tight")
    atomic_write(path, buf.getvalue())
    return str(path)


def training_curves(history, path):
    """Loss and every metric per epoch, training against validation, one panel each.

    ``history`` is a :class:`History` or its ``history`` dict.
    """
    logs = getattr(history, "history", history)
    names = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    if not names:
        raise ValueError("training_curves needs a history with at least one logged quantity")
    fig = _figure(figsize=(4.5 * len(names), 3.5))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], label="train")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], label="validation")
        ax.set(title=name, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def confusion_matrix(matrix, path, class_names=None):
    """A confusion matrix (rows true, columns predicted) with its counts written in."""
    matrix = np.asarray(matrix)
    n = len(matrix)
    fig = _figure(figsize=(1.0 + 0.5 * n, 0.8 + 0.5 * n))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    labels = class_names or [str(i) for i in range(n)]
    ax.set(xticks=range(n), yticks=range(n), xticklabels=labels, yticklabels=labels,
           xlabel="predicted", ylabel="true", title="confusion matrix")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > threshold else "black")
    return _save(fig, path)


def activations(path, names=("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "swish"),
                x_range=(-5.0, 5.0)):
    """Each activation and its derivative (computed by glassnet's autograd), as in the seeds' figures."""
    from .nn import activations as acts  # noqa: PLC0415
    from .tensor import Tensor  # noqa: PLC0415

    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = _figure(figsize=(3.2 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    grid = np.linspace(*x_range, 401)
    for ax, name in zip(axes.flat, names):
        x = Tensor(grid, requires_grad=True)
        y = acts.get(name)(x)
        y.sum().backward()
        ax.plot(grid, y.data, label=name)
        ax.plot(grid, x.grad, "--", label="derivative")
        ax.set_title(name)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)
