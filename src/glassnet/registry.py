"""String shortcuts: one registry per family and one ``get()`` for each."""


class Registry:
    """Maps names (``"relu"``, ``"adam"``) to objects of one family.

    >>> r = Registry("activation")
    >>> @r.register("double")
    ... def double(x):
    ...     return 2 * x
    >>> r.get("double")(3)
    6
    """

    def __init__(self, kind):
        self.kind = kind
        self._items = {}
        self._display = {}

    def register(self, *names):
        def decorate(obj):
            for name in names:
                self._items[name.lower()] = obj
                self._display[name.lower()] = name
            return obj

        return decorate

    def names(self):
        return sorted(self._display.values())

    def name_of(self, obj):
        """The first registered name of ``obj`` (or of its class), or None."""
        for key, value in self._items.items():
            if value is obj or value is type(obj):
                return self._display[key]
        return None

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._items

    def get(self, name):
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a string; received: {name!r}")
        try:
            return self._items[name.lower()]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} {name!r}; known names: {', '.join(self.names())}"
            ) from None
