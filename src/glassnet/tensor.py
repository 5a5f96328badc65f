"""The Tensor: an ndarray that remembers how it was made, and backward().

A Tensor produced by an op while recording is on keeps a reference to the op
(``grad_fn``), and the op keeps its inputs: that chain is the computation
graph. ``backward()`` walks it from the output back to the leaves in reverse
topological order (ops are numbered as they are recorded), applying the chain
rule once per node.
"""
import functools
import threading
from heapq import heappop, heappush

import numpy as np

from .backend import DEFAULT_DTYPE, array_module, device_name, get_array_module, move, to_numpy


class _GradMode(threading.local):
    """Whether ops record the graph, one switch per thread (as in PyTorch): ``predict``
    under ``no_grad`` in one thread never stops ``fit`` recording in another."""

    enabled = True  # NOTE: a class attribute, so every new thread starts with recording on


_grad_mode = _GradMode()


class _GradSwitch:
    """Recording on or off (``mode``) inside a ``with`` block or a decorated function."""

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.previous, _grad_mode.enabled = _grad_mode.enabled, self.mode
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self.previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def with_mode(*args, **kwargs):
            with _GradSwitch(self.mode):
                return fn(*args, **kwargs)

        return with_mode


class no_grad(_GradSwitch):
    """Stop graph recording in the calling thread (inference, updates); a context manager
    or a decorator.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradSwitch):
    """Turn graph recording back on inside ``no_grad``, in the calling thread."""

    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradSwitch):
    """Turn graph recording on or off in the calling thread: at once when called, and back
    to the previous mode at the end of a ``with`` block.

    Raises:
        TypeError: ``mode`` is not a bool.

    >>> with set_grad_enabled(False):
    ...     is_grad_enabled()
    False
    >>> is_grad_enabled()
    True
    """

    def __init__(self, mode):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled expects a bool; received: mode={mode!r}")
        super().__init__(bool(mode))
        self.previous, _grad_mode.enabled = _grad_mode.enabled, self.mode

    def __enter__(self):
        return self  # NOTE: the mode is already set; __exit__ restores the one before the call


def is_grad_enabled():
    """Whether ops record the graph right now, in the calling thread."""
    return _grad_mode.enabled


def _as_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    xp = get_array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    arr = xp.asarray(data)
    if arr.dtype.kind != "f" or not hasattr(data, "dtype"):
        # NOTE: Python numbers, lists, ints and bools become float32; floating
        # arrays keep their dtype, so gradient checks can run in float64.
        arr = arr.astype(DEFAULT_DTYPE)
    return arr


class _Size(int):
    """An element count that PyTorch code can call: ``t.size()`` is the shape, ``t.size(dim)`` one length.

    >>> n = _Size(6, (2, 3))
    >>> n, n + 1, n(), n(-1)
    (6, 7, (2, 3), 3)
    """

    def __new__(cls, count, shape):
        size = super().__new__(cls, count)
        size.shape = shape
        return size

    def __call__(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def __reduce__(self):  # copies and pickles keep the shape (int's own would call __new__ without it)
        return _Size, (int(self), self.shape)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Args:
        data: array-like. Floating NumPy arrays keep their dtype (float32
            or float64); Python numbers, lists and integer arrays become
            float32.
        requires_grad: record operations on this tensor so that
            ``backward()`` fills its ``grad``. Defaults to ``False``.
        dtype: force a dtype. Defaults to ``None`` (see ``data``).
        name: an optional label shown in ``repr`` and error messages.

    >>> a = Tensor(5.0, requires_grad=True)
    >>> b = Tensor(3.0, requires_grad=True)
    >>> c = Tensor(2.0, requires_grad=True)
    >>> J = 3 * (a + b * c)            # seed 003's computation graph
    >>> J.backward()
    >>> float(J.item()), float(a.grad), float(b.grad), float(c.grad)
    (33.0, 3.0, 6.0, 9.0)
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "retains_grad", "__weakref__")
    __hash__ = object.__hash__  # identity: Tensors key the dicts of the backward pass
    __array_priority__ = 100  # ndarray op Tensor defers to Tensor's reflected ops

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require grad, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self.name = name
        self.retains_grad = False

    # -- array-like properties ---------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        """The number of elements (NumPy's ``size``); callable as PyTorch's ``size()`` and ``size(dim)``."""
        return _Size(self.data.size, self.data.shape)

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by an op."""
        return self.grad_fn is None

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The underlying array (shared, not copied); on a GPU, a copy on the host (as ``.cpu().numpy()``)."""
        return to_numpy(self.data)

    @property
    def device(self):
        """Where the data lives: ``"cpu"`` or ``"gpu"``."""
        return device_name(get_array_module(self.data))

    def to(self, device):
        """This tensor on ``device`` (``"cpu"``, ``"gpu"``, ``"cuda"``): itself when it is there
        already, else a copy that is a new leaf (as PyTorch's ``to``, but not differentiable),
        keeping ``requires_grad``.

        Raises:
            ImportError: a GPU was asked for and CuPy is not installed.
            RuntimeError: CuPy found no CUDA device.
            ValueError: an unknown device name.

        >>> Tensor([1.0, 2.0]).to("cpu").device
        'cpu'
        """
        xp = array_module(device)
        if get_array_module(self.data) is xp:
            return self
        return Tensor(move(self.data, xp), requires_grad=self.requires_grad, name=self.name)

    def cpu(self):
        """This tensor on the host (``to("cpu")``)."""
        return self.to("cpu")

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self):
        """A new tensor sharing the data, cut from the graph."""
        return Tensor(self.data, name=self.name)

    def astype(self, dtype):
        """A copy in another floating dtype (not differentiable)."""
        return Tensor(self.data.astype(dtype), requires_grad=self.requires_grad)

    def zero_grad(self):
        self.grad = None

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``grad`` after ``backward()``
        (leaves keep theirs anyway), as PyTorch's ``retain_grad``."""
        if not self.requires_grad:
            raise RuntimeError(f"retain_grad() on a {self._label()} that does not require grad")
        self.retains_grad = True

    def __repr__(self):
        body = np.array2string(to_numpy(self.data), separator=", ", precision=4, threshold=20,
                               prefix="Tensor(")
        extras = [f"dtype={self.dtype}"]
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.device != "cpu":
            extras.append(f"device={self.device!r}")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"Tensor({body}, {', '.join(extras)})"

    def _label(self):
        label = f"tensor of shape {self.shape}"
        return f"{label} named {self.name!r}" if self.name else label

    # -- differentiation ----------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf.

        Args:
            grad: the gradient flowing into this tensor, same shape as it.
                Defaults to ``None``, allowed only for one-element tensors
                (it then stands for 1).
            retain_graph: keep the graph so that ``backward`` can run through
                it again. Defaults to ``False`` (the graph is released).

        Raises:
            RuntimeError: this tensor has no graph (it was made under
                ``no_grad`` or from tensors that do not require grad), the
                graph was already released, or ``grad`` is missing for a
                non-scalar tensor.
        """
        if not self.requires_grad:
            raise RuntimeError(
                f"backward() called on a {self._label()} that has no graph: it does not require "
                "grad (it was created under no_grad() or from tensors with requires_grad=False)"
            )
        xp = get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without grad works only for a one-element tensor, got shape "
                    f"{self.shape}; pass grad= with that shape"
                )
            grad = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = _as_array(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad must have shape {self.shape}, got {grad.shape}")

        # NOTE: every op's output is numbered when it is recorded, after its inputs, so
        # taking nodes from a max-heap of those numbers visits each one after all its
        # consumers: a reverse topological order in one pass, without recursion.
        if self.grad_fn is None:
            _accumulate(self, grad)
            return
        grads = {self: grad}  # NOTE: Tensors hash by identity
        heap = [(-self.grad_fn.seq, self)]
        leaves, done = [], []
        while heap:
            node = heappop(heap)[1]
            fn = node.grad_fn
            if fn.inputs is None:
                raise RuntimeError(
                    "backward() through a graph that was already released; pass "
                    "retain_graph=True to the first backward() to go through it twice"
                )
            gy = grads.pop(node)
            if node.retains_grad:
                _accumulate(node, gy)
            fn.releasing = not retain_graph  # saved arrays may be overwritten (Function's docstring)
            gxs = fn.backward(gy)
            done.append(fn)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                prev = grads.get(x)
                if prev is None:
                    grads[x] = gx
                    if x.grad_fn is None:
                        leaves.append(x)
                    else:
                        heappush(heap, (-x.grad_fn.seq, x))
                else:
                    grads[x] = prev + gx
        for leaf in leaves:
            _accumulate(leaf, grads[leaf])
        if not retain_graph:
            for fn in done:
                fn.release()

    # -- operators are attached in ops.py -----------------------------------


def _accumulate(t, g):
    """t.grad += g, keeping a 0-d gradient an array (NumPy arithmetic returns scalars)."""
    g = g if t.grad is None else t.grad + g
    t.grad = np.asarray(g) if isinstance(g, np.generic) else g


def as_tensor(x, like=None):
    """``x`` as a Tensor; Python scalars take the dtype of ``like``, and constants go to its device."""
    if isinstance(x, Tensor):
        return x
    if like is None:
        return Tensor(x)
    if isinstance(x, (int, float)):
        x = like.data.dtype.type(x)
    xp = get_array_module(like.data)
    return Tensor(x if xp is np else move(x, xp))
