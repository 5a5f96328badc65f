"""Packing parameters into one contiguous buffer, so an optimizer updates them all
with one set of array operations instead of one set per parameter.

After packing, each ``Parameter.data`` is a view into ``FlatParams.data``:
updating the flat array in place updates every parameter.
"""
import numpy as np


class FlatParams:
    def __init__(self, params):
        self.params = list(params)
        self.shapes = [p.shape for p in self.params]
        sizes = [p.size for p in self.params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.data = np.empty(self.offsets[-1], dtype=self.params[0].dtype)
        for p, lo, hi in zip(self.params, self.offsets, self.offsets[1:]):
            self.data[lo:hi] = p.data.reshape(-1)
            p.data = self.data[lo:hi].reshape(p.shape)
        self.views = [p.data for p in self.params]
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
