"""glassnet: a neural-network library written from scratch on NumPy."""
from .blas_buffers import map_gemm_buffers as _map_gemm_buffers
from .blas_threads import quiet_workers as _quiet_blas_workers
from . import ops_methods as _ops_methods  # noqa: F401 - attaches Tensor operators
from . import callbacks, data, datasets, distributed, functional, metrics, nn, optim, pictures, plot, random
from . import activations, initializers, layers, losses, models, optimizers, regularizers, utils  # Keras's names
from .model import Model
from .sequential import Sequential
from .serialization import load, save
from .functional_model import Functional
from .nn.input_layer import Input
from .explanation import explain
from .functional import concatenate, pad, stack, where
from .gradcheck import gradcheck
from .model_file import ModelFileError
from .models import load_model
from .random import set_seed
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled

nn.Sequential = Sequential  # NOTE: PyTorch's nn.Sequential; the class lives above nn, in sequential.py
manual_seed = set_seed  # PyTorch's name: seeds the calling thread's generator

_quiet_blas_workers()  # NOTE: OpenBLAS's idle workers sleep instead of spinning (see blas_threads)
_map_gemm_buffers()  # NOTE: narrow products run 1.2-4x faster in OpenBLAS after this one (see blas_buffers)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "gradcheck", "set_seed",
    "concatenate", "stack", "pad", "where", "functional", "metrics", "nn", "optim", "random",
    "callbacks", "datasets", "ModelFileError", "pictures", "plot", "Model", "Sequential", "Functional", "Input",
    "load_model", "explain", "save", "load", "data", "manual_seed",
    "activations", "initializers", "layers", "losses", "models", "optimizers", "regularizers", "utils",
    "__version__",
]
