"""One matrix product at import that maps NumPy's OpenBLAS packing buffer, so that narrow products run at full speed.

Measured with NumPy's OpenBLAS 0.3.31 (Haswell kernels, on this project's AMD EPYC machines, one
thread, CPU time): a product of 1024 x 64 by 64 x 64 takes 430-440 us in a process whose products
have all been that narrow, and 260 us (the time ``torch.mm`` takes with MKL) once the process has
run any product with 128 or more columns; the state lasts for the rest of the process, in every
thread, for float32 and float64 alike. perf shows the same kernel (``sgemm_kernel_HASWELL``) with
the same arguments and packing buffers in both states; what differs is how much of OpenBLAS's
packing buffer is mapped: 20 KiB after narrow products, 72 KiB after a wider one. The cause:
for a product with few output columns OpenBLAS packs each block of the left operand into the same
small area of its buffer, and the kernel's ``prefetcht1`` reaches past it into pages never written
(gdb: the prefetched address is the packed block's end); a software prefetch does not fault a
page in, so each one pays a page walk that finds nothing (46% of the kernel's perf samples on the
convolution's product). The digits network is all narrow (64-64-10): its ``predict`` at batch 1024
went from 750 to 570 us with this product done first.

How far the prefetch reaches grows with the product's inner dimension: a 128 x 128 product covers
the dense layers, not the convolution's column products (inner dimension 9 x channels + 1:
289-1153), which stay 2-4x slow after it. ``map_gemm_buffers`` maps 512 KiB with a wider one,
once per process, at import (8-17 ms, one thread): conv 2 of the CNN (36,864 x 289 @ 289 x 64) 78-92 -> 43
ms, its weight gradient 124-136 -> 45 ms, a 16,384 x 1153 @ 1153 x 256 product 0.95-1.1 s -> 0.28
s (bench/NOTES.md, "Conv products and OpenBLAS's unmapped buffer pages"); the LSTM step's product
(64 x 161 @ 161 x 512) 367 -> 312 us and the char LM's (64 x 321 @ 321 x 1024) 1.55-1.80 -> 1.29
ms, over what the 128 x 128 product gives; the digits products as the 128 x 128 one does.

``GLASSNET_BLAS_WARMUP=0`` turns it off.
"""
import os

import numpy as np

ENV_VAR = "GLASSNET_BLAS_WARMUP"
# (rows, inner, columns): OpenBLAS packs inner x rows values of the left operand at once when the right
# one has more columns than its block, so this writes 128 x 1024 x 4 bytes = 512 KiB of the buffer.
WIDE = (1024, 128, 1024)


def map_gemm_buffers(shape=WIDE):
    """Run one float32 product of ``shape`` = (rows, inner, columns) (unless ``GLASSNET_BLAS_WARMUP=0``);
    return whether it ran. ``import glassnet`` calls it once: the pages stay mapped, for every thread."""
    if os.environ.get(ENV_VAR, "1").strip() == "0":
        return False
    rows, inner, columns = shape
    np.ones((rows, inner), dtype=np.float32) @ np.ones((inner, columns), dtype=np.float32)
    return True
