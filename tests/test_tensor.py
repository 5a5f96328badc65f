"""The Tensor and its backward pass: graph semantics, dtypes and errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet import Tensor


def test_seed_003_computation_graph():
    # u = b*c = 6; v = a + u = 11; J = 3v = 33; dJ/da = 3, dJ/db = 3c = 6, dJ/dc = 3b = 9
    a, b, c = (Tensor(v, requires_grad=True) for v in (5.0, 3.0, 2.0))
    J = 3 * (a + b * c)
    J.backward()
    assert J.item() == 33.0
    assert (a.grad, b.grad, c.grad) == (3.0, 6.0, 9.0)


def test_node_used_twice_sums_both_paths():
    a = Tensor(1.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0


def test_leaf_without_creator_can_backward():
    a = Tensor(2.0, requires_grad=True)
    a.backward()
    assert a.grad == 1.0


def test_gradients_accumulate_across_backward_calls():
    a = Tensor([1.0, 2.0], requires_grad=True)
    (a * 3).sum().backward()
    (a * 3).sum().backward()
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])


def test_deep_graph_does_not_hit_recursion_limit():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad, 1.0001**10_000, rtol=1e-3)


def test_graph_is_released_unless_retained():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    with pytest.raises(RuntimeError, match="already released"):
        y.backward()


def test_no_grad_stops_recording():
    x = Tensor([1.0], requires_grad=True)
    with gn.no_grad():
        y = x * 2
        assert not gn.is_grad_enabled()
        with gn.enable_grad():
            z = x * 2
    assert gn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad


def test_backward_under_no_grad_names_the_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with gn.no_grad():
        y = (x * 2).sum()
    y.name = "loss"
    with pytest.raises(RuntimeError, match=r"'loss'.*no graph.*no_grad"):
        y.backward()


def test_backward_on_non_scalar_needs_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"one-element tensor, got shape \(2,\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad must have shape \(2,\), got \(3,\)"):
        (x * 2).backward(np.ones(3))


def test_matmul_shape_error_names_both_shapes():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        a @ b


def test_other_errors_are_clear():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape a tensor of shape \(2, 3\).*\(4,\)"):
        x.reshape(4)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        x.sum(axis=2)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[5]
    with pytest.raises(ValueError, match=r"concatenate along axis 0.*\(2, 3\), \(2, 2\)"):
        gn.concatenate([x, Tensor(np.ones((2, 2)))])
    with pytest.raises(TypeError, match="only floating tensors"):
        Tensor(np.array([1, 2]), requires_grad=True, dtype=np.int64)


def test_dtypes():
    assert Tensor(1.0).dtype == np.float32
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.zeros(2)).dtype == np.float64
    x = Tensor(np.zeros(2, dtype=np.float32))
    assert (x * 2.5 + 1).dtype == np.float32
    assert (2.5 / (x + 1)).dtype == np.float32


def test_numpy_operand_on_the_left_defers_to_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_detach_numpy_item_and_repr():
    x = Tensor([[1.0, 2.0]], requires_grad=True, name="w")
    y = x * 2
    assert y.detach().grad_fn is None and not y.detach().requires_grad
    assert y.numpy() is y.data
    assert "grad_fn=<Mul>" in repr(y)
    assert "requires_grad=True" in repr(x) and "name='w'" in repr(x)
    assert x.T.shape == (2, 1)
    with pytest.raises(ValueError, match="one element"):
        x.item()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.lists(st.integers(0, 1), min_size=1, max_size=3))
def test_broadcast_gradients_have_input_shapes(shape, ones):
    # Replace some of b's dims by 1 (and drop leading ones) to exercise every broadcasting rule.
    b_shape = [1 if i < len(ones) and ones[i] else n for i, n in enumerate(shape)][len(shape) // 2:]
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal(shape), requires_grad=True)
    b = Tensor(rng.standard_normal(b_shape), requires_grad=True)
    (a * b + b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    expected_b = np.broadcast_to(a.data + 1, np.broadcast_shapes(a.shape, b.shape))
    extra = expected_b.ndim - len(b_shape)
    expected_b = expected_b.sum(axis=tuple(range(extra)))
    expected_b = expected_b.sum(axis=tuple(i for i, n in enumerate(b_shape) if n == 1), keepdims=True)
    np.testing.assert_allclose(b.grad, expected_b)


def test_gradcheck_reports_a_wrong_gradient():
    from glassnet.ops import Function

    class WrongSquare(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, gy):
            return gy * self.x  # should be 2 * x

    result = gn.gradcheck(lambda x: WrongSquare()(x), [np.array([1.0, 2.0])])
    assert not result
    assert result.max_abs_error[0] > 0.1
    assert "FAILED" in str(result)
