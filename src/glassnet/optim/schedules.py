"""Learning-rate schedules: ``schedule(step) -> learning rate``.

``step`` counts optimizer updates from 0. Pass a schedule as an optimizer's
``learning_rate`` and it is evaluated before every update.
"""
import math

from ..registry import Registry

SCHEDULES = Registry("schedule")


def _positive(name, value, allow_zero=False):
    if not isinstance(value, (int, float)) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a number {'>=' if allow_zero else '>'} 0; received: {name}={value!r}")
    return value


class LearningRateSchedule:
    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return {k: (v.get_config() | {"name": SCHEDULES.name_of(v)} if isinstance(v, LearningRateSchedule) else v)
                for k, v in vars(self).items()}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


@SCHEDULES.register("step", "step_decay")
class StepDecay(LearningRateSchedule):
    """lr * gamma ** (step // step_size) (PyTorch's StepLR)."""

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.step_size = int(_positive("step_size", step_size))
        self.gamma = _positive("gamma", gamma)

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


@SCHEDULES.register("exponential", "exponential_decay")
class ExponentialDecay(LearningRateSchedule):
    """lr * decay_rate ** (step / decay_steps); ``staircase`` floors the exponent."""

    def __init__(self, initial_learning_rate, decay_rate, decay_steps=1, staircase=False):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_rate = _positive("decay_rate", decay_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.staircase = bool(staircase)

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)


@SCHEDULES.register("cosine", "cosine_decay")
class CosineDecay(LearningRateSchedule):
    """Half a cosine from lr down to ``alpha * lr`` over ``decay_steps``, then flat."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.alpha = _positive("alpha", alpha, allow_zero=True)

    def __call__(self, step):
        cosine = 0.5 * (1 + math.cos(math.pi * min(step, self.decay_steps) / self.decay_steps))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


@SCHEDULES.register("warmup", "linear_warmup")
class WarmUp(LearningRateSchedule):
    """A linear ramp from ``start_factor * lr`` up to the schedule ``after`` (or a
    constant lr) over ``warmup_steps``; then ``after(step - warmup_steps)``."""

    def __init__(self, after, warmup_steps, start_factor=0.0):
        self.after = after
        self.warmup_steps = int(_positive("warmup_steps", warmup_steps))
        self.start_factor = _positive("start_factor", start_factor, allow_zero=True)

    def __call__(self, step):
        after = self.after if callable(self.after) else (lambda _: self.after)
        if step >= self.warmup_steps:
            return after(step - self.warmup_steps)
        factor = self.start_factor + (1 - self.start_factor) * step / self.warmup_steps
        return after(0) * factor


def get(config):
    """A schedule from a ``{"name": ..., **arguments}`` dict (as ``get_config`` writes)."""
    config = dict(config)
    cls = SCHEDULES.get(config.pop("name"))
    if isinstance(config.get("after"), dict):
        config["after"] = get(config["after"])
    return cls(**config)
