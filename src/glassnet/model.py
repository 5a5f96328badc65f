"""Model: a network with compile, build, devices and weights; its training loop is the Trainer's.

Subclass ``Model`` and define ``forward`` for a custom network, or use
``Sequential`` for a stack of layers. ``fit``, ``evaluate`` and ``predict`` live in
:mod:`glassnet.trainer`.
"""
import threading

from . import metrics as metrics_lib
from . import optim
from .backend import to_numpy
from .data_checks import as_features, as_targets
from .nn import losses as losses_lib
from .nn.layer import Layer
from .nn.module import evaluating
from .nn.symbolic import concrete, is_symbolic
from .summary import layer_names, snake_case
from .tensor import Tensor, no_grad
from .trainer import DivergenceWarning, Trainer  # noqa: F401 - DivergenceWarning: glassnet.model's name too


_BUILDING = threading.RLock()  # held while a model builds its weights and binds its optimizer



class Model(Trainer, Layer):
    """A network with a training loop.

    ``Model(inputs, outputs)`` with symbolic tensors from ``glassnet.Input`` makes a
    functional model (:class:`glassnet.functional_model.Functional`), as in Keras.

    >>> import glassnet as gn
    >>> import numpy as np
    >>> model = gn.Sequential([gn.nn.Dense(8, activation="relu"), gn.nn.Dense(1, activation="sigmoid")], seed=0)
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    >>> x = np.random.default_rng(0).standard_normal((64, 2)); y = (x[:, 0] > 0) * 1.0
    >>> history = model.fit(x, y, epochs=3, verbose=0, seed=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    """

    _functional = None  # the class Model(inputs, outputs) makes; set by glassnet.functional_model
    _sync = None  # during fit(distributed=True): this rank's DistributedFit

    def __new__(cls, *args, **kwargs):
        if cls is Model and (kwargs.get("inputs") is not None or (args and is_symbolic(args[0]))):
            cls = Model._functional
        return super().__new__(cls)

    def __init_subclass__(cls, functional=False, **kwargs):
        super().__init_subclass__(**kwargs)
        if functional:
            Model._functional = cls

    def __init__(self, name=None, seed=None):
        super().__init__(name)
        self.seed = seed
        self.optimizer = self.loss = None
        self.metrics = []
        self.stop_training = False
        self.compiled = False
        self.metadata = {}  # JSON-ready facts saved with the model (data set, class names, ...)
        self._penalty_modules = None

    def _waits_for_input(self):
        return False  # a container: its layers answer for themselves

    # -- configuration ---------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, loss_weights=None):
        """Choose the optimizer, the loss and the metrics (names or objects).

        A model with several outputs takes a loss, metrics and ``loss_weights``
        per output (lists in output order, or dicts keyed by output name).

        Raises:
            ValueError: an unknown name (the message lists the known ones).
        """
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='categorical_crossentropy'")
        self.optimizer = optim.get(optimizer)
        self._compile_loss(loss, metrics, loss_weights)
        self.compiled = True
        if self.built:
            self._bind_optimizer()

    def _compile_loss(self, loss, metrics, loss_weights):
        """One output: one loss and its metrics (a model with several outputs overrides this)."""
        if loss_weights is not None:
            raise ValueError(f"loss_weights weighs the losses of a model with several outputs; this model "
                             f"has one. Received: loss_weights={loss_weights!r}")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"metrics must be a list of metric names or Metric objects; received: "
                            f"metrics={metrics!r:.80}")
        self.loss = losses_lib.get(loss)
        self.metrics = [metrics_lib.get(m) for m in (metrics or [])]

    def _bind_optimizer(self):
        """Give the optimizer the trainable parameters; again (fresh state) when a layer's
        ``trainable`` changed since. Frozen parameters get no gradient at all."""
        trainable = self.trainable_parameters()
        if [id(p) for p in self.optimizer.params] != [id(p) for p in trainable]:
            keep = {id(p) for p in trainable}
            for p in self.parameters():
                p.requires_grad = id(p) in keep
            self.optimizer.bind(trainable)

    def build(self, input_shape):
        """Create every weight by running one sample of ``input_shape`` (batch first,
        as in ``build((None, 8, 8, 1))``) through the network. A ``None`` past the batch
        axis (``build((None, None, 64))``: sequences of any length) stays open."""
        self._input_shape = tuple(input_shape[1:])
        with evaluating(), no_grad():  # NOTE: a zero sample must not move batch statistics or draw dropout masks
            self.forward(Tensor(self._device_module.zeros((1, *concrete(input_shape[1:])), dtype=self.dtype)))
        self.built = True

    def to(self, device):
        """Move the weights, and the optimizer's state, to ``device`` (``"cpu"``, ``"gpu"``, ``"cuda"``);
        ``fit``, ``evaluate`` and ``predict`` then move each batch there (``predict`` answers NumPy).

        Raises:
            ImportError: a GPU was asked for and CuPy is not installed.
            RuntimeError: CuPy found no CUDA device.
            ValueError: an unknown device name.
        """
        super().to(device)
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and optimizer.params:
            optimizer._move_state(self._device_module)
        return self

    def _ensure_built(self, x):
        """Build on the array (or arrays) ``x`` if needed; bind the optimizer."""
        if self.built and (not self.compiled or self.optimizer.params):
            return
        # NOTE: one thread builds and binds: a predict racing a fit on a fresh model would
        # otherwise build a second set of weights after the optimizer took the first.
        with _BUILDING:
            if not self.built:
                self.build(x.shape)
            if self.compiled:
                self._bind_optimizer()

    def _input_data(self, x, name="x"):
        """``x`` checked and converted (a model with several inputs takes lists and dicts)."""
        return as_features(x, name, self.dtype)

    def _target_data(self, y, n, name="y"):
        """``y`` checked against ``n`` samples (a model with several outputs takes lists and dicts)."""
        return as_targets(y, n, name)

    def _update_metrics(self, metrics, y, output, sample_weight):
        probabilities = to_numpy(self._probabilities(output))  # NOTE: metrics count on the host
        for m in metrics:
            m.update_state(y, probabilities, sample_weight)

    def _training_loss(self, y, output, sample_weight, prepared=False):
        """Subclasses that fuse the output activation into the loss override this pair.
        ``prepared``: ``y`` went through ``loss.prepare_target`` already."""
        if prepared:
            return self.loss.compute(y, output, sample_weight)
        return self.loss(y, output, sample_weight=sample_weight)

    def _forward_for_loss(self, x):
        return self.forward(x)

    def _probabilities(self, output):
        return output.data


    def get_layer(self, name=None, index=None):
        """Keras's: a layer by its name (as ``summary()`` shows it) or by its index in ``layers``.

        Raises:
            ValueError: neither or both given, or no layer of that name (the message lists the names).
        """
        if (name is None) == (index is None):
            raise ValueError(f"get_layer takes a name or an index. Received: name={name!r}, index={index!r}")
        layers = list(getattr(self, "layers", None) or (m for m in self.children() if isinstance(m, Layer)))
        if index is not None:
            return layers[index]
        names = layer_names(layers, lambda layer: snake_case(type(layer).__name__))
        if name not in names:
            raise ValueError(f"no layer named {name!r}; the model's layers are {names}")
        return layers[names.index(name)]


    def save_weights(self, path):
        """Write the weights alone (a safetensors file with checksums; name it ``*.weights.safetensors``).

        Raises:
            ValueError: a name ending in .keras, .h5 or another library's suffix.
        """
        from .saving import save_weights  # noqa: PLC0415 - saving needs the optional safetensors

        save_weights(self, path)

    def load_weights(self, path):
        """Load weights written by ``save_weights`` (or ``save``) into this built model, by name."""
        from .saving import load_weights  # noqa: PLC0415

        load_weights(self, path)

    def save(self, path):
        """Write the architecture, training config, weights and optimizer state to one file."""
        from .saving import save_model  # noqa: PLC0415 - saving needs the optional safetensors

        save_model(self, path)

