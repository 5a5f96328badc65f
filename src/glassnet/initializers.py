"""Keras's ``keras.initializers``: every name of :mod:`glassnet.nn.initializers` and its registered
lower-case names (``he_normal()``, ``glorot_uniform``), seen through this module."""
from .nn import initializers
from ._view import view

__getattr__, __dir__ = view(initializers, initializers.INITIALIZERS)
