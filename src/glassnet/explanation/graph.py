"""A scalar expression's computation graph, forward and backward, in seed 003's notation.

For ``J = 3*(a + b*c)`` with a=5, b=3, c=2 it prints ``u = b*c = 3*2 = 6``, ``v = a + u = 11``,
``J = 3*v = 33``, then ``dJ/dv = 3``, ``dJ/da = dJ/dv * dv/da = 3*1 = 3``,
``dJ/db = dJ/du * du/db = 3*c = 3*2 = 6``. A value used twice gets one term per use, added.
The gradients come from each op's own ``backward`` (the chain rule, one node at a time); the
tests check them against ``Tensor.backward``.
"""
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from .render import Explanation, Line, fmt, paren

# how each op reads, and d(output)/d(input i) written with the names of its inputs {0}, {1}
# and of its output {y}
_OPS = {
    "Add": ("{0} + {1}", ("1", "1")), "Sub": ("{0} - {1}", ("1", "-1")),
    "Mul": ("{0}*{1}", ("{1}", "{0}")), "Div": ("{0}/{1}", ("1/{1}", "-{0}/{1}^2")),
    "Pow": ("{0}^{1}", ("{1}*{0}^({1} - 1)", "{y}*log({0})")), "Neg": ("-{0}", ("-1",)),
    "Exp": ("exp({0})", ("{y}",)), "Log": ("log({0})", ("1/{0}",)), "Sqrt": ("sqrt({0})", ("1/(2*{y})",)),
    "Abs": ("|{0}|", ("sign({0})",)), "Sigmoid": ("sigmoid({0})", ("{y}*(1 - {y})",)),
    "Tanh": ("tanh({0})", ("1 - {y}^2",)), "ReLU": ("relu({0})", ("relu'({0})",)),
    "MatMul": ("{0}·{1}", ("{1}", "{0}")), "Sum": ("sum({0})", ("1",)), "Mean": ("mean({0})", ("1/n",)),
    "Maximum": ("max({0}, {1})", (None, None)), "Max": ("max({0})", (None,)),
}
_OUT_NAMES = ("u", "v", "w", "p", "q", "r", "s", "t")
_LEAF_NAMES = "abcdefghkmn"


@dataclass(eq=False)
class Node:
    """One value of the graph: a leaf, a constant or the output of an op."""

    tensor: Tensor
    name: str
    op: str = ""  # the op's class name; "" for a leaf, "const" for a constant
    inputs: list = field(default_factory=list)  # Nodes
    grad: np.ndarray = None
    uses: list = field(default_factory=list)  # (consumer Node, input index, contribution)

    @property
    def value(self):
        return self.tensor.data

    def formula(self):
        return _pattern(self).format(*[n.label() for n in self.inputs])

    def expression(self, depth=6):
        """The whole expression that made this value, in one line (names below ``depth`` levels)."""
        if self.op in ("", "const") or depth == 0:
            return self.label()
        parts = []
        for x in self.inputs:
            text = x.expression(depth - 1)
            loose = x.op in ("Add", "Sub") and self.op in ("Mul", "Div", "Pow", "MatMul", "Neg", "Sub")
            parts.append(f"({text})" if loose else text)
        return _pattern(self).format(*parts)

    def label(self):
        """The name in formulas; a one-number constant is written as its value."""
        return fmt(self.value, 6) if self.op == "const" and self.tensor.size == 1 else self.name


@dataclass
class Graph:
    """The nodes of a scalar expression in data-flow order (leaves and constants first)."""

    nodes: list
    output: Node

    def ops(self):
        return [n for n in self.nodes if n.op not in ("", "const")]

    def leaves(self):
        return [n for n in self.nodes if n.op == ""]


