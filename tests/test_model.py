"""The Model API: compile, fit (mini-batch, stochastic, full-batch), evaluate, predict, errors."""
import io

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    x = rng.standard_normal((120, 4)) * 0.5 + np.eye(3, 4)[y] * 3
    return x.astype(np.float32), y


def make_model(seed=0, loss="sparse_categorical_crossentropy", **compile_kw):
    model = gn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer=compile_kw.pop("optimizer", "adam"), loss=loss, metrics=["accuracy"], **compile_kw)
    return model


@pytest.mark.parametrize("batch_size", [1, 16, None])  # stochastic, mini-batch, full-batch
def test_fit_learns_with_every_batch_size(blobs, batch_size):
    x, y = blobs
    model = make_model(optimizer=gn.optim.SGD(learning_rate=0.1) if batch_size is None else "adam")
    epochs = {1: 5, 16: 40, None: 100}[batch_size]
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y, return_dict=True)["accuracy"] > 0.95


def test_history_keys_and_validation(blobs):
    x, y = blobs
    model = make_model()
    h = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, seed=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in h.history.values())
    h2 = make_model().fit(x[:90], y[:90], epochs=3, validation_data=(x[90:], y[90:]), verbose=0, seed=0)
    np.testing.assert_allclose(h.history["val_loss"], h2.history["val_loss"], rtol=1e-6)


def test_fit_is_reproducible_bit_for_bit(blobs):
    x, y = blobs
    a, b = make_model(seed=3), make_model(seed=3)
    a.fit(x, y, epochs=3, verbose=0, seed=5)
    b.fit(x, y, epochs=3, verbose=0, seed=5)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def test_evaluate_matches_the_loss_and_predict_is_batched(blobs):
    x, y = blobs
    model = make_model()
    model.fit(x, y, epochs=2, verbose=0, seed=0)
    p = model.predict(x, batch_size=7)
    assert p.shape == (120, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)
    loss, acc = model.evaluate(x, y, batch_size=50)
    expected = nn.SparseCategoricalCrossentropy()(y, gn.Tensor(p)).item()
    assert loss == pytest.approx(expected, rel=1e-4)
    assert acc == pytest.approx((p.argmax(1) == y).mean())


def test_softmax_and_cross_entropy_are_fused_exactly(blobs):
    x, y = blobs
    model = make_model(loss="categorical_crossentropy")
    onehot = np.eye(3)[y]
    x64 = gn.Tensor(x[:8].astype(np.float64))
    probs = model(x64)
    plain = nn.CategoricalCrossentropy()(onehot[:8], probs).item()
    fused = model._training_loss(onehot[:8], model._forward_for_loss(x64), None).item()
    assert fused == pytest.approx(plain, rel=1e-5)


