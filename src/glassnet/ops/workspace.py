"""Reused scratch memory for the large arrays of the recurrent ops.

A fresh multi-megabyte NumPy array is fresh memory from the operating system:
every page is faulted in and zeroed on first touch. For an LSTM over 50 steps
that was about a quarter of the forward pass (7.5 ms instead of 10 ms per call,
bench/NOTES.md). ``empty`` hands out views of buffers kept from earlier calls.

A buffer is free again once nothing refers to it: every view NumPy makes of a
buffer keeps a reference to it, so a buffer whose reference count shows only
the arena's own is not in use by any array (CPython reference counting; the
same idea as PyTorch's caching allocator, with NumPy's views as the owners).
At most 256 MiB are kept; beyond that, arrays are allocated as usual. ``clear()``
hands the kept buffers back (those in use live on through their views).
"""
import sys
import threading

import numpy as np

_MIN_BYTES = 1 << 20  # smaller arrays come from malloc's own free lists quickly enough
_BUDGET_BYTES = 256 << 20


class Arena:
    """A pool of byte buffers handed out as typed views (``empty(shape, dtype)``)."""

    def __init__(self, budget_bytes=_BUDGET_BYTES, min_bytes=_MIN_BYTES):
        self.budget_bytes, self.min_bytes = budget_bytes, min_bytes
        self.buffers = []
        self._lock = threading.Lock()

    def empty(self, shape, dtype):
        """An uninitialised array of ``shape`` and ``dtype``, from a free buffer when one fits."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < self.min_bytes:
            return np.empty(shape, dtype)
        with self._lock:
            buffer = self._free_buffer(nbytes)
            if buffer is None:
                buffer = np.empty(nbytes, np.uint8)
                if self.pooled_bytes() + nbytes <= self.budget_bytes:
                    self.buffers.append(buffer)
            return buffer[:nbytes].view(dtype).reshape(shape)

    def _free_buffer(self, nbytes):
        """The smallest free buffer of at least ``nbytes``, or None."""
        best = None
        for i in range(len(self.buffers)):
            # referrers: the list, and getrefcount's own argument; any view adds one
            if self.buffers[i].nbytes >= nbytes and sys.getrefcount(self.buffers[i]) == 2:
                if best is None or self.buffers[i].nbytes < self.buffers[best].nbytes:
                    best = i
        return None if best is None else self.buffers[best]

    def pooled_bytes(self):
        return sum(b.nbytes for b in self.buffers)

    def clear(self):
        """Forget every buffer (those in use stay alive through their views)."""
        with self._lock:
            self.buffers.clear()


_arena = Arena()


def empty(shape, dtype, xp=np):
    """Scratch array from the shared arena (see :class:`Arena`); other array modules allocate as usual."""
    return _arena.empty(shape, dtype) if xp is np else xp.empty(shape, dtype=dtype)


def clear():
    """Forget the shared arena's buffers, so that memory no longer in use returns to the system."""
    _arena.clear()
