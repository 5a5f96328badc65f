"""PyTorch's data habits: ``TensorDataset`` and ``DataLoader``.

A ``DataLoader`` over a ``TensorDataset`` takes each batch with one fancy-indexing per
tensor (no Python loop over samples); over any other dataset (``__len__`` and
``__getitem__``) it collects the samples of a batch and stacks them, as PyTorch's
default collation does.
"""
import numpy as np

from .random import make_rng
from .tensor import Tensor


def _as_tensor(x, index):
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(np.asarray(x))
    except (TypeError, ValueError) as err:
        raise TypeError(f"TensorDataset takes tensors or arrays; tensor {index} is {type(x).__name__} "
                        f"({err})") from None


class TensorDataset:
    """Samples made of rows of tensors that share their first axis.

    Args:
        *tensors: Tensors or arrays, each ``(n, ...)`` with the same ``n``.

    Raises:
        ValueError: no tensors, a 0-d tensor, or first axes of different sizes.

    >>> ds = TensorDataset(np.arange(6).reshape(3, 2), np.array([0, 1, 0]))
    >>> len(ds), [t.shape for t in ds[1]]
    (3, [(2,), ()])
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(_as_tensor(t, i) for i, t in enumerate(tensors))
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes:
            raise ValueError(f"TensorDataset takes tensors with a sample axis; tensor {sizes.index(None)} is 0-d")
        if len(set(sizes)) > 1:
            raise ValueError(f"Size mismatch between tensors: every tensor needs the same first axis (the samples). "
                             f"Received first axes of sizes {sizes}")

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        """The samples at ``index`` (an int, a slice or an array of indices), one Tensor per tensor."""
        return tuple(Tensor(t.data[index], dtype=t.dtype) for t in self.tensors)


def _collate(samples):
    """A list of samples (each a tuple of Tensors, arrays or numbers) stacked into one batch each."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return [_collate([s[i] for s in samples]) for i in range(len(first))]
    return Tensor(np.stack([s.data if isinstance(s, Tensor) else np.asarray(s) for s in samples]))


def _count(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} should be a positive integer value. Received: {name}={value!r}")
    return int(value)


class DataLoader:
    """Batches of a dataset, in order or shuffled, as PyTorch's ``DataLoader``.

    Each batch is a list with one Tensor per tensor of the dataset (``for x, y in loader``).

    Args:
        dataset: a :class:`TensorDataset`, or any object with ``__len__`` and ``__getitem__``.
        batch_size: samples per batch. Defaults to ``1``.
        shuffle: draw a new order every pass. Defaults to ``False``.
        drop_last: drop the last batch when it is smaller than ``batch_size``. Defaults to ``False``.
        seed: int or ``numpy.random.Generator`` for the shuffling (``generator=`` is the same,
            PyTorch's name). Defaults to ``None`` (the thread's default generator).

    Raises:
        ValueError: a batch size that is not a positive integer, or an empty dataset.
        TypeError: a dataset without ``__len__`` and ``__getitem__``, or both seed and generator.

    >>> loader = DataLoader(TensorDataset(np.arange(10.0).reshape(5, 2)), batch_size=2)
    >>> len(loader), [x.shape for (x,) in loader]
    (3, [(2, 2), (2, 2), (1, 2)])
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, generator=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader takes a dataset with __len__ and __getitem__ (such as TensorDataset); "
                            f"received: {type(dataset).__name__}")
        if seed is not None and generator is not None:
            raise TypeError("DataLoader takes seed= or generator= (the same thing), not both")
        for name, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} should be a boolean value. Received: {name}={value!r}")
        self.dataset = dataset
        self.batch_size = _count("batch_size", batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        seed = generator if generator is not None else seed
        self._rng = make_rng(seed) if seed is not None else None  # one stream: each pass a new order

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if n == 0:
            raise ValueError("DataLoader got an empty dataset (len 0)")
        order = (self._rng or make_rng()).permutation(n) if self.shuffle else None
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            rows = slice(start, min(start + self.batch_size, n)) if order is None else \
                order[start:start + self.batch_size]
            yield self._batch(rows)

    def _batch(self, rows):
        if isinstance(self.dataset, TensorDataset):
            return list(self.dataset[rows])  # NOTE: one indexing per tensor, no loop over samples
        indices = range(rows.start, rows.stop) if isinstance(rows, slice) else rows.tolist()
        return _collate([self.dataset[i] for i in indices])
