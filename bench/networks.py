"""CNN, LSTM, GRU, GAN and character-level language-model training steps, and LSTM inference
latency at batch 1: glassnet against PyTorch eager on the same shapes.

Run from the repository root:  python bench/networks.py [--quick]
Writes bench/results/networks.json and prints the table. Each step is a full
forward, backward and Adam update (the latency rows: one predict call); the median
over repeats after a warm-up. ``--only NAME`` runs the workloads whose name contains NAME.
Each competitor runs alone in its own process: in one process, each library's
idle worker threads (OpenBLAS's, PyTorch's OpenMP pool) spin for a while after
its own step and slow the other's next step on a 2-core machine. Interleaving
them was seen to double PyTorch's LSTM step (9 ms alone, 19-40 ms interleaved).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def cnn_glassnet(batch, size):
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    model = gn.Sequential([nn.Conv2D(32, 3, activation="relu"), nn.Conv2D(64, 3, activation="relu"),
                           nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, 1)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return lambda: model.train_on_batch(x, y)


def cnn_torch(batch, size):
    import torch  # noqa: PLC0415

    out = ((size - 4) // 2) ** 2 * 64
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(out, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, size, size)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    return step


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
                "lstm 16u 5 steps b8": (lambda: lstm_glassnet(8, 5, 16), lambda: lstm_torch(8, 5, 16)),
                "gan step b32": (lambda: gan_glassnet(32), lambda: gan_torch(32)),
                "char lm 96-64-lstm16 10 steps b4": (lambda: char_lm_glassnet(4, 10, units=16),
                                                     lambda: char_lm_torch(4, 10, units=16)),
                "lstm 16u 5 steps predict b1": (lambda: lstm_latency_glassnet(5, 16),
                                                lambda: lstm_latency_torch(5, 16))}
    return {"cnn 28x28x1 conv32-conv64 b64": (lambda: cnn_glassnet(64, 28), lambda: cnn_torch(64, 28)),
            "lstm 128u 50 steps b64": (lambda: lstm_glassnet(64, 50, 128), lambda: lstm_torch(64, 50, 128)),
            "gru 128u 50 steps b64": (lambda: lstm_glassnet(64, 50, 128, cell="GRU"),
                                      lambda: lstm_torch(64, 50, 128, cell="GRU")),
            "gan step (2-128-128) b256": (lambda: gan_glassnet(256), lambda: gan_torch(256)),
            "char lm 96-64-lstm256 100 steps b64": (lambda: char_lm_glassnet(64, 100),
                                                    lambda: char_lm_torch(64, 100)),
            "lstm 128u 50 steps predict b1": (lambda: lstm_latency_glassnet(50, 128),
                                              lambda: lstm_latency_torch(50, 128))}


def run(quick=False, repeats=20):
    """Each workload and competitor in its own process, one after another."""
    rows = []
    for name in workloads(quick):
        times = {}
        for competitor in ("glassnet", "pytorch"):
            out = subprocess.run([sys.executable, __file__, "--only", name, "--competitor", competitor,
                                  "--repeats", str(repeats)] + (["--quick"] if quick else []),
                                 capture_output=True, text=True, timeout=600)
            if out.returncode:
                raise RuntimeError(f"workload {name!r} ({competitor}) failed: {out.stderr.strip()}")
            times[competitor] = json.loads(out.stdout.strip().splitlines()[-1])
        for competitor, t in times.items():
            rows.append({"workload": name, "competitor": competitor, "step_s": t,
                         "ratio_to_pytorch": t / times["pytorch"]})
    return rows


def run_one(name, competitor, quick, repeats):
    """Median seconds per step of one competitor on one workload (warm-up first)."""
    if competitor == "pytorch":
        import torch  # noqa: PLC0415

        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", 0)) or os.cpu_count() or 1)
    make_ours, make_theirs = workloads(quick)[name]
    step = make_ours() if competitor == "glassnet" else make_theirs()
    for _ in range(3):
        step()
    times = []
    for _ in range(1 if quick else repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description="CNN / LSTM / GAN step benchmarks")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--competitor", choices=("glassnet", "pytorch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        print(json.dumps(run_one(args.only, args.competitor, args.quick, args.repeats)))
        return None
    rows = run(args.quick, args.repeats)
    print(f"{'workload':32} {'competitor':10} {'step (ms)':>10} {'x torch':>8}")
    for r in rows:
        print(f"{r['workload']:32} {r['competitor']:10} {r['step_s'] * 1e3:10.2f} {r['ratio_to_pytorch']:8.2f}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "networks-quick.json" if args.quick else "networks.json"), "w") as f:
        json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
