"""gn.data: TensorDataset and DataLoader behave as PyTorch's (batches, order, shuffling, drop_last)."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.data import DataLoader, TensorDataset

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10, dtype=np.float32)


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (10, True), (12, False)])
def test_batches_match_torch_in_order(batch_size, drop_last):
    ours = DataLoader(TensorDataset(X, Y), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(list(theirs))
    for (x, y), (tx, ty) in zip(batches, theirs):
        assert isinstance(x, gn.Tensor) and x.dtype == np.float32
        np.testing.assert_array_equal(x.data, tx.numpy())
        np.testing.assert_array_equal(y.data, ty.numpy())


def test_default_batch_size_is_one_and_samples_keep_their_shape():
    loader = DataLoader(TensorDataset(X, Y))
    x, y = next(iter(loader))
    assert len(loader) == 10 and x.shape == (1, 2) and y.shape == (1,)
    ds = TensorDataset(gn.Tensor(X), Y)
    assert len(ds) == 10 and [t.shape for t in ds[3]] == [(2,), ()]
    np.testing.assert_array_equal(ds[2:4][0].data, X[2:4])


def test_shuffle_covers_every_sample_once_reproducibly_and_differs_between_passes():
    def orders(seed, passes=2):
        loader = DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=True, seed=seed)
        return [np.concatenate([y.data for _, y in loader]) for _ in range(passes)]

    first, second = orders(0)
    assert sorted(first) == list(Y) and sorted(second) == list(Y)
    assert not np.array_equal(first, Y) and not np.array_equal(first, second)
    assert all(np.array_equal(a, b) for a, b in zip(orders(0), orders(0)))
    generator = DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=True, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(np.concatenate([y.data for _, y in generator]), first)
    for x, y in DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, seed=1):  # rows stay paired
        np.testing.assert_array_equal(x.data[:, 0], 2 * y.data)


def test_a_plain_dataset_is_collated_sample_by_sample():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i

    batches = list(DataLoader(Squares(), batch_size=2))
    assert len(batches) == 3
    x, y = batches[1]
    np.testing.assert_array_equal(x.data, [[2, 4], [3, 9]])
    np.testing.assert_array_equal(y.data, [2, 3])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"Size mismatch.*sizes \[10, 9\]"):
        TensorDataset(X, Y[:9])
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        DataLoader(TensorDataset(X), batch_size=0)
    with pytest.raises(ValueError, match="Received: batch_size=2.5"):
        DataLoader(TensorDataset(X), batch_size=2.5)
    with pytest.raises(TypeError, match="Received: shuffle='yes'"):
        DataLoader(TensorDataset(X), shuffle="yes")
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(42)
    with pytest.raises(TypeError, match="not both"):
        DataLoader(TensorDataset(X), seed=0, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty dataset"):
        list(DataLoader(TensorDataset(X[:0])))
