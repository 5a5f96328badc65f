"""The loss line with its formula and numbers, and dL/dz of the output layer."""
import numpy as np

from ..nn import activations
from ..nn import losses as losses_lib
from ..tensor import Tensor
from .render import Line, fmt, paren

# (output activation, loss) pairs whose dL/dz is the famous a - y
_SHORTCUTS = {("sigmoid", losses_lib.BinaryCrossentropy), ("softmax", losses_lib.CategoricalCrossentropy),
              ("softmax", losses_lib.SparseCategoricalCrossentropy)}


def loss_for(model, last_activation):
    """The model's compiled loss, else the usual one for its output activation."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, losses_lib.Loss):
        return loss
    if last_activation == "softmax":
        return losses_lib.CategoricalCrossentropy()
    return losses_lib.BinaryCrossentropy() if last_activation == "sigmoid" else losses_lib.MeanSquaredError()


def target_row(y, outputs):
    """``y`` as one row of ``outputs`` values (a class label becomes one-hot)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.size == outputs:
        return y
    if y.size == 1 and outputs > 1:
        label = int(y[0])
        if not 0 <= label < outputs or label != y[0]:
            raise ValueError(f"the label must be an integer in [0, {outputs}); received y={y[0]:g}")
        onehot = np.zeros(outputs)
        onehot[label] = 1.0
        return onehot
    raise ValueError(f"the target must have {outputs} values or be one class label; received {y.size} values")


def loss_value(loss_fn, out, t):
    """The loss of one sample by the library's own loss (the number printed)."""
    target = np.array([int(np.argmax(t))]) if isinstance(loss_fn, losses_lib.SparseCategoricalCrossentropy) \
        else t[None, :]
    return float(loss_fn(target, Tensor(out[None, :])).data)


def loss_lines(loss_fn, out, names, t, digits=6, max_terms=8, first=1):
    """The target, then ``L = formula = numbers = value`` for one sample (outputs y1, y2, ... from ``first``)."""
    n = out.size
    ys = ["y"] if n == 1 else [f"y{k + first}" for k in range(n)]
    onehot = n > 1 and set(np.unique(t)) <= {0.0, 1.0} and t.sum() == 1
    lines = [Line("loss", text=("target.class", {"label": int(np.argmax(t)), "y": fmt(t, digits)}) if onehot
                  else ("target", {"y": fmt(t if n > 1 else t[0], digits)}))]
    value = loss_value(loss_fn, out, t)
    a = [f"a{m}" for m in names]
    p, q = [paren(v, digits) for v in out], [paren(v, digits) for v in t]
    kind = type(loss_fn)
    if getattr(loss_fn, "from_logits", False):
        kind = None
    if kind is losses_lib.BinaryCrossentropy:
        terms = [f"({ys[k]}*log({a[k]}) + (1 - {ys[k]})*log(1 - {a[k]}))" for k in range(n)]
        nums = [f"({q[k]}*log({p[k]}) + (1 - {q[k]})*log(1 - {p[k]}))" for k in range(n)]
        mean = "" if n == 1 else f" / {n}"
        formula, subst = f"-({' + '.join(terms)}){mean}", f"-({' + '.join(nums)}){mean}"
        if n == 1:
            formula, subst = "-" + terms[0], "-" + nums[0]
    elif kind in (losses_lib.CategoricalCrossentropy, losses_lib.SparseCategoricalCrossentropy):
        formula = f"-({' + '.join(f'{ys[k]}*log({a[k]})' for k in range(n))})" if n <= max_terms \
            else f"-({ys[0]}*log({a[0]}) + ... + {ys[-1]}*log({a[-1]}))"
        hot = int(np.argmax(t))
        subst = f"-log({a[hot]}) = -log({fmt(out[hot], digits)})" if onehot else \
            f"-({' + '.join(f'{q[k]}*log({p[k]})' for k in range(n))})"
    elif kind in (losses_lib.MeanSquaredError, losses_lib.MeanAbsoluteError):
        square = kind is losses_lib.MeanSquaredError
        term = (lambda u, v: f"({u} - {v})^2") if square else (lambda u, v: f"|{u} - {v}|")
        formula = " + ".join(term(a[k], ys[k]) for k in range(n))
        subst = " + ".join(term(p[k], q[k]) for k in range(n))
        if n > 1:
            formula, subst = f"({formula}) / {n}", f"({subst}) / {n}"
    else:
        formula, subst = f"{type(loss_fn).__name__}(y, a)", ""
    lines.append(Line("loss", "L", formula, subst, value, ("loss",)))
    return lines


def output_delta(loss_fn, activation, z, out, t):
    """dL/dz of the output layer, and whether it is the shortcut a - y (else by autograd)."""
    if (activation, type(loss_fn)) in _SHORTCUTS and not getattr(loss_fn, "from_logits", False):
        dz = out - t if not isinstance(loss_fn, losses_lib.BinaryCrossentropy) else (out - t) / out.size
        return dz, True
    z_t = Tensor(z[None, :], requires_grad=True)
    target = np.array([int(np.argmax(t))]) if isinstance(loss_fn, losses_lib.SparseCategoricalCrossentropy) \
        else t[None, :]
    loss_fn(target, activations.get(activation if activation != "f" else "linear")(z_t)).backward()
    return z_t.grad[0], False
