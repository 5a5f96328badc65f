"""Fused element-wise kernels for CuPy arrays, where fusing pays: Adam's update.

On a GPU each NumPy-style operation is one kernel launch and one pass over memory; Adam's
reference update (tests/test_optimizers.py holds it to PyTorch) takes about ten. These kernels
do the whole update in one pass, with the same formulas and names as the NumPy reference:

    g = g + coupled * w                  (Adam's L2 weight decay; coupled = 0 for AdamW)
    w = w * shrink                       (AdamW's decoupled decay; shrink = 1 for Adam)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    v_max = max(v_max, v)                (AMSGrad only, which then divides by v_max)
    w = w - step_size * m / (sqrt(v) + eps_root)

with ``step_size = lr * sqrt(1 - b2^t) / (1 - b1^t)`` and ``eps_root = eps * sqrt(1 - b2^t)``.

CuPy compiles a kernel on its first call, on the GPU; defining one needs only CuPy importable.
NOTE: no GPU was at hand when these were written: the tests here define them and check their
arguments, and tests/test_gpu.py compares them with the NumPy reference where a GPU is present.
"""
import functools

_ADAM_IN = "T g, T step_size, T b1, T b2, T eps_root, T coupled, T shrink"
_ADAM_BODY = """
    T grad = g + coupled * w;
    w = w * shrink;
    m = b1 * m + (1 - b1) * grad;
    v = b2 * v + (1 - b2) * grad * grad;
"""


@functools.lru_cache(maxsize=None)
def kernels():
    """The CuPy ElementwiseKernels by name (made once; CuPy compiles each on its first call)."""
    import cupy  # noqa: PLC0415 - only where CuPy arrays are being updated

    return {
        "adam": cupy.ElementwiseKernel(
            _ADAM_IN, "T w, T m, T v",
            _ADAM_BODY + "    w = w - step_size * m / (sqrt(v) + eps_root);", "glassnet_adam"),
        "adam_amsgrad": cupy.ElementwiseKernel(
            _ADAM_IN, "T w, T m, T v, T v_max",
            _ADAM_BODY + "    v_max = max(v_max, v);\n    w = w - step_size * m / (sqrt(v_max) + eps_root);",
            "glassnet_adam_amsgrad"),
    }


def adam(w, g, m, v, v_max, step_size, b1, b2, eps_root, coupled=0.0, shrink=1.0):
    """One Adam / AdamW / AMSGrad update of the CuPy arrays ``w``, ``m``, ``v`` (and ``v_max``
    unless it is None) in place, in one kernel (the formulas in the module docstring)."""
    t = w.dtype.type
    scalars = (t(step_size), t(b1), t(b2), t(eps_root), t(coupled), t(shrink))
    if v_max is None:
        kernels()["adam"](g, *scalars, w, m, v)
    else:
        kernels()["adam_amsgrad"](g, *scalars, w, m, v, v_max)

