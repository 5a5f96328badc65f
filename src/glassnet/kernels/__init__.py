"""Compiled kernels (Numba) beside the NumPy reference path.

Every hot spot that has a compiled kernel keeps its NumPy implementation: the NumPy code
is the readable reference, the tests compare the two, and it runs wherever Numba is missing.
Which one runs:

- ``GLASSNET_KERNELS=numba`` or ``numpy`` in the environment, read once, on first use;
  unset (or ``auto``): Numba where it can be imported, NumPy otherwise.
- ``with kernels.use("numpy"):`` overrides that for the calling thread only (the tests run
  both paths side by side this way; other threads keep theirs).

A caller asks ``kernels.compiled()`` and picks its path::

    if kernels.compiled():
        _adam_kernel(w, g, m, v, ...)   # a function decorated with @kernels.jit(...)
    else:
        ...                             # the NumPy reference

``jit`` compiles lazily: Numba is imported, and a kernel compiled, only when a kernel is
first called, so ``import glassnet`` stays fast and works without Numba. Compiled code is
cached on disk (``cache=True``), so a second run does not compile again.

A parallel kernel writes its loop ``for i in prange(n):`` with this module's ``prange``: plain
``range`` when the Python function runs, Numba's parallel range once ``jit(parallel=True)``
compiles it (importing ``numba.prange`` at the top of a module would import Numba with glassnet).
A kernel may call another ``jit`` function of its module (a scalar helper): it is compiled
with it, and Numba inlines it.

Numba's parallel kernels run on the ``threadsafe`` threading layer unless the user chose one
(``NUMBA_THREADING_LAYER``): glassnet is called from several threads at once, and Numba's
default ``workqueue`` layer aborts when two threads launch parallel kernels together.

A ``jit(parallel=True)`` kernel runs on Numba's threads only where no other thread pool spins on
the cores it needs (``threaded()``), and only on a first argument of at least ``PARALLEL_MIN``
elements (below that, starting the threads costs more than they save; ``jit(work=f)`` counts a
call's elements as ``f(*args)`` instead); otherwise its serial compilation runs. On a 2-core
machine a thread that spins while idle takes a core from them:
OpenBLAS's workers after each product (``blas_threads`` makes them sleep after ~25 us) and OpenMP's
own workers after each parallel kernel (``threaded()`` starts Numba's OpenMP pool with
``OMP_WAIT_POLICY=PASSIVE``, unless the user set the variable).
"""
import contextlib
import functools
import importlib.util
import os
import threading
import types

CHOICES = ("numba", "numpy")
ENV_VAR = "GLASSNET_KERNELS"
PARALLEL_MIN = 1 << 16  # elements of a parallel kernel's first argument from which it runs on Numba's threads
# A parallel kernel that sums over rows does it one of two ways, each giving the same sums on any number of
# threads (seeded runs stay bitwise reproducible):
# - COLUMNS: each thread takes blocks of this many columns, each column summed over the rows in order: the
#   serial loop's own sums, and NumPy's ``sum(axis=0)``'s. Each row's block is read through a 1-D view, so the
#   loop over its columns vectorises (Dense's bias gradient over 512 x 1024, threaded: 54-57 us in blocks of
#   256 columns, 590-669 us in blocks of 8 read by 2-D indexing, which did not vectorise).
# - ROW_CHUNKS: the rows in this many fixed chunks, each summed in order into its own partial sums, added in
#   chunk order after; a row's columns are contiguous, so the column loop vectorises. Batch norm's sums.
COLUMNS = 256
ROW_CHUNKS = 16


class _Choice(threading.local):
    """The calling thread's override of the environment's choice (None: no override)."""

    value = None


_choice = _Choice()
_numba_lock = threading.RLock()  # re-entered: a kernel's dispatcher creates its helpers'

# Options for a kernel whose loop divides: Numba's default error model checks every division for
# zero, which stops the compiler from vectorising the loop; NumPy's (inf or nan, no check) lets it.
# ``@kernels.jit(**kernels.VECTORISE)``
VECTORISE = types.MappingProxyType({"error_model": "numpy"})


