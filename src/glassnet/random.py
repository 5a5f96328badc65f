"""Seeding. Every source of randomness takes a seed or a ``numpy.random.Generator``.

``set_seed(s)`` reseeds the global generator that layers, initializers and
dropout draw from when they are given no seed of their own, so the same seed
gives the same model, bit for bit.
"""
import numpy as np

_global = np.random.default_rng()


def set_seed(seed):
    """Reseed glassnet's global generator.

    >>> set_seed(0); a = default_rng().random()
    >>> set_seed(0); a == default_rng().random()
    True
    """
    global _global
    _global = np.random.default_rng(seed)


def default_rng():
    """The global generator."""
    return _global


def make_rng(seed=None):
    """A Generator from ``seed``: an int, a Generator (used as is), or None.

    ``None`` spawns a child of the global generator, so seeding the global
    generator fixes everything built after it.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(_global.integers(2**63))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int, a numpy.random.Generator or None; received: seed={seed!r}")
