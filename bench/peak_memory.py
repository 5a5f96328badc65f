"""Peak resident memory of this process (Linux): shared by the benchmark workers.

A worker runs in a fresh process, resets the kernel's high-water mark (VmHWM) after building
its model and data, runs the training it measures, and reports how far the mark rose above
the resident set it started from (MiB).

Before the mark is reset, glibc's allocator hands the free memory it keeps back to the kernel
(``malloc_trim``). Without that, memory freed by a warm-up instance stays resident and counts as
the starting point: a library whose allocations reuse it looks as if it needed none (PyTorch's
GRU step measured 3 MiB that way, and 12 MiB with the trim).
"""
import ctypes
import ctypes.util


def status_kib(field):
    """A field of /proc/self/status in KiB (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def reset_peak_rss():
    """Return free heap memory to the kernel, reset the peak-RSS mark to the current RSS (Linux), and
    return that RSS in KiB."""
    libc = ctypes.util.find_library("c")
    if libc:
        ctypes.CDLL(libc).malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return status_kib("VmRSS")


def peak_growth_mib(fn):
    """Run ``fn()`` and return how far the peak RSS rose above the RSS before it, in MiB."""
    before = reset_peak_rss()
    fn()
    return (status_kib("VmHWM") - before) / 1024
