"""The parallel kernels on Numba's threads (``kernels.threaded``) give bit for bit what their serial
compilation gives, and NumPy's OpenBLAS workers sleep after a product (``blas_threads``).

Each op runs its compiled path twice: every parallel kernel on its parallel compilation, however
small the call (``_threads(True)``), and on its serial one. The serial compilation is held to the
NumPy reference by the kernels' own test modules."""
import contextlib
import importlib
import json
import os
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import glassnet
from glassnet import blas_threads, kernels, nn, ops, optim
from glassnet.nn import Parameter
from glassnet.ops import (batch_norm, bias_activation, conv_kernels, cross_entropy_kernels, dropout, recurrent_fused,
                         recurrent_kernels)
from glassnet.optim import adam, adaptive, sgd
from glassnet.tensor import Tensor

pytestmark = pytest.mark.skipif(not kernels.available(), reason="Numba is not installed")

KINDS = ["relu", "leaky_relu", "sigmoid", "elu", "softmax", "tanh", "linear"]


PARALLEL_KERNELS = [k for module in (conv_kernels, batch_norm, bias_activation, cross_entropy_kernels, dropout, adam,
                                     adaptive, sgd, recurrent_fused, recurrent_kernels)
                    for k in vars(module).values() if isinstance(k, kernels.jit) and k.parallel]


@contextlib.contextmanager
def _threads(on):
    """Every parallel kernel on its parallel compilation, whatever the size (on), or serial (off), in
    this process: with PyTorch imported first (as the suite does) ``kernels.threaded()`` is False, and
    the parallel compilations would not run here otherwise."""
    for k in PARALLEL_KERNELS:
        k.dispatcher  # noqa: B018 - the serial compilation's dispatcher first (it may set _threaded)
    saved = [(k, k._threaded) for k in PARALLEL_KERNELS]
    previous = kernels.PARALLEL_MIN
    try:
        for k, _ in saved:
            k._threaded = k.parallel_dispatcher() if on else None
        kernels.PARALLEL_MIN = 0
        yield
    finally:
        kernels.PARALLEL_MIN = previous
        for k, threaded in saved:
            k._threaded = threaded


def _run(make_op, arrays, on, seed=3):
    """The op's output and the gradients of sum(y * v) for every input, on the compiled path."""
    with _threads(on), kernels.use("numba"):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        y = make_op()(*ts)
        v = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
        y.backward(v)
    return [y.data] + [t.grad for t in ts]


def _assert_threads_equal_serial(make_op, arrays):
    threaded, serial = _run(make_op, arrays, True), _run(make_op, arrays, False)
    for a, b in zip(threaded, serial):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def _data(*shapes, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def test_every_parallel_kernel_is_covered():
    """Every ``jit(parallel=True)`` kernel of glassnet.ops and glassnet.optim is one this module runs."""
    found = set()
    for package in (glassnet.ops, glassnet.optim):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            found |= {id(k) for k in vars(module).values() if isinstance(k, kernels.jit) and k.parallel}
    assert found == {id(k) for k in PARALLEL_KERNELS}


# float32 only (what the networks run; the kernels' code is the same for every dtype): a parallel
# compilation takes 2-5 s, which the suite's time pays on a fresh clone.
@pytest.mark.parametrize("relu, bias, padding, strides",
                         [(True, True, "same", (1, 1)), (False, False, "valid", (2, 1))])
def test_convolution(relu, bias, padding, strides):
    x, w, b = _data((5, 9, 8, 3), (3, 3, 3, 6), (6,))
    _assert_threads_equal_serial(lambda: ops.Conv2D(strides, padding, (1, 1), relu), [x, w, b] if bias else [x, w])


@pytest.mark.parametrize("rows", [7, 40, 1000], ids=["cut-samples", "cut-samples-2", "whole"])
def test_col2im_over_blocks(rows):
    """col2im_add's threads take whole samples; a block of rows that cuts samples (a sample's rows in
    two blocks) still adds each cell's terms in the serial order."""
    kh, kw, sh, sw, dh, dw, pt, pl, oh, ow = 3, 2, 2, 1, 1, 2, 1, 0, 4, 5
    g = _data((6 * oh * ow, kh * kw * 3))[0]
    results = []
    for kernel in (conv_kernels.col2im_add.dispatcher, conv_kernels.col2im_add.parallel_dispatcher()):
        gx = np.zeros((6, 8, 7, 3), np.float32)
        for first in range(0, len(g), rows):
            kernel(g[first:first + rows], first, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, gx)
        results.append(gx)
    np.testing.assert_array_equal(*results)
    assert np.count_nonzero(results[0]) > 0


@pytest.mark.parametrize("target", ["labels", "probabilities"])
def test_softmax_cross_entropy(target):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 11, 300)
    t = labels if target == "labels" else rng.dirichlet(np.ones(11), 300).astype(np.float32)
    _assert_threads_equal_serial(lambda: ops.SoftmaxCrossEntropy(t, mean=True), _data((300, 11)))


