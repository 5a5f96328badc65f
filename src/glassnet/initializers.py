"""Keras's ``keras.initializers``: every name of :mod:`glassnet.nn.initializers`, seen through this module."""
from .nn import initializers
from ._view import view

__getattr__, __dir__ = view(initializers)
