"""One playground session: its validated configuration, data, network and training state.

Every parameter is checked against explicit bounds before anything changes; a
bad value raises ``ConfigError`` (the server answers 400) and leaves the
session as it was. Sizes are capped so that no request can make the server
do unbounded work.
"""
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np

from .. import datasets
from ..explanation import explain
from ..nn import L1, L2, Dense
from ..optim import OPTIMIZERS
from ..sequential import Sequential
from . import digits

CLASSIFICATION = ("xor", "circles", "moons", "spirals", "gaussian")
REGRESSION = ("plane", "bump", "multi_gaussian")
PROBLEMS = {"classification": CLASSIFICATION, "regression": REGRESSION, "digits": ("digits",)}
FEATURES = {
    "x1": lambda p: p[:, 0], "x2": lambda p: p[:, 1], "x1^2": lambda p: p[:, 0] ** 2,
    "x2^2": lambda p: p[:, 1] ** 2, "x1*x2": lambda p: p[:, 0] * p[:, 1],
    "sin(x1)": lambda p: np.sin(p[:, 0]), "sin(x2)": lambda p: np.sin(p[:, 1]),
}
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu")
OPTIMIZER_NAMES = ("sgd", "adam", "rmsprop", "adagrad")
MAX_LAYERS, MAX_NEURONS, MAX_POINTS = 6, 8, 1000
GRID, NEURON_GRID = 64, 24


class ConfigError(ValueError):
    """A parameter out of its bounds; the message names it, the bounds and the value."""


@dataclass
class Config:
    problem: str = "classification"
    dataset: str = "xor"
    noise: float = 0.0
    train_ratio: float = 0.5
    points: int = 300
    batch_size: int = 10
    hidden: tuple = (8, 4)
    activation: str = "tanh"
    learning_rate: float = 0.01
    optimizer: str = "adam"
    regularization: str = "none"
    regularization_rate: float = 0.0
    features: tuple = ("x1", "x2")
    seed: int = 0

    @classmethod
    def parse(cls, raw):
        """A Config from a dict of strings or JSON values; ConfigError names what is wrong."""
        if not isinstance(raw, dict):
            raise ConfigError("the configuration must be a JSON object")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown parameters: {', '.join(unknown)}")
        c = asdict(cls())
        c.update(raw)
        dataset = _choice("dataset", c["dataset"], sum(PROBLEMS.values(), ()))
        problem = _choice("problem", c["problem"], tuple(PROBLEMS)) if "problem" in raw else _problem_of(dataset)
        if dataset not in PROBLEMS[problem]:
            raise ConfigError(f"dataset {dataset!r} is not a {problem} data set; {problem} data sets: "
                              f"{', '.join(PROBLEMS[problem])}")
        return cls(
            problem=problem,
            dataset=dataset,
            noise=_number("noise", c["noise"], 0.0, 0.5),
            train_ratio=_number("train_ratio", c["train_ratio"], 0.1, 0.9),
            points=int(_number("points", c["points"], 20, MAX_POINTS, integer=True)),
            batch_size=int(_number("batch_size", c["batch_size"], 1, MAX_POINTS, integer=True)),
            hidden=_hidden(c["hidden"]),
            activation=_choice("activation", c["activation"], ACTIVATIONS),
            learning_rate=_number("learning_rate", c["learning_rate"], 1e-5, 10.0),
            optimizer=_choice("optimizer", c["optimizer"], OPTIMIZER_NAMES),
            regularization=_choice("regularization", c["regularization"], ("none", "l1", "l2")),
            regularization_rate=_number("regularization_rate", c["regularization_rate"], 0.0, 1.0),
            features=_features(c["features"]),
            seed=int(_number("seed", c["seed"], 0, 2**31 - 1, integer=True)),
        )


def _problem_of(dataset):
    return next(problem for problem, names in PROBLEMS.items() if dataset in names)


def _choice(name, value, options):
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}; received {value!r}")
    return value


def _number(name, value, low, high, integer=False):
    if isinstance(value, bool):  # JSON true is no number (Python would read it as 1)
        raise ConfigError(f"{name} must be a number in [{low}, {high}]; received {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number in [{low}, {high}]; received {value!r}") from None
    if not np.isfinite(number) or not low <= number <= high or (integer and number != int(number)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {kind} in [{low}, {high}]; received {value!r}")
    return number


def _hidden(value):
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()] if value.strip() else []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LAYERS:
        raise ConfigError(f"hidden must be a list of at most {MAX_LAYERS} layer sizes; received {value!r}")
    return tuple(int(_number("hidden layer size", v, 1, MAX_NEURONS, integer=True)) for v in value)


