"""Pictures of what a small 2-D network has learned: the decision boundary, the network
diagram, and the training animation (seed 004's dynamic display)."""
import io

import numpy as np

from .explanation.diagram import graph_diagram  # noqa: F401 - a picture of a computation graph
from .plot import _figure, _save


def grid(x, resolution=100, margin=0.5):
    """A (resolution^2, 2) grid over the data's bounding box, and its two axes."""
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    gx, gy = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32), gx, gy


def positive_probability(model, points):
    """P(class 1) for a binary model (one sigmoid output or two softmax outputs)."""
    out = model.predict(points, batch_size=4096)
    return out[:, -1] if out.shape[1] <= 2 else out.argmax(axis=1) / (out.shape[1] - 1)


def hidden_outputs(model, points):
    """Every hidden Dense layer's outputs over ``points``: a list of (units, n) arrays, first layer first."""
    from .nn.layers import Dense  # noqa: PLC0415

    outputs, h = [], points.astype(np.float32)
    layers = list(model.layers)
    last_dense = max(k for k, layer in enumerate(layers) if isinstance(layer, Dense))
    for k, layer in enumerate(layers[:last_dense]):
        h = layer.infer(h)
        if isinstance(layer, Dense):
            outputs.append(h.T)
    return outputs


def _draw_boundary(ax, model, x, y, x_test=None, y_test=None, resolution=100):
    points, gx, gy = grid(np.concatenate([x, x_test]) if x_test is not None else x, resolution)
    prob = positive_probability(model, points).reshape(len(gy), len(gx))
    ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.75)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="white", s=18, vmin=0, vmax=1)
    if x_test is not None:
        ax.scatter(x_test[:, 0], x_test[:, 1], c=y_test, cmap="RdBu_r", edgecolors="black", marker="s", s=22,
                   vmin=0, vmax=1, label="test")
        ax.legend(loc="upper right", fontsize=7)
    ax.set(xlabel="x1", ylabel="x2")


def decision_boundary(model, x, y, path, x_test=None, y_test=None, resolution=150):
    """The probability heat map of a 2-D binary classifier, its 0.5 contour, training points
    (circles) and test points (squares), as a PNG."""
    fig = _figure(figsize=(5, 4.5))
    ax = fig.subplots()
    _draw_boundary(ax, model, np.asarray(x), np.asarray(y), x_test, y_test, resolution)
    ax.set_title("decision boundary")
    return _save(fig, path)


def network_diagram(model, path):
    """Neurons as circles, weights as lines (colour: sign; width: magnitude). PNG or SVG by the suffix.

    A functional model is drawn as its graph of layers instead (:func:`glassnet.graph_picture.layer_graph`).
    """
    from .nn.layers import Dense  # noqa: PLC0415

    if getattr(model, "nodes", None) is not None:  # a functional model: branches, merges, several outputs
        from .graph_picture import layer_graph  # noqa: PLC0415

        return layer_graph(model, path)

    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    if not dense:
        raise ValueError("network_diagram needs a model with Dense layers")
    sizes = [dense[0].input_dim] + [layer.units for layer in dense]
    if max(sizes) > 32:
        raise ValueError(f"network_diagram draws layers of at most 32 neurons; this model has {max(sizes)}")
    fig = _figure(figsize=(1.8 * len(sizes) + 1, 0.45 * max(sizes) + 1.5))
    ax = fig.subplots()
    pos = [[(col, (max(sizes) - n) / 2 + i) for i in range(n)] for col, n in enumerate(sizes)]
    biggest = max(float(np.abs(layer.kernel.data).max()) for layer in dense) or 1.0
    for col, layer in enumerate(dense):
        w = layer.kernel.data
        for i, (x0, y0) in enumerate(pos[col]):
            for j, (x1, y1) in enumerate(pos[col + 1]):
                ax.plot([x0, x1], [y0, y1], color="tab:orange" if w[i, j] > 0 else "tab:blue",
                        lw=0.3 + 3.0 * abs(w[i, j]) / biggest, alpha=0.8, zorder=1)
    for col, column in enumerate(pos):
        for (x0, y0) in column:
            ax.scatter([x0], [y0], s=260, color="white", edgecolors="black", zorder=2)
        label = "input" if col == 0 else ("output" if col == len(pos) - 1 else f"hidden {col}")
        ax.text(col, -1.0, label, ha="center", fontsize=9)
    ax.set_ylim(-1.6, max(sizes) - 0.2)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_axis_off()
    ax.set_title("network (orange: positive weight, blue: negative; width: |w|)", fontsize=9)
    return _save(fig, path)


