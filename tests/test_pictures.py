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
