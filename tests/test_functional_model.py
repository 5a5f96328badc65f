"""The functional API: Input, layers called on symbolic tensors, Model(inputs, outputs)."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def two_in_two_out(seed=0):
    """Two inputs, a shared layer, a skip connection, two outputs."""
    a, b = gn.Input((4,), name="a"), gn.Input((4,), name="b")
    shared = nn.Dense(6, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)  # one layer, two calls
    h = nn.Dense(6, activation="relu", name="hidden")(nn.Concatenate(name="joined")([ha, hb]))
    h = nn.Add(name="skip")([h, ha])
    flag = nn.Dense(1, activation="sigmoid", name="flag")(h)
    kind = nn.Dense(3, activation="softmax", name="kind")(h)
    return gn.Model(inputs=[a, b], outputs=[flag, kind], seed=seed)


def data(n=96):
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((n, 4)), rng.standard_normal((n, 4))
    flag = (xa[:, 0] + xb[:, 0] > 0).astype(np.float32)
    kind = (xa[:, 1] > 0).astype(int) + (xb[:, 1] > 0)
    return xa, xb, flag, kind


def test_model_of_symbolic_tensors_is_functional_with_names_and_shapes():
    model = two_in_two_out()
    assert isinstance(model, gn.Functional) and isinstance(model, gn.Model)
    assert model.input_names == ["a", "b"] and model.output_names == ["flag", "kind"]
    assert [type(layer).__name__ for layer in model.layers].count("Dense") == 4  # the shared layer once
    assert model.count_params() == (4 * 6 + 6) + (12 * 6 + 6) + (6 + 1) + (6 * 3 + 3)
    xa, xb, _, _ = data(5)
    flag, kind = model.predict([xa, xb], verbose=0)
    assert flag.shape == (5, 1) and kind.shape == (5, 3)
    by_name = model.predict({"b": xb, "a": xa})
    np.testing.assert_array_equal(by_name[1], kind)


def test_the_graph_computes_what_the_layers_compute_by_hand():
    model = two_in_two_out()
    xa, xb, _, _ = data(7)
    layer = {layer.name: layer for layer in model.layers}
    ha, hb = layer["shared"](xa), layer["shared"](xb)
    h = layer["hidden"](np.concatenate([ha.data, hb.data], axis=1)).data + ha.data
    np.testing.assert_allclose(model.predict([xa, xb])[1], layer["kind"](h).data, rtol=1e-6)


def test_fit_with_dicts_per_output_losses_metrics_and_loss_weights():
    model = two_in_two_out()
    model.compile(optimizer=gn.optim.Adam(learning_rate=0.02),
                  loss={"flag": "binary_crossentropy", "kind": "sparse_categorical_crossentropy"},
                  metrics={"flag": ["accuracy"], "kind": ["accuracy"]}, loss_weights={"flag": 1.0, "kind": 0.5})
    xa, xb, flag, kind = data()
    history = model.fit({"a": xa, "b": xb}, {"flag": flag, "kind": kind}, epochs=30, batch_size=32, verbose=0,
                        validation_split=0.25, seed=0)
    logs = history.history
    assert set(logs) == {"loss", "flag_loss", "kind_loss", "flag_accuracy", "kind_accuracy", "val_loss",
                         "val_flag_loss", "val_kind_loss", "val_flag_accuracy", "val_kind_accuracy"}
    for prefix in ("", "val_"):  # the total is the weighted sum of the per-output losses
        np.testing.assert_allclose(logs[f"{prefix}loss"], np.add(logs[f"{prefix}flag_loss"],
                                                                 0.5 * np.array(logs[f"{prefix}kind_loss"])), rtol=1e-5)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    result = model.evaluate([xa, xb], [flag, kind], return_dict=True)
    assert result["flag_accuracy"] > 0.85 and result["kind_accuracy"] > 0.75
    # the loss is the weighted sum of the output losses
    flag_p, kind_p = model.predict([xa, xb])
    bce = gn.nn.BinaryCrossentropy()(flag, flag_p).item()
    sce = gn.nn.SparseCategoricalCrossentropy()(kind, kind_p).item()
    assert result["loss"] == pytest.approx(bce + 0.5 * sce, rel=1e-5)


def test_lists_and_dicts_are_the_same_training_run():
    xa, xb, flag, kind = data(64)
    runs = []
    for x, y in (([xa, xb], [flag, kind]), ({"a": xa, "b": xb}, {"kind": kind, "flag": flag})):
        model = two_in_two_out()
        model.compile(loss=["binary_crossentropy", "sparse_categorical_crossentropy"])
        runs.append(model.fit(x, y, epochs=2, verbose=0, seed=1).history["loss"])
    assert runs[0] == runs[1]


def test_errors_name_the_valid_inputs_and_outputs():
    model = two_in_two_out()
    model.compile(loss="mse")
    xa, xb, flag, kind = data(8)
    with pytest.raises(ValueError, match=r"\['c'\] match no model input; the valid names are \['a', 'b'\]"):
        model.predict({"a": xa, "c": xb})
    with pytest.raises(ValueError, match=r"\['flg'\] match no model output; the valid names are \['flag', 'kind'\]"):
        model.fit([xa, xb], {"flg": flag, "kind": kind}, verbose=0)
    with pytest.raises(ValueError, match=r"has 2 inputs \['a', 'b'\]; received 3"):
        model.predict([xa, xb, xb])
    with pytest.raises(ValueError, match=r"match no model output"):
        model.compile(loss={"nope": "mse"})
    a, b = gn.Input((3,), name="a"), gn.Input((3,), name="b")
    with pytest.raises(ValueError, match=r"depend on the input 'b', which is not among the model's inputs \['a'\]"):
        gn.Model(a, nn.Dense(1)(b))
    with pytest.raises(TypeError, match="symbolic tensors"):
        gn.Model(a, np.zeros(3))


def test_shared_layer_gets_gradients_from_both_calls():
    model = two_in_two_out()
    shared = next(layer for layer in model.layers if layer.name == "shared")
    xa, xb, _, _ = data(4)
    out = model.forward([gn.Tensor(xa.astype(np.float32)), gn.Tensor(xb.astype(np.float32))])
    (out[0].sum() + out[1].sum()).backward()
    assert shared.kernel.grad is not None and np.abs(shared.kernel.grad).sum() > 0


def test_summary_has_connected_to_and_totals():
    text = two_in_two_out().summary(print_fn=lambda s: None)
    assert "Connected to" in text
    assert "joined (Concatenate)" in text and "shared[0][0], shared[1][0]" in text
    assert "skip (Add)" in text and "hidden[0][0], shared[0][0]" in text
    assert "Total params: 136" in text and "Trainable params: 136" in text and "Non-trainable params: 0" in text


def test_save_and_load_is_exact_with_compile_and_optimizer_state(tmp_path):
    model = two_in_two_out()
    model.compile(loss={"flag": "binary_crossentropy", "kind": "sparse_categorical_crossentropy"},
                  metrics=["accuracy"], loss_weights=[1.0, 0.25])
    xa, xb, flag, kind = data(64)
    model.fit([xa, xb], [flag, kind], epochs=2, verbose=0, seed=0)
    model.save(tmp_path / "two.gnet")
    same = gn.load_model(tmp_path / "two.gnet")
    assert isinstance(same, gn.Functional) and same.output_names == ["flag", "kind"]
    for p, q in zip(model.predict([xa, xb]), same.predict([xa, xb])):
        np.testing.assert_array_equal(p, q)
    assert same.loss_weights == [1.0, 0.25]
    a = model.fit([xa, xb], [flag, kind], epochs=3, initial_epoch=2, verbose=0, seed=0).history
    b = same.fit([xa, xb], [flag, kind], epochs=3, initial_epoch=2, verbose=0, seed=0).history
    assert a == b


def test_single_input_output_with_branches_and_variable_length_sequences():
    tokens = gn.Input((None,), dtype="int64", name="tokens")
    x = nn.Embedding(20, 4, mask_zero=True)(tokens)
    assert x.shape == (None, None, 4)
    left, right = nn.LSTM(3)(x), nn.GRU(3)(x)
    out = nn.Dense(1, activation="sigmoid")(nn.Concatenate()([left, right]))
    model = gn.Model(tokens, out, seed=0)
    ids = np.array([[3, 4, 0, 0], [5, 6, 7, 8]])
    p = model.predict(ids)
    assert p.shape == (2, 1)
    # padding (id 0) is masked: the first row equals the same row without its padding
    np.testing.assert_allclose(model.predict(ids[:1, :2]), p[:1], rtol=1e-5)
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, np.array([0.0, 1.0]), epochs=2, verbose=0)
    assert len(history.history["accuracy"]) == 2


def test_seed_makes_the_model_reproducible():
    xa, xb, _, _ = data(3)
    p1, p2 = two_in_two_out(seed=3).predict([xa, xb]), two_in_two_out(seed=3).predict([xa, xb])
    np.testing.assert_array_equal(p1[1], p2[1])
    assert not np.array_equal(p1[1], two_in_two_out(seed=4).predict([xa, xb])[1])


def test_sequential_starting_with_input_or_input_shape_builds_at_once():
    model = gn.Sequential([gn.Input((8, 8, 1)), nn.Conv2D(4, 3, activation="relu"), nn.Flatten(), nn.Dense(2)])
    assert model.built and "(None, 6, 6, 4)" in model.summary(print_fn=lambda s: None)
    model = gn.Sequential([nn.Dense(5, input_shape=(3,)), nn.Dense(1)])
    assert model.built and model.count_params() == 3 * 5 + 5 + 6
    model = gn.Sequential([nn.Conv2D(2, 3), nn.Flatten(), nn.Dense(3)])
    model.build((None, 8, 8, 1))
    assert model.built and "Total params: 2" in model.summary(print_fn=lambda s: None)
    text = gn.Sequential([nn.Embedding(1000, 16, input_shape=(40,)), nn.GlobalAveragePooling1D()]).summary(
        print_fn=lambda s: None)
    assert "(None, 40, 16)" in text and "(None, 16)" in text
    assert not gn.Sequential([nn.Embedding(1000, 16), nn.Dense(1)]).built  # 1000 is the vocabulary, not a width


def test_sequential_starting_with_an_open_size_builds_at_once_and_takes_any_length(tmp_path):
    # Keras's habit for text: Sequential([Input(shape=(None,)), Embedding, LSTM, ...]), sequences of any length
    model = gn.Sequential([gn.Input((None,)), nn.Embedding(50, 4), nn.Bidirectional(nn.LSTM(3)), nn.Dense(1)], seed=0)
    text = model.summary(print_fn=lambda s: None)
    assert model.built and "(None, None, 4)" in text and "(None, 6)" in text
    assert "Total params: 399" in text  # Embedding 50 * 4, two LSTM(3) on 4 features 4 * (3 * 7 + 3), Dense 7
    model.save(tmp_path / "open.gnet")
    same = gn.load_model(tmp_path / "open.gnet")
    assert same._input_shape == (None,)
    for steps in (3, 11):
        ids = np.random.default_rng(steps).integers(0, 50, (2, steps))
        np.testing.assert_array_equal(same.predict(ids), model.predict(ids))
    # images of any size: a fully convolutional model; a size that follows an open one stays None
    conv = gn.Sequential([nn.Conv2D(2, 3, input_shape=(None, None, 1)), nn.MaxPooling2D(2), nn.Conv2D(2, 3),
                          nn.GlobalMaxPooling2D()])
    text = conv.summary(print_fn=lambda s: None)
    assert "(None, None, None, 2)" in text and "(None, 2)" in text and conv.count_params() == 20 + 38
    assert conv.predict(np.zeros((1, 9, 12, 1))).shape == (1, 2)
    hidden = nn.Conv2D(2, 3)(nn.MaxPooling2D(2)(nn.Conv2D(2, 3)(gn.Input((None, None, 1)))))
    assert hidden.shape == (None, None, None, 2)


def test_network_diagram_draws_the_graph(tmp_path):
    from glassnet.graph_picture import layer_graph  # noqa: PLC0415

    model = two_in_two_out()
    path = gn.pictures.network_diagram(model, tmp_path / "graph.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    svg = layer_graph(model, tmp_path / "graph.svg")
    assert open(svg).read().count("<path") > 10  # boxes and arrows
