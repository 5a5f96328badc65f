"""Sequence and normalisation layers: gradchecks, PyTorch parity (float64), masking semantics."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import nn
from glassnet.ops import recurrent as recurrent_ops

N, T, D, U = 3, 5, 4, 3


def data(seed=0):
    return np.random.default_rng(seed).standard_normal((N, T, D))


def rnn_layer(cls, **kwargs):
    layer = cls(U, seed=0, dtype=np.float64, **kwargs)
    layer(data())
    layer.bias.data[...] = np.random.default_rng(5).standard_normal(layer.bias.shape) * 0.3
    return layer


def to_torch_rnn(layer):
    """A torch RNN/LSTM/GRU holding the same weights (mind layouts and GRU's gate order)."""
    k, r, b = layer.kernel.data, layer.recurrent_kernel.data, layer.bias.data
    if isinstance(layer, nn.GRU):
        order = lambda a: np.concatenate([a[..., U:2 * U], a[..., :U], a[..., 2 * U:]], axis=-1)  # (z,r,h)->(r,z,n)
        mod = torch.nn.GRU(D, U, batch_first=True).double()
        k, r, b_ih, b_hh = order(k), order(r), order(b[0]), order(b[1])
    else:
        mod = (torch.nn.LSTM if isinstance(layer, nn.LSTM) else torch.nn.RNN)(D, U, batch_first=True).double()
        b_ih, b_hh = b, np.zeros_like(b)
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(k.T))
        mod.weight_hh_l0.copy_(torch.tensor(r.T))
        mod.bias_ih_l0.copy_(torch.tensor(b_ih))
        mod.bias_hh_l0.copy_(torch.tensor(b_hh))
    return mod