def _features(value):
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"features must be a non-empty list from {', '.join(FEATURES)}; received {value!r}")
    for v in value:
        _choice("feature", v, tuple(FEATURES))
    return tuple(dict.fromkeys(value))


def make_data(config):
    """Points in the plane (about [-1, 1]^2) and their targets: labels in {0, 1} or values."""
    data = datasets.load(config.dataset, n_samples=config.points, noise=config.noise, seed=config.seed)
    x = data.x / max(float(np.abs(data.x).max()), 1e-6) if config.dataset in CLASSIFICATION else data.x
    return x.astype(np.float32), data.y.astype(np.float32)


def transform(config, points):
    return np.stack([FEATURES[f](points) for f in config.features], axis=1).astype(np.float32)


def output_head(problem):
    """The output layer's size and activation and the loss for a problem type."""
    return {"classification": (1, "sigmoid", "binary_crossentropy"), "regression": (1, "linear", "mse"),
            "digits": (10, "softmax", "sparse_categorical_crossentropy")}[problem]


def build_model(config, input_dim):
    """The configured network, built for ``input_dim`` inputs and compiled (the export script's twin)."""
    units, activation, loss = output_head(config.problem)
    reg = {"l1": L1, "l2": L2}.get(config.regularization)
    regularizer = reg(config.regularization_rate) if reg and config.regularization_rate else None
    layers = [Dense(n, activation=config.activation, kernel_regularizer=regularizer) for n in config.hidden]
    layers.append(Dense(units, activation=activation))
    model = Sequential(layers, seed=config.seed)
    model.build((None, input_dim))
    model.built = True
    model.compile(optimizer=OPTIMIZERS.get(config.optimizer)(learning_rate=config.learning_rate), loss=loss)
    return model


