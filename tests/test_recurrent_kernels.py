"""The recurrent ops' compiled time steps against their NumPy reference: outputs, final states
and every gradient (inputs, weights, initial states), float32 and float64, with and without a
mask, recorded and under no_grad. (Gradchecks and PyTorch parity of the default, compiled path
are in test_recurrent_layers.py.)"""
import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels, nn

N, T, D, U = 4, 6, 5, 3
MASK = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 1, 0, 1, 1], [0, 0, 1, 1, 1, 1]], dtype=bool)
CELLS = {"simple_rnn": lambda **kw: nn.SimpleRNN(U, **kw), "simple_rnn_relu": lambda **kw: nn.SimpleRNN(U, "relu", **kw),
         "lstm": lambda **kw: nn.LSTM(U, **kw), "gru": lambda **kw: nn.GRU(U, **kw)}
TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}


def _run(kind, layer, x, states, mask, record=True):
    """Outputs and, when recorded, the gradients of a fixed weighted sum of them."""
    with kernels.use(kind):
        params = layer.parameters()
        for p in params:
            p.grad = None
        gx = gn.Tensor(x, requires_grad=record)
        gstates = [gn.Tensor(s, requires_grad=record) for s in states]
        if not record:
            with gn.no_grad():
                outputs = layer(gx, mask=mask, initial_state=gstates)
            return [np.array(o.data) for o in (outputs if isinstance(outputs, list) else [outputs])], []
        outputs = layer(gx, mask=mask, initial_state=gstates)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        rng = np.random.default_rng(7)
        loss = sum((o * gn.Tensor(rng.standard_normal(o.shape).astype(x.dtype))).sum() for o in outputs)
        loss.backward()
        grads = [gx.grad, *(s.grad for s in gstates), *(p.grad for p in params)]
        return [np.array(o.data) for o in outputs], [np.array(g) for g in grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("masked, return_state", [(False, True), (True, True), (True, False)])
def test_compiled_steps_match_the_numpy_reference(cell, dtype, masked, return_state):
    """With return_state off, the LSTM's op outputs the h sequence alone (no c sequence's gradient)."""
    layer = CELLS[cell](return_sequences=True, return_state=return_state, go_backwards=masked, seed=0, dtype=dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    layer(x)
    layer.bias.data[...] = rng.standard_normal(layer.bias.shape) * 0.5
    states = [rng.standard_normal((N, U)).astype(dtype) for _ in range(2 if cell == "lstm" else 1)]
    mask = MASK if masked else None
    for record in (True, False):
        out_np, grads_np = _run("numpy", layer, x, states, mask, record)
        out_nb, grads_nb = _run("numba", layer, x, states, mask, record)
        assert len(grads_np) == (len(states) + 4 if record else 0)
        for a, b in zip(out_np + grads_np, out_nb + grads_nb):
            assert a.dtype == b.dtype == dtype
            np.testing.assert_allclose(b, a, **TOLERANCE[dtype])


def test_compiled_steps_carry_masked_states_exactly():
    """A row masked at every step keeps its initial state bit for bit on the compiled path."""
    layer = nn.LSTM(U, return_sequences=True, return_state=True, seed=0)
    x = np.random.default_rng(2).standard_normal((2, T, D)).astype(np.float32)
    h0, c0 = np.full((2, U), 0.25, np.float32), np.full((2, U), -0.5, np.float32)
    mask = np.array([[True] * T, [False] * T])
    with kernels.use("numba"):
        seq, h, c = layer(x, mask=mask, initial_state=[h0, c0])
    assert np.array_equal(seq.data[1], np.full((T, U), 0.25, np.float32))
    assert np.array_equal(h.data[1], h0[1]) and np.array_equal(c.data[1], c0[1])


@pytest.mark.parametrize("kind", ["numpy", "numba"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_backward_twice_through_a_retained_graph(cell, kind):
    """The backward pass writes its gradients over the saved factors only when it releases the graph:
    a retained graph gives the same gradients on a second pass."""
    layer = CELLS[cell](return_sequences=True, seed=0)
    x = gn.Tensor(np.random.default_rng(3).standard_normal((N, T, D)).astype(np.float32), requires_grad=True)
    with kernels.use(kind):
        loss = (layer(x, mask=MASK) ** 2).sum()
        loss.backward(retain_graph=True)
        first = [np.array(g) for g in (x.grad, *(p.grad for p in layer.parameters()))]
        loss.backward()
    for g1, g2 in zip(first, (x.grad, *(p.grad for p in layer.parameters()))):
        np.testing.assert_allclose(g2, 2 * g1, rtol=1e-5, atol=1e-6)
