"""Seeding. Every source of randomness takes a seed or a ``numpy.random.Generator``.

``set_seed(s)`` reseeds the default generator that layers, initializers and
dropout draw from when they are given no seed of their own, so the same seed
gives the same model, bit for bit. Each thread has its own default generator
(seeded from fresh entropy until it calls ``set_seed``): draws in one thread
never shift the numbers another thread gets. PyTorch shares one generator
between threads; here a thread that wants reproducible draws seeds itself.
"""
import threading

import numpy as np


class _Streams(threading.local):
    def __init__(self):
        self.generator = np.random.default_rng()


_streams = _Streams()


def set_seed(seed):
    """Reseed the calling thread's default generator.

    >>> set_seed(0); a = default_rng().random()
    >>> set_seed(0); a == default_rng().random()
    True
    """
    _streams.generator = np.random.default_rng(seed)


def default_rng():
    """The calling thread's default generator."""
    return _streams.generator


def make_rng(seed=None):
    """A Generator from ``seed``: an int, a Generator (used as is), or None.

    ``None`` spawns a child of the thread's default generator, so seeding it
    fixes everything built after it in that thread.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(_streams.generator.integers(2**63))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int, a numpy.random.Generator or None; received: seed={seed!r}")
