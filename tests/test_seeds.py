"""The seeds' worked examples, computed by glassnet and checked against their formulas."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim
from glassnet import functional as F


def test_seed_000_section_3_4_one_step_by_hand():
    # 2 inputs, 2 ReLU hidden units, 1 sigmoid output, binary cross-entropy, one point, one step.
    x1, x2, y, eta = 0.5, -1.2, 1.0, 0.1
    w11, w12, w21, w22, b1, b2 = 0.3, -0.4, 0.2, 0.6, 0.05, 0.1   # w_ij: input i -> hidden j
    w31, w32, b3 = 0.7, -0.5, 0.2

    hidden = nn.Dense(2, activation="relu", input_dim=2, dtype=np.float64)
    out = nn.Dense(1, activation="sigmoid", input_dim=2, dtype=np.float64)
    hidden.kernel.data[...] = [[w11, w12], [w21, w22]]
    hidden.bias.data[...] = [b1, b2]
    out.kernel.data[...] = [[w31], [w32]]
    out.bias.data[...] = [b3]
    model = gn.Sequential([hidden, out])
    loss = nn.BinaryCrossentropy()(np.array([[y]]), model(np.array([[x1, x2]])))
    loss.backward()

    # Forward, by the seed's formulas.
    z1, z2 = w11 * x1 + w21 * x2 + b1, w12 * x1 + w22 * x2 + b2
    a1, a2 = max(z1, 0), max(z2, 0)
    z3 = w31 * a1 + w32 * a2 + b3
    a3 = 1 / (1 + np.exp(-z3))
    assert loss.item() == pytest.approx(-(y * np.log(a3) + (1 - y) * np.log(1 - a3)))
    # Backward: dL/dz3 = a3 - y, then the chain rule down to each weight.
    dz3 = a3 - y
    d_out = [dz3 * a1, dz3 * a2]
    dz1, dz2 = dz3 * w31 * (z1 > 0), dz3 * w32 * (z2 > 0)
    d_hidden = [[dz1 * x1, dz2 * x1], [dz1 * x2, dz2 * x2]]
    np.testing.assert_allclose(out.kernel.grad.ravel(), d_out, rtol=1e-12)
    np.testing.assert_allclose(out.bias.grad, [dz3], rtol=1e-12)
    np.testing.assert_allclose(hidden.kernel.grad, d_hidden, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hidden.bias.grad, [dz1, dz2], rtol=1e-12, atol=1e-15)
    # One gradient-descent step: w <- w - eta * dL/dw.
    optim.SGD(model, learning_rate=eta).step()
    np.testing.assert_allclose(out.kernel.data.ravel(), [w31 - eta * d_out[0], w32 - eta * d_out[1]], rtol=1e-12)
    np.testing.assert_allclose(hidden.kernel.data, np.array([[w11, w12], [w21, w22]]) - eta * np.array(d_hidden),
                               rtol=1e-12)


def test_seed_003_logistic_regression_numbers():
    x, w, b = np.array([3.0, 4.0]), np.array([0.01, 0.01]), 1.0
    z = x @ w + b
    a = F.sigmoid(gn.Tensor(np.array(z))).item()
    assert z == pytest.approx(1.07)
    assert a == pytest.approx(0.7445969158274759, abs=1e-15)
    assert -np.log(a) == pytest.approx(0.29491225960491124, abs=1e-15)

    X, y = np.array([[2.0, 3.0], [3.0, 4.0], [1.0, 5.0]]), np.array([1.0, 0.0, 1.0])
    wt, bt = gn.Tensor(w, requires_grad=True), gn.Tensor(np.array(b), requires_grad=True)
    J = nn.BinaryCrossentropy()(y, F.sigmoid(X @ wt + bt))
    J.backward()
    assert J.item() == pytest.approx(0.6541488512601813, abs=1e-12)
    np.testing.assert_allclose(wt.grad, [0.48601036, 0.3047217], atol=1e-8)
    assert float(bt.grad) == pytest.approx(0.07602078677077188, abs=1e-12)


def test_seed_001_relu_xor_network():
    # 4 samples, H = 30 ReLU units, no biases, summed squared error, plain gradient descent.
    rng = np.random.default_rng(0)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    w1 = gn.nn.Parameter(rng.standard_normal((2, 30)))
    w2 = gn.nn.Parameter(rng.standard_normal((30, 1)))
    opt = optim.SGD([w1, w2], learning_rate=0.002)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = ((F.relu(X @ w1) @ w2 - y) ** 2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]
    pred = (F.relu(X @ w1) @ w2).data
    assert np.array_equal(pred.ravel() > 0.5, [False, True, True, False])


def test_stacked_linear_layers_collapse_into_one():
    # seed 002: 0.6 * (0.2 x1 + 0.3 x2) = 0.12 x1 + 0.18 x2
    w_hidden, w_out = np.array([[0.2], [0.3]]), np.array([[0.6]])
    x = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_allclose((gn.Tensor(x) @ w_hidden @ w_out).data, x @ np.array([[0.12], [0.18]]))


def test_example_seed_003_runs_and_its_loss_falls(example):
    losses = example("seed003_logistic_regression").main(steps=50, verbose=False)
    assert losses[-1] < 0.5 * losses[0]


def test_example_seed_000_neural_network_learns_digits(example):
    accuracy, trainer = example("seed000_neural_network").main(epochs=300, verbose=False)
    assert trainer.train_loss[-1] < trainer.train_loss[0] / 5 and len(trainer.test_loss) == 300
    assert accuracy > 0.85


def test_example_seed_000_keras_version(example):
    accuracy, history = example("seed000_keras").main(epochs=15, verbose=0)
    assert accuracy > 0.93 and set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_example_seed_001_networks(tmp_path, example):
    random_losses, xor_losses, xor_pred = example("seed001_networks").main(
        plot_dir=tmp_path, verbose=False, random_steps=300)
    assert random_losses[-1] < 0.1 * random_losses[0]
    assert np.array_equal(xor_pred > 0.5, [False, True, True, False])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["random_sigmoid.png", "xor_relu.png"]


def test_example_seed_002_matches_the_seeds_output_layer_formula(example):
    module = example("seed002_sizes_network")
    errors, prediction, net = module.main(epochs=3000, verbose=False)
    assert errors[-1] < 0.01 and np.array_equal(prediction > 0.5, [False, True, True, False])
    # dE/dw_hj = -(y_j - a_j) a_j (1 - a_j) b_h for the output layer (b: hidden outputs)
    x, y = np.array([[0.3, 0.9]]), np.array([[1.0]])
    for p in net.parameters():
        p.grad = None
    net.error(x, y).backward()
    b = F.sigmoid(gn.Tensor(x) @ net.weights[0] + net.biases[0]).data
    a = F.sigmoid(gn.Tensor(b) @ net.weights[1] + net.biases[1]).data
    np.testing.assert_allclose(net.weights[1].grad, b.T @ (-(y - a) * a * (1 - a)), rtol=1e-12)
