"""Optimizers, schedules and clipping against torch.optim, plus convergence tables."""
import threading

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import kernels, optim
from glassnet.nn import Parameter

# name, glassnet factory(params), torch factory(params)
CASES = [
    ("sgd", lambda p: optim.SGD(p, learning_rate=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd_momentum", lambda p: optim.SGD(p, 0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd_nesterov", lambda p: optim.SGD(p, 0.05, momentum=0.9, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ("adam", lambda p: optim.Adam(p, 0.01, epsilon=1e-8),
     lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-8)),
    ("adam_amsgrad_wd", lambda p: optim.Adam(p, 0.01, beta_1=0.8, beta_2=0.99, amsgrad=True, weight_decay=0.1),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-7, amsgrad=True, weight_decay=0.1)),
    ("adamw", lambda p: optim.AdamW(p, 0.01, weight_decay=0.05),
     lambda p: torch.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.05)),
    ("adagrad", lambda p: optim.Adagrad(p, 0.1, initial_accumulator_value=0.1, weight_decay=0.01),
     lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, weight_decay=0.01)),
    ("rmsprop", lambda p: optim.RMSprop(p, 0.01, rho=0.95), lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.95, eps=1e-7)),
    ("rmsprop_centered_momentum", lambda p: optim.RMSprop(p, 0.01, momentum=0.5, centered=True, weight_decay=0.01),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5, centered=True, weight_decay=0.01)),
    ("adadelta", lambda p: optim.Adadelta(p, 1.0, rho=0.9, weight_decay=0.01),
     lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01)),
    ("nadam", lambda p: optim.Nadam(p, 0.01), lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7)),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(autouse=True)
def _compiled_kernels_for_small_buffers(monkeypatch):
    """These tables use tiny parameters: let them take the compiled updates (the default path)
    too, which otherwise start at ``compiled_min_size`` elements."""
    monkeypatch.setattr(optim.Optimizer, "compiled_min_size", 0)


def test_every_registered_optimizer_is_in_the_table():
    tested = {type(make([Parameter(np.zeros(1))])) for _, make, _ in CASES}
    assert {optim.OPTIMIZERS.get(n) for n in optim.OPTIMIZERS.names()} <= tested


def gradient(w, step):
    """A fixed, non-trivial gradient field shared by both libraries."""
    return 2 * (w - 1.5) * np.arange(1, w.size + 1).reshape(w.shape) + 0.3 * np.cos(step + w)


def run_pair(make, make_torch, steps=20, schedule=None, torch_schedule=None):
    init = [np.random.default_rng(0).standard_normal((3, 2)), np.random.default_rng(1).standard_normal(4)]
    ours = [Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt, topt = make(ours), make_torch(theirs)
    sched = torch_schedule(topt) if torch_schedule else None
    for step in range(steps):
        for p, tp in zip(ours, theirs):
            p.grad = gradient(p.data, step)
            tp.grad = torch.tensor(gradient(tp.detach().numpy(), step))
        opt.step()
        topt.step()
        if sched:
            sched.step()
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-6, atol=1e-12,
                                       err_msg=f"step {step}")
    return ours


@pytest.mark.parametrize("name,make,make_torch", CASES, ids=IDS)
def test_trajectory_matches_torch(name, make, make_torch):
    run_pair(make, make_torch)


@pytest.mark.parametrize("name,make,make_torch", CASES, ids=IDS)
def test_float32_stays_float32_and_updates_in_place(name, make, make_torch):
    w = Parameter(np.ones((2, 3), dtype=np.float32))
    buffer = w.data
    opt = make([w])
    for step in range(3):
        w.grad = gradient(w.data, step).astype(np.float32)
        opt.step()
    assert w.data is buffer and w.dtype == np.float32
    for value in opt.state[0].values():
        assert not isinstance(value, np.ndarray) or value.ndim == 0 or value.dtype == np.float32


SCHEDULES = [
    ("step", optim.StepDecay(0.1, step_size=5, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.5)),
    ("exponential", optim.ExponentialDecay(0.1, decay_rate=0.9),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    ("cosine", optim.CosineDecay(0.1, decay_steps=20, alpha=0.1),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.01)),
    ("warmup", optim.WarmUp(0.1, warmup_steps=8, start_factor=0.25),
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=8)),
]


@pytest.mark.parametrize("name,schedule,torch_schedule", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_trajectory_matches_torch(name, schedule, torch_schedule):
    run_pair(lambda p: optim.SGD(p, learning_rate=schedule, momentum=0.5),
             lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5), torch_schedule=torch_schedule)


