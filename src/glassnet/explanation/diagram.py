"""A drawing of a computation graph: one box per value (its name and op, value, gradient),
arrows in data-flow order from left to right. SVG is written here directly (the HTML explanation
embeds it); PNG goes through matplotlib with the same layout. Beyond ``max_nodes`` ops only the
last ones are drawn, with a box counting the rest."""
import html as html_lib
import os

from .graph import build_graph
from .i18n import check_lang, phrase
from .render import CJK_FONTS, fmt

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 170, 64, 60, 22, 20
_FILL = {"leaf": "#dbeafe", "const": "#f1f5f9", "op": "#ffffff", "output": "#fde68a", "cut": "#f8fafc"}


def layout(graph, max_nodes=40, lang="en"):
    """Boxes ``{"node", "x", "y", "kind", "lines"}`` and arrows ``(from box, to box)``, plus the count of
    ops left out."""
    ops = graph.ops()
    drawn_ops = ops[-max_nodes:]
    left_out = len(ops) - len(drawn_ops)
    drawn = {id(n) for n in drawn_ops}
    for n in drawn_ops:
        drawn.update(id(x) for x in n.inputs)
    nodes = [n for n in graph.nodes if id(n) in drawn]
    op_ids = {id(o) for o in drawn_ops}
    depth = {}
    for n in drawn_ops:  # data-flow order: an op one column right of its deepest input op
        depth[id(n)] = 1 + max((depth[id(x)] for x in n.inputs if id(x) in op_ids), default=0)
    for n in reversed(drawn_ops):  # a leaf just left of its first consumer
        for x in n.inputs:
            if id(x) not in op_ids:
                depth[id(x)] = min(depth.get(id(x), depth[id(n)] - 1), depth[id(n)] - 1)
    columns = {}
    for n in sorted(nodes, key=lambda n: id(n) in op_ids):  # in each column, leaves below the ops
        columns.setdefault(depth[id(n)], []).append(n)
    tallest = max(len(c) for c in columns.values())
    boxes = {}
    first = min(columns)
    for col, members in sorted(columns.items()):
        for row, n in enumerate(members):
            is_op = id(n) in op_ids
            kind = "output" if n is graph.output else ("op" if is_op else
                                                     ("const" if n.op == "const" else ("leaf" if not n.op else "cut")))
            head = f"{n.name} = {n.formula()}" if is_op else (n.name if n.op != "const" else phrase(lang, "d.constant"))
            lines = [head, phrase(lang, "d.value", arg=fmt(n.value, 4))]
            if n.grad is not None:
                lines.append(phrase(lang, "d.grad", arg=fmt(n.grad, 4)))
            boxes[id(n)] = {"node": n, "x": MARGIN + (col - first) * (BOX_W + GAP_X),
                            "y": MARGIN + (30 if left_out else 0) + (tallest - len(members)) * (BOX_H + GAP_Y) / 2
                            + row * (BOX_H + GAP_Y), "kind": kind,
                            "lines": [_clip(t) for t in lines]}
    arrows = [(boxes[id(x)], boxes[id(n)]) for n in drawn_ops for x in n.inputs]
    return list(boxes.values()), arrows, left_out


def _clip(text, width=24):
    return text if len(text) <= width else text[:width - 1] + "…"


def _size(boxes):
    return (max(b["x"] for b in boxes) + BOX_W + MARGIN, max(b["y"] for b in boxes) + BOX_H + MARGIN)


def to_svg(graph, max_nodes=40, lang="en"):
    """The drawing as an SVG document (a string), its words in ``lang``."""
    boxes, arrows, left_out = layout(graph, max_nodes, lang)
    width, height = _size(boxes)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif, {CJK_FONTS.replace(chr(34), "")}" '
           'font-size="12">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#475569"/></marker></defs>']
    if left_out:
        out.append(f'<text x="{MARGIN}" y="{MARGIN + 12}" fill="#475569">'
                   f'{html_lib.escape(phrase(lang, "d.left", arg=left_out))}</text>')
    for a, b in arrows:
        x0, y0, x1, y1 = a["x"] + BOX_W, a["y"] + BOX_H / 2, b["x"], b["y"] + BOX_H / 2
        out.append(f'<path d="M {x0} {y0} C {x0 + GAP_X / 2} {y0}, {x1 - GAP_X / 2} {y1}, {x1} {y1}" fill="none" '
                   'stroke="#475569" stroke-width="1.2" marker-end="url(#arrow)"/>')
    for b in boxes:
        dash = ' stroke-dasharray="4 3"' if b["kind"] == "cut" else ""
        out.append(f'<g class="node" data-name="{html_lib.escape(b["node"].name)}"><rect x="{b["x"]}" y="{b["y"]}" '
                   f'width="{BOX_W}" height="{BOX_H}" rx="6" fill="{_FILL[b["kind"]]}" stroke="#334155"{dash}/>')
        for k, text in enumerate(b["lines"]):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{b["x"] + 8}" y="{b["y"] + 18 + 18 * k}"{weight}>{html_lib.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def graph_diagram(tensor, path, max_nodes=40, lang="en"):
    """Draw the computation graph of the scalar Tensor ``tensor`` to ``path`` (``.svg`` or ``.png``).

    Args:
        tensor: a scalar Tensor expression whose graph is still there (before ``backward``, or
            after ``backward(retain_graph=True)``).
        path: the file to write; the suffix picks SVG or PNG.
        max_nodes: ops drawn one box each; earlier ones are counted in a note. Defaults to ``40``.
        lang: the words of an SVG, ``"en"`` or ``"zh"`` (a PNG is labelled in English, since
            matplotlib may have no CJK font). Defaults to ``"en"``.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: a suffix other than .svg or .png, or a Tensor without a graph.
    """
    from ..saving import atomic_write  # noqa: PLC0415

    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in (".svg", ".png"):
        raise ValueError(f"graph_diagram writes .svg or .png files; received: path={str(path)!r}")
    graph = build_graph(tensor)
    if suffix == ".svg":
        atomic_write(path, to_svg(graph, max_nodes, check_lang(lang)).encode())
        return str(path)
    return _png(graph, path, max_nodes)


def _png(graph, path, max_nodes):
    from ..plot import _figure, _save  # noqa: PLC0415
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: PLC0415

    boxes, arrows, left_out = layout(graph, max_nodes)
    width, height = _size(boxes)
    fig = _figure(figsize=(width / 80, height / 80))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    if left_out:
        ax.text(MARGIN, MARGIN + 12, phrase("en", "d.left", arg=left_out),
                fontsize=8, color="#475569")
    for a, b in arrows:
        ax.add_patch(FancyArrowPatch((a["x"] + BOX_W, a["y"] + BOX_H / 2), (b["x"], b["y"] + BOX_H / 2),
                                     connectionstyle="arc3,rad=0", arrowstyle="-|>", mutation_scale=10,
                                     color="#475569", lw=1))
    for b in boxes:
        ax.add_patch(FancyBboxPatch((b["x"], b["y"]), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=6",
                                    facecolor=_FILL[b["kind"]], edgecolor="#334155",
                                    linestyle="--" if b["kind"] == "cut" else "-"))
        for k, text in enumerate(b["lines"]):
            ax.text(b["x"] + 8, b["y"] + 18 + 18 * k, text, fontsize=8, va="baseline",
                    fontweight="bold" if k == 0 else "normal")
    return _save(fig, path)
