"""The glassnet command under bad command lines: one clear line, a non-zero exit, no traceback.

Each case is run in-process through ``main``; its outcome is tallied (the tallies fixture, tests/edge_tally.py) and the
last test prints ``command line: tried N / clear error N / ...``.
"""
import threading

import numpy as np
import pytest
from glassnet import Sequential, __version__
from glassnet.cli import build_parser, main
from glassnet.nn import Dense

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_edges")
    digits = Sequential([Dense(10, activation="softmax")], seed=0)
    digits.build((None, 64))
    digits.compile(optimizer="adam", loss="categorical_crossentropy")
    digits.save(str(d / "digits.gnet"))
    two = Sequential([Dense(2, activation="tanh"), Dense(1, activation="sigmoid")], seed=0)
    two.build((None, 2))
    two.compile(optimizer="sgd", loss="binary_crossentropy")
    two.save(str(d / "two.gnet"))
    good = (d / "digits.gnet").read_bytes()
    (d / "garbage.gnet").write_bytes(b"\x00not a model file at all" * 10)
    (d / "truncated.gnet").write_bytes(good[: len(good) // 2])
    (d / "flipped.gnet").write_bytes(good[:-5] + bytes([good[-5] ^ 0xFF]) + good[-4:])
    rows = np.random.default_rng(0).integers(0, 16, size=(5, 64))
    (d / "nul.csv").write_bytes(b"1,2,3\n4,\x005,6\n")
    (d / "labelled.csv").write_text("\n".join(",".join(map(str, [*r, 3])) for r in rows) + "\n")
    (d / "empty.csv").write_text("")
    (d / "words.csv").write_text("\n".join(",".join(["a"] * 64) for _ in range(3)) + "\n")
    (d / "short.csv").write_text("\n".join(",".join(map(str, r[:10])) for r in rows) + "\n")
    (d / "header_only.csv").write_text(",".join(f"f{i}" for i in range(64)) + "\n")
    header = ",".join(str(i) for i in range(64))
    (d / "pandas.csv").write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return d


def run_main(argv, capsys, seconds=60):
    """(exit code, stderr, traceback or None, timed out) of ``glassnet ARGV`` run in a thread."""
    result = {}

    def target():
        try:
            result["code"] = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            result["code"] = exit_.code
        except BaseException as err:  # noqa: BLE001 - a traceback is what the test looks for
            result["crash"] = f"{type(err).__name__}: {err}"

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    err = capsys.readouterr().err
    return result.get("code"), err, result.get("crash"), thread.is_alive()


def classify(case, argv, fragment, capsys, tally):
    code, err, crash, hung = run_main(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    if hung:
        return tally.record(case, "hang")
    if crash:
        return tally.record(case, "crash", crash)
    if code in (0, None):
        return tally.record(case, "silent", f"exit {code}")
    message = lines[-1] if lines else ""
    # argparse prints its usage line first; the error itself is one line
    if "Traceback" in err or "error:" not in message or fragment not in message:
        return tally.record(case, "obscure error", err)
    return tally.record(case, "clear error")


CASES = {  # name: (argv with {d} for the files folder, a fragment the message must hold)
    "animate --frames 0": (["animate", "--frames", "0"], "--frames"),
    "animate --frames -3": (["animate", "--frames", "-3"], "--frames"),
    "animate --epochs -1": (["animate", "--epochs", "-1"], "--epochs"),
    "animate --lr 0": (["animate", "--lr", "0"], "--lr"),
    "animate --samples 0": (["animate", "--samples", "0"], "--samples"),
    "animate --noise -1": (["animate", "--noise", "-1"], "--noise"),
    "playground --port 70000": (["playground", "--port", "70000"], "--port"),
    "playground --port -1": (["playground", "--port", "-1"], "--port"),
    "playground --port http": (["playground", "--port", "http"], "--port"),
    "train --lr 0": (["train", "--lr", "0"], "--lr"),
    "train --lr -0.1": (["train", "--lr", "-0.1"], "--lr"),
    "train --lr nan": (["train", "--lr", "nan"], "--lr"),
    "train --epochs 0": (["train", "--epochs", "0", "--out", "{d}/never"], "--epochs"),
    "train --patience -1": (["train", "--patience", "-1"], "--patience"),
    "train --batch-size 0": (["train", "--batch-size", "0"], "--batch-size"),
    "train --test-size 1.5": (["train", "--test-size", "1.5"], "--test-size"),
    "train --validation-split -0.1": (["train", "--validation-split", "-0.1"], "--validation-split"),
    "train --dropout 1": (["train", "--dropout", "1"], "--dropout"),
    "train --l2 -1": (["train", "--l2", "-1"], "--l2"),
    "train --seed -1": (["train", "--seed", "-1"], "--seed"),
    "train --hidden 0": (["train", "--hidden", "0"], "--hidden"),
    "train --dataset mnist": (["train", "--dataset", "mnist"], "--dataset"),
    "train --csv missing": (["train", "--csv", "{d}/missing.csv", "--target", "y"], "missing.csv"),
    "tune --epochs -5": (["tune", "--epochs", "-5"], "--epochs"),
    "explain --lr -1": (["explain", "--lr", "-1"], "--lr"),
    "explain --lr 0": (["explain", "--lr", "0"], "--lr"),
    "explain --step -1": (["explain", "--step", "-1"], "--step"),
    "explain --x 0.5 (seed network)": (["explain", "--x", "0.5"], "--x"),
    "explain --x a,b": (["explain", "--x", "a,b"], "--x"),
    "explain --neuron x:y": (["explain", "--neuron", "x:y"], "--neuron"),
    "explain --model (no --x)": (["explain", "--model", "{d}/two.gnet"], "--x"),
    "explain --x 0.5 on a 2-input model": (["explain", "--model", "{d}/two.gnet", "--x", "0.5", "--y", "1"],
                                           "--x must hold 2"),
    "explain --x 1,2 on the digits model": (["explain", "--model", "{d}/digits.gnet", "--x", "1,2", "--y", "3"],
                                            "--x must hold 64"),
    "summary garbage file": (["summary", "{d}/garbage.gnet"], "garbage.gnet"),
    "summary truncated file": (["summary", "{d}/truncated.gnet"], "truncated.gnet"),
    "summary missing file": (["summary", "{d}/missing.gnet"], "missing.gnet"),
    "evaluate garbage file": (["evaluate", "{d}/garbage.gnet"], "garbage.gnet"),
    "predict garbage file": (["predict", "{d}/garbage.gnet", "--csv", "{d}/pandas.csv"], "garbage.gnet"),
    "predict truncated file": (["predict", "{d}/truncated.gnet", "--csv", "{d}/pandas.csv"], "truncated.gnet"),
    "predict --csv with a NUL byte": (["predict", "{d}/digits.gnet", "--csv", "{d}/nul.csv"], "NUL byte"),
    "predict --csv with the label column": (["predict", "{d}/digits.gnet", "--csv", "{d}/labelled.csv"],
                                            "label column"),
    "predict --csv empty": (["predict", "{d}/digits.gnet", "--csv", "{d}/empty.csv"], "empty"),
    "predict --csv of words": (["predict", "{d}/digits.gnet", "--csv", "{d}/words.csv"], "numeric"),
    "predict --csv too few columns": (["predict", "{d}/digits.gnet", "--csv", "{d}/short.csv"], "expects 64"),
    "predict --csv header only": (["predict", "{d}/digits.gnet", "--csv", "{d}/header_only.csv"], "no data rows"),
    "predict --csv missing": (["predict", "{d}/digits.gnet", "--csv", "{d}/missing.csv"], "missing.csv"),
    "predict without --csv": (["predict", "{d}/digits.gnet"], "--csv"),
    "export --opset 0": (["export", "{d}/digits.gnet", "--onnx", "{d}/x.onnx", "--opset", "0"], "--opset"),
    "unknown command": (["trian"], "invalid choice"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_command_line_gets_one_clear_line(case, files, capsys, tallies):
    argv, fragment = CASES[case]
    tally = tallies["command line"]
    outcome = classify(case, [a.replace("{d}", str(files)) for a in argv], fragment, capsys, tally)
    assert outcome == "clear error", tally.cases[case]


def test_train_epochs_0_writes_nothing(files, capsys):
    run_main(["train", "--epochs", "0", "--out", str(files / "never")], capsys)
    assert not (files / "never").exists()


def test_predict_skips_a_numeric_header_and_names_the_output_as_help_says(files, capsys):
    assert main(["predict", str(files / "digits.gnet"), "--csv", str(files / "pandas.csv")]) == 0
    out = files / "pandas.predictions.csv"
    assert f"wrote 5 predictions to {out}" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 1 + 5  # the header row 0,...,63 is no sample
    help_text = build_parser()._subparsers._group_actions[0].choices["predict"].format_help()
    assert "rows.csv -> rows.predictions.csv" in " ".join(help_text.split())


def test_every_subcommand_and_option_has_help():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) >= {"train", "tune", "evaluate", "predict", "explain", "animate", "playground", "summary"}
    for name, sub in commands.items():
        assert sub.description, f"glassnet {name} has no description"
        for action in sub._actions:
            assert action.help, f"glassnet {name} {action.option_strings or action.dest} has no help"
    tune_hidden = next(a for a in commands["tune"]._actions if a.dest == "hidden")
    assert "sizes to try" in tune_hidden.help
    assert __version__


def test_tally(capsys, tallies):
    """Last in the module: print the tally; every bad command line got a clear error."""
    tally = tallies["command line"]
    with capsys.disabled():
        print("\n" + tally.line())
    assert len(tally.cases) == len(CASES)
    assert not tally.failures()
