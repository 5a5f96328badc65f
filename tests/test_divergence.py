"""Callbacks and numerics when training diverges: checkpoints stay finite, monitors of
validation values keep working after TerminateOnNaN, the best weights are never NaN, an
all-zero probability row has a finite loss, and a diverging run says so once."""
import math
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import callbacks, nn

X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32)).reshape(-1, 1)


def _net():
    model = gn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(1)], seed=0)
    model.compile(optimizer=gn.optim.SGD(learning_rate=0.01), loss="mse")
    return model


def _blow_up_after(epochs):
    """A learning rate that is fine for ``epochs`` epochs and then drives the weights to inf."""
    return callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 if epoch < epochs else 1e8)


def _fit(model, cbs, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.model.DivergenceWarning)
        return model.fit(X, Y, epochs=5, batch_size=4, verbose=0, seed=0, callbacks=cbs, **kwargs)


def _finite(model):
    return all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize("terminate_first", [True, False])
def test_a_checkpoint_is_never_replaced_by_non_finite_weights(tmp_path, edge_cases, terminate_first, capsys):
    cases = edge_cases("callbacks/numerics")
    path = tmp_path / "ckpt.gnet"
    checkpoint, terminate = callbacks.ModelCheckpoint(path, monitor="loss"), callbacks.TerminateOnNaN()
    order = [terminate, checkpoint] if terminate_first else [checkpoint, terminate]
    model = _net()
    weights = {}

    class Keep(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if _finite(self.model):
                weights["last good"] = self.model.get_weights()

    history = _fit(model, [_blow_up_after(2), *order, Keep()])
    assert terminate.message is not None and not _finite(model)  # the run did diverge
    saved = gn.load_model(path)
    good = _finite(saved) and all(np.array_equal(a, b) for a, b in zip(saved.get_weights(), weights["last good"]))
    cases.record(f"ModelCheckpoint with TerminateOnNaN {'after' if terminate_first else 'before'} it",
                 "ok" if good else "silent")
    assert good and len(history.history["loss"]) == 3
    assert "not saved" in capsys.readouterr().out
    cases.assert_clean()


@pytest.mark.parametrize("watcher", [
    lambda path: callbacks.EarlyStopping(monitor="val_loss", patience=3),
    lambda path: callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True),
    lambda path: callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1),
], ids=["EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"])
def test_terminate_on_nan_with_a_validation_monitor(tmp_path, edge_cases, watcher):
    cases = edge_cases("callbacks/numerics")
    model, cb = _net(), watcher(tmp_path / "best.gnet")
    outcome = cases.check(f"TerminateOnNaN with validation_split and {type(cb).__name__}(val_loss)",
                          lambda: _fit(model, [_blow_up_after(1), callbacks.TerminateOnNaN(), cb],
                                       validation_split=0.25),
                          accept=lambda h: len(h.history["val_loss"]) == 2 and math.isnan(h.history["val_loss"][-1]))
    assert outcome == "ok"


class _Score(callbacks.Callback):
    """Logs a score that improves every epoch, as an accuracy can after weights turn NaN."""

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = float(epoch)


@pytest.mark.parametrize("monitor,mode", [("loss", "min"), ("score", "max")])
def test_restore_best_weights_never_keeps_a_nan_epoch(edge_cases, monitor, mode):
    cases = edge_cases("callbacks/numerics")
    model = _net()
    stop = callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=10, restore_best_weights=True)
    _fit(model, [_blow_up_after(2), _Score(), stop])
    outcome = cases.record(f"EarlyStopping(monitor={monitor!r}, restore_best_weights=True) after NaN epochs",
                           "ok" if _finite(model) and stop.best_epoch <= 1 and math.isfinite(stop.best) else "silent")
    assert outcome == "ok"


def test_categorical_crossentropy_on_an_all_zero_row_is_finite(edge_cases):
    cases = edge_cases("callbacks/numerics")
    p = gn.Tensor(np.array([[0.0, 0.0, 0.0], [0.2, 0.3, 0.5]], dtype=np.float32), requires_grad=True)
    loss = nn.CategoricalCrossentropy()(np.eye(3)[[0, 2]], p)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(p.grad).all()
    np.testing.assert_allclose(loss.item(), (-np.log(1e-7) - np.log(0.5)) / 2, rtol=1e-5)

    model = gn.Sequential([nn.Dense(3, activation="relu", kernel_initializer="zeros", bias_initializer="zeros")],
                          seed=0)  # every output row is all zero
    model.compile(optimizer="sgd", loss=nn.CategoricalCrossentropy())
    history = model.fit(X, np.eye(3)[np.arange(40) % 3], epochs=1, verbose=0)
    outcome = cases.record("Dense(3, relu) all-zero output into categorical cross-entropy",
                           "ok" if _finite(model) and math.isfinite(history.history["loss"][0]) else "silent")
    assert outcome == "ok"


def test_a_diverging_run_says_so_once_in_glassnets_words(edge_cases):
    cases = edge_cases("callbacks/numerics")
    model = _net()
    model.compile(optimizer=gn.optim.SGD(learning_rate=5.0), loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X * 100, Y, epochs=4, batch_size=4, verbose=0, seed=0)
    messages = [(w.category, str(w.message)) for w in caught]
    ours = [m for c, m in messages if c is gn.model.DivergenceWarning]
    good = (len(messages) == 1 and len(ours) == 1 and "smaller learning_rate (now 5)" in ours[0]
            and ("became nan" in ours[0] or "became inf" in ours[0]))
    cases.record("SGD(learning_rate=5) diverging", "ok" if good else "silent")
    assert good, messages
