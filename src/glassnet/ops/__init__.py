"""Primitive ops: one class per op, forward and backward side by side."""
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .function import Function, unbroadcast
from .conv import Conv2D, Conv2DTranspose, Pool2D, UpSample2D
from .batch_norm import BatchNorm
from .dropout import Dropout
from .fused import Linear, SigmoidCrossEntropy, SoftmaxCrossEntropy
from .gru import GRUOp
from .lstm import LSTMOp
from .recurrent import SimpleRNNOp
from .gru_reset_before import GRUResetBeforeOp
from .math import (Abs, Add, Cast, Clip, Div, Exp, Log, MatMul, Max, Maximum, Mean, Mul, Neg, Pow,
                   Sqrt, Sub, Sum, Where)
from .shape import Concatenate, GetItem, Pad, Reshape, Stack, Transpose

__all__ = [
    "Function", "unbroadcast",
    "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Maximum", "Where", "Exp", "Log", "Sqrt", "Abs",
    "Cast", "Clip", "MatMul", "Sum", "Mean", "Max", "Reshape", "Transpose", "GetItem", "Concatenate",
    "Stack", "Pad", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "Softplus", "Softmax",
    "LogSoftmax", "GELU", "BatchNorm", "Dropout", "Linear", "SoftmaxCrossEntropy", "SigmoidCrossEntropy", "Conv2D",
    "Conv2DTranspose", "Pool2D",
    "UpSample2D", "SimpleRNNOp", "LSTMOp", "GRUOp", "GRUResetBeforeOp",
]
