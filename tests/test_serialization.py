"""gn.save / gn.load: state dicts and nested checkpoints in checksummed safetensors, never pickle."""
import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import glassnet as gn
from glassnet import nn, optim


def test_a_checkpoint_round_trips_with_its_structure_and_types(tmp_path):
    net = gn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), seed=0)
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad()
    (net(np.ones((2, 3))) ** 2).mean().backward()
    opt.step()
    checkpoint = {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "loss": 0.25,
                  "note": "digits", "best": None, "sizes": (3, [4, 2]), "flag": True, 7: np.float32(1.5),
                  "w": gn.Tensor(np.arange(3.0), requires_grad=True)}
    gn.save(checkpoint, tmp_path / "ckpt.safetensors")
    back = gn.load(tmp_path / "ckpt.safetensors", weights_only=True)
    assert list(back) == list(checkpoint) and back["sizes"] == (3, [4, 2]) and back[7] == np.float32(1.5)
    assert type(back[7]) is np.float32 and back["epoch"] == 3 and back["best"] is None and back["flag"] is True
    for key, value in checkpoint["model"].items():
        assert back["model"][key].dtype == value.dtype and np.array_equal(back["model"][key], value)
    for key, value in checkpoint["optimizer"].items():
        np.testing.assert_array_equal(back["optimizer"][key], value)
    assert isinstance(back["w"], gn.Tensor) and back["w"].requires_grad and back["w"].dtype == np.float64
    back["model"]["layers.0.bias"][...] = 1  # writable arrays
    fresh = gn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict(gn.load(tmp_path / "ckpt.safetensors")["model"])
    np.testing.assert_array_equal(fresh.predict(np.ones((1, 3))), net.predict(np.ones((1, 3))))


def test_a_flat_state_dict_is_a_plain_safetensors_file_other_tools_read(tmp_path):
    state = gn.Sequential(nn.Linear(3, 2), seed=0).state_dict()
    gn.save(state, tmp_path / "s.safetensors")
    plain = load_file(str(tmp_path / "s.safetensors"))
    assert set(plain) == set(state) and all(np.array_equal(plain[k], v) for k, v in state.items())


def test_the_write_is_atomic_and_refuses_what_it_cannot_store(tmp_path):
    target = tmp_path / "s.safetensors"
    gn.save({"a": np.ones(2)}, target)
    old = target.read_bytes()
    for bad, message in [({"m": gn.Sequential()}, r"obj\['m'\] is a Sequential"),
                         ({"x": [np.array(["a"])]}, r"obj\['x'\]\[0\] has dtype <U1"),
                         ({(1, 2): 3}, "strings or integers"), ({"f": open}, "builtin_function_or_method")]:
        with pytest.raises(TypeError, match=message):
            gn.save(bad, target)
    with pytest.raises(ValueError, match="not PyTorch's pickle format: use a name ending in '.safetensors'"):
        gn.save({"a": 1}, tmp_path / "model.pth")
    assert target.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == ["s.safetensors"]


def test_loading_checks_every_byte(tmp_path):
    path = tmp_path / "s.safetensors"
    gn.save({"a": np.arange(4.0), "n": 2}, path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1  # one bit of the last tensor's bytes
    (tmp_path / "flipped.safetensors").write_bytes(bytes(raw))
    with pytest.raises(gn.ModelFileError, match="do not match their checksums"):
        gn.load(tmp_path / "flipped.safetensors")
    (tmp_path / "short.safetensors").write_bytes(path.read_bytes()[:-5])
    with pytest.raises(gn.ModelFileError, match="truncated"):
        gn.load(tmp_path / "short.safetensors")
    save_file({"a": np.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(gn.ModelFileError, match="not a glassnet model"):
        gn.load(tmp_path / "foreign.safetensors")
    model = gn.Sequential([nn.Dense(2, input_dim=3)])
    model.save(tmp_path / "m.gnet")
    with pytest.raises(gn.ModelFileError, match="unsupported format 'glassnet-model'"):
        gn.load(tmp_path / "m.gnet")
    with pytest.raises(FileNotFoundError):
        gn.load(tmp_path / "missing.safetensors")


def test_an_edited_structure_is_refused(tmp_path):
    from glassnet.model_file import checksums
    from glassnet.saving import atomic_write

    def write(tree, tensors):
        text = json.dumps({"format": "glassnet-state", "version": 1, "tree": tree})
        from safetensors.numpy import save
        atomic_write(tmp_path / "e.safetensors", save(tensors, metadata={
            "glassnet": text, "glassnet_sha256": json.dumps(checksums(text, tensors))}))
        return tmp_path / "e.safetensors"

    a = {"a": np.zeros(2)}
    for tree, tensors, message in [({"tensor": "b", "kind": "array"}, a, "KeyError"),
                                   ({"dict": [[1.5, {"value": 1}]]}, {}, "pairs"),
                                   ({"value": {"x": 1}}, {}, "a value must be"),
                                   ({"list": []}, a, "does not use"),
                                   ({"tensor": "a", "kind": "pickle"}, a, "unknown tensor kind"),
                                   (json.loads("[" * 50 + "]" * 50), {}, "JSON object")]:
        with pytest.raises(gn.ModelFileError, match=message):
            gn.load(write(tree, tensors))
