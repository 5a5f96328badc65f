"""MLP training and inference benchmarks: glassnet (compiled kernels, and its NumPy reference path
as "glassnet-numpy") against PyTorch eager, scikit-learn,
a hand-written NumPy loop and the GEMM floor.

Run from the repository root:  python bench/mlp.py            (full, a few minutes)
                               python bench/mlp.py --quick    (tiny shapes, proves it runs)
Writes bench/results/mlp.json and bench/results/mlp.png and prints the table.

Every competitor trains the same network (ReLU hidden layers, softmax
cross-entropy, Adam lr 1e-3, float32) from the same initial weights on the
same data. Each competitor is timed alone in its own process (a warm-up epoch,
then the median of the repeats): in one process, each library's idle worker
threads (OpenBLAS's, PyTorch's OpenMP pool) spin after its own epoch and slow
the next competitor on a 2-core machine, which made PyTorch look up to 1.8x
slower when the competitors were interleaved. Peak memory is measured in
another fresh process per competitor: the growth of the peak resident set size
over one training epoch (Linux's VmHWM, reset just before the epoch).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from peak_memory import peak_growth_mib

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = {
    # name: (layer sizes, batch size, samples per epoch)
    "digits 64-64-10 b32": ((64, 64, 10), 32, 1437),
    "784-256-128-10 b128": ((784, 256, 128, 10), 128, 12800),
    "784-1024-1024-10 b512": ((784, 1024, 1024, 10), 512, 8192),
}
QUICK = {"quick 20-16-3 b8": ((20, 16, 3), 8, 64)}


def make_data(sizes, n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, sizes[-1], n)
    centers = rng.standard_normal((sizes[-1], sizes[0])).astype(np.float32)
    x = (centers[y] + rng.standard_normal((n, sizes[0])).astype(np.float32))
    return x.astype(np.float32), y


def init_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6 / (fan_in + fan_out))
        weights += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32), np.zeros(fan_out, np.float32)]
    return weights


# -- competitors: each returns (train_one_epoch, predict) closures --------------------------
def glassnet_runner(sizes, batch, x, y, weights):
    import glassnet as gn  # noqa: PLC0415

    layers = [gn.nn.Dense(n, activation="relu") for n in sizes[1:-1]] + [gn.nn.Dense(sizes[-1], activation="softmax")]
    model = gn.Sequential(layers, seed=0)
    model.compile(optimizer=gn.optim.Adam(learning_rate=1e-3, epsilon=1e-8), loss="sparse_categorical_crossentropy")
    model.build((None, sizes[0]))
    model.built = True
    model.set_weights(weights)

    def epoch():
        model.fit(x, y, epochs=1, batch_size=batch, shuffle=False, verbose=0)

    return epoch, lambda xb: model.predict(xb, batch_size=len(xb))


def numpy_runner(sizes, batch, x, y, weights):
    # The product glassnet runs at import (glassnet/blas_buffers.py: OpenBLAS runs narrow products
    # 1.2-4x faster once its buffer's pages are mapped), so that this loop and glassnet compare
    # as code, not as OpenBLAS's states.
    np.ones((1024, 128), dtype=np.float32) @ np.ones((128, 1024), dtype=np.float32)
    params = [w.copy() for w in weights]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    state = {"t": 0}
    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8

    def forward(xb):
        acts = [xb]
        for i in range(0, len(params) - 2, 2):
            acts.append(np.maximum(acts[-1] @ params[i] + params[i + 1], 0))
        return acts, acts[-1] @ params[-2] + params[-1]

    def epoch():
        for s in range(0, len(x), batch):
            xb, yb = x[s:s + batch], y[s:s + batch]
            acts, z = forward(xb)
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            g = p / len(yb)
            grads = [None] * len(params)
            for i in range(len(params) - 2, -1, -2):
                grads[i], grads[i + 1] = acts[i // 2].T @ g, g.sum(axis=0)
                if i:
                    g = (g @ params[i].T) * (acts[i // 2] > 0)
            state["t"] += 1
            t = state["t"]
            for pi, gi, mi, vi in zip(params, grads, m, v):
                mi *= b1
                mi += (1 - b1) * gi
                vi *= b2
                vi += (1 - b2) * gi * gi
                pi -= (lr / (1 - b1**t)) * mi / (np.sqrt(vi) / np.sqrt(1 - b2**t) + eps)

    def predict(xb):  # probabilities, as Model.predict returns
        z = forward(xb)[1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return epoch, predict


def torch_runner(sizes, batch, x, y, weights):
    import torch  # noqa: PLC0415

    torch.set_num_threads(os.cpu_count() or 1)
    mods = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
            lin.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
        mods += [lin, torch.nn.ReLU()]
    net = torch.nn.Sequential(*mods[:-1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        for s in range(0, len(x), batch):
            opt.zero_grad()
            loss_fn(net(tx[s:s + batch]), ty[s:s + batch]).backward()
            opt.step()

    def predict(xb):
        with torch.no_grad():
            return torch.softmax(net(torch.from_numpy(xb)), dim=1).numpy()

    return epoch, predict


def sklearn_runner(sizes, batch, x, y, weights):
    from sklearn.neural_network import MLPClassifier  # noqa: PLC0415

    clf = MLPClassifier(hidden_layer_sizes=sizes[1:-1], batch_size=batch, solver="adam", learning_rate_init=1e-3,
                        shuffle=False, random_state=0)
    clf.partial_fit(x[:batch], y[:batch], classes=np.arange(sizes[-1]))
    clf.coefs_ = [w.astype(np.float64) for w in weights[::2]]
    clf.intercepts_ = [b.astype(np.float64) for b in weights[1::2]]

    def epoch():
        clf.partial_fit(x, y)

    return epoch, clf.predict_proba


# "glassnet-numpy": the same glassnet code on its NumPy reference path (GLASSNET_KERNELS=numpy).
RUNNERS = {"glassnet": glassnet_runner, "glassnet-numpy": glassnet_runner, "numpy": numpy_runner,
           "pytorch": torch_runner, "sklearn": sklearn_runner}


def _competitors(names, quick):
    """``names``, without the NumPy reference path in a quick run (the same runner as glassnet's)."""
    return [name for name in names if not (quick and name == "glassnet-numpy")]


def gemm_rate(repeats=5):
    """Measured float32 GEMM rate (FLOP/s) on a 512x1024 @ 1024x1024 product."""
    a = np.random.default_rng(0).standard_normal((512, 1024)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((1024, 1024)).astype(np.float32)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(repeats))
    return 2 * 512 * 1024 * 1024 / best


def epoch_flops(sizes, n):
    """Forward 2*n*i*o per layer; backward twice that, minus the unneeded input gradient."""
    per_layer = [2 * n * i * o for i, o in zip(sizes[:-1], sizes[1:])]
    return 3 * sum(per_layer) - per_layer[0]


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _worker(kind, name, workload, quick, repeats):
    """Run one measurement in a fresh process and return the number it prints. A quick run (the
    test suite's: it proves the code runs, and its numbers mean nothing) runs glassnet's epoch
    worker in a process of its own, which proves that path, and the others in this process: about
    ten interpreter starts (PyTorch's import included) fewer."""
    if quick and (kind, name) != ("epoch", "glassnet"):
        return worker(kind, name, workload, quick, repeats)
    out = subprocess.run([sys.executable, __file__, "--worker", kind, name, workload, "--repeats", str(repeats)]
                         + (["--quick"] if quick else []), capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(f"{kind} worker for {name} on {workload!r} failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker(kind, name, workload, quick, repeats):
    """``epoch``: median seconds per epoch; ``memory``: peak RSS growth (MiB) over the first epoch;
    ``predict``: median seconds per call at batch 1 and batch 1024 (digits MLP)."""
    if name == "pytorch":
        import torch  # noqa: PLC0415

        torch.set_num_threads(os.cpu_count() or 1)
    if name == "glassnet-numpy":  # read once, when glassnet first asks: this process is fresh
        os.environ["GLASSNET_KERNELS"] = "numpy"
    if kind == "predict":
        return predict_times(name, quick, repeats)
    sizes, batch, n = (QUICK if quick else WORKLOADS)[workload]
    x, y = make_data(sizes, n)
    epoch, _ = RUNNERS[name](sizes, batch, x, y, init_weights(sizes))
    if kind == "memory":
        return peak_growth_mib(epoch)
    epoch()  # warm-up
    seconds = statistics.median(_time(epoch) for _ in range(repeats))
    # NOTE: NumPy's GEMM rate in this process, right after the epochs: the floor of this competitor's
    # ratio. This VM's speed drifts (30-73 GFLOP/s within minutes): one rate measured at the start of
    # the run made "x floor" read 0.57 to 1.18 for the same code.
    return {"epoch_s": seconds, "gemm_rate": gemm_rate(1 if quick else 3)}


def run(quick=False, repeats=5):
    workloads = QUICK if quick else WORKLOADS
    repeats = 1 if quick else repeats
    rate = gemm_rate(1 if quick else 5)
    rows, rates = [], []
    for wname, (sizes, _, n) in workloads.items():
        measured = {name: _worker("epoch", name, wname, quick, repeats) for name in _competitors(RUNNERS, quick)}
        times = {name: m["epoch_s"] for name, m in measured.items()}
        for name, t in times.items():
            own_floor = epoch_flops(sizes, n) / measured[name]["gemm_rate"]  # (at its own process's rate)
            rates.append(measured[name]["gemm_rate"])
            rows.append({"workload": wname, "competitor": name, "epoch_s": t, "samples_per_s": n / t,
                         "ratio_to_floor": t / own_floor, "gemm_gflops": measured[name]["gemm_rate"] / 1e9,
                         "ratio_to_pytorch": t / times["pytorch"], "ratio_to_numpy": t / times["numpy"],
                         # a quick run (the test suite's) measures glassnet's memory alone: each is a process
                         "peak_mib": _worker("memory", name, wname, quick, repeats)
                         if not quick or name == "glassnet" else None})
        floor = epoch_flops(sizes, n) / statistics.median(m["gemm_rate"] for m in measured.values())
        rows.append({"workload": wname, "competitor": "gemm floor", "epoch_s": floor, "samples_per_s": n / floor,
                     "ratio_to_floor": 1.0, "ratio_to_pytorch": floor / times["pytorch"], "peak_mib": None})
    rows += inference(quick, repeats)
    if not quick:
        rows.append(default_train_run())
    return {"gemm_gflops": rate / 1e9, "gemm_gflops_range": [min(rates) / 1e9, max(rates) / 1e9], "rows": rows}


def default_train_run():
    """The whole `glassnet train` default run (digits, early stopping), without writing files."""
    from glassnet.workflow import TrainConfig, train  # noqa: PLC0415

    times, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = train(TrainConfig(verbose=0))
        times.append(time.perf_counter() - start)
    t = statistics.median(times)
    return {"workload": f"glassnet train ({result.epochs_run} ep, acc {result.test['accuracy']:.4f})",
            "competitor": "glassnet", "epoch_s": t, "samples_per_s": 1437 * result.epochs_run / t,
            "ratio_to_floor": None, "ratio_to_pytorch": None, "peak_mib": None}


PREDICT_BATCHES = (("predict batch 1", 1, 2000), ("predict batch 1024", 1024, 200))


def predict_times(name, quick, repeats):
    """Median seconds per forward pass of the digits MLP, per batch size in PREDICT_BATCHES."""
    sizes = (64, 64, 10)
    x, y = make_data(sizes, 1024)
    _, predict = RUNNERS[name](sizes, 32, x, y, init_weights(sizes))
    timing = []
    for _, batch, number in PREDICT_BATCHES:
        xb, number = x[:batch], number // 10 if quick else number
        predict(xb)
        timing.append(statistics.median(_time(lambda: [predict(xb) for _ in range(number)]) / number  # noqa: B023
                                        for _ in range(max(repeats, 3))))
    return timing


def inference(quick, repeats):
    """Batch-1 latency and batch-1024 throughput of the digits MLP's forward pass, each competitor alone."""
    timing = {name: _worker("predict", name, "-", quick, repeats)
              for name in _competitors(("glassnet", "glassnet-numpy", "numpy", "pytorch"), quick)}
    rows = []
    for k, (label, batch, _) in enumerate(PREDICT_BATCHES):
        for name, ts in timing.items():
            rows.append({"workload": label, "competitor": name, "epoch_s": ts[k], "samples_per_s": batch / ts[k],
                         "ratio_to_floor": None, "ratio_to_pytorch": ts[k] / timing["pytorch"][k],
                         "ratio_to_numpy": ts[k] / timing["numpy"][k], "peak_mib": None})
    return rows


def table(result):
    low, high = result["gemm_gflops_range"]
    lines = [f"GEMM rate: {result['gemm_gflops']:.0f} GFLOP/s float32 at the start; {low:.0f}-{high:.0f} in the "
             "competitors' processes (each one's 'x floor' uses its own; the floor row their median)",
             f"{'workload':24} {'competitor':11} {'time (s)':>10} {'samples/s':>11} {'x floor':>8} {'x torch':>8} "
             f"{'x numpy':>8} {'peak MiB':>9}"]
    for r in result["rows"]:
        fmt = lambda v, spec: "" if v is None else format(v, spec)  # noqa: E731
        lines.append(f"{r['workload']:24} {r['competitor']:11} {r['epoch_s']:10.5f} {r['samples_per_s']:11.0f} "
                     f"{fmt(r['ratio_to_floor'], '8.2f'):>8} {fmt(r['ratio_to_pytorch'], '8.2f'):>8} "
                     f"{fmt(r.get('ratio_to_numpy'), '8.2f'):>8} "
                     f"{fmt(r['peak_mib'], '9.1f'):>9}")
    return "\n".join(lines)


def bar_chart(result, path):
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = [r for r in result["rows"] if r["ratio_to_pytorch"] is not None]
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    names = list(dict.fromkeys(r["competitor"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(workloads), 3.8))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        vals = [next((r["ratio_to_pytorch"] for r in rows if r["workload"] == w and r["competitor"] == name), 0)
                for w in workloads]
        ax.bar(np.arange(len(workloads)) + i * width, vals, width, label=name)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(workloads)) + 0.4 - width / 2, workloads, rotation=15, fontsize=7)
    ax.set(ylabel="time / PyTorch eager time (lower is faster)", title="glassnet MLP benchmarks")
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description="MLP benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one repeat: proves the suite runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "COMPETITOR", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.quick, args.repeats)))
        return None
    result = run(args.quick, args.repeats)
    print(table(result))
    os.makedirs(args.out, exist_ok=True)
    name = "mlp-quick" if args.quick else "mlp"
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump(result, f, indent=2)
    bar_chart(result, os.path.join(args.out, f"{name}.png"))
    return result


if __name__ == "__main__":
    main()
