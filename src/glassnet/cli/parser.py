"""The `glassnet` command's parser and entry point: each subcommand's options and the function it runs;
an error is one line naming the command, never a traceback."""
import argparse
import gc
import sys

from .. import __version__
from .explaining import cmd_animate, cmd_explain, cmd_playground
from .model_files import cmd_evaluate, cmd_export, cmd_predict, cmd_summary
from .options import COUNT, DATASET_NAMES, POSITIVE, POSITIVE_INT, _add_training_options, _bounded, _sizes
from .training import cmd_train, cmd_tune


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
    p.add_argument("--port", type=_bounded(int, 0, 65535), default=8765,
                   help="port (default: 8765; 0 picks a free one)")
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


def run():
    """The ``glassnet`` program (its console script, and ``python -m glassnet``): ``main()`` in a
    process that ends with it; returns the exit status.

    NOTE: two settings of Python's garbage collector, for this process only (``main`` itself, which
    programs and tests call in their own processes, leaves the collector alone):

    - full collections (the third generation) run a tenth as often (its threshold 100, Python's 10):
      each walks every object alive, and ``glassnet train``'s imports (scikit-learn, SciPy, Numba,
      matplotlib: ~250,000 objects) set off four, 0.19 s in all, while training makes almost no
      cyclic garbage (7 objects in three epochs of the digits network);
    - before the process ends, the objects still alive are frozen (``gc.freeze``), so the last full
      collection, at exit, does not walk them: the memory goes back to the system whole anyway.

    ``glassnet train`` (defaults, warm Numba cache, five alternating runs): 2.62 s median with both,
    2.75 s with the freeze alone; 2.81 s with the freeze against 3.28 s with neither.
    """
    first, second, third = gc.get_threshold()
    gc.set_threshold(first, second, max(third, 100))
    code = main()
    gc.freeze()
    return code
