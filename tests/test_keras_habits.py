"""Keras's namespaces and habits: gn.layers, gn.losses, ..., utils, weights files,
trainable, history.params, and parameter counts equal to Keras's documented numbers."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import layers, nn


def test_keras_namespaces_show_glassnet_objects():
    from glassnet.layers import Bidirectional, Dense  # noqa: PLC0415 - the import style under test
    from glassnet.losses import CategoricalCrossentropy  # noqa: PLC0415

    assert Dense is gn.nn.Dense and Bidirectional is gn.nn.Bidirectional and layers.Input is gn.Input
    assert CategoricalCrossentropy is gn.nn.CategoricalCrossentropy
    assert gn.optimizers.Adam is gn.optim.Adam and gn.optimizers.get("sgd").__class__ is gn.optim.SGD
    assert gn.activations.relu is gn.functional.relu and gn.activations.linear is gn.nn.activations.linear
    assert type(gn.initializers.get("he_normal")) is type(gn.nn.initializers.get("he_normal"))
    assert gn.regularizers.L2 is gn.nn.L2 and gn.callbacks.EarlyStopping is not None
    # Keras's lower-case names: kernel_regularizer=regularizers.l2(0.01), initializers.he_normal()
    assert gn.regularizers.l2(0.01).l2 == 0.01 and gn.regularizers.l1_l2(l1=0.1, l2=0.2).l1 == 0.1
    assert isinstance(gn.regularizers.l1(0.5), gn.nn.L1) and {"l1", "l2", "L2"} <= set(dir(gn.regularizers))
    assert isinstance(gn.initializers.he_normal(), gn.initializers.HeNormal)
    assert "glorot_uniform" in dir(gn.initializers)
    assert gn.models.Sequential is gn.Sequential and gn.models.Model is gn.Model and gn.models.load_model
    assert {"Dense", "Concatenate", "LSTM"} <= set(dir(gn.layers))
    with pytest.raises(AttributeError):
        gn.layers.NoSuchLayer  # noqa: B018


def test_to_categorical_and_pad_sequences_as_in_keras():
    np.testing.assert_array_equal(gn.utils.to_categorical([2, 0], 4), [[0, 0, 1, 0], [1, 0, 0, 0]])
    assert gn.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)  # a trailing 1 is dropped
    with pytest.raises(ValueError, match=r"Received: num_classes=2"):
        gn.utils.to_categorical([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="whole-number labels >= 0"):
        gn.utils.to_categorical([0.5, -1])
    seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(gn.utils.pad_sequences(seqs, maxlen=4),
                                  [[0, 1, 2, 3], [0, 0, 0, 4], [6, 7, 8, 9]])
    np.testing.assert_array_equal(gn.utils.pad_sequences(seqs, maxlen=4, padding="post", truncating="post", value=-1),
                                  [[1, 2, 3, -1], [4, -1, -1, -1], [5, 6, 7, 8]])
    assert gn.utils.pad_sequences(seqs).shape == (3, 5) and gn.utils.pad_sequences(seqs).dtype == np.int32
    with pytest.raises(ValueError, match="Received: padding='middle'"):
        gn.utils.pad_sequences(seqs, padding="middle")


def small_model(seed=0):
    model = gn.Sequential([gn.Input((4,)), layers.Dense(5, activation="relu"), layers.BatchNormalization(),
                           layers.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=40):
    x = np.random.default_rng(0).standard_normal((n, 4))
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)


def test_save_weights_load_weights_and_foreign_names(tmp_path):
    model, x, y = small_model(), *data()
    model.fit(x, y, epochs=2, verbose=0)
    model.save_weights(tmp_path / "m.weights.safetensors")
    other = small_model(seed=1)
    assert not np.array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    other.load_weights(tmp_path / "m.weights.safetensors")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    for name in ("model.keras", "model.h5", "model.weights.h5"):
        for save in (model.save, model.save_weights):
            with pytest.raises(ValueError, match=r"glassnet's own format .* not (Keras's .keras format|HDF5)"):
                save(tmp_path / name)
        assert not (tmp_path / name).exists()
    with pytest.raises(gn.ModelFileError, match="weights only"):
        gn.load_model(tmp_path / "m.weights.safetensors")
    with pytest.raises(gn.ModelFileError, match="do not fit the model"):
        gn.Sequential([gn.Input((4,)), layers.Dense(2)]).load_weights(tmp_path / "m.weights.safetensors")


def test_layer_get_and_set_weights():
    dense = layers.Dense(3, input_shape=(2,))
    dense.build((None, 2))
    kernel, bias = dense.get_weights()
    assert kernel.shape == (2, 3) and bias.shape == (3,)
    dense.set_weights([np.ones((2, 3)), np.arange(3.0)])
    np.testing.assert_array_equal(dense(np.ones((1, 2))).data, [[2, 3, 4]])
    with pytest.raises(ValueError, match=r"array 0 must have shape \(2, 3\); received \(3, 2\)"):
        dense.set_weights([np.ones((3, 2)), np.zeros(3)])
    bn = layers.BatchNormalization()
    bn(np.ones((2, 4)))
    assert [w.shape for w in bn.get_weights()] == [(4,)] * 4  # gamma, beta, moving mean, moving variance


def test_trainable_false_freezes_a_layer_and_counts_it_non_trainable(tmp_path):
    model, x, y = small_model(), *data()
    first = model.layers[0]
    first.trainable = False
    before = [w.copy() for w in first.get_weights()]
    last_before = model.layers[2].get_weights()[0].copy()
    model.fit(x, y, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, first.get_weights()))
    assert not np.array_equal(last_before, model.layers[2].get_weights()[0])
    text = model.summary(print_fn=lambda s: None)
    # Dense(5) on 4: 25 frozen; BatchNormalization(5): 10 trainable + 10 moving statistics; Dense(3): 18
    assert "Total params: 63" in text and "Trainable params: 28" in text and "Non-trainable params: 35" in text
    model.save(tmp_path / "frozen.gnet")
    same = gn.load_model(tmp_path / "frozen.gnet")
    assert not same.layers[0].trainable and same.count_trainable_params() == 28
    a = model.fit(x, y, epochs=3, initial_epoch=2, verbose=0, seed=0).history
    assert a == same.fit(x, y, epochs=3, initial_epoch=2, verbose=0, seed=0).history
    first.trainable = True
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(before[0], first.get_weights()[0])


def test_history_params_and_epoch():
    model, x, y = small_model(), *data()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 3}
    assert history.epoch == [0, 1, 2]


def keras_counts(model):
    return [(layer.name, layer.count_params()) for layer in model.layers if layer.count_params()]


def test_parameter_counts_equal_keras_documented_numbers():
    # Keras's "Simple MNIST convnet" example (28x28x1 input): 320 / 18,496 / 16,010, total 34,826.
    mnist = gn.Sequential([gn.Input((28, 28, 1)), layers.Conv2D(32, (3, 3), activation="relu"),
                           layers.MaxPooling2D((2, 2)), layers.Conv2D(64, (3, 3), activation="relu"),
                           layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dropout(0.5),
                           layers.Dense(10, activation="softmax")])
    assert [c for _, c in keras_counts(mnist)] == [320, 18496, 16010] and mnist.count_params() == 34826
    # Keras's "Bidirectional LSTM on IMDB" example: 2,560,000 / 98,816 / 98,816 / 129, total 2,757,761.
    tokens = gn.Input((None,), dtype="int32")
    h = layers.Embedding(20000, 128)(tokens)
    h = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(h)
    h = layers.Bidirectional(layers.LSTM(64))(h)
    imdb = gn.Model(tokens, layers.Dense(1, activation="sigmoid")(h))
    assert [c for _, c in keras_counts(imdb)] == [2560000, 98816, 98816, 129] and imdb.count_params() == 2757761
    text = imdb.summary(print_fn=lambda s: None)
    assert "(None, None, 128)" in text and "Total params: 2,757,761" in text
    # Keras's RNN guide: Embedding(1000, 64) 64,000; GRU(256) 247,296 (reset_after=True);
    # SimpleRNN(128) 49,280; Dense(10) 1,290; total 361,866. LSTM(128) on 64 features: 98,816.
    rnn = gn.Sequential([gn.Input((None,)), layers.Embedding(1000, 64), layers.GRU(256, return_sequences=True),
                         layers.SimpleRNN(128), layers.Dense(10)])
    rnn.build((None, 5))
    assert [c for _, c in keras_counts(rnn)] == [64000, 247296, 49280, 1290] and rnn.count_params() == 361866
    assert layers.LSTM(128)(np.zeros((1, 2, 64))) is not None
    # GRU(256) on 64 features with reset_after=False (Keras 2's TensorFlow 1 default): one bias per gate,
    # 3 * (256 * (64 + 256) + 256) = 246,528; with reset_after=True (the default) 247,296.
    for reset_after, count in ((False, 246528), (True, 247296)):
        gru = gn.Sequential([gn.Input((5, 64)), layers.GRU(256, reset_after=reset_after)])
        assert gru.count_params() == count
    # BatchNormalization on 32 features: 128 weights, 64 trainable and 64 not; LayerNormalization: 64.
    bn = gn.Sequential([layers.BatchNormalization(input_shape=(32,))])
    text = bn.summary(print_fn=lambda s: None)
    assert "Total params: 128" in text and "Trainable params: 64" in text and "Non-trainable params: 64" in text
    assert gn.Sequential([layers.LayerNormalization(input_shape=(32,))]).count_params() == 64


def test_lstm_count_alone():
    lstm = layers.LSTM(128)
    lstm(np.zeros((1, 2, 64)))
    assert lstm.count_params() == 98816


def test_normalization_layers_take_keras_axis_first(tmp_path):
    # Keras's signatures: BatchNormalization(axis=-1, momentum=0.99, ...), LayerNormalization(axis=-1, epsilon, ...)
    bn = layers.BatchNormalization(-1, 0.9)
    assert (bn.axis, bn.momentum) == (-1, 0.9) and layers.LayerNormalization(-1, 1e-5).epsilon == 1e-5
    model = gn.Sequential([gn.Input((4, 4, 3)), layers.BatchNormalization(axis=3)])  # NHWC's channel axis by index
    model.save(tmp_path / "bn.gnet")
    assert model.count_params() == 12 and gn.load_model(tmp_path / "bn.gnet").layers[0].axis == 3
    with pytest.raises(ValueError, match=r"normalises the last axis .* axis=-1 or axis=3. Received: axis=1"):
        gn.Sequential([gn.Input((4, 4, 3)), layers.BatchNormalization(axis=1)])  # channels first: not glassnet's
    with pytest.raises(TypeError, match=r"Received: axis=\[1, 2\]"):
        layers.LayerNormalization(axis=[1, 2])


def test_initializer_objects_take_keras_seed_and_survive_save_and_load(tmp_path):
    def make(seed):
        return gn.Sequential([gn.Input((4,)), layers.Dense(3, kernel_initializer=gn.initializers.HeNormal(seed=7),
                                                           kernel_regularizer=gn.regularizers.l2(0.01)),
                              layers.Dense(64, kernel_initializer=gn.initializers.RandomNormal(stddev=0.1)),
                              layers.Dense(2, kernel_initializer=gn.initializers.Orthogonal(gain=2.0))], seed=seed)
    a, b = make(0), make(1)
    np.testing.assert_array_equal(a.layers[0].kernel.data, b.layers[0].kernel.data)  # the initializer's own seed
    assert not np.array_equal(a.layers[1].kernel.data, b.layers[1].kernel.data)  # the model's seed
    assert abs(a.layers[1].kernel.data.std() - 0.1) < 0.03  # 3 x 64 draws
    a.compile(optimizer="adam", loss="mse")
    a.save(tmp_path / "init.gnet")
    same = gn.load_model(tmp_path / "init.gnet")
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(same.predict(x), a.predict(x))
    config = same.layers[1].get_config()["kernel_initializer"]
    assert config == {"name": "random_normal", "mean": 0.0, "stddev": 0.1, "seed": None}
    assert same.layers[0].get_config()["kernel_initializer"] == {"name": "he_normal", "seed": 7}
    same.save(tmp_path / "again.gnet")  # a loaded model saves again (its layers hold the saved forms)
    np.testing.assert_array_equal(gn.load_model(tmp_path / "again.gnet").predict(x), a.predict(x))


def test_subclassed_model_with_keras_call_and_training_argument():
    seen = []

    class Classifier(gn.Model):  # Keras's subclassing: call(inputs, training=False)
        def __init__(self):
            super().__init__(seed=0)
            self.hidden = layers.Dense(16, activation="relu")
            self.dropout = layers.Dropout(0.5)
            self.out = layers.Dense(3, activation="softmax")

        def call(self, inputs, training=False):
            seen.append(training)
            return self.out(self.dropout(self.hidden(inputs), training=training))

    model, (x, y) = Classifier(), data(32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert seen[-2:] == [True, True]  # fit's steps: training=True, as Keras passes it
    seen.clear()
    model.predict(x, verbose=0)
    assert seen == [False]
    assert not np.array_equal(model(x, training=True).data, model(x, training=True).data)  # dropout draws
    np.testing.assert_array_equal(model(x, training=False).data, model.predict(x, verbose=0))
    dropout = layers.Dropout(0.5, seed=0)
    np.testing.assert_array_equal(dropout(np.ones((2, 8)), training=False).data, np.ones((2, 8)))
    with gn.nn.module.evaluating():  # training=True lifts inference mode for that call only
        assert (dropout(np.ones((4, 8)), training=True).data == 0).any()
        assert (dropout(np.ones((4, 8))).data == 1).all()


def test_get_layer_and_weights_lists_as_in_keras():
    model = small_model()
    model.layers[0].trainable = False
    assert model.get_layer("batch_normalization") is model.layers[1] and model.get_layer(index=2) is model.layers[2]
    with pytest.raises(ValueError, match=r"no layer named 'conv'; the model's layers are \['dense', "):
        model.get_layer("conv")
    # Dense(5) frozen: kernel, bias; BatchNormalization: gamma, beta trainable, moving statistics not; Dense(3)
    assert [w.name for w in model.layers[1].weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 4
    assert sum(w.size for w in model.non_trainable_weights) == 35 and len(model.weights) == 8
    assert [type(m).__name__ for m in model.children()] == ["Dense", "BatchNormalization", "Dense"]


def test_input_and_output_shapes_as_in_keras():
    model = gn.Sequential([gn.Input((None,)), layers.Embedding(10, 4), layers.LSTM(3)])
    assert model.input_shape == (None, None) and model.output_shape == (None, 3)
    image, ink = gn.Input((8, 8, 1)), gn.Input((1,))
    two = gn.Model([image, ink], [layers.Dense(2)(layers.Flatten()(image)), layers.Dense(1)(ink)])
    assert two.input_shape == [(None, 8, 8, 1), (None, 1)] and two.output_shape == [(None, 2), (None, 1)]
    with pytest.raises(ValueError, match="input_shape needs a built model"):
        gn.Sequential([layers.Dense(2)]).input_shape  # noqa: B018


def test_trainable_parameters_in_order_with_frozen_wrappers_and_a_shared_layer():
    """trainable_parameters() is parameters() without those under any module set trainable=False:
    a frozen wrapper freezes its inner layer, and a layer shared with a frozen branch is frozen."""
    shared = nn.Dense(4)
    lstm = nn.Bidirectional(nn.LSTM(3, return_sequences=True))
    model = gn.Sequential([nn.Dense(6), lstm, nn.TimeDistributed(shared), nn.Flatten(), nn.Dense(2)], seed=0)
    model.build((None, 5, 3))
    model.extra = [nn.Sequential([shared])]  # the same layer again, in a list of modules
    everything = model.parameters()
    assert [id(p) for p in model.trainable_parameters()] == [id(p) for p in everything]
    lstm.trainable = False
    model.extra[0].trainable = False
    frozen = {id(p) for p in lstm.parameters()} | {id(p) for p in shared.parameters()}
    expected = [p for p in everything if id(p) not in frozen]
    assert len(frozen) == 8 and len(expected) == len(everything) - 8
    assert [id(p) for p in model.trainable_parameters()] == [id(p) for p in expected]
