"""The training loop shared by MLPClassifier and MLPRegressor: scikit-learn's rules, glassnet's engine.

The rules are scikit-learn's (``sklearn/neural_network/_multilayer_perceptron.py``):
weights drawn from ``random_state`` in its order, the epoch loop with its shuffling,
the loss curve and the ``tol`` / ``n_iter_no_change`` convergence test, early stopping
on a held-out score, the SGD learning-rate schedules, L-BFGS through SciPy. The forward
and backward passes and the updates are glassnet's (Dense layers, autograd, the SGD and
Adam optimizers of :mod:`glassnet.optim`).
"""
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import optim
from ..nn.activations import ACTIVATIONS
from ..optim.flat import FlatParams
from ._network import SKLEARN_ACTIVATIONS, MLPNetwork

_STOCHASTIC = ("sgd", "adam")


def _solver_names():
    return {"lbfgs", *optim.OPTIMIZERS.names()}


class BaseMLP(BaseEstimator):
    """Base class of the MLP estimators; use MLPClassifier or MLPRegressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({*SKLEARN_ACTIVATIONS, *ACTIVATIONS.names()} - {"softmax", "log_softmax"})],
        "solver": [StrOptions(_solver_names())],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        # glassnet's extras
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), None],
    }

    # -- fitted attributes that live in the glassnet layers ---------------------------------------
    @property
    def coefs_(self):
        """The kernels, layer by layer, shape (fan_in, fan_out): the layers' own arrays."""
        check_is_fitted(self, "_network")
        return [layer.kernel.data for layer in self._network.dense]

    @coefs_.setter
    def coefs_(self, values):
        self._set_weights("kernel", values)

    @property
    def intercepts_(self):
        """The biases, layer by layer: the layers' own arrays."""
        check_is_fitted(self, "_network")
        return [layer.bias.data for layer in self._network.dense]

    @intercepts_.setter
    def intercepts_(self, values):
        self._set_weights("bias", values)

    def _set_weights(self, name, values):
        check_is_fitted(self, "_network")
        for layer, value in zip(self._network.dense, values, strict=True):
            param = getattr(layer, name)
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(f"{name} of layer {self._network.dense.index(layer)} must have shape "
                                 f"{param.shape}. Received: shape {value.shape}")
            param.data[...] = value  # in place: the optimizer's packed buffer stays shared

    def __setstate__(self, state):
        super().__setstate__(state)
        # NOTE: pickling copies the parameters out of the optimizer's packed buffer; pack them again.
        opt = getattr(self, "_optimizer", None)
        if opt is not None and opt._flat is not None:
            states = opt._flat.per_param_state()
            opt._flat = FlatParams(opt.params)
            opt._flat.load_per_param_state(states)

    # -- fit ------------------------------------------------------------------------------------
    def _dtype(self, X):
        if self.dtype is None:
            return X.dtype
        return np.dtype(self.dtype)

    def _fit(self, X, y, sample_weight=None, incremental=False):
        self._validate_params()
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if any(h <= 0 for h in np.asarray(hidden).reshape(-1)):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        first_pass = not hasattr(self, "_network") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        layer_units = [X.shape[1], *hidden, y.shape[1]]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, self._dtype(X))
        elif self._network.dense[0].input_dim != X.shape[1] or self.n_outputs_ != y.shape[1]:
            raise ValueError(f"warm_start/partial_fit: X has {X.shape[1]} features and y {y.shape[1]} outputs; "
                             f"the network was built for {self._network.dense[0].input_dim} and {self.n_outputs_}")
        X = np.ascontiguousarray(X, dtype=self._network.dtype)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, y, sample_weight)
        else:
            self._fit_stochastic(X, y, sample_weight, incremental)
        if not all(np.isfinite(w).all() for w in (*self.coefs_, *self.intercepts_)):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        return self

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        self._network = MLPNetwork(layer_units, self.activation, self.out_activation_, self._random_state,
                                   dtype, self.dropout)
        self._best_weights = self._weights()
        self._optimizer = None
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
            else:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf

    def _weights(self):
        return [p.data.copy() for p in self._network.parameters()]

    def _restore(self, weights):
        for p, w in zip(self._network.parameters(), weights):
            p.data[...] = w

    def _make_optimizer(self):
        params = self._network.parameters()
        if self.solver == "sgd":
            momentum = self.momentum
            return optim.SGD(params, learning_rate=self.learning_rate_init, momentum=momentum,
                             nesterov=bool(self.nesterovs_momentum and momentum > 0))
        if self.solver == "adam":
            return optim.Adam(params, learning_rate=self.learning_rate_init, beta_1=self.beta_1,
                              beta_2=self.beta_2, epsilon=self.epsilon)
        return optim.OPTIMIZERS.get(self.solver)(params, learning_rate=self.learning_rate_init)

    def _fit_lbfgs(self, X, y, sample_weight):
        net, target = self._network, self._target(y)

        def loss_grad(vector):
            net.unpack(vector)
            loss = net.loss_and_grads(X, target, sample_weight, self.alpha, self.l1)
            return loss, net.pack(grads=True)

        net.train()
        result = scipy.optimize.minimize(loss_grad, net.pack(), method="L-BFGS-B", jac=True,
                                         options={"maxfun": self.max_fun, "maxiter": self.max_iter,
                                                  "gtol": self.tol})
        net.train(False)
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        net.unpack(result.x)

    def _fit_stochastic(self, X, y, sample_weight, incremental):
        if self._optimizer is None or not incremental:
            self._optimizer = self._make_optimizer()
            self._learning_rate = float(self.learning_rate_init)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X_val = y_val = sw_val = None
        if self.early_stopping:
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            parts = train_test_split(*arrays, random_state=self._random_state, test_size=self.validation_fraction,
                                     stratify=stratify)
            X, X_val, y, y_val = parts[:4]
            sample_weight, sw_val = (None, None) if sample_weight is None else parts[4:]
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size "
                                 "of your dataset.")
            y_val = self._decode(y_val)
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                              stacklevel=3)
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        target = self._target(y)
        # NOTE: the slices of sklearn.utils.gen_batches(n_samples, batch_size), made once: its
        # parameter validation cost ~0.3 ms an epoch, a fifth of an epoch on breast cancer.
        batches = [slice(start, min(start + batch_size, n_samples)) for start in range(0, n_samples, batch_size)]
        sample_idx = np.arange(n_samples)
        net, opt = self._network, self._optimizer
        net.train()
        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                if self.shuffle:
                    # NOTE: sklearn.utils.shuffle(sample_idx, random_state=rs) draws this same
                    # permutation, through input checks that cost ~1.5 ms an epoch on 20,000 rows.
                    order = np.arange(n_samples)
                    self._random_state.shuffle(order)
                    sample_idx = sample_idx[order]
                    Xe, te = X[sample_idx], target[sample_idx]
                    swe = None if sample_weight is None else sample_weight[sample_idx]
                else:
                    Xe, te, swe = X, target, sample_weight
                accumulated = 0.0
                for batch in batches:
                    swb = None if swe is None else swe[batch]
                    loss = net.loss_and_grads(Xe[batch], te[batch], swb, self.alpha, self.l1)
                    opt.step()
                    accumulated += loss * (batch.stop - batch.start)
                self.n_iter_ += 1
                self.loss_ = accumulated / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(X_val, y_val, sw_val)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    self._set_learning_rate(self.learning_rate_init / (self.t_ + 1) ** self.power_t)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} "
                           "consecutive epochs.")
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                                  "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
        finally:
            net.train(False)
        if self.early_stopping:
            self._restore(self._best_weights)

    def _set_learning_rate(self, value):
        self._learning_rate = float(value)
        self._optimizer.learning_rate = self._learning_rate

    def _trigger_stopping(self, msg):
        """scikit-learn's adaptive schedule: divide the rate by 5 instead of stopping, down to 1e-6."""
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if self._learning_rate <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._set_learning_rate(self._learning_rate / 5.0)
        if self.verbose:
            print(msg + f" Setting learning rate to {self._learning_rate:f}")
        return False

    def _update_no_improvement_count(self, X_val, y_val, sw_val):
        if self.early_stopping:
            self._network.train(False)
            score = self._score(X_val, y_val, sw_val)
            self._network.train()
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = self._weights()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    # -- predict ------------------------------------------------------------------------------------
    def _forward(self, X, check_input=True):
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float64, np.float32))
        if hasattr(X, "toarray"):
            X = X.toarray()
        # NOTE: float64 inputs make the products float64: a sample's prediction then does not
        # depend on the batch it comes in (float32 products do, in the last bits).
        return self._network.predict(np.asarray(X, dtype=np.float64))

    def _score_with(self, X, y, sample_weight, score_function):
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(np.asarray(y_pred).dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def _validate_X_y(self, X, y, reset, **kwargs):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset, **kwargs)
        if hasattr(X, "toarray"):  # NOTE: glassnet's layers compute on dense arrays
            X = X.toarray()
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
