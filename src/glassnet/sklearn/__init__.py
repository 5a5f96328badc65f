"""scikit-learn estimators built on glassnet (needs the ``sklearn`` extra: scikit-learn, SciPy).

- :class:`MLPClassifier`, :class:`MLPRegressor`: drop-ins for scikit-learn's
  multilayer perceptrons (same parameters, defaults, attributes and methods).
- :class:`NeuralNetClassifier`, :class:`NeuralNetRegressor`: any glassnet model
  (or a function that builds one) as an estimator, tunable by ``GridSearchCV``.
"""
from ._checks import expected_failed_checks
from ._mlp import MLPClassifier, MLPRegressor
from ._wrapper import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor", "expected_failed_checks"]
