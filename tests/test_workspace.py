"""The scratch-memory arena: buffers come back only when nothing refers to them."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.ops.workspace import Arena, _arena


def test_a_free_buffer_is_reused_and_a_used_one_is_not():
    arena = Arena(min_bytes=0)
    a = arena.empty((4, 5), np.float32)
    b = arena.empty((4, 5), np.float32)
    assert not np.shares_memory(a, b)
    del a
    c = arena.empty((2, 5), np.float64)  # same 80 bytes, another dtype and shape
    assert np.shares_memory(c, arena.buffers[0]) and c.shape == (2, 5) and c.dtype == np.float64
    assert len(arena.buffers) == 2


def test_a_view_keeps_its_buffer_in_use():
    arena = Arena(min_bytes=0)
    view = arena.empty((3, 4), np.float32)[1:].T
    fresh = arena.empty((3, 4), np.float32)
    assert not np.shares_memory(view, fresh)
    fresh[...] = 7
    assert len(arena.buffers) == 2


def test_small_arrays_and_arrays_over_the_budget_are_not_pooled():
    arena = Arena(budget_bytes=100, min_bytes=16)
    arena.empty((2,), np.float32)  # 8 bytes: below min_bytes
    arena.empty((10,), np.float64)  # 80 bytes: pooled
    arena.empty((10,), np.float64)  # the first is free again (no one holds it): reused
    held = arena.empty((10,), np.float64)
    extra = arena.empty((10,), np.float64)  # 80 more would pass the budget: not pooled
    assert arena.pooled_bytes() == 80 and not np.shares_memory(held, extra)
    arena.clear()
    assert arena.pooled_bytes() == 0


def test_lstm_outputs_survive_later_calls():
    """An LSTM output lives in arena memory; a later call must not overwrite it."""
    layer = nn.LSTM(64, return_sequences=True, seed=0)
    x = np.random.default_rng(0).standard_normal((64, 50, 5)).astype(np.float32)  # 1.7 MiB of rows: pooled
    first = layer(gn.Tensor(x)).numpy().copy()
    pooled = len(_arena.buffers)
    kept = layer(gn.Tensor(x))
    assert len(_arena.buffers) >= pooled > 0
    for _ in range(3):
        layer(gn.Tensor(x[::-1].copy()))
    np.testing.assert_array_equal(kept.numpy(), first)
    with pytest.raises(ValueError):
        kept.numpy()[0, 0, 0] = 1  # the output is a read-only view of the op's buffer


def test_clear_forgets_the_shared_buffers():
    from glassnet.ops import workspace

    held = workspace.empty((1 << 19,), np.float32)  # 2 MiB: pooled
    assert any(np.shares_memory(held, b) for b in _arena.buffers)
    workspace.clear()
    assert _arena.pooled_bytes() == 0
    held[...] = 1  # still valid memory: the view keeps its buffer alive
