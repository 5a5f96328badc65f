"""The products that map OpenBLAS's packing buffer (glassnet/blas_buffers.py), once per process
at import."""
import os
import subprocess
import sys
import threading

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


@pytest.fixture
def recorded_products(monkeypatch):
    """The shapes of the products map_gemm_buffers is asked for, with the once-per-process memo emptied."""
    shapes = []
    monkeypatch.setattr(blas_buffers, "map_gemm_buffers", lambda shape: shapes.append(shape) or True)
    blas_buffers.map_wide_gemm_buffers.cache_clear()
    yield shapes
    blas_buffers.map_wide_gemm_buffers.cache_clear()


def test_the_wide_product_runs_once_per_process(recorded_products):
    assert blas_buffers.map_wide_gemm_buffers() and blas_buffers.map_wide_gemm_buffers()
    other = threading.Thread(target=blas_buffers.map_wide_gemm_buffers)  # (another thread: mapped already)
    other.start()
    other.join()
    assert recorded_products == [blas_buffers.WIDE]