def build_graph(y, output_name="J"):
    """Walk the graph that made the scalar Tensor ``y``, name its values and run the chain rule.

    Raises:
        ValueError: ``y`` is not one number, has no graph, or its graph was released by backward().
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"explain expects a Tensor expression; received {type(y).__name__}")
    if y.size != 1:
        raise ValueError(f"explain needs a scalar Tensor (one number); received shape {y.shape}")
    if y.grad_fn is None:
        raise ValueError("the Tensor has no computation graph: build it from tensors with requires_grad=True")
    nodes, seen, stack = {}, set(), [y]
    order = []  # every tensor, found depth-first from the output
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        order.append(t)
        if t.grad_fn is not None:
            if t.grad_fn.inputs is None:
                raise ValueError("the graph was released by backward(): call explain before backward(), "
                                 "or call backward(retain_graph=True)")
            stack.extend(reversed(t.grad_fn.inputs))
    made = sorted((t for t in order if t.grad_fn is not None), key=lambda t: t.grad_fn.seq)
    first_use = {}
    for t in made:
        for x in t.grad_fn.inputs:
            first_use.setdefault(id(x), len(first_use))
    leaves = sorted((t for t in order if t.grad_fn is None), key=lambda t: first_use[id(t)])
    leaves.sort(key=lambda t: (t.name is None, t.name or ""))  # named leaves in alphabetical order first
    used = {t.name for t in order if t.name}
    free_leaf = (c for c in _LEAF_NAMES if c not in used)
    free_out = iter([c for c in _OUT_NAMES if c not in used] + [f"h{k}" for k in range(1, 10000)])
    consts = 0
    for t in leaves:
        if t.requires_grad:
            name = t.name or next(free_leaf, None) or f"x{len(nodes) + 1}"
            nodes[id(t)] = Node(t, name)
        else:
            consts += 1
            nodes[id(t)] = Node(t, t.name or f"k{consts}", "const")
    for t in made:
        name = output_name if t is y else (t.name or next(free_out))
        nodes[id(t)] = Node(t, name, type(t.grad_fn).__name__, [nodes[id(x)] for x in t.grad_fn.inputs])
    graph = Graph(list(nodes.values()), nodes[id(y)])
    _backward(graph)
    return graph


def _backward(graph):
    """dJ/d(node) for every node, keeping each use's contribution (the terms that are added)."""
    out = graph.output
    out.grad = np.ones_like(out.value)
    for node in reversed(graph.ops()):
        gxs = node.tensor.grad_fn.backward(node.grad)
        gxs = gxs if isinstance(gxs, tuple) else (gxs,)
        for i, (x, gx) in enumerate(zip(node.inputs, gxs)):
            if gx is None or not x.tensor.requires_grad:
                continue
            x.uses.append((node, i, gx))
            x.grad = gx if x.grad is None else x.grad + gx


def explain_graph(graph, digits=6, max_nodes=40):
    """The forward values node by node, then the backward pass as the chain rule with numbers."""
    out = graph.output.name
    ops = graph.ops()
    shown = ops[-max_nodes:]
    hidden = ops[:-max_nodes] if len(ops) > max_nodes else []
    shown_ids = {id(n) for n in shown}
    # the results of summarised ops that shown ops use: their values and gradients are listed
    boundary = {id(x): x for n in shown for x in n.inputs if x.op not in ("", "const") and id(x) not in shown_ids}
    lines = []
    for node in graph.nodes:
        if node.op == "const" and node.tensor.size > 1:
            lines.append(Line("forward", node.name, "", "", node.value))
    for node in graph.leaves():
        lines.append(Line("forward", node.name, "", "", node.value, ("value", node.name)))
    if hidden:
        kinds = Counter(n.op for n in hidden)
        lines.append(Line("forward", text=("graph.summary", {
            "count": len(hidden), "ops": ", ".join(f"{op} x{k}" for op, k in kinds.most_common())})))
        for node in boundary.values():
            lines.append(Line("forward", node.name, "", "", node.value, ("value", node.name)))
    for node in shown:
        numbers = _pattern(node).format(*[_number(x, digits) for x in node.inputs])
        lines.append(Line("forward", node.name, node.formula(), _drop_same(numbers, node.value, digits),
                          node.value, ("value", node.name)))
    for node in _backward_order(graph):
        if node.op in ("", "const") or id(node) in shown_ids or id(node) in boundary:
            lines.append(_grad_line(node, out, digits))
    notes = [("note.twice", {"name": n.name, "count": len(n.uses)}) for n in graph.nodes if len(n.uses) > 1]
    name = f"{out} = {graph.output.expression() if len(ops) <= 12 else graph.output.formula()}"
    return Explanation(lines, notes=notes, title="title.graph", model_name=name, digits=digits)


