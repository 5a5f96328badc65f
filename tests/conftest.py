import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def to_torch(arrays):
    import torch

    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
