"""Keras-named namespaces (``glassnet.losses``, ``glassnet.layers``, ...) as views of
glassnet's own modules: one source of truth, every name reachable both ways."""


def view(source, registry=None):
    """The module-level ``__getattr__`` and ``__dir__`` that show ``source``'s names and,
    when given, the names registered in ``registry`` (``gn.activations.relu``)."""

    def __getattr__(name):  # noqa: N807 - the module protocol's name
        if hasattr(source, name) or registry is None or name not in registry:
            return getattr(source, name)
        return registry.get(name)

    def __dir__():  # noqa: N807
        return sorted({*dir(source), *(registry.names() if registry is not None else ())})

    return __getattr__, __dir__
