"""Modules, layers, activations, losses, initializers and regularizers."""
from . import activations, functional, initializers, losses, regularizers
from .layer import LAYERS, Layer
from .layers import (ELU, GELU, SELU, Activation, Dense, Dropout, Flatten, HardSigmoid, LeakyReLU, Linear,
                     LogSoftmax, Maxout, ReLU, ReLU6, Rescaling, Sigmoid, SiLU, Softmax, Softplus, Softsign, Swish,
                     Tanh)
from .losses import (BinaryCrossentropy, CategoricalCrossentropy, Hinge, Huber, KLDivergence, Loss,
                     MeanAbsoluteError, MeanSquaredError, MulticlassHinge, SparseCategoricalCrossentropy,
                     SquaredHinge)
from .conv import (AveragePooling1D, AveragePooling2D, Conv1D, Conv2D, Conv2DTranspose, GlobalAveragePooling1D,
                   GlobalAveragePooling2D, GlobalMaxPooling, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D,
                   MaxPooling2D, Reshape, UpSampling2D)
from .input_layer import Input, InputLayer
from .merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                    dot, maximum, minimum, multiply, subtract)
from .module import Buffer, Module, Parameter
from .normalization import BatchNormalization, LayerNormalization
from .recurrent import GRU, LSTM, Bidirectional, Embedding, Masking, SimpleRNN, TimeDistributed
from .regularizers import L1, L1L2, L2
from .torch_losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss

__all__ = [
    "Module", "Parameter", "Layer", "Dense", "Linear", "Activation", "Dropout", "Flatten", "Maxout", "Rescaling",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "Sigmoid", "HardSigmoid", "Tanh", "Softplus",
    "Softsign", "Swish", "SiLU", "Softmax", "LogSoftmax", "LAYERS",
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge", "SquaredHinge",
    "MulticlassHinge", "KLDivergence", "L1", "L2", "L1L2",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
    "activations", "functional", "initializers", "losses", "regularizers", "Buffer",
    "Conv1D", "Conv2D", "Conv2DTranspose", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "UpSampling2D", "Reshape", "BatchNormalization", "LayerNormalization", "Embedding",
    "Masking", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "Input", "InputLayer",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
]
