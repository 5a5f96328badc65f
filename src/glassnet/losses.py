"""Keras's ``keras.losses``: every name of :mod:`glassnet.nn.losses`, seen through this module."""
from .nn import losses
from ._view import view

__getattr__, __dir__ = view(losses)
