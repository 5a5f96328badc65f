"""Data-parallel training on 1, 2 and 4 ranks (glassnet.distributed over Open MPI).

Run from the repository root:  python bench/distributed.py [--quick] [--rounds 3]
Needs Open MPI and mpi4py (glassnet[mpi]). Writes bench/results/distributed.json.

For each workload (the wide MLP 784-1024-1024-10 at global batch 512, the CNN of
bench/networks.py at global batch 64) and each rank count, ``mpiexec -n R`` starts this
file with ``--worker``; each rank gets ``cores // R`` BLAS and Numba threads (at least 1),
so the ranks never ask for more cores than the machine has. A worker trains one warm-up
epoch, then times ``--epochs`` epochs of ``fit(..., distributed=True)`` and reports:

- samples per second (the global batch's samples over wall time, rank 0's clock);
- the seconds spent in the gradient all-reduce (mean over ranks; it includes waiting for
  the slowest rank);
- the all-reduce alone: the median of 20 all-reduces of the packed gradient buffer after
  a barrier (pure communication, no waiting for compute).

Rounds interleave the rank counts (1, 2, 4, 1, 2, 4, ...); the table gives medians and
the spread (min-max) over rounds, and the load average before each run.
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
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

# name: (builder, sample shape, global batch, samples per epoch)
WORKLOADS = {"mlp 784-1024-1024-10 b512": ("mlp", (784,), 512, 4096),
             "cnn 28x28x1 conv32-conv64 b64": ("cnn", (28, 28, 1), 64, 512)}
QUICK = {"mlp 784-64-10 b32": ("mlp-small", (784,), 32, 128),
         "cnn 12x12x1 b8": ("cnn", (12, 12, 1), 8, 32)}


def build(kind):
    import glassnet as gn  # noqa: PLC0415
    from glassnet import nn  # noqa: PLC0415

    if kind == "cnn":
        layers = [nn.Conv2D(32, 3, activation="relu"), nn.Conv2D(64, 3, activation="relu"), nn.MaxPooling2D(2),
                  nn.Flatten(), nn.Dense(10, activation="softmax")]
    else:
        width = 1024 if kind == "mlp" else 64
        hidden = [nn.Dense(width, activation="relu") for _ in range(2 if kind == "mlp" else 1)]
        layers = [*hidden, nn.Dense(10, activation="softmax")]
    model = gn.Sequential(layers, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def worker(name, epochs, quick):
    from glassnet import distributed  # noqa: PLC0415

    kind, shape, batch, n = (QUICK if quick else WORKLOADS)[name]
    world = distributed.init()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((n, *shape)).astype(np.float32), rng.integers(0, 10, n)
    model = build(kind)
    model.fit(x, y, epochs=1, batch_size=batch, verbose=0, seed=0, distributed=True)  # warm-up (and compiles)
    world.comm.Barrier()
    world.allreduce_seconds = 0.0
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0, seed=0, distributed=True)
    seconds = time.perf_counter() - start
    in_allreduce = world.gather([world.allreduce_seconds])[:, 0]
    gradient = np.zeros(sum(p.size for p in model.optimizer.params), dtype=np.float32)
    alone = []
    for _ in range(20):
        world.comm.Barrier()
        t = time.perf_counter()
        world.sum_(gradient, gradient.size)
        alone.append(time.perf_counter() - t)
    alone = float(np.median(world.gather([np.median(alone)])[:, 0]))
    if world.rank == 0:
        from threadpoolctl import threadpool_info  # noqa: PLC0415

        blas = max((p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"), default=None)
        steps = epochs * -(-n // batch)
        print(json.dumps({"samples_per_s": epochs * n / seconds, "step_s": seconds / steps,
                          "allreduce_s_per_step": float(in_allreduce.mean()) / steps, "allreduce_alone_s": alone,
                          "gradient_bytes": gradient.nbytes, "blas_threads": blas,
                          "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", "0"))}))


def launch(name, ranks, epochs, quick):
    from glassnet.distributed import mpiexec_command  # noqa: PLC0415
    from glassnet.distributed.launch import THREAD_VARIABLES  # noqa: PLC0415

    command, env = mpiexec_command(ranks, [os.path.abspath(__file__), "--worker", name, "--epochs", str(epochs)]
                                   + (["--quick"] if quick else []))
    cores = os.cpu_count() or 1
    env.update({v: str(max(1, cores // ranks)) for v in THREAD_VARIABLES})  # this benchmark's own rule
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode:
        raise RuntimeError(f"{name} on {ranks} ranks failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick=False, rounds=3, epochs=2, ranks=(1, 2, 4)):
    rows = []
    for name in (QUICK if quick else WORKLOADS):
        runs = {r: [] for r in ranks}
        for _ in range(1 if quick else rounds):
            for r in ranks:
                load = os.getloadavg()[0]
                result = launch(name, r, 1 if quick else epochs, quick)
                runs[r].append({**result, "load": load})
        for r in ranks:
            got = runs[r]
            med = {k: statistics.median(g[k] for g in got) for k in ("samples_per_s", "step_s",
                                                                       "allreduce_s_per_step", "allreduce_alone_s")}
            rows.append({"workload": name, "ranks": r, **med,
                         "samples_per_s_range": [min(g["samples_per_s"] for g in got),
                                                 max(g["samples_per_s"] for g in got)],
                         "load": [g["load"] for g in got], "gradient_bytes": got[0]["gradient_bytes"],
                         "blas_threads": got[0]["blas_threads"], "numba_threads": got[0]["numba_threads"]})
    return rows


# The networks of the projection: (name, bandwidth in bytes/s, latency per message in s).
NETWORKS = (("10 Gb/s Ethernet", 1.25e9 * 0.9, 25e-6), ("100 Gb/s InfiniBand", 12.5e9 * 0.9, 2e-6))
MACHINES = (8, 16, 32, 64)


def ring_allreduce_s(machines, gradient_bytes, bandwidth, latency):
    """A ring all-reduce of ``gradient_bytes`` over ``machines``: 2 (p - 1) steps, each sending
    1/p of the buffer (reduce-scatter, then all-gather)."""
    p = machines
    return 2 * (p - 1) * latency + 2 * (p - 1) / p * gradient_bytes / bandwidth


def project(rows, step_s=None):
    """Samples per second on 8-64 machines like this one (one rank of all its cores each), from
    the measured one-rank step and the gradient size. Weak scaling: each machine keeps the
    measured batch, so the global batch grows with the machines; the all-reduce does not
    overlap the backward pass (glassnet all-reduces after it), so step = compute + all-reduce.
    ``step_s``: {workload prefix: seconds} to use instead of the measured one-rank step."""
    out = []
    for r in rows:
        if r["ranks"] != 1:
            continue
        batch = (QUICK if r["workload"] in QUICK else WORKLOADS)[r["workload"]][2]
        compute = next((v for k, v in (step_s or {}).items() if r["workload"].startswith(k)), r["step_s"])
        for net, bandwidth, latency in NETWORKS:
            for p in MACHINES:
                comm = ring_allreduce_s(p, r["gradient_bytes"], bandwidth, latency)
                out.append({"workload": r["workload"], "network": net, "machines": p, "allreduce_s": comm,
                            "samples_per_s": p * batch / (compute + comm), "efficiency": compute / (compute + comm),
                            "strong_efficiency": (compute / p) / (compute / p + comm)})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="data-parallel training on 1, 2 and 4 ranks")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one round: proves the script runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--project-only", action="store_true",
                        help="only the projection, from the measurements saved in --out")
    parser.add_argument("--step-ms", metavar="NAME=MS,...",
                        help="one-rank step times to project from instead of the measured ones, e.g. mlp=27,cnn=54")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.epochs, args.quick)
        return None
    step_s = {k: float(v) / 1e3 for k, v in (item.split("=") for item in args.step_ms.split(","))} \
        if args.step_ms else None
    if args.project_only:
        with open(os.path.join(args.out, "distributed.json")) as f:
            rows = json.load(f)["measured"]
        _print_projection(project(rows, step_s))
        return rows
    rows = run(args.quick, args.rounds, args.epochs)
    print(f"{'workload':32} {'ranks':>5} {'samples/s':>10} {'(min-max)':>15} {'step ms':>8} "
          f"{'allreduce ms/step':>17} {'allreduce alone ms':>18} {'threads':>7}")
    for r in rows:
        lo, hi = r["samples_per_s_range"]
        print(f"{r['workload']:32} {r['ranks']:5d} {r['samples_per_s']:10.0f} {f'({lo:.0f}-{hi:.0f})':>15} "
              f"{r['step_s'] * 1e3:8.1f} {r['allreduce_s_per_step'] * 1e3:17.2f} "
              f"{r['allreduce_alone_s'] * 1e3:18.2f} {r['blas_threads']!s:>7}")
    projection = project(rows, step_s)
    _print_projection(projection)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "distributed-quick.json" if args.quick else "distributed.json"), "w") as f:
        json.dump({"measured": rows, "projection": projection}, f, indent=2)
    return rows


def _print_projection(projection):
    print("\nprojection (ring all-reduce, weak scaling; strong: the global batch split over the machines)")
    print(f"{'workload':32} {'network':20} {'machines':>8} {'allreduce ms':>12} {'samples/s':>10} "
          f"{'efficiency':>10} {'strong eff.':>11}")
    for r in projection:
        print(f"{r['workload']:32} {r['network']:20} {r['machines']:8d} {r['allreduce_s'] * 1e3:12.2f} "
              f"{r['samples_per_s']:10.0f} {r['efficiency']:10.2f} {r['strong_efficiency']:11.2f}")


if __name__ == "__main__":
    main()
