"""What ``Model.fit(..., distributed=True)`` does on each rank.

Every rank holds the whole data set and shuffles it with the same seed, so all see the
same global batches; rank ``r`` trains on its contiguous share of each one. What is kept
equal across ranks:

- the weights: rank 0's are broadcast at the start; after that every step applies the
  same averaged gradient (see ``gradients.py``);
- the batch-normalization moving statistics: averaged over the ranks after each epoch
  (each rank normalises with its own shard's batch statistics, as PyTorch's
  DistributedDataParallel without SyncBatchNorm does);
- the logs: the loss is the global batch's; each metric is the average of the ranks'
  values weighted by their sample counts; validation runs on every rank with the same
  weights, so its numbers agree;
- stop decisions: ``stop_training`` (EarlyStopping, TerminateOnNaN, ...) is true on every
  rank as soon as it is on one.

Dropout draws each rank's masks from its own stream (the layer's generator folded with
the rank), so the ranks do not repeat each other's masks.
"""
import contextlib

import numpy as np

from ..callbacks import Callback
from ..random import make_rng
from .gradients import GradientAverager, broadcast_parameters
from .world import failure_text, init

# Callbacks that print or write files: rank 0 runs them alone.
RANK_ZERO_ONLY = ("ProgressBar", "ModelCheckpoint", "CSVLogger")


class DistributedFit:
    """The per-rank side of one ``fit``: shards, gradient averaging, log averaging."""

    def __init__(self, model, callbacks):
        self.world = world = init()
        self.rank, self.size = world.rank, world.size
        broadcast_parameters(model, world)
        self.model = model
        self.averager = GradientAverager(world, model.optimizer.params)
        self.local_samples = 0  # this rank's samples this epoch
        self.batch_samples = self.count = 0  # the global batch's samples, this rank's share
        for i, module in enumerate(model.modules()):
            if hasattr(module, "rng") and hasattr(module, "seed"):  # Dropout's mask generator
                base = module.rng if module.rng is not None else make_rng(module.seed)
                module.rng = np.random.default_rng([int(base.integers(2**63)), self.rank, i])
        # NOTE: a callback listening to every batch may stop mid-epoch; the ranks agree on
        # that after each batch, but only when such a callback is there (it costs a collective).
        self.sync_each_batch = any(_listens(cb, "on_train_batch_end") for cb in callbacks or ())

    def local_callbacks(self, callbacks):
        """The callbacks this rank runs: all on rank 0, those that print or write on no other."""
        if self.rank == 0:
            return callbacks
        return [cb for cb in callbacks if type(cb).__name__ not in RANK_ZERO_ONLY]

    def shard(self, start, stop):
        """This rank's rows of the global batch ``[start, stop)`` (contiguous; sizes differ by at most one)."""
        n = stop - start
        bounds = [start + (n * r) // self.size for r in range(self.size + 1)]
        self.local_samples += bounds[self.rank + 1] - bounds[self.rank]
        self.batch_samples, self.count = n, bounds[self.rank + 1] - bounds[self.rank]
        return slice(bounds[self.rank], bounds[self.rank + 1])

    def average_gradients(self, loss):
        """All-reduce the gradients after the backward pass on this rank's shard of the
        batch; returns the global batch's loss."""
        return self.averager(self.count, loss)

    def idle_step(self):
        """A rank whose shard of this batch is empty still takes part in the all-reduce and the step."""
        self.model.optimizer.zero_grad()
        loss = self.averager(0)
        self.model.optimizer.step()
        return loss

    def average_logs(self, logs):
        """``logs`` with each metric (every key but the loss, already global) replaced by the
        sample-weighted mean over the ranks;
        the batch-normalization moving statistics averaged too."""
        names = [k for k in logs if k != "loss"]
        n = self.local_samples
        rows = self.world.gather([n, *[logs[k] * n if n else 0.0 for k in names]])
        self.local_samples = 0
        total = rows[:, 0].sum()
        for j, name in enumerate(names):
            logs[name] = float(rows[:, j + 1].sum() / total) if total else logs[name]
        self._average_buffers()
        return logs

    def _average_buffers(self):
        for _, b in self.model.named_buffers():
            if b.data.dtype.kind == "f":
                rows = self.world.gather(b.data)
                b.data[...] = (rows.sum(axis=0) / self.size).reshape(b.shape)

    def any(self, flag):
        return self.world.any(flag)

    @contextlib.contextmanager
    def training(self, model):
        """While the epochs run: ``model`` steps through this object, and a failure on this
        rank aborts every rank (the others would wait in the next all-reduce for ever)."""
        model._sync = self
        try:
            yield
        except BaseException as error:  # noqa: BLE001 - any failure must end every rank
            if self.size > 1:
                self.world.abort(failure_text(error))
            raise
        finally:
            model._sync = None


def _listens(callback, hook):
    return getattr(getattr(callback, hook), "__func__", None) is not getattr(Callback, hook)