def test_softmax_cross_entropy_names_a_bad_label_on_the_threads():
    labels = np.arange(300) % 11
    labels[123] = 11
    with _threads(True), kernels.use("numba"), pytest.raises(ValueError, match=r"label 11 \(row 123\)"):
        ops.SoftmaxCrossEntropy(labels)(Tensor(_data((300, 11))[0]))


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("size, strides, padding", [((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "same")])
def test_pooling(mode, size, strides, padding):
    (x,) = _data((5, 8, 9, 4))
    _assert_threads_equal_serial(lambda: ops.Pool2D(size, strides, padding, mode), [x])


@pytest.mark.parametrize("relu, rows", [(False, 3), (True, 50), (False, 50)])
def test_batch_norm(relu, rows, dtype=np.float32):
    x, gamma, beta = _data((rows, 2, 3, 5), (5,), (5,), dtype=dtype)
    moving = lambda: [np.zeros(5, dtype), np.ones(5, dtype)]  # noqa: E731
    _assert_threads_equal_serial(lambda: ops.BatchNorm(1e-3, *moving(), 0.9, True, True, True, relu),
                                 [x * 3 + 5, gamma, beta])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rows", [3, 37])
def test_dense_bias_and_activation(kind, rows):
    x, w, b = _data((rows, 6), (6, 5), (5,))
    _assert_threads_equal_serial(lambda: ops.Linear(activation=kind), [x, w, b])


@pytest.mark.parametrize("kind", ["relu", "softmax", "linear"])
def test_dense_bias_gradient_over_several_column_blocks(kind):
    """Columns in two and a half blocks of kernels.COLUMNS: the threads take blocks, each column summed
    over the rows in order, which are NumPy's own sums (the reference path's gz.sum(axis=0)) bit for bit."""
    columns = 2 * kernels.COLUMNS + kernels.COLUMNS // 2
    x, w, b = _data((37, 6), (6, columns), (columns,))
    _assert_threads_equal_serial(lambda: ops.Linear(activation=kind), [x, w, b])
    gy = np.random.default_rng(1).standard_normal((37, columns)).astype(np.float32)
    y = np.maximum(x @ w + b, 0)
    for on in (True, False):
        with _threads(on):
            gz, gb = np.empty_like(gy), np.zeros(columns, np.float32)
            bias_activation._backward_kernel(gy, y, bias_activation.RELU, 0.0, gz, gb)
        np.testing.assert_array_equal(gz, gy * (y > 0))
        np.testing.assert_array_equal(gb, (gy * (y > 0)).sum(axis=0))


@pytest.mark.parametrize("make", [lambda: nn.LSTM(6, return_sequences=True, seed=0),
                                  lambda: nn.LSTM(6, return_sequences=True, return_state=True, seed=0),
                                  lambda: nn.GRU(6, return_sequences=True, seed=0),
                                  lambda: nn.SimpleRNN(6, return_sequences=True, seed=0),
                                  lambda: nn.SimpleRNN(6, activation="relu", return_sequences=True, seed=0)],
                         ids=["lstm", "lstm-state", "gru", "simple-rnn", "simple-rnn-relu"])
def test_recurrent_training_steps(make):
    """The recurrent layers' step kernels, forward and backward, with a mask: outputs and every gradient
    (return_state: the LSTM's c sequence's gradient path)."""
    layer = make()
    x = _data((5, 4, 3))[0]
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)

    def run(on):
        with _threads(on), kernels.use("numba"):
            for p in layer.parameters():
                p.grad = None
            gx = Tensor(x, requires_grad=True)
            outputs = layer(gx, mask=mask)
            outputs = outputs if isinstance(outputs, list) else [outputs]
            rng = np.random.default_rng(7)
            sum((o * Tensor(rng.standard_normal(o.shape).astype(np.float32))).sum() for o in outputs).backward()
        return [o.data for o in outputs] + [gx.grad] + [p.grad for p in layer.parameters()]

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


def test_dropout():
    (x,) = _data((40, 30))
    _assert_threads_equal_serial(lambda: ops.Dropout(0.3, np.random.default_rng(5)), [x])


PROBE = """
import json, os, glassnet
import scipy.linalg  # (SciPy's own OpenBLAS, loaded after glassnet: not NumPy's, left as it is)
import glassnet
from glassnet import blas_threads, kernels
libs = blas_threads.numpy_openblas()
print(json.dumps({"timeouts": [lib.openblas_thread_timeout() for lib in libs], "sleep": blas_threads.workers_sleep(),
                  "threaded": kernels.threaded(), "env": blas_threads.ENV_VAR in os.environ,
                  "omp": os.environ.get("OMP_WAIT_POLICY")}))
"""


