"""One-file model storage: JSON config + safetensors arrays. No pickle, ever.

The file is a safetensors file. Its metadata holds, under ``"glassnet"``, a
JSON document with the architecture, the compile settings, the random
generator states of dropout layers, and a format version, and under
``"glassnet_sha256"`` the checksums of that document and of every tensor; its
tensors are the weights (``weights/<name>``) and the optimizer state
(``optimizer/<key>``). Loading parses JSON and raw arrays only, so a file from
a stranger can never run code, and checks the file before allocating anything
its content sizes (:mod:`glassnet.model_file`): every defect of a file raises
:class:`ModelFileError`, naming the file and the defect.
"""
import json
import math
import os

import numpy as np

from .backend import to_numpy
from . import optim
from .files import atomic_write, remove_stale_partials  # noqa: F401 - their home before files.py
from .model_file import FORMAT, VERSION, ModelFileError, checksums, read
from .nn import losses as losses_lib
from .nn.initializers import placeholders
from .nn.layer import LAYERS
from .nn.module import evaluating
from .nn.symbolic import concrete
from .tensor import Tensor, no_grad

_MAX_SAMPLE_VALUES = 1 << 26  # one sample's values at any layer of a loaded model (256 MiB in float32)


def _safetensors():
    try:
        from safetensors.numpy import load, save  # noqa: PLC0415
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError("saving models needs safetensors: pip install 'glassnet[app]'") from None
    return load, save


def model_config(model):
    """Everything but the arrays, as a JSON-ready dict."""
    from .functional_model import Functional  # noqa: PLC0415
    from .sequential import Sequential  # noqa: PLC0415

    if not isinstance(model, (Sequential, Functional)):
        raise ValueError(f"save() rebuilds Sequential and functional models; for a {type(model).__name__} "
                         "save its weights with model.state_dict()")
    kind = "Sequential" if isinstance(model, Sequential) else "Functional"
    config = {"format": FORMAT, "version": VERSION, "class": kind, "config": model.get_config(),
              "dtype": model.dtype.name, "built": model.built,
              "input_shape": None, "compile": None, "rng_states": {},
              "metadata": getattr(model, "metadata", {})}
    if model.built and kind == "Sequential":
        config["input_shape"] = list(model._input_shape)
    if isinstance(model.seed, (int, np.integer)) and not isinstance(model.seed, bool):
        config["seed"] = int(model.seed)  # fit's shuffling when no fit(seed=) is given
    for i, layer in enumerate(model.layers):  # dropout generators, wrapped layers' too ("2.layer")
        for name, module in layer.named_modules(str(i)):
            if getattr(module, "rng", None) is not None:
                config["rng_states"][name] = module.rng.bit_generator.state
    frozen = [i for i, layer in enumerate(model.layers) if not layer.trainable]
    if frozen:  # layer.trainable = False (the optimizer state covers the other layers only)
        config["frozen_layers"] = frozen
    if model.compiled:
        opt = model.optimizer
        opt_name = optim.OPTIMIZERS.name_of(opt)
        several = isinstance(model.loss, list)  # a functional model with several outputs
        losses = model.loss if several else [model.loss]
        if opt_name is None or any(losses_lib.name_of(loss) is None for loss in losses):
            raise ValueError("save() needs a registered loss and optimizer to store the training config")
        specs = [{"name": losses_lib.name_of(loss), "config": loss.get_config()} for loss in losses]
        config["compile"] = {"optimizer": {"name": opt_name, "config": opt.get_config()},
                             "loss": specs if several else specs[0],
                             "metrics": model.metric_names if several else [m.name for m in model.metrics],
                             "loss_weights": model.loss_weights if several else None}
    return config


_FOREIGN = {".keras": "Keras's .keras format", ".h5": "HDF5", ".hdf5": "HDF5", ".pt": "PyTorch's pickle format",
            ".pth": "PyTorch's pickle format", ".pkl": "pickle", ".pickle": "pickle"}


