"""Trainer: fit, evaluate and predict, the training loop of every Model (as Keras's trainer).

A mixin of :class:`glassnet.model.Model`, which holds the network's configuration (compile,
build, devices, weights); this module holds what runs the data through it.
"""
import contextlib
import copy
import math
import warnings

import numpy as np

from .backend import move, to_numpy
from .callbacks import CallbackList, History, ProgressBar
from .data_checks import as_class_weight, as_sample_weight, class_labels, n_samples, one_of, positive_int, take
from .distributed.training import DistributedFit
from .nn import losses as losses_lib
from .nn.module import evaluating, sum_penalties
from .ops.function import new_tensor
from .random import make_rng
from .tensor import Tensor, no_grad


def _tensors(x, xp=np):
    """A Tensor around an array, or a list of them around a list (several inputs), on the
    device of array module ``xp`` (a batch goes to the model's GPU here)."""
    x = _on(x, xp)
    return [new_tensor(a) for a in x] if isinstance(x, list) else new_tensor(x)


def _on(x, xp):
    """An array (or list of arrays) on the device of ``xp``."""
    if xp is np:
        return x
    return [move(a, xp) for a in x] if isinstance(x, list) else move(x, xp)


def _host(y):
    """``predict``'s answer is NumPy on every device."""
    return [to_numpy(a) for a in y] if isinstance(y, list) else to_numpy(y)


class DivergenceWarning(RuntimeWarning):
    """The training loss became NaN or inf (``fit`` says so once per call)."""


