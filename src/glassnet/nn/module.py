"""Module and Parameter: the containers every layer and model is built from."""
import threading
from collections import OrderedDict, namedtuple

import numpy as np

from ..backend import array_module, asarray_like, move
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, name=None):
        super().__init__(data, requires_grad=True, name=name)


class Buffer(Tensor):
    """A Tensor that a Module owns but no optimizer touches (running statistics):
    saved in ``state_dict`` with the parameters."""

    __slots__ = ()

    def __init__(self, data, name=None):
        super().__init__(data, requires_grad=False, name=name)


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = ("What ``load_state_dict`` did not match: the model's names absent from the state, "
                            "and the state's names absent from the model.")


class ParameterList(list):
    """The list ``Module.parameters()`` returns. ``unbuilt`` names the module's layers that
    have no weights yet: an optimizer refuses such a list rather than leave them untrained."""

    _module = None

    def pending(self, module):
        self._module = module
        return self

    @property
    def unbuilt(self):
        module = self._module
        if module is None:
            return ()
        return tuple(f"{name or type(module).__name__} ({type(m).__name__})"
                     for name, m in module.named_modules() if m._waits_for_input())


class _Evaluating(threading.local):
    on = False  # NOTE: a class attribute, so every new thread starts without the override


_evaluating = _Evaluating()


class evaluating:
    """Evaluation behaviour for every module, in the calling thread only (a context manager).

    Inside the block ``module.training`` reads ``False`` (dropout passes values through,
    batch normalization uses its moving statistics) without changing any module's own
    flag: ``predict`` or ``evaluate`` in one thread never switches off the dropout of a
    ``fit`` running in another.
    """

    def __enter__(self):
        self.previous, _evaluating.on = _evaluating.on, True
        return self

    def __exit__(self, *exc):
        _evaluating.on = self.previous


class training_mode:
    """Keras's per-call switch, ``layer(x, training=False)`` or ``training=True``, in the calling
    thread only: ``False`` is :class:`evaluating`; ``True`` lifts an enclosing ``evaluating`` for the
    call (a module switched off by ``eval()`` stays off)."""

    def __init__(self, training):
        self.training = bool(training)

    def __enter__(self):
        self.previous, _evaluating.on = _evaluating.on, not self.training
        return self

    def __exit__(self, *exc):
        _evaluating.on = self.previous


