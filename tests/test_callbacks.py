"""Callbacks: early stopping, checkpoints, NaN guard, learning-rate control, CSV log."""
import csv
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import callbacks, nn


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.float32)
    return x, y


def model(seed=0, lr=0.01):
    m = gn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(1, activation="sigmoid")], seed=seed)
    m.compile(optimizer=gn.optim.Adam(learning_rate=lr), loss="binary_crossentropy", metrics=["accuracy"])
    return m


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda *a: object.__getattribute__(self, "calls").append(name)
        return object.__getattribute__(self, name)


def test_hooks_are_called_in_order(data):
    rec = Recorder()
    model().fit(*data, epochs=2, batch_size=40, callbacks=[rec], verbose=0)
    assert rec.calls == ["on_train_begin",
                         "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                         "on_train_batch_begin", "on_train_batch_end", "on_epoch_end"] * 1 + \
        ["on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_epoch_end", "on_train_end"]


def test_early_stopping_patience_and_restore_best_weights(data):
    x, y = data
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    m = model(lr=0.5)  # a large step: the validation loss soon stops improving
    h = m.fit(x, y, epochs=200, validation_split=0.3, callbacks=[stop], verbose=0, seed=0)
    epochs_run = len(h.history["loss"])
    assert epochs_run < 200 and stop.stopped_epoch == epochs_run - 1
    assert epochs_run - 1 - stop.best_epoch == 3  # patience 2: the third epoch without improvement stops
    best = min(h.history["val_loss"])
    assert m.evaluate(x[-24:], y[-24:], return_dict=True)["loss"] == pytest.approx(best, rel=1e-5)


def test_early_stopping_min_delta_and_mode(data):
    stop = callbacks.EarlyStopping(monitor="accuracy", min_delta=1.0, patience=0)
    h = model().fit(*data, epochs=10, callbacks=[stop], verbose=0)
    assert stop.mode == "max" and len(h.history["loss"]) == 2
    with pytest.raises(ValueError, match="monitors 'val_loss', which is not logged; logged: accuracy, loss"):
        model().fit(*data, epochs=2, callbacks=[callbacks.EarlyStopping()], verbose=0)


def test_model_checkpoint_save_best_only(tmp_path, data):
    path = tmp_path / "best.gnet"
    ckpt = callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    m = model()
    h = m.fit(*data, epochs=5, validation_split=0.25, callbacks=[ckpt], verbose=0)
    best = gn.load_model(path)
    assert best.evaluate(*[a[-20:] for a in data], return_dict=True)["loss"] == pytest.approx(
        min(h.history["val_loss"]), rel=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["best.gnet"]  # no temporary files left behind


def test_model_checkpoint_formats_the_file_name(tmp_path, data):
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}-{loss:.2f}.gnet"), save_best_only=False)
    model().fit(*data, epochs=2, callbacks=[ckpt], verbose=0)
    assert sorted(p.name[:3] for p in tmp_path.iterdir()) == ["e01", "e02"]


def test_terminate_on_nan_says_where(data, capsys):
    x, y = data
    guard = callbacks.TerminateOnNaN()
    m = gn.Sequential([nn.Dense(1, activation="linear")], seed=0)
    m.compile(optimizer=gn.optim.SGD(learning_rate=1e6), loss="mse")
    with np.errstate(over="ignore", invalid="ignore"):  # the blow-up is the point of this test
        h = m.fit(x, y * 1e6, epochs=5, batch_size=8, callbacks=[guard], verbose=0)
    assert guard.message.startswith("TerminateOnNaN: loss became")
    assert "epoch 1, batch" in guard.message and guard.message in capsys.readouterr().out
    assert len(h.history.get("loss", [])) <= 1


def test_learning_rate_scheduler_and_reduce_on_plateau(data):
    m = model()
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    h = m.fit(*data, epochs=3, callbacks=[sched], verbose=0)
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    m2 = model(lr=0.01)
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    h2 = m2.fit(*data, epochs=4, callbacks=[plateau], verbose=0)
    # the first epoch sets the best; each later one fails to beat it by min_delta and halves the rate
    assert h2.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert m2.optimizer.learning_rate == pytest.approx(0.00125)


def test_csv_logger(tmp_path, data):
    path = tmp_path / "log.csv"
    model().fit(*data, epochs=3, callbacks=[callbacks.CSVLogger(path)], verbose=0)
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "accuracy", "loss"] and [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert os.path.getsize(path) > 0
