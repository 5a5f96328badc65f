"""Initializers (statistics against PyTorch's) and regularizers (seed 004's example, exact gradients)."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.nn import L1, L1L2, L2, initializers, regularizers

SHAPE = (256, 512)  # (fan_in, fan_out); torch's weight is (fan_out, fan_in)

TORCH = {
    "zeros": torch.nn.init.zeros_,
    "ones": torch.nn.init.ones_,
    "constant": lambda w: torch.nn.init.constant_(w, 0.0),
    "random_normal": lambda w: torch.nn.init.normal_(w, 0.0, 0.05),
    "random_uniform": lambda w: torch.nn.init.uniform_(w, -0.05, 0.05),
    "glorot_uniform": torch.nn.init.xavier_uniform_,
    "xavier_uniform": torch.nn.init.xavier_uniform_,
    "glorot_normal": torch.nn.init.xavier_normal_,
    "xavier_normal": torch.nn.init.xavier_normal_,
    "he_uniform": lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "kaiming_uniform": lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "he_normal": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "kaiming_normal": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "lecun_uniform": lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="linear"),
    "lecun_normal": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="linear"),
    "orthogonal": torch.nn.init.orthogonal_,
}


def test_every_registered_initializer_is_compared():
    assert set(initializers.INITIALIZERS.names()) == set(TORCH)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_distribution_matches_torch(name):
    ours = initializers.get(name)(SHAPE, np.random.default_rng(0))
    torch.manual_seed(0)
    theirs = TORCH[name](torch.empty(SHAPE[::-1], dtype=torch.float64)).numpy().T
    assert ours.dtype == np.float32 and ours.shape == SHAPE
    np.testing.assert_allclose(ours.mean(), theirs.mean(), atol=2e-3)
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.02, atol=1e-9)
    np.testing.assert_allclose(np.abs(ours).max(), np.abs(theirs).max(), rtol=0.25, atol=1e-9)


def test_orthogonal_is_orthogonal_and_seeded():
    w = initializers.get("orthogonal")((64, 32), np.random.default_rng(1), dtype=np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(32), atol=1e-12)
    again = initializers.get("orthogonal")((64, 32), np.random.default_rng(1), dtype=np.float64)
    assert np.array_equal(w, again)


def test_bad_initializer_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.get("glorot")


def test_seed_004_l1_and_l2_example():
    # x = [1,1,1,1]: w1 = [1,0,0,0] and w2 = [1/4]*4 both give w.x = 1.
    w1, w2 = np.array([1.0, 0, 0, 0]), np.full(4, 0.25)
    assert w1 @ np.ones(4) == w2 @ np.ones(4) == 1.0
    assert L2(1.0)(w1).item() == 0.5 and L2(1.0)(w2).item() == 0.125  # L2 prefers w2
    assert L1(1.0)(w1).item() == 1.0 and L1(1.0)(w2).item() == 1.0  # L1 cannot tell them apart


@pytest.mark.parametrize("reg,torch_fn", [
    (L1(0.3), lambda w: 0.3 * w.abs().sum()),
    (L2(0.3), lambda w: 0.15 * (w ** 2).sum()),
    (L1L2(0.1, 0.2), lambda w: 0.1 * w.abs().sum() + 0.1 * (w ** 2).sum()),
])
def test_penalty_and_exact_gradient(reg, torch_fn):
    w = np.random.default_rng(0).standard_normal((3, 4))
    assert gn.gradcheck(reg, [w])
    ours = gn.Tensor(w, requires_grad=True)
    theirs = torch.tensor(w, requires_grad=True)
    y, ty = reg(ours), torch_fn(theirs)
    np.testing.assert_allclose(y.data, ty.item(), rtol=1e-12)
    y.backward()
    ty.backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)


def test_l2_gradient_equals_sgd_weight_decay():
    w = gn.nn.Parameter(np.array([1.0, -2.0]))
    L2(0.1)(w).backward()
    np.testing.assert_allclose(w.grad, 0.1 * w.data)


def test_regularizer_lookup_and_validation():
    assert isinstance(regularizers.get("l1_l2"), L1L2)
    assert isinstance(regularizers.get({"name": "l2", "l2": 0.5}), L2)
    with pytest.raises(ValueError, match=r"l2 must be a number >= 0; received: l2=-1"):
        L2(-1)