def check_suffix(path, what, advice="'.gnet' for models or '.weights.safetensors' for weights"):
    """Refuse a file name that promises another library's format (nothing is written).

    Raises:
        ValueError: the name ends in .keras, .h5, .hdf5, .pt, .pth, .pkl or .pickle.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in _FOREIGN:
        raise ValueError(f"{what} writes glassnet's own format (a safetensors file with a JSON config and "
                         f"checksums), not {_FOREIGN[suffix]}: use a name ending in {advice}. "
                         f"Received: path={os.fspath(path)!r}")


def _write(path, config, tensors):
    _, save = _safetensors()
    config_text = json.dumps(config)
    meta = {"glassnet": config_text, "glassnet_sha256": json.dumps(checksums(config_text, tensors))}
    atomic_write(path, save(tensors, metadata=meta))


def _weights(model):
    # NOTE: safetensors writes non-contiguous arrays (such as W.T) wrongly; copy first.
    return {f"weights/{name}": np.ascontiguousarray(to_numpy(a)) for name, a in model.state_dict().items()}


def save_model(model, path):
    """Write ``model`` to ``path``: config, weights, optimizer state and their checksums."""
    check_suffix(path, "save()")
    config = model_config(model)
    tensors = _weights(model)
    if model.compiled and model.optimizer.params:
        for key, value in model.optimizer.state_dict().items():
            tensors[f"optimizer/{key}"] = np.ascontiguousarray(to_numpy(value))  # the same file from a GPU
    _write(path, config, tensors)


def save_weights(model, path):
    """Write only the weights (parameters and buffers, by name) with their checksums."""
    check_suffix(path, "save_weights()")
    _write(path, {"format": FORMAT, "version": VERSION, "weights_only": True}, _weights(model))


def load_weights(model, path):
    """Copy the weights of a file written by ``save_weights`` (or ``save``) into ``model``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ModelFileError: the file is damaged, or its weights' names or shapes differ from the model's.
    """
    _safetensors()
    _, tensors = read(path)
    if not model.built:
        raise ValueError("load_weights() needs a built model: build it first (model.build((None, *input_shape)), "
                         "gn.Input, or input_shape= on the first layer)")
    try:
        model.load_state_dict({k[len("weights/"):]: v for k, v in tensors.items() if k.startswith("weights/")})
    except ValueError as err:
        raise ModelFileError(path, f"its weights do not fit the model: {err}") from None


def load_model(path):
    """Rebuild a Sequential model, its weights, its compile settings and its optimizer state.

    The file must hold every tensor its config implies, with the shapes the config gives
    them; sizes are checked against the file before the model is allocated.

    Raises:
        FileNotFoundError: no file at ``path``.
        ModelFileError: (a ``ValueError``) the file is truncated, corrupted, edited, not a
            glassnet model, or does not hold what its config implies; the message names the
            file and the defect.
    """
    _safetensors()
    path = os.fspath(path)
    config, tensors = read(path)
    try:
        return _rebuild(path, config, tensors)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, ArithmeticError) as err:
        raise ModelFileError(path, f"its config cannot be rebuilt ({type(err).__name__}: {err})") from None


def _rebuild(path, config, tensors):
    from . import metrics as metrics_lib  # noqa: PLC0415
    from .functional_model import Functional  # noqa: PLC0415
    from .sequential import Sequential  # noqa: PLC0415

    if config.get("weights_only"):
        raise ModelFileError(path, "it holds weights only (written by save_weights): make the model and call "
                                   "model.load_weights(path)")
    specs, input_shape = _check_config(path, config)
    weights = {k[len("weights/"):]: v for k, v in tensors.items() if k.startswith("weights/")}
    state = {k[len("optimizer/"):]: v for k, v in tensors.items() if k.startswith("optimizer/")}
    other = sorted(set(tensors) - {f"weights/{k}" for k in weights} - {f"optimizer/{k}" for k in state})
    if other:
        raise ModelFileError(path, f"it holds tensors glassnet does not use: {other[:5]}")
    if config.get("class") == "Functional":
        _check_graph_weights(path, config["config"], specs, weights)
        model = Functional.from_config(config["config"], [_layer_from(path, i, spec) for i, spec in enumerate(specs)])
    else:
        _check_weights(path, specs, input_shape, weights)
        model = Sequential([_layer_from(path, i, spec) for i, spec in enumerate(specs)],
                           name=config["config"].get("name"))
    model.metadata = config.get("metadata") or {}
    seed = config.get("seed")
    if seed is not None and not (type(seed) is int and seed >= 0):
        raise ModelFileError(path, f"its seed must be an integer >= 0; found {seed!r:.100}")
    model.seed = seed
    if input_shape is not None and not model.built:
        model.build((None, *input_shape))
        model.built = True
    if weights:
        model.load_state_dict(weights)
    _restore_rngs(path, model, config.get("rng_states") or {})
    frozen = config.get("frozen_layers") or []
    if not (isinstance(frozen, list) and all(type(i) is int and 0 <= i < len(model.layers) for i in frozen)):
        raise ModelFileError(path, f"its frozen_layers must list layer indices; found {frozen!r:.100}")
    for i in frozen:
        model.layers[i].trainable = False
    if config.get("compile"):
        c = config["compile"]
        try:
            opt_config = dict(c["optimizer"]["config"])
            if isinstance(opt_config.get("learning_rate"), dict):
                opt_config["learning_rate"] = optim.schedules.get(opt_config["learning_rate"])
            optimizer = optim.OPTIMIZERS.get(c["optimizer"]["name"])(**opt_config)
            several = isinstance(c["loss"], list)  # a functional model with several outputs
            losses = [losses_lib.from_config(spec["name"], spec["config"]) for spec in
                      (c["loss"] if several else [c["loss"]])]
            metrics = c["metrics"] if isinstance(c["metrics"], dict) else [metrics_lib.get(m) for m in c["metrics"]]
            model.compile(optimizer=optimizer, loss=losses if several else losses[0], metrics=metrics,
                          loss_weights=c.get("loss_weights"))
        except (ValueError, TypeError, KeyError) as err:
            raise ModelFileError(path, f"its compile settings cannot be restored ({type(err).__name__}: {err})") \
                from None
    if state:
        if not (model.compiled and model.built):
            raise ModelFileError(path, "it holds optimizer state but no compiled, built model to use it")
        try:
            model.optimizer.load_state_dict(state)
        except ValueError as err:
            raise ModelFileError(path, f"its optimizer state does not fit the model: {err}") from None
    return model


def _check_config(path, config):
    """The layer specs and input shape, after checking the config's structure."""
    body = config.get("config")
    specs = body.get("layers") if isinstance(body, dict) else None
    if not isinstance(specs, list) or not all(isinstance(s, dict) and isinstance(s.get("class"), str)
                                              and isinstance(s.get("config"), dict) for s in specs):
        raise ModelFileError(path, "its config has no valid list of layers ({'class': ..., 'config': {...}})")
    shape = config.get("input_shape")
    if shape is not None and not (isinstance(shape, list) and shape
                                  and all(d is None or (type(d) is int and d > 0) for d in shape)):
        raise ModelFileError(path, f"its input_shape must be a list of positive integers (or null for a size "
                                   f"left open); found {shape!r:.100}")
    for key, kind in (("compile", dict), ("rng_states", dict), ("metadata", dict)):
        if config.get(key) is not None and not isinstance(config[key], kind):
            raise ModelFileError(path, f"its {key!r} must be a JSON object; found {config[key]!r:.100}")
    return specs, None if shape is None else tuple(shape)


