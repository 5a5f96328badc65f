"""Saving and loading: exact round trips, exact resumption, no pickle, clear errors on bad files."""
import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import callbacks, nn


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    y = np.arange(90) % 3
    x = (rng.standard_normal((90, 5)) + np.eye(3, 5)[y] * 2).astype(np.float32)
    return x, np.eye(3)[y]


def build(seed=0):
    m = gn.Sequential([nn.Dense(12, activation="relu", kernel_regularizer=nn.L2(1e-3)), nn.Dropout(0.2, seed=4),
                       nn.Dense(3, activation="softmax")], seed=seed)
    m.compile(optimizer=gn.optim.Adam(learning_rate=gn.optim.ExponentialDecay(0.01, 0.99)),
              loss="categorical_crossentropy", metrics=["accuracy"])
    return m


def test_train_save_load_identical_predictions(tmp_path, data):
    m = build()
    m.fit(*data, epochs=3, verbose=0, seed=0)
    m.save(tmp_path / "m.gnet")
    loaded = gn.load_model(tmp_path / "m.gnet")
    assert np.array_equal(m.predict(data[0]), loaded.predict(data[0]))
    assert type(loaded.optimizer) is gn.optim.Adam and loaded.optimizer.iterations == m.optimizer.iterations
    assert [type(mt) for mt in loaded.metrics] == [type(mt) for mt in m.metrics]


def test_resume_from_checkpoint_equals_an_uninterrupted_run(tmp_path, data):
    full = build()
    full.fit(*data, epochs=6, verbose=0, seed=11)

    first = build()
    first.fit(*data, epochs=3, verbose=0, seed=11, callbacks=[callbacks.ModelCheckpoint(tmp_path / "k.gnet",
                                                                                        monitor="loss")])
    resumed = gn.load_model(tmp_path / "k.gnet")
    resumed.fit(*data, epochs=6, initial_epoch=3, verbose=0, seed=11)
    for a, b in zip(full.get_weights(), resumed.get_weights()):
        assert np.array_equal(a, b)


def test_transposed_weight_round_trip(tmp_path):
    m = gn.Sequential([nn.Dense(3, input_dim=4, seed=0)])
    m.layers[0].kernel.data = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4).T)
    assert not m.layers[0].kernel.data.flags.c_contiguous
    m.save(tmp_path / "t.gnet")
    np.testing.assert_array_equal(gn.load_model(tmp_path / "t.gnet").layers[0].kernel.data,
                                  np.arange(12, dtype=np.float32).reshape(3, 4).T)


def test_no_pickle_in_the_file(tmp_path, data):
    m = build()
    m.fit(*data, epochs=1, verbose=0)
    m.save(tmp_path / "m.gnet")
    raw = (tmp_path / "m.gnet").read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    config = json.loads(header["__metadata__"]["glassnet"])
    assert config["format"] == "glassnet-model" and config["class"] == "Sequential"
    assert b"\x80\x04" not in raw[:64]  # no pickle protocol header


@pytest.mark.parametrize("damage,match", [
    (lambda raw: raw[: len(raw) // 2], "truncated"),
    (lambda raw: raw[:3], "not a glassnet model file: it is 3 bytes long"),
    (lambda raw: b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + raw[24:], "header is not valid JSON"),
    (lambda raw: b"PK\x03\x04 a zip file, not a model", "not a glassnet model file"),
])
def test_broken_files_give_clear_errors(tmp_path, data, damage, match):
    m = build()
    m.fit(*data, epochs=1, verbose=0)
    m.save(tmp_path / "m.gnet")
    bad = tmp_path / "bad.gnet"
    bad.write_bytes(damage((tmp_path / "m.gnet").read_bytes()))
    with pytest.raises(gn.ModelFileError, match=match) as info:
        gn.load_model(bad)
    assert str(bad) in str(info.value)


def test_foreign_safetensors_file(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, dtype=np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="safetensors file but not a glassnet model"):
        gn.load_model(tmp_path / "other.safetensors")
    with pytest.raises(FileNotFoundError, match="no model file"):
        gn.load_model(tmp_path / "missing.gnet")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    from glassnet import saving

    target = tmp_path / "m.gnet"
    target.write_bytes(b"old")

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(saving.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        saving.atomic_write(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.gnet"]


def test_custom_models_cannot_be_saved_silently(tmp_path):
    class Custom(gn.Model):
        def forward(self, x):
            return x

    with pytest.raises(ValueError, match="save\\(\\) rebuilds Sequential and functional models"):
        Custom().save(tmp_path / "c.gnet")