def _backward_order(graph):
    """Each node as soon as every use of it has been through the chain rule (seed 003's order)."""
    waiting = {id(n): len(n.uses) for n in graph.nodes}
    order = []
    for node in reversed(graph.ops()):
        for x in dict.fromkeys(node.inputs):
            if x.grad is None:
                continue
            waiting[id(x)] -= sum(1 for consumer, _, _ in x.uses if consumer is node)
            if waiting[id(x)] == 0:
                order.append(x)
    return order


def _pattern(node):
    return _OPS.get(node.op, (f"{node.op.lower()}(" + ", ".join(f"{{{i}}}" for i in range(len(node.inputs))) + ")",
                              ()))[0]


def _number(node, digits):
    return paren(node.value, digits) if node.tensor.size == 1 else fmt(node.value, digits)


def _drop_same(text, value, digits):
    return "" if text == fmt(value, digits) else text


def _grad_line(node, out, digits):
    """dJ/dx = sum over x's uses of dJ/d(consumer) * d(consumer)/dx, symbols then numbers."""
    symbols, locals_, numbers = [], [], []
    for consumer, i, _ in sorted(node.uses, key=lambda u: (u[0].tensor.grad_fn.seq, u[1])):  # forward order
        local = _local(consumer, i)
        if consumer.name == out:  # the output's own inputs: dJ/dv is the local derivative itself
            symbols.append(local)
            locals_.append(local)
            numbers.append(_local_number(consumer, i, digits))
        else:
            symbols.append(f"d{out}/d{consumer.name} * d{consumer.name}/d{node.name}")
            locals_.append(f"{paren(consumer.grad, digits) if consumer.grad.size == 1 else fmt(consumer.grad, digits)}"
                           f"*{local}")
            numbers.append(f"{paren(consumer.grad, digits) if consumer.grad.size == 1 else fmt(consumer.grad, digits)}"
                           f"*{_local_number(consumer, i, digits)}")
    parts = [" + ".join(symbols), " + ".join(locals_), " + ".join(numbers)]
    value = fmt(node.grad, digits)
    kept = []
    for p in parts:  # drop repeats: dJ/dv = 3 rather than dJ/dv = 3 = 3
        if p and p != value and p not in kept and not p.endswith("*None"):
            kept.append(p)
    formula, subst = (kept + ["", ""])[:2] if len(kept) < 3 else (kept[0], " = ".join(kept[1:]))
    return Line("backward", f"d{out}/d{node.name}", formula, subst, node.grad, ("grad", node.name))


def _local(consumer, i):
    """d(consumer)/d(input i), written with names (None where no short form exists)."""
    rule = _OPS.get(consumer.op, (None, ()))[1]
    if i >= len(rule) or rule[i] is None:
        return f"d{consumer.name}/d{consumer.inputs[i].name}"
    return rule[i].format(*[x.label() for x in consumer.inputs], y=consumer.name)


def _local_number(consumer, i, digits):
    """d(consumer)/d(input i) as numbers, for one-number values (else the symbol)."""
    rule = _OPS.get(consumer.op, (None, ()))[1]
    if i >= len(rule) or rule[i] is None or any(x.tensor.size != 1 for x in consumer.inputs):
        return _local(consumer, i)
    names = [_number(x, digits) for x in consumer.inputs]
    return rule[i].format(*names, y=_number(consumer, digits))
