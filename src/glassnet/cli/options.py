"""The training options that `glassnet train` and `glassnet tune` share, and argparse types that
name the expected value in their errors."""
import argparse

import numpy as np


DATASET_NAMES = ("digits", "iris", "wine", "breast_cancer", "xor", "moons", "circles", "spirals", "gaussian")


def _sizes(text):
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes like 64,32; "
                                         f"received {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers; received {text!r}")
    return sizes


def _bounded(kind, low, high=None, low_open=False):
    """An argparse type: a number of ``kind`` in [low, high] (or (low, high] with low_open)."""
    words = {int: "an integer", float: "a number"}[kind]
    rule = f"> {low}" if low_open else f">= {low}"
    rule += f" and <= {high}" if high is not None else ""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {words} {rule}; received {text!r}") from None
        if (not np.isfinite(value) or (value <= low if low_open else value < low)
                or (high is not None and value > high)):
            raise argparse.ArgumentTypeError(f"expected {words} {rule}; received {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


POSITIVE_INT, COUNT, POSITIVE, FRACTION = _bounded(int, 1), _bounded(int, 0), _bounded(float, 0, low_open=True), \
    _bounded(float, 0, 1)


def _add_training_options(p):
    from ..workflow import TrainConfig  # noqa: PLC0415

    d = TrainConfig()
    data = p.add_argument_group("data")
    data.add_argument("--dataset", default=d.dataset, choices=DATASET_NAMES, help="built-in data set (default: digits)")
    data.add_argument("--csv", help="train on your own CSV file (with a header row) instead")
    data.add_argument("--target", help="the label column of --csv")
    data.add_argument("--test-size", type=_bounded(float, 0, 1, low_open=True), default=d.test_size,
                      help="held-out test fraction (default: 0.2)")
    data.add_argument("--noise", type=_bounded(float, 0), default=d.noise,
                      help="noise of the 2-D toy sets (default: 0.1)")
    net = p.add_argument_group("network")
    net.add_argument("--model", choices=("mlp", "cnn"), default=d.model,
                     help="mlp: Dense layers (default); cnn: two convolutions and pooling first (digits)")
    net.add_argument("--hidden", type=_sizes, default=d.hidden, help="hidden layer sizes, e.g. 64,32 (default: 64)")
    net.add_argument("--activation", default=d.activation, help="hidden activation (default: relu)")
    net.add_argument("--output-activation", help="output activation (default: softmax / sigmoid / linear by task)")
    net.add_argument("--dropout", type=_bounded(float, 0, 0.99), default=d.dropout,
                     help="dropout rate after each hidden layer")
    net.add_argument("--l1", type=_bounded(float, 0), default=d.l1, help="L1 penalty on the kernels")
    net.add_argument("--l2", type=_bounded(float, 0), default=d.l2, help="L2 penalty (l2/2 * sum w^2) on the kernels")
    fit = p.add_argument_group("training")
    fit.add_argument("--loss", help="loss name (default: categorical / binary cross-entropy or mse by task)")
    fit.add_argument("--optimizer", default=d.optimizer, help="optimizer name (default: adam)")
    fit.add_argument("--lr", type=POSITIVE, help="learning rate (default: the optimizer's)")
    fit.add_argument("--epochs", type=POSITIVE_INT, default=d.epochs, help="maximum epochs (default: 200)")
    fit.add_argument("--batch-size", type=POSITIVE_INT, default=d.batch_size, help="mini-batch size (default: 32)")
    fit.add_argument("--patience", type=COUNT, default=d.patience,
                     help="early stopping patience on the validation loss (default: 10)")
    fit.add_argument("--validation-split", type=_bounded(float, 0, 0.9), default=d.validation_split,
                     help="fraction of the training data held out for early stopping (default: 0.1)")
    fit.add_argument("--seed", type=COUNT, default=d.seed,
                     help="seed of the split, weights and shuffling (default: 42)")
    fit.add_argument("--device", choices=("cpu", "gpu", "cuda"), default=d.device,
                     help="where to train: cpu (default) or gpu / cuda (an NVIDIA GPU through CuPy: "
                          "pip install 'glassnet[gpu]')")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _config(args):
    from ..workflow import TrainConfig  # noqa: PLC0415

    return TrainConfig(dataset=args.dataset, model=args.model, csv=args.csv, target=args.target, hidden=args.hidden,
                       activation=args.activation, output_activation=args.output_activation, loss=args.loss,
                       optimizer=args.optimizer, learning_rate=args.lr, epochs=args.epochs,
                       batch_size=args.batch_size, l1=args.l1, l2=args.l2, dropout=args.dropout,
                       patience=args.patience, validation_split=args.validation_split, test_size=args.test_size,
                       seed=args.seed, verbose=0 if args.quiet else 1, noise=args.noise,
                       device=args.device)
