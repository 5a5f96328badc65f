"""The array module switch: NumPy or CuPy (or any module with NumPy's API), one code path.

Every op asks ``get_array_module(x)`` for the module that owns its data, so a GPU is an
addition (an array type with the NumPy API), not a rewrite. The few things NumPy's API does
not carry over go through the small functions here, one branch per backend:

- ``as_strided`` (im2col's windows), ``scatter_add`` (``np.add.at``), ``erf``;
- ``to_numpy`` / ``asarray_like`` / ``move``: explicit copies between host and device (CuPy, like
  this module, never converts implicitly: ``np.asarray(cupy_array)`` raises TypeError);
- ``random_like``: random numbers are drawn on the host from NumPy Generators, so a seed gives the
  same model bit for bit on every backend, then copied to the array's device;
- ``on_host``: the compiled (Numba) kernels run only on NumPy arrays.

Devices are named as PyTorch names them: ``"cpu"``, ``"gpu"`` / ``"cuda"`` (``"cuda:0"``).
An array module itself (such as the test suite's strict module) is accepted as a device too.
"""
import functools
import math

import numpy as np

DEFAULT_DTYPE = np.float32


def get_array_module(*arrays):
    """Return the array module (``numpy``, ``cupy``, ...) that owns ``arrays``.

    An array that is not NumPy's names its module through ``__array_namespace__`` (the array
    API standard's protocol); CuPy's is recognised by its type.

    >>> get_array_module(np.zeros(2)) is np
    True
    """
    for a in arrays:
        kind = type(a)
        if kind is np.ndarray or kind.__module__ == "numpy":
            continue
        if kind.__module__.startswith("cupy"):
            import cupy  # noqa: PLC0415 - only imported when a CuPy array is seen

            return cupy
        namespace = getattr(a, "__array_namespace__", None)
        if namespace is not None and not isinstance(a, (int, float, bool, complex)):
            return namespace()
    return np


def on_host(*arrays):
    """True when every array is a NumPy array (what compiled Numba kernels accept)."""
    return all(isinstance(a, np.ndarray) for a in arrays)


def is_cupy(x):
    """True for a CuPy array (those get CuPy's own fused kernels)."""
    return type(x).__module__.startswith("cupy")


def to_numpy(x):
    """``x`` as a NumPy array: the array itself on the host, a copy from a device.

    >>> to_numpy([1, 2]).tolist()
    [1, 2]
    """
    if isinstance(x, np.ndarray):
        return x
    if get_array_module(x) is not np:
        return x.get()  # CuPy's explicit device-to-host copy (its ndarray has no __array__)
    return np.asarray(x)


def move(x, xp):
    """``x`` (an array, number or list) as an array of module ``xp``; no copy when it is one."""
    if get_array_module(x) is xp and not isinstance(x, (list, tuple, int, float)):
        return x
    host = to_numpy(x)
    return host if xp is np else xp.asarray(host)


def asarray_like(x, like, dtype=None):
    """``x`` as an array on the same device (array module) as ``like``, in ``dtype``."""
    a = move(x, get_array_module(like))
    return a if dtype is None else a.astype(dtype, copy=False)


def random_like(rng, shape, like):
    """Uniform numbers in [0, 1) of ``shape`` from the NumPy Generator ``rng``, drawn on the host
    in ``like``'s dtype (float64 or float32) and placed on ``like``'s device.

    The host draw keeps every seed's numbers the same on every backend.
    """
    values = rng.random(shape, dtype=np.float64 if like.dtype == np.float64 else np.float32)
    return move(values, get_array_module(like))


def as_strided(x, shape, strides):
    """A read-only strided view of ``x`` (NumPy's or CuPy's ``lib.stride_tricks.as_strided``)."""
    xp = get_array_module(x)
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def scatter_add(a, index, b):
    """``a[index] += b`` in place, with repeated indices adding up (``np.add.at``)."""
    xp = get_array_module(a)
    if xp.__name__ == "cupy":
        import cupyx  # noqa: PLC0415 - present whenever CuPy is

        cupyx.scatter_add(a, index, b)
    else:
        xp.add.at(a, index, b)


_erf_host = np.frompyfunc(math.erf, 1, 1)


def erf(x):
    """The error function, element-wise, in ``x``'s dtype and on its device."""
    xp = get_array_module(x)
    if xp.__name__ == "cupy":
        from cupyx.scipy.special import erf as device_erf  # noqa: PLC0415

        return device_erf(x)
    try:
        from scipy.special import erf as host_erf  # noqa: PLC0415 - optional, exact and vectorised
    except ImportError:  # pragma: no cover - exercised only without SciPy
        host_erf = _erf_host
    y = np.asarray(host_erf(to_numpy(x)), dtype=x.dtype)
    return y if xp is np else move(y, xp)  # NOTE: another module's erf is computed on the host


def array_module(device):
    """The array module of ``device``: ``"cpu"`` -> NumPy, ``"gpu"``/``"cuda"`` -> CuPy.

    ``device`` may also be an array module itself (anything with ``asarray``).

    Raises:
        ValueError: an unknown device name.
        ImportError: a GPU was asked for and CuPy is not installed.
        RuntimeError: CuPy is installed but finds no CUDA device (the reason is quoted).
    """
    if not isinstance(device, str):
        if hasattr(device, "asarray") and hasattr(device, "zeros"):
            return device
        raise TypeError(f"device must be 'cpu', 'gpu' or 'cuda' (or an array module). Received: device={device!r}")
    name, _, index = device.strip().lower().partition(":")
    if name == "cpu" and not index:
        return np
    if name not in ("gpu", "cuda") or index not in ("", "0"):
        raise ValueError(f"device must be 'cpu', 'gpu', 'cuda' or 'cuda:0' (one GPU: the current one). "
                         f"Received: device={device!r}")
    return _cupy(device)


def gpu_available():
    """True when ``to("gpu")`` would work: CuPy imports and sees a CUDA device (as PyTorch's
    ``torch.cuda.is_available()``).

    >>> isinstance(gpu_available(), bool)
    True
    """
    try:
        _cupy("gpu")
    except (ImportError, RuntimeError):
        return False
    return True


@functools.lru_cache(maxsize=None)  # NOTE: caches success only (a raised error is not cached)
def _cupy(device):
    try:
        import cupy  # noqa: PLC0415 - optional: pip install 'glassnet[gpu]'
    except ImportError as err:
        raise ImportError(f"device={device!r} needs CuPy, which is not installed ({err}). Install it with "
                          "pip install 'glassnet[gpu]' (CuPy for CUDA 12) on a machine with an NVIDIA GPU") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        reason = "no CUDA device is visible"
    except Exception as err:  # noqa: BLE001 - CUDARuntimeError, or a missing driver library
        count, reason = 0, f"{type(err).__name__}: {err}"
    if count < 1:
        raise RuntimeError(f"device={device!r}: CuPy is installed but found no usable CUDA device ({reason})")
    return cupy


def device_name(xp):
    """``"cpu"`` for NumPy, ``"gpu"`` for CuPy, the module's name for another module."""
    return "cpu" if xp is np else ("gpu" if xp.__name__ == "cupy" else xp.__name__)
