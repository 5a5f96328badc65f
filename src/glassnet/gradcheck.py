"""Gradient checking: analytic gradients against central finite differences."""
from dataclasses import dataclass, field

import numpy as np

from .backend import get_array_module, move, to_numpy
from .tensor import Tensor


def _float64_copy(x):
    """A float64 copy of ``x`` on its own device (NumPy or CuPy)."""
    return get_array_module(x).array(x, dtype=np.float64)


@dataclass
class GradcheckResult:
    """What ``gradcheck`` found. Truthy when every gradient is within tolerance.

    Attributes:
        ok: every input's gradient is within ``atol + rtol * |numeric|``.
        max_abs_error: per input, the largest ``|analytic - numeric|``.
        max_rel_error: per input, the largest abs error / max(|numeric|, 1e-12).
    """

    ok: bool
    max_abs_error: list = field(default_factory=list)
    max_rel_error: list = field(default_factory=list)

    def __bool__(self):
        return self.ok

    def __str__(self):
        rows = [f"gradcheck {'passed' if self.ok else 'FAILED'}"]
        for i, (a, r) in enumerate(zip(self.max_abs_error, self.max_rel_error)):
            rows.append(f"  input {i}: max abs error {a:.3e}, max rel error {r:.3e}")
        return "\n".join(rows)


def gradcheck(fn, inputs, params=(), eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """Check the gradients of ``fn`` by central differences in float64.

    ``fn(*tensors)`` may return a tensor of any shape: it is reduced to the
    scalar ``sum(fn(...) * v)`` with a fixed random ``v``, so every output
    element takes part.

    Args:
        fn: a callable taking one Tensor per entry of ``inputs``.
        inputs: arrays or Tensors; each becomes a float64 Tensor that
            requires grad.
        params: extra float64 Tensors that ``fn`` uses from its closure
            (a layer's parameters); they are checked too, in place.
        eps: the finite-difference step. Defaults to ``1e-6``.
        atol: absolute tolerance. Defaults to ``1e-6``.
        rtol: relative tolerance. Defaults to ``1e-4``.
        seed: seeds ``v``. Defaults to ``0``.

    Returns:
        A :class:`GradcheckResult` (truthy when all gradients agree).

    Raises:
        TypeError: a parameter is not float64 (the check would be meaningless).

    >>> import numpy as np
    >>> bool(gradcheck(lambda x: (x * x).sum(), [np.array([1.0, -2.0, 3.0])]))
    True
    """
    tensors = [Tensor(_float64_copy(x.data if isinstance(x, Tensor) else x), requires_grad=True) for x in inputs]
    params = list(params)
    for p in params:
        if p.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 params, got a parameter of dtype {p.dtype}")
    checked = tensors + params
    for t in checked:
        t.grad = None
        t.data = get_array_module(t.data).ascontiguousarray(t.data)  # perturbed in place through a flat view below

    y = fn(*tensors)
    v = np.random.default_rng(seed).standard_normal(y.shape)
    v_on_device = move(v, get_array_module(y.data))  # NOTE: drawn on the host, so every backend checks the same sums
    y.backward(v_on_device)
    analytic = [np.zeros(t.shape) if t.grad is None else np.array(to_numpy(t.grad), dtype=np.float64)
                for t in checked]

    def objective():
        return float((fn(*tensors).data * v_on_device).sum())

    result = GradcheckResult(ok=True)
    for t, ga in zip(checked, analytic):
        numeric = np.zeros(t.shape)
        flat, gnum = t.data.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            orig = float(flat[i])  # NOTE: a value, not a 0-d view (CuPy indexing returns views)
            flat[i] = orig + eps
            up = objective()
            flat[i] = orig - eps
            down = objective()
            flat[i] = orig
            gnum[i] = (up - down) / (2 * eps)
        err = np.abs(ga - numeric)
        result.max_abs_error.append(float(err.max(initial=0.0)))
        result.max_rel_error.append(float((err / np.maximum(np.abs(numeric), 1e-12)).max(initial=0.0)))
        if not np.all(err <= atol + rtol * np.abs(numeric)):
            result.ok = False
    for t in checked:
        t.grad = None
    return result
