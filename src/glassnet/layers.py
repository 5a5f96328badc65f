"""Keras's ``keras.layers``: every name of :mod:`glassnet.nn`, seen through this module."""
from . import nn
from ._view import view

__getattr__, __dir__ = view(nn)
