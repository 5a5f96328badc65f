"""The seed-000 workflow as functions: load, scale, encode, split, build, train, report.

The ``glassnet`` command is a thin layer over these; they are equally usable
from Python. Scaling, splitting and encoding use scikit-learn, as the seed does.
"""
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from . import datasets, distributed, optim, plot
from .backend import array_module
from .callbacks import EarlyStopping
from .metrics import ConfusionMatrix
from .nn import Conv2D, Dense, Dropout, Flatten, L1L2, MaxPooling2D, Rescaling, Reshape
from .saving import atomic_write
from .sequential import Sequential


@dataclass
class TrainConfig:
    """Every choice of a training run; the defaults are the seed's digits network."""

    dataset: str = "digits"
    model: str = "mlp"  # "mlp" (seed 000's network) or "cnn" (image data sets only)
    csv: str = None
    target: str = None
    hidden: tuple = (64,)
    activation: str = "relu"
    output_activation: str = None  # softmax / sigmoid / linear, from the task
    loss: str = None  # from the task
    optimizer: str = "adam"
    learning_rate: float = None  # the optimizer's default
    epochs: int = 200
    batch_size: int = 32
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    patience: int = 10
    validation_split: float = 0.1
    test_size: float = 0.2
    seed: int = 42
    verbose: int = 1
    noise: float = 0.1  # toy data sets only
    distributed: bool = False  # data-parallel over the ranks mpiexec started (rank 0 writes the files)
    n_samples: int = 400  # toy data sets only
    device: str = "cpu"  # "gpu" / "cuda": train on a GPU through CuPy


@dataclass
class Split:
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    info: dict = field(default_factory=dict)


def load_split(config):
    """The data set of ``config``, split into train and test (stratified for classes)."""
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    if config.csv:
        if not config.target:
            raise ValueError("--csv needs --target COLUMN naming the label column")
        data = datasets.load_csv(config.csv, config.target)
    else:
        toy = config.dataset in ("xor", "moons", "circles", "spirals", "gaussian", "blobs")
        kwargs = {"n_samples": config.n_samples, "noise": config.noise, "seed": config.seed} if toy else {}
        data = datasets.load(config.dataset, **kwargs)
    if not 0 < config.test_size < 1:
        raise ValueError(f"test_size must be in (0, 1); received: test_size={config.test_size!r}")
    stratify = data.y if data.task == "classification" and np.bincount(data.y).min() >= 2 else None
    x_tr, x_te, y_tr, y_te = train_test_split(data.x, data.y, test_size=config.test_size,
                                              random_state=config.seed, stratify=stratify)
    info = {"dataset": config.csv or config.dataset, "target": config.target, "task": data.task,
            "feature_names": data.feature_names, "target_names": data.target_names,
            "test_size": config.test_size, "split_seed": config.seed}
    return Split(x_tr, x_te, y_tr, y_te, info)


def encode_targets(y, info):
    """One-hot rows for several classes (scikit-learn's OneHotEncoder), a column otherwise."""
    if info["task"] == "classification" and len(info["target_names"]) > 2:
        from sklearn.preprocessing import OneHotEncoder  # noqa: PLC0415

        encoder = OneHotEncoder(categories=[np.arange(len(info["target_names"]))], sparse_output=False)
        return encoder.fit_transform(np.asarray(y).reshape(-1, 1)).astype(np.float32)
    return np.asarray(y, dtype=np.float32).reshape(-1, 1)


def build_mlp(config, split):
    """A MinMax rescaling fitted on the training data, the hidden Dense layers, the output layer."""
    from sklearn.preprocessing import MinMaxScaler  # noqa: PLC0415

    info = split.info
    classes = len(info["target_names"]) if info["task"] == "classification" else 0
    outputs = classes if classes > 2 else 1
    output_activation = config.output_activation or ("softmax" if classes > 2 else "sigmoid" if classes else "linear")
    scaler = MinMaxScaler().fit(split.x_train)
    regularizer = L1L2(config.l1, config.l2) if (config.l1 or config.l2) else None
    layers = [Rescaling(scaler.scale_, scaler.min_, name="minmax_scaling")]
    if config.model == "cnn":
        layers += _conv_stack(config, split)
    elif config.model != "mlp":
        raise ValueError(f"model must be 'mlp' or 'cnn'; received: model={config.model!r}")
    for units in config.hidden:
        layers.append(Dense(units, activation=config.activation, kernel_regularizer=regularizer))
        if config.dropout:
            layers.append(Dropout(config.dropout))
    layers.append(Dense(outputs, activation=output_activation))
    model = Sequential(layers, seed=config.seed)
    model.build((None, split.x_train.shape[1]))
    model.built = True
    loss = config.loss or ("categorical_crossentropy" if classes > 2 else "binary_crossentropy" if classes
                           else "mean_squared_error")
    optimizer = optim.OPTIMIZERS.get(config.optimizer)
    optimizer = optimizer(learning_rate=config.learning_rate) if config.learning_rate else optimizer()
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"] if classes else ["mae", "r2"])
    model.metadata = dict(info)
    return model


