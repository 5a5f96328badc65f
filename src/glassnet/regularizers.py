"""Keras's ``keras.regularizers``: every name of :mod:`glassnet.nn.regularizers` and its registered
lower-case names (``l2(0.01)``, ``l1_l2``), seen through this module."""
from .nn import regularizers
from ._view import view

__getattr__, __dir__ = view(regularizers, regularizers.REGULARIZERS)
