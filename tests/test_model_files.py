"""A corpus of damaged model files: each one raises ModelFileError naming the file, or loads
the very model that was saved; never another exception, a wrong model, a crash or a hang."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save as st_save

import glassnet as gn
from glassnet import nn
from glassnet.model_file import checksums
from glassnet.saving import atomic_write

X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[np.arange(40) % 3]


def _dense():
    model = gn.Sequential([nn.Dense(8, activation="relu", input_dim=4), nn.Dropout(0.2),
                           nn.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, Y, epochs=1, verbose=0, seed=0)
    return model


def _recurrent():
    model = gn.Sequential([nn.LSTM(3), nn.Dense(2, activation="softmax")], seed=1)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(X.reshape(40, 2, 2), np.eye(2)[np.arange(40) % 2], epochs=1, verbose=0, seed=0)
    return model


def _conv():
    model = gn.Sequential([nn.Conv2D(2, 3, padding="same", activation="relu"), nn.MaxPooling2D(2), nn.Flatten(),
                           nn.Dense(3, activation="softmax")], seed=2)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    model.fit(X.reshape(40, 2, 2, 1).repeat(2, axis=1).repeat(2, axis=2), Y, epochs=1, verbose=0, seed=0)
    return model


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("originals")
    out = {}
    for name, make in (("dense", _dense), ("recurrent", _recurrent), ("conv", _conv)):
        model = make()
        model.save(folder / f"{name}.gnet")
        out[name] = ((folder / f"{name}.gnet").read_bytes(), model)
    return out


def _parts(raw):
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    return header, raw[8 + n:]


def _arrays(raw):
    from safetensors.numpy import load

    return load(raw)


def _rewrite(raw, edit, sign=True):
    """The file with its config and tensors edited by ``edit(config, tensors)``, checksums redone
    (as a tool that re-signs would) unless ``sign`` is False."""
    header, _ = _parts(raw)
    meta = header["__metadata__"]
    config, tensors = json.loads(meta["glassnet"]), dict(_arrays(raw))
    edit(config, tensors)
    text = json.dumps(config)
    new_meta = {"glassnet": text, "glassnet_sha256": json.dumps(checksums(text, tensors)) if sign
                else meta["glassnet_sha256"]}
    return st_save(tensors, metadata=new_meta)


def _is(model):
    """Accept a load only when it gives the very model that was saved."""
    def same(loaded):
        return (loaded.get_config() == model.get_config()
                and all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights())))

    return same


def _load_case(cases, label, path, data, model):
    path.write_bytes(data)
    return cases.check(label, lambda: gn.load_model(path), gn.ModelFileError, (str(path),), _is(model))


def test_truncations_and_bit_flips(originals, tmp_path, edge_cases):
    cases = edge_cases("model files")
    rng = np.random.default_rng(0)
    for name, (raw, model) in originals.items():
        n = int.from_bytes(raw[:8], "little")
        cuts = {*range(0, 17), n + 7, n + 8, n + 9, *rng.integers(0, len(raw), 30).tolist(), len(raw) - 1}
        for cut in sorted(cuts):
            _load_case(cases, f"{name}: truncated to {cut} bytes", tmp_path / "cut.gnet", raw[:cut], model)
        for where, low, high in (("header", 0, n + 8), ("body", n + 8, len(raw))):
            for position in rng.integers(low, high, 40).tolist():
                bit = int(rng.integers(0, 8))
                flipped = bytearray(raw)
                flipped[position] ^= 1 << bit
                _load_case(cases, f"{name}: bit {bit} of byte {position} flipped ({where})",
                           tmp_path / "flip.gnet", bytes(flipped), model)
    cases.assert_clean()


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hypothesis_damage(originals, tmp_path, edge_cases, data):
    cases = edge_cases("model files")
    name = data.draw(st.sampled_from(sorted(originals)))
    raw, model = originals[name]
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    damaged = bytes(damaged[:data.draw(st.integers(0, len(raw)))])
    _load_case(cases, f"{name}: hypothesis damage", tmp_path / "h.gnet", damaged, model)
    cases.assert_clean()


def _layers(config):
    return config["config"]["layers"]


def _bomb(units, input_dim):
    def edit(config, tensors):
        _layers(config)[0] = {"class": "Dense", "config": {"units": units, "input_dim": input_dim}}
        del _layers(config)[1:]
        config["input_shape"], config["compile"], config["rng_states"] = [input_dim], None, {}
        tensors.clear()
    return edit


def _set(*keys, value):
    def edit(config, tensors):
        target = config
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


def _tensor(key, value):
    def edit(config, tensors):
        if value is None:
            del tensors[key]
        else:
            tensors[key] = value
    return edit


EDITS = {
    "config-only Dense(10000, input_dim=10000)": _bomb(10000, 10000),
    "config-only Dense(200000, input_dim=200000)": _bomb(200000, 200000),
    "input_shape of 10**9 values": _set("input_shape", value=[10**9]),
    "input_shape a string": _set("input_shape", value="4"),
    "input_shape negative": _set("input_shape", value=[-4]),
    "no layers key": _set("config", value={"name": None}),
    "layers not a list": _set("config", "layers", value={"0": 1}),
    "layer class unknown": lambda c, t: _layers(c)[0].update({"class": "Evil"}),
    "layer class a number": lambda c, t: _layers(c)[0].update({"class": 7}),
    "layer config a list": lambda c, t: _layers(c)[0].update({"config": [1, 2]}),
    "units negative": lambda c, t: _layers(c)[0]["config"].update({"units": -3}),
    "units changed": lambda c, t: _layers(c)[0]["config"].update({"units": 9}),
    "units a string": lambda c, t: _layers(c)[0]["config"].update({"units": "8"}),
    "unknown layer argument": lambda c, t: _layers(c)[0]["config"].update({"evil": 1}),
    "unknown activation": lambda c, t: _layers(c)[0]["config"].update({"activation": "evil"}),
    "layer removed": lambda c, t: _layers(c).pop(),
    "layer added": lambda c, t: _layers(c).append({"class": "Dense", "config": {"units": 5}}),
    "UpSampling bomb": lambda c, t: _layers(c).insert(1, {"class": "Reshape", "config": {"target_shape": [2, 2, 2]}})
    or _layers(c).insert(2, {"class": "UpSampling2D", "config": {"size": [10**5, 10**5]}}),
    "format changed": _set("format", value="pickle"),
    "version from the future": _set("version", value=99),
    "version a bool": _set("version", value=True),
    "compile not a dict": _set("compile", value=[1]),
    "unknown optimizer": _set("compile", "optimizer", "name", value="evil"),
    "optimizer argument unknown": lambda c, t: c["compile"]["optimizer"]["config"].update({"evil": 1}),
    "unknown loss": _set("compile", "loss", "name", value="evil"),
    "unknown metric": _set("compile", "metrics", value=["evil"]),
    "metrics a number": _set("compile", "metrics", value=3),
    "rng state for a Dense layer": _set("rng_states", value={"0": {"state": 1}}),
    "rng state index out of range": _set("rng_states", value={"99": {}}),
    "rng state garbage": _set("rng_states", value={"1": {"bit_generator": "PCG64", "state": "x"}}),
    "metadata a list": _set("metadata", value=[1]),
    "weight missing": _tensor("weights/layers.0.kernel", None),
    "weight of the wrong shape": _tensor("weights/layers.0.kernel", np.zeros((4, 9), np.float32)),
    "extra weight": _tensor("weights/layers.9.kernel", np.zeros((2, 2), np.float32)),
    "foreign tensor": _tensor("evil", np.zeros(2, np.float32)),
    "optimizer state of shape (1,)": _tensor("optimizer/0.m", np.zeros(1, np.float32)),
    "optimizer state of shape (8, 4)": _tensor("optimizer/0.m", np.zeros((8, 4), np.float32)),
    "optimizer state for parameter 99": _tensor("optimizer/99.m", np.zeros(1, np.float32)),
    "optimizer state key without index": _tensor("optimizer/m", np.zeros(1, np.float32)),
    "optimizer iterations missing": _tensor("optimizer/iterations", None),
    "optimizer iterations negative": _tensor("optimizer/iterations", np.array([-1], np.int64)),
    "optimizer iterations a float array": _tensor("optimizer/iterations", np.zeros(3, np.float32)),
    "every tensor removed": lambda c, t: t.clear(),
}


def _conv_layer(**changes):
    return lambda c, t: _layers(c)[0]["config"].update(changes)


CONV_EDITS = {
    "Conv2D strides 0": _conv_layer(strides=[0, 0]),
    "Conv2D kernel_size 0": _conv_layer(kernel_size=[0, 0]),
    "Conv2D kernel_size 10**6": _conv_layer(kernel_size=[10**6, 10**6]),
    "Conv2D filters 10**9": _conv_layer(filters=10**9),
    "Conv2D padding 'evil'": _conv_layer(padding="evil"),
    "Conv2D dilation_rate -1": _conv_layer(dilation_rate=[-1, -1]),
    "MaxPooling2D pool_size 0": lambda c, t: _layers(c)[1]["config"].update({"pool_size": [0, 0]}),
    "MaxPooling2D pool_size 10**6": lambda c, t: _layers(c)[1]["config"].update({"pool_size": [10**6, 10**6]}),
    "input_shape of rank 2": _set("input_shape", value=[4, 4]),
    "input_shape 10**5 x 10**5": _set("input_shape", value=[10**5, 10**5, 1]),
}


def test_edited_convolution_configs(originals, tmp_path, edge_cases):
    cases = edge_cases("model files")
    raw, model = originals["conv"]
    for label, edit in CONV_EDITS.items():
        _load_case(cases, f"conv: {label} (re-signed)", tmp_path / "conv.gnet", _rewrite(raw, edit), model)
    cases.assert_clean()


@pytest.mark.parametrize("sign", [True, False], ids=["re-signed", "checksums kept"])
def test_edited_configs_and_size_bombs(originals, tmp_path, edge_cases, sign):
    cases = edge_cases("model files")
    raw, model = originals["dense"]
    for label, edit in EDITS.items():
        _load_case(cases, f"{label} ({'re-signed' if sign else 'checksums kept'})", tmp_path / "edit.gnet",
                   _rewrite(raw, edit, sign), model)
    cases.assert_clean()


def test_a_size_bomb_allocates_nothing_big(originals, tmp_path):
    raw, _ = originals["dense"]
    (tmp_path / "bomb.gnet").write_bytes(_rewrite(raw, _bomb(200000, 200000)))
    with pytest.raises(gn.ModelFileError, match="implies at least 40,000,200,000 weight values .* holds 0"):
        gn.load_model(tmp_path / "bomb.gnet")


def test_a_flipped_weight_bit_is_named(originals, tmp_path):
    raw, _ = originals["dense"]
    flipped = bytearray(raw)
    flipped[-5] ^= 4
    (tmp_path / "f.gnet").write_bytes(bytes(flipped))
    with pytest.raises(gn.ModelFileError, match="do not match their checksums .*weights/"):
        gn.load_model(tmp_path / "f.gnet")


def test_a_version_1_file_without_checksums_still_loads(originals, tmp_path):
    raw, model = originals["dense"]
    header, _ = _parts(raw)
    config = json.loads(header["__metadata__"]["glassnet"])
    config["version"] = 1
    (tmp_path / "v1.gnet").write_bytes(st_save(dict(_arrays(raw)), metadata={"glassnet": json.dumps(config)}))
    assert _is(model)(gn.load_model(tmp_path / "v1.gnet"))


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        atomic_write(tmp_path / "plain.txt", b"x")
        _dense().save(tmp_path / "m.gnet")
    finally:
        os.umask(previous)
    for name in ("plain.txt", "m.gnet"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode


def test_partial_files_are_named_and_stale_ones_removed(tmp_path, monkeypatch):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = tmp_path / f".glassnet-partial-{dead}-0badf00d-m.gnet"
    alive = tmp_path / f".glassnet-partial-{os.getpid()}-00000000-other.gnet"  # another thread's write
    stale.write_bytes(b"\0" * 1000)
    alive.write_bytes(b"")
    model = _dense()
    model.save(tmp_path / "m.gnet")
    assert not stale.exists() and alive.exists()

    def killed(fd):
        raise KeyboardInterrupt  # the write interrupted before it is synced

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "m.gnet")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "m.gnet"]
    assert _is(model)(gn.load_model(tmp_path / "m.gnet"))
