"""glassnet on a GPU (through CuPy) against PyTorch eager on the same GPU: training steps of the
wide MLP, the CNN and the LSTM (issue 16's benchmark), and each library's GPU memory.

Run where an NVIDIA GPU, CuPy and a CUDA build of PyTorch are:
    python bench/gpu.py [--rounds 3] [--repeats 20]
Where there is none, ``--device cpu`` runs the very same steps on the CPU (glassnet on NumPy,
PyTorch on its CPU build): it proves the script, and the test suite runs it so (``--quick``).

Each step is ``train_on_batch`` on fixed data already on the device (the labels too, for PyTorch;
glassnet takes its labels from the host, as ``fit`` does), Adam, float32: a forward, backward and
update. Every timed step ends with the device synchronised (``cupy``'s and ``torch.cuda``'s
``synchronize``), so a step's time is its kernels' time, not their launch. Each competitor runs
alone in its own process, the processes interleaved round by round (a change of load, or of the
GPU's clock, hits both alike); the median of ``--repeats`` steps after ``--warm-up`` steps.
Memory: the most the step's process held on the device (CuPy's memory pool, PyTorch's caching
allocator's peak), in MiB; on the CPU, not measured. Writes bench/results/gpu.json and prints the
table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from summary import against

HERE = os.path.dirname(os.path.abspath(__file__))
COMPETITORS = ("glassnet", "pytorch")


# Each workload's shapes, full and --quick: the wide MLP's (layer sizes, batch), the CNN's (batch, image
# size), the LSTM's (batch, steps, units); both competitors build from these.
SHAPES = {"wide mlp": {False: ((784, 1024, 1024, 10), 512), True: ((20, 32, 32, 10), 16)},
          "cnn": {False: (64, 28), True: (4, 10)},
          "lstm": {False: (64, 50, 128), True: (4, 5, 8)}}


def _glassnet_model(name, quick, device):
    """(model, x on the device, host labels) for workload ``name``."""
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    rng = np.random.default_rng(0)
    if name == "wide mlp":
        sizes, batch = SHAPES[name][quick]
        layers = [nn.Dense(n, activation="relu") for n in sizes[1:-1]] + [nn.Dense(sizes[-1], activation="softmax")]
        shape = (batch, sizes[0])
    elif name == "cnn":
        batch, size = SHAPES[name][quick]
        layers = [nn.Conv2D(32, 3, activation="relu"), nn.Conv2D(64, 3, activation="relu"), nn.MaxPooling2D(2),
                  nn.Flatten(), nn.Dense(10, activation="softmax")]
        shape = (batch, size, size, 1)
    else:  # lstm
        batch, steps, units = SHAPES[name][quick]
        layers = [nn.LSTM(units), nn.Dense(10, activation="softmax")]
        shape = (batch, steps, 32)
    model = gn.Sequential(layers, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.standard_normal(shape).astype(np.float32)
    model.build(x.shape)
    model.to(device)
    return model, gn.Tensor(x).to(device), rng.integers(0, 10, shape[0])


def glassnet_step(name, quick, device):
    """(step, synchronise, device memory in MiB or None) for glassnet."""
    model, x, y = _glassnet_model(name, quick, device)
    if device == "cpu":
        return (lambda: model.train_on_batch(x, y)), (lambda: None), (lambda: None)
    import cupy  # noqa: PLC0415

    pool = cupy.get_default_memory_pool()
    return (lambda: model.train_on_batch(x, y)), cupy.cuda.Device().synchronize, lambda: pool.total_bytes() / 2**20


def torch_step(name, quick, device):
    """(step, synchronise, device memory in MiB or None) for PyTorch."""
    import torch  # noqa: PLC0415

    torch.manual_seed(0)
    dev = torch.device("cuda" if device != "cpu" else "cpu")
    if name == "wide mlp":
        sizes, batch = SHAPES[name][quick]
        modules = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            modules += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        net = torch.nn.Sequential(*modules, torch.nn.Linear(sizes[-2], sizes[-1]))
        shape = (batch, sizes[0])
    elif name == "cnn":
        batch, size = SHAPES[name][quick]
        flat = ((size - 4) // 2) ** 2 * 64
        net = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3),
                                  torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                  torch.nn.Linear(flat, 10))
        shape = (batch, 1, size, size)
    else:  # lstm
        batch, steps, units = SHAPES[name][quick]

        class Last(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm, self.head = torch.nn.LSTM(32, units, batch_first=True), torch.nn.Linear(units, 10)

            def forward(self, x):
                return self.head(self.lstm(x)[0][:, -1])

        net = Last()
        shape = (batch, steps, 32)
    net = net.to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(*shape, device=dev)
    y = torch.randint(0, 10, (shape[0],), device=dev)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    if device == "cpu":
        return step, (lambda: None), (lambda: None)
    return step, torch.cuda.synchronize, lambda: torch.cuda.max_memory_allocated() / 2**20


WORKLOADS = tuple(SHAPES)
NAMES = {"wide mlp": "wide MLP 784-1024-1024-10, batch 512", "cnn": "CNN 28x28x1 conv 32 + conv 64, batch 64",
         "lstm": "LSTM 128 units, 50 steps, batch 64"}


def worker(competitor, name, quick, device, repeats, warm_up):
    """{"step_s": median, "memory_mib": ...} for one competitor on one workload, in this process."""
    step, sync, memory = (glassnet_step if competitor == "glassnet" else torch_step)(name, quick, device)
    for _ in range(warm_up):
        step()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return {"step_s": statistics.median(times), "memory_mib": memory()}


def run(device="gpu", quick=False, rounds=3, repeats=20, warm_up=3, timeout=600):
    """Rows per workload and competitor: median step over the rounds, min-max, ratio to PyTorch."""
    runs = {}
    for _ in range(rounds):
        for name in WORKLOADS:
            for competitor in COMPETITORS:
                out = subprocess.run([sys.executable, __file__, "--worker", competitor, name, "--device", device,
                                      "--repeats", str(repeats), "--warm-up", str(warm_up)]
                                     + (["--quick"] if quick else []), capture_output=True, text=True, timeout=timeout)
                if out.returncode:
                    raise RuntimeError(f"{competitor} on {name!r} failed: {out.stderr.strip()[-3000:]}")
                runs.setdefault((name, competitor), []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = []
    for name in WORKLOADS:
        theirs = [r["step_s"] for r in runs[name, "pytorch"]]
        for competitor in COMPETITORS:
            steps = [r["step_s"] for r in runs[name, competitor]]
            memory = [r["memory_mib"] for r in runs[name, competitor] if r["memory_mib"] is not None]
            rows.append({"workload": NAMES[name] if not quick else name, "competitor": competitor,
                         **against(steps, theirs), "memory_mib": max(memory) if memory else None,
                         "runs_s": steps, "device": device})
    return rows


def table(rows):
    lines = [f"{'workload':42} {'competitor':10} {'step (ms)':>10} {'min-max (ms)':>17} {'x torch':>8} "
             f"{'range':>11} {'GPU MiB':>8}"]
    for r in rows:
        spread = f"{r['min_s'] * 1e3:.2f}-{r['max_s'] * 1e3:.2f}"
        memory = f"{r['memory_mib']:8.1f}" if r["memory_mib"] is not None else f"{'-':>8}"
        lines.append(f"{r['workload']:42} {r['competitor']:10} {r['step_s'] * 1e3:10.2f} {spread:>17} "
                     f"{r['ratio_to_pytorch']:8.2f} {r['ratio_min']:5.2f}-{r['ratio_max']:<5.2f} {memory}")
    return "\n".join(lines)


def device_line(device):
    """What the steps ran on, in words."""
    if device == "cpu":
        return "device: CPU (--device cpu)"
    import cupy  # noqa: PLC0415

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return f"device: {name}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, CuPy {cupy.__version__}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="glassnet on a GPU (CuPy) against PyTorch on the same GPU")
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one round of one step: proves it runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--worker", nargs=2, metavar=("COMPETITOR", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        competitor, name = args.worker
        print(json.dumps(worker(competitor, name, args.quick, args.device, args.repeats, args.warm_up)))
        return None
    if args.quick:
        rows = run(args.device, True, rounds=1, repeats=1, warm_up=1)
    else:
        rows = run(args.device, False, args.rounds, args.repeats, args.warm_up)
    print(device_line(args.device))
    print(table(rows))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gpu-quick.json" if args.quick else "gpu.json"), "w") as f:
        json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
