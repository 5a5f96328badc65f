"""The array module switch: NumPy today, CuPy later, one code path.

Every op asks ``get_array_module(x)`` for the module that owns its data, so a
GPU backend is an addition (an array type with the NumPy API), not a rewrite.
"""
import numpy as np

DEFAULT_DTYPE = np.float32


def get_array_module(*arrays):
    """Return the array module (``numpy`` or ``cupy``) that owns ``arrays``.

    >>> get_array_module(np.zeros(2)) is np
    True
    """
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy  # noqa: PLC0415 - only imported when a CuPy array is seen

            return cupy
    return np
