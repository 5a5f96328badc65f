"""The Optimizer base: it owns the parameters, their state, clipping and the
learning rate; each optimizer writes only its update rule."""
import functools
from collections.abc import MutableMapping

import numpy as np

from .. import kernels
from ..backend import get_array_module, move, on_host, to_numpy
from ..registry import Registry
from .clip import clip_grads
from .flat import FlatParams
from .schedules import SCHEDULES, LearningRateSchedule

OPTIMIZERS = Registry("optimizer")


def check_hyper(name, value, low=0.0, high=None, low_inclusive=True):
    """Validate a hyperparameter: a number in [low, high) (or (low, ...) when not inclusive)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= low if low_inclusive else value > low) and (high is None or value < high)
    if not ok:
        bound = f"{'>=' if low_inclusive else '>'} {low}" + (f" and < {high}" if high is not None else "")
        raise ValueError(f"Invalid {name}: expected a number {bound}. Received: {name}={value!r}")
    return float(value)


def coupled_decay(w, g, weight_decay):
    """g + weight_decay * w: an L2 penalty's gradient added to g (PyTorch's ``weight_decay``)."""
    return g + weight_decay * w if weight_decay else g


def _lr_alias(init):
    """Wrap an optimizer's ``__init__`` to take PyTorch's ``lr=`` for ``learning_rate``."""
    @functools.wraps(init)
    def __init__(self, *args, lr=None, **kwargs):
        if lr is not None:
            if "learning_rate" in kwargs or len(args) > 1 or (args and _is_number(args[0])):
                given = kwargs.get("learning_rate", args[1] if len(args) > 1 else args[0] if args else None)
                raise TypeError(f"{type(self).__name__} takes the learning rate once: lr= (PyTorch's name) or "
                                f"learning_rate= (Keras's), not both. Received: lr={lr!r}, learning_rate={given!r}")
            kwargs["learning_rate"] = lr
        init(self, *args, **kwargs)

    return __init__


def _is_number(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


class Optimizer:
    """Base class.

    Args:
        params: Parameters, a Module, or ``None`` to bind later with
            ``bind()`` (``Model.compile`` does this).
        learning_rate: a number > 0 or a schedule ``step -> lr``; every optimizer
            also takes it as ``lr=`` (PyTorch's name), one or the other.
        clipvalue: clip each gradient element to [-clipvalue, clipvalue]. Defaults to ``None``.
        clipnorm: rescale each gradient whose norm exceeds it. Defaults to ``None``.
        global_clipnorm: rescale all gradients together when their joint norm
            exceeds it (PyTorch's ``clip_grad_norm_``). Defaults to ``None``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _lr_alias(cls.__dict__["__init__"])

    def __init__(self, params=None, learning_rate=0.01, clipvalue=None, clipnorm=None, global_clipnorm=None):
        if _is_number(params):
            params, learning_rate = None, params  # Keras's positional learning rate: RMSprop(1e-3)
        if not isinstance(learning_rate, LearningRateSchedule) and not callable(learning_rate):
            check_hyper("learning_rate", learning_rate, 0.0, low_inclusive=False)
        self._learning_rate = learning_rate
        for name, value in (("clipvalue", clipvalue), ("clipnorm", clipnorm), ("global_clipnorm", global_clipnorm)):
            if value is not None:
                check_hyper(name, value, 0.0, low_inclusive=False)
        self.clipvalue, self.clipnorm, self.global_clipnorm = clipvalue, clipnorm, global_clipnorm
        self.iterations = 0
        self.params, self._state, self._flat = [], [], None
        if params is not None:
            self.bind(params)

    def bind(self, params):
        """Set the parameters to update (a Module or an iterable of Parameters)."""
        params = params.parameters() if hasattr(params, "parameters") else params
        _refuse_unbuilt(self, params)
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        self.params = params
        self._state = [{} for _ in params]
        self._flat = FlatParams(params) if FlatParams.suitable(params) else None
        return self

    @property
    def state(self):
        """One dict of state per parameter (views into the packed buffers when packed)."""
        return self._flat.per_param_state() if self._flat is not None else self._state

    def _unpack(self):
        """Leave packed mode for good (a parameter's array was replaced, or a gradient is missing)."""
        if self._flat is not None:
            self._state = [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
                           for d in self._flat.per_param_state()]
            self._flat = None

    @property
    def learning_rate(self):
        """The learning rate the next update will use."""
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value if callable(value) else check_hyper(
            "learning_rate", value, 0.0, low_inclusive=False)

    @property
    def param_groups(self):
        """PyTorch's view: one group holding every parameter, ``"lr"`` and the hyperparameters."""
        return [ParamGroup(self)]

    def zero_grad(self, set_to_none=True):
        """Forget every gradient (PyTorch's default), or fill them with zeros (``set_to_none=False``)."""
        for p in self.params:
            p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.grad)

    def step(self):
        """Apply one update to every parameter that has a gradient, in place."""
        grads = [p.grad for p in self.params]
        if self.clipvalue is not None or self.clipnorm is not None or self.global_clipnorm is not None:
            grads = clip_grads(grads, self.clipvalue, self.clipnorm, self.global_clipnorm)
        lr = self.learning_rate
        self.iterations += 1
        flat = self._flat
        if flat is not None and not any(g is None for g in grads) and flat.intact():
            # NOTE: one update over all parameters at once: a few large array operations
            # instead of a few per parameter, with no Python loop.
            flat.state["step"] = flat.state.get("step", 0) + 1
            flat.load_held()
            self.update(flat.data, flat.gather(grads), flat.state, lr)
            flat.store_held()
            return
        self._unpack()
        for p, g, state in zip(self.params, grads, self._state):
            if g is None:
                continue
            if g.dtype != p.dtype:
                g = g.astype(p.dtype)
            state["step"] = state.get("step", 0) + 1
            self.update(p.data, g, state, lr)

    def update(self, w, g, state, lr):
        """Update the array ``w`` in place from its gradient ``g``."""
        raise NotImplementedError

    # True where the kernel pays at every size (4,810 parameters, one thread: Adam 32 against 48 us
    # a step, Nadam 33 against 61, RMSprop 35 against 43, Adadelta 53 against 65, Adagrad 29
    # against 34). SGD sets it False: below compiled_min_size its NumPy update (two passes without
    # momentum) beats a kernel call (4,810 parameters: 11 against 20 us a step). compiled_min_size
    # is an attribute, so a test can change it on one optimizer.
    small_kernel = True
    compiled_min_size = 1 << 15

    def fused(self, w, g, *state):
        """``w``, ``g`` and the state arrays as 1-D views for a compiled kernel (which computes
        in w's dtype, given its scalars through ``typed``); ``None`` where the NumPy reference should run (kernels
        switched off, a small buffer, an array a 1-D view cannot alias)."""
        small = w.size < self.compiled_min_size and not self.small_kernel
        if small or not kernels.compiled() or not on_host(w, g):
            return None
        if not all(a.flags.c_contiguous and a.dtype == w.dtype for a in (w, *state)):
            return None
        g = np.ascontiguousarray(g, dtype=w.dtype)
        return [a if a.ndim == 1 else a.reshape(-1) for a in (w, g, *state)]  # packed buffers are 1-D

    @staticmethod
    def typed(w, *scalars):
        """``scalars`` as numbers of ``w``'s dtype: a compiled kernel given Python floats computes
        float32 arrays in float64, 2-3x slower (Adam over 1.86 M parameters: 6.8 against 2.7 ms)."""
        return tuple(map(w.dtype.type, scalars))

    def _move_state(self, xp):
        """Move the state arrays to the device of array module ``xp`` (``Model.to`` calls this)."""
        if self._flat is not None and xp is not np:
            self._unpack()  # NOTE: packing is for NumPy arrays only
        self._state = [{k: (move(v, xp) if hasattr(v, "shape") and not isinstance(v, np.generic) else v)
                        for k, v in d.items()} for d in self._state]
        self.__dict__.pop("_scratch", None)

    def scratch(self, w):
        """A reusable array shaped like ``w`` for temporaries (not part of the saved state)."""
        key = (w.shape, w.dtype)
        buffers = self.__dict__.setdefault("_scratch", {})
        if key not in buffers:
            buffers[key] = np.empty_like(w)
        return buffers[key]

    # -- saving --------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = {"name": SCHEDULES.name_of(lr), **lr.get_config()}
        return {"learning_rate": lr, "clipvalue": self.clipvalue, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, **self.hyper}

    # State entries that are Python numbers rather than arrays.
    scalar_state = ("step",)

    def state_dict(self):
        """Every state array by ``"<param index>.<name>"``, plus the iteration count.

        Numbers are stored as one-element arrays (safetensors has no scalars).
        """
        out = {"iterations": np.array([self.iterations], dtype=np.int64)}
        for i, state in enumerate(self.state):
            for key, value in state.items():
                out[f"{i}.{key}"] = np.asarray(value).reshape(1) if key in self.scalar_state else value
        return out

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned (after ``bind``).

        Raises:
            ValueError: a key that names no parameter, a value whose shape is not its
                parameter's (or not one number for a scalar), a missing or negative
                ``iterations``.
        """
        iterations = np.asarray(state.get("iterations", -1))
        if iterations.size != 1 or iterations.dtype.kind not in "iu" or iterations.reshape(-1)[0] < 0:
            raise ValueError(f"optimizer state needs 'iterations', one integer >= 0; received {iterations!r:.80}")
        per_param = [{} for _ in self.params]
        for key, value in state.items():
            if key == "iterations":
                continue
            index, _, name = key.partition(".")
            if not index.isdigit() or int(index) >= len(self.params) or not name:
                raise ValueError(f"optimizer state key {key!r} names no parameter "
                                 f"(expected '<index>.<name>' with index < {len(self.params)})")
            param, value = self.params[int(index)], to_numpy(value)
            if name in self.scalar_state:
                if value.size != 1:
                    raise ValueError(f"optimizer state {key!r} must be one number; received shape {value.shape}")
                value = value.reshape(-1)[0].item()
            elif value.shape != param.shape:
                raise ValueError(f"optimizer state {key!r} must have its parameter's shape {param.shape}; "
                                 f"received shape {value.shape}")
            else:
                value = move(np.array(value, dtype=param.dtype), get_array_module(param.data))
            per_param[int(index)][name] = value
        self.iterations, self._state = int(iterations.reshape(-1)[0]), per_param
        if self._flat is not None and not self._flat.load_per_param_state(self._state):
            self._flat = None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


Optimizer.__init__ = _lr_alias(Optimizer.__init__)


class ParamGroup(MutableMapping):
    """``optimizer.param_groups[0]``: ``"params"``, ``"lr"`` and the optimizer's hyperparameters by
    glassnet's (Keras's) names (``"momentum"``, ``"beta_1"``, ``"weight_decay"``, ...). Setting
    ``"lr"`` or a hyperparameter changes the optimizer from its next step, as PyTorch code that
    schedules the learning rate by hand expects (``for g in opt.param_groups: g["lr"] = 0.01``).

    >>> import glassnet as gn
    >>> opt = gn.optim.SGD(gn.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
    >>> group = opt.param_groups[0]
    >>> group["lr"] = 0.05
    >>> opt.learning_rate, group["momentum"], len(group["params"])
    (0.05, 0.9, 2)
    """

    def __init__(self, optimizer):
        self._optimizer = optimizer

    def _names(self):
        return ["params", "lr", *self._optimizer.hyper]

    def __getitem__(self, key):
        if key == "params":
            return self._optimizer.params
        if key == "lr":
            return self._optimizer.learning_rate
        if key in self._optimizer.hyper:
            return self._optimizer.hyper[key]
        raise KeyError(f"{type(self._optimizer).__name__}'s parameter group has no {key!r}; its keys are "
                       f"{self._names()}")

    def __setitem__(self, key, value):
        hyper = self._optimizer.hyper
        if key == "lr":
            self._optimizer.learning_rate = value
        elif key in hyper and isinstance(hyper[key], bool):
            if not isinstance(value, bool):
                raise TypeError(f"{key} is True or False. Received: {key}={value!r}")
            hyper[key] = value
        elif key in hyper:
            hyper[key] = check_hyper(key, value)
        else:
            raise KeyError(f"{type(self._optimizer).__name__}'s parameter group sets 'lr' and its hyperparameters "
                           f"{list(hyper)}; received: {key!r}")

    def __delitem__(self, key):
        raise TypeError("a parameter group's keys cannot be removed")

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def __repr__(self):
        return repr({k: (f"<{len(v)} parameters>" if k == "params" else v) for k, v in self.items()})


def _refuse_unbuilt(optimizer, params):
    """A module's ``parameters()`` taken while some of its layers have no weights yet would
    leave those layers untrained for good: say which, and how to build them first."""
    unbuilt = getattr(params, "unbuilt", ())
    if unbuilt:
        raise ValueError(
            f"{type(optimizer).__name__} was given the parameters of a model whose layers {', '.join(unbuilt)} have "
            "no weights yet (a layer given no input size makes them at its first call), so they would never be "
            "trained. Run one forward pass first (net(x) on a batch, or model.build((None, *input_shape))), or "
            "give those layers their input size (Linear(in_features, out_features), Dense(units, input_dim=...), "
            "input_shape=...), then make the optimizer")


def get(identifier):
    """An optimizer from a name (default hyperparameters) or the Optimizer given."""
    if isinstance(identifier, str):
        return OPTIMIZERS.get(identifier)()
    if isinstance(identifier, Optimizer):
        return identifier
    raise TypeError(f"optimizer must be a name or an Optimizer; received: optimizer={identifier!r}")
