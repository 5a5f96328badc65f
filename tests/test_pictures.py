"""Decision boundary, network diagram and training animation files."""
import numpy as np
from PIL import Image

import glassnet as gn
from glassnet import datasets, nn, pictures
from glassnet.cli import main as cli


def small_model():
    model = gn.Sequential([nn.Dense(3, activation="tanh"), nn.Dense(1, activation="sigmoid")], seed=0)
    model.compile(optimizer=gn.optim.Adam(learning_rate=0.05), loss="binary_crossentropy")
    return model


def test_decision_boundary_and_diagram(tmp_path):
    data = datasets.moons(n_samples=120, noise=0.1, seed=0)
    model = small_model()
    model.fit(data.x, data.y, epochs=20, verbose=0)
    png = pictures.decision_boundary(model, data.x[:80], data.y[:80], tmp_path / "b.png", data.x[80:], data.y[80:])
    assert Image.open(png).size[0] > 300
    assert Image.open(pictures.network_diagram(model, tmp_path / "n.png")).format == "PNG"
    svg = (tmp_path / "n.svg")
    pictures.network_diagram(model, svg)
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()


def test_training_animation_frames_and_loss(tmp_path):
    data = datasets.circles(n_samples=150, noise=0.05, seed=0)
    model = small_model()
    losses = pictures.training_animation(model, data.x, data.y, tmp_path / "a.gif", epochs=60, frames=6)
    gif = Image.open(tmp_path / "a.gif")
    assert gif.format == "GIF" and gif.n_frames == 6
    assert len(losses) == 60 and losses[-1] < losses[0]
    frames = []
    for k in (0, 5):
        gif.seek(k)
        frames.append(np.asarray(gif.convert("RGB")))
    assert not np.array_equal(*frames)  # the picture moves


def test_cli_animate(tmp_path, capsys):
    out, diagram = tmp_path / "c.gif", tmp_path / "net.svg"
    assert cli(["animate", "--dataset", "circles", "--hidden", "3", "--frames", "4", "--epochs", "40",
                "--out", str(out), "--diagram", str(diagram)]) == 0
    assert Image.open(out).n_frames == 4 and diagram.exists()
    assert "training accuracy" in capsys.readouterr().out


def test_animation_starts_untrained_and_shows_every_hidden_unit(tmp_path, monkeypatch):
    """Frame 1 is epoch 0 with the initial weights; with hidden 8,8 all 16 units appear, named by layer."""
    import matplotlib.axes

    titles, first_weights = [], []
    set_title = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", lambda ax, text, *a, **k: (titles.append(text),
                                                                                       set_title(ax, text, *a, **k))[1])
    frame = pictures._frame

    def spy(model, *args):
        if not first_weights:
            first_weights.append(model.layers[0].kernel.data.copy())
        return frame(model, *args)

    monkeypatch.setattr(pictures, "_frame", spy)
    data = datasets.xor(n_samples=60, noise=0.1, seed=0)
    model = gn.Sequential([nn.Dense(8, activation="tanh"), nn.Dense(8, activation="tanh"),
                           nn.Dense(1, activation="sigmoid")], seed=4)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    losses = pictures.training_animation(model, data.x, data.y, tmp_path / "x.gif", epochs=6, frames=3)
    assert len(losses) == 6 and Image.open(tmp_path / "x.gif").n_frames == 3
    fresh = gn.Sequential([nn.Dense(8, activation="tanh"), nn.Dense(8, activation="tanh"),
                           nn.Dense(1, activation="sigmoid")], seed=4)
    fresh.build((None, 2))
    np.testing.assert_array_equal(first_weights[0], fresh.layers[0].kernel.data)  # untrained
    epochs = [t for t in titles if t.startswith("epoch")]
    assert epochs == ["epoch 0", "epoch 3", "epoch 6"]
    for layer in (1, 2):
        for unit in range(1, 9):
            assert titles.count(f"layer {layer} unit {unit}") == 3


def test_every_animate_option_has_help():
    from glassnet.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for command in ("animate", "explain"):
        for action in sub.choices[command]._actions:
            assert action.help, f"glassnet {command} {action.option_strings} has no help text"
