"""The ``glassnet`` command: parse, call the library, print. No training logic here."""
import argparse
import csv
import io
import os
import sys
import time

import numpy as np

from . import __version__

DATASET_NAMES = ("digits", "iris", "wine", "breast_cancer", "xor", "moons", "circles", "spirals", "gaussian")


def _sizes(text):
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes like 64,32; received {text!r}") from None
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
    from .workflow import TrainConfig  # noqa: PLC0415

    d = TrainConfig()
    data = p.add_argument_group("data")
    data.add_argument("--dataset", default=d.dataset, choices=DATASET_NAMES, help="built-in data set (default: digits)")
    data.add_argument("--csv", help="train on your own CSV file (with a header row) instead")
    data.add_argument("--target", help="the label column of --csv")
    data.add_argument("--test-size", type=_bounded(float, 0, 1, low_open=True), default=d.test_size, help="held-out test fraction (default: 0.2)")
    data.add_argument("--noise", type=_bounded(float, 0), default=d.noise, help="noise of the 2-D toy sets (default: 0.1)")
    net = p.add_argument_group("network")
    net.add_argument("--model", choices=("mlp", "cnn"), default=d.model,
                     help="mlp: Dense layers (default); cnn: two convolutions and pooling first (digits)")
    net.add_argument("--hidden", type=_sizes, default=d.hidden, help="hidden layer sizes, e.g. 64,32 (default: 64)")
    net.add_argument("--activation", default=d.activation, help="hidden activation (default: relu)")
    net.add_argument("--output-activation", help="output activation (default: softmax / sigmoid / linear by task)")
    net.add_argument("--dropout", type=_bounded(float, 0, 0.99), default=d.dropout, help="dropout rate after each hidden layer")
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
    fit.add_argument("--seed", type=COUNT, default=d.seed, help="seed of the split, weights and shuffling (default: 42)")
    fit.add_argument("--device", choices=("cpu", "gpu", "cuda"), default=d.device,
                     help="where to train: cpu (default) or gpu / cuda (an NVIDIA GPU through CuPy: pip install 'glassnet[gpu]')")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _config(args):
    from .workflow import TrainConfig  # noqa: PLC0415

    return TrainConfig(dataset=args.dataset, model=args.model, csv=args.csv, target=args.target, hidden=args.hidden,
                       activation=args.activation, output_activation=args.output_activation, loss=args.loss,
                       optimizer=args.optimizer, learning_rate=args.lr, epochs=args.epochs,
                       batch_size=args.batch_size, l1=args.l1, l2=args.l2, dropout=args.dropout,
                       patience=args.patience, validation_split=args.validation_split, test_size=args.test_size,
                       seed=args.seed, verbose=0 if args.quiet else 1, noise=args.noise,
                       device=args.device)


def cmd_train(args):
    from . import distributed  # noqa: PLC0415
    from .workflow import train  # noqa: PLC0415

    if args.ranks > 1 and not distributed.launched_by_mpiexec():  # start the ranks, each running this command
        return distributed.launch(args.ranks, ["-m", "glassnet", *args.argv])
    out = args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    config = _config(args)
    config.distributed = distributed.launched_by_mpiexec()
    result = train(config, out=out)
    if result.rank != 0:
        return 0
    metric = "accuracy" if "accuracy" in result.test else "mae"
    ranks = f" on {result.ranks} ranks" if result.ranks > 1 else ""
    print(f"trained {result.model.count_params():,} parameters on {config.csv or config.dataset} for "
          f"{result.epochs_run} epochs in {result.seconds:.2f} s{ranks}")
    print(f"test {metric}: {result.test[metric]:.4f}   test loss: {result.test['loss']:.4f}")
    for kind, path in result.files.items():
        print(f"{kind:>9}: {path}")
    return 0


