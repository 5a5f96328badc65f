"""The products that map OpenBLAS's packing buffer (glassnet/blas_buffers.py), once per process
at import."""
import os
import subprocess
import sys

import pytest

from glassnet import blas_buffers


def test_the_product_runs_unless_turned_off(monkeypatch):
    monkeypatch.delenv(blas_buffers.ENV_VAR, raising=False)
    assert blas_buffers.map_gemm_buffers() is True
    monkeypatch.setenv(blas_buffers.ENV_VAR, "0")
    assert blas_buffers.map_gemm_buffers() is False


def test_import_with_it_turned_off_still_works():
    code = "import numpy as np, glassnet as gn; print(gn.Sequential([gn.nn.Dense(3)], seed=0)(np.ones((2, 4))).shape)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, blas_buffers.ENV_VAR: "0"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(2, 3)"


@pytest.mark.parametrize("setting,expected", [("1", "1 1"), ("0", "0 0")])
def test_the_import_runs_the_wide_product_once(setting, expected):
    code = ("import numpy as np\n"
            "shapes, real = [], np.ones\n"
            "np.ones = lambda shape, dtype=None: shapes.append(shape) or real(shape, dtype=dtype)\n"
            "import glassnet\n"
            "print(shapes.count((1024, 128)), shapes.count((128, 1024)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, blas_buffers.ENV_VAR: setting})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected
