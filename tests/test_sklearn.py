"""glassnet.sklearn: the MLP drop-ins against scikit-learn's own MLP, scikit-learn's estimator
checks, model selection, and the NeuralNet wrappers."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data, parametrize_with_checks

import glassnet as gn
from glassnet.sklearn import (MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor,
                              expected_failed_checks)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
EXACT = dict(dtype="float64", random_state=0)  # float64: the same arithmetic as scikit-learn's


# -- scikit-learn's own checks ------------------------------------------------------------------
class _TinyClassifier:
    """A model builder with a repr that names it (a function's repr holds its address, which would
    make the checks' test ids differ between pytest-xdist's workers)."""

    def __call__(self, n_features_in_, n_classes_, units=16, seed=None):
        return gn.Sequential([gn.nn.Dense(units, activation="relu", input_dim=n_features_in_),
                              gn.nn.Dense(n_classes_, activation="softmax")], seed=seed)

    def __repr__(self):
        return "tiny_classifier"


tiny_classifier = _TinyClassifier()


CHECKED = [
    MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, learning_rate_init=0.1, random_state=0),
    MLPRegressor(hidden_layer_sizes=(8,), max_iter=10, learning_rate_init=0.1, random_state=0),
    NeuralNetClassifier(tiny_classifier, epochs=5, optimizer__learning_rate=0.05, random_state=0),
    NeuralNetRegressor(epochs=5, model__units=8, optimizer__learning_rate=0.05, random_state=0),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_sample_weight_equals_repeated_samples_with_full_batch_float64(estimator):
    """The setting where scikit-learn's exact check holds (declared expected-failed elsewhere: float32
    sums round differently for weighted and repeated rows, by how much depends on the BLAS's kernels)."""
    est = estimator(solver="lbfgs", hidden_layer_sizes=(4,), max_iter=20, **EXACT)
    assert "check_sample_weight_equivalence_on_dense_data" not in expected_failed_checks(est)
    check_sample_weight_equivalence_on_dense_data(estimator.__name__, est)


# -- the drop-in: same numbers as scikit-learn's MLP ----------------------------------------------
@pytest.mark.parametrize("params", [
    dict(solver="sgd", learning_rate_init=0.05),                          # Nesterov momentum 0.9
    dict(solver="sgd", momentum=0.0, learning_rate="invscaling", learning_rate_init=0.5),
    dict(solver="sgd", momentum=0.0, learning_rate="adaptive", tol=0.1, n_iter_no_change=1),
    dict(solver="sgd", activation="tanh", alpha=0.1, batch_size=16, shuffle=False),
    dict(solver="sgd", activation="logistic", early_stopping=True, n_iter_no_change=2),
    dict(solver="lbfgs", activation="identity"),
])
def test_classifier_follows_sklearn_exactly_in_float64(params):
    ours = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=15, **params, **EXACT).fit(X_IRIS, Y_IRIS)
    theirs = sk.MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=15, random_state=0, **params).fit(X_IRIS, Y_IRIS)
    assert ours.out_activation_ == theirs.out_activation_
    for name in ("loss_", "n_iter_", "loss_curve_", "validation_scores_", "best_loss_", "t_"):
        if getattr(theirs, name, None) is not None:
            np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-9, err_msg=name)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X_IRIS), theirs.predict_proba(X_IRIS), rtol=1e-7, atol=1e-10)


def test_adam_differs_from_sklearn_only_by_where_epsilon_enters():
    ours = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, learning_rate_init=0.01, **EXACT).fit(X_IRIS, Y_IRIS)
    theirs = sk.MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, learning_rate_init=0.01,
                              random_state=0).fit(X_IRIS, Y_IRIS)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-4)


