"""Data sets: scikit-learn's bundled tables, 2-D toy sets, and a user's CSV file.

Everything is local: the tables ship inside scikit-learn and the toy sets are
generated, so nothing is downloaded at run time. Each loader returns a
:class:`Dataset` with ``x`` (float32, one row per sample) and ``y`` (integer
class labels, or float targets for regression).
"""
import csv
from dataclasses import dataclass, field

import numpy as np

from .random import make_rng
from .registry import Registry

DATASETS = Registry("dataset")


@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    feature_names: list = field(default_factory=list)
    target_names: list = field(default_factory=list)
    task: str = "classification"
    name: str = ""

    @property
    def num_classes(self):
        return len(self.target_names) if self.task == "classification" else 0

    def __iter__(self):  # x, y = load_digits()
        return iter((self.x, self.y))


def _sklearn_table(loader_name, name):
    def load():
        try:
            import sklearn.datasets as skd  # noqa: PLC0415 - optional dependency
        except ImportError:  # pragma: no cover
            raise ImportError(f"the {name} data set ships with scikit-learn: pip install 'glassnet[app]'") from None
        bunch = getattr(skd, loader_name)()
        return Dataset(bunch.data.astype(np.float32), bunch.target.astype(np.int64),
                       [str(f) for f in getattr(bunch, "feature_names", range(bunch.data.shape[1]))],
                       [str(t) for t in bunch.target_names], "classification", name)

    load.__name__ = f"load_{name}"
    load.__doc__ = f"scikit-learn's bundled {name} data set (classification)."
    return DATASETS.register(name)(load)


load_digits = _sklearn_table("load_digits", "digits")
load_iris = _sklearn_table("load_iris", "iris")
load_wine = _sklearn_table("load_wine", "wine")
load_breast_cancer = _sklearn_table("load_breast_cancer", "breast_cancer")


def _toy(name, x, y, classes=2):
    return Dataset(x.astype(np.float32), y.astype(np.int64), ["x1", "x2"], [str(c) for c in range(classes)],
                   "classification", name)


def _check_toy(n_samples, noise):
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2; received: n_samples={n_samples!r}")
    if not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a number >= 0; received: noise={noise!r}")


@DATASETS.register("xor")
def xor(n_samples=200, noise=0.1, seed=None):
    """Points in [-1, 1]^2, class 1 where x1 * x2 < 0 (seed 001's XOR, as a cloud)."""
    _check_toy(n_samples, noise)
    rng = make_rng(seed)
    x = rng.uniform(-1, 1, (n_samples, 2))
    y = (x[:, 0] * x[:, 1] < 0).astype(int)
    return _toy("xor", x + noise * rng.standard_normal(x.shape), y)


@DATASETS.register("moons")
def moons(n_samples=200, noise=0.1, seed=None):
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""
    from sklearn.datasets import make_moons  # noqa: PLC0415

    _check_toy(n_samples, noise)
    x, y = make_moons(n_samples, noise=noise, random_state=make_rng(seed).integers(2**31))
    return _toy("moons", x, y)


@DATASETS.register("circles")
def circles(n_samples=200, noise=0.05, seed=None, factor=0.5):
    """A small circle inside a large one (scikit-learn's ``make_circles``)."""
    from sklearn.datasets import make_circles  # noqa: PLC0415

    _check_toy(n_samples, noise)
    x, y = make_circles(n_samples, noise=noise, factor=factor, random_state=make_rng(seed).integers(2**31))
    return _toy("circles", x, y)


@DATASETS.register("spirals")
def spirals(n_samples=200, noise=0.1, seed=None, classes=2, turns=1.5):
    """``classes`` interleaved spiral arms in the plane."""
    _check_toy(n_samples, noise)
    rng = make_rng(seed)
    y = np.arange(n_samples) % classes
    r = rng.uniform(0.05, 1, n_samples)
    angle = 2 * np.pi * (turns * r + y / classes)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return _toy("spirals", x + noise * 0.1 * rng.standard_normal(x.shape), y, classes)


@DATASETS.register("gaussian", "blobs")
def gaussian(n_samples=200, noise=0.1, seed=None, centers=2):
    """Gaussian blobs (scikit-learn's ``make_blobs``); ``noise`` scales the spread."""
    from sklearn.datasets import make_blobs  # noqa: PLC0415

    _check_toy(n_samples, noise)
    rng = make_rng(seed)
    angles = 2 * np.pi * np.arange(centers) / centers + np.pi / 4
    means = 0.6 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x, y = make_blobs(n_samples, centers=means, cluster_std=0.1 + noise, random_state=rng.integers(2**31))
    return _toy("gaussian", x, y, centers)


