"""Packing parameters into one contiguous buffer, so an optimizer updates them all
with one set of array operations instead of one set per parameter.

After packing, each ``Parameter.data`` is a view into ``FlatParams.data``:
updating the flat array in place updates every parameter.

A parameter's array moves into the buffer only while nothing else references it:
an earlier ``p.detach()``, a ``d = p.data`` or a view of it would otherwise stop
following the updates (in PyTorch they share storage). Such a "held" parameter keeps
its own array: its values are copied into the buffer before each update and back
after it, until the other references are gone and it moves in too.
"""
import sys

import numpy as np


class FlatParams:
    def __init__(self, params):
        self.params = list(params)
        self.shapes = [p.shape for p in self.params]
        sizes = [p.size for p in self.params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.data = np.empty(self.offsets[-1], dtype=self.params[0].dtype)
        free = _unshared(self.params)
        for p, lo, hi, move in zip(self.params, self.offsets, self.offsets[1:], free):
            self.data[lo:hi] = p.data.reshape(-1)
            if move:
                p.data = self.data[lo:hi].reshape(p.shape)
        self.views = [p.data for p in self.params]
        self.held = [i for i, move in enumerate(free) if not move]
        self.grad = np.empty_like(self.data)
        self.state = {}

    @staticmethod
    def suitable(params):
        return (len(params) > 1 and len({p.dtype for p in params}) == 1
                and all(type(p.data) is np.ndarray for p in params))

    def intact(self):
        """False once someone replaced a parameter's array (the views no longer alias it)."""
        for p, v in zip(self.params, self.views):
            if p.data is not v:
                return False
        return True

    def load_held(self):
        """Copy the held parameters' arrays into the buffer (call before an update)."""
        for i in self.held:
            self.data[self.offsets[i]:self.offsets[i + 1]] = self.params[i].data.reshape(-1)

    def store_held(self):
        """Copy the buffer back into the held parameters' arrays (call after an update);
        a parameter whose array nothing else references any more moves into the buffer."""
        if not self.held:
            return
        parts = self.split(self.data)
        for i in self.held:
            self.params[i].data[...] = parts[i]
        moved = [i for i in self.held if _unshared([self.params[i]], extra=1)[0]]  # extra: self.views
        for i in moved:
            self.params[i].data = self.views[i] = parts[i]
        self.held = [i for i in self.held if i not in moved]

    def gather(self, grads):
        np.concatenate([g.reshape(-1) for g in grads], out=self.grad, casting="same_kind")
        return self.grad

    def split(self, flat):
        return [flat[lo:hi].reshape(shape) for lo, hi, shape in zip(self.offsets, self.offsets[1:], self.shapes)]

    def per_param_state(self):
        """The flat state as one dict per parameter (array entries are views)."""
        out = [{} for _ in self.params]
        for key, value in self.state.items():
            parts = self.split(value) if isinstance(value, np.ndarray) and value.shape == self.data.shape \
                else [value] * len(self.params)
            for d, part in zip(out, parts):
                d[key] = part
        return out

    def load_per_param_state(self, states):
        """Rebuild the flat state from per-parameter dicts; False if they cannot be packed."""
        keys = set(states[0]) if states else set()
        if any(set(s) != keys for s in states):
            return False
        flat = {}
        for key in keys:
            values = [s[key] for s in states]
            if isinstance(values[0], np.ndarray) and values[0].ndim > 0:
                flat[key] = np.concatenate([np.asarray(v, dtype=self.data.dtype).reshape(-1) for v in values])
            elif all(v == values[0] for v in values):
                flat[key] = values[0]
            else:
                return False
        self.state = flat
        return True


class _Slot:
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def _references(holder):
    """References to ``holder.data`` and to the array it views (0 when it views none)."""
    a = holder.data
    return sys.getrefcount(a), (sys.getrefcount(a.base) if a.base is not None else 0)


_ALONE, _ALONE_BASE = _references(_Slot(np.empty(2)[:1]))  # NOTE: a slot and a view the only references


def _unshared(params, extra=0):
    """For each parameter, whether its array (and the array that one views, if any) is
    referenced by nothing but the parameters given (``extra`` more references allowed to
    the array itself): only then may packing give the parameter a new array unnoticed."""
    viewers = {}
    for p in params:
        base = p.data.base
        if base is not None:
            viewers[id(base)] = viewers.get(id(base), 0) + 1
    out = []
    for p in params:
        base = p.data.base
        own, of_base = _references(p)
        if base is None:
            out.append(own == _ALONE + extra)
        else:
            out.append(own == _ALONE + extra and isinstance(base, np.ndarray) and base.base is None
                       and of_base == _ALONE_BASE + viewers[id(base)] - 1)
    return out
