"""NeuralNetClassifier and NeuralNetRegressor: any glassnet model as a scikit-learn estimator.

The estimator holds a model (or a function that builds one) and the training
settings; ``fit`` builds a fresh model, compiles it and calls ``Model.fit``.
Parameters with a prefix are routed, as scikit-learn routes a pipeline step's:
``model__units=64`` reaches the build function, ``optimizer__learning_rate=0.01``
the optimizer, ``loss__from_logits=True`` the loss; ``GridSearchCV`` can tune them
all and ``clone()`` copies them.
"""
import copy
import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from .. import optim
from ..model import Model
from ..nn import losses as losses_lib
from ..nn.layers import Dense
from ..sequential import Sequential

ROUTES = ("model", "optimizer", "loss", "fit")
_META = ("n_features_in_", "n_outputs_", "n_classes_")


def default_model(n_features_in_, n_outputs_, units=100, activation="relu", output_activation="linear",
                  seed=None):
    """The model used when none is given: ``Dense(units, activation) -> Dense(n_outputs_)``."""
    return Sequential([Dense(units, activation=activation, input_dim=n_features_in_),
                       Dense(n_outputs_, activation=output_activation)], seed=seed)


class _NeuralNet(BaseEstimator):
    """The shared estimator: parameters, routing, building and training."""

    _parameter_constraints: dict = {
        "model": [callable, Model, None],
        "epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "optimizer": [str, optim.Optimizer, type],
        "loss": [str, losses_lib.Loss, callable, None],
        "callbacks": [list, None],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(self, model=None, *, epochs=10, batch_size=32, optimizer="adam", loss=None, callbacks=None,
                 validation_split=0.0, shuffle=True, verbose=0, random_state=None, **routed):
        self.model, self.epochs, self.batch_size, self.optimizer = model, epochs, batch_size, optimizer
        self.loss, self.callbacks, self.validation_split = loss, callbacks, validation_split
        self.shuffle, self.verbose, self.random_state = shuffle, verbose, random_state
        # NOTE: the routed parameters become attributes like the others (checked at fit, as
        # scikit-learn checks every parameter); get_params lists them, so clone() copies them.
        for key, value in routed.items():
            setattr(self, key, value)

    # -- parameters: the signature's plus the routed ones ---------------------------------------
    def _routed(self):
        names = set(inspect.signature(_NeuralNet.__init__).parameters)
        return {k: v for k, v in vars(self).items() if k not in names and not k.endswith("_") and k[0] != "_"}

    def _check_routes(self):
        for key in self._routed():
            if "__" not in key or key.split("__", 1)[0] not in ROUTES:
                raise ValueError(f"Unknown parameter {key!r} of {type(self).__name__}: parameters beyond the "
                                 f"signature are routed, prefixed with one of {[r + '__' for r in ROUTES]}")

    def get_params(self, deep=True):
        return {**super().get_params(deep=False), **self._routed()}

    def set_params(self, **params):
        """Set parameters; a name outside the signature is a routed one (checked at ``fit``)."""
        names = set(super().get_params(deep=False))
        for key in [k for k in params if k not in names]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    def _route(self, prefix):
        n = len(prefix) + 2
        return {k[n:]: v for k, v in self._routed().items() if k.startswith(prefix + "__")}

    # -- building ----------------------------------------------------------------------------------
    def _build_model(self):
        meta = {name: getattr(self, name) for name in _META if hasattr(self, name)}
        if self.model is None or callable(self.model) and not isinstance(self.model, Model):
            build = self.model or self._default_model
            accepted = inspect.signature(build).parameters
            kwargs = {k: v for k, v in meta.items() if k in accepted}
            if "seed" in accepted and self.random_state is not None:
                kwargs["seed"] = self.random_state
            model = build(**kwargs, **self._route("model"))
            if not isinstance(model, Model):
                raise TypeError(f"model must build a glassnet Model; the function returned {type(model).__name__}")
            return model
        if self._route("model"):
            names = sorted("model__" + k for k in self._route("model"))
            raise ValueError(f"{names} need a function that builds the model as `model`; received a model instance")
        return copy.deepcopy(self.model)  # fit never changes the model it was given

    def _make_optimizer(self):
        opt, kwargs = self.optimizer, self._route("optimizer")
        if isinstance(opt, str):
            return optim.OPTIMIZERS.get(opt)(**kwargs)
        if isinstance(opt, type):
            return opt(**kwargs)
        config = {**opt.get_config(), **kwargs}  # a fresh copy of the instance's settings
        return type(opt)(**config)

    def _make_loss(self, default):
        loss, kwargs = self.loss if self.loss is not None else default, self._route("loss")
        if isinstance(loss, str) and kwargs:
            return losses_lib.LOSSES.get(loss)(**kwargs)
        return loss

    # -- fit / predict -----------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Build a fresh model, compile it and train it on (X, y); returns ``self``."""
        self._validate_params()
        self._check_routes()
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=not self._classifier)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        y = self._encode(y)
        self.model_ = self._build_model()
        self.model_.compile(optimizer=self._make_optimizer(), loss=self._make_loss(self._default_loss()))
        self.history_ = self.model_.fit(X, y, epochs=self.epochs, batch_size=self.batch_size,
                                        validation_split=self.validation_split, shuffle=self.shuffle,
                                        sample_weight=sample_weight, callbacks=copy.deepcopy(self.callbacks),
                                        verbose=self.verbose, seed=self.random_state, **self._route("fit"))
        return self

    def _outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        out = self.model_.predict(X, batch_size=max(self.batch_size or 0, 256))
        return out.reshape(len(X), -1).astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A glassnet model as a scikit-learn classifier.

    Labels of any kind (strings, integers with gaps) are encoded to 0..K-1; the
    model ends in ``Dense(K, activation="softmax")`` (or ``Dense(1, "sigmoid")`` for
    two classes) and the loss defaults to the matching cross-entropy.

    Args:
        model: a glassnet Model (copied at each ``fit``, so it keeps its weights as the
            starting point), or a function returning one. The function receives the
            routed ``model__*`` parameters and, when it names them, ``n_features_in_``,
            ``n_classes_``, ``n_outputs_`` and ``seed`` (from ``random_state``).
            Defaults to ``None``: ``Dense(100, relu) -> Dense(n_classes_, softmax)``.
        epochs: passes over the data. Defaults to ``10``.
        batch_size: Defaults to ``32``.
        optimizer: a name, an Optimizer class or instance (its settings are copied).
            Defaults to ``"adam"``.
        loss: a name or Loss. Defaults to ``None``: the model's cross-entropy.
        callbacks: glassnet callbacks (copied at each ``fit``). Defaults to ``None``.
        validation_split: the fraction of the data held out for ``val_`` metrics. Defaults to ``0.0``.
        shuffle: Defaults to ``True``.
        verbose: 0 silent, 1 progress bar. Defaults to ``0``.
        random_state: an int seeding the build function (``seed``) and the shuffling. Defaults to ``None``.
        **routed: ``model__*``, ``optimizer__*``, ``loss__*``, ``fit__*`` parameters.

    >>> from sklearn.datasets import load_iris
    >>> x, y = load_iris(return_X_y=True)
    >>> clf = NeuralNetClassifier(epochs=30, model__units=16, optimizer__learning_rate=0.01, random_state=0)
    >>> clf.fit(x, y).score(x, y) > 0.9
    True
    """

    _classifier = True

    @staticmethod
    def _default_model(n_features_in_, n_classes_, units=100, activation="relu", seed=None):
        outputs, final = (1, "sigmoid") if n_classes_ == 2 else (n_classes_, "softmax")
        return default_model(n_features_in_, outputs, units, activation, final, seed)

    def _encode(self, y):
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"NeuralNetClassifier supports binary and multiclass targets; received "
                             f"{type_of_target(y)} y")
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"NeuralNetClassifier needs at least 2 classes in y; received 1 class: {self.classes_}")
        self.n_classes_, self.n_outputs_ = len(self.classes_), 1
        return self._encoder.transform(y)

    def _default_loss(self):
        units = self.model_.predict(np.zeros((1, self.n_features_in_), np.float32)).size
        return "binary_crossentropy" if units == 1 else "sparse_categorical_crossentropy"

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the order of ``classes_``."""
        out = self._outputs(X)
        if out.shape[1] == 1:
            p = np.clip(out[:, 0], 0.0, 1.0)
            return np.column_stack([1 - p, p])
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class of each sample."""
        labels = self.predict_proba(X).argmax(axis=1)
        return self.classes_[labels]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A glassnet model as a scikit-learn regressor (loss defaults to ``"mse"``).

    Takes the arguments of :class:`NeuralNetClassifier`; the default model ends in a
    linear ``Dense(n_outputs_)``.

    >>> x = np.linspace(-1, 1, 128).reshape(-1, 1).astype(np.float32)
    >>> reg = NeuralNetRegressor(epochs=200, batch_size=16, model__units=32, random_state=0)
    >>> reg.fit(x, x[:, 0] ** 2).score(x, x[:, 0] ** 2) > 0.9
    True
    """

    _classifier = False

    @staticmethod
    def _default_model(n_features_in_, n_outputs_, units=100, activation="relu", seed=None):
        return default_model(n_features_in_, n_outputs_, units, activation, "linear", seed)

    def _encode(self, y):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y = np.asarray(y, dtype=np.float32)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return y

    def _default_loss(self):
        return "mse"

    def predict(self, X):
        """The predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        out = self._outputs(X)
        return out[:, 0] if self.n_outputs_ == 1 else out
