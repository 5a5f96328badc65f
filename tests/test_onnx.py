"""ONNX export, checked in a real runtime: onnx.checker passes and onnxruntime's outputs equal
``model.predict`` to 1e-5 (float32) on batches of several sizes, for every exportable layer type,
every activation and the README's digits MLP, CNN and LSTM models."""
import numpy as np
import onnx
import onnxruntime
import pytest

import glassnet as gn
import glassnet.onnx
from glassnet import cli, nn
from glassnet.nn import activations

BATCHES = (1, 3, 17)


def _perturb(model, rng):
    """Non-zero biases and moving statistics, so that a swapped gate or bias block shows."""
    for p in model.parameters():
        p.data[...] += rng.normal(0, 0.3, p.shape).astype(p.dtype)
    for name, b in model.named_buffers():
        if name.endswith("moving_variance"):
            b.data[...] = rng.uniform(0.5, 2.0, b.shape)
        else:
            b.data[...] = rng.normal(0, 0.5, b.shape)


def _data(kind, n, shape, rng):
    if kind == "ids":  # integer ids in [0, 6), zeros included (padding for mask_zero)
        return rng.integers(0, 6, (n, *shape)).astype(np.float32)
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    if kind == "masked":  # about a third of the time steps all equal to the mask value 0
        x[rng.random((n, shape[0])) < 0.35] = 0
    return x


def _run(path, x):
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def _check(model, path, shape, kind, rng, opset=17):
    glassnet.onnx.export(model, path, opset=opset, input_shape=shape)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for n in BATCHES:
        x = _data(kind, n, shape, rng)
        np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x), rtol=0, atol=1e-5)


