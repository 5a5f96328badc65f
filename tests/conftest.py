import importlib.util
import os
import pathlib
import sys

# NOTE: pytest-xdist's workers (pyproject's addopts) share the cores: one OpenBLAS thread each (read
# when NumPy loads it, so before the import below), so that a product's second thread does not wait
# for a core the other worker holds.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest

# NOTE: the suite imports test modules in importlib mode; helper modules beside them
# (strict_array, test_ops' tables) are imported by name from this folder.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def to_torch(arrays):
    import torch

    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


@pytest.fixture
def example():
    """Load a script from examples/ as a module: ``example("cnn_digits").main(...)``."""

    def load(name):
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


# -- edge-case tallies (issue 13): every hostile input is classified, and the counts are printed
OUTCOMES = ("ok", "clear error", "obscure error", "silent", "crash", "hang")
BAD_OUTCOMES = ("obscure error", "silent", "crash", "hang")
_TALLIES = {}  # area -> {outcome: count}


class EdgeCases:
    """Run bad inputs of one area and classify what each did.

    ``check(label, call, errors, words, accept)``: a clear error raises one of ``errors`` with
    every string of ``words`` in its message; another exception is obscure; ``MemoryError``,
    ``RecursionError`` and exits are crashes; a call still running after ``timeout`` seconds
    hangs; a call that returns is "ok" when ``accept(its result)`` holds, else silent.
    ``record(label, outcome)`` records a case classified by the test itself.
    """

    def __init__(self, area):
        self.area, self.cases, self.details = area, [], []

    def record(self, label, outcome):
        assert outcome in OUTCOMES, outcome
        self.cases.append((label, outcome))
        counts = _TALLIES.setdefault(self.area, dict.fromkeys(OUTCOMES, 0))
        counts[outcome] += 1
        return outcome

    def check(self, label, call, errors=ValueError, words=(), accept=None, timeout=20.0):
        import threading

        result = {}

        def run():
            try:
                result["value"] = call()
            except BaseException as err:  # noqa: BLE001 - classifying every outcome is the point
                result["error"] = err
            result["done"] = True

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout)
        if "done" not in result:
            return self.record(label, "hang")
        err = result.get("error")
        if err is None:
            return self.record(label, "ok" if accept is not None and accept(result["value"]) else "silent")
        if isinstance(err, (MemoryError, RecursionError, SystemExit, KeyboardInterrupt)):
            return self.record(label, "crash")
        message = str(err)
        if isinstance(err, errors) and all(w.lower() in message.lower() for w in words):
            return self.record(label, "clear error")
        self.details.append(f"{label}: {type(err).__name__}: {message}")
        return self.record(label, "obscure error")

    def assert_clean(self):
        bad = [f"{label} -> {outcome}" for label, outcome in self.cases if outcome in BAD_OUTCOMES]
        assert not bad, f"{len(bad)} of {len(self.cases)} {self.area} cases failed:\n" + "\n".join(
            bad + self.details)


@pytest.fixture
def edge_cases():
    """``edge_cases("model files")``: an :class:`EdgeCases` for that area."""
    return EdgeCases


def pytest_terminal_summary(terminalreporter):
    if not _TALLIES:
        return
    terminalreporter.section("edge cases (issue 13): tried / clear error / obscure error / silent / crash / hang")
    for area, counts in sorted(_TALLIES.items()):
        tried = sum(counts.values())
        terminalreporter.write_line(
            f"{area}: tried {tried}, ok {counts['ok']}, "
            + ", ".join(f"{outcome} {counts[outcome]}" for outcome in OUTCOMES[1:]))


@pytest.fixture(scope="module")
def playground_base():
    """A playground server on a free port for one test module; yields its base URL."""
    import threading  # noqa: PLC0415

    from glassnet.playground.server import make_server  # noqa: PLC0415

    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.playground.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def run_script():
    """Run a Python file in this process and return what it printed (no interpreter start-up)."""
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415
    import runpy  # noqa: PLC0415

    def run(path):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
        return out.getvalue()

    return run


@pytest.fixture(scope="session")
def tallies():
    """The edge tests' outcome tallies by area: ``tallies["command line"].record(case, outcome)``."""
    spec = importlib.util.spec_from_file_location("edge_tally", pathlib.Path(__file__).with_name("edge_tally.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {area: module.Tally(area) for area in ("command line", "playground server")}