def _layer_from(path, index, spec):
    """A layer from its {"class", "config"} form; wrapped layers (Bidirectional) recursively."""
    try:
        config = dict(spec["config"])
        if isinstance(config.get("layer"), dict):
            config["layer"] = _layer_from(path, index, config["layer"])
        return LAYERS.get(spec["class"])(**config)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, ArithmeticError) as err:
        raise ModelFileError(path, f"layer {index} ({spec.get('class')!r:.40}) cannot be rebuilt from its config "
                                   f"({type(err).__name__}: {err})") from None


def _check_weights(path, specs, input_shape, weights):
    """The weight tensors the config implies, against those in the file, before allocating any.

    The layers are built with placeholder weights (no memory), one at a time: as soon as
    the weights implied so far outnumber the values in the file, loading stops.
    """
    from .sequential import Sequential  # noqa: PLC0415

    held = sum(a.size for a in weights.values())
    implied = 0
    with placeholders(), no_grad(), evaluating():
        layers = [_layer_from(path, i, spec) for i, spec in enumerate(specs)]
        first_dim = getattr(layers[0], "input_dim", None) if layers else None
        if input_shape is None and first_dim:
            input_shape = (first_dim,)  # NOTE: Sequential builds such a model at once
        x = None if input_shape is None else _sample(path, "the input", concrete(input_shape))
        for i, layer in enumerate(layers):
            if x is not None and not layer.built:
                layer.build(x.shape)
                layer.built = True
            implied += sum(p.size for _, p in layer._named_state())
            if implied > held:
                raise ModelFileError(path, f"its config implies at least {implied:,} weight values (up to layer {i}, "
                                           f"{type(layer).__name__}) but the file holds {held:,}")
            if x is not None:
                x = _sample(path, f"layer {i}'s output", _output_shape(layer, x))
        expected = {name: p.shape for name, p in Sequential(layers)._named_state()} if layers else {}
    _compare_weights(path, expected, weights)