# (id, layers, one sample's shape, data kind)
LAYER_CASES = [
    ("dense", lambda: [nn.Dense(5, activation="relu"), nn.Dense(3, use_bias=False)], (4,), "normal"),
    ("dense-3d", lambda: [nn.Dense(3, activation="tanh")], (5, 4), "normal"),
    ("linear", lambda: [nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2, bias=False)], (4,), "normal"),
    ("dropout-flatten", lambda: [nn.Dropout(0.5), nn.Flatten(), nn.Dense(2)], (3, 2), "normal"),
    ("reshape-rescaling", lambda: [nn.Rescaling([0.5, 2.0, -1.0], 0.25), nn.Reshape((3, 2))], (2, 3), "normal"),
    ("rescaling-scalar", lambda: [nn.Rescaling(1 / 16), nn.Dense(2)], (4,), "normal"),
    ("maxout", lambda: [nn.Maxout(3, num_pieces=3)], (4,), "normal"),
    ("conv2d", lambda: [nn.Conv2D(3, 3, activation="relu")], (6, 5, 2), "normal"),
    ("conv2d-strides-same", lambda: [nn.Conv2D(3, (3, 2), strides=2, padding="same")], (7, 6, 2), "normal"),
    ("conv2d-dilation-same", lambda: [nn.Conv2D(2, 3, dilation_rate=2, padding="same", use_bias=False)],
     (7, 7, 1), "normal"),
    ("conv1d", lambda: [nn.Conv1D(3, 3, strides=2, padding="same", activation="softmax")], (9, 2), "normal"),
    ("conv1d-dilation", lambda: [nn.Conv1D(2, 2, dilation_rate=3)], (9, 2), "normal"),
    ("conv2d-transpose", lambda: [nn.Conv2DTranspose(3, 3, strides=2)], (3, 4, 2), "normal"),
    ("conv2d-transpose-same", lambda: [nn.Conv2DTranspose(2, (3, 4), strides=2, padding="same",
                                                          activation="sigmoid")], (3, 3, 2), "normal"),
    ("max-pool2d", lambda: [nn.MaxPooling2D(2)], (5, 4, 2), "normal"),
    ("max-pool2d-same", lambda: [nn.MaxPooling2D(3, strides=2, padding="same")], (5, 6, 2), "normal"),
    ("avg-pool2d-same", lambda: [nn.AveragePooling2D((2, 3), padding="same")], (5, 5, 2), "normal"),
    ("max-pool1d", lambda: [nn.MaxPooling1D(3, strides=2, padding="same")], (8, 2), "normal"),
    ("avg-pool1d", lambda: [nn.AveragePooling1D(2)], (7, 3), "normal"),
    ("global-pools-2d", lambda: [nn.Conv2D(2, 1), nn.GlobalAveragePooling2D()], (3, 4, 2), "normal"),
    ("global-max-2d", lambda: [nn.GlobalMaxPooling2D()], (3, 4, 2), "normal"),
    ("global-pools-1d", lambda: [nn.GlobalAveragePooling1D()], (5, 3), "normal"),
    ("global-max-1d", lambda: [nn.GlobalMaxPooling1D()], (5, 3), "normal"),
    ("upsampling", lambda: [nn.UpSampling2D((2, 3))], (2, 3, 2), "normal"),
    ("batch-norm", lambda: [nn.Dense(4), nn.BatchNormalization()], (3,), "normal"),
    ("batch-norm-no-affine", lambda: [nn.BatchNormalization(center=False, scale=False)], (3, 3, 2), "normal"),
    ("layer-norm", lambda: [nn.LayerNormalization(epsilon=1e-5)], (3, 4), "normal"),
    ("layer-norm-no-affine", lambda: [nn.LayerNormalization(center=False, scale=False)], (4,), "normal"),
    ("embedding", lambda: [nn.Embedding(6, 3), nn.Flatten()], (5,), "ids"),
    ("simple-rnn", lambda: [nn.SimpleRNN(3)], (5, 2), "normal"),
    ("simple-rnn-relu-sequences", lambda: [nn.SimpleRNN(3, activation="relu", return_sequences=True)],
     (5, 2), "normal"),
    ("lstm", lambda: [nn.LSTM(3, return_sequences=True), nn.LSTM(2)], (4, 2), "normal"),
    ("lstm-backwards", lambda: [nn.LSTM(3, go_backwards=True, return_sequences=True)], (4, 2), "normal"),
    ("gru", lambda: [nn.GRU(3, return_sequences=True), nn.GRU(2, go_backwards=True)], (4, 2), "normal"),
    ("bidirectional-concat", lambda: [nn.Bidirectional(nn.LSTM(3, return_sequences=True))], (4, 2), "normal"),
    ("bidirectional-sum", lambda: [nn.Bidirectional(nn.GRU(3), merge_mode="sum")], (4, 2), "normal"),
    ("bidirectional-mul-ave", lambda: [nn.Bidirectional(nn.SimpleRNN(3, return_sequences=True), "mul"),
                                       nn.Bidirectional(nn.GRU(2), "ave")], (4, 2), "normal"),
    ("time-distributed", lambda: [nn.TimeDistributed(nn.Dense(3, activation="elu"))], (4, 2), "normal"),
    ("time-distributed-conv", lambda: [nn.TimeDistributed(nn.Conv2D(2, 2)), nn.Flatten()], (3, 4, 4, 1), "normal"),
    ("masking-lstm", lambda: [nn.Masking(), nn.LSTM(3, return_sequences=True), nn.LSTM(2)], (6, 2), "masked"),
    ("masking-gru-backwards", lambda: [nn.Masking(), nn.GRU(3, go_backwards=True, return_sequences=True),
                                       nn.TimeDistributed(nn.Dense(2)), nn.SimpleRNN(2)], (6, 2), "masked"),
    ("masking-bidirectional", lambda: [nn.Masking(), nn.Bidirectional(nn.LSTM(3, return_sequences=True)),
                                       nn.Bidirectional(nn.GRU(2), merge_mode="ave")], (6, 2), "masked"),
    ("embedding-mask-zero", lambda: [nn.Embedding(6, 3, mask_zero=True), nn.SimpleRNN(3, activation="relu")],
     (6,), "ids"),
    ("embedding-mask-zero-gru", lambda: [nn.Embedding(6, 3, mask_zero=True), nn.GRU(3)], (6,), "ids"),
    ("gru-reset-before", lambda: [nn.GRU(3, reset_after=False, return_sequences=True),
                                  nn.GRU(2, reset_after=False, go_backwards=True)], (4, 2), "normal"),
    ("masking-gru-reset-before", lambda: [nn.Masking(), nn.Bidirectional(nn.GRU(2, reset_after=False))],
     (6, 2), "masked"),
]


@pytest.mark.parametrize("layers, shape, kind", [c[1:] for c in LAYER_CASES], ids=[c[0] for c in LAYER_CASES])
def test_layer_matches_predict_in_onnxruntime(layers, shape, kind, tmp_path):
    rng = np.random.default_rng(0)
    model = gn.Sequential(layers(), seed=0)
    model.predict(_data(kind, 2, shape, rng))
    _perturb(model, rng)
    _check(model, str(tmp_path / "model.onnx"), shape, kind, rng)


