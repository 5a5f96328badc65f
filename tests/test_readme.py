"""The README's Python examples run as written (with fewer epochs)."""
import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save digits.gnet and checkpoints
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    namespace = {}
    checked = []
    # One namespace, block after block, as a reader pasting them in order; the ten-line example's
    # saved and reloaded model is checked right after its block (later examples reuse the names).
    for number, block in enumerate(blocks):
        exec(compile(block.replace("epochs=50", "epochs=5"), f"README.md block {number}", "exec"), namespace)
        if "same" in namespace and not checked:
            x_test = namespace["x_test"]
            assert np.array_equal(namespace["model"].predict(x_test), namespace["same"].predict(x_test))
            assert (tmp_path / "digits.gnet").exists()
            checked.append(number)
    assert checked, "no README block saved and reloaded the model as `same`"
    assert namespace["J"].item() == 33.0
