"""Keras's ``keras.models``: the model classes and ``load_model``."""
from .functional_model import Functional
from .model import Model
from .sequential import Sequential


def load_model(path):
    """Rebuild a model saved with ``model.save(path)`` (see :mod:`glassnet.saving`).

    Raises:
        FileNotFoundError: no file at ``path``.
        ModelFileError: a ``ValueError`` naming the file and its defect.
    """
    from .saving import load_model as _load  # noqa: PLC0415 - needs the optional safetensors

    return _load(path)


__all__ = ["Model", "Sequential", "Functional", "load_model"]
