"""Keras's ``keras.optimizers``: every name of :mod:`glassnet.optim`, seen through this module."""
from . import optim
from ._view import view

__getattr__, __dir__ = view(optim)