def test_learning_rate_property_follows_the_schedule():
    opt = optim.SGD([Parameter([1.0])], learning_rate=optim.StepDecay(1.0, step_size=2))
    seen = []
    for _ in range(5):
        seen.append(opt.learning_rate)
        opt.params[0].grad = np.zeros(1, dtype=np.float32)
        opt.step()
    assert seen == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])


@pytest.mark.parametrize("clip", ["value", "norm", "global_norm"])
def test_clipping_matches_torch(clip):
    init = np.random.default_rng(0).standard_normal(5)
    g = np.array([3.0, -4.0, 0.5, 10.0, -0.2])
    kwargs = {"value": {"clipvalue": 1.0}, "norm": {"clipnorm": 2.0}, "global_norm": {"global_clipnorm": 2.0}}[clip]
    w = Parameter(init.copy())
    w.grad = g.copy()
    optim.SGD([w], learning_rate=0.1, **kwargs).step()
    tw = torch.tensor(init.copy(), requires_grad=True)
    tw.grad = torch.tensor(g.copy())
    if clip == "value":
        torch.nn.utils.clip_grad_value_([tw], 1.0)
    else:
        torch.nn.utils.clip_grad_norm_([tw], 2.0)
    torch.optim.SGD([tw], lr=0.1).step()
    # NOTE: per-parameter clipnorm (Keras) has no epsilon; torch's adds 1e-6 to the norm.
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-6)


def test_clip_functions_match_torch():
    g = [np.array([3.0, -4.0]), np.array([[12.0]])]
    ps = [Parameter(np.zeros_like(a)) for a in g]
    tps = [torch.zeros(a.shape, dtype=torch.float64, requires_grad=True) for a in g]
    for p, tp, a in zip(ps, tps, g):
        p.grad, tp.grad = a.copy(), torch.tensor(a)
    total = optim.clip_grad_norm_(ps, 5.0)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, 5.0)
    assert total == pytest.approx(float(ttotal)) == 13.0
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad, tp.grad.numpy())
    optim.clip_grad_value_(ps, 0.1)
    assert max(np.abs(p.grad).max() for p in ps) <= 0.1


@pytest.mark.parametrize("bad,match", [
    (lambda: optim.SGD([Parameter([1.0])], learning_rate=-0.1), r"Invalid learning_rate.*Received: learning_rate=-0.1"),
    (lambda: optim.Adam([Parameter([1.0])], beta_1=1.0), r"Invalid beta_1.*< 1.0"),
    (lambda: optim.SGD([Parameter([1.0])], nesterov=True), "Nesterov momentum needs momentum > 0"),
    (lambda: optim.SGD([]), "empty parameter list"),
    (lambda: optim.get("adamm"), "unknown optimizer 'adamm'; known names: .*adam"),
])
def test_bad_hyperparameters_are_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


# Convergence, as optax does: every optimizer on a parabola, the strong ones on Rosenbrock too.
CONVERGENCE = [
    ("sgd", lambda p: optim.SGD(p, 0.1), 200),
    ("sgd_nesterov", lambda p: optim.SGD(p, 0.05, momentum=0.9, nesterov=True), 200),
    ("adam", lambda p: optim.Adam(p, 0.1), 300),
    ("adamw", lambda p: optim.AdamW(p, 0.1, weight_decay=0.0), 300),
    ("nadam", lambda p: optim.Nadam(p, 0.1), 300),
    ("adagrad", lambda p: optim.Adagrad(p, 0.5), 300),
    ("rmsprop", lambda p: optim.RMSprop(p, 0.05), 300),
    ("adadelta", lambda p: optim.Adadelta(p, 10.0), 500),
]


@pytest.mark.parametrize("name,make,steps", CONVERGENCE, ids=[c[0] for c in CONVERGENCE])
def test_converges_on_a_parabola(name, make, steps):
    w = Parameter(np.array([3.0, -2.0]))
    opt = make([w])
    for _ in range(steps):
        opt.zero_grad()
        ((w - np.array([1.0, 0.5])) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.data, [1.0, 0.5], atol=0.05)


@pytest.mark.parametrize("name,make", [
    ("adam", lambda p: optim.Adam(p, 0.02)),
    ("nadam", lambda p: optim.Nadam(p, 0.02)),
    ("rmsprop", lambda p: optim.RMSprop(p, 0.002)),
    ("sgd_momentum", lambda p: optim.SGD(p, 5e-4, momentum=0.9)),
])
def test_converges_on_rosenbrock(name, make):
    w = Parameter(np.array([-1.0, 1.5]))
    opt = make([w])
    for _ in range(6000):
        opt.zero_grad()
        x, y = w[0], w[1]
        ((1 - x) ** 2 + 100 * (y - x * x) ** 2).backward()
        opt.step()
    np.testing.assert_allclose(w.data, [1.0, 1.0], atol=0.05)