@pytest.mark.parametrize("kind", ["binary", "multilabel", "squared_error", "poisson", "sample_weight"])
def test_other_tasks_follow_sklearn(kind):
    x, y, sw = X_IRIS, Y_IRIS, None
    ours, theirs = MLPClassifier, sk.MLPClassifier
    kwargs = dict(solver="sgd", hidden_layer_sizes=(6,), max_iter=10, learning_rate_init=0.01)
    if kind == "binary":
        y = np.where(Y_IRIS == 2, "virginica", "other")
    elif kind == "multilabel":
        x, y = make_multilabel_classification(60, 5, n_classes=3, random_state=0)
    elif kind == "sample_weight":
        sw = np.random.default_rng(0).uniform(0.5, 2, len(x))
    else:
        x, y = make_regression(60, 4, n_targets=2, random_state=0)
        y = np.abs(y) / 100 if kind == "poisson" else y / 100
        ours, theirs = MLPRegressor, sk.MLPRegressor
        kwargs["loss"] = kind
    a = ours(**kwargs, **EXACT).fit(x, y, sample_weight=sw)
    b = theirs(**kwargs, random_state=0).fit(x, y, sample_weight=sw)
    assert a.out_activation_ == b.out_activation_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(a.predict(x) if ours is MLPRegressor else a.predict_proba(x),
                               b.predict(x) if ours is MLPRegressor else b.predict_proba(x), rtol=1e-7, atol=1e-10)
    if ours is MLPClassifier:
        assert (a.predict(x) == b.predict(x)).all() and list(a.classes_) == list(b.classes_)


def test_float32_default_is_close_to_float64():
    kwargs = dict(solver="sgd", hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    a = MLPClassifier(**kwargs).fit(X_IRIS, Y_IRIS)
    b = MLPClassifier(**kwargs, dtype="float64").fit(X_IRIS, Y_IRIS)
    assert a.coefs_[0].dtype == np.float32 and b.coefs_[0].dtype == np.float64
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-5)


def test_convergence_rule_stops_and_warns_like_sklearn():
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X_IRIS, Y_IRIS)
    clf = MLPClassifier(hidden_layer_sizes=(4,), tol=10.0, n_iter_no_change=2, random_state=0).fit(X_IRIS, Y_IRIS)
    # epoch 1 improves on inf; epochs 2, 3, 4 improve by less than tol: 3 > n_iter_no_change stops
    assert clf.n_iter_ == 4 and len(clf.loss_curve_) == 4


def test_partial_fit_warm_start_and_pickle_continue_the_same_run():
    a = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(3):
        a.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X_IRIS, Y_IRIS)
    b.partial_fit(X_IRIS, Y_IRIS)
    assert a.t_ == 4 * len(X_IRIS) and a.n_iter_ == 1
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])  # the unpickled optimizer still updates the layers
    warm = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, warm_start=True, random_state=0)
    warm.fit(X_IRIS, Y_IRIS).fit(X_IRIS, Y_IRIS)
    assert len(warm.loss_curve_) == 4
    with pytest.raises(AttributeError, match="partial_fit"):
        MLPClassifier(solver="lbfgs").partial_fit


def test_glassnet_extras():
    for params in (dict(dropout=0.2), dict(l1=0.01), dict(activation="gelu"), dict(solver="rmsprop")):
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01, random_state=0,
                            **params).fit(X_IRIS, Y_IRIS)
        assert clf.score(X_IRIS, Y_IRIS) > 0.8, params
    plain = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, alpha=0, random_state=0).fit(X_IRIS, Y_IRIS)
    sparse = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, alpha=0, l1=1.0, random_state=0).fit(X_IRIS, Y_IRIS)
    assert np.abs(sparse.coefs_[0]).sum() < np.abs(plain.coefs_[0]).sum()


# -- scikit-learn's conventions for errors ------------------------------------------------------
@pytest.mark.parametrize("name, value", [
    ("hidden_layer_sizes", 0), ("activation", "swish_typo"), ("solver", "newton"), ("alpha", -1.0),
    ("batch_size", 0), ("learning_rate", "fast"), ("learning_rate_init", 0.0), ("max_iter", 0),
    ("momentum", 1.5), ("validation_fraction", 1.0), ("beta_1", 1.0), ("epsilon", 0.0),
    ("n_iter_no_change", 0), ("dropout", 1.0), ("l1", -0.1), ("dtype", "float16"),
])
def test_invalid_hyperparameters_raise_at_fit_naming_them(name, value):
    clf = MLPClassifier(**{name: value})  # accepted by __init__, as in scikit-learn
    with pytest.raises(ValueError, match=name):
        clf.fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("est", [MLPClassifier(), MLPRegressor(), NeuralNetClassifier(), NeuralNetRegressor()])
def test_not_fitted_error_before_fit(est):
    with pytest.raises(NotFittedError):
        est.predict(X_IRIS)


def test_wrapper_errors_name_the_parameter():
    with pytest.raises(ValueError, match="epochs"):
        NeuralNetClassifier(epochs=-1).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="modle__units"):
        NeuralNetClassifier(modle__units=3).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="model__units"):
        NeuralNetClassifier(tiny_classifier(4, 3), model__units=3).fit(X_IRIS, Y_IRIS)


