"""Data-parallel training across processes and machines through MPI (Open MPI + mpi4py).

Start several copies of one program with ``mpiexec -n 4 python train.py`` (or
``glassnet train --ranks 4``) and train with ``model.fit(..., distributed=True)``, or wrap
a hand-written loop's optimizer in :class:`DistributedOptimizer`. Gradients are averaged
with one bucketed all-reduce over the packed gradient buffer, Horovod's way.
"""
from .gradients import DistributedOptimizer, GradientAverager, broadcast_parameters
from .launch import launch, mpiexec_command
from .training import DistributedFit
from .world import World, init, launched_by_mpiexec, rank, size

__all__ = ["DistributedFit", "DistributedOptimizer", "GradientAverager", "World", "broadcast_parameters", "init",
           "launch", "launched_by_mpiexec", "mpiexec_command", "rank", "size"]