def _layer_types(layer):
    yield type(layer)
    for inner in (getattr(layer, "layer", None), getattr(layer, "forward_layer", None)):
        if inner is not None:
            yield from _layer_types(inner)


def test_every_converter_has_a_case():
    covered = {t for _, layers, _, _ in LAYER_CASES for layer in layers() for t in _layer_types(layer)}
    covered |= {type(layer) for layer in ACTIVATION_LAYERS()}
    missing = {cls.__name__ for cls in glassnet.onnx.CONVERTERS} - {cls.__name__ for cls in covered}
    assert not missing, f"converters without a test case: {sorted(missing)}"


def ACTIVATION_LAYERS():  # noqa: N802 - a table, as the cases above
    return [nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(), nn.LeakyReLU(alpha=0.3), nn.ELU(alpha=0.7), nn.SELU(), nn.GELU(),
            nn.GELU(approximate=True), nn.Sigmoid(), nn.HardSigmoid(), nn.Tanh(), nn.Softplus(), nn.Softsign(),
            nn.Swish(), nn.Softmax(), nn.LogSoftmax(), nn.Activation("relu6"), nn.Activation("maxout", num_pieces=3)]


@pytest.mark.parametrize("name", [n for n in activations.ACTIVATIONS.names()])
def test_every_activation_of_dense(name, tmp_path):
    rng = np.random.default_rng(1)
    model = gn.Sequential([nn.Dense(6, activation=name, input_dim=4)], seed=0)
    _perturb(model, rng)
    _check(model, str(tmp_path / "model.onnx"), (4,), "normal", rng)


def test_every_activation_layer(tmp_path):
    rng = np.random.default_rng(2)
    for i, layer in enumerate(ACTIVATION_LAYERS()):
        model = gn.Sequential([nn.Dense(6, input_dim=3), layer], seed=0)
        _perturb(model, rng)
        _check(model, str(tmp_path / f"model{i}.onnx"), (3,), "normal", rng)


@pytest.mark.parametrize("opset", [17, 18, 20])
def test_opsets_whose_operators_changed(opset, tmp_path):
    """Reductions take their axes as an input from opset 18; GELU is one operator from 20."""
    rng = np.random.default_rng(3)
    model = gn.Sequential([nn.Masking(), nn.Dense(6, activation="gelu"), nn.Activation("maxout"),
                           nn.GlobalMaxPooling1D()], seed=0)
    model.predict(_data("masked", 2, (5, 2), rng))
    _perturb(model, rng)
    proto = glassnet.onnx.export(model, str(tmp_path / "m.onnx"), opset=opset)
    assert proto.opset_import[0].version == opset
    _check(model, str(tmp_path / "m.onnx"), (5, 2), "masked", rng, opset=opset)


def test_file_has_a_dynamic_batch_and_a_loadable_ir_version(tmp_path):
    model = gn.Sequential([nn.Dense(2, input_dim=3)], seed=0)
    glassnet.onnx.export(model, str(tmp_path / "m.onnx"))
    proto = onnx.load(str(tmp_path / "m.onnx"))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 3
    assert proto.ir_version == 8  # the IR version of opset 17, which every current onnxruntime loads


# -- the README's models -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    x, y = gn.datasets.load_digits()
    return x.astype(np.float32), y


def test_readme_digits_mlp(digits, tmp_path):
    x, y = digits
    model = gn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:500] / 16, y[:500], epochs=2, verbose=0, seed=0)
    _check_examples(model, x / 16, (64,), tmp_path)


def test_cnn_example(example, digits, tmp_path):
    x, y = digits
    model = example("cnn_digits").build(seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:256], y[:256], epochs=1, batch_size=64, verbose=0, seed=0)  # moves the moving statistics
    _check_examples(model, x, (64,), tmp_path)


