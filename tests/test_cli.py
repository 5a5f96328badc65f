"""The glassnet command: train, tune, evaluate, predict, summary, errors without tracebacks."""
import json
import subprocess
import sys

import numpy as np
import pytest

from glassnet import __version__
from glassnet.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "glassnet", *args], capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run("train", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_default_train_reaches_97_percent_on_digits(trained):
    out, stdout = trained
    report = json.loads((out / "metrics.json").read_text())
    assert report["test"]["accuracy"] >= 0.97
    assert report["dataset"] == "digits" and report["samples"] == {"train": 1437, "test": 360}
    assert "test accuracy: " in stdout
    assert sorted(p.name for p in out.iterdir()) == ["confusion.png", "curves.png", "metrics.json", "model.gnet"]


def test_evaluate_summary_and_predict(trained, tmp_path, capsys):
    out, _ = trained
    report = json.loads((out / "metrics.json").read_text())
    assert main(["evaluate", str(out / "model.gnet")]) == 0
    text = capsys.readouterr().out
    assert f"accuracy: {report['test']['accuracy']:.4f}" in text
    assert main(["summary", str(out / "model.gnet")]) == 0
    assert "Total params: 4,810" in capsys.readouterr().out
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, digits.data[:5], delimiter=",", fmt="%d")
    assert main(["predict", str(out / "model.gnet"), "--csv", str(rows), "--out", str(tmp_path / "p.csv")]) == 0
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0].startswith("prediction,p_0,p_1") and len(lines) == 6
    assert [int(line.split(",")[0]) for line in lines[1:]] == digits.target[:5].tolist()


def test_train_options_and_csv(tmp_path, capsys):
    from sklearn.datasets import load_iris

    iris = load_iris()
    path = tmp_path / "iris.csv"
    names = ["sl", "sw", "pl", "pw"]
    labels = np.array(iris.target_names)[iris.target]
    path.write_text("sl,sw,pl,pw,species\n" + "\n".join(
        ",".join([*map(str, row), label]) for row, label in zip(iris.data, labels)))
    code = main(["train", "--csv", str(path), "--target", "species", "--hidden", "16,8", "--activation", "tanh",
                 "--optimizer", "rmsprop", "--lr", "0.01", "--epochs", "60", "--batch-size", "16", "--l2", "0.001",
                 "--dropout", "0.1", "--patience", "20", "--seed", "1", "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 0
    report = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert report["test"]["accuracy"] > 0.8
    assert main(["summary", str(tmp_path / "o" / "model.gnet")]) == 0
    assert "setosa" in capsys.readouterr().out
    assert names  # the header names were read as features


def test_tune_marks_the_best(capsys):
    assert main(["tune", "--dataset", "iris", "--hidden", "4,16", "--epochs", "30", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "val_accuracy" in text and text.count("<- best") == 1


@pytest.mark.parametrize("args,message", [
    (["evaluate", "missing.gnet"], "no model file at 'missing.gnet'"),
    (["train", "--csv", "nope.csv", "--target", "y"], "No such file"),
    (["train", "--optimizer", "adamx", "--epochs", "1"], "unknown optimizer 'adamx'"),
    (["train", "--csv", "nope.csv", "--target", "y", "--epochs", "1"], "nope.csv"),
])
def test_errors_are_one_line_without_traceback(args, message, tmp_path):
    result = run(*args, "--out", str(tmp_path)) if args[0] == "train" else run(*args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_version_and_help():
    assert run("--version").stdout.strip() == f"glassnet {__version__}"
    for sub in ("train", "tune", "evaluate", "predict", "summary"):
        result = run(sub, "--help")
        assert result.returncode == 0 and "usage: glassnet " + sub in result.stdout


def test_the_program_tunes_the_collector_of_its_own_process_only():
    """``glassnet`` / ``python -m glassnet`` (cli.run): full collections a tenth as often, and the
    objects left frozen before exit; ``main``, called in a program's own process, changes neither."""
    probe = ("import gc, sys; from glassnet.cli import main, run; before = gc.get_threshold(); "
             "sys.argv = ['glassnet']; main([]); "
             "untouched = gc.get_threshold() == before and gc.get_freeze_count() == 0; "
             "code = run(); print(untouched, code, gc.get_threshold()[2], gc.get_freeze_count() > 0)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True 0 100 True"
