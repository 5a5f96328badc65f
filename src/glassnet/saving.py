"""One-file model storage: JSON config + safetensors arrays. No pickle, ever.

The file is a safetensors file. Its metadata holds, under ``"glassnet"``, a
JSON document with the architecture, the compile settings, the random
generator states of dropout layers, and a format version; its tensors are the
weights (``weights/<name>``) and the optimizer state (``optimizer/<key>``).
Loading parses JSON and raw arrays only, so a file from a stranger can never
run code. Files are written atomically: a temporary file, flushed and synced,
then renamed over the target.
"""
import json
import os
import tempfile

import numpy as np

from . import optim
from .nn import losses as losses_lib
from .nn.layers import LAYERS

FORMAT = "glassnet-model"
VERSION = 1


def _safetensors():
    try:
        from safetensors.numpy import load, save  # noqa: PLC0415
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError("saving models needs safetensors: pip install 'glassnet[app]'") from None
    return load, save


def atomic_write(path, data, mode="wb"):
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def model_config(model):
    """Everything but the arrays, as a JSON-ready dict."""
    from .sequential import Sequential  # noqa: PLC0415

    if not isinstance(model, Sequential):
        raise ValueError(f"save() rebuilds Sequential models; for a {type(model).__name__} "
                         "save its weights with model.state_dict()")
    config = {"format": FORMAT, "version": VERSION, "class": "Sequential", "config": model.get_config(),
              "dtype": model.dtype.name, "built": model.built,
              "input_shape": None, "compile": None, "rng_states": {},
              "metadata": getattr(model, "metadata", {})}
    if model.built:
        config["input_shape"] = list(model._input_shape)
    for i, layer in enumerate(model.layers):
        if getattr(layer, "rng", None) is not None:
            config["rng_states"][str(i)] = layer.rng.bit_generator.state
    if model.compiled:
        loss, opt = model.loss, model.optimizer
        loss_name = losses_lib.LOSSES.name_of(loss)
        opt_name = optim.OPTIMIZERS.name_of(opt)
        if loss_name is None or opt_name is None:
            raise ValueError("save() needs a registered loss and optimizer to store the training config")
        config["compile"] = {"optimizer": {"name": opt_name, "config": opt.get_config()},
                             "loss": {"name": loss_name, "config": loss.get_config()},
                             "metrics": [m.name for m in model.metrics]}
    return config


def save_model(model, path):
    _, save = _safetensors()
    config = model_config(model)
    tensors = {f"weights/{name}": np.ascontiguousarray(a) for name, a in model.state_dict().items()}
    if model.compiled and model.optimizer.params:
        for key, value in model.optimizer.state_dict().items():
            # NOTE: safetensors writes non-contiguous arrays (such as W.T) wrongly; copy first.
            tensors[f"optimizer/{key}"] = np.ascontiguousarray(value)
    atomic_write(path, save(tensors, metadata={"glassnet": json.dumps(config)}))


def _read(path):
    load, _ = _safetensors()
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {os.fspath(path)!r}") from None
    if len(raw) < 8:
        raise ValueError(f"{os.fspath(path)!r} is not a glassnet model file: it is {len(raw)} bytes long")
    header_len = int.from_bytes(raw[:8], "little")
    if header_len > len(raw) - 8:
        raise ValueError(f"{os.fspath(path)!r} is not a glassnet model file, or is truncated: its header "
                         f"claims {header_len} bytes but only {len(raw) - 8} follow")
    try:
        header = json.loads(raw[8:8 + header_len])
        tensors = load(raw)
    except Exception as err:  # noqa: BLE001 - any parse failure means a broken file
        raise ValueError(f"{os.fspath(path)!r} is not a readable glassnet model file: {err}") from None
    meta = (header.get("__metadata__") or {}).get("glassnet")
    if meta is None:
        raise ValueError(f"{os.fspath(path)!r} is a safetensors file but not a glassnet model (no 'glassnet' metadata)")
    config = json.loads(meta)
    if config.get("format") != FORMAT or config.get("version", 0) > VERSION:
        raise ValueError(f"{os.fspath(path)!r}: unsupported format {config.get('format')!r} "
                         f"version {config.get('version')!r}")
    return config, tensors


def _layer_from(spec):
    """A layer from its {"class", "config"} form; wrapped layers (Bidirectional) recursively."""
    config = dict(spec["config"])
    if isinstance(config.get("layer"), dict):
        config["layer"] = _layer_from(config["layer"])
    return LAYERS.get(spec["class"])(**config)


def load_model(path):
    """Rebuild a Sequential model, its weights, its compile settings and its optimizer state.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, corrupted or not a glassnet model.
    """
    from . import metrics as metrics_lib  # noqa: PLC0415
    from .sequential import Sequential  # noqa: PLC0415

    config, tensors = _read(path)
    layers = [_layer_from(spec) for spec in config["config"]["layers"]]
    model = Sequential(layers, name=config["config"].get("name"))
    model.metadata = config.get("metadata") or {}
    if config["input_shape"]:
        model.build((None, *config["input_shape"]))
        model.built = True
    weights = {k[len("weights/"):]: v for k, v in tensors.items() if k.startswith("weights/")}
    if weights:
        if not model.built:
            raise ValueError(f"{os.fspath(path)!r} has weights but no input shape to build the model with")
        model.load_state_dict(weights)
    for index, state in config.get("rng_states", {}).items():
        layer = model.layers[int(index)]
        layer.rng = np.random.default_rng()
        layer.rng.bit_generator.state = state
    if config["compile"]:
        c = config["compile"]
        opt_config = dict(c["optimizer"]["config"])
        if isinstance(opt_config.get("learning_rate"), dict):
            opt_config["learning_rate"] = optim.schedules.get(opt_config["learning_rate"])
        optimizer = optim.OPTIMIZERS.get(c["optimizer"]["name"])(**opt_config)
        loss = losses_lib.LOSSES.get(c["loss"]["name"])(**c["loss"]["config"])
        model.compile(optimizer=optimizer, loss=loss, metrics=[metrics_lib.get(m) for m in c["metrics"]])
        state = {k[len("optimizer/"):]: v for k, v in tensors.items() if k.startswith("optimizer/")}
        if state and model.built:
            model.optimizer.load_state_dict(state)
    return model