def _regression(name, x, y):
    return Dataset(x.astype(np.float32), y.astype(np.float32), ["x1", "x2"], [], "regression", name)


def _surface(name, n_samples, noise, seed, f):
    _check_toy(n_samples, noise)
    rng = make_rng(seed)
    x = rng.uniform(-1, 1, (n_samples, 2))
    return _regression(name, x, f(x) + noise * rng.standard_normal(n_samples))


@DATASETS.register("plane")
def plane(n_samples=200, noise=0.0, seed=None):
    """Regression: points in [-1, 1]^2 with target ``(x1 + x2) / 2`` plus Gaussian noise."""
    return _surface("plane", n_samples, noise, seed, lambda x: (x[:, 0] + x[:, 1]) / 2)


@DATASETS.register("bump")
def bump(n_samples=200, noise=0.0, seed=None):
    """Regression: points in [-1, 1]^2 with target ``exp(-4 |x|^2)`` plus Gaussian noise."""
    return _surface("bump", n_samples, noise, seed, lambda x: np.exp(-4 * (x ** 2).sum(axis=1)))


# NOTE: six fixed bumps, three up and three down, so the surface has hills and valleys to fit.
_GAUSSIANS = np.array([[-0.6, 0.6, 1], [0.0, 0.6, -1], [0.6, 0.6, 1],
                       [-0.6, -0.4, -1], [0.0, -0.4, 1], [0.6, -0.4, -1]])


def _multi_gaussian_surface(x):
    d2 = ((x[:, None, :] - _GAUSSIANS[None, :, :2]) ** 2).sum(axis=2)
    return (_GAUSSIANS[:, 2] * np.exp(-d2 / (2 * 0.25 ** 2))).sum(axis=1)


@DATASETS.register("multi_gaussian")
def multi_gaussian(n_samples=200, noise=0.0, seed=None):
    """Regression: a sum of six Gaussian bumps of height +1 or -1 (width 0.25) on [-1, 1]^2.

    The TensorFlow Playground's "multi gaussian" surface: ``y = sum_k a_k exp(-|x - c_k|^2 / 0.125)``.
    """
    return _surface("multi_gaussian", n_samples, noise, seed, _multi_gaussian_surface)


def load(name, **kwargs):
    """Any registered data set by name (``"digits"``, ``"moons"``, ...)."""
    return DATASETS.get(name)(**kwargs)


def load_csv(path, target, delimiter=","):
    """A user's CSV file with a header row; ``target`` names the label column.

    Feature columns must be numeric. A numeric target whose values are all
    integers is read as class labels; a text target is encoded as class
    indices in sorted order (the names become ``target_names``); any other
    numeric target is a regression target.

    Raises:
        FileNotFoundError: no such file.
        ValueError: an empty file, a missing target column, a row with the
            wrong number of fields, or a non-numeric feature value (with the
            line and column).
    """
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    rows = [r for r in rows if r]
    if len(rows) < 2:
        raise ValueError(f"{path}: need a header row and at least one data row; found {len(rows)} rows")
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise ValueError(f"{path}: target column {target!r} is not in the header; columns: {', '.join(header)}")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} fields, but the header has {len(header)}")
    t = header.index(target)
    features = [h for i, h in enumerate(header) if i != t]
    table = np.array(rows[1:], dtype=object)
    x = np.empty((len(table), len(features)), dtype=np.float32)
    for j, col in enumerate(i for i in range(len(header)) if i != t):
        try:
            x[:, j] = table[:, col].astype(np.float64)
        except ValueError:
            bad = next(k for k, v in enumerate(table[:, col]) if not _is_number(v))
            raise ValueError(f"{path}, line {bad + 2}, column {header[col]!r}: "
                             f"{table[bad, col]!r} is not a number") from None
    raw = table[:, t]
    if all(_is_number(v) for v in raw):
        y = raw.astype(np.float64)
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
            names = [str(c) for c in range(int(y.max()) + 1)] if y.min() >= 0 else []
            return Dataset(x, y, features, names, "classification" if names else "regression", str(path))
        return Dataset(x, y.astype(np.float32), features, [], "regression", str(path))
    names, y = np.unique(raw.astype(str), return_inverse=True)
    return Dataset(x, y.astype(np.int64), features, names.tolist(), "classification", str(path))


def _is_number(value):
    try:
        float(value)
    except ValueError:
        return False
    return True
