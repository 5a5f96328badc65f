"""One small matrix product at import, so that NumPy's OpenBLAS runs narrow products at full speed.

Measured with NumPy's OpenBLAS 0.3.31 (Haswell kernels, on this project's AMD EPYC machines, one
thread, CPU time): a product of 1024 x 64 by 64 x 64 takes 430-440 us in a process whose products
have all been that narrow, and 260 us (the time ``torch.mm`` takes with MKL) once the process has
run any product with 128 or more columns; the state lasts for the rest of the process, in every
thread, for float32 and float64 alike. perf shows the same kernel (``sgemm_kernel_HASWELL``) with
the same arguments and packing buffers in both states; what differs is how much of OpenBLAS's
packing buffer is mapped: 20 KiB after narrow products, 72 KiB after a wider one. The likely cause
is the kernel's software prefetches reaching into buffer pages never touched, each paying a page
walk that finds nothing. The digits network is all narrow (64-64-10): its ``predict`` at batch 1024
went from 750 to 570 us with this product done first.

The product costs about 0.1 ms once. ``GLASSNET_BLAS_WARMUP=0`` turns it off.
"""
import os

import numpy as np

ENV_VAR = "GLASSNET_BLAS_WARMUP"
SIZE = 128  # the narrowest square product measured to put OpenBLAS in its fast state


def map_gemm_buffers():
    """Run one ``SIZE`` x ``SIZE`` float32 product (unless ``GLASSNET_BLAS_WARMUP=0``); return whether it ran."""
    if os.environ.get(ENV_VAR, "1").strip() == "0":
        return False
    a = np.ones((SIZE, SIZE), dtype=np.float32)
    a @ a
    return True
