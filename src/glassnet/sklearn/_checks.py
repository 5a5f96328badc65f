"""The scikit-learn estimator checks that an estimator cannot pass, each with its reason.

scikit-learn (since 1.6) declares expected failures to ``parametrize_with_checks`` and
``check_estimator`` through their ``expected_failed_checks`` argument rather than a tag:

    parametrize_with_checks(estimators, expected_failed_checks=expected_failed_checks)
"""
from ._mlp import MLPClassifier
from ._mlp_base import BaseMLP
from ._wrapper import _NeuralNet

_WEIGHTS = ("fitting with sample_weight=k equals repeating a sample k times to rtol=1e-7 only for "
            "full-batch L-BFGS in float64: mini-batches hold the repeated rows in other batches than the "
            "weighted ones, and float32 sums round differently (the regressor's check data fit one batch; "
            "its predictions differ by up to 1.4e-7 relative with OpenBLAS's AVX-512 kernels)")
_KERAS_WEIGHTS = ("Model.fit averages a weighted batch loss over the batch size, as Keras does, not over "
                  "the sum of the weights, so weights of k differ from k repeated rows")
_ROUTED = ("routed parameters such as model__units come through **kwargs and are set in __init__ as "
           "attributes; get_params lists them, so clone() and GridSearchCV handle them")


def expected_failed_checks(estimator):
    """``{check name: reason}`` for ``estimator`` (see the module's docstring)."""
    failed = {}
    exact = estimator.solver == "lbfgs" and estimator.dtype == "float64" if isinstance(estimator, BaseMLP) else False
    if isinstance(estimator, BaseMLP) and not exact:
        for data in ("dense", "sparse"):
            failed[f"check_sample_weight_equivalence_on_{data}_data"] = _WEIGHTS
    if isinstance(estimator, _NeuralNet):
        failed["check_sample_weight_equivalence_on_dense_data"] = _KERAS_WEIGHTS
        if estimator._routed():
            failed["check_no_attributes_set_in_init"] = _ROUTED
    return failed
