"""``gn.save(obj, path)`` and ``gn.load(path)``: PyTorch's habit for state dicts, without pickle.

The file is a safetensors file, written atomically. Its arrays are the tensors, each named
by its path in ``obj`` (``"model/fc1.kernel"``; a flat state dict's names are its keys, so
``safetensors.torch.load_file`` reads it too); its metadata holds, under ``"glassnet"``,
the structure (dicts, lists, tuples, numbers, strings, ``None``, and which arrays were
Tensors) as JSON, and under ``"glassnet_sha256"`` the checksums of that structure and of
every tensor. Loading parses JSON and raw arrays only and checks every byte first
(:func:`glassnet.model_file.read`); a defect raises :class:`ModelFileError`.
"""
import json
import numbers

import numpy as np

from .backend import to_numpy
from .files import atomic_write
from .model_file import ModelFileError, checksums, read
from .saving import _safetensors, check_suffix
from .tensor import Tensor

FORMAT = "glassnet-state"
VERSION = 1
_DTYPES = "?bBhHiIlLqQefd"  # the NumPy kinds safetensors stores: bool, integers, floats


def save(obj, path):
    """Write ``obj`` (a state dict, or nested dicts, lists and tuples of arrays, Tensors,
    numbers, strings and ``None``) to ``path`` as a checksummed safetensors file.

    Args:
        obj: what to store; dict keys must be strings or integers.
        path: the file (``.safetensors``; ``.pt``, ``.pth``, ``.pkl`` and other libraries'
            names are refused).

    Raises:
        TypeError: an object of another kind, or an array of another dtype, named by its place.
        ValueError: a name promising another format.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "state.safetensors")
    >>> save({"w": np.ones(2, np.float32), "epoch": 3}, path)
    >>> load(path)["epoch"]
    3
    """
    check_suffix(path, "gn.save()", advice="'.safetensors'")
    _, write = _safetensors()
    tensors = {}
    tree = _encode(obj, [], tensors)
    text = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    meta = {"glassnet": text, "glassnet_sha256": json.dumps(checksums(text, tensors))}
    atomic_write(path, write(tensors, metadata=meta))


def load(path, weights_only=True):
    """Read what :func:`save` wrote: the same structure, arrays as NumPy arrays and Tensors as Tensors.

    Args:
        path: the file.
        weights_only: accepted for PyTorch's ``torch.load(path, weights_only=True)``; glassnet
            never runs code from a file, whatever its value.

    Raises:
        FileNotFoundError: no file at ``path``.
        ModelFileError: the file is truncated, corrupted, edited, or not written by ``gn.save``.
    """
    _safetensors()
    config, tensors = read(path, FORMAT, VERSION)
    used = set()
    try:
        obj = _decode(config.get("tree"), tensors, used)
    except RecursionError:
        raise ModelFileError(path, "its structure is nested too deeply") from None
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(path, f"its structure is invalid ({type(err).__name__}: {err})") from None
    if set(tensors) - used:
        raise ModelFileError(path, f"it holds tensors its structure does not use: {sorted(set(tensors) - used)[:5]}")
    return obj


def _place(path):
    return "obj" + "".join(f"[{k!r}]" for k in path)


def _encode(obj, path, tensors):
    if obj is None or isinstance(obj, (bool, str)):
        return {"value": obj}
    if isinstance(obj, numbers.Integral) and not isinstance(obj, np.generic):
        return {"value": int(obj)}
    if isinstance(obj, float) and not isinstance(obj, np.generic):
        return {"value": obj}
    if isinstance(obj, dict):
        for key in obj:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"gn.save takes dict keys that are strings or integers; {_place(path)} has the key "
                                f"{key!r}")
        return {"dict": [[key, _encode(value, [*path, key], tensors)] for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(value, [*path, i], tensors) for i, value in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    kind = "Tensor" if isinstance(obj, Tensor) else "scalar" if isinstance(obj, np.generic) else "array"
    if kind == "array" and not isinstance(obj, np.ndarray):
        raise TypeError(f"gn.save stores arrays, Tensors, numbers, strings, None, and dicts, lists and tuples of "
                        f"them; {_place(path)} is a {type(obj).__name__} (for a model, save model.state_dict(), "
                        f"or use model.save(path))")
    array = np.ascontiguousarray(to_numpy(obj.data) if kind == "Tensor" else obj)
    if array.dtype.char not in _DTYPES:
        raise TypeError(f"gn.save stores bool, integer and floating arrays; {_place(path)} has dtype {array.dtype}")
    name = "/".join(str(k) for k in path) or "tensor"
    while name in tensors:  # NOTE: keys with "/" in them could meet another path's name
        name += "'"
    tensors[name] = array
    node = {"tensor": name, "kind": kind}
    if kind == "Tensor" and obj.requires_grad:
        node["requires_grad"] = True
    return node


def _decode(node, tensors, used):
    if not isinstance(node, dict) or len(node) < 1:
        raise TypeError(f"a node must be a JSON object; found {node!r:.80}")
    if "value" in node:
        value = node["value"]
        if not (value is None or isinstance(value, (bool, int, float, str))):
            raise TypeError(f"a value must be a number, a string, a bool or null; found {value!r:.80}")
        return value
    if "dict" in node:
        pairs = node["dict"]
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) for p in pairs):
            raise TypeError(f"a dict node holds [key, node] pairs; found {pairs!r:.80}")
        return {key: _decode(value, tensors, used) for key, value in pairs}
    if "list" in node or "tuple" in node:
        items = node.get("list", node.get("tuple"))
        if not isinstance(items, list):
            raise TypeError(f"a list node holds a list; found {items!r:.80}")
        values = [_decode(item, tensors, used) for item in items]
        return values if "list" in node else tuple(values)
    name, kind = node["tensor"], node.get("kind")
    array = tensors[name]
    array = array if array.flags.writeable else array.copy()
    used.add(name)
    if kind == "Tensor":
        return Tensor(array, dtype=array.dtype, requires_grad=bool(node.get("requires_grad")))
    if kind == "scalar":
        return array.reshape(())[()]
    if kind != "array":
        raise ValueError(f"unknown tensor kind {kind!r:.40}")
    return array