# -- model selection, labels, data frames --------------------------------------------------------
@pytest.mark.parametrize("labels", [np.array(["setosa", "versicolor", "virginica"]), np.array([-3, 10, 7])])
def test_pipeline_and_cross_validation_with_any_labels(labels):
    y = labels[Y_IRIS]
    for est in (MLPClassifier(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.02, random_state=0),
                NeuralNetClassifier(epochs=15, model__units=16, optimizer__learning_rate=0.02, random_state=0)):
        scores = cross_val_score(make_pipeline(StandardScaler(), est), load_iris().data, y, cv=3)
        assert scores.mean() > 0.85, type(est).__name__
        fitted = clone(est).fit(X_IRIS, y)
        assert set(fitted.predict(X_IRIS)) <= set(labels) and list(fitted.classes_) == sorted(labels)


def test_grid_and_randomized_search_over_hidden_size_and_nested_parameters():
    grid = GridSearchCV(MLPClassifier(max_iter=40, learning_rate_init=0.02, random_state=0),
                        {"hidden_layer_sizes": [(2,), (16,)]}, cv=3).fit(X_IRIS, Y_IRIS)
    assert grid.best_params_ == {"hidden_layer_sizes": (16,)}
    wrapped = GridSearchCV(NeuralNetClassifier(epochs=10, random_state=0),
                           {"model__units": [1, 16], "optimizer__learning_rate": [0.02]}, cv=3).fit(X_IRIS, Y_IRIS)
    assert wrapped.best_params_["model__units"] == 16
    assert wrapped.best_estimator_.model_.layers[0].units == 16
    search = RandomizedSearchCV(NeuralNetRegressor(epochs=5, random_state=0), {"model__units": [4, 8]},
                                n_iter=2, cv=2, random_state=0).fit(X_IRIS[:, :3], X_IRIS[:, 3])
    assert search.best_params_["model__units"] in (4, 8)


def test_pandas_frames_keep_feature_names():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_IRIS, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    target = pd.Series(np.array(["a", "b", "c"])[Y_IRIS])
    for est in (MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
                NeuralNetClassifier(epochs=2, model__units=8, random_state=0)):
        est.fit(frame, target)
        assert list(est.feature_names_in_) == list(frame.columns) and est.n_features_in_ == 4
        assert len(est.predict(frame)) == len(frame)
        with pytest.warns(UserWarning, match="feature names"):
            est.predict(X_IRIS)


# -- the wrappers -------------------------------------------------------------------------------
def test_wrapper_clone_keeps_routed_parameters_and_fit_leaves_the_model_alone():
    model = tiny_classifier(4, 3, seed=0)
    before = [w.copy() for w in model.get_weights()]
    clf = NeuralNetClassifier(model, epochs=3, optimizer="sgd", optimizer__learning_rate=0.1, loss__from_logits=False)
    twin = clone(clf)
    assert twin.get_params()["optimizer__learning_rate"] == 0.1 and twin.model is not model
    clf.fit(X_IRIS, Y_IRIS)
    assert all((a == b).all() for a, b in zip(before, model.get_weights()))
    assert clf.model_.optimizer.learning_rate == 0.1 and isinstance(clf.model_.optimizer, gn.optim.SGD)


def test_wrapper_training_settings_reach_model_fit():
    stopper = gn.callbacks.EarlyStopping(monitor="val_loss", min_delta=10.0, patience=1)
    clf = NeuralNetClassifier(epochs=50, validation_split=0.2, callbacks=[stopper], random_state=0,
                              model__units=4, optimizer__learning_rate=1e-4)
    clf.fit(X_IRIS, Y_IRIS)
    assert "val_loss" in clf.history_.history and len(clf.history_.history["loss"]) < 50
    a = NeuralNetRegressor(epochs=3, random_state=1).fit(X_IRIS[:, :3], X_IRIS[:, 3]).predict(X_IRIS[:5, :3])
    b = NeuralNetRegressor(epochs=3, random_state=1).fit(X_IRIS[:, :3], X_IRIS[:, 3]).predict(X_IRIS[:5, :3])
    np.testing.assert_array_equal(a, b)  # random_state: the same weights and shuffling
    binary = NeuralNetClassifier(epochs=20, random_state=0).fit(X_IRIS, Y_IRIS == 2)
    assert binary.model_.layers[-1].units == 1 and binary.predict_proba(X_IRIS).shape == (150, 2)