@functools.lru_cache(maxsize=None)
def available():
    """True when Numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


@functools.lru_cache(maxsize=None)
def default():
    """The environment's choice, ``"numba"`` or ``"numpy"`` (read once).

    Raises:
        ValueError: ``GLASSNET_KERNELS`` is not ``numba``, ``numpy`` or ``auto``.
        ImportError: ``GLASSNET_KERNELS=numba`` but Numba cannot be imported.
    """
    asked = os.environ.get(ENV_VAR, "").strip().lower() or "auto"
    if asked not in CHOICES + ("auto",):
        raise ValueError(f"{ENV_VAR} must be one of 'numba', 'numpy' or 'auto'. Received: {ENV_VAR}={asked!r}")
    if asked == "numpy":
        return "numpy"
    if available():
        return "numba"
    if asked == "numba":
        raise ImportError(f"{ENV_VAR}=numba but numba cannot be imported: pip install numba, "
                          f"or set {ENV_VAR}=numpy")
    return "numpy"


def active():
    """The kernels the calling thread uses now: ``"numba"`` or ``"numpy"``."""
    return _choice.value or default()


def compiled():
    """True when the calling thread should run compiled kernels."""
    return active() == "numba"


@contextlib.contextmanager
def use(kind):
    """Run the body with ``kind`` (``"numba"`` or ``"numpy"``) kernels, in this thread only.

    >>> with use("numpy"):
    ...     compiled()
    False

    Raises:
        ValueError: ``kind`` is not one of the two.
        ImportError: ``kind="numba"`` and Numba cannot be imported.
    """
    if kind not in CHOICES:
        raise ValueError(f"kind must be 'numba' or 'numpy'. Received: kind={kind!r}")
    if kind == "numba" and not available():
        raise ImportError("kind='numba' but numba cannot be imported: pip install numba")
    previous, _choice.value = _choice.value, kind
    try:
        yield
    finally:
        _choice.value = previous


def prange(*args):
    """``range(*args)``; in a kernel compiled by ``jit(parallel=True)``, ``numba.prange``."""
    return range(*args)


def _numba():
    """Import Numba, choosing a thread-safe threading layer unless the user chose one."""
    import numba  # noqa: PLC0415 - imported on the first kernel call only

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "threadsafe"
    return numba


@functools.lru_cache(maxsize=None)
def threaded():
    """True when ``jit(parallel=True)`` kernels run on Numba's threads (decided once per process).

    That takes more than one thread (``NUMBA_NUM_THREADS``), OpenBLAS workers that sleep after a
    product (``blas_threads.workers_sleep``), and Numba's OpenMP layer with passive waiting: Numba's
    pool is started here with ``OMP_WAIT_POLICY=PASSIVE`` in the environment (then taken out again)
    unless the user set it, and this holds only if no other OpenMP runtime of that name was loaded
    before (it reads the variable once) or the user asked for passive waiting. PyTorch's own copy
    has that name: in a process that imported PyTorch first the kernels run serial.
    """
    from ..blas_threads import workers_sleep  # noqa: PLC0415

    with _numba_lock:
        numba = _numba()
        if numba.config.NUMBA_NUM_THREADS < 2 or not workers_sleep():
            return False
        user = os.environ.get("OMP_WAIT_POLICY")
        loaded_before = _openmp_loaded()
        if user is None:
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        try:
            numba.get_num_threads()  # starts the pool: loads the threading layer's library
        except (ValueError, OSError, ImportError):  # no threading layer loads here (no OpenMP nor TBB)
            return False
        finally:
            if user is None:
                del os.environ["OMP_WAIT_POLICY"]
        passive = user.strip().lower() == "passive" if user is not None else not loaded_before
        return numba.threading_layer() == "omp" and passive


class _Process:
    """What this process has done: set under ``_numba_lock``, or in a forked child before it has threads."""

    parallel = []  # the jit kernels whose parallel compilation has been created
    forked = False  # a child forked after that


def _serial_after_fork():
    """In a child forked after a parallel kernel was compiled, every kernel runs serial: GNU OpenMP
    cannot run a parallel region in such a child (Numba aborts it)."""
    if _Process.parallel:
        _Process.forked = True
        for kernel in _Process.parallel:
            kernel._threaded = None


os.register_at_fork(after_in_child=_serial_after_fork)


def _openmp_loaded():
    """True when a GNU OpenMP runtime under its system name (libgomp.so*) is mapped into this process:
    Numba's layer would share it, with the settings it read when it loaded. (PyTorch's copy has that
    name; scikit-learn's carries a hash in its name and stays apart.)"""
    from ..blas_threads import mapped_paths  # noqa: PLC0415

    paths = mapped_paths()
    if paths is None:
        return True  # (cannot tell: as if it were)
    return any(path.rsplit("/", 1)[-1].startswith("libgomp.so") for path in paths)