def cmd_tune(args):
    from .workflow import tune  # noqa: PLC0415

    config = _config(args)
    sizes = args.hidden
    print(f"trying hidden sizes {', '.join(map(str, sizes))} on {config.csv or config.dataset} "
          "(best chosen on the validation split)")
    rows = tune(config, sizes)
    key = "val_accuracy" if "val_accuracy" in rows[0] else "val_loss"
    test_key = "test_accuracy" if "test_accuracy" in rows[0] else "test_loss"
    print(f"{'hidden':>7} {'params':>8} {key:>13} {test_key:>14} {'epochs':>7} {'seconds':>8}")
    for r in rows:
        print(f"{r['hidden']:>7} {r['params']:>8,} {r[key]:>13.4f} {r[test_key]:>14.4f} {r['epochs']:>7} "
              f"{r['seconds']:>8.2f}{'  <- best' if r['best'] else ''}")
    return 0


def _load(path):
    from . import load_model  # noqa: PLC0415

    return load_model(path)


def cmd_summary(args):
    model = _load(args.model)
    model.summary()
    meta = model.metadata
    if meta.get("dataset"):
        print(f"trained on: {meta['dataset']} ({meta.get('task')}, classes: {', '.join(meta.get('target_names', []))})")
    if model.compiled:
        print(f"optimizer: {type(model.optimizer).__name__}, loss: {type(model.loss).__name__}, "
              f"updates so far: {model.optimizer.iterations}")
    return 0


def cmd_export(args):
    from .onnx import export  # noqa: PLC0415 - needs the optional onnx package

    model = _load(args.model)
    export(model, args.onnx, opset=args.opset, input_shape=args.input_shape)
    print(f"wrote {args.onnx} (ONNX opset {args.opset}, input 'input', output 'output', dynamic batch)")
    return 0


def cmd_evaluate(args):
    from .workflow import TrainConfig, encode_targets, load_split  # noqa: PLC0415

    model = _load(args.model)
    meta = model.metadata
    dataset = args.csv or args.dataset or meta.get("dataset")
    if not dataset:
        raise ValueError("the model file does not say which data it was trained on; pass --dataset or --csv")
    is_csv = bool(args.csv) or (not args.dataset and dataset not in DATASET_NAMES)
    config = TrainConfig(dataset=dataset if not is_csv else "digits", csv=dataset if is_csv else None,
                         target=args.target or meta.get("target"), test_size=meta.get("test_size", 0.2),
                         seed=meta.get("split_seed", 42))
    split = load_split(config)
    result = model.evaluate(split.x_test, encode_targets(split.y_test, split.info), batch_size=256, return_dict=True)
    print(f"test split of {dataset} ({len(split.x_test)} samples): "
          + "   ".join(f"{k}: {v:.4f}" for k, v in result.items()))
    return 0


def cmd_predict(args):
    from .saving import atomic_write  # noqa: PLC0415

    model = _load(args.model)
    meta = model.metadata
    x = _read_rows(args.csv, meta, _input_width(model))
    y = model.predict(x, batch_size=256)
    names = meta.get("target_names") or []
    buf = io.StringIO()
    writer = csv.writer(buf)
    if meta.get("task", "classification") == "classification":
        probs = y if y.shape[1] > 1 else np.concatenate([1 - y, y], axis=1)
        labels = names or [str(i) for i in range(probs.shape[1])]
        writer.writerow(["prediction", *[f"p_{n}" for n in labels]])
        for p in probs:
            writer.writerow([labels[int(p.argmax())], *(f"{v:.6f}" for v in p)])
    else:
        writer.writerow(["prediction"])
        writer.writerows([[f"{v:.6g}"] for v in y.reshape(len(y), -1)[:, 0]])
    out = args.out or os.path.splitext(args.csv)[0] + ".predictions.csv"
    atomic_write(out, buf.getvalue().encode())
    print(f"wrote {len(y)} predictions to {out}")
    return 0


def _input_width(model):
    """The number of features one sample of ``model`` has (None when it takes images)."""
    shape = tuple(getattr(model, "_input_shape", None) or ())  # one sample's shape
    return shape[0] if len(shape) == 1 else None


