"""Keras's ``keras.activations``: every name of :mod:`glassnet.nn.activations`, seen through this module."""
from .nn import activations
from ._view import view

__getattr__, __dir__ = view(activations, activations.ACTIVATIONS)