def _script(source, **env):
    """The last line of what ``source`` prints, run in a fresh Python without this process's thread
    settings (plus ``env``)."""
    base = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=300,
                         env={**base, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def _probe(**env):
    return json.loads(_script(PROBE, **env))


def test_import_makes_the_openblas_workers_sleep_and_leaves_the_environment_as_it_was():
    got = _probe()
    assert got["timeouts"] and set(got["timeouts"]) == {blas_threads.QUIET}
    assert got == {**got, "sleep": True, "threaded": True, "env": False, "omp": None}


def test_the_users_settings_win():
    """A timeout the user set is kept (and with spinning workers the kernels stay serial); so is a
    threading choice (active OpenMP waiting, one Numba thread)."""
    spinning = _probe(OPENBLAS_THREAD_TIMEOUT="28")
    assert set(spinning["timeouts"]) == {28} and spinning["sleep"] is False and spinning["threaded"] is False
    assert _probe(OMP_WAIT_POLICY="ACTIVE")["threaded"] is False


OPTIMIZERS = {
    "adam-amsgrad": lambda p: optim.Adam(p, 0.01, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, 0.01),
    "nadam": lambda p: optim.Nadam(p, 0.01),
    "sgd-nesterov-decay": lambda p: optim.SGD(p, 0.01, momentum=0.9, nesterov=True, weight_decay=0.01),
    "sgd-dampening": lambda p: optim.SGD(p, 0.01, momentum=0.5, dampening=0.2),
    "rmsprop-centered-momentum": lambda p: optim.RMSprop(p, 0.01, momentum=0.9, centered=True),
    "adagrad": lambda p: optim.Adagrad(p, 0.05, weight_decay=0.01),
    "adadelta": lambda p: optim.Adadelta(p, 1.0),
}


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_optimizer_updates(make):
    """Trajectories on the threads and on the NumPy reference path agree to the last bit."""
    def trajectory(kind):
        params = [Parameter(a) for a in _data((40, 30), (30,))]
        opt = make(params)
        opt.compiled_min_size = 0  # (SGD's kernel runs from 32,768 parameters otherwise)
        with _threads(True), kernels.use(kind):
            for step in range(4):
                for p in params:
                    p.grad = (2 * (p.data - 1.5) + 0.3 * np.cos(step + p.data)).astype(np.float32)
                opt.step()
        return [p.data for p in params]

    for a, b in zip(trajectory("numba"), trajectory("numpy")):
        np.testing.assert_array_equal(a, b)


NO_LAYER = """
import numba, numpy as np

def no_layer():
    raise ValueError("No threading layer could be loaded.")

numba.get_num_threads = no_layer  # as on a system without OpenMP or TBB
import glassnet
from glassnet import Tensor, kernels, ops
x, w = Tensor(np.ones((8, 16, 16, 32), np.float32)), Tensor(np.ones((3, 3, 32, 4), np.float32))
print(kernels.threaded(), float(ops.Conv2D((1, 1), "same", (1, 1), True)(x, w).data.sum()))
"""


def test_without_a_threading_layer_the_kernels_run_serial():
    threaded, total = _script(NO_LAYER).split()
    assert threaded == "False" and float(total) > 0


def _conv_in_child(queue):
    queue.put(_run(lambda: ops.Conv2D((1, 1), "same", (1, 1), True), _data((2, 5, 5, 3), (3, 3, 3, 4)), True)[0])


def test_a_forked_child_runs_the_kernels_serial():
    """GNU OpenMP cannot start a parallel region in a child forked after it ran: the child's kernels
    run serial (instead of Numba aborting it), with the same results."""
    import multiprocessing  # noqa: PLC0415

    expected = _run(lambda: ops.Conv2D((1, 1), "same", (1, 1), True), _data((2, 5, 5, 3), (3, 3, 3, 4)), True)[0]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_conv_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(got, expected)


THREADS_SCRIPT = """
import json, threading
import numpy as np
import glassnet
from glassnet import kernels, ops
from glassnet.tensor import Tensor

def step(x, w, b):
    ts = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    y = ops.Pool2D((2, 2), (2, 2))(ops.Conv2D((1, 1), "same", (1, 1), True)(*ts))
    y.backward(np.ones(y.shape, np.float32))
    return [y.data] + [t.grad for t in ts]

rng = np.random.default_rng(0)
x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((8, 32, 32, 16), (3, 3, 16, 8), (8,)))
serial = kernels.PARALLEL_MIN
kernels.PARALLEL_MIN = 1 << 62
expected = step(x, w, b)
kernels.PARALLEL_MIN = serial
results = [None] * 4
def run(i):
    results[i] = [step(x, w, b) for _ in range(3)]
threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
same = all(np.array_equal(a, e) for r in results for outs in r for a, e in zip(outs, expected))
print(json.dumps({"threaded": kernels.threaded(), "same": same}))
"""


def test_four_threads_at_once_on_the_parallel_kernels():
    """Four Python threads run the threaded convolution and pooling together (Numba's OpenMP layer takes
    parallel regions from several threads): each gets the serial result, bit for bit. In a process of
    its own, where the kernels do run on Numba's threads (here PyTorch is loaded first)."""
    assert json.loads(_script(THREADS_SCRIPT)) == {"threaded": True, "same": True}
