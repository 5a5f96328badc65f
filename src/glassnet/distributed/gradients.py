"""Averaging gradients across ranks with one bucketed all-reduce over a packed buffer,
and the Horovod-style ``DistributedOptimizer`` built on it.

Each rank ``r`` holds the gradient ``g_r`` of the mean loss over its ``n_r`` samples.
The gradient of the mean loss over the whole global batch is

    g = sum_r n_r * g_r / sum_r n_r

so each rank packs ``n_r * g_r`` (every parameter, one after the other), ``n_r`` and its
weighted loss into one buffer, the ranks sum it in a few large all-reduces, and each
divides by the summed ``n``. Every rank then holds the same ``g`` and takes the same
optimizer step, so the weights stay equal without being sent again.
"""
import numpy as np

from .world import init

BUCKET_BYTES = 64 << 20  # one all-reduce per 64 MiB of gradient (a huge model still sends in pieces)


class GradientAverager:
    """Averages the ``.grad`` of ``params`` across the ranks of ``world``, in place.

    A parameter without a gradient on every rank keeps ``grad = None`` (its optimizer
    skips it, as in one process); one that has a gradient on some ranks gets the
    average, the others counting as zero.
    """

    def __init__(self, world, params, bucket_bytes=BUCKET_BYTES):
        self.world, self.params = world, list(params)
        dtype = np.result_type(*[p.dtype for p in self.params])
        self.offsets = np.concatenate([[0], np.cumsum([p.size for p in self.params])]).tolist()
        size = self.offsets[-1]
        # [n_r * g_r for every parameter | n_r * loss_r | n_r | 1 per parameter that has a gradient]
        self.buffer = np.empty(size + 2 + len(self.params), dtype=dtype)
        self.bucket_elements = max(1, bucket_bytes // self.buffer.itemsize)
        self.gradient_elements = size

    def __call__(self, count, loss=0.0):
        """Average the gradients over the ranks; ``count``: this rank's samples in the
        batch (0 for a rank whose shard is empty), ``loss``: its mean loss.

        Returns:
            The mean loss over every rank's samples.
        """
        if self.world.size == 1:  # nothing to average: the gradients are the whole batch's already
            return float(loss)
        buffer, size = self.buffer, self.gradient_elements
        for i, (p, lo, hi) in enumerate(zip(self.params, self.offsets, self.offsets[1:])):
            has = p.grad is not None and count > 0
            if has:
                np.multiply(p.grad.reshape(-1), count, out=buffer[lo:hi], casting="same_kind")
            else:
                buffer[lo:hi] = 0
            buffer[size + 2 + i] = 1 if has else 0
        buffer[size], buffer[size + 1] = count * loss if count else 0.0, count
        self.world.sum_(buffer, self.bucket_elements)
        total = buffer[size + 1]
        for i, (p, lo, hi) in enumerate(zip(self.params, self.offsets, self.offsets[1:])):
            if buffer[size + 2 + i] == 0:
                p.grad = None
                continue
            gradient = buffer[lo:hi]
            gradient /= total
            p.grad = gradient.reshape(p.shape).astype(p.dtype, copy=False)
        return float(buffer[size] / total)


def broadcast_parameters(params, world=None):
    """Give every rank rank 0's values of ``params`` (Parameters, Buffers or a Module:
    then its parameters and buffers), in place.

    >>> import glassnet as gn
    >>> layer = gn.nn.Dense(2, input_dim=3, seed=0)
    >>> broadcast_parameters(layer)   # one process: nothing changes
    """
    world = world if world is not None else init()
    if hasattr(params, "named_buffers"):
        params = [t for _, t in params.named_parameters()] + [t for _, t in params.named_buffers()]
    for p in params:
        world.broadcast_(p.data)


class DistributedOptimizer:
    """Wrap an optimizer so that ``step()`` first averages the gradients across the ranks
    (Horovod's ``DistributedOptimizer``). Making it gives every rank rank 0's weights.

    For a hand-written training loop; ``Model.fit(..., distributed=True)`` does the same
    for the Keras-style loop. Each rank passes its own shard of the data; the average is
    taken over ranks with equal weight (equal shards), as Horovod does.

    Args:
        optimizer: a ``glassnet.optim`` optimizer bound to the parameters.
        bucket_bytes: the size of one all-reduce. Defaults to 64 MiB.

    Attribute reads and writes other than ``step`` go to the wrapped optimizer.

    >>> import glassnet as gn
    >>> net = gn.nn.Linear(3, 1, seed=0)
    >>> opt = DistributedOptimizer(gn.optim.SGD(net.parameters(), lr=0.1))
    >>> loss = (net(gn.Tensor([[1.0, 2.0, 3.0]])) ** 2).sum()
    >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, optimizer, bucket_bytes=BUCKET_BYTES):
        if not hasattr(optimizer, "step") or not getattr(optimizer, "params", None):
            raise TypeError(f"DistributedOptimizer wraps an optimizer bound to parameters "
                            f"(gn.optim.SGD(model.parameters(), lr=0.1)). Received: optimizer={optimizer!r:.80}")
        world = init()
        broadcast_parameters(optimizer.params, world)
        object.__setattr__(self, "optimizer", optimizer)
        object.__setattr__(self, "averager", GradientAverager(world, optimizer.params, bucket_bytes))

    def step(self):
        """Average every gradient over the ranks (one bucketed all-reduce), then update."""
        self.averager(1)
        self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.optimizer, name)

    def __setattr__(self, name, value):
        setattr(self.optimizer, name, value)

    def __repr__(self):
        return f"DistributedOptimizer({self.optimizer!r})"
