"""Threads: grad mode, evaluation mode and the default generator are per thread; fit in one
thread while others predict and evaluate gives the sequential run's results bit for bit."""
import threading
import time

import numpy as np

import glassnet as gn
from glassnet import nn
from glassnet.ops.workspace import Arena

X = np.random.default_rng(0).standard_normal((600, 8, 8, 1)).astype(np.float32)
Y = np.eye(10, dtype=np.float32)[np.random.default_rng(1).integers(0, 10, 600)]


def _net(seed):
    """Convolution columns over 1 MiB (the shared arena), batch norm and dropout (the training flag)."""
    model = gn.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu"), nn.BatchNormalization(),
                           nn.Flatten(), nn.Dropout(0.3), nn.Dense(10, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(model):
    return model.fit(X, Y, epochs=3, batch_size=600, verbose=0, seed=0).history


def _in_threads(*jobs, timeout=60):
    """Run each job in its own thread; their results (or exceptions), in order, and whether all ended."""
    results = [None] * len(jobs)

    def run(i, job):
        try:
            results[i] = job()
        except Exception as err:  # noqa: BLE001 - reported to the test below
            results[i] = err

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results, not any(t.is_alive() for t in threads)


def test_fit_beside_predict_and_evaluate_equals_the_sequential_run(edge_cases):
    cases = edge_cases("threads")
    reference = _net(0)
    history = _fit(reference)
    other = _net(1)
    other.build(X.shape)
    expected_predictions = other.predict(X, batch_size=600)
    expected_evaluation = other.evaluate(X, Y, batch_size=600)

    for trial in range(3):
        trained, other = _net(0), _net(1)
        other.build(X.shape)

        def predict_repeatedly(model):
            return [model.predict(X, batch_size=600) for _ in range(4)]

        def evaluate_repeatedly(model):
            return [model.evaluate(X, Y, batch_size=600) for _ in range(4)]

        results, ended = _in_threads(lambda: _fit(trained), lambda: predict_repeatedly(other),
                                     lambda: evaluate_repeatedly(other), lambda: evaluate_repeatedly(trained),
                                     lambda: predict_repeatedly(trained))
        label = f"trial {trial}: fit beside predict and evaluate"
        if not ended:
            cases.record(label, "hang")
            continue
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            cases.record(f"{label}: {errors[0]!r}", "crash")
            continue
        same = (results[0] == history
                and all(np.array_equal(a, b) for a, b in zip(trained.get_weights(), reference.get_weights()))
                and all(np.array_equal(p, expected_predictions) for p in results[1])
                and all(e == expected_evaluation for e in results[2]))
        cases.record(label, "ok" if same else "silent")
        assert gn.is_grad_enabled(), "a thread left recording off for the whole process"
    cases.assert_clean()


def test_grad_mode_is_per_thread():
    inside, started, release = {}, threading.Event(), threading.Event()

    def record_off():
        with gn.no_grad():
            started.set()
            release.wait(5)
            inside["off"] = gn.is_grad_enabled()

    worker = threading.Thread(target=record_off)
    worker.start()
    started.wait(5)
    x = gn.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()  # the other thread is inside no_grad: this one records all the same
    release.set()
    worker.join()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert inside["off"] is False and gn.is_grad_enabled()
    fresh, _ = _in_threads(gn.is_grad_enabled)
    with gn.no_grad():
        assert _in_threads(gn.is_grad_enabled)[0] == [True]  # a new thread starts recording
    assert fresh == [True]


def test_set_grad_enabled_as_call_and_context_and_no_grad_as_decorator():
    gn.set_grad_enabled(False)
    assert not gn.is_grad_enabled()
    gn.set_grad_enabled(True)
    with gn.set_grad_enabled(False):
        assert not gn.is_grad_enabled()
        with gn.enable_grad():
            assert gn.is_grad_enabled()
        assert not gn.is_grad_enabled()
    assert gn.is_grad_enabled()

    @gn.no_grad()
    def doubled(t):
        return t * 2

    assert not doubled(gn.Tensor([1.0], requires_grad=True)).requires_grad
    assert gn.is_grad_enabled()


def test_evaluation_mode_of_one_thread_leaves_another_thread_training():
    dropout = nn.Dropout(0.5, seed=0)
    with nn.module.evaluating():
        assert not dropout.training
        assert _in_threads(lambda: dropout.training)[0] == [True]
    assert dropout.training
    dropout.eval()
    assert not dropout.training


def test_seeding_one_thread_does_not_shift_another():
    def draws(seed):
        gn.set_seed(seed)
        return [gn.random.default_rng().random() for _ in range(200)]

    alone = [draws(0), draws(1)]
    together, ended = _in_threads(lambda: draws(0), lambda: draws(1))
    assert ended and together == alone


def test_the_arena_hands_a_buffer_to_one_thread_at_a_time():
    arena = Arena(min_bytes=0)
    clashes = []

    def work(value):
        for _ in range(300):
            a = arena.empty((64,), np.float64)
            a[...] = value
            if not (a == value).all():
                clashes.append(value)

    _, ended = _in_threads(*[lambda v=v: work(v) for v in range(4)])
    assert ended and not clashes


class _SlowBuild(nn.Dense):
    """A Dense layer slow to build, so that threads using a fresh model overlap its build."""

    def build(self, input_shape):
        time.sleep(0.05)
        super().build(input_shape)


def test_first_use_from_two_threads_builds_one_set_of_weights():
    def fresh():
        model = gn.Sequential([_SlowBuild(4, activation="relu"), nn.Dense(3, activation="softmax")], seed=0)
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        return model

    x, y = X.reshape(600, -1)[:64], np.eye(3, dtype=np.float32)[np.arange(64) % 3]
    alone = fresh()
    alone.fit(x, y, epochs=2, verbose=0, seed=0)
    model = fresh()
    _, ended = _in_threads(lambda: model.fit(x, y, epochs=2, verbose=0, seed=0), lambda: model.predict(x))
    assert ended and model.optimizer.params[0] is model.parameters()[0]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), alone.get_weights()))
