"""MLPClassifier and MLPRegressor: scikit-learn's multilayer perceptrons, trained by glassnet.

Replacing ``from sklearn.neural_network import MLPClassifier`` by
``from glassnet.sklearn import MLPClassifier`` is all a program needs: the
parameters, their defaults and meanings, the fitted attributes and the methods
are scikit-learn's. The differences (all documented in the README):

- glassnet computes in float32 by default (``dtype="float32"``; ``dtype=None``
  follows the input's float type as scikit-learn does);
- Adam adds ``epsilon`` to the bias-corrected ``sqrt(v)`` (PyTorch's Adam), where
  scikit-learn adds it to the uncorrected ``sqrt(v)``;
- SGD momentum is PyTorch's (``buf = mu * buf + g; w -= lr * buf``), the same as
  scikit-learn's velocity form while the learning rate is constant;
- extras under new names: ``dropout``, ``l1``, any glassnet activation name for
  ``activation`` and any glassnet optimizer name for ``solver``.
"""
import inspect

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._mlp_base import BaseMLP

_SHARED_DEFAULTS = """
    Args (scikit-learn's, same defaults and meanings):
        hidden_layer_sizes: units of each hidden layer. Defaults to ``(100,)``.
        activation: ``"identity"``, ``"logistic"``, ``"tanh"``, ``"relu"`` or any glassnet
            activation name (``"gelu"``, ``"elu"``, ...). Defaults to ``"relu"``.
        solver: ``"adam"``, ``"sgd"``, ``"lbfgs"`` (SciPy's L-BFGS-B) or any glassnet optimizer
            name (``"rmsprop"``, ``"nadam"``, ...). Defaults to ``"adam"``.
        alpha: L2 penalty ``alpha / 2 * sum ||W||^2 / n_samples``. Defaults to ``1e-4``.
        batch_size: Defaults to ``"auto"`` = ``min(200, n_samples)``.
        learning_rate: ``"constant"``, ``"invscaling"`` or ``"adaptive"`` (SGD only).
        learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
        momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2,
        epsilon, n_iter_no_change, max_fun: as scikit-learn's.
    glassnet's extras:
        dropout: the rate of a Dropout after each hidden layer. Defaults to ``0.0``.
        l1: L1 penalty ``l1 * sum |W| / n_samples``. Defaults to ``0.0``.
        dtype: ``"float32"``, ``"float64"`` or ``None`` (the input's). Defaults to ``"float32"``.

    Raises:
        ValueError: at ``fit``, a hyperparameter out of its range, named
            (scikit-learn's ``InvalidParameterError``).
        sklearn.exceptions.NotFittedError: ``predict`` before ``fit``.
"""


class _Params:
    """The constructor shared by both estimators (scikit-learn's signature plus the extras)."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, l1=0.0, dtype="float32"):
        self.hidden_layer_sizes, self.activation, self.solver = hidden_layer_sizes, activation, solver
        self.alpha, self.batch_size, self.learning_rate = alpha, batch_size, learning_rate
        self.learning_rate_init, self.power_t, self.max_iter = learning_rate_init, power_t, max_iter
        self.shuffle, self.random_state, self.tol, self.verbose = shuffle, random_state, tol, verbose
        self.warm_start, self.momentum, self.nesterovs_momentum = warm_start, momentum, nesterovs_momentum
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.n_iter_no_change, self.max_fun = n_iter_no_change, max_fun
        self.dropout, self.l1, self.dtype = dropout, l1, dtype


def _signature_with_loss():
    sig = inspect.signature(_Params.__init__)
    self_param, *rest = sig.parameters.values()
    loss = inspect.Parameter("loss", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="squared_error")
    return sig.replace(parameters=[self_param, loss, *rest])


def _stochastic(estimator):
    if estimator.solver == "lbfgs":
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {estimator.solver} "
                             "is not stochastic.")
    return True


def _shared_docs(cls):
    cls.__doc__ = cls.__doc__.replace("{shared}", _SHARED_DEFAULTS.strip())
    return cls


@_shared_docs
class MLPClassifier(ClassifierMixin, _Params, BaseMLP):
    """A multilayer perceptron classifier: scikit-learn's, trained by glassnet.

    Optimises the log-loss: softmax outputs for multiclass targets, logistic outputs
    for binary and multilabel ones.

    {shared}

    Attributes (scikit-learn's): classes_, loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_,
    n_layers_, n_outputs_, out_activation_.

    >>> from sklearn.datasets import load_iris
    >>> x, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0).fit(x, y)
    >>> clf.score(x, y) > 0.95, clf.predict_proba(x[:2]).shape
    (True, (2, 3))
    """

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X_y(X, y, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def _target(self, y):
        """Integer labels for the softmax's fused cross-entropy, else the 0/1 indicator matrix."""
        if self.out_activation_ == "softmax":
            return y.argmax(axis=1)
        return y.astype(self._network.dtype)

    def _decode(self, y):
        return self._label_binarizer.inverse_transform(y)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features) and the labels ``y``; returns ``self``."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y); ``classes`` (every label) is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        y_pred = self._forward(X, check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict(self, X):
        """The predicted class of each sample (labels of ``classes_``)."""
        check_is_fitted(self)
        return self._predict(X)

    def _score(self, X, y, sample_weight=None):
        return self._score_with(X, y, sample_weight, accuracy_score)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the order of ``classes_``."""
        check_is_fitted(self)
        y_pred = self._forward(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return np.vstack([1 - y_pred, y_pred]).T if y_pred.ndim == 1 else y_pred

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


@_shared_docs
class MLPRegressor(RegressorMixin, _Params, BaseMLP):
    """A multilayer perceptron regressor: scikit-learn's, trained by glassnet.

    Optimises the squared error (``loss="squared_error"``, identity output) or the
    Poisson deviance (``loss="poisson"``, exp output).

    {shared}

    >>> x = np.linspace(-1, 1, 64).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(x, x[:, 0] ** 2)
    >>> reg.score(x, x[:, 0] ** 2) > 0.95
    True
    """

    _parameter_constraints: dict = {**BaseMLP._parameter_constraints,
                                    "loss": [StrOptions({"squared_error", "poisson"})]}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", **kwargs):
        super().__init__(hidden_layer_sizes, activation, **kwargs)
        self.loss = loss

    # NOTE: scikit-learn reads the parameters from __init__'s signature: the shared keywords plus loss.
    __init__.__signature__ = _signature_with_loss()

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X_y(X, y, reset, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _target(self, y):
        return y.astype(self._network.dtype)

    def _decode(self, y):
        return y.ravel() if y.shape[1] == 1 else y

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features) and the targets ``y``; returns ``self``."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        y_pred = self._forward(X, check_input)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def predict(self, X):
        """The predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self)
        return self._predict(X)

    def _score(self, X, y, sample_weight=None):
        return self._score_with(X, y, sample_weight, r2_score)
