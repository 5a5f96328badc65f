"""Map OpenBLAS's packing buffer once per thread, so that its narrow products run at full speed.

OpenBLAS packs blocks of a product's operands into a buffer of its own (tens of MB, reserved
but not written until used). For a product whose output has few columns (NumPy's ``a @ b``
with ``b`` of 64-128 columns: the convolution's three products) it packs each block of ``a``
into the same small area, while its Haswell/Zen sgemm kernel prefetches (``prefetcht1``) the
next block, just past that area, into pages nothing has written. A software prefetch does not
fault a page in; on this project's VM each one to an unmapped page costs a page walk that
fails and is made again at every prefetch. Measured (bench/NOTES.md, "OpenBLAS's unmapped
buffer pages"): 46% of the kernel's samples sat on that prefetch; conv 2 of the CNN
(36,864 x 289 @ 289 x 64) took 77-86 ms before and 43 ms after one product that writes those
pages, its weight gradient 96-129 ms and 45 ms. Once mapped, the pages stay mapped for the
life of the process. This is why the notes saw narrow products "speed up after one wide
product in the process".

OpenBLAS gives each calling thread its own buffer, so ``map_blas_buffer`` runs a product
once per thread: a 1024 x 128 @ 128 x 1024 float32 product (about 5-10 ms) packs a block of
128 x 1024 values (512 KB) into that buffer, more than any of the narrow products prefetch past.
"""
import threading

import numpy as np

# (rows, inner, columns) of the product that writes the buffer's pages: OpenBLAS packs ``inner``
# x ``rows`` values of the left operand at once when the right one has more columns than its
# block (GEMM_P), so the packed area covers inner * rows * 4 bytes = 512 KB.
_SHAPE = (1024, 128, 1024)


class _Mapped(threading.local):
    """Whether the calling thread's OpenBLAS buffer has been written (per thread, as the buffers)."""

    done = False


_mapped = _Mapped()


def map_blas_buffer():
    """Run one product that writes OpenBLAS's packing buffer, once per calling thread."""
    if _mapped.done:
        return
    _mapped.done = True
    _write_buffer()


def _write_buffer():
    rows, inner, columns = _SHAPE
    np.ones((rows, inner), dtype=np.float32) @ np.ones((inner, columns), dtype=np.float32)
