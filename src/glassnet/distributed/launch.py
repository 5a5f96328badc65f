"""Starting ``ranks`` copies of a glassnet command under ``mpiexec`` (``glassnet train --ranks 4``)."""
import os
import shutil
import subprocess
import sys

from .world import INSTALL_HINT

# The thread pools a rank may start: BLAS (OpenBLAS, MKL, OpenMP) and Numba's kernels.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def mpiexec_command(ranks, args, cpus=None):
    """The command line and environment that start ``ranks`` copies of ``python args...``.

    Each rank gets ``cpus // ranks`` threads (at least 1) for BLAS and the compiled
    kernels, so the ranks together do not ask for more cores than there are; variables
    already set are kept. ``--bind-to none`` lets a rank's threads use every core it was
    given (Open MPI otherwise pins each rank of a small run to one core);
    ``--oversubscribe`` is added when there are more ranks than cores,
    ``--allow-run-as-root`` when run as root (Open MPI refuses root otherwise).

    Raises:
        FileNotFoundError: no ``mpiexec`` on PATH (the message says how to install it).
    """
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise FileNotFoundError(f"--ranks needs mpiexec on PATH: {INSTALL_HINT}")
    cpus = cpus or os.cpu_count() or 1
    command = [mpiexec, "-n", str(ranks), "--bind-to", "none"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-run-as-root")
    if ranks > cpus:
        command.append("--oversubscribe")
    env = dict(os.environ)
    threads = str(max(1, cpus // ranks))
    for name in THREAD_VARIABLES:
        env.setdefault(name, threads)
    return [*command, sys.executable, *args], env


def launch(ranks, args, timeout=None):
    """Run ``python args...`` on ``ranks`` ranks under mpiexec; returns its exit status."""
    command, env = mpiexec_command(ranks, args)
    return subprocess.run(command, env=env, timeout=timeout, check=False).returncode
