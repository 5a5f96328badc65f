"""The commands that show a network at work: explain, animate and playground."""
import sys

import numpy as np

from .model_files import _input_width, _load


def cmd_explain(args):
    from ..explanation import example, explain  # noqa: PLC0415

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
        from ..explanation import seed_example  # noqa: PLC0415

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
        from ..saving import atomic_write  # noqa: PLC0415

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
    from .. import datasets, pictures  # noqa: PLC0415
    from ..nn import Dense  # noqa: PLC0415
    from ..optim import OPTIMIZERS  # noqa: PLC0415
    from ..sequential import Sequential  # noqa: PLC0415

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
    from ..playground.server import serve  # noqa: PLC0415

    serve(host=args.host, port=args.port, open_browser=args.open)
    return 0
