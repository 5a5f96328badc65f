"""Data sets: the bundled tables, the toy sets and CSV files with their errors."""
import numpy as np
import pytest

from glassnet import datasets


@pytest.mark.parametrize("name,shape,classes", [("digits", (1797, 64), 10), ("iris", (150, 4), 3),
                                                ("wine", (178, 13), 3), ("breast_cancer", (569, 30), 2)])
def test_bundled_tables(name, shape, classes):
    data = datasets.load(name)
    assert data.x.shape == shape and data.x.dtype == np.float32
    assert data.num_classes == classes and set(np.unique(data.y)) == set(range(classes))
    x, y = data
    assert x is data.x and y is data.y


@pytest.mark.parametrize("name", ["xor", "moons", "circles", "spirals", "gaussian"])
def test_toy_sets_are_seeded_and_take_noise(name):
    a, b = datasets.load(name, n_samples=100, noise=0.1, seed=3), datasets.load(name, n_samples=100, noise=0.1, seed=3)
    assert a.x.shape == (100, 2) and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert set(np.unique(a.y)) == {0, 1}
    calm, noisy = datasets.load(name, n_samples=100, noise=0.0, seed=3), datasets.load(name, n_samples=100, noise=0.5, seed=3)
    assert not np.array_equal(calm.x, noisy.x)
    with pytest.raises(ValueError, match="noise must be a number >= 0"):
        datasets.load(name, noise=-1)


def test_xor_labels_follow_the_quadrants():
    data = datasets.xor(n_samples=500, noise=0.0, seed=0)
    np.testing.assert_array_equal(data.y, (data.x[:, 0] * data.x[:, 1] < 0).astype(int))


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; known names: "):
        datasets.load("mnist")


def test_load_csv_numeric_and_text_targets(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,cat\n3,4.5,dog\n5,6,cat\n")
    data = datasets.load_csv(path, target="label")
    np.testing.assert_array_equal(data.x, [[1, 2], [3, 4.5], [5, 6]])
    assert data.y.tolist() == [0, 1, 0] and data.target_names == ["cat", "dog"] and data.feature_names == ["a", "b"]
    path.write_text("a,y\n1,0.5\n2,1.5\n")
    assert datasets.load_csv(path, target="y").task == "regression"


@pytest.mark.parametrize("text,match", [
    ("a,b\n1,2\n", "target column 'label' is not in the header; columns: a, b"),
    ("a,label\n1,0\n2\n", "line 3: 1 fields, but the header has 2"),
    ("a,label\n1,0\nx,1\n", "line 3, column 'a': 'x' is not a number"),
    ("a,label\n", "need a header row and at least one data row"),
])
def test_load_csv_errors(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        datasets.load_csv(path, target="label")


@pytest.mark.parametrize("name", ["plane", "bump", "multi_gaussian"])
def test_regression_surfaces_are_seeded_and_take_noise(name):
    a, b = datasets.load(name, n_samples=100, seed=3), datasets.load(name, n_samples=100, seed=3)
    assert a.task == "regression" and a.num_classes == 0 and a.y.dtype == np.float32
    assert a.x.shape == (100, 2) and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert np.abs(a.x).max() <= 1
    noisy = datasets.load(name, n_samples=100, noise=0.3, seed=3)
    assert not np.array_equal(a.y, noisy.y)


def test_multi_gaussian_peaks_and_valleys():
    # at a centre its own bump gives +-1; the other bumps are at least 0.6 away and add
    # at most 2 * exp(-0.36 / 0.125) + ... < 0.2 there, so each centre keeps its bump's sign
    centres = np.array([[-0.6, 0.6], [0.0, 0.6], [0.6, 0.6], [-0.6, -0.4], [0.0, -0.4], [0.6, -0.4]])
    y = datasets._multi_gaussian_surface(centres)
    np.testing.assert_array_equal(np.sign(y), [1, -1, 1, -1, 1, -1])
    assert np.all(np.abs(np.abs(y) - 1) < 0.2)