def _read_rows(path, meta, width):
    """The feature matrix of the CSV file at ``path``, with clear errors for the usual mistakes."""
    from .datasets import _is_number  # noqa: PLC0415

    with open(path, "rb") as f:
        raw = f.read()
    nul = raw.find(b"\0")
    if nul >= 0:
        raise ValueError(f"{path} holds a NUL byte at offset {nul}: it is not a text CSV file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    if not rows:
        raise ValueError(f"{path} is empty")
    header = rows[0]
    features = meta.get("feature_names") or []
    if features and all(name in header for name in features):
        columns, data = [header.index(name) for name in features], rows[1:]
    elif all(_is_number(v) for v in header):
        columns = list(range(len(header)))
        # NOTE: pandas writes 0,1,...,n-1 as the header of an unnamed frame: that row is a header.
        is_index_header = [v.strip() for v in header] == [str(i) for i in range(len(header))]
        data = rows[1:] if is_index_header and len(rows) > 1 else rows
    else:
        columns = [i for i, h in enumerate(header) if h != meta.get("target")]
        data = rows[1:]
    if not data:
        raise ValueError(f"{path} has a header row but no data rows")
    if width is not None and len(columns) != width:
        target = meta.get("target")
        hint = (f" (does it still hold the label column{f' {target!r}' if target else ''}?)"
                if len(columns) == width + 1 else "")
        raise ValueError(f"{path} has {len(columns)} feature columns; the model expects {width}{hint}")
    try:
        return np.array([[float(r[c]) for c in columns] for r in data], dtype=np.float32)
    except (ValueError, IndexError) as err:
        raise ValueError(f"{path}: every row needs {len(columns)} numeric values in the feature columns ({err})") \
            from None


def cmd_explain(args):
    from .explanation import example, explain  # noqa: PLC0415

    options = {}
    if args.neuron:
        options["neurons"] = _neurons(args.neuron)
    if args.position is not None:
        options["position"] = _ints(args.position, "--position")
    if args.step is not None:
        options["step"] = args.step
    if args.model:
        model = _load(args.model)
        if args.x is None or args.y is None:
            raise ValueError("--model needs --x (the sample's features, comma-separated) and --y (its label)")
        x, y = _floats(args.x, "--x"), _floats(args.y, "--y")
        width = _input_width(model)
        if width is not None and x.size != width:
            raise ValueError(f"--x must hold {width} comma-separated numbers (the model's input features); "
                             f"received {x.size}: {args.x!r}")
        result = explain(model, x, y, learning_rate=args.lr, **options)
    elif args.example == "seed" and (args.x or args.y or options):
        from .explanation import seed_example  # noqa: PLC0415

        model, x, y = seed_example()
        x = _floats(args.x, "--x") if args.x else x
        if x.size != 2:
            raise ValueError(f"--x must hold 2 comma-separated numbers for the seed network; received {args.x!r}")
        y = _floats(args.y, "--y") if args.y else y
        result = explain(model, x, y, learning_rate=args.lr, **options)
    else:
        result = example(args.example, learning_rate=args.lr)
    text = result.render(args.format, args.lang)
    if args.out:
        from .saving import atomic_write  # noqa: PLC0415

        atomic_write(args.out, text.encode())
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _neurons(items):
    chosen = {}
    for item in items:
        layer, _, index = item.partition(":")
        try:
            chosen.setdefault(int(layer), []).append(int(index))
        except ValueError:
            raise ValueError(f"--neuron expects LAYER:INDEX like 2:0; received {item!r}") from None
    return chosen


def _ints(text, flag):
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated integers; received {text!r}") from None


def _floats(text, flag):
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated numbers; received {text!r}") from None


def cmd_animate(args):
    from . import datasets, pictures  # noqa: PLC0415
    from .nn import Dense  # noqa: PLC0415
    from .optim import OPTIMIZERS  # noqa: PLC0415
    from .sequential import Sequential  # noqa: PLC0415

    data = datasets.load(args.dataset, n_samples=args.samples, noise=args.noise, seed=args.seed)
    layers = [Dense(n, activation=args.activation) for n in args.hidden] + [Dense(1, activation="sigmoid")]
    model = Sequential(layers, seed=args.seed)
    model.compile(optimizer=OPTIMIZERS.get(args.optimizer)(learning_rate=args.lr), loss="binary_crossentropy",
                  metrics=["accuracy"])
    out = args.out or f"{args.dataset}-{'-'.join(map(str, args.hidden))}.gif"
    losses = pictures.training_animation(model, data.x, data.y, out, epochs=args.epochs, frames=args.frames,
                                         seed=args.seed)
    accuracy = model.evaluate(data.x, data.y, return_dict=True)["accuracy"]
    print(f"wrote {out}: {args.frames} frames, loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
          f"training accuracy {accuracy:.3f}")
    if args.diagram:
        pictures.network_diagram(model, args.diagram)
        print(f"wrote {args.diagram}")
    return 0


def cmd_playground(args):
    from .playground.server import serve  # noqa: PLC0415

    serve(host=args.host, port=args.port, open_browser=args.open)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="glassnet", description="Train, inspect and use glassnet neural networks.")
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("train", help="train a network (default: seed 000's digits network)",
                       description="Train a network and write the model, curves and metrics to --out.")
    _add_training_options(p)
    p.add_argument("--out", help="output folder (default: runs/<timestamp>)")
    p.add_argument("--ranks", type=POSITIVE_INT, default=1,
                   help="train data-parallel on this many processes under mpiexec (needs glassnet[mpi]; default: 1)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="try several hidden sizes on the same split (seed 004)",
                       description="Train one hidden layer of each --hidden size and print a table; "
                                   "the best on the validation split is marked.")
    _add_training_options(p)
    for action in p._actions:
        if action.dest == "hidden":  # tune reads --hidden as the sizes to try, one hidden layer each
            action.help = "the sizes to try, one hidden layer of each, e.g. 16,32,64 (default: 16,32,64,128)"
    p.set_defaults(func=cmd_tune, hidden=(16, 32, 64, 128))

    p = sub.add_parser("evaluate", help="evaluate a saved model on its test split",
                       description="Evaluate a saved model on the test split of the data it was trained on "
                                   "(the same seed and test size), or of --dataset / --csv.")
    p.add_argument("model", help="a model file written by glassnet train")
    p.add_argument("--dataset", choices=DATASET_NAMES, help="data set (default: the one it was trained on)")
    p.add_argument("--csv", help="a CSV file instead")
    p.add_argument("--target", help="the label column of --csv")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict for the rows of a CSV file",
                       description="Predict for every row of a CSV file of features and write a CSV with the "
                                   "predicted label and each class's probability (or the predicted value).")
    p.add_argument("model", help="a model file written by glassnet train")
    p.add_argument("--csv", required=True, help="rows to predict (feature columns; a header row is optional)")
    p.add_argument("--out", help="where to write the predictions (default: the CSV's name without .csv plus "
                        ".predictions.csv, e.g. rows.csv -> rows.predictions.csv)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("explain", help="print one training step or one computation graph with every number",
                       description="Forward pass, loss, backward pass and one gradient-descent step with every "
                                   "number. Without --model: a built-in example (--example).")
    p.add_argument("--example", choices=("seed", "graph", "logistic"), default="seed",
                   help="seed: seed 000 section 3.4's 2-2-1 network (default); graph: seed 003's computation "
                        "graph J = 3*(a + b*c); logistic: seed 003's logistic regression neuron")
    p.add_argument("--model", help="explain a saved model instead (any of glassnet's layers)")
    p.add_argument("--x", help="the sample's features, comma-separated")
    p.add_argument("--y", help="the sample's target (a class label or comma-separated values)")
    p.add_argument("--lr", type=POSITIVE, default=0.1, help="eta of the update shown (default: 0.1)")
    p.add_argument("--neuron", action="append", metavar="LAYER:INDEX",
                   help="show this neuron of a Dense layer (layers from 1, neurons from 0); repeatable")
    p.add_argument("--position", metavar="I,J,...",
                   help="the output position shown in convolution, pooling, normalization and embedding layers "
                        "(without the batch axis; default: the middle)")
    p.add_argument("--step", type=COUNT, help="the time step shown in recurrent layers (default: the last)")
    p.add_argument("--format", choices=("text", "markdown", "html"), default="text",
                   help="text, Markdown, or a standalone HTML page with MathML (default: text)")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="labels in English or Chinese (default: en)")
    p.add_argument("--out", help="write to this file instead of printing")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("animate", help="a GIF of a small network learning a 2-D data set (seed 004)",
                       description="Train on a 2-D toy set and write an animated GIF of the decision boundary, "
                                   "each hidden unit's output and the loss curve.")
    p.add_argument("--dataset", choices=("xor", "moons", "circles", "spirals", "gaussian"), default="circles",
                   help="the 2-D data set to learn (default: circles)")
    p.add_argument("--hidden", type=_sizes, default=(3,),
                   help="hidden layer sizes, e.g. 8,8; every hidden unit gets its own map (default: 3)")
    p.add_argument("--activation", default="tanh", help="hidden activation (default: tanh)")
    p.add_argument("--optimizer", default="adam", help="optimizer name (default: adam)")
    p.add_argument("--lr", type=POSITIVE, default=0.05, help="learning rate (default: 0.05)")
    p.add_argument("--epochs", type=POSITIVE_INT, default=200, help="full-batch epochs of training (default: 200)")
    p.add_argument("--frames", type=_bounded(int, 2), default=30,
                   help="frames in the GIF; the first shows the untrained network, epoch 0 (default: 30)")
    p.add_argument("--samples", type=_bounded(int, 4), default=200, help="points in the data set (default: 200)")
    p.add_argument("--noise", type=_bounded(float, 0), default=0.1, help="noise of the data set (default: 0.1)")
    p.add_argument("--seed", type=COUNT, default=0, help="seed of the data, weights and shuffling (default: 0)")
    p.add_argument("--out", help="the GIF (default: <dataset>-<hidden>.gif)")
    p.add_argument("--diagram", help="also write the network diagram (PNG or SVG)")
    p.set_defaults(func=cmd_animate)

    p = sub.add_parser("playground", help="a local web page to train small networks live (like TensorFlow Playground)",
                       description="Serve the playground page on this machine: pick a data set and a network, "
                                   "watch it train, explain any point, export the model.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=_bounded(int, 0, 65535), default=8765, help="port (default: 8765; 0 picks a free one)")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    p.set_defaults(func=cmd_playground)

    p = sub.add_parser("summary", help="print a saved model's layers and parameters",
                       description="Print a saved model's layers, output shapes and parameter counts, the data it "
                                   "was trained on and its optimizer.")
    p.add_argument("model", help="a model file written by glassnet train (or Model.save)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("export", help="write a saved model as an ONNX file (needs glassnet[onnx])",
                       description="Write a saved model as an ONNX file that onnxruntime runs with the same "
                                   "numbers (needs glassnet[onnx]).")
    p.add_argument("model", help="a model file written by glassnet train (or Model.save)")
    p.add_argument("--onnx", required=True, metavar="OUT", help="the ONNX file to write")
    p.add_argument("--opset", type=POSITIVE_INT, default=17, help="ONNX opset version (default: 17)")
    p.add_argument("--input-shape", type=_sizes, default=None, metavar="N,N",
                   help="one sample's shape, e.g. 8,8 (default: the shape the model was built with)")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for --ranks, which starts the same command again
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError, RuntimeError, ArithmeticError, MemoryError, LookupError) \
            as err:
        print(f"glassnet {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
