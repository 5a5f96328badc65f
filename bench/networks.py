"""CNN (MNIST- and CIFAR-shaped), LSTM, GRU, GAN and character-level language-model training steps, and
LSTM inference latency at batch 1: glassnet against PyTorch eager on the same shapes.

Run from the repository root:  python bench/networks.py [--quick] [--only cifar] [--rounds 3]
[--threads 1 --clock thread] [--numpy-path] [--pytorch-generic]
Writes bench/results/networks.json and prints the table. Each step is a full
forward, backward and Adam update (the latency rows: one predict call); the median
over repeats after three warm-up steps. ``--only NAME`` runs the workloads whose name contains NAME.
Peak memory: how far the resident set's high-water mark rose while the model was built and ran
its warm-up steps (parameters, gradients, the optimizer's state, activations, scratch buffers),
after a first instance has loaded each library's lazily loaded code (see ``run_one``).
Each competitor runs alone in its own process: in one process, each library's
idle worker threads (OpenBLAS's, PyTorch's OpenMP pool) spin for a while after
its own step and slow the other's next step on a 2-core machine. Interleaving
them was seen to double PyTorch's LSTM step (9 ms alone, 19-40 ms interleaved).
``--rounds`` repeats the comparison, the competitors' processes interleaved within each
round; on a loaded machine, ``--threads 1 --clock thread`` (CPU time of the stepping thread,
one thread per library) is the measure least disturbed by the load.

``--pytorch-generic`` adds PyTorch with oneDNN turned off (``torch.backends.mkldnn.enabled =
False``) as "pytorch-generic": on x86 PyTorch eager runs its convolutions and LSTMs through
oneDNN's fused primitives (a direct convolution; ``mkldnn_rnn_layer`` for the whole LSTM layer,
forward and backward); without oneDNN it runs its own generic path, im2col and a product per
step, as glassnet does. The ratios stay against PyTorch with oneDNN, its default.
"""
import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from peak_memory import peak_growth_mib
from summary import against

HERE = os.path.dirname(os.path.abspath(__file__))