class Module:
    """Base class of layers and models.

    Parameters and sub-modules assigned as attributes (also inside lists or
    tuples) are found recursively, in the order they were assigned; attributes
    whose names start with ``_`` are private and not traversed.

    >>> class Scale(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter([2.0])
    ...     def forward(self, x):
    ...         return x * self.w
    >>> [name for name, _ in Scale().named_parameters()]
    ['w']
    """

    _device = "cpu"  # where ``to`` put the weights: a device name (or an array module)

    @property
    def _device_module(self):
        """The array module of the weights' device (NumPy for the CPU)."""
        return np if self._device == "cpu" else array_module(self._device)

    def __init__(self):
        self.training = True

    @property
    def training(self):
        """Training behaviour (dropout, batch statistics): set by ``train()``/``eval()``,
        read as ``False`` inside :class:`evaluating` in this thread."""
        return self._training and not _evaluating.on

    @training.setter
    def training(self, mode):
        self._training = bool(mode)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # -- traversal ---------------------------------------------------------------
    def named_children(self):
        for name, value in vars(self).items():
            if name.startswith("_"):  # private caches and references are not children
                continue
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module (named ``prefix``) and every module below it."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self):
        """The modules directly below this one (PyTorch's), in the order assigned."""
        return (child for _, child in self.named_children())

    def modules(self):
        """This module and every module below it, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self, prefix=""):
        seen = set()
        for name, p in self._named_members(Parameter, prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _named_members(self, kind, prefix):
        """(dotted name, value) of every attribute of type ``kind``, here and below."""
        for name, value in vars(self).items():
            if isinstance(value, kind):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named_members(kind, f"{prefix}{name}.")

    trainable = True  # Keras's switch: ``layer.trainable = False`` freezes it and every module below

    def parameters(self):
        """Every parameter, once each, in the order assigned (a list that also names the
        layers still waiting for their first call to make their weights: ``.unbuilt``)."""
        return ParameterList(p for _, p in self.named_parameters()).pending(self)

    def _waits_for_input(self):
        """True for a layer whose weights are made at its first call and not made yet."""
        return False

    def trainable_parameters(self):
        """The parameters an optimizer should update: those of no module set ``trainable = False``,
        in ``parameters()``'s order. (One walk over the tree: ``fit`` asks at every call.)"""
        found, frozen = {}, set()

        def visit(module, frozen_above):
            frozen_here = frozen_above or not module.trainable
            for value in vars(module).values():  # as _named_members: own parameters, then the children's
                if isinstance(value, Parameter):
                    found.setdefault(id(value), value)
                    if frozen_here:
                        frozen.add(id(value))
            for child in module.children():
                visit(child, frozen_here)

        visit(self, False)
        return [p for key, p in found.items() if key not in frozen]

    def count_params(self):
        """The number of weights, as Keras counts them: parameters and buffers (running
        statistics), trainable or not."""
        buffers = {id(b): b for _, b in self.named_buffers()}
        return int(sum(p.size for p in self.parameters()) + sum(b.size for b in buffers.values()))

    def count_trainable_params(self):
        return int(sum(p.size for p in self.trainable_parameters()))

    # -- modes and gradients -----------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        """Move every parameter and buffer (and gradient) to ``device`` in place; returns the module.

        ``device`` is ``"cpu"``, ``"gpu"`` or ``"cuda"`` (CuPy), as PyTorch's ``module.to``. The
        Parameter objects stay the same, so an optimizer bound to them keeps working (a compiled
        ``Model`` moves its optimizer's state too).

        Raises:
            ImportError: a GPU was asked for and CuPy is not installed.
            RuntimeError: CuPy found no CUDA device.
            ValueError: an unknown device name.

        >>> Module().to("cpu").__class__.__name__
        'Module'
        """
        xp = array_module(device)
        for _, t in self._named_state():
            t.data = move(t.data, xp)
            if t.grad is not None:
                t.grad = move(t.grad, xp)
        # NOTE: the name is kept, not the module: a module object cannot be deep-copied
        self._device = "cpu" if xp is np else "gpu" if xp.__name__ == "cupy" else xp
        return self

    def cpu(self):
        """``to("cpu")``."""
        return self.to("cpu")

    def zero_grad(self, set_to_none=True):
        """Forget every gradient (PyTorch's default), or fill them with zeros (``set_to_none=False``)."""
        for p in (p for _, p in self.named_parameters()):
            p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.grad)

    def regularization_loss(self):
        """The sum of every layer's weight penalties (a Tensor), or None."""
        return sum_penalties(self.modules())

    def _penalties(self):
        return ()

    # -- state -------------------------------------------------------------------
    def named_buffers(self, prefix=""):
        return self._named_members(Buffer, prefix)

    def _named_state(self):
        return [*self.named_parameters(), *self.named_buffers()]

    def state_dict(self):
        """Copies of every parameter's and buffer's array, by dotted name."""
        return OrderedDict((name, p.data.copy()) for name, p in self._named_state())

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters and buffers of the same dotted names (PyTorch's rules).

        Layers still waiting for their first call to make their weights are built first
        from the shapes in ``state``, so a freshly constructed model takes the state dict
        of a trained one.

        Args:
            state: name -> array (or Tensor), as ``state_dict()`` returns it.
            strict: every name must match. Defaults to ``True``.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``: the model's names absent
            from ``state`` and the names of ``state`` the model lacks (empty when strict).

        Raises:
            ValueError: with ``strict``, names are missing or unexpected; and always when a
                shape differs. The message lists every difference; nothing is copied.
        """
        if not hasattr(state, "items"):
            raise TypeError(f"load_state_dict takes a dict of arrays (as state_dict() returns); "
                            f"received: {type(state).__name__}")
        state = {k: (v.data if isinstance(v, Tensor) else v) for k, v in state.items()}
        self._build_from_state(state)
        own = dict(self._named_state())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for name, p in own.items():
            if name in state and np.shape(state[name]) != p.shape:
                problems.append(f"{name}: expected shape {p.shape}, received shape {np.shape(state[name])}")
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed: " + "; ".join(problems))
        for name, p in own.items():
            if name in state:
                p.data[...] = asarray_like(state[name], p.data, p.dtype)
        return IncompatibleKeys(missing, unexpected)

    def _build_from_state(self, state):
        """Build every layer below that waits for its first call from its weights' shapes in ``state``."""
        for prefix, module in list(self.named_modules()):
            if module._waits_for_input():
                lead = f"{prefix}." if prefix else ""
                shapes = {k[len(lead):]: np.shape(v) for k, v in state.items()
                          if k.startswith(lead) and "." not in k[len(lead):]}
                if shapes:
                    module._build_from_shapes(shapes)

    def _build_from_shapes(self, shapes):
        """Build from one's own weights' shapes (name -> shape); layers that wait for input say how."""

    # -- display -----------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def sum_penalties(modules):
    """The sum of the weight penalties of ``modules`` (each module's own), or None."""
    total = None
    for m in modules:
        for penalty in m._penalties():
            total = penalty if total is None else total + penalty
    return total
