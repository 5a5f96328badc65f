"""The compiled kernels of ops/recurrent_fused.py: the whole-sequence loops (small batches, no_grad)
against the NumPy reference: outputs and final states, float32 and float64, masks, go_backwards,
initial states; and that they run exactly where they should."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels, nn
from glassnet.ops import recurrent as recurrent_ops

T, D, U = 6, 5, 3
CELLS = {"simple_rnn": lambda **kw: nn.SimpleRNN(U, **kw),
         "simple_rnn_relu": lambda **kw: nn.SimpleRNN(U, "relu", **kw), "lstm": lambda **kw: nn.LSTM(U, **kw), "gru": lambda **kw: nn.GRU(U, **kw)}
TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}
SEQUENCE_KERNELS = ("lstm_sequence", "gru_sequence", "simple_rnn_sequence")


def _outputs(kind, layer, x, states, mask):
    with kernels.use(kind), gn.no_grad():
        outputs = layer(x, mask=mask, initial_state=states)
    return [np.array(o.data) for o in (outputs if isinstance(outputs, list) else [outputs])]


def test_tanh_is_float32_close_and_float64_close():
    """The kernels' tanh: float32 results within 1.2 ulp of tanh rounded from float64 and most of them
    equal to it (NumPy's own float32 tanh is within 1.4 ulp); float64 within 2e-15 relative; nan,
    infinities and signed zeros kept."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000) * 3, rng.standard_normal(2000) * 1e-3, np.linspace(-30, 30, 2001),
                        np.logspace(-40, 1.5, 2000), -np.logspace(-40, 1.5, 2000), [0.0, -0.0, np.inf, -np.inf]])
    x32 = x.astype(np.float32)
    got32 = x32.copy()
    recurrent_ops._fused.tanh_inplace(got32)
    exact = np.tanh(x32.astype(np.float64))
    ulps = np.abs(got32 - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulps.max() <= 1.2 and np.mean(got32 == exact.astype(np.float32)) > 0.95
    assert np.array_equal(np.signbit(got32), np.signbit(x32))
    got64 = x.copy()
    recurrent_ops._fused.tanh_inplace(got64)
    np.testing.assert_allclose(got64, np.tanh(x), rtol=2e-15, atol=0)
    nan = np.array([np.nan, 1.0], np.float32)
    recurrent_ops._fused.tanh_inplace(nan)
    assert np.isnan(nan[0]) and nan[1] == np.float32(np.tanh(1.0))


@pytest.fixture
def calls(monkeypatch):
    """Counts the calls of each whole-sequence kernel (the kernels still run)."""
    counts = dict.fromkeys(SEQUENCE_KERNELS, 0)
    for name in SEQUENCE_KERNELS:
        kernel = getattr(recurrent_ops._fused, name)

        def counted(*args, _name=name, _kernel=kernel):
            counts[_name] += 1
            return _kernel(*args)

        monkeypatch.setattr(recurrent_ops._fused, name, counted)
    return counts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("n, masked, backwards, sequences", [(1, False, False, False), (4, True, True, True),
                                                            (3, False, True, True), (2, True, False, False)])
def test_sequence_kernels_match_the_numpy_reference(cell, dtype, n, masked, backwards, sequences, calls):
    layer = CELLS[cell](return_sequences=sequences, return_state=True, go_backwards=backwards, seed=0, dtype=dtype)
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, T, D)).astype(dtype)
    layer(x)
    layer.bias.data[...] = rng.standard_normal(layer.bias.shape) * 0.5
    states = [rng.standard_normal((n, U)).astype(dtype) for _ in range(2 if cell == "lstm" else 1)]
    mask = rng.random((n, T)) < 0.7 if masked else None
    expected = _outputs("numpy", layer, x, states, mask)
    assert sum(calls.values()) == 0
    got = _outputs("numba", layer, x, states, mask)
    assert sum(calls.values()) == 1
    assert len(got) == len(states) + 1
    for a, b in zip(expected, got):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(b, a, **TOLERANCE[dtype])


def test_sequence_kernels_run_only_for_small_batches_without_a_graph(calls):
    layer = nn.LSTM(U, seed=0)
    big = recurrent_ops.SEQUENCE_KERNEL_MAX_BATCH + 1
    x_small, x_big = np.ones((1, T, D), np.float32), np.ones((big, T, D), np.float32)
    with kernels.use("numba"):
        layer(x_small)  # a graph: the stepwise kernels
        with gn.no_grad():
            layer(x_big)
        assert calls["lstm_sequence"] == 0
        with gn.no_grad():
            small = layer(x_small).data
        assert calls["lstm_sequence"] == 1
        with gn.no_grad():
            np.testing.assert_allclose(layer(x_big).data[:1], small, rtol=2e-5, atol=2e-6)


def test_predict_at_batch_one_runs_the_sequence_kernel(calls):
    model = gn.Sequential([nn.GRU(U), nn.Dense(2)], seed=0)
    x = np.random.default_rng(0).standard_normal((1, T, D)).astype(np.float32)
    with kernels.use("numpy"):
        expected = model.predict(x)
    with kernels.use("numba"):
        got = model.predict(x)
    assert calls["gru_sequence"] == 1
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
