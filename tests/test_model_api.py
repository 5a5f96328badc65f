"""Bad input to compile, fit, evaluate and predict: a clear error naming the argument, every
time (a table of the common mistakes, then hypothesis drawing bad values for each argument)."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet import callbacks, nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 4)).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[np.arange(20) % 3]
LABELS = np.arange(20) % 3
BINARY = (np.arange(20) % 2).astype(np.float32)
ERRORS = (ValueError, TypeError, RuntimeError)


def _net(last="softmax", units=3, loss="categorical_crossentropy", compiled=True, input_dim=None):
    model = gn.Sequential([nn.Dense(5, activation="relu", input_dim=input_dim), nn.Dense(units, activation=last)],
                          seed=0)
    if compiled:
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def _binary(last="sigmoid"):
    return _net(last, 1, "binary_crossentropy")


def _fit(model=None, x=X, y=Y, **kwargs):
    return lambda: (model or _net()).fit(x, y, verbose=kwargs.pop("verbose", 0), **kwargs)


def _empty():
    model = gn.Sequential([])
    model.compile(loss="mse")
    return model


def _built_dense_64():
    model = gn.Sequential([nn.Dense(3, activation="softmax", input_dim=64)])
    model.compile(loss="categorical_crossentropy")
    return model


# (label, call, words the message must contain)
TABLE = [
    ("compile optimizer=5", lambda: _net(compiled=False).compile(optimizer=5, loss="mse"), ["optimizer=5"]),
    ("compile loss=5", lambda: _net(compiled=False).compile(loss=5), ["loss=5"]),
    ("compile unknown loss", lambda: _net(compiled=False).compile(loss="evil"), ["unknown loss 'evil'"]),
    ("compile without loss", lambda: _net(compiled=False).compile(), ["needs a loss"]),
    ("compile metrics a string", lambda: _net(compiled=False).compile(loss="mse", metrics="accuracy"),
     ["metrics='accuracy'"]),
    ("compile metrics [5]", lambda: _net(compiled=False).compile(loss="mse", metrics=[5]), ["metric", "5"]),
    ("compile unknown metric", lambda: _net(compiled=False).compile(loss="mse", metrics=["evil"]),
     ["unknown metric 'evil'"]),
    ("fit before compile", lambda: _net(compiled=False).fit(X, Y), ["compile"]),
    ("evaluate before compile", lambda: _net(compiled=False).evaluate(X, Y), ["compile"]),
    ("fit initial_epoch=-3", _fit(epochs=2, initial_epoch=-3), ["initial_epoch=-3"]),
    ("fit initial_epoch=1.5", _fit(epochs=2, initial_epoch=1.5), ["initial_epoch=1.5"]),
    ("fit initial_epoch=5, epochs=2", _fit(epochs=2, initial_epoch=5), ["initial_epoch=5", "epochs=2"]),
    ("fit initial_epoch=2, epochs=2", _fit(epochs=2, initial_epoch=2), ["initial_epoch=2"]),
    ("fit validation_split='0.1'", _fit(validation_split="0.1"), ["validation_split='0.1'"]),
    ("fit validation_split=1.5", _fit(validation_split=1.5), ["validation_split=1.5"]),
    ("fit validation_split=nan", _fit(validation_split=float("nan")), ["validation_split=nan"]),
    ("fit validation_split=True", _fit(validation_split=True), ["validation_split=True"]),
    ("fit validation_split=0.001", _fit(validation_split=0.001), ["validation_split=0.001"]),
    ("fit epochs=-1", _fit(epochs=-1), ["epochs=-1"]),
    ("fit epochs='2'", _fit(epochs="2"), ["epochs='2'"]),
    ("fit batch_size=0", _fit(batch_size=0), ["batch_size=0"]),
    ("fit verbose='x'", _fit(verbose="x"), ["verbose='x'"]),
    ("fit verbose=5", _fit(verbose=5), ["verbose=5"]),
    ("fit shuffle='no'", _fit(shuffle="no"), ["shuffle='no'"]),
    ("fit callbacks=History()", _fit(callbacks=callbacks.History()), ["callbacks="]),
    ("fit callbacks=[5]", _fit(callbacks=[5]), ["callbacks", "5"]),
    ("fit class_weight=[1, 2, 3]", _fit(class_weight=[1, 2, 3]), ["class_weight=[1, 2, 3]"]),
    ("fit class_weight missing classes", _fit(class_weight={0: 1.0}), ["class_weight", "[1, 2]"]),
    ("fit class_weight value 'a'", _fit(class_weight={0: "a", 1: 1, 2: 1}), ["class_weight", "'a'"]),
    ("fit sample_weight negative", _fit(sample_weight=-np.ones(20)), ["sample_weight", ">= 0"]),
    ("fit sample_weight short", _fit(sample_weight=np.ones(3)), ["sample_weight", "(3,)"]),
    ("fit seed='a'", _fit(seed="a"), ["seed='a'"]),
    ("fit validation_data=x", _fit(validation_data=X), ["validation_data"]),
    ("fit validation_data weights 'w'", _fit(validation_data=(X, Y, "w")), ["validation_data sample_weight"]),
    ("fit validation_data 3 features", _fit(validation_data=(X[:, :3], Y)), ["4 input features", "(20, 3)"]),
    ("fit validation_data y of 2 columns", _fit(validation_data=(X, Y[:, :2])), ["y_true", "(20, 2)"]),
    ("Sequential([]).fit", lambda: _empty().fit(X, Y, verbose=0), ["no layers"]),
    ("Sequential([]).predict", lambda: gn.Sequential([]).predict(X), ["no layers"]),
    ("fit 1-D x", _fit(x=X[:, 0]), ["x with shape (20,)", "reshape(-1, 1)"]),
    ("fit x None", _fit(x=None), ["x must be numeric"]),
    ("fit x strings", _fit(x=np.array([["a"] * 4] * 20)), ["x must be numeric"]),
    ("fit x ragged", _fit(x=[[1, 2], [1]] * 10), ["x must be array-like"]),
    ("fit x complex", _fit(x=X + 1j), ["x must be numeric", "complex"]),
    ("fit x with NaN", _fit(x=np.where(X > 1, np.nan, X)), ["x contains NaN"]),
    ("fit x empty", _fit(x=X[:0], y=Y[:0]), ["x is empty"]),
    ("fit y None", _fit(y=None), ["y must be numeric"]),
    ("fit y ragged", _fit(y=[[1], [1, 2]] * 10), ["y must be array-like"]),
    ("fit y with inf", _fit(y=np.where(Y > 0, np.inf, Y)), ["y contains NaN or inf"]),
    ("fit y short", _fit(y=Y[:5]), ["y with shape (5, 3)"]),
    ("fit (n, 8, 8) into Dense", _fit(x=RNG.standard_normal((20, 8, 8))), ["Flatten()"]),
    ("fit (n, 8, 8) into Dense(input_dim=64)", lambda: _built_dense_64().fit(RNG.standard_normal((20, 8, 8)), Y,
                                                                              verbose=0), ["Flatten()"]),
    ("fit x of 3 features after 4", lambda: (lambda m: (m.fit(X, Y, verbose=0), m.fit(X[:, :3], Y, verbose=0)))(
        _net()), ["expects 4 input features"]),
    ("categorical CE with integer labels", _fit(y=LABELS), ["sparse_categorical_crossentropy"]),
    ("categorical CE with (n, 1) labels", _fit(y=LABELS.reshape(-1, 1)), ["sparse_categorical_crossentropy"]),
    ("categorical CE rows summing to 3", _fit(y=Y * 3), ["probability distribution"]),
    ("categorical CE negative rows", _fit(y=Y * 2 - 0.5), ["probability distribution"]),
    ("binary CE labels 0..2", _fit(_binary(), y=LABELS), ["[0, 1]", "sparse_categorical_crossentropy"]),
    ("binary CE labels -1/1", _fit(_binary(), y=BINARY * 2 - 1), ["[0, 1]", "hinge"]),
    ("binary CE labels 255", _fit(_binary(), y=BINARY * 255), ["[0, 1]"]),
    ("binary CE on a linear output", _fit(_binary(last=None), y=BINARY), ["from_logits=True"]),
    ("categorical CE on a linear output", _fit(_net(last=None)), ["from_logits=True"]),
    ("categorical CE on a relu output", _fit(_net(last="relu")), ["from_logits=True"]),
    ("sparse CE on a linear output", _fit(_net(last=None, loss="sparse_categorical_crossentropy"), y=LABELS),
     ["from_logits=True"]),
    ("sparse CE labels 0..3", _fit(_net(loss="sparse_categorical_crossentropy"), y=np.arange(20) % 4),
     ["labels", "[0, 3)"]),
    ("sparse CE fractional labels", _fit(_net(loss="sparse_categorical_crossentropy"), y=LABELS + 0.5),
     ["labels must be integers"]),
    ("mse with y of 2 columns", _fit(_net(loss="mse"), y=Y[:, :2]), ["y_true with shape (20, 2)"]),
    ("evaluate 1-D x", lambda: _net().evaluate(X[:, 0], Y), ["x with shape (20,)"]),
    ("evaluate batch_size=-1", lambda: _net().evaluate(X, Y, batch_size=-1), ["batch_size=-1"]),
    ("evaluate y short", lambda: _net().evaluate(X, Y[:5]), ["y with shape (5, 3)"]),
    ("evaluate integer labels", lambda: _net().evaluate(X, LABELS), ["sparse_categorical_crossentropy"]),
    ("evaluate x with NaN", lambda: _net().evaluate(X * np.nan, Y), ["x contains NaN"]),
    ("evaluate binary labels 0..2", lambda: _binary().evaluate(X, LABELS), ["[0, 1]"]),
    ("evaluate linear output, binary CE", lambda: _binary(last=None).evaluate(X, BINARY), ["from_logits=True"]),
    ("predict 1-D x", lambda: _net().predict(X[:, 0]), ["x with shape (20,)"]),
    ("predict batch_size=0", lambda: _net().predict(X, batch_size=0), ["batch_size=0"]),
    ("predict empty x", lambda: _net().predict(X[:0]), ["x is empty"]),
    ("predict a string", lambda: _net().predict("x"), ["x must be numeric"]),
    ("predict a scalar", lambda: _net().predict(3.0), ["batch dimension"]),
    ("predict x with inf", lambda: _net().predict(X * np.inf), ["x contains NaN or inf"]),
    ("predict 3 features after 4", lambda: (lambda m: (m.predict(X), m.predict(X[:, :3])))(_net()),
     ["expects 4 input features", "(20, 3)"]),
    ("predict (n, 8, 8) into Dense(input_dim=64)", lambda: _built_dense_64().predict(RNG.standard_normal((20, 8, 8))),
     ["Flatten()"]),
    ("train_on_batch 1-D x", lambda: _net().train_on_batch(X[:, 0], Y), ["x with shape (20,)"]),
]


def test_common_mistakes_get_clear_errors(edge_cases):
    cases = edge_cases("Model API")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning instead of an error would count as obscure
        for label, call, words in TABLE:
            cases.check(label, call, ERRORS, words)
    cases.assert_clean()


def test_the_good_counterparts_still_train():
    """The checks above do not refuse what is right: soft labels, smoothed rows, logits with
    from_logits=True, epochs=0, resuming at initial_epoch < epochs, validation sample weights."""
    model = _net(last=None, loss=nn.CategoricalCrossentropy(from_logits=True))
    history = model.fit(X, Y * 0.9 + 0.1 / 3, epochs=3, initial_epoch=1, verbose=0,
                        validation_data=(X, Y, np.ones(20)))
    assert history.epoch == [1, 2] and len(history.history["val_loss"]) == 2
    assert _binary().fit(X, BINARY * 0.8 + 0.1, epochs=0, verbose=0).history == {}
    assert _net().fit(X, Y, verbose="auto", shuffle=False, validation_split=0.25, epochs=1) is not None


_NOT_INT = st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2))
_BAD = {
    "epochs": st.one_of(st.integers(max_value=-1), _NOT_INT, st.none()),
    "batch_size": st.one_of(st.integers(max_value=0), _NOT_INT),
    "initial_epoch": st.one_of(st.integers(max_value=-1), st.integers(min_value=2), _NOT_INT),
    "validation_split": st.one_of(st.floats().filter(lambda v: not 0 <= v < 1), st.floats(0.0, 0.02).filter(bool),
                                  st.text(max_size=3), st.booleans().filter(bool), st.just(float("nan"))),
    "verbose": st.one_of(st.integers().filter(lambda v: v not in (0, 1, 2)), st.floats(), st.text(max_size=3)),
    "shuffle": st.one_of(st.integers(), st.text(max_size=3), st.none()),
    "sample_weight": st.one_of(st.floats(max_value=-0.01).map(lambda v: np.full(20, v)),
                               st.integers(0, 19).map(np.ones), st.just(np.full(20, np.nan))),
    "class_weight": st.one_of(st.lists(st.floats(), max_size=3), st.text(max_size=3),
                              st.dictionaries(st.integers(0, 2), st.floats(max_value=-0.01), min_size=3)),
    "seed": st.one_of(st.floats(), st.text(min_size=1, max_size=3)),
    "callbacks": st.one_of(st.integers(), st.text(min_size=1, max_size=3), st.lists(st.integers(), min_size=1)),
}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hypothesis_bad_fit_arguments(edge_cases, data):
    cases = edge_cases("Model API")
    name = data.draw(st.sampled_from(sorted(_BAD)))
    value = data.draw(_BAD[name])
    kwargs = {name: value, "epochs": 2} if name != "epochs" else {name: value}
    cases.check(f"fit({name}={value!r:.40})", _fit(**kwargs), ERRORS, [name])
    cases.assert_clean()


_BAD_DATA = st.one_of(
    st.tuples(st.just("x"), st.sampled_from([X[:, 0], X[:, :3], X[:0], X * np.nan, X * np.inf, X.astype(str),
                                              RNG.standard_normal((20, 2, 2)), np.array(3.0)])),
    st.tuples(st.just("y"), st.sampled_from([Y[:5], Y[:, :2], LABELS, Y * 2, Y * np.nan, Y.astype(str)])),
    st.tuples(st.just("batch_size"), st.one_of(st.integers(max_value=0), _NOT_INT)),
)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["fit", "evaluate", "predict"]), bad=_BAD_DATA)
def test_hypothesis_bad_data(edge_cases, which, bad):
    cases = edge_cases("Model API")
    name, value = bad
    if which == "predict" and name == "y":
        return
    args = {"x": X, "y": Y, "batch_size": 8, name: value}
    model = _net(input_dim=4)  # built: x of another shape is wrong
    call = {"fit": lambda: model.fit(args["x"], args["y"], batch_size=args["batch_size"], verbose=0),
            "evaluate": lambda: model.evaluate(args["x"], args["y"], batch_size=args["batch_size"]),
            "predict": lambda: model.predict(args["x"], batch_size=args["batch_size"])}[which]
    words = {"x": ["x"], "y": ["y"], "batch_size": ["batch_size"]}[name]
    cases.check(f"{which} with a bad {name}", call, ERRORS, words)
    cases.assert_clean()


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argument=st.sampled_from(["optimizer", "loss", "metrics"]),
       value=st.one_of(st.integers(), st.text(min_size=1, max_size=4).filter(str.isalpha),
                       st.lists(st.integers(), min_size=1, max_size=2), st.floats()))
def test_hypothesis_bad_compile_arguments(edge_cases, argument, value):
    cases = edge_cases("Model API")
    kwargs = {"optimizer": "adam", "loss": "mse", argument: value}
    if argument == "metrics" and isinstance(value, str):
        words = ["metrics"]
    else:
        words = [argument if argument != "metrics" else "metric"]
    if argument in ("optimizer", "loss") and isinstance(value, str) and value.lower() in (
            gn.optim.OPTIMIZERS if argument == "optimizer" else nn.losses.LOSSES):
        return  # a real name
    cases.check(f"compile({argument}={value!r:.30})", lambda: _net(compiled=False).compile(**kwargs), ERRORS, words)
    cases.assert_clean()


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy"])
def test_label_checks_follow_keras_soft_labels(loss):
    """Soft labels stay accepted: probabilities for binary CE, distributions for categorical CE."""
    model = _binary() if loss == "binary_crossentropy" else _net()
    y = np.full(20, 0.3, np.float32) if loss == "binary_crossentropy" else np.full((20, 3), 1 / 3, np.float32)
    assert np.isfinite(model.fit(X, y, epochs=1, verbose=0).history["loss"][0])
