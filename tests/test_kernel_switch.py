"""The kernel switch: environment choice, per-thread override, lazy compilation."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from glassnet import kernels


def _choice_in_fresh_process(env_value):
    code = "from glassnet import kernels; print(kernels.active())"
    env = {**os.environ, "GLASSNET_KERNELS": env_value}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("value, expected", [("numpy", "numpy"), ("NumPy ", "numpy"), ("numba", "numba"),
                                             ("auto", "numba"), ("", "numba")])
def test_environment_chooses_the_kernels(value, expected):
    out = _choice_in_fresh_process(value)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_a_bad_environment_value_is_named():
    out = _choice_in_fresh_process("fortran")
    assert out.returncode != 0
    assert "GLASSNET_KERNELS=fortran" in out.stderr.replace("'", "")


def test_use_overrides_in_the_calling_thread_only():
    seen = {}
    started, release = threading.Event(), threading.Event()

    def other():
        started.set()
        release.wait(5)
        seen["other"] = kernels.active()

    t = threading.Thread(target=other)
    t.start()
    started.wait(5)
    with kernels.use("numpy"):
        assert kernels.active() == "numpy" and not kernels.compiled()
        with kernels.use("numba"):
            assert kernels.compiled()
        assert kernels.active() == "numpy"
        release.set()
        t.join(5)
    assert seen["other"] == kernels.default()
    assert kernels.active() == kernels.default()


def test_use_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind='cuda'"):
        with kernels.use("cuda"):
            pass


@kernels.jit()
def _axpy(a, x, y):
    for i in range(x.size):
        y[i] += a * x[i]


def test_jit_compiles_on_first_call_and_keeps_the_python_function():
    x, y = np.arange(5.0), np.ones(5)
    _axpy(2.0, x, y)
    np.testing.assert_array_equal(y, 1 + 2 * np.arange(5.0))
    assert _axpy.__name__ == "_axpy" and _axpy.py_func.__name__ == "_axpy"
    assert type(_axpy.dispatcher).__module__.startswith("numba")
    y2 = np.ones(5)
    _axpy.py_func(2.0, x, y2)
    np.testing.assert_array_equal(y, y2)