def test_lstm_example(example, digits, tmp_path):
    x, y = digits
    rows = (x / 16).reshape(-1, 8, 8)
    model = example("sequences").rows_model("lstm", seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(rows[:256], y[:256], epochs=1, batch_size=64, verbose=0, seed=0)
    _check_examples(model, rows, (8, 8), tmp_path)


def _check_examples(model, x, shape, tmp_path):
    """Random batches of digits and of noise in the digits' range."""
    path = str(tmp_path / "model.onnx")
    glassnet.onnx.export(model, path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(4)
    for n in BATCHES + (64,):
        for batch in (x[rng.choice(len(x), n)], rng.uniform(0, x.max(), (n, *shape)).astype(np.float32)):
            np.testing.assert_allclose(session.run(None, {"input": batch})[0], model.predict(batch),
                                       rtol=0, atol=1e-5)


def test_export_command(tmp_path, capsys):
    model = gn.Sequential([nn.Dense(4, activation="relu", input_dim=3), nn.Dense(2, activation="softmax")], seed=0)
    model.save(str(tmp_path / "m.gnet"))
    out = tmp_path / "m.onnx"
    assert cli.main(["export", str(tmp_path / "m.gnet"), "--onnx", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    x = np.random.default_rng(5).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(str(out), x), model.predict(x), rtol=0, atol=1e-5)


def test_export_command_errors(tmp_path, capsys):
    model = gn.Sequential([nn.Dense(2, input_dim=3)], seed=0)
    model.save(str(tmp_path / "m.gnet"))
    assert cli.main(["export", str(tmp_path / "m.gnet"), "--onnx", str(tmp_path / "m.onnx"), "--opset", "9"]) == 1
    assert "opset=9" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


# -- what cannot be exported says so -----------------------------------------------------------
class Doubler(gn.nn.Layer):
    def forward(self, x):
        return x * 2


def _export_error(layers, tmp_path, shape=(3,)):
    model = gn.Sequential(layers, seed=0)
    model.build((1, *shape))
    model.built = True
    with pytest.raises(ValueError) as info:
        glassnet.onnx.export(model, str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()
    return str(info.value)


def test_unknown_layer_is_named(tmp_path):
    message = _export_error([nn.Dense(2), Doubler(name="twice")], tmp_path)
    assert "Doubler layer 'twice'" in message and "cannot be exported" in message


def test_custom_activation_is_named(tmp_path):
    message = _export_error([nn.Dense(2, activation=lambda z: z * 3, name="odd")], tmp_path)
    assert "Dense layer 'odd'" in message and "no ONNX form" in message


def test_return_state_is_named(tmp_path):
    message = _export_error([nn.LSTM(2, return_state=True, name="stateful")], tmp_path, shape=(3, 2))
    assert "LSTM layer 'stateful'" in message and "return_state" in message


def test_bad_arguments(tmp_path):
    model = gn.Sequential([nn.Dense(2, input_dim=3)], seed=0)
    with pytest.raises(ValueError, match="Received: opset=16"):
        glassnet.onnx.export(model, str(tmp_path / "m.onnx"), opset=16)
    with pytest.raises(ValueError, match="input_shape"):
        glassnet.onnx.export(model, str(tmp_path / "m.onnx"), input_shape=(0,))
    with pytest.raises(ValueError, match="built model"):
        glassnet.onnx.export(gn.Sequential([nn.Dense(2)]), str(tmp_path / "m.onnx"))
    with pytest.raises(TypeError, match="Sequential"):
        glassnet.onnx.export(nn.Dense(2), str(tmp_path / "m.onnx"))


# -- functional models ---------------------------------------------------------------------------
def _functional_check(model, shapes, tmp_path, kinds=None):
    rng = np.random.default_rng(6)
    _perturb(model, rng)
    path = str(tmp_path / "functional.onnx")
    glassnet.onnx.export(model, path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == model.input_names
    assert [o.name for o in session.get_outputs()] == model.output_names
    for n in BATCHES:
        xs = {name: _data(kind, n, shape, rng)
              for name, shape, kind in zip(model.input_names, shapes, kinds or ["normal"] * len(shapes))}
        expected = model.predict(xs)
        expected = expected if isinstance(expected, list) else [expected]
        for got, want in zip(session.run(None, xs), expected):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


MERGE_CASES = [
    ("add", lambda: nn.Add()),
    ("subtract", lambda: nn.Subtract()),
    ("multiply", lambda: nn.Multiply()),
    ("average", lambda: nn.Average()),
    ("maximum", lambda: nn.Maximum()),
    ("minimum", lambda: nn.Minimum()),
    ("concatenate", lambda: nn.Concatenate()),
    ("concatenate-axis1", lambda: nn.Concatenate(axis=1)),
    ("dot", lambda: nn.Dot(axes=-1)),
    ("dot-normalize", lambda: nn.Dot(axes=2, normalize=True)),
    ("dot-axes", lambda: nn.Dot(axes=(1, 1))),
]


@pytest.mark.parametrize("merge", [c[1] for c in MERGE_CASES], ids=[c[0] for c in MERGE_CASES])
def test_merge_layers(merge, tmp_path):
    a, b = gn.Input((3, 4), name="a"), gn.Input((3, 4), name="b")
    ha, hb = nn.Dense(4, activation="tanh")(a), nn.Dense(4)(b)
    layer = merge()
    out = layer([ha, hb, a] if isinstance(layer, (nn.Add, nn.Maximum)) else [ha, hb])  # Add, Maximum: three
    model = gn.Model([a, b], nn.Flatten()(out), seed=0)
    _functional_check(model, [(3, 4), (3, 4)], tmp_path)


def test_every_merge_layer_has_a_case():
    assert {type(m()) for _, m in MERGE_CASES} == set(glassnet.onnx.MERGES)


def test_functional_branches_shared_layer_two_outputs(tmp_path):
    x = gn.Input((6, 6, 1), name="image")
    h = nn.Conv2D(4, 3, padding="same", activation="relu")(x)
    skip = nn.Add()([h, nn.Conv2D(4, 3, padding="same")(h)])
    pooled = nn.GlobalAveragePooling2D()(nn.BatchNormalization()(skip))
    shared = nn.Dense(3)
    logits = nn.Add()([shared(pooled), shared(nn.GlobalMaxPooling2D()(h))])
    model = gn.Model(x, [nn.Softmax(name="probabilities")(logits), nn.Dense(1, name="score")(pooled)], seed=0)
    _functional_check(model, [(6, 6, 1)], tmp_path)


def test_functional_masked_sequences_of_any_length(tmp_path):
    ids = gn.Input((7,), name="ids")
    words = nn.Embedding(6, 4, mask_zero=True)(ids)
    encoded = nn.Bidirectional(nn.GRU(3, return_sequences=True))(words)
    model = gn.Model(ids, nn.Dense(2)(nn.LSTM(3)(encoded)), seed=0)
    _functional_check(model, [(7,)], tmp_path, kinds=["ids"])


def test_functional_dynamic_steps_stay_dynamic(tmp_path):
    seq = gn.Input((None, 3), name="seq")
    h = nn.TimeDistributed(nn.Dense(4, activation="relu"))(seq)
    h = nn.Conv1D(4, 3, padding="same")(h)
    model = gn.Model(seq, [nn.LSTM(2, return_sequences=True)(h), nn.GRU(2)(h)], seed=0)
    rng = np.random.default_rng(7)
    _perturb(model, rng)
    path = str(tmp_path / "dynamic.onnx")
    glassnet.onnx.export(model, path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for steps in (2, 5, 9):
        x = rng.standard_normal((3, steps, 3)).astype(np.float32)
        for got, want in zip(session.run(None, {"seq": x}), model.predict(x)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_functional_unrolling_needs_fixed_steps(tmp_path):
    seq = gn.Input((None, 2), name="seq")
    model = gn.Model(seq, nn.LSTM(2, name="reader")(nn.Masking()(seq)))
    with pytest.raises(ValueError, match="LSTM layer 'reader' is unrolled over the time steps"):
        glassnet.onnx.export(model, str(tmp_path / "m.onnx"))


def test_sequential_started_with_input(tmp_path):
    model = gn.Sequential([gn.Input((5,)), nn.Embedding(6, 3, mask_zero=True), nn.GRU(2)], seed=0)
    _perturb(model, np.random.default_rng(8))
    dims = glassnet.onnx.export(model, str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 5]
    _check(model, str(tmp_path / "m.onnx"), (5,), "ids", np.random.default_rng(9))


def test_sequential_started_with_an_open_length(tmp_path):
    model = gn.Sequential([gn.Input((None, 2)), nn.LSTM(3, return_sequences=True), nn.GRU(2, reset_after=False)],
                          seed=0)
    _perturb(model, np.random.default_rng(8))
    dims = glassnet.onnx.export(model, str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_param and dims[2].dim_value == 2  # the steps stay dynamic
    for steps in (3, 7):
        x = np.random.default_rng(steps).standard_normal((2, steps, 2)).astype(np.float32)
        np.testing.assert_allclose(_run(str(tmp_path / "m.onnx"), x), model.predict(x), rtol=0, atol=1e-5)
