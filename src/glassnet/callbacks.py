"""Callbacks: hooks into ``fit`` (Keras's API).

Hooks: ``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)``,
``on_train_batch_begin/end(batch, logs)``. ``self.model`` is set by ``fit``;
setting ``model.stop_training = True`` ends training after the current epoch.
"""
import csv
import math
import os
import shutil
import sys

import numpy as np


class Callback:
    def __init__(self):
        self.model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


class CallbackList:
    """The callbacks of one ``fit``; ``call(hook, *args)`` runs a hook on each, in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances; received: {cb!r}")
            cb.set_model(model)

    def listeners(self, hook):
        """The callbacks that define ``hook`` (the others inherit the empty one)."""
        base = getattr(Callback, hook)
        return [cb for cb in self.callbacks if getattr(getattr(cb, hook), "__func__", None) is not base]

    def call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)


class History(Callback):
    """Records every epoch's logs in ``history`` (``history.history["loss"]``, ...)."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class _Monitor(Callback):
    """Shared logic of callbacks that watch one logged quantity."""

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; received: mode={mode!r}")
        if mode == "auto":
            mode = "max" if any(k in monitor for k in ("acc", "precision", "recall", "f1", "r2")) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)

    def _current(self, logs):
        if self.monitor not in (logs or {}):
            raise ValueError(f"{type(self).__name__} monitors {self.monitor!r}, which is not logged; "
                             f"logged: {', '.join(sorted(logs or {}))}")
        return logs[self.monitor]

    def _improved(self, current, best):
        if current is None or not math.isfinite(current):
            return False  # NOTE: a NaN or inf epoch is never the best one
        if best is None:
            return True
        if self.mode == "min":
            return current < best - self.min_delta
        return current > best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: the logged quantity. Defaults to ``"val_loss"``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the name). Defaults to ``"auto"``.
        patience: epochs without improvement before stopping. Defaults to ``0``.
        min_delta: the smallest change that counts. Defaults to ``0.0``.
        restore_best_weights: put back the weights of the best epoch at the end.
            Defaults to ``False``.
    """

    def __init__(self, monitor="val_loss", mode="auto", patience=0, min_delta=0.0, restore_best_weights=False):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.best_weights, self.wait, self.stopped_epoch = None, 0, None, 0, None

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if self._improved(current, self.best) and finite_weights(self.model):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def finite_weights(model):
    """Whether every parameter of ``model`` is finite (no NaN, no inf)."""
    return all(np.isfinite(p.data).all() for p in model.parameters())


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch (atomically), or only when ``monitor`` improves.

    ``filepath`` may contain ``{epoch}`` (1-based) and any logged key
    (``"ckpt-{epoch:02d}-{val_loss:.3f}.gnet"``). An epoch whose loss or weights are NaN or
    inf is never saved, so a diverged run never replaces a good checkpoint.
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto", save_best_only=False):
        super().__init__(monitor, mode)
        self.filepath, self.save_best_only = str(filepath), save_best_only
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if (loss is not None and not math.isfinite(loss)) or not finite_weights(self.model):
            print(f"ModelCheckpoint: epoch {epoch + 1} not saved: its loss or weights are NaN or inf")
            return
        if self.save_best_only:
            current = self._current(logs)
            if not self._improved(current, self.best):
                return
            self.best = current
        self.model.save(self.filepath.format(epoch=epoch + 1, **logs))


class TerminateOnNaN(Callback):
    """Stop as soon as a batch's loss is NaN or inf, and say at which batch."""

    def __init__(self):
        super().__init__()
        self.message = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.message = f"TerminateOnNaN: loss became {loss} at epoch {self.epoch + 1}, batch {batch + 1}"
            print(self.message)
            self.model.stop_training = True
            self.model.stop_now = True


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at each epoch from ``schedule(epoch, lr)``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch, self.model.optimizer.learning_rate))
        self.model.optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate set to {lr:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, verbose=0):
        super().__init__(monitor, mode, min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1); received: factor={factor!r}")
        self.factor, self.patience, self.cooldown = factor, patience, cooldown
        self.min_lr, self.verbose = min_lr, verbose

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_left = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        logs["learning_rate"] = self.model.optimizer.learning_rate
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best, self.wait = current, 0
            return
        if self.cooldown_left > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            old = self.model.optimizer.learning_rate
            new = max(old * self.factor, self.min_lr)
            if new < old:
                self.model.optimizer.learning_rate = new
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new:.6g}")
            self.cooldown_left, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    """Append each epoch's logs as a CSV row (header first)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = str(filename), separator, append

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename)
        self.file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self.writer, self.write_header = None, not exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.writer is None:
            self.keys = sorted(logs)
            self.writer = csv.writer(self.file, delimiter=self.separator)
            if self.write_header:
                self.writer.writerow(["epoch", *self.keys])
        self.writer.writerow([epoch, *(_fmt(logs.get(k)) for k in self.keys)])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


def _fmt(value):
    return "" if value is None else (f"{value:.10g}" if isinstance(value, (float, np.floating)) else value)


class ProgressBar(Callback):
    """Progress of ``fit``, as Keras prints it.

    ``verbose=1`` on a terminal: one live tqdm bar per epoch, sized to the terminal's width
    (``shutil.get_terminal_size``, so ``COLUMNS`` is honoured) and showing the running loss;
    when the epoch ends the bar is replaced by one line with every metric. ``verbose=1``
    when the stream is not a terminal (a log file, a pipe, a notebook capture), and
    ``verbose=2`` always: one plain line per epoch and no carriage returns, as Keras's
    ``verbose=2``.

    Args:
        epochs: the number of epochs ``fit`` runs.
        steps: batches per epoch.
        verbose: 1 or 2. Defaults to 1.
        stream: where the live bar goes. Defaults to ``sys.stderr``; the epoch lines go to
            ``sys.stdout`` as Keras's do.
    """

    def __init__(self, epochs, steps, verbose=1, stream=None):
        super().__init__()
        self.epochs, self.steps, self.verbose = epochs, steps, verbose
        self.stream = stream
        self.bar = None

    def _live(self):
        stream = self.stream if self.stream is not None else sys.stderr
        isatty = getattr(stream, "isatty", None)
        return self.verbose == 1 and callable(isatty) and isatty()

    def on_epoch_begin(self, epoch, logs=None):
        if self._live():
            from tqdm.auto import tqdm  # noqa: PLC0415 - optional dependency

            self.bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="batch",
                            leave=False, file=self.stream if self.stream is not None else sys.stderr,
                            ncols=shutil.get_terminal_size().columns)

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if "loss" in (logs or {}) and (batch % 10 == 0 or batch == self.steps - 1):
                self.bar.set_postfix_str(f"loss: {logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        text = " - ".join(f"{k}: {v:.4f}" for k, v in (logs or {}).items() if isinstance(v, (int, float)))
        print(f"Epoch {epoch + 1}/{self.epochs} - {text}", flush=True)
