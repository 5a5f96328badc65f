"""glassnet: a neural-network library written from scratch on NumPy."""
from . import ops_methods as _ops_methods  # noqa: F401 - attaches Tensor operators
from .functional import concatenate, pad, stack, where
from .gradcheck import gradcheck
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad

__version__ = "0.1.0"

__all__ = [
    "Tensor", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "concatenate", "stack", "pad", "where", "__version__",
]
