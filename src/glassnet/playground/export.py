"""The playground's network as a short, standalone Python script that rebuilds and trains it.

The script states in plain glassnet what the session does: the same data set, features,
split, layers, seed, optimizer and number of epochs, so running it prints the losses the
page showed when it was exported (``fit`` with a seed resumes epoch by epoch exactly).
"""
from .session import CLASSIFICATION, output_head

# NOTE: the twin of session.FEATURES as source text; a test holds the two equal.
FEATURE_CODE = {
    "x1": "x[:, 0]", "x2": "x[:, 1]", "x1^2": "x[:, 0] ** 2", "x2^2": "x[:, 1] ** 2",
    "x1*x2": "x[:, 0] * x[:, 1]", "sin(x1)": "np.sin(x[:, 0])", "sin(x2)": "np.sin(x[:, 1])",
}
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def _data_lines(config):
    if config.problem == "digits":
        return ["x, y = gn.datasets.load_digits()",
                "inputs = (x / 16).astype(np.float32)  # pixel counts 0-16 -> [0, 1]"]
    lines = [f"data = gn.datasets.load({config.dataset!r}, n_samples={config.points}, "
             f"noise={config.noise!r}, seed=SEED)"]
    if config.dataset in CLASSIFICATION:
        lines.append("x = (data.x / max(float(np.abs(data.x).max()), 1e-6)).astype(np.float32)  # into [-1, 1]^2")
        lines.append("y = data.y.astype(np.float32).reshape(-1, 1)")
    else:
        lines.append("x, y = data.x, data.y.astype(np.float32).reshape(-1, 1)")
    columns = ", ".join(FEATURE_CODE[f] for f in config.features)
    lines.append(f"inputs = np.stack([{columns}], axis=1).astype(np.float32)  # {', '.join(config.features)}")
    return lines


def script(config, epochs):
    """Python source that rebuilds ``config``'s network and trains it for ``epochs`` epochs."""
    units, activation, loss = output_head(config.problem)
    regularizer = ""
    if config.regularization != "none" and config.regularization_rate:
        regularizer = f", kernel_regularizer=gn.nn.{config.regularization.upper()}({config.regularization_rate!r})"
    layers = [f"    gn.nn.Dense({n}, activation={config.activation!r}{regularizer})," for n in config.hidden]
    layers.append(f"    gn.nn.Dense({units}, activation={activation!r}),")
    input_dim = 64 if config.problem == "digits" else len(config.features)
    lines = [
        f'"""The glassnet playground\'s network ({config.problem}, {config.dataset}), rebuilt and trained '
        f'for {epochs} epochs."""',
        "import numpy as np",
        "",
        "import glassnet as gn",
        "",
        f"SEED = {config.seed}",
        f"EPOCHS = {epochs}",
        *_data_lines(config),
        "order = np.random.default_rng(SEED).permutation(len(inputs))",
        f"train, test = order[:{_cut(config)}], order[{_cut(config)}:]",
        "",
        "model = gn.Sequential([",
        *layers,
        "], seed=SEED)",
        f"model.build((None, {input_dim}))",
        f"model.compile(optimizer=gn.optim.{OPTIMIZER_CLASSES[config.optimizer]}"
        f"(learning_rate={config.learning_rate!r}), loss={loss!r})",
        f"model.fit(inputs[train], y[train], epochs=EPOCHS, batch_size={config.batch_size}, verbose=0, seed=SEED)",
        "train_loss = model.evaluate(inputs[train], y[train], batch_size=1024)",
        "test_loss = model.evaluate(inputs[test], y[test], batch_size=1024) if len(test) else float('nan')",
        'print(f"epochs {EPOCHS}  train loss {train_loss:.6f}  test loss {test_loss:.6f}")',
        "",
    ]
    return "\n".join(lines)


def _cut(config):
    return f"int(round(len(inputs) * {config.train_ratio!r}))"
