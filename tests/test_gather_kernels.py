"""The compiled backward of a row gather x[ids] (ops/gather_kernels.py) against its NumPy reference
(np.add.at): repeated and negative ids, 1-D to 3-D x, float32 and float64; the Embedding layer's
gradient on both paths."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels, nn


def _grad(kind, x, ids, gy):
    with kernels.use(kind):
        t = gn.Tensor(x, requires_grad=True)
        (t[ids] * gn.Tensor(gy)).sum().backward()
    return t.grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (7, 5), (7, 2, 3)])
def test_row_gather_backward_matches_add_at(shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    ids = np.array([[0, 3, -1, 3], [6, 0, 0, -7]])  # repeated, negative (-1 is row 6, -7 row 0)
    gy = rng.standard_normal(ids.shape + shape[1:]).astype(dtype)
    expected = np.zeros_like(x)
    np.add.at(expected, ids, gy)
    for kind in ("numpy", "numba"):
        got = _grad(kind, x, ids, gy)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert not _grad("numba", x, ids[:, :0], gy[:, :0]).any()  # no ids: a zero gradient


def test_embedding_gradient_is_the_same_on_both_paths():
    layer = nn.Embedding(10, 4, seed=0)
    ids = np.random.default_rng(1).integers(0, 10, (6, 8))
    grads = []
    for kind in ("numpy", "numba"):
        with kernels.use(kind):
            (layer(ids) ** 2).sum().backward()
        grads.append(np.array(layer.embeddings.grad))
        layer.embeddings.grad = None
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, atol=1e-6)
    assert grads[0].any()