class Trainer:
    """fit, evaluate, predict and train_on_batch, on a Model's forward, loss, metrics and optimizer."""

    # -- training ------------------------------------------------------------------------
    def train_on_batch(self, x, y, sample_weight=None):
        """One gradient step on one batch; returns the loss (with penalties) as a float."""
        self._require_compiled("train_on_batch")
        x = x.data if isinstance(x, Tensor) else self._input_data(x)
        self._ensure_built(x)
        return self._train_step(_tensors(x, self._device_module), self._target_data(y, n_samples(x)), sample_weight)

    def _train_step(self, x, y, sample_weight, prepared=False):
        if not self.training:
            self.train()
        output = self._forward_for_loss(x)
        loss = self._training_loss(y, output, sample_weight, prepared)
        penalty = self._penalty()
        total = loss + penalty if penalty is not None else loss
        self.optimizer.zero_grad()
        total.backward()
        value = float(total.data)
        if self._sync is not None:  # distributed: average the gradients over the ranks before the update
            value = self._sync.average_gradients(value)
        self.optimizer.step()
        self._last_output = output
        return value

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0, shuffle=True,
            class_weight=None, sample_weight=None, callbacks=None, verbose=1, seed=None, initial_epoch=0,
            distributed=False):
        """Train for ``epochs`` passes over (x, y) in mini-batches.

        ``batch_size=1`` is stochastic gradient descent; ``batch_size=len(x)``
        (or ``None``) is full-batch gradient descent. ``seed`` fixes the
        shuffling: epoch ``e`` uses a generator seeded by ``(seed, e)``, so
        ``fit(..., initial_epoch=k, seed=s)`` resumes exactly where a run
        with seed ``s`` stopped.

        ``distributed=True`` trains data-parallel on the ranks that ``mpiexec`` started
        (``glassnet.distributed``): every rank passes the same data, ``batch_size`` is the
        global batch, each rank trains on its share and the gradients are averaged, so
        the weights equal one process's; only rank 0 prints and writes checkpoints.

        Returns:
            A :class:`History`; ``history.history`` maps ``loss``, each
            metric and their ``val_`` versions to per-epoch lists.

        Raises:
            ValueError: bad data or arguments, named with their shapes.
            ImportError: ``distributed=True`` without mpi4py (the message says how to install it).
        """
        self._require_compiled("fit")
        x = self._input_data(x)
        n = n_samples(x)
        y = self._target_data(y, n)
        sample_weight = as_sample_weight(sample_weight, n)
        epochs = positive_int("epochs", epochs, allow_zero=True)
        initial_epoch = positive_int("initial_epoch", initial_epoch, allow_zero=True)
        if initial_epoch and initial_epoch >= epochs:
            raise ValueError(f"initial_epoch must be less than epochs (training runs epochs initial_epoch to "
                             f"epochs - 1); received: initial_epoch={initial_epoch}, epochs={epochs}")
        batch_size = n if batch_size is None else positive_int("batch_size", batch_size)
        verbose = 1 if verbose == "auto" else one_of("verbose", verbose, (0, 1, 2, False, True, "auto"))
        one_of("shuffle", shuffle, (True, False))
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of Callback objects; received: callbacks={callbacks!r:.80}")
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.integer,
                                                                                   np.floating)) \
                or not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1) (a number); received: "
                             f"validation_split={validation_split!r}")
        if validation_data is None and validation_split:
            n_val = int(round(n * validation_split))
            if n_val == 0 or n_val == n:
                raise ValueError(f"validation_split={validation_split} leaves no training or validation "
                                 f"samples out of {n}")
            validation_data = (take(x, slice(-n_val, None)), take(y, slice(-n_val, None)))
            x, y = take(x, slice(None, -n_val)), take(y, slice(None, -n_val))
            sample_weight = None if sample_weight is None else sample_weight[:-n_val]
        if class_weight is not None:
            if isinstance(y, list):
                raise ValueError("class_weight takes a model with one output; weigh the samples of a model with "
                                 "several outputs with sample_weight")
            sample_weight = self._class_weights(as_class_weight(class_weight), y, sample_weight)
        if validation_data is not None:
            validation_data = self._check_validation(validation_data)
        self._ensure_built(take(x, slice(0, 1)))
        self._bind_optimizer()  # a layer's trainable may have changed since the last fit
        targets = self._check_fits(x, y)
        one_of("distributed", distributed, (True, False))
        sync = DistributedFit(self, callbacks) if distributed else None
        if sync is not None:
            verbose = verbose if sync.rank == 0 else 0
            callbacks = sync.local_callbacks(list(callbacks or []))

        seed = self.seed if seed is None else seed
        base_seed = int(seed) if isinstance(seed, (int, np.integer)) else int(make_rng(seed).integers(2**63))
        history = History()
        steps = -(-n_samples(x) // batch_size)
        cbs = [*(callbacks or []), history]
        if verbose:
            cbs.insert(0, ProgressBar(epochs, steps, verbose))
        cbs = CallbackList(cbs, self)
        for cb in cbs.callbacks:  # Keras's callback.params (history.params)
            cb.params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        self.stop_training = self.stop_now = False
        self._penalty_modules = None  # layers may have changed since the last fit
        cbs.call("on_train_begin", {})
        diverged = False
        # NOTE: a diverging run overflows in many NumPy ops; glassnet says so once, in its own
        # words, instead (np.errstate is per thread).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), \
                sync.training(self) if sync is not None else contextlib.nullcontext():
            for epoch in range(initial_epoch, epochs):
                cbs.call("on_epoch_begin", epoch, {})
                logs = self._run_epoch(x, y, targets, sample_weight, batch_size, shuffle,
                                       np.random.default_rng([base_seed, epoch]), cbs)
                if sync is not None:
                    logs = sync.average_logs(logs)
                if not diverged and not self.stop_now and not math.isfinite(logs["loss"]):  # (TerminateOnNaN spoke)
                    diverged = True
                    self._warn_divergence(logs["loss"], epoch)
                if validation_data is not None and self.stop_now:  # stopped mid-epoch (TerminateOnNaN)
                    logs.update({f"val_{k}": float("nan") for k in ("loss", *(m.name for m in self.metrics))})
                elif validation_data is not None:
                    x_val, y_val, w_val = validation_data
                    val = self.evaluate(x_val, y_val, batch_size=max(batch_size, 256), sample_weight=w_val,
                                        return_dict=True)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                cbs.call("on_epoch_end", epoch, logs)
                if sync is not None:  # stop decisions are taken together
                    self.stop_training = sync.any(self.stop_training)
                if self.stop_training:
                    break
        cbs.call("on_train_end", {})
        self.history = history
        return history

    def _warn_divergence(self, loss, epoch):
        lr = getattr(self.optimizer, "learning_rate", None)
        lr = f" (now {lr:g})" if isinstance(lr, (int, float)) else ""
        warnings.warn(f"glassnet: the training loss became {loss} in epoch {epoch + 1}: training diverged. "
                      f"Try a smaller learning_rate{lr}, gradient clipping (an optimizer's clipnorm=1.0), "
                      "inputs scaled to unit size, or callbacks=[TerminateOnNaN()] to stop at the first "
                      "non-finite batch.", DivergenceWarning, stacklevel=3)

    def _run_epoch(self, x, y, targets, sample_weight, batch_size, shuffle, rng, cbs):
        prepared, sync = targets is not None, self._sync
        n = n_samples(x)
        if shuffle:
            order = rng.permutation(n)
            x, y = take(x, order), take(y, order)
            targets = take(targets, order) if prepared else None
            sample_weight = None if sample_weight is None else sample_weight[order]
        for m in self.metrics:
            m.reset_state()
        total, count = 0.0, 0
        # NOTE: batch hooks and per-batch logs only when a callback listens (a small step costs ~100 us).
        begin, end = cbs.listeners("on_train_batch_begin"), cbs.listeners("on_train_batch_end")
        for batch, start in enumerate(range(0, n, batch_size)):
            for cb in begin:
                cb.on_train_batch_begin(batch, {})
            rows = slice(start, start + batch_size) if sync is None else sync.shard(start, min(start + batch_size, n))
            xb, yb = take(x, rows), take(y, rows)
            wb = None if sample_weight is None else sample_weight[rows]
            tb = take(targets, rows) if prepared else yb
            size = n_samples(xb)
            loss = self._train_step(_tensors(xb, self._device_module), tb, wb, prepared) if size else sync.idle_step()
            weight = size if sync is None else sync.batch_samples  # (distributed: the global batch's loss)
            total += loss * weight
            count += weight
            if self.metrics and size:
                self._update_metrics(self.metrics, yb, self._last_output, wb)
            if end:
                logs = {"loss": total / count, **{m.name: m.result() for m in self.metrics}}
                for cb in end:
                    cb.on_train_batch_end(batch, logs)
            if sync is not None and sync.sync_each_batch:
                self.stop_now = sync.any(self.stop_now)
            if self.stop_now:
                break
        self._last_output = None
        return {"loss": total / count, **{m.name: m.result() for m in self.metrics}}

    def _penalty(self):
        """``regularization_loss()`` over a cached list of the layers that have penalties
        (walking the module tree every batch costs more than a small network's step)."""
        if self._penalty_modules is None:
            self._penalty_modules = [m for m in self.modules() if sum_penalties([m]) is not None]
        return sum_penalties(self._penalty_modules)

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"{what}() needs a compiled model: call model.compile(optimizer=..., loss=...) first")

    def _check_validation(self, validation_data):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val); received "
                             f"{type(validation_data).__name__}")
        x_val = self._input_data(validation_data[0], "validation_data x")
        n_val = n_samples(x_val)
        y_val = self._target_data(validation_data[1], n_val, "validation_data y")
        w_val = as_sample_weight(validation_data[2], n_val, "validation_data sample_weight") \
            if len(validation_data) == 3 else None
        return x_val, y_val, w_val

    def _check_fits(self, x, y):
        """Run the first samples through the network and the loss: shape and label
        errors surface now, named, instead of deep inside training."""
        # NOTE: in training mode dropout would draw random numbers and break exact resumption
        with evaluating(), no_grad():
            out = self._forward_for_loss(_tensors(take(x, slice(0, 2)), self._device_module))
        try:
            return self._prepare_targets(y, out)
        except ValueError as err:
            if not isinstance(x, list) and x.ndim > 2 and out.ndim > max(y.ndim, 2):
                raise ValueError(f"{err}. The network keeps the extra axes of x (shape {x.shape}): Dense acts "
                                 "on the last axis only; add a Flatten() layer before the first Dense layer") from None
            raise

    def _prepare_targets(self, y, out):
        if isinstance(self.loss, losses_lib.Loss):
            # The whole target, checked and converted once: the batches reuse it.
            return self.loss.prepare_target(y, Tensor(np.zeros((len(y), *out.shape[1:]), dtype=out.dtype)))
        return None

    def _class_weights(self, class_weight, y, sample_weight):
        labels = class_labels(y)
        unknown = sorted(set(np.unique(labels).tolist()) - set(class_weight))
        if unknown:
            raise ValueError(f"class_weight has no weight for classes {unknown}; received keys {sorted(class_weight)}")
        lookup = np.zeros(int(labels.max()) + 1)
        for cls, weight in class_weight.items():
            if 0 <= cls < len(lookup):
                lookup[cls] = weight
        weights = lookup[labels]
        return weights if sample_weight is None else weights * sample_weight

    def evaluate(self, x, y, batch_size=32, sample_weight=None, verbose=0, return_dict=False):
        """The loss and every metric over (x, y), in evaluation mode without a graph.

        Returns:
            ``{"loss": ..., metric: ...}`` with ``return_dict``, else the loss
            alone when there are no metrics, else ``[loss, *metrics]``.
        """
        self._require_compiled("evaluate")
        x = self._input_data(x)
        n = n_samples(x)
        y = self._target_data(y, n)
        sample_weight = as_sample_weight(sample_weight, n)
        batch_size = positive_int("batch_size", batch_size)
        self._ensure_built(take(x, slice(0, 1)))
        fresh = [copy.copy(m) for m in self.metrics]  # the training metrics keep their state
        for f in fresh:
            f.reset_state()
        total = 0.0
        with evaluating(), no_grad():  # this thread only: a fit in another keeps its dropout
            for start in range(0, n, batch_size):
                rows = slice(start, start + batch_size)
                xb, yb = take(x, rows), take(y, rows)
                wb = None if sample_weight is None else sample_weight[rows]
                out = self._forward_for_loss(_tensors(xb, self._device_module))
                total += float(self._training_loss(yb, out, wb).data) * n_samples(xb)
                self._update_metrics(fresh, yb, out, wb)
        penalty = self._penalty()
        result = {"loss": total / n + (float(penalty.data) if penalty is not None else 0.0),
                  **{m.name: m.result() for m in fresh}}
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in result.items()))
        if return_dict:
            return result
        return result["loss"] if not fresh else list(result.values())

    def predict(self, x, batch_size=32, verbose=0):
        """The network's outputs for ``x`` (NumPy), batched, in evaluation mode, without a graph.

        ``verbose`` is accepted for Keras compatibility (``predict`` never prints).
        A model with several outputs returns a list of arrays.
        """
        x = self._input_data(x)
        batch_size = positive_int("batch_size", batch_size)
        if not self.built:
            self._ensure_built(take(x, slice(0, 1)))
        n = n_samples(x)
        if n <= batch_size:  # one batch (a single sample's latency): nothing to slice or join
            return _owned(_host(self.infer(_on(x, self._device_module))))
        batches = [_host(self.infer(_on(take(x, slice(s, s + batch_size)), self._device_module)))
                   for s in range(0, n, batch_size)]
        if isinstance(batches[0], list):
            return [_joined([b[i] for b in batches]) for i in range(len(batches[0]))]
        return _joined(batches)



def _joined(batches):
    if len(batches) == 1:
        return _owned(batches[0])
    return np.concatenate(batches)


def _owned(y):
    """A writeable answer: a recurrent layer's output is a read-only view (copied); several outputs: each."""
    if isinstance(y, list):
        return [_owned(a) for a in y]
    return y if y.flags.writeable else y.copy()
