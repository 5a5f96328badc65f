"""map_blas_buffer: one product per thread, run by the convolution's forward on both kernel paths."""
import threading

import numpy as np
import pytest

from glassnet import kernels, ops
from glassnet.ops import blas_pages


def _in_new_thread(work):
    """work()'s result, computed in a thread that has not run anything before."""
    result = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def test_the_buffer_is_written_once_per_thread(monkeypatch):
    writes = []
    monkeypatch.setattr(blas_pages, "_write_buffer", lambda: writes.append(threading.get_ident()))

    def twice():
        blas_pages.map_blas_buffer()
        blas_pages.map_blas_buffer()
        return threading.get_ident()

    threads = [_in_new_thread(twice), _in_new_thread(twice)]
    assert writes == threads  # one product in each of the two threads, not four


@pytest.mark.parametrize("path", ["numba", "numpy"])
def test_conv2d_forward_maps_the_buffer_on_both_paths(path):
    x, w = np.ones((1, 4, 4, 1), np.float32), np.ones((3, 3, 1, 2), np.float32)

    def forward():
        before = blas_pages._mapped.done
        with kernels.use(path):
            y = ops.Conv2D().forward(x, w)
        return before, blas_pages._mapped.done, y

    before, after, y = _in_new_thread(forward)
    assert (before, after) == (False, True)
    np.testing.assert_array_equal(y, np.full((1, 2, 2, 2), 9, np.float32))