IMAGE_SHAPES = {"digits": (8, 8, 1)}


def _conv_stack(config, split):
    """Two 3x3 convolutions (32 and 64 filters), 2x2 max pooling and dropout, then Flatten."""
    shape = IMAGE_SHAPES.get(split.info["dataset"])
    if shape is None:
        raise ValueError(f"model 'cnn' needs an image data set ({', '.join(IMAGE_SHAPES)}); "
                         f"received dataset={split.info['dataset']!r}")
    return [Reshape(shape), Conv2D(32, 3, padding="same", activation=config.activation),
            Conv2D(64, 3, padding="same", activation=config.activation), MaxPooling2D(2), Dropout(0.25), Flatten()]


@dataclass
class TrainResult:
    model: Sequential
    history: object
    test: dict
    seconds: float
    epochs_run: int
    files: dict = field(default_factory=dict)
    rank: int = 0  # this process's rank and the number of ranks, in a distributed run
    ranks: int = 1


def train(config, out=None, callbacks=()):
    """Run the whole workflow; with ``out``, write model.gnet, curves.png, confusion.png and metrics.json."""
    array_module(config.device)  # NOTE: a missing GPU is said before the data are loaded
    split = load_split(config)
    model = build_mlp(config, split).to(config.device)
    y_train, y_test = encode_targets(split.y_train, split.info), encode_targets(split.y_test, split.info)
    started = time.perf_counter()
    stopper = EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    history = model.fit(split.x_train, y_train, epochs=config.epochs, batch_size=config.batch_size,
                        validation_split=config.validation_split, callbacks=[stopper, *callbacks],
                        verbose=config.verbose, seed=config.seed, distributed=config.distributed)
    seconds = time.perf_counter() - started
    test = model.evaluate(split.x_test, y_test, batch_size=256, return_dict=True)
    result = TrainResult(model, history, test, seconds, len(history.epoch))
    if config.distributed:
        result.rank, result.ranks = distributed.rank(), distributed.size()
    if out and result.rank == 0:
        result.files = write_outputs(result, split, y_test, config, out)
    return result


def write_outputs(result, split, y_test, config, out):
    os.makedirs(out, exist_ok=True)
    files = {"model": os.path.join(out, "model.gnet"), "curves": os.path.join(out, "curves.png"),
             "metrics": os.path.join(out, "metrics.json")}
    result.model.save(files["model"])
    plot.training_curves(result.history, files["curves"])
    if split.info["task"] == "classification":
        files["confusion"] = os.path.join(out, "confusion.png")
        matrix = ConfusionMatrix()(y_test, result.model.predict(split.x_test))
        plot.confusion_matrix(matrix, files["confusion"], split.info["target_names"])
    report = {"test": result.test, "train_seconds": round(result.seconds, 3), "epochs_run": result.epochs_run,
              "history": result.history.history, "config": {k: v for k, v in vars(config).items()},
              "dataset": split.info["dataset"], "samples": {"train": len(split.x_train), "test": len(split.x_test)}}
    atomic_write(files["metrics"], json.dumps(report, indent=2, default=_jsonable).encode())
    return files


def _jsonable(value):
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def tune(config, sizes):
    """Seed 004: train one hidden layer of each size on the same split; rows sorted as given.

    The best size is the one with the highest validation accuracy (or lowest
    validation loss for regression): chosen on held-out data, never on the test set.
    """
    rows = []
    for units in sizes:
        cfg = TrainConfig(**{**vars(config), "hidden": (units,), "verbose": 0})
        result = train(cfg)
        logs = result.history.history
        key = "val_accuracy" if "val_accuracy" in logs else "val_loss"
        best_epoch = int(np.argmax(logs[key]) if key == "val_accuracy" else np.argmin(logs[key]))
        rows.append({"hidden": units, "params": result.model.count_params(), key: logs[key][best_epoch],
                     "test_loss": result.test["loss"],
                     **{f"test_{k}": v for k, v in result.test.items() if k != "loss"},
                     "epochs": result.epochs_run, "seconds": result.seconds})
    key = "val_accuracy" if "val_accuracy" in rows[0] else "val_loss"
    pick = max if key == "val_accuracy" else min
    best = pick(rows, key=lambda r: r[key])
    for r in rows:
        r["best"] = r is best
    return rows
