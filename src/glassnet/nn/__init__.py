"""Modules, layers, activations, losses, initializers and regularizers."""
from . import activations, initializers, losses, regularizers
from .layers import (ELU, GELU, LAYERS, SELU, Activation, Dense, Dropout, Flatten, HardSigmoid, Layer,
                     LeakyReLU, Linear, LogSoftmax, Maxout, ReLU, ReLU6, Rescaling, Sigmoid, SiLU, Softmax, Softplus,
                     Softsign, Swish, Tanh)
from .losses import (BinaryCrossentropy, CategoricalCrossentropy, Hinge, Huber, KLDivergence, Loss,
                     MeanAbsoluteError, MeanSquaredError, MulticlassHinge, SparseCategoricalCrossentropy,
                     SquaredHinge)
from .module import Module, Parameter
from .regularizers import L1, L1L2, L2

__all__ = [
    "Module", "Parameter", "Layer", "Dense", "Linear", "Activation", "Dropout", "Flatten", "Maxout", "Rescaling",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "Sigmoid", "HardSigmoid", "Tanh", "Softplus",
    "Softsign", "Swish", "SiLU", "Softmax", "LogSoftmax", "LAYERS",
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge", "SquaredHinge",
    "MulticlassHinge", "KLDivergence", "L1", "L2", "L1L2",
    "activations", "initializers", "losses", "regularizers",
]