class Session:
    """Training state for one browser tab. Public methods take the session's lock."""

    def __init__(self, config):
        self.lock = threading.Lock()
        self.running = False
        self.version = 0  # bumped on every change, so event streams know when to send
        self.last_used = time.monotonic()
        self._setup(config)

    def _data(self, config):
        """(points, targets, inputs): what is drawn, what is learnt, what the network reads."""
        if config.problem == "digits":
            return digits.load()
        points, targets = make_data(config)
        return points, targets, transform(config, points)

    def _setup(self, config):
        self.config = config
        self.points, self.targets, self.inputs = self._data(config)
        cut = int(round(len(self.points) * config.train_ratio))
        order = np.random.default_rng(config.seed).permutation(len(self.points))
        self.train_idx, self.test_idx = order[:cut], order[cut:]
        self.classification = config.problem == "classification"
        self.model = build_model(config, self.inputs.shape[1])
        self.epoch = 0
        self.history = {"train_loss": [], "test_loss": []}
        self._record()

    # -- operations ----------------------------------------------------------------------
    def reconfigure(self, config):
        with self.lock:
            self.running = False
            self._setup(config)
            self.version += 1

    def reset(self):
        self.reconfigure(self.config)

    def step(self, epochs=1):
        with self.lock:
            self._train(epochs)
            self.version += 1

    def tick(self, epochs=2):
        """A few epochs, if running (the server's trainer thread calls this a few dozen times a second)."""
        with self.lock:
            if self.running:
                self._train(epochs)
                self.version += 1

    def _target(self, idx):
        y = self.targets[idx]
        return y.astype(np.int64) if self.config.problem == "digits" else y.reshape(-1, 1)

    def _train(self, epochs):
        x, y = self.inputs[self.train_idx], self._target(self.train_idx)
        self.model.fit(x, y, epochs=self.epoch + epochs, initial_epoch=self.epoch,
                       batch_size=min(self.config.batch_size, len(x)), verbose=0, seed=self.config.seed)
        self.epoch += epochs
        self._record()

    def _loss(self, idx):
        if len(idx) == 0:
            return float("nan")
        return float(self.model.evaluate(self.inputs[idx], self._target(idx), batch_size=1024))

    def _record(self):
        self.train_loss, self.test_loss = self._loss(self.train_idx), self._loss(self.test_idx)
        self.history["train_loss"].append(self.train_loss)
        self.history["test_loss"].append(self.test_loss)
        self.history.setdefault("epochs", []).append(self.epoch)
        if len(self.history["train_loss"]) > 500:  # keep the chart bounded
            for k in self.history:
                self.history[k] = self.history[k][::2]

    # -- views ---------------------------------------------------------------------------
    def _common(self):
        """The part of a snapshot every problem type shares."""
        return {
            "version": self.version, "running": self.running, "epoch": self.epoch,
            "train_loss": self.train_loss, "test_loss": self.test_loss, "history": self.history,
            "config": {**asdict(self.config), "hidden": list(self.config.hidden),
                       "features": list(self.config.features)},
            "problem": self.config.problem, "classification": self.classification,
            "weights": [{"kernel": np.round(d.kernel.data, 4).tolist(), "bias": np.round(d.bias.data, 4).tolist()}
                        for d in self.model.layers],
        }

    def snapshot(self):
        with self.lock:
            if self.config.problem == "digits":
                return {**self._common(), "accuracy": {
                    "train": digits.accuracy(self.model, self.inputs, self.targets, self.train_idx),
                    "test": digits.accuracy(self.model, self.inputs, self.targets, self.test_idx)}}
            out = self.model.predict(transform(self.config, _grid(GRID)), batch_size=4096)[:, 0]
            small = _grid(NEURON_GRID)
            neurons, a = [], transform(self.config, small)
            for layer in self.model.layers[:-1]:
                a = layer.infer(a)
                neurons.append([np.round(a[:, j], 3).tolist() for j in range(a.shape[1])])
            return {
                **self._common(),
                "grid": GRID, "output": np.round(out, 4).tolist(), "neuron_grid": NEURON_GRID, "neurons": neurons,
                "feature_maps": {name: np.round(f(small), 3).tolist() for name, f in FEATURES.items()},
                "points": np.round(self.points, 4).tolist(), "targets": np.round(self.targets, 4).tolist(),
                "train_idx": self.train_idx.tolist(), "test_idx": self.test_idx.tolist(),
            }

    def neuron(self, layer, index):
        with self.lock:
            dense = self.model.layers
            if not 0 <= layer < len(dense) or not 0 <= index < dense[layer].units:
                raise ConfigError(f"no neuron {index} in layer {layer}; the network has layers of sizes "
                                  f"{[d.units for d in dense]}")
            d = dense[layer]
            sources = self._input_names() if layer == 0 else [f"h{layer}.{i}" for i in range(d.input_dim)]
            return {"layer": layer, "index": index, "bias": float(d.bias.data[index]),
                    "weights": {s: float(w) for s, w in zip(sources, d.kernel.data[:, index])}}

    def _input_names(self):
        if self.config.problem == "digits":
            return [f"pixel {r},{c}" for r in range(8) for c in range(8)]
        return list(self.config.features)

    def _pad(self, pixels, action):
        if self.config.problem != "digits":
            raise ConfigError(f"{action} reads a drawn digit; this session's problem is {self.config.problem}")
        try:
            return digits.read_pad(pixels)
        except digits.PadError as err:
            raise ConfigError(str(err)) from None

    def predict_digit(self, pixels):
        """What the network makes of a drawing (digits mode): see :func:`digits.predict`."""
        with self.lock:
            return digits.predict(self.model, self._pad(pixels, "predict"))

    def explain_digit(self, pixels, fmt="html", lang="en"):
        """One training step on a drawing, labelled with the digit the network predicts for it."""
        with self.lock:
            row = self._pad(pixels, "explain_digit")
            label = int(self.model.predict(row).argmax())
            explanation = explain(self.model, row[0], [label], learning_rate=self.config.learning_rate,
                                  max_neurons=MAX_NEURONS)
        try:
            return explanation.render(fmt, lang)
        except ValueError as err:  # an unknown lang or format
            raise ConfigError(str(err)) from None

    def explain(self, point, fmt="html", lang="en"):
        with self.lock:
            x = transform(self.config, np.asarray(point, dtype=np.float32).reshape(1, 2))[0]
            target = self._nearest_target(point)
            return explain(self.model, x, [target], learning_rate=self.config.learning_rate,
                           max_neurons=MAX_NEURONS, max_inputs=len(FEATURES)).render(fmt, lang)

    def _nearest_target(self, point):
        d = np.linalg.norm(self.points - np.asarray(point, dtype=np.float32), axis=1)
        return float(self.targets[int(d.argmin())])

    def export_model(self):
        """The network as the bytes of a glassnet model file (``gn.load_model`` reads it back)."""
        with self.lock, tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "playground.gnet")
            self.model.save(path)
            with open(path, "rb") as f:
                return f.read()


def _grid(n):
    """n*n points covering the drawn square [-1.2, 1.2]^2, row by row from the bottom."""
    lin = np.linspace(-1.2, 1.2, n)
    xx, yy = np.meshgrid(lin, lin)
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
