"""The CNN's second convolution (64 x 26 x 26 x 32 -> 64 filters, 3 x 3, valid) five ways: where its
time goes, and what PyTorch's engines do with the same work.

Run from the repository root:  python bench/conv_engines.py [--rounds 3] [--repeats 15] [--quick]

- glassnet: its ``Conv2D`` layer, forward and backward (input and weight gradients), compiled kernels;
- numpy: the three matrix products an im2col convolution makes, in NumPy (its OpenBLAS):
  forward cols @ W, weight gradient cols^T @ dY, input gradient dY @ W^T, with
  cols (36,864 x 288), W (288 x 64), dY (36,864 x 64): 1.36 GFLOP each;
- torch-mm: the same three products by ``torch.mm`` (PyTorch's BLAS: MKL on x86);
- torch-conv: PyTorch's ``conv2d`` forward and backward on the same shapes (oneDNN's direct
  convolution on x86), what the CNN step's PyTorch competitor runs;
- torch-conv-generic: the same with oneDNN turned off (``torch.backends.mkldnn.enabled = False``):
  PyTorch's own im2col convolution.

Each competitor runs alone in its own process, the processes interleaved round by round (as in
bench/networks.py); wall clock, library-default threads, the median of ``--repeats`` calls after
three warm-up calls (``--quick``: one round of one call, to prove the script runs). Writes
bench/results/conv_engines.json and prints the table.
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
BATCH, SIZE, CHANNELS, FILTERS, KERNEL = 64, 26, 32, 64, 3
OUT = SIZE - KERNEL + 1
ROWS, INNER = BATCH * OUT * OUT, KERNEL * KERNEL * CHANNELS  # the im2col matrix: 36,864 x 288
PRODUCT_FLOP = 2 * ROWS * INNER * FILTERS
COMPETITORS = ("glassnet", "numpy", "torch-mm", "torch-conv", "torch-conv-generic")


def _operands():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((ROWS, INNER)).astype(np.float32),
            rng.standard_normal((INNER, FILTERS)).astype(np.float32),
            rng.standard_normal((ROWS, FILTERS)).astype(np.float32))


def _glassnet():
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    layer = nn.Conv2D(FILTERS, KERNEL)
    x = gn.Tensor(np.random.default_rng(0).standard_normal((BATCH, SIZE, SIZE, CHANNELS)).astype(np.float32),
                  requires_grad=True)

    def step():
        x.grad = None
        layer.zero_grad()
        layer(x).sum().backward()

    return {"forward + backward": step}


def _numpy():
    cols, w, dy = _operands()
    return {"forward product": lambda: cols @ w, "weight-gradient product": lambda: cols.T @ dy,
            "input-gradient product": lambda: dy @ w.T}


def _torch_mm():
    import torch  # noqa: PLC0415

    cols, w, dy = (torch.from_numpy(a) for a in _operands())
    return {"forward product": lambda: cols @ w, "weight-gradient product": lambda: cols.T @ dy,
            "input-gradient product": lambda: dy @ w.T}


def _torch_conv(onednn=True):
    import torch  # noqa: PLC0415

    torch.backends.mkldnn.enabled = onednn
    conv = torch.nn.Conv2d(CHANNELS, FILTERS, KERNEL)
    x = torch.randn(BATCH, CHANNELS, SIZE, SIZE, requires_grad=True)

    def step():
        x.grad = None
        conv.zero_grad()
        conv(x).sum().backward()

    return {"forward + backward": step}


MAKERS = {"glassnet": _glassnet, "numpy": _numpy, "torch-mm": _torch_mm, "torch-conv": _torch_conv,
          "torch-conv-generic": lambda: _torch_conv(onednn=False)}


def worker(competitor, repeats, warm_up=3):
    """{task: median seconds} for one competitor, in this process."""
    result = {}
    for task, fn in MAKERS[competitor]().items():
        for _ in range(warm_up):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        result[task] = statistics.median(times)
    return result


def run(rounds=3, repeats=15):
    """Rows of (competitor, task, median over rounds, min, max, GFLOP/s at the median)."""
    runs = {}
    for _ in range(rounds):
        for competitor in COMPETITORS:
            out = subprocess.run([sys.executable, __file__, "--worker", competitor, "--repeats", str(repeats),
                                  "--warm-up", str(min(3, repeats))],
                                 capture_output=True, text=True, timeout=600)
            if out.returncode:
                raise RuntimeError(f"{competitor} failed: {out.stderr.strip()[-2000:]}")
            for task, seconds in json.loads(out.stdout.strip().splitlines()[-1]).items():
                runs.setdefault((competitor, task), []).append(seconds)
    rows = []
    for (competitor, task), times in runs.items():
        flop = 3 * PRODUCT_FLOP if task == "forward + backward" else PRODUCT_FLOP
        median = statistics.median(times)
        rows.append({"competitor": competitor, "task": task, "median_s": median, "min_s": min(times),
                     "max_s": max(times), "gflops": flop / median / 1e9, "runs_s": times})
    return rows


def table(rows):
    lines = [f"{'competitor':18s} {'task':26s} {'median ms':>10s} {'min-max ms':>14s} {'GFLOP/s':>8s}"]
    for r in rows:
        lines.append(f"{r['competitor']:18s} {r['task']:26s} {r['median_s'] * 1e3:10.2f} "
                     f"{r['min_s'] * 1e3:6.2f}-{r['max_s'] * 1e3:<7.2f} {r['gflops']:8.0f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="conv 2 of the CNN: glassnet, its products, PyTorch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--quick", action="store_true", help="one round of one call each: proves the script runs")
    parser.add_argument("--worker", choices=COMPETITORS, help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, args.warm_up)))
        return None
    rows = run(1, 1) if args.quick else run(args.rounds, args.repeats)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "conv_engines.json"), "w") as f:
        json.dump({"rows": rows, "load": os.getloadavg()[0]}, f, indent=2)
    print(table(rows))
    return rows


if __name__ == "__main__":
    main()
