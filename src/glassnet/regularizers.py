"""Keras's ``keras.regularizers``: every name of :mod:`glassnet.nn.regularizers`, seen through this module."""
from .nn import regularizers
from ._view import view

__getattr__, __dir__ = view(regularizers)
