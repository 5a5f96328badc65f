"""A second array module that is not NumPy, and as strict as CuPy about it (tests only).

``strict`` has NumPy's API (it runs NumPy underneath), but its arrays are not NumPy arrays:

- converting one to NumPy implicitly raises TypeError, as ``np.asarray(cupy_array)`` does;
  ``.get()`` is the explicit copy to the host, as CuPy's;
- mixing one with a NumPy array in one operation (``strict + ndarray``, ``np.concatenate``
  of both, ``ndarray[...] = strict``) raises TypeError, as CuPy does;
- ``isinstance(a, np.ndarray)`` is False, so the compiled Numba kernels are never given one;
- ``get_array_module(a)`` finds this module through ``__array_namespace__``.

So a NumPy-only call left in glassnet (``np.zeros`` mixed into a result, ``np.asarray`` of
data, ``numpy.lib.stride_tricks``, a NumPy Generator's array) fails loudly under it, as it
would on a GPU. Python and NumPy scalars mix freely, as with CuPy.
"""
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_MIXED = ("a strict array met a NumPy array in one operation (CuPy raises TypeError here too): "
          "move the NumPy array with backend.asarray_like / backend.move first")


def _unwrap(x):
    if isinstance(x, StrictArray):
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(_MIXED)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        return StrictArray(x)
    if isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_)):
        return StrictArray(np.asarray(x))  # NOTE: reductions give 0-d arrays, as CuPy's
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _index(key):
    """An index may hold NumPy arrays (CuPy copies them to the device) or strict arrays."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key._a if isinstance(key, StrictArray) else key


class StrictArray(NDArrayOperatorsMixin):
    """An array of the strict module: NumPy's methods, no implicit conversion to NumPy."""

    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = a

    def __array__(self, dtype=None, copy=None):
        raise TypeError("implicit conversion of a strict array to a NumPy array is not allowed (as for "
                        "CuPy): use .get() or glassnet.backend.to_numpy")

    def __array_namespace__(self, api_version=None):
        return strict

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        if method == "at":  # ufunc.at(a, index, b): the index may hold NumPy arrays, as CuPy's
            inputs = (inputs[0], _index(inputs[1]), *inputs[2:])
            return getattr(ufunc, method)(*(_unwrap(v) if i != 1 else v for i, v in enumerate(inputs)), **kwargs)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    def get(self):
        """The explicit copy to the host (CuPy's ``ndarray.get``)."""
        return self._a.copy()

    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        self._a[_index(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return "strict." + repr(self._a)

    def __getattr__(self, name):
        if name.startswith("__") or name == "_a":  # no __array_interface__, __array_struct__, buffer
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            return lambda *args, **kwargs: _wrap(attr(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
        return _wrap(attr)

    # NOTE: properties NumPy defines as attributes, named here so __getattr__ is not needed
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: StrictArray(self._a.T))


def _creation(fn):
    """A NumPy function that makes arrays from shapes or values (host data may come in:
    ``strict.asarray(ndarray)`` is the explicit host-to-device copy, as ``cupy.asarray``)."""
    def make(*args, **kwargs):
        args = [a._a if isinstance(a, StrictArray) else a for a in args]
        return _wrap(fn(*args, **kwargs))

    return make


def _function(fn):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    return call


def _as_strided(x, shape=None, strides=None):
    return StrictArray(np.lib.stride_tricks.as_strided(x._a, shape, strides, writeable=False))


class _StrictModule(types.ModuleType):
    """NumPy's namespace, with arrays made and returned as StrictArray."""

    ndarray = StrictArray
    lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))

    def __deepcopy__(self, memo):
        return self  # (a model that remembers its device is deep-copied with it)

    def __getattr__(self, name):
        attr = getattr(np, name)
        if name in ("asarray", "array", "zeros", "ones", "empty", "full", "arange", "eye", "identity",
                    "linspace", "ascontiguousarray", "asanyarray"):
            return _creation(attr)
        if isinstance(attr, (type, np.ufunc, types.ModuleType)) or not callable(attr):
            return attr  # dtypes, ufuncs (they dispatch through __array_ufunc__), constants
        return _function(attr)


strict = _StrictModule("strict", __doc__)