UNITS_PER_ROW = 8


def _frame(model, x, y, x_test, y_test, points, gx, gy, losses):
    """One picture: the boundary left; right, a row of small maps per hidden layer, then the loss."""
    layers = hidden_outputs(model, points)
    rows = [(l, units[k:k + UNITS_PER_ROW], k) for l, units in enumerate(layers)
            for k in range(0, len(units), UNITS_PER_ROW)]
    cols = max((len(block) for _, block, _ in rows), default=1)
    fig = _figure(figsize=(3.2 + 0.95 * cols, max(3.2, 0.95 * (len(rows) + 1) + 0.6)))
    grid_spec = fig.add_gridspec(len(rows) + 1, 3 + cols, width_ratios=[1.6, 1.6, 0.2] + [1] * cols)
    ax = fig.add_subplot(grid_spec[:, 0:2])
    _draw_boundary(ax, model, x, y, x_test, y_test, 60)
    ax.set_title(f"epoch {len(losses)}", fontsize=9)
    for r, (l, block, first) in enumerate(rows):
        for k, unit in enumerate(block):
            hax = fig.add_subplot(grid_spec[r, 3 + k])
            hax.imshow(unit.reshape(len(gy), len(gx)), origin="lower", cmap="RdBu_r")
            hax.set_title(f"layer {l + 1} unit {first + k + 1}", fontsize=5.5)
            hax.set_axis_off()
    lax = fig.add_subplot(grid_spec[len(rows), 3:])
    lax.plot(range(1, len(losses) + 1), losses, color="black", lw=1)
    lax.set_xlim(0, max(1, len(losses)))
    lax.set_title("training loss", fontsize=7)
    lax.tick_params(labelsize=6)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=70)
    from PIL import Image  # noqa: PLC0415 - Pillow ships with matplotlib

    return Image.open(io.BytesIO(buf.getvalue())).convert("P", palette=Image.ADAPTIVE)


def training_animation(model, x, y, path, epochs=200, frames=40, batch_size=None, x_test=None, y_test=None,
                       seed=0, fps=8):
    """Train ``model`` (compiled) on 2-D data and write an animated GIF: per frame the decision
    boundary, every hidden unit's output (labelled by layer), and the loss curve so far. The first
    frame is the untrained network (epoch 0); the other ``frames - 1`` share the epochs.

    Returns:
        The training losses, one per epoch.
    """
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y)
    points, gx, gy = grid(x, 60)
    if not model.built:
        model.build((None, x.shape[1]))
    training_frames = max(1, frames - 1)  # the first frame is the untrained network, epoch 0
    per_frame = max(1, epochs // training_frames)
    losses, images = [], [_frame(model, x, y, x_test, y_test, points, gx, gy, [])]
    for frame in range(training_frames):
        h = model.fit(x, y, epochs=(frame + 1) * per_frame, initial_epoch=frame * per_frame,
                      batch_size=batch_size or len(x), verbose=0, seed=seed)
        losses += h.history["loss"]
        images.append(_frame(model, x, y, x_test, y_test, points, gx, gy, losses))
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    from .saving import atomic_write  # noqa: PLC0415

    atomic_write(path, out.getvalue())
    return losses