def _glassnet_classifier_step(layers, input_shape):
    """A train_on_batch step of a softmax classifier over 10 classes on fixed random data."""
    import glassnet as gn  # noqa: PLC0415

    model = gn.Sequential(layers, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(input_shape).astype(np.float32)
    y = rng.integers(0, 10, input_shape[0])
    return lambda: model.train_on_batch(x, y)


def _torch_classifier_step(net, input_shape):
    """The same step in PyTorch eager: cross-entropy on logits, Adam lr 1e-3."""
    import torch  # noqa: PLC0415

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(*input_shape)
    y = torch.randint(0, 10, (input_shape[0],))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    return step


def cnn_glassnet(batch, size):
    from glassnet import nn  # noqa: PLC0415

    return _glassnet_classifier_step([nn.Conv2D(32, 3, activation="relu"), nn.Conv2D(64, 3, activation="relu"),
                                      nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(10, activation="softmax")],
                                     (batch, size, size, 1))


def cnn_torch(batch, size):
    import torch  # noqa: PLC0415

    out = ((size - 4) // 2) ** 2 * 64
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(out, 10))
    return _torch_classifier_step(net, (batch, 1, size, size))


def cifar_glassnet(batch, size=32, filters=(32, 64, 128)):
    """CIFAR-shaped CNN: three blocks of conv 3x3 "same" + batch normalisation + relu + max pooling 2,
    then a dense softmax over 10 classes."""
    from glassnet import nn  # noqa: PLC0415

    blocks = []
    for f in filters:
        blocks += [nn.Conv2D(f, 3, padding="same"), nn.BatchNormalization(), nn.Activation("relu"), nn.MaxPooling2D(2)]
    return _glassnet_classifier_step([*blocks, nn.Flatten(), nn.Dense(10, activation="softmax")],
                                     (batch, size, size, 3))


def cifar_torch(batch, size=32, filters=(32, 64, 128)):
    import torch  # noqa: PLC0415

    layers, channels = [], 3
    for f in filters:  # Keras's batch-normalisation constants: epsilon 1e-3, moving average 0.99
        layers += [torch.nn.Conv2d(channels, f, 3, padding=1), torch.nn.BatchNorm2d(f, eps=1e-3, momentum=0.01),
                   torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels = f
    net = torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear((size // 8) ** 2 * channels, 10))
    return _torch_classifier_step(net, (batch, 3, size, size))


def lstm_glassnet(batch, steps, units, features=32, cell="LSTM"):
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    model = gn.Sequential([getattr(nn, cell)(units), nn.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return lambda: model.train_on_batch(x, y)


def lstm_torch(batch, steps, units, features=32, cell="LSTM"):
    import torch  # noqa: PLC0415

    lstm, head = getattr(torch.nn, cell)(features, units, batch_first=True), torch.nn.Linear(units, 10)
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    x = torch.randn(batch, steps, features)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(head(lstm(x)[0][:, -1]), y).backward()
        opt.step()

    return step


def char_lm_glassnet(batch, steps, vocab=96, embed=64, units=256):
    """Character-level language model: Embedding, LSTM over the sequence, Dense softmax at every step."""
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    model = gn.Sequential([nn.Embedding(vocab, embed), nn.LSTM(units, return_sequences=True),
                           nn.Dense(vocab, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, vocab, (batch, steps)), rng.integers(0, vocab, (batch, steps))
    return lambda: model.train_on_batch(x, y)


def char_lm_torch(batch, steps, vocab=96, embed=64, units=256):
    import torch  # noqa: PLC0415

    emb, lstm = torch.nn.Embedding(vocab, embed), torch.nn.LSTM(embed, units, batch_first=True)
    head = torch.nn.Linear(units, vocab)
    opt = torch.optim.Adam([*emb.parameters(), *lstm.parameters(), *head.parameters()], lr=1e-3)
    x, y = torch.randint(0, vocab, (batch, steps)), torch.randint(0, vocab, (batch, steps))

    def step():
        opt.zero_grad()
        logits = head(lstm(emb(x))[0])
        torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1)).backward()
        opt.step()

    return step


def lstm_latency_glassnet(steps, units, features=32):
    """Inference latency: ``predict`` of one sequence (batch 1) through LSTM -> Dense softmax."""
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    model = gn.Sequential([nn.LSTM(units), nn.Dense(10, activation="softmax")], seed=0)
    x = np.random.default_rng(0).standard_normal((1, steps, features)).astype(np.float32)
    model.predict(x, verbose=0)
    return lambda: model.predict(x, verbose=0)


def lstm_latency_torch(steps, units, features=32):
    import torch  # noqa: PLC0415

    lstm, head = torch.nn.LSTM(features, units, batch_first=True).eval(), torch.nn.Linear(units, 10).eval()
    x = torch.randn(1, steps, features)

    def predict():
        with torch.no_grad():
            return torch.softmax(head(lstm(x)[0][:, -1]), dim=-1).numpy()

    return predict


def gan_glassnet(batch):
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    g = gn.Sequential([nn.Dense(128, activation="relu", input_dim=2), nn.Dense(128, activation="relu"), nn.Dense(2)], seed=0)
    d = gn.Sequential([nn.Dense(128, activation="relu", input_dim=2), nn.Dense(128, activation="relu"), nn.Dense(1)], seed=1)
    g_opt, d_opt = gn.optim.Adam(g, 1e-3, beta_1=0.5), gn.optim.Adam(d, 1e-3, beta_1=0.5)
    bce = nn.BinaryCrossentropy(from_logits=True)
    rng = np.random.default_rng(0)
    real = rng.standard_normal((batch, 2)).astype(np.float32)
    ones, zeros = np.ones((batch, 1), np.float32), np.zeros((batch, 1), np.float32)

    def step():
        with gn.no_grad():
            fake = g(rng.standard_normal((batch, 2)).astype(np.float32))
        d_opt.zero_grad()
        (bce(ones, d(real)) + bce(zeros, d(fake))).backward()
        d_opt.step()
        g_opt.zero_grad()
        bce(ones, d(g(rng.standard_normal((batch, 2)).astype(np.float32)))).backward()
        g_opt.step()

    return step


def gan_torch(batch):
    import torch  # noqa: PLC0415

    def mlp(out):
        return torch.nn.Sequential(torch.nn.Linear(2, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(),
                                   torch.nn.Linear(128, out))

    g, d = mlp(2), mlp(1)
    g_opt = torch.optim.Adam(g.parameters(), 1e-3, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    real = torch.randn(batch, 2)
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        with torch.no_grad():
            fake = g(torch.randn(batch, 2))
        d_opt.zero_grad()
        (bce(d(real), ones) + bce(d(fake), zeros)).backward()
        d_opt.step()
        g_opt.zero_grad()
        bce(d(g(torch.randn(batch, 2))), ones).backward()
        g_opt.step()

    return step


def workloads(quick):
    if quick:
        return {"cnn 12x12x1 b8": (lambda: cnn_glassnet(8, 12), lambda: cnn_torch(8, 12)),
                "cifar 8x8x3 conv4-8-16 bn b4": (lambda: cifar_glassnet(4, 8, (4, 8, 16)),
                                                 lambda: cifar_torch(4, 8, (4, 8, 16))),
                "lstm 16u 5 steps b8": (lambda: lstm_glassnet(8, 5, 16), lambda: lstm_torch(8, 5, 16)),
                "gan step b32": (lambda: gan_glassnet(32), lambda: gan_torch(32)),
                "char lm 96-64-lstm16 10 steps b4": (lambda: char_lm_glassnet(4, 10, units=16),
                                                     lambda: char_lm_torch(4, 10, units=16)),
                "lstm 16u 5 steps predict b1": (lambda: lstm_latency_glassnet(5, 16),
                                                lambda: lstm_latency_torch(5, 16))}
    return {"cnn 28x28x1 conv32-conv64 b64": (lambda: cnn_glassnet(64, 28), lambda: cnn_torch(64, 28)),
            "cifar 32x32x3 conv32-64-128 bn b128": (lambda: cifar_glassnet(128), lambda: cifar_torch(128)),
            "lstm 128u 50 steps b64": (lambda: lstm_glassnet(64, 50, 128), lambda: lstm_torch(64, 50, 128)),
            "gru 128u 50 steps b64": (lambda: lstm_glassnet(64, 50, 128, cell="GRU"),
                                      lambda: lstm_torch(64, 50, 128, cell="GRU")),
            "gan step (2-128-128) b256": (lambda: gan_glassnet(256), lambda: gan_torch(256)),
            "char lm 96-64-lstm256 100 steps b64": (lambda: char_lm_glassnet(64, 100),
                                                    lambda: char_lm_torch(64, 100)),
            "lstm 128u 50 steps predict b1": (lambda: lstm_latency_glassnet(50, 128),
                                              lambda: lstm_latency_torch(50, 128))}


COMPETITORS = ("glassnet", "glassnet-numpy", "pytorch", "pytorch-generic")
OPTIONAL = {"glassnet-numpy": "numpy_path", "pytorch-generic": "pytorch_generic"}  # competitor: run()'s flag
CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time, "process": time.process_time}
THREAD_VARIABLES = ("BENCH_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS")


def measure(name, competitor, quick, repeats, threads=None, clock="wall"):
    """One competitor alone in a fresh process, on the workload called ``name`` (or with ``quick``,
    on every workload whose name contains it): {workload: {"step_s": median seconds per step,
    "peak_mib": peak RSS growth}}. ``threads`` holds every library to that many threads (OpenBLAS,
    OpenMP, Numba, PyTorch's pool)."""
    env = dict(os.environ)
    if threads:
        env.update({k: str(threads) for k in THREAD_VARIABLES})
    out = subprocess.run([sys.executable, __file__, "--only", name, "--competitor", competitor, "--repeats",
                          str(repeats), "--clock", clock] + (["--quick"] if quick else []),
                         capture_output=True, text=True, timeout=600, env=env)
    if out.returncode:
        raise RuntimeError(f"workload {name!r} ({competitor}) failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick=False, repeats=20, only="", rounds=1, threads=None, clock="wall", numpy_path=False,
        pytorch_generic=False):
    """Each workload whose name contains ``only``, each competitor in its own process; ``rounds``
    times, the competitors interleaved within each round (a change of load hits all alike).
    ``quick`` (tiny shapes, once, to prove the script runs) runs all of a competitor's workloads
    in one process."""
    names = [n for n in workloads(quick) if only in n]
    if not names:
        raise ValueError(f"no workload name contains {only!r}; the workloads: {', '.join(workloads(quick))}")
    flags = {"numpy_path": numpy_path, "pytorch_generic": pytorch_generic}
    competitors = [c for c in COMPETITORS if c not in OPTIONAL or flags[OPTIONAL[c]]]
    runs = {(n, c): [] for n in names for c in competitors}
    loads = []
    for _ in range(1 if quick else rounds):
        loads.append(os.getloadavg()[0])
        for name in [only] if quick else names:
            for competitor in competitors:
                for n, result in measure(name, competitor, quick, repeats, threads, clock).items():
                    runs[n, competitor].append(result)
    rows = []
    for name in names:
        torch_steps = [m["step_s"] for m in runs[name, "pytorch"]]
        for competitor in competitors:
            steps = [m["step_s"] for m in runs[name, competitor]]
            rows.append({"workload": name, "competitor": competitor, **against(steps, torch_steps),
                         "peak_mib": statistics.median(m["peak_mib"] for m in runs[name, competitor]),
                         "runs_s": steps, "clock": clock, "threads": threads, "loads": loads})
    return rows


def run_worker(only, competitor, quick, repeats, clock="wall"):
    """{name: run_one(...)} for the workload called ``only`` or, with ``quick``, every one whose name
    contains it."""
    names = [only] if not quick else [n for n in workloads(quick) if only in n]
    return {name: run_one(name, competitor, quick, repeats, clock) for name in names}


def run_one(name, competitor, quick, repeats, clock="wall"):
    """Peak memory of building the workload and its warm-up steps, then the median time per step.

    A first instance of the workload is built and stepped once, then dropped: it loads the
    library's lazily loaded parts (PyTorch's kernels, glassnet's compiled kernels, read from
    Numba's cache or compiled), which are not training memory. glassnet's scratch arena is
    emptied with it, so that the measured instance allocates its scratch buffers afresh.
    """
    if competitor.startswith("pytorch"):
        import torch  # noqa: PLC0415

        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", 0)) or os.cpu_count() or 1)
        torch.backends.mkldnn.enabled = competitor == "pytorch"  # (pytorch-generic: without oneDNN)
    if competitor == "glassnet-numpy":  # read once, when glassnet first asks: this process is fresh
        os.environ["GLASSNET_KERNELS"] = "numpy"
    make_ours, make_theirs = workloads(quick)[name]
    make = make_theirs if competitor.startswith("pytorch") else make_ours
    make()()
    if competitor.startswith("glassnet"):
        from glassnet.ops import workspace  # noqa: PLC0415

        workspace.clear()
    gc.collect()
    steps = []

    def build_and_warm_up():
        steps.append(make())
        for _ in range(3):
            steps[0]()

    peak = peak_growth_mib(build_and_warm_up)
    tick, times = CLOCKS[clock], []
    for _ in range(1 if quick else repeats):
        start = tick()
        steps[0]()
        times.append(tick() - start)
    return {"step_s": statistics.median(times), "peak_mib": peak}


def main(argv=None):
    parser = argparse.ArgumentParser(description="CNN / LSTM / GAN step benchmarks")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", default="", help="only the workloads whose name contains this (e.g. cnn, cifar)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole comparison, interleaved")
    parser.add_argument("--threads", type=int, help="threads for every library (default: theirs)")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall time, or CPU time of the calling thread (with --threads 1) or of the process")
    parser.add_argument("--numpy-path", action="store_true", help="glassnet with GLASSNET_KERNELS=numpy too")
    parser.add_argument("--pytorch-generic", action="store_true",
                        help="PyTorch without oneDNN too (its generic convolution and LSTM)")
    parser.add_argument("--competitor", choices=COMPETITORS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.competitor:  # a worker: one competitor on the workload named exactly --only
        print(json.dumps(run_worker(args.only, args.competitor, args.quick, args.repeats, args.clock)))
        return None
    rows = run(args.quick, args.repeats, args.only, args.rounds, args.threads, args.clock, args.numpy_path,
               args.pytorch_generic)
    print(f"clock: {args.clock}, threads: {args.threads or 'library defaults'}, load average (1 min) before each "
          f"round: {', '.join(f'{x:.1f}' for x in rows[0]['loads'])}")
    print(f"{'workload':38} {'competitor':15} {'step (ms)':>10} {'min-max (ms)':>17} {'x torch':>8} "
          f"{'range':>11} {'peak MiB':>9}")
    for r in rows:
        spread = f"{r['min_s'] * 1e3:.2f}-{r['max_s'] * 1e3:.2f}"
        print(f"{r['workload']:38} {r['competitor']:15} {r['step_s'] * 1e3:10.2f} {spread:>17} "
              f"{r['ratio_to_pytorch']:8.2f} {r['ratio_min']:5.2f}-{r['ratio_max']:<5.2f} {r['peak_mib']:9.1f}")
    os.makedirs(args.out, exist_ok=True)
    name = "networks-quick.json" if args.quick else f"networks{'-' + args.only if args.only else ''}.json"
    with open(os.path.join(args.out, name.replace(" ", "_")), "w") as f:
        json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
