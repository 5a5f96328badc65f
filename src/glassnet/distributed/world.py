"""The MPI world: which process this is, how many there are, and the few collectives
glassnet needs. A rank that fails takes every rank down (``MPI_Abort``) instead of
leaving the others waiting in a collective for ever.

mpi4py is imported only here, and only when distributed training is asked for, so the
single-process library never needs MPI.
"""
import functools
import os
import sys
import threading
import time
import traceback

import numpy as np

INSTALL_HINT = ("install Open MPI and mpi4py: apt-get install -y openmpi-bin libopenmpi-dev && "
                "pip install 'glassnet[mpi]'")

# The variables mpiexec sets in each rank (Open MPI, then MPICH/Hydra and Slurm's PMI).
_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE")


def launched_by_mpiexec():
    """Whether this process is one of several started by mpiexec (read from the
    environment, without importing MPI)."""
    return any(int(os.environ.get(name, "1") or 1) > 1 for name in _SIZE_VARIABLES)


@functools.lru_cache(maxsize=1)
def _mpi():
    try:
        from mpi4py import MPI  # noqa: PLC0415 - optional dependency, imported on demand
    except ImportError as err:
        raise ImportError(f"distributed training needs mpi4py and an MPI library ({INSTALL_HINT}). "
                          f"Received: {err}") from err
    return MPI


class World:
    """One process's view of the ranks (``MPI.COMM_WORLD`` unless told otherwise).

    Attributes:
        rank: this process's number, 0 to ``size - 1``; rank 0 prints and writes files.
        size: how many processes train together.
        allreduce_seconds: wall time spent in gradient all-reduces so far.
    """

    def __init__(self, comm=None):
        mpi = _mpi()
        self.comm = comm if comm is not None else mpi.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.allreduce_seconds = 0.0

    def broadcast_(self, array):
        """Overwrite ``array`` (contiguous) in place with rank 0's copy."""
        if self.size > 1:
            self.comm.Bcast(array, root=0)

    def sum_(self, buffer, bucket_elements):
        """Sum the 1-D ``buffer`` over the ranks, in place, one all-reduce per bucket."""
        started = time.perf_counter()
        if self.size > 1:
            mpi = _mpi()
            for lo in range(0, buffer.size, bucket_elements):
                self.comm.Allreduce(mpi.IN_PLACE, buffer[lo:lo + bucket_elements], op=mpi.SUM)
        self.allreduce_seconds += time.perf_counter() - started
        return buffer

    def gather(self, values):
        """Every rank's row of float64 ``values``, the same (size, len) array on every rank.

        Sums taken from it in a fixed order give every rank the very same number, which
        a floating-point all-reduce does not promise.
        """
        row = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        rows = np.empty((self.size, row.size), dtype=np.float64)
        if self.size > 1:
            self.comm.Allgather(row, rows)
        else:
            rows[0] = row
        return rows

    def any(self, flag):
        """True on every rank when ``flag`` is true on at least one."""
        return bool(self.gather([1.0 if flag else 0.0]).max())

    def abort(self, message, code=1):
        """Print ``message`` for this rank and end every rank's process (MPI_Abort)."""
        sys.stderr.write(f"glassnet.distributed: rank {self.rank} of {self.size} failed: {message}\n"
                         f"glassnet.distributed: aborting all {self.size} ranks\n")
        sys.stderr.flush()
        sys.stdout.flush()
        self.comm.Abort(code)


_WORLD_LOCK = threading.Lock()
_WORLD = []  # the process's one World, made on first use (then read-only)


def init():
    """The MPI world of this process, initialised from the MPI environment on the first call.

    Also installs an exception hook: an uncaught exception on any rank prints its
    traceback and aborts every rank (as ``python -m mpi4py`` does).

    Raises:
        ImportError: mpi4py (or the MPI library under it) is missing; the message says
            how to install it.
    """
    with _WORLD_LOCK:
        if not _WORLD:
            world = World()
            if world.size > 1:
                sys.excepthook = functools.partial(_abort_on_uncaught, world, sys.excepthook)
            _WORLD.append(world)
        return _WORLD[0]


def _abort_on_uncaught(world, previous, kind, error, tb):
    previous(kind, error, tb)
    world.abort(f"{kind.__name__}: {error}")


def rank():
    """This process's rank (0 when not started by mpiexec)."""
    return init().rank


def size():
    """The number of ranks (1 when not started by mpiexec)."""
    return init().size


def failure_text(error):
    """The last lines of ``error``'s traceback, for the abort message."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "".join(lines[-3:]).strip()
