"""NumPy's OpenBLAS worker threads sleep soon after a product ends, so that glassnet's parallel kernels get the cores.

After each product, OpenBLAS's idle workers spin for up to 2**28 CPU cycles (about 0.1 s) before
they sleep: a core stays busy doing nothing while the next kernel wants it. On this project's
2-core machine a CNN step whose element-wise kernels ran on two threads (Numba) took 1,284 ms
against 132-143 ms on one: the kernels' second thread waited for the core an OpenBLAS worker spun
on (bench/NOTES.md, "Parallel kernels"). OpenBLAS reads how long its workers spin from
``OPENBLAS_THREAD_TIMEOUT`` (a power of two of cycles, 4 to 30) when it starts its threads.

``import glassnet`` sets it to 16 (2**16 cycles, about 25 us) for NumPy's OpenBLAS, unless the user
set the variable: it puts the variable in the environment, has OpenBLAS read its environment again
(``openblas_read_env``), stops its workers (``blas_thread_shutdown_``, what OpenBLAS itself does
before a fork; the next product starts them again with the new timeout) and takes the variable out
again, so that child processes and libraries loaded later do not see it. Why 16 and not the least,
4: the LSTM step's products come about 20 us apart, and a worker asleep by then must be woken for
each (LSTM step 44.6 ms with 16, 56.2 ms with 4, 44.9 ms with OpenBLAS's 28).

Only OpenBLAS's own threads (not an OpenMP build, nor MKL or Accelerate) are handled; elsewhere
nothing is changed and ``workers_sleep()`` is False, so glassnet's parallel kernels run on one
thread (``kernels.threaded``). Call order matters: a product running in another thread while
glassnet is first imported would see its workers stopped under it; import glassnet before starting
threads that compute.
"""
import ctypes
import functools
import os

ENV_VAR = "OPENBLAS_THREAD_TIMEOUT"
QUIET = 16  # 2**16 cycles (about 25 us); a timeout up to this counts as "workers sleep"
_SYMBOLS = ("openblas_read_env", "openblas_thread_timeout", "blas_thread_shutdown_")


@functools.lru_cache(maxsize=None)
def numpy_openblas():
    """ctypes handles of NumPy's OpenBLAS: the libraries with a thread server mapped into the process
    when ``import glassnet`` first asks, right after importing NumPy (read once: an OpenBLAS that
    another package loads later, such as SciPy's, is not NumPy's and is left alone)."""
    import numpy  # noqa: F401, PLC0415 - loads NumPy's OpenBLAS

    return tuple(_mapped_openblas())


def mapped_paths():
    """The paths of the files mapped into this process (its shared libraries among them), or None where
    that cannot be read (``/proc/self/maps`` is Linux's)."""
    try:
        with open("/proc/self/maps") as maps:
            return {line.split()[-1] for line in maps if "/" in line}
    except OSError:
        return None


def _mapped_openblas():
    """ctypes handles of the OpenBLAS libraries mapped into this process that have a thread server
    (none where the maps cannot be read: then nothing is changed)."""
    paths = mapped_paths() or set()
    handles = []
    for path in sorted(p for p in paths if "openblas" in p.rsplit("/", 1)[-1].lower()):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if all(hasattr(lib, name) for name in _SYMBOLS):
            handles.append(lib)
    return handles


def quiet_workers():
    """Make NumPy's OpenBLAS workers sleep 2**QUIET cycles after their job is done, unless
    ``OPENBLAS_THREAD_TIMEOUT`` is set by the user (then it is theirs)."""
    libs = numpy_openblas()
    if libs and ENV_VAR not in os.environ:
        os.environ[ENV_VAR] = str(QUIET)
        try:
            for lib in libs:
                lib.openblas_read_env()
                lib.blas_thread_shutdown_()  # (its workers start again, with the new timeout, on the next product)
        finally:
            del os.environ[ENV_VAR]


def _timeout(libs):
    """The largest timeout exponent of ``libs``, 28 (OpenBLAS's default) for an unset one, None for none."""
    if not libs:
        return None
    return max(lib.openblas_thread_timeout() or 28 for lib in libs)


@functools.lru_cache(maxsize=None)
def workers_sleep():
    """True when NumPy's OpenBLAS workers sleep within 2**QUIET cycles of a product's end (read once,
    after import)."""
    timeout = _timeout(numpy_openblas())
    return timeout is not None and timeout <= QUIET
