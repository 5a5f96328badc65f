"""Keras's ``keras.utils`` helpers for preparing data: ``to_categorical`` and ``pad_sequences``."""
import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows from integer class labels (Keras's ``to_categorical``).

    Args:
        y: integer labels of any shape; a trailing axis of size 1 is dropped, as in Keras.
        num_classes: the number of classes. Defaults to ``None`` (``max(y) + 1``).
        dtype: Defaults to ``"float32"``.

    Returns:
        An array of shape ``y.shape + (num_classes,)``.

    Raises:
        ValueError: a label is negative, not a whole number, or not below ``num_classes``.

    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.dtype.kind not in "biuf" or (y.size and (y.min() < 0 or not np.all(y == np.round(y)))):
        raise ValueError(f"to_categorical expects whole-number labels >= 0; received values of dtype {y.dtype}"
                         + (f" from {y.min()} to {y.max()}" if y.size and y.dtype.kind in "biuf" else ""))
    labels = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1 \
            or (labels.size and labels.max() >= num_classes):
        raise ValueError(f"num_classes must be a positive integer above every label (largest label "
                         f"{labels.max() if labels.size else None}). Received: num_classes={num_classes!r}")
    return np.eye(num_classes, dtype=dtype)[labels]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Sequences of different lengths as one array (Keras's ``pad_sequences``).

    Args:
        sequences: a list of sequences (lists or arrays of ids, or of feature vectors).
        maxlen: the length of every row. Defaults to ``None`` (the longest sequence).
        dtype: Defaults to ``"int32"``.
        padding: ``"pre"`` or ``"post"``: pad at the start or the end. Defaults to ``"pre"``.
        truncating: ``"pre"`` or ``"post"``: cut longer sequences at the start or the
            end. Defaults to ``"pre"``.
        value: the padding value. Defaults to ``0.0``.

    Returns:
        An array of shape ``(len(sequences), maxlen, *features)``.

    Raises:
        ValueError: a bad ``padding``, ``truncating`` or ``maxlen``, or sequences whose
            feature shapes differ.

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2)
    array([[2, 3],
           [0, 4]], dtype=int32)
    """
    for name, mode in (("padding", padding), ("truncating", truncating)):
        if mode not in ("pre", "post"):
            raise ValueError(f"`{name}` must be 'pre' or 'post'. Received: {name}={mode!r}")
    try:
        rows = [np.asarray(s) for s in sequences]
    except TypeError:
        raise ValueError(f"sequences must be a list of sequences; received {type(sequences).__name__}") from None
    features = {r.shape[1:] for r in rows if len(r)}
    if len(features) > 1 or any(r.ndim == 0 for r in rows):
        raise ValueError(f"every sequence needs the same feature shape; received {sorted(map(str, features))}")
    if maxlen is None:
        maxlen = max((len(r) for r in rows), default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 1:
        raise ValueError(f"maxlen must be a positive integer or None. Received: maxlen={maxlen!r}")
    out = np.full((len(rows), maxlen, *(features.pop() if features else ())), value, dtype=dtype)
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    kept = np.minimum(lengths, maxlen)
    if not kept.sum():
        return out
    # NOTE: one scatter instead of a loop over sequences: element j of the kept part of row i
    # comes from flat[source[i] + j] and goes to column target[i] + j.
    flat = np.concatenate([r for r in rows if len(r)])
    offsets = np.cumsum(lengths) - lengths
    source = offsets + (lengths - kept if truncating == "pre" else 0)
    target = maxlen - kept if padding == "pre" else np.zeros_like(kept)
    row = np.repeat(np.arange(len(rows)), kept)
    j = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)
    out[row, target[row] + j] = flat[source[row] + j]
    return out
