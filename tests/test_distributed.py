"""glassnet.distributed: 2 and 4 ranks under mpiexec train to one process's weights
(float64, 1e-6: MLP with an L2 penalty and an empty shard, CNN, LSTM); checkpoints cross
between distributed and single-process runs; a failing rank ends every rank quickly.

Each mpiexec run has a timeout: a hang fails the test instead of stalling the suite.
"""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import distributed
from glassnet.distributed import world as world_module
from glassnet.distributed.launch import THREAD_VARIABLES

WORKER = os.path.join(os.path.dirname(__file__), "distributed_worker.py")
TIMEOUT = 120  # seconds for one mpiexec run (a run takes a few)


def _load_worker():
    spec = importlib.util.spec_from_file_location("distributed_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load_worker()


def _mpiexec(ranks, *args, timeout=TIMEOUT):
    command, env = distributed.mpiexec_command(ranks, [WORKER, *args])
    env = {**env, **{name: "1" for name in THREAD_VARIABLES}}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _arrays(path):
    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files) - 1)], float(f["spread"])


def _gap(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("distributed"))
    worker.train("mlp", epochs=1).save(os.path.join(out, "single-1.gnet"))
    for ranks in (2, 4):
        done = _mpiexec(ranks, out, "run")
        assert done.returncode == 0, done.stderr[-3000:]
        with open(os.path.join(out, f"stdout-{ranks}.txt"), "w") as f:
            f.write(done.stdout)
    return out


@pytest.mark.parametrize("ranks", [2, 4])
@pytest.mark.parametrize("case", ["mlp", "cnn", "lstm"])
def test_ranks_train_to_the_weights_of_one_process(runs, case, ranks):
    single = worker.weights(worker.train(case))
    arrays, spread = _arrays(os.path.join(runs, f"{case}-{ranks}.npz"))
    assert spread == 0.0  # every rank holds exactly rank 0's weights
    assert _gap(arrays, single) < 1e-6


@pytest.mark.parametrize("ranks", [2, 4])
def test_distributed_optimizer_in_a_hand_written_loop(runs, ranks):
    arrays, spread = _arrays(os.path.join(runs, f"hand-{ranks}.npz"))
    assert spread == 0.0
    assert _gap(arrays, worker.weights(worker.hand_loop())) < 1e-6


@pytest.mark.parametrize("ranks", [2, 4])
def test_a_stop_asked_on_one_rank_stops_every_rank(runs, ranks):
    # the last rank alone asks to stop after epoch 2 of 5; the run ended (no hang), with the
    # weights of two epochs on every rank
    arrays, spread = _arrays(os.path.join(runs, f"stopped-{ranks}.npz"))
    assert spread == 0.0
    assert _gap(arrays, worker.weights(worker.train("mlp", epochs=2))) < 1e-6


@pytest.mark.parametrize("ranks", [2, 4])
def test_batch_norm_and_dropout_stay_equal_across_ranks(runs, ranks):
    # Batch statistics are per shard and dropout masks per rank, so the weights differ from one
    # process's; the ranks still agree exactly (moving statistics are averaged each epoch).
    arrays, spread = _arrays(os.path.join(runs, f"noisy-{ranks}.npz"))
    assert spread == 0.0
    assert all(np.isfinite(a).all() for a in arrays)


@pytest.mark.parametrize("ranks", [2, 4])
def test_checkpoints_cross_between_distributed_and_single_runs(runs, ranks):
    uninterrupted = worker.weights(worker.train("mlp"))
    # NOTE: a model file loads as float32 (its weights, so the resumed runs train in float32)
    single_resume = worker.weights(worker.train("mlp", epochs=2, initial_epoch=1,
                                                model=gn.load_model(os.path.join(runs, "single-1.gnet"))))
    # one process's checkpoint, resumed on `ranks` ranks
    resumed, spread = _arrays(os.path.join(runs, f"resumed-{ranks}.npz"))
    assert spread == 0.0
    assert _gap(resumed, single_resume) < 1e-6 and _gap(resumed, uninterrupted) < 1e-6
    # the distributed run's checkpoint (written by rank 0 alone), resumed in one process
    model = gn.load_model(os.path.join(runs, f"dist{ranks}-1.gnet"))
    assert _gap(worker.weights(worker.train("mlp", epochs=2, initial_epoch=1, model=model)), single_resume) < 1e-6


@pytest.mark.parametrize("mode, message", [("fail-in-fit", "RuntimeError: a deliberate failure on rank 1"),
                                           ("fail-outside-fit", "ValueError: rank 1 could not read its data")])
def test_a_failing_rank_ends_every_rank(tmp_path, mode, message):
    done = _mpiexec(2, str(tmp_path), mode, timeout=60)  # rank 0 would otherwise train 50 epochs or wait
    assert done.returncode != 0
    assert "glassnet.distributed: rank 1 of 2 failed" in done.stderr and message in done.stderr
    assert "aborting all 2 ranks" in done.stderr


def test_glassnet_train_on_ranks_reports_and_writes_once(runs):
    with open(os.path.join(runs, "stdout-2.txt")) as f:
        printed = f.read()
    assert printed.count("test accuracy") == 1 and "for 2 epochs" in printed and "on 2 ranks" in printed
    assert sorted(os.listdir(os.path.join(runs, "cli"))) == ["confusion.png", "curves.png", "metrics.json",
                                                             "model.gnet"]


def test_glassnet_train_ranks_starts_mpiexec(monkeypatch):
    from glassnet import cli  # noqa: PLC0415

    started = []
    monkeypatch.setattr(distributed, "launch", lambda ranks, args: started.append((ranks, args)) or 0)
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["train", "--ranks", "4", "--epochs", "3"]) == 0
    assert started == [(4, ["-m", "glassnet", "train", "--ranks", "4", "--epochs", "3"])]


def test_one_process_needs_no_mpi_and_says_how_to_install_it(monkeypatch):
    model, x, y, batch_size = worker.build("mlp")
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)  # distributed=False never imports mpi4py
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setattr(world_module, "_WORLD", [])
    world_module._mpi.cache_clear()
    try:
        with pytest.raises(ImportError, match="apt-get install -y openmpi-bin libopenmpi-dev"):
            model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, distributed=True)
    finally:
        world_module._mpi.cache_clear()
    with pytest.raises(ValueError, match="distributed"):
        model.fit(x, y, epochs=1, verbose=0, distributed="yes")


def test_one_process_distributed_equals_plain_fit():
    # mpiexec not involved: a world of one rank is an ordinary run
    assert _gap(worker.weights(worker.train("cnn", distributed=True)), worker.weights(worker.train("cnn"))) == 0


def test_shards_split_each_global_batch():
    fit = object.__new__(distributed.DistributedFit)
    fit.size, fit.local_samples = 4, 0
    shards = []
    for rank in range(4):
        fit.rank = rank
        shards.append(fit.shard(64, 67))
    assert [(s.start, s.stop) for s in shards] == [(64, 64), (64, 65), (65, 66), (66, 67)]


def test_mpiexec_command_sets_threads_per_rank(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    command, env = distributed.mpiexec_command(4, ["train.py"], cpus=2)
    assert command[1:5] == ["-n", "4", "--bind-to", "none"] and "--oversubscribe" in command
    assert command[-2:] == [sys.executable, "train.py"]
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["NUMBA_NUM_THREADS"] == "1"
    command, env = distributed.mpiexec_command(2, ["train.py"], cpus=8)
    assert "--oversubscribe" not in command and env["OMP_NUM_THREADS"] == "4"
