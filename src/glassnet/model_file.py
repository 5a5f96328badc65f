"""Reading a model file and checking its bytes: every defect raises ``ModelFileError``.

A glassnet model file is a safetensors file: 8 bytes giving the header's length, a JSON
header (each tensor's dtype, shape and byte range, and string metadata), then the tensor
bytes. The metadata holds the model's JSON config under ``"glassnet"`` and, from format
version 2, SHA-256 checksums under ``"glassnet_sha256"``: one of the config text and one
per tensor (over its name, dtype, shape and bytes). Everything here is checked against
the bytes actually in the file before anything sized by the file's content is allocated.
"""
import hashlib
import json
import math
import os

import numpy as np

FORMAT = "glassnet-model"
VERSION = 2  # 2: checksums; version 1 files (without them) still load
_MAX_HEADER_BYTES = 100 << 20  # safetensors' own limit
_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
           "I64": 8, "U64": 8, "F64": 8}


class ModelFileError(ValueError):
    """A model file that cannot be loaded: truncated, corrupted, edited, or not a glassnet model.

    The message names the file and what is wrong with it.

    Attributes:
        path: the file.
        problem: what is wrong, in words.
    """

    def __init__(self, path, problem):
        self.path, self.problem = os.fspath(path), problem
        super().__init__(f"model file {self.path!r}: {problem}")


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.hexdigest()


def tensor_checksum(name, array):
    """SHA-256 of a tensor's name, dtype, shape and bytes (hex)."""
    array = np.ascontiguousarray(array)
    return _digest(f"{name}|{array.dtype.str}|{list(array.shape)}|".encode(), array.tobytes())


def checksums(config_text, tensors):
    """The ``"glassnet_sha256"`` metadata of a file holding ``config_text`` and ``tensors``."""
    return {"config": _digest(config_text.encode()),
            "tensors": {name: tensor_checksum(name, a) for name, a in tensors.items()}}


def read(path, fmt=FORMAT, version=VERSION):
    """The config (a dict) and the tensors (name -> array) of the model file at ``path``
    (or of another glassnet file of format ``fmt``, versions 1 to ``version``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ModelFileError: anything wrong with the file's bytes, header, checksums or format.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path!r}") from None
    header = _header(path, raw)
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not isinstance(meta.get("glassnet"), str):
        raise ModelFileError(path, "a safetensors file but not a glassnet model (no 'glassnet' metadata)")
    config = _json(path, meta["glassnet"], "its config")
    if not isinstance(config, dict):
        raise ModelFileError(path, f"its config must be a JSON object; found {type(config).__name__}")
    found = config.get("version")
    if config.get("format") != fmt or isinstance(found, bool) or found not in range(1, version + 1):
        raise ModelFileError(path, f"unsupported format {config.get('format')!r} version {found!r} "
                                   f"(this glassnet reads {fmt!r} versions 1 to {version})")
    tensors = _tensors(path, raw, header)
    if found >= 2 or fmt != FORMAT:  # (model files of version 1 had no checksums)
        _verify(path, meta, tensors)
    return config, tensors


def _header(path, raw):
    if len(raw) < 8:
        raise ModelFileError(path, f"not a glassnet model file: it is {len(raw)} bytes long")
    n = int.from_bytes(raw[:8], "little")
    if n > min(len(raw) - 8, _MAX_HEADER_BYTES):
        raise ModelFileError(path, f"not a glassnet model file, or truncated: its header claims {n:,} bytes "
                                   f"but {len(raw) - 8:,} follow")
    header = _json(path, raw[8:8 + n], "its header")
    if not isinstance(header, dict):
        raise ModelFileError(path, "its header is not a JSON object")
    body = len(raw) - 8 - n
    for name, entry in header.items():
        if name != "__metadata__":
            _check_entry(path, name, entry, body)
    return header


def _json(path, text, what):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise ModelFileError(path, f"{what} is not valid JSON ({type(err).__name__}: {err})") from None


def _check_entry(path, name, entry, body):
    """One tensor's dtype, shape and byte range, checked against the bytes that follow the header."""
    if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
        raise ModelFileError(path, f"tensor {name!r} has no valid dtype in the header: {entry!r:.200}")
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ModelFileError(path, f"tensor {name!r} has an invalid shape {shape!r:.200}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= body):
        raise ModelFileError(path, f"tensor {name!r} has byte range {offsets!r:.200}, outside the "
                                   f"{body:,} bytes of tensor data the file holds (truncated?)")
    expected = math.prod(shape) * _DTYPES[entry["dtype"]]
    if offsets[1] - offsets[0] != expected:
        raise ModelFileError(path, f"tensor {name!r} of shape {tuple(shape)} needs {expected:,} bytes; "
                                   f"the file gives it {offsets[1] - offsets[0]:,}")


def _tensors(path, raw, header):
    from safetensors.numpy import load  # noqa: PLC0415 - the optional extra, checked by the caller

    try:
        return load(raw)
    except Exception as err:  # noqa: BLE001 - whatever the parser rejects is a broken file
        raise ModelFileError(path, f"its tensors cannot be read ({type(err).__name__}: {err})") from None


def _verify(path, meta, tensors):
    sums = _json(path, meta.get("glassnet_sha256", "null"), "its checksum record")
    if not isinstance(sums, dict) or not isinstance(sums.get("tensors"), dict):
        raise ModelFileError(path, "it has no checksums (version 2 files carry 'glassnet_sha256')")
    if sums.get("config") != _digest(meta["glassnet"].encode()):
        raise ModelFileError(path, "its config does not match its checksum: the file is corrupted or was edited")
    expected = sums["tensors"]
    missing = sorted(set(expected) - set(tensors))
    unknown = sorted(set(tensors) - set(expected))
    if missing or unknown:
        raise ModelFileError(path, f"its tensors do not match its checksum record (missing: {missing[:5]}, "
                                   f"not recorded: {unknown[:5]})")
    bad = [name for name, a in tensors.items() if tensor_checksum(name, a) != expected[name]]
    if bad:
        raise ModelFileError(path, f"{len(bad)} tensor(s) do not match their checksums ({', '.join(bad[:5])}): "
                                   "the file is corrupted")
