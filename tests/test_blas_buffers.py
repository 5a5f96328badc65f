"""The import-time product that maps OpenBLAS's packing buffer (glassnet/blas_buffers.py)."""
import os
import subprocess
import sys

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