# -- the compiled updates against their NumPy references ----------------------------------------
SHAPES = [(40, 30), (30,), (7, 3)]


def _gentle_gradient(w, step):
    """A gradient field every optimizer of the table follows without diverging (rounding
    differences stay rounding-sized)."""
    return 2 * (w - 1.5) + 0.3 * np.cos(step + w)


def _trajectory(make, kind, dtype, shapes, steps=6, min_size=0):
    """The parameters after ``steps`` updates with ``kind`` kernels, and the optimizer."""
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]
    opt = make(params)
    opt.compiled_min_size = min_size
    with kernels.use(kind):
        for step in range(steps):
            for p in params:
                p.grad = _gentle_gradient(p.data, step).astype(dtype)
            opt.step()
    return [p.data.copy() for p in params], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,make,make_torch", CASES, ids=IDS)
def test_compiled_update_equals_the_numpy_reference(name, make, make_torch, dtype):
    for shapes in (SHAPES, SHAPES[:1]):  # packed into one buffer; one parameter, unpacked
        ours, opt = _trajectory(make, "numba", dtype, shapes)
        reference, ref_opt = _trajectory(make, "numpy", dtype, shapes)
        assert (opt._flat is not None) == (len(shapes) > 1)
        for a, b in zip(ours, reference):  # each kernel runs its reference's operations in its order
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b, err_msg=f"{name} {shapes}")
        for state, ref_state in zip(opt.state, ref_opt.state):
            assert state.keys() == ref_state.keys()
            for key, value in state.items():
                np.testing.assert_array_equal(value, ref_state[key], err_msg=key)


KERNELS = {"adam": (optim.adam, "_adam_kernel"), "nadam": (optim.adam, "_nadam_kernel"),
           "adagrad": (optim.adaptive, "_adagrad_kernel"), "rmsprop": (optim.adaptive, "_rmsprop_kernel"),
           "adadelta": (optim.adaptive, "_adadelta_kernel")}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,make", [c[:2] for c in CASES if not c[0].startswith("sgd")], ids=lambda v: v)
def test_small_buffer_kernel_equals_the_numpy_reference(name, make, dtype, monkeypatch):
    module, attribute = next(v for k, v in KERNELS.items() if name.startswith(k))
    calls, kernel = [], getattr(module, attribute)
    monkeypatch.setattr(module, attribute, lambda *args: calls.append(1) or kernel(*args))
    ours, _ = _trajectory(make, "numba", dtype, SHAPES, min_size=10**9)
    reference, _ = _trajectory(make, "numpy", dtype, SHAPES)
    assert len(calls) == 6  # one kernel call a step, below compiled_min_size too
    for a, b in zip(ours, reference):  # the kernel runs the reference's operations in its order
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_small_buffers_run_the_reference_and_odd_arrays_fall_back(monkeypatch):
    make = CASES[1][1]  # sgd with momentum: NumPy's passes run below compiled_min_size
    calls, kernel = [], optim.sgd._sgd_kernel
    monkeypatch.setattr(optim.sgd, "_sgd_kernel", lambda *args: calls.append(1) or kernel(*args))
    compiled, _ = _trajectory(make, "numba", np.float32, SHAPES, min_size=10**9)
    reference, _ = _trajectory(make, "numpy", np.float32, SHAPES)
    assert not calls and all(np.array_equal(a, b) for a, b in zip(compiled, reference))
    _trajectory(make, "numba", np.float32, SHAPES, min_size=0)
    assert len(calls) == 6  # from compiled_min_size on, the kernel
    w = Parameter(np.asfortranarray(np.ones((5, 4), np.float32)))  # no 1-D view aliases it
    opt = CASES[3][1]([w])  # adam
    opt.compiled_min_size = 0
    w.grad = np.full((5, 4), 0.5, np.float32)[:, ::-1]  # a non-contiguous gradient is copied
    with kernels.use("numba"):
        opt.step()
    np.testing.assert_allclose(w.data, 1 - 0.01, rtol=1e-6)


def test_threads_stepping_their_own_optimizers_at_once():
    make = CASES[3][1]
    expected = _trajectory(make, "numba", np.float32, [(256, 256), (256,)], steps=20)[0]
    results = [None] * 4

    def run(i):
        results[i] = _trajectory(make, "numba", np.float32, [(256, 256), (256,)], steps=20)[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None and all(np.array_equal(a, b) for a, b in zip(r, expected)) for r in results)