class jit:  # noqa: N801 - used as a decorator, like numba.njit
    """``@jit(parallel=True)``: a function compiled by ``numba.njit`` on its first call.

    Options are ``numba.njit``'s; ``cache=True`` is the default. The plain Python function
    stays available as ``.py_func`` (what the kernel computes, readable and debuggable).
    """

    def __init__(self, **options):
        self.options = {"cache": True, **options}
        self.parallel = self.options.pop("parallel", False)
        # how many elements a call works on, from its arguments (default: the first argument's size)
        self.work = self.options.pop("work", None)
        self.py_func = None
        self._compiled = None
        self._parallel = None  # the parallel compilation (created on request)
        self._threaded = None  # the same, where it runs on Numba's threads (``threaded()``)

    def __call__(self, *args, **kwargs):
        compiled = self._compiled
        if compiled is not None:  # (the common case first: a kernel call costs ~1 us)
            if self._threaded is not None and (self.work(*args) if self.work else args[0].size) >= PARALLEL_MIN:
                return self._threaded(*args, **kwargs)
            return compiled(*args, **kwargs)
        if self.py_func is None:  # decorating
            (self.py_func,) = args
            functools.update_wrapper(self, self.py_func)
            return self
        self.dispatcher  # noqa: B018 - creates the dispatchers
        return self(*args, **kwargs)

    @property
    def dispatcher(self):
        """The Numba dispatcher of the serial compilation (created on first use, once, under a lock),
        and for a parallel kernel where ``threaded()``, the parallel one beside it."""
        if self._compiled is None:
            with _numba_lock:
                if self._compiled is None:
                    self._compiled = _numba().njit(**self.options)(_with_numba_prange(self.py_func))
                    if self.parallel and threaded():
                        self._threaded = self.parallel_dispatcher()
        return self._compiled

    def parallel_dispatcher(self):
        """The Numba dispatcher of the ``parallel=True`` compilation, whatever ``threaded()`` decided
        (the tests hold it equal to the serial one in processes where it does not run)."""
        with _numba_lock:
            if _Process.forked:
                return self.dispatcher
            if self._parallel is None:
                _Process.parallel.append(self)
                # (under its own name, so that Numba's disk cache keeps the two compilations apart)
                func = _with_numba_prange(self.py_func, suffix="_threaded")
                self._parallel = _numba().njit(parallel=True, **self.options)(func)
            return self._parallel


def _with_numba_prange(func, suffix=""):
    """``func`` itself, or where it loops over this module's ``prange`` or calls another ``jit``
    kernel (a helper such as a scalar function), a copy whose globals name ``numba.prange`` and the
    helpers' Numba dispatchers instead (same code object, so Numba's disk cache still finds it).
    A ``suffix`` gives the copy another name (Numba's disk cache files are named after it)."""
    named = {name: func.__globals__.get(name) for name in func.__code__.co_names}
    swaps = {name: h.dispatcher for name, h in named.items() if isinstance(h, jit) and h.py_func is not func}
    if func.__globals__.get("prange") is prange:
        import numba  # noqa: PLC0415

        swaps["prange"] = numba.prange
    if not swaps and not suffix:
        return func
    copy = types.FunctionType(func.__code__, {**func.__globals__, **swaps}, func.__name__,
                              func.__defaults__, func.__closure__)
    copy.__qualname__, copy.__module__ = func.__qualname__ + suffix, func.__module__
    return copy