def _check_graph_weights(path, body, specs, weights):
    """A functional model's weight tensors against the file's: the graph is rebuilt with
    placeholder weights (no memory), its inputs' sizes checked first."""
    from .functional_model import Functional  # noqa: PLC0415
    from .nn.input_layer import InputLayer  # noqa: PLC0415

    with placeholders(), no_grad(), evaluating():
        layers = [_layer_from(path, i, spec) for i, spec in enumerate(specs)]
        for layer in layers:
            if isinstance(layer, InputLayer):
                _sample(path, f"input {layer.name!r}", concrete(layer.shape))
        expected = {name: p.shape for name, p in Functional.from_config(body, layers)._named_state()}
    implied, held = sum(math.prod(shape) for shape in expected.values()), sum(a.size for a in weights.values())
    if implied > held:
        raise ModelFileError(path, f"its config implies {implied:,} weight values but the file holds {held:,}")
    _compare_weights(path, expected, weights)


def _compare_weights(path, expected, weights):
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    wrong = [f"{k}: {weights[k].shape} instead of {shape}" for k, shape in expected.items()
             if k in weights and weights[k].shape != shape]
    if missing or unexpected or wrong:
        raise ModelFileError(path, "its weights do not match its config (" + "; ".join(
            f"{what}: {', '.join(items[:5])}" for what, items in
            (("missing", missing), ("unexpected", unexpected), ("wrong shapes", wrong)) if items) + ")")


def _output_shape(layer, x):
    """A layer's output shape per sample, from an empty batch where the layer takes one
    (nothing is computed, however large the output), else from the one-sample batch."""
    try:
        return layer(Tensor(x[:0])).shape[1:]
    except Exception:  # noqa: BLE001 - some layers need a sample (a reshape to -1): one is small here
        return layer(Tensor(x)).shape[1:]


def _sample(path, what, shape):
    """One zero sample of ``shape`` (without the batch axis), refused when too large."""
    values = math.prod(shape)
    if values > _MAX_SAMPLE_VALUES:
        raise ModelFileError(path, f"{what} would hold {values:,} values per sample (shape {tuple(shape)}); "
                                   f"glassnet loads at most {_MAX_SAMPLE_VALUES:,}")
    return np.zeros((1, *shape), dtype=np.float32)


def _restore_rngs(path, model, states):
    modules = {name: module for i, layer in enumerate(model.layers) for name, module in layer.named_modules(str(i))}
    for name, state in states.items():
        if not hasattr(modules.get(name), "rng"):
            raise ModelFileError(path, f"it has a generator state for layer {name!r:.40}, which has no generator")
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = state
        except (ValueError, TypeError, KeyError) as err:
            raise ModelFileError(path, f"layer {name}'s generator state is invalid ({type(err).__name__}: {err})") \
                from None
        modules[name].rng = rng
