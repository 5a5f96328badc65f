"""Seed 003's worked examples: the computation graph J = 3*(a + b*c), and logistic regression as
one neuron, for one sample and vectorised over three, in Andrew Ng's notation (``dz = a - y``,
``dw = x*dz``, ``db = dz``, each the derivative of the loss with respect to that value).

The seed's own printout (z = 1.04) came from a loop that overwrote z instead of summing;
here z = w1*x1 + w2*x2 + b = 1.07.
"""
import numpy as np

from ..tensor import Tensor
from .render import Explanation, Line, fmt, paren

X3 = np.array([[2.0, 3.0], [3.0, 4.0], [1.0, 5.0]])  # the seed's three samples
Y3 = np.array([1.0, 0.0, 1.0])


def graph_example():
    """J = 3*(a + b*c) with a=5, b=3, c=2, as Tensors (float64), before backward."""
    a, b, c = (Tensor(np.float64(v), requires_grad=True, name=n) for v, n in ((5.0, "a"), (3.0, "b"), (2.0, "c")))
    return 3 * (a + b * c)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def explain_logistic(learning_rate=0.1, x=(3.0, 4.0), w=(0.01, 0.01), b=1.0, y=1.0, digits=None):
    """Seed 003's logistic regression neuron, one sample then three vectorised: every number.

    Keys for the tests: ("z",), ("a",), ("loss",), ("da",), ("dz",), ("dw", i), ("db",),
    ("w_new", i), ("b_new",) for the one sample; ("Z", k), ("A", k), ("J",), ("dZ", k), ("dW", i),
    ("dB",), ("W_new", i), ("B_new",) for the three.
    """
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    n = lambda v: paren(v, digits)  # noqa: E731
    eta = learning_rate
    lines = [Line("forward", "x", "", "", x), Line("forward", "w", "", "", w), Line("forward", "b", "", "", b),
             Line("forward", "y", "", "", y)]
    z = float(w @ x + b)
    terms = " + ".join(f"w{i + 1}*x{i + 1}" for i in range(x.size))
    lines.append(Line("forward", "z", f"{terms} + b", " + ".join(f"{n(w[i])}*{n(x[i])}" for i in range(x.size))
                      + f" + {n(b)}", z, ("z",)))
    a = float(_sigmoid(z))
    lines.append(Line("forward", "a", "sigmoid(z) = 1/(1 + exp(-z))", f"1/(1 + exp(-{n(z)}))", a, ("a",)))
    loss = float(-(y * np.log(a) + (1 - y) * np.log(1 - a)))
    lines.append(Line("loss", "L", "-(y*log(a) + (1 - y)*log(1 - a))",
                      f"-({n(y)}*log({n(a)}) + (1 - {n(y)})*log(1 - {n(a)}))", loss, ("loss",)))
    da = -y / a + (1 - y) / (1 - a)
    dz = a - y
    lines += [Line("backward", "da", "dL/da = -y/a + (1 - y)/(1 - a)", f"-{n(y)}/{n(a)} + (1 - {n(y)})/(1 - {n(a)})",
                   da, ("da",)),
              Line("backward", "dz", "dL/dz = da * a*(1 - a) = a - y", f"{n(a)} - {n(y)}", dz, ("dz",))]
    for i in range(x.size):
        lines.append(Line("backward", f"dw{i + 1}", f"x{i + 1}*dz", f"{n(x[i])}*{n(dz)}", x[i] * dz, ("dw", i)))
    lines.append(Line("backward", "db", "dz", "", dz, ("db",)))
    for i in range(x.size):
        lines.append(Line("update", f"w{i + 1} <- w{i + 1} - eta*dw{i + 1}", "", f"{n(w[i])} - {eta:g}*{n(x[i] * dz)}",
                          w[i] - eta * x[i] * dz, ("w_new", i)))
    lines.append(Line("update", "b <- b - eta*db", "", f"{n(b)} - {eta:g}*{n(dz)}", b - eta * dz, ("b_new",)))

    # -- the three samples, vectorised ------------------------------------------------------------
    m = len(X3)
    # NOTE: the sums in the order the page writes them, not as BLAS products (X3 @ w, X3.T @ dZ): a BLAS
    # may fuse or reorder them, and then the last digit shown differs from the written sum's by machine
    Z = X3[:, 0] * w[0] + X3[:, 1] * w[1] + b
    A = _sigmoid(Z)
    losses = -(Y3 * np.log(A) + (1 - Y3) * np.log(1 - A))
    dZ = A - Y3
    dW = np.array([sum(X3[k, i] * dZ[k] for k in range(m)) / m for i in range(2)])  # (left to right)
    dB = float(sum(dZ[k] for k in range(m)) / m)
    v = "vectorised"
    lines += [Line(v, "X", "", "", X3), Line(v, "Y", "", "", Y3)]
    lines.append(Line(v, "Z", "X·w + b", "", Z))
    lines += [Line(v, f"z({k + 1})", f"w1*x({k + 1})1 + w2*x({k + 1})2 + b",
                   f"{n(w[0])}*{n(X3[k, 0])} + {n(w[1])}*{n(X3[k, 1])} + {n(b)}", Z[k], ("Z", k)) for k in range(m)]
    lines += [Line(v, f"a({k + 1})", f"sigmoid(z({k + 1}))", "", A[k], ("A", k)) for k in range(m)]
    lines += [Line(v, f"L({k + 1})", f"-(y({k + 1})*log(a({k + 1})) + (1 - y({k + 1}))*log(1 - a({k + 1})))", "",
                   losses[k]) for k in range(m)]
    lines.append(Line(v, "J", "(L(1) + L(2) + L(3)) / m", f"({' + '.join(n(l) for l in losses)}) / {m}",
                      float(losses.mean()), ("J",)))
    lines += [Line(v, f"dz({k + 1})", f"a({k + 1}) - y({k + 1})", f"{n(A[k])} - {n(Y3[k])}", dZ[k], ("dZ", k))
              for k in range(m)]
    for i in range(2):
        lines.append(Line(v, f"dw{i + 1}", f"(x(1){i + 1}*dz(1) + x(2){i + 1}*dz(2) + x(3){i + 1}*dz(3)) / m",
                          f"({' + '.join(f'{n(X3[k, i])}*{n(dZ[k])}' for k in range(m))}) / {m}", dW[i], ("dW", i)))
    lines.append(Line(v, "db", "(dz(1) + dz(2) + dz(3)) / m", f"({' + '.join(n(d) for d in dZ)}) / {m}", dB, ("dB",)))
    lines.append(Line(v, "dw", "X^T·dZ / m", "", dW))
    for i in range(2):
        lines.append(Line(v, f"w{i + 1} <- w{i + 1} - eta*dw{i + 1}", "", f"{n(w[i])} - {eta:g}*{n(dW[i])}",
                          w[i] - eta * dW[i], ("W_new", i)))
    lines.append(Line(v, "b <- b - eta*db", "", f"{n(b)} - {eta:g}*{n(dB)}", b - eta * dB, ("B_new",)))
    return Explanation(lines, learning_rate, "seed 003: logistic regression, one neuron", digits=digits,
                       params={"m": m})


