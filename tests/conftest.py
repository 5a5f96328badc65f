import importlib.util
import pathlib

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def to_torch(arrays):
    import torch

    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


@pytest.fixture
def example():
    """Load a script from examples/ as a module: ``example("cnn_digits").main(...)``."""

    def load(name):
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