@pytest.mark.parametrize("cls", [nn.SimpleRNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck(cls, masked):
    layer = rnn_layer(cls, return_sequences=True)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool) if masked else None
    assert gn.gradcheck(lambda x: layer(x, mask=mask), [data()], params=layer.parameters())


@pytest.mark.parametrize("cls", [nn.SimpleRNN, nn.LSTM, nn.GRU])
def test_matches_torch_with_initial_state(cls):
    layer = rnn_layer(cls, return_sequences=True, return_state=True)
    mod = to_torch_rnn(layer)
    x = data(1)
    rng = np.random.default_rng(2)
    states = [rng.standard_normal((N, U)) for _ in range(2 if cls is nn.LSTM else 1)]
    gx = gn.Tensor(x, requires_grad=True)
    gstates = [gn.Tensor(s, requires_grad=True) for s in states]
    outputs = layer(gx, initial_state=gstates)
    tx = torch.tensor(x, requires_grad=True)
    tstates = [torch.tensor(s[None], requires_grad=True) for s in states]
    ty, tfinal = mod(tx, tuple(tstates) if cls is nn.LSTM else tstates[0])
    tfinal = list(tfinal) if cls is nn.LSTM else [tfinal]
    np.testing.assert_allclose(outputs[0].data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    for ours, theirs in zip(outputs[1:], tfinal):
        np.testing.assert_allclose(ours.data, theirs[0].detach().numpy(), rtol=1e-9, atol=1e-12)
    weights = [np.random.default_rng(i).standard_normal(o.shape) for i, o in enumerate(outputs)]
    sum(((o * w).sum() for o, w in zip(outputs, weights)), gn.Tensor(np.array(0.0))).backward()
    (sum((o * torch.tensor(w)).sum() for o, w in zip([ty, *[f[0] for f in tfinal]], weights))).backward()
    np.testing.assert_allclose(gx.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-11)
    for g, t in zip(gstates, tstates):
        np.testing.assert_allclose(g.grad, t.grad.numpy()[0], rtol=1e-8, atol=1e-11)
    grads = {"kernel": mod.weight_ih_l0.grad.numpy().T, "recurrent_kernel": mod.weight_hh_l0.grad.numpy().T}
    for name, expected in grads.items():
        got = getattr(layer, name).grad
        if cls is nn.GRU:
            got = np.concatenate([got[:, U:2 * U], got[:, :U], got[:, 2 * U:]], axis=1)
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-11)


def test_masked_steps_carry_the_state():
    layer = rnn_layer(nn.LSTM)
    x = data(3)
    lengths = [2, 5, 4]
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    last = layer(x, mask=mask).data
    for i, n in enumerate(lengths):  # the same as running each sequence on its real steps only
        np.testing.assert_allclose(last[i], layer(x[i:i + 1, :n]).data[0], rtol=1e-12)


def test_go_backwards_and_bidirectional_match_torch():
    layer = rnn_layer(nn.LSTM, return_sequences=True)
    bi = nn.Bidirectional(layer)
    x = data(4)
    y = bi(gn.Tensor(x))
    assert y.shape == (N, T, 2 * U)
    mod = torch.nn.LSTM(D, U, batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for suffix, sub in (("", bi.forward_layer), ("_reverse", bi.backward_layer)):
            getattr(mod, f"weight_ih_l0{suffix}").copy_(torch.tensor(sub.kernel.data.T))
            getattr(mod, f"weight_hh_l0{suffix}").copy_(torch.tensor(sub.recurrent_kernel.data.T))
            getattr(mod, f"bias_ih_l0{suffix}").copy_(torch.tensor(sub.bias.data))
            getattr(mod, f"bias_hh_l0{suffix}").zero_()
    np.testing.assert_allclose(y.data, mod(torch.tensor(x))[0].detach().numpy(), rtol=1e-9, atol=1e-12)
    assert gn.gradcheck(bi, [x[:2, :3]], params=bi.parameters())


def test_embedding_masking_and_time_distributed():
    emb = nn.Embedding(10, 4, mask_zero=True, seed=0, dtype=np.float64)
    ids = np.array([[3, 1, 0], [9, 0, 0]])
    y = emb(ids)
    tw = torch.tensor(emb.embeddings.data, requires_grad=True)
    np.testing.assert_array_equal(y.data, TF.embedding(torch.tensor(ids), tw).detach().numpy())
    np.testing.assert_array_equal(emb.compute_mask(ids), ids != 0)
    y.backward(np.ones(y.shape))
    TF.embedding(torch.tensor(ids), tw).sum().backward()
    np.testing.assert_array_equal(emb.embeddings.grad, tw.grad.numpy())  # id 0 repeated: grads add up
    with pytest.raises(ValueError, match=r"ids must be in \[0, 10\); received values from 0 to 12"):
        emb(np.array([[12, 0]]))
    masking = nn.Masking(0.0)
    x = np.array([[[1.0, 2.0], [0.0, 0.0]]])
    np.testing.assert_array_equal(masking.compute_mask(x), [[True, False]])
    td = nn.TimeDistributed(nn.Dense(3, seed=0, dtype=np.float64))
    seq = data(6)
    out = td(seq)
    np.testing.assert_allclose(out.data, td.layer(seq.reshape(-1, D)).data.reshape(N, T, 3))
    assert gn.gradcheck(td, [seq], params=td.parameters())


def test_sequential_passes_the_mask_from_embedding_to_the_rnn():
    model = gn.Sequential([nn.Embedding(12, 4, mask_zero=True), nn.GRU(5), nn.Dense(2, activation="softmax")], seed=0)
    ids = np.array([[4, 7, 0, 0], [4, 7, 9, 2]])
    short = np.array([[4, 7]])
    out = model.predict(ids)
    np.testing.assert_allclose(out[0], model.predict(short)[0], rtol=1e-6)  # padding changes nothing


@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization_matches_torch(training):
    x = np.random.default_rng(7).standard_normal((6, 4)) * 3 + 1
    layer = nn.BatchNormalization(momentum=0.9, epsilon=1e-3, dtype=np.float64)
    layer(x)  # build and take one moving-average step
    layer.gamma.data[...] = [1.0, 2.0, 0.5, -1.0]
    layer.beta.data[...] = [0.0, 0.1, -0.2, 0.3]
    layer.train(training)
    mean, var = layer.moving_mean.data.copy(), layer.moving_variance.data.copy()
    gx, tx = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    tg, tb = torch.tensor(layer.gamma.data, requires_grad=True), torch.tensor(layer.beta.data, requires_grad=True)
    y = layer(gx)
    ty = TF.batch_norm(tx, torch.tensor(mean), torch.tensor(var), tg, tb, training=training, eps=1e-3)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    v = np.random.default_rng(8).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    np.testing.assert_allclose(gx.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(layer.gamma.grad, tg.grad.numpy(), rtol=1e-8, atol=1e-11)
    if training:  # Keras's rule with the biased batch variance
        np.testing.assert_allclose(layer.moving_mean.data, 0.9 * mean + 0.1 * x.mean(0))
        np.testing.assert_allclose(layer.moving_variance.data, 0.9 * var + 0.1 * x.var(0))
    layer.eval()
    np.testing.assert_allclose(layer.infer(x), layer(x).data, rtol=1e-12)
    assert gn.gradcheck(lambda t: nn.BatchNormalization(dtype=np.float64)(t), [x])


def test_layer_normalization_matches_torch():
    x = np.random.default_rng(9).standard_normal((3, 2, 5))
    layer = nn.LayerNormalization(epsilon=1e-5, dtype=np.float64)
    layer(x)
    layer.gamma.data[...] = np.linspace(0.5, 1.5, 5)
    tx = torch.tensor(x, requires_grad=True)
    ty = TF.layer_norm(tx, (5,), torch.tensor(layer.gamma.data), torch.tensor(layer.beta.data), eps=1e-5)
    gx = gn.Tensor(x, requires_grad=True)
    y = layer(gx)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    y.backward(np.ones(y.shape))
    ty.sum().backward()
    np.testing.assert_allclose(gx.grad, tx.grad.numpy(), rtol=1e-7, atol=1e-10)
    assert gn.gradcheck(layer, [x], params=layer.parameters())


def test_buffers_are_saved_with_the_model(tmp_path):
    model = gn.Sequential([nn.Dense(4, input_dim=3), nn.BatchNormalization(), nn.Dense(2)], seed=0)
    model.compile(loss="mse")
    model.fit(np.random.default_rng(0).standard_normal((20, 3)), np.zeros((20, 2)), epochs=2, verbose=0)
    assert "layers.1.moving_mean" in model.state_dict()
    model.save(tmp_path / "bn.gnet")
    loaded = gn.load_model(tmp_path / "bn.gnet")
    np.testing.assert_array_equal(loaded.layers[1].moving_variance.data, model.layers[1].moving_variance.data)


@pytest.mark.parametrize("cls", [nn.SimpleRNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("masked", [False, True])
def test_inference_path_gives_the_training_path_outputs(cls, masked, monkeypatch):
    """Under no_grad the recurrent ops skip saving their backward factors; the outputs must not change.
    (Small batches under no_grad run the whole-sequence kernels instead, equal to float rounding:
    test_recurrent_fused.py; here they are switched off.)"""
    monkeypatch.setattr(recurrent_ops, "SEQUENCE_KERNEL_MAX_BATCH", 0)
    layer = rnn_layer(cls, return_sequences=True, return_state=True)
    mask = np.arange(T)[None, :] < np.array([2, 5, 4])[:, None] if masked else None
    recorded = layer(data(4), mask=mask)
    assert recorded[0].requires_grad
    with gn.no_grad():
        plain = layer(data(4), mask=mask)
    for a, b in zip(recorded, plain):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("masked", [False, True])
def test_relu_simple_rnn_gradchecks_and_matches_torch(masked):
    layer = rnn_layer(nn.SimpleRNN, activation="relu", return_sequences=True)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool) if masked else None
    assert gn.gradcheck(lambda x: layer(x, mask=mask), [data()], params=layer.parameters())
    if masked:
        return
    mod = torch.nn.RNN(D, U, nonlinearity="relu", batch_first=True).double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(layer.kernel.data.T))
        mod.weight_hh_l0.copy_(torch.tensor(layer.recurrent_kernel.data.T))
        mod.bias_ih_l0.copy_(torch.tensor(layer.bias.data))
        mod.bias_hh_l0.zero_()
    x = gn.Tensor(data(1), requires_grad=True)
    tx = torch.tensor(data(1), requires_grad=True)
    y, ty = layer(x), mod(tx)[0]
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    v = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(layer.recurrent_kernel.grad, mod.weight_hh_l0.grad.numpy().T, rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("cls", [nn.SimpleRNN, nn.LSTM, nn.GRU])
def test_predict_returns_arrays_the_caller_owns(cls):
    """The ops' outputs are read-only views of their buffers; predict hands out writable arrays."""
    model = gn.Sequential([cls(4, return_sequences=True)], seed=0)
    x = np.random.default_rng(0).standard_normal((3, 5, 2)).astype(np.float32)
    first = model.predict(x)
    assert first.flags.writeable
    expected = first.copy()
    first[...] = 0
    np.testing.assert_array_equal(model.predict(x), expected)
    with pytest.raises(ValueError, match="read-only"):
        model(x).numpy()[0, 0, 0] = 1.0


def torch_gru_reset_before(x, h, kernel, recurrent_kernel, bias, mask=None):
    """Keras's GRU(reset_after=False) written out in torch ops: the reset gate before U_n."""
    outputs = []
    for t in range(x.shape[1]):
        xw, hu = x[:, t] @ kernel + bias, h @ recurrent_kernel[:, :2 * U]
        z, r = torch.sigmoid(xw[:, :U] + hu[:, :U]), torch.sigmoid(xw[:, U:2 * U] + hu[:, U:])
        n = torch.tanh(xw[:, 2 * U:] + (r * h) @ recurrent_kernel[:, 2 * U:])
        new = z * h + (1 - z) * n
        h = new if mask is None else torch.where(torch.tensor(mask[:, t, None]), new, h)
        outputs.append(h)
    return torch.stack(outputs, 1)


@pytest.mark.parametrize("masked", [False, True])
def test_gru_reset_before_gradchecks_and_matches_torch_ops(masked):
    layer = rnn_layer(nn.GRU, reset_after=False, return_sequences=True)
    assert layer.bias.shape == (3 * U,) and layer.get_config()["reset_after"] is False
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool) if masked else None
    assert gn.gradcheck(lambda x: layer(x, mask=mask), [data()], params=layer.parameters())
    h0 = np.random.default_rng(2).standard_normal((N, U))
    x, h = gn.Tensor(data(1), requires_grad=True), gn.Tensor(h0, requires_grad=True)
    tx, th = torch.tensor(data(1), requires_grad=True), torch.tensor(h0, requires_grad=True)
    weights = [torch.tensor(p.data, requires_grad=True) for p in layer.parameters()]
    y, ty = layer(x, mask=mask, initial_state=h), torch_gru_reset_before(tx, th, *weights, mask=mask)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    for ours, theirs in [(x.grad, tx.grad), (h.grad, th.grad)] + [(p.grad, w.grad) for p, w in
                                                                  zip(layer.parameters(), weights)]:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-11)


def test_gru_reset_before_in_a_saved_model_and_in_float32(tmp_path):
    model = gn.Sequential([gn.Input((T, D)), nn.Bidirectional(nn.GRU(U, reset_after=False)), nn.Dense(2)], seed=0)
    assert model.count_params() == 2 * 3 * (U * (D + U) + U) + (2 * U + 1) * 2  # Keras: 3 (U (D + U) + U)
    x = data().astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.zeros((N, 2), np.float32), epochs=2, verbose=0)
    assert model(x).dtype == np.float32
    model.save(tmp_path / "gru.gnet")
    loaded = gn.load_model(tmp_path / "gru.gnet")
    assert loaded.layers[0].forward_layer.reset_after is False
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
