"""Optimizers, gradient clipping and learning-rate schedules."""
from .adam import Adam, AdamW, Nadam
from .adaptive import Adadelta, Adagrad, RMSprop
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import OPTIMIZERS, Optimizer, get
from .schedules import SCHEDULES, CosineDecay, ExponentialDecay, LearningRateSchedule, StepDecay, WarmUp
from .sgd import SGD

GradientDescent = SGD

__all__ = [
    "Optimizer", "SGD", "GradientDescent", "Adam", "AdamW", "Nadam", "Adagrad", "RMSprop", "Adadelta",
    "clip_grad_norm_", "clip_grad_value_", "LearningRateSchedule", "StepDecay", "ExponentialDecay",
    "CosineDecay", "WarmUp", "OPTIMIZERS", "SCHEDULES", "get",
]