def test_class_weight_and_sample_weight(blobs):
    x, y = blobs
    weights = {0: 1.0, 1: 2.0, 2: 0.5}
    a, b = make_model(), make_model()
    a.fit(x, y, epochs=2, class_weight=weights, verbose=0, seed=0, shuffle=False)
    b.fit(x, y, epochs=2, sample_weight=np.array([weights[c] for c in y]), verbose=0, seed=0, shuffle=False)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def test_regularization_is_part_of_the_loss(blobs):
    x, y = blobs
    model = gn.Sequential([nn.Dense(3, activation="softmax", kernel_regularizer=nn.L2(10.0))], seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.evaluate(x, y) > nn.SparseCategoricalCrossentropy()(y, gn.Tensor(model.predict(x))).item()


def test_subclassed_model_with_custom_forward(blobs):
    x, y = blobs

    class Residual(gn.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.inner = nn.Dense(4, activation="tanh", seed=1)
            self.head = nn.Dense(3, seed=2)

        def forward(self, x):
            return self.head(x + self.inner(x))

    model = Residual()
    model.compile(optimizer=gn.optim.Adam(learning_rate=0.02), loss=nn.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    h = model.fit(x, y, epochs=30, verbose=0, seed=0)
    assert h.history["accuracy"][-1] > 0.9


def test_summary_and_weights(blobs):
    model = make_model()
    model.build((None, 4))
    model.built = True
    text = model.summary(print_fn=lambda s: None)
    assert "(None, 16)" in text and "Total params: 131" in text
    w = model.get_weights()
    model.set_weights([np.zeros_like(a) for a in w])
    assert all(np.all(p.data == 0) for p in model.parameters())
    with pytest.raises(ValueError, match=r"array 0 must have shape \(4, 16\)"):
        model.set_weights([np.zeros((2, 2))] * 4)


@pytest.mark.parametrize("kwargs,match", [
    ({"y": np.zeros(10)}, r"x and y must have the same number of samples; received x with 120 samples and y with shape \(10,\)"),
    ({"x": np.zeros((120, 5))}, r"expects 4 input features, got x with shape \(2, 5\)"),
    ({"x": np.full((120, 4), np.nan)}, r"x contains NaN or inf \(rows 0, 1, 2, 3, 4, \.\.\.\)"),
    ({"y": np.full(120, np.inf)}, "y contains NaN or inf"),
    ({"y": np.full(120, 5)}, r"labels must be integers in \[0, 3\); received values from 5 to 5"),
    ({"x": np.zeros((0, 4)), "y": np.zeros(0)}, r"x is empty \(shape \(0, 4\)\)"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1; received: batch_size=0"),
    ({"validation_split": 1.5}, "validation_split must be in"),
    ({"x": np.array([["a"] * 4] * 120)}, "x must be numeric"),
])
def test_bad_input_gets_a_clear_error(blobs, kwargs, match):
    x, y = blobs
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0)
    args = {"x": x, "y": y, "epochs": 1, "verbose": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        model.fit(**args)


def test_the_finiteness_check_finds_one_bad_value_and_passes_huge_finite_ones():
    """The check sums squares first: an overflow of large finite values must not raise, and one
    NaN or inf anywhere must."""
    from glassnet.data_checks import as_features

    huge = np.full((3, 5), 3e38, dtype=np.float32)
    assert as_features(huge) is huge
    for bad in (np.nan, np.inf, -np.inf):
        x = np.ones((4, 1000), dtype=np.float32)
        x[2, 777] = bad
        with pytest.raises(ValueError, match=r"x contains NaN or inf \(rows 2\)"):
            as_features(x)


def test_predict_in_one_batch_and_in_several_gives_the_same_writeable_answer(blobs):
    x, _ = blobs
    model = make_model()
    whole, parts = model.predict(x, batch_size=len(x)), model.predict(x, batch_size=7)
    np.testing.assert_array_equal(whole, parts)
    assert whole.flags.writeable and not np.shares_memory(whole, x)


def test_unknown_names_list_the_known_ones():
    model = gn.Sequential([nn.Dense(2)])
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'; known names: "):
        model.compile(optimizer="adamx", loss="mse")
    with pytest.raises(ValueError, match="unknown loss 'cross'; known names: "):
        model.compile(loss="cross")
    with pytest.raises(ValueError, match="unknown metric 'acc2'; known names: "):
        model.compile(loss="mse", metrics=["acc2"])
    with pytest.raises(RuntimeError, match="compile"):
        gn.Sequential([nn.Dense(2)]).fit(np.zeros((2, 2)), np.zeros((2, 2)), verbose=0)


def test_one_hot_target_with_wrong_class_count(blobs):
    x, y = blobs
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"y_true with shape \(120, 4\) does not fit y_pred with shape \(120, 3\)"):
        model.fit(x, np.eye(4)[y], verbose=0)


def test_verbose_modes_print_progress(blobs, capsys):
    x, y = blobs
    make_model().fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2 - loss: " in out and "accuracy: " in out
    make_model().fit(x, y, epochs=1, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_1_into_a_log_writes_one_plain_line_per_epoch(blobs, capsys):
    # Issue 13: into a file or pipe, tqdm wrote three \r-separated bar states per epoch.
    x, y = blobs
    make_model().fit(x, y, epochs=3, verbose=1)
    captured = capsys.readouterr()
    assert captured.err == "" and "\r" not in captured.out
    lines = captured.out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert all("loss: " in line and "accuracy: " in line for line in lines)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_verbose_1_on_a_terminal_draws_a_bar_that_fits_its_width(blobs, capsys, monkeypatch):
    # Issue 13: in a 120-column terminal the bar shrank to one character and the metrics were cut.
    from glassnet.callbacks import ProgressBar

    x, y = blobs
    monkeypatch.setenv("COLUMNS", "120")
    terminal = _Terminal()
    model = make_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ProgressBar(epochs=2, steps=4, verbose=1, stream=terminal)])
    states = [s for s in terminal.getvalue().replace("\n", "\r").split("\r") if s.strip()]
    assert states and all(len(s) <= 120 for s in states)
    assert any(s.startswith("Epoch 1/2") for s in states) and any(s.startswith("Epoch 2/2") for s in states)
    bars = [s.split("|")[1] for s in states if s.count("|") == 2]
    assert bars and min(len(bar) for bar in bars) >= 40  # a real bar, not one character
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("loss: " in line and "accuracy: " in line for line in lines)

