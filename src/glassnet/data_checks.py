"""Validation of the data handed to fit, evaluate and predict: clear errors up front."""
import math

import numpy as np


def as_features(x, name="x", dtype=np.float32):
    """``x`` as a non-empty, finite floating array (pandas works through np.asarray)."""
    try:
        arr = np.asarray(x)
    except Exception as err:  # noqa: BLE001 - any conversion failure is the user's input
        raise ValueError(f"{name} must be array-like; could not convert it: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; received an array of dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a batch dimension; received a scalar")
    if len(arr) == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least one sample")
    if arr.ndim == 1:
        raise ValueError(f"{name} must have a sample axis and a feature axis; received {name} with shape "
                         f"{arr.shape}. For one feature per sample use {name}.reshape(-1, 1); for one sample, "
                         f"{name}.reshape(1, -1)")
    arr = arr.astype(dtype, copy=False) if arr.dtype != dtype else arr
    _check_finite(arr, name)
    return arr


def as_targets(y, n, name="y"):
    """``y`` as a finite numeric array with ``n`` samples (labels keep their integer dtype)."""
    try:
        arr = np.asarray(y)
    except Exception as err:  # noqa: BLE001 - any conversion failure is the user's input
        raise ValueError(f"{name} must be array-like; could not convert it: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; received an array of dtype {arr.dtype}")
    if arr.ndim == 0 or len(arr) != n:
        raise ValueError(f"x and {name} must have the same number of samples; received x with {n} "
                         f"samples and {name} with shape {arr.shape}")
    if arr.dtype.kind == "f":
        _check_finite(arr, name)
    return arr


def as_sample_weight(w, n, name="sample_weight"):
    if w is None:
        return None
    arr = np.asarray(w, dtype=np.float64).reshape(-1) if np.ndim(w) else None
    if arr is None or len(arr) != n:
        raise ValueError(f"{name} must have one weight per sample ({n}); received shape {np.shape(w)}")
    _check_finite(arr, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0; received a minimum of {arr.min()}")
    return arr


def _check_finite(arr, name):
    # A finite sum of squares proves every element finite (NaN and inf propagate); only a sum that
    # is not (NaN, inf, or an overflow of large finite values) pays for the element-wise test.
    # (BLAS's dot: one pass, no temporary; 2 us at one sample, where isfinite + all takes 4.)
    if not math.isfinite(np.vdot(arr, arr)) and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)))[:, 0]
        rows = ", ".join(str(i) for i in np.unique(bad)[:5])
        raise ValueError(f"{name} contains NaN or inf (rows {rows}{', ...' if len(np.unique(bad)) > 5 else ''})")


def positive_int(name, value, allow_zero=False):
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; received: {name}={value!r}")
    return int(value)


def one_of(name, value, allowed):
    """``value`` if it is one of ``allowed`` (compared by type and value), else a clear error."""
    if not any(type(value) is type(a) and value == a for a in allowed):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; received: {name}={value!r}")
    return value


def as_class_weight(class_weight):
    """``{class index: weight}`` with int keys and finite weights >= 0, else a clear error."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict mapping class index to weight; received: "
                        f"class_weight={class_weight!r:.80}")
    for cls, weight in class_weight.items():
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or cls < 0:
            raise ValueError(f"class_weight keys must be class indices (integers >= 0); received key {cls!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
                or not np.isfinite(weight) or weight < 0:
            raise ValueError(f"class_weight values must be finite numbers >= 0; received {cls}: {weight!r}")
    return class_weight


def class_labels(y):
    """Integer class per sample from one-hot rows or labels."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] > 1:
        return y.argmax(axis=-1)
    return np.rint(y.reshape(len(y))).astype(np.int64)


def n_samples(x):
    """The number of samples of an array, or of the first of a list of arrays (several inputs)."""
    return len(x[0]) if isinstance(x, list) else len(x)


def take(x, rows):
    """``x[rows]``, or each array's rows of a list of arrays."""
    return [a[rows] for a in x] if isinstance(x, list) else x[rows]
