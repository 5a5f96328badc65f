"""See inside: one training step, or one computation graph, with every number written out.

``explain(model, x, y)`` walks one sample through a network (``dense``: stacks of Dense
layers neuron by neuron; ``layers``: every other layer type at one chosen position);
``explain(tensor)`` walks a scalar expression's computation graph forward and backward
(``graph``); ``seed003`` holds seed 003's worked examples. ``render`` prints the result as
text, Markdown or HTML, in the languages of ``i18n``. Every number comes from formulas written
out in NumPy; the tests check each one against autograd.
"""
from ..tensor import Tensor
from .dense import explain_dense, is_dense_stack, seed_example
from .diagram import graph_diagram, to_svg
from .graph import build_graph, explain_graph
from .render import Explanation, Line

__all__ = ["explain", "example", "graph_diagram", "Explanation", "Line", "seed_example"]


def explain(target, x=None, y=None, learning_rate=0.1, max_neurons=8, max_inputs=8, neurons=None, digits=6,
            max_nodes=40, **options):
    """Explain one gradient-descent step of a model on one sample, or a scalar Tensor's graph.

    Args:
        target: a model (a Sequential or a single layer) or a scalar Tensor expression built
            with ``requires_grad`` leaves (call it before ``backward``, or after
            ``backward(retain_graph=True)``).
        x: one sample, shape (features,); for a model only.
        y: its target: a class label, a one-hot row, or the regression target(s).
        learning_rate: eta of the update shown. Defaults to ``0.1``.
        max_neurons: Dense layers wider than this show only some neurons. Defaults to ``8``.
        max_inputs: inputs listed one by one in the first layer's sums. Defaults to ``8``.
        max_nodes: a graph's ops listed and drawn one by one (the last ones). Defaults to ``40``.
        neurons: which neurons to show, ``{layer number (1 = first Dense layer): index or
            list of indices from 0}``. Defaults to the first ``max_neurons`` of each layer.
        digits: significant digits printed; ``None`` prints each number exactly.
            Defaults to ``6``.
        **options: for models with other layers than Dense: ``position`` (an output index
            without the batch axis, or ``{layer number: index}``; default: the middle),
            ``step`` (the time step of recurrent layers; default: the last) and
            ``dropout_seed`` (the seed of the dropout masks shown; default: ``0``).

    Returns:
        An :class:`Explanation`; ``str()`` gives the text, ``.render("html", "zh")`` a page.

    Raises:
        ValueError: an unsupported layer, ``x`` of the wrong size, a neuron that does not exist.

    >>> import glassnet as gn
    >>> a, b, c = (gn.Tensor(v, requires_grad=True, name=n) for v, n in ((5.0, "a"), (3.0, "b"), (2.0, "c")))
    >>> print(gn.explain(3 * (a + b * c)).to_text().splitlines()[6])
        u = b*c = 3*2 = 6
    """
    if isinstance(target, Tensor):
        graph = build_graph(target)
        explanation = explain_graph(graph, digits=digits, max_nodes=max_nodes)
        explanation.figure = lambda lang: to_svg(graph, max_nodes, lang)
        return explanation
    if x is None or y is None:
        raise ValueError("explain(model, x, y) needs one sample x and its target y")
    unknown = sorted(set(options) - {"position", "step", "dropout_seed"})
    if unknown:
        raise TypeError(f"explain() got unexpected options {unknown}; expected position, step or dropout_seed")
    if is_dense_stack(target):  # position and step have nothing to pick in Dense layers
        return explain_dense(target, x, y, learning_rate, max_neurons, max_inputs, neurons, digits)
    from .network import explain_network  # noqa: PLC0415

    return explain_network(target, x, y, learning_rate=learning_rate, digits=digits, neurons=neurons, **options)


def example(name, learning_rate=0.1):
    """A built-in explanation: ``"graph"`` (seed 003's J = 3*(a + b*c)), ``"logistic"`` (seed 003's
    logistic regression neuron) or ``"seed"`` (seed 000 section 3.4's 2-2-1 network)."""
    from .seed003 import explain_logistic, graph_example  # noqa: PLC0415

    if name == "graph":
        return explain(graph_example())
    if name == "logistic":
        return explain_logistic(learning_rate)
    if name == "seed":
        model, x, y = seed_example()
        return explain(model, x, y, learning_rate)
    raise ValueError(f"example must be one of ['graph', 'logistic', 'seed']; received: example={name!r}")
