"""The README's Python examples run as written (with fewer epochs)."""
import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example saves digits.gnet
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    namespace = {}
    exec(compile("\n".join(blocks).replace("epochs=50", "epochs=5"), "README.md", "exec"), namespace)
    assert np.array_equal(namespace["model"].predict(namespace["x_test"]), namespace["same"].predict(namespace["x_test"]))
    assert namespace["J"].item() == 33.0
    assert (tmp_path / "digits.gnet").exists()
