"""The picture of a functional model: one box per layer call, arrows along the data,
inputs at the top (Keras's ``plot_model`` layout)."""
from .plot import _figure, _save


def layer_graph(model, path):
    """Draw ``model``'s graph of layers (name, type and output shape per box) as PNG or SVG.

    Returns:
        The path written.
    """
    depth = {}
    for node in model.nodes:  # in order: every node after the nodes it reads
        depth[id(node)] = 1 + max((depth[id(t.node)] for t in node.inputs), default=-1)
    rows = {}
    for node in model.nodes:
        rows.setdefault(depth[id(node)], []).append(node)
    width = max(len(row) for row in rows.values())
    where = {id(node): ((i - (len(row) - 1) / 2) * 3.2, -1.6 * d)
             for d, row in rows.items() for i, node in enumerate(row)}
    fig = _figure(figsize=(3.3 * width + 1, 1.25 * len(rows) + 0.5))
    ax = fig.subplots()
    for node in model.nodes:
        x1, y1 = where[id(node)]
        for t in node.inputs:
            x0, y0 = where[id(t.node)]
            ax.annotate("", xy=(x1, y1 + 0.42), xytext=(x0, y0 - 0.42),
                        arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 1.1}, zorder=1)
        shapes = [t.shape for t in node.outputs]
        shape = shapes[0] if len(shapes) == 1 else shapes
        ax.text(x1, y1, f"{node.layer.name} ({type(node.layer).__name__})\n{shape}", ha="center", va="center",
                zorder=3, fontsize=8, bbox={"boxstyle": "round,pad=0.4", "fc": "#e8f0fb" if node.inputs else "#fdf0d5",
                                  "ec": "0.3"})
    ax.set_xlim(-1.7 * width - 0.2, 1.7 * width + 0.2)
    ax.set_ylim(-1.6 * (len(rows) - 1) - 0.8, 0.8)
    ax.set_axis_off()
    return _save(fig, path)
