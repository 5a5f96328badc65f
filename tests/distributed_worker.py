"""The program tests/test_distributed.py starts on 1, 2 and 4 ranks (``mpiexec -n N python
distributed_worker.py OUT MODE``); importing it runs nothing.

Each case trains a small float64 network with ``fit(..., distributed=True)`` and rank 0
writes the final weights to ``OUT/<case>-<ranks>.npz`` together with how far any rank's
weights are from rank 0's (``spread``: 0 when the ranks agree exactly).
"""
import os
import sys

import numpy as np

import glassnet as gn

F64 = np.float64


def _data(shape, classes, n, seed):
    rng = np.random.default_rng(seed)
    # NOTE: values exact in float32, so a model file's float32 input conversion changes nothing
    x = rng.standard_normal((n, *shape)).astype(np.float32).astype(F64)
    return x, rng.integers(0, classes, n)


def mlp():
    model = gn.Sequential([gn.nn.Dense(16, activation="relu", kernel_regularizer=gn.regularizers.L2(1e-3), dtype=F64),
                           gn.nn.Dense(3, activation="softmax", dtype=F64)], seed=0)
    model.compile(optimizer=gn.optim.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, *_data((6,), 3, 67, 1), 16  # the last batch has 3 samples: one of 4 ranks gets none


def cnn():
    model = gn.Sequential([gn.nn.Conv2D(4, 3, activation="relu", dtype=F64), gn.nn.MaxPooling2D(2),
                           gn.nn.Flatten(), gn.nn.Dense(3, activation="softmax", dtype=F64)], seed=0)
    model.compile(optimizer=gn.optim.SGD(learning_rate=0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    return model, *_data((6, 6, 1), 3, 40, 2), 10


def lstm():
    model = gn.Sequential([gn.nn.LSTM(6, dtype=F64), gn.nn.Dense(2, activation="softmax", dtype=F64)], seed=0)
    model.compile(optimizer=gn.optim.RMSprop(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    return model, *_data((5, 3), 2, 36, 3), 12


def noisy():
    """Batch normalization and dropout: not equal to one process, but equal on every rank."""
    model = gn.Sequential([gn.nn.Dense(8, dtype=F64), gn.nn.BatchNormalization(dtype=F64), gn.nn.Activation("relu"),
                           gn.nn.Dropout(0.3), gn.nn.Dense(3, activation="softmax", dtype=F64)], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, *_data((6,), 3, 48, 4), 16


CASES = {"mlp": mlp, "cnn": cnn, "lstm": lstm, "noisy": noisy}


def build(case):
    model, x, y, batch_size = CASES[case]()
    model.dtype = np.dtype(F64)
    return model, x, y, batch_size


def weights(model):
    return [t.data.copy() for _, t in model._named_state()]


def train(case, epochs=2, distributed=False, model=None, initial_epoch=0, callbacks=None):
    built, x, y, batch_size = build(case)
    model = model if model is not None else built
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, seed=0, distributed=distributed,
              initial_epoch=initial_epoch, callbacks=callbacks, validation_data=(x[:8], y[:8]))
    return model


def hand_loop(world=None):
    """Two SGD steps of a hand-written loop; with ``world``, through DistributedOptimizer on equal shards."""
    net = gn.nn.Linear(4, 2, seed=0, dtype=F64)
    opt = gn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    if world is not None:
        opt = gn.distributed.DistributedOptimizer(opt)
    x, _ = _data((4,), 2, 32, 5)
    y = np.sin(x[:, :2])
    for rows in (slice(0, 16), slice(16, 32)):
        if world is not None:  # this rank's equal share of the batch
            share = 16 // world.size
            rows = slice(rows.start + world.rank * share, rows.start + (world.rank + 1) * share)
        loss = ((net(gn.Tensor(x[rows])) - gn.Tensor(y[rows])) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


class StopOnRank(gn.callbacks.Callback):
    """Asks to stop after epoch ``epoch`` on rank ``rank`` alone: every rank must stop there."""

    def __init__(self, rank, epoch):
        super().__init__()
        self.rank, self.epoch = rank, epoch

    def on_epoch_end(self, epoch, logs=None):
        from glassnet import distributed  # noqa: PLC0415

        if epoch == self.epoch and distributed.rank() == self.rank:
            self.model.stop_training = True


def _save(out, name, model, world):
    arrays = weights(model)
    flat = np.concatenate([a.reshape(-1) for a in arrays])
    spread = float(np.abs(world.gather(flat) - flat).max()) if world is not None else 0.0
    if world is None or world.rank == 0:
        np.savez(os.path.join(out, f"{name}.npz"), *arrays, spread=spread)


def main(out, mode):
    from glassnet import distributed  # noqa: PLC0415

    world = distributed.init()
    if mode == "fail-in-fit":  # rank 1 fails in its second epoch while rank 0 trains on
        class Fail(gn.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 1 and world.rank == 1:
                    raise RuntimeError("a deliberate failure on rank 1")
        train("mlp", epochs=50, distributed=True, callbacks=[Fail()])
        return
    if mode == "fail-outside-fit":  # rank 1 fails before fit; rank 0 waits in fit's first broadcast
        if world.rank == 1:
            raise ValueError("rank 1 could not read its data")
        train("mlp", epochs=50, distributed=True)
        return
    size = world.size
    for case in CASES:
        _save(out, f"{case}-{size}", train(case, distributed=True), world)
    _save(out, f"hand-{size}", hand_loop(world), world)
    stopped = train("mlp", epochs=5, distributed=True, callbacks=[StopOnRank(size - 1, 1)])
    _save(out, f"stopped-{size}", stopped, world)
    # Resume one process's checkpoint after 1 epoch here, and write this run's own after 1 epoch.
    resumed = train("mlp", epochs=2, distributed=True, model=gn.load_model(os.path.join(out, "single-1.gnet")),
                    initial_epoch=1)
    _save(out, f"resumed-{size}", resumed, world)
    checkpoint = gn.callbacks.ModelCheckpoint(os.path.join(out, f"dist{size}-{{epoch}}.gnet"))
    train("mlp", epochs=1, distributed=True, callbacks=[checkpoint])
    if size == 2:  # the command as its ranks run it (`glassnet train --ranks 2` starts them so)
        from glassnet.cli import main as glassnet  # noqa: PLC0415

        glassnet(["train", "--ranks", "2", "--dataset", "xor", "--epochs", "2", "--quiet",
                  "--out", os.path.join(out, "cli")])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
