"""The recurrent workloads of bench/networks.py, repeated in interleaved rounds, with the NumPy
reference path beside the compiled kernels.

Run from the repository root:  python bench/recurrent.py [--rounds 5] [--match lstm] [--quick]

Each round runs every workload once per competitor, each alone in its own process
(networks.py's worker): glassnet with compiled kernels, glassnet with GLASSNET_KERNELS=numpy,
and PyTorch eager, in that order, so a change of load hits all three alike. Prints, per
workload and competitor, the median over rounds of the per-process medians, their min-max,
and the ratio to PyTorch per round (median and min-max); the 1-minute load average seen
before each round is printed too. ``--threads 1`` holds every library to one thread (on a
loaded machine, spinning BLAS and OpenMP workers otherwise dominate the timings). Writes bench/results/recurrent.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import networks  # noqa: E402

RECURRENT = ("lstm", "gru", "char lm")
COMPETITORS = {"glassnet": ("glassnet", "numba"), "glassnet-numpy": ("glassnet", "numpy"),
               "pytorch": ("pytorch", "numba")}


def _one(name, competitor, quick, repeats, threads=None):
    worker, kernels = COMPETITORS[competitor]
    env = {**os.environ, "GLASSNET_KERNELS": kernels}
    if threads:  # every library's pool: OpenBLAS, OpenMP (PyTorch), Numba
        env.update({k: str(threads) for k in ("BENCH_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                              "NUMBA_NUM_THREADS")})
    out = subprocess.run([sys.executable, networks.__file__, "--only", name, "--competitor", worker,
                          "--repeats", str(repeats)] + (["--quick"] if quick else []),
                         capture_output=True, text=True, timeout=600, env=env)
    if out.returncode:
        raise RuntimeError(f"workload {name!r} ({competitor}) failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])[name]["step_s"]


def run(quick=False, rounds=5, repeats=20, match="", threads=None):
    names = [n for n in networks.workloads(quick) if n.startswith(RECURRENT) and match in n]
    times = {(n, c): [] for n in names for c in COMPETITORS}
    loads = []
    for r in range(1 if quick else rounds):
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}, load {loads[-1]:.1f}", file=sys.stderr)
        for name in names:
            for competitor in COMPETITORS:
                times[name, competitor].append(_one(name, competitor, quick, repeats, threads))
    rows = []
    for name in names:
        torch_times = times[name, "pytorch"]
        for competitor in COMPETITORS:
            t = times[name, competitor]
            ratios = [a / b for a, b in zip(t, torch_times)]
            rows.append({"workload": name, "competitor": competitor, "step_s": statistics.median(t),
                         "min_s": min(t), "max_s": max(t), "ratio_to_pytorch": statistics.median(ratios),
                         "ratio_min": min(ratios), "ratio_max": max(ratios), "runs_s": t})
    return rows, loads


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--match", default="", help="only workloads whose name contains this")
    parser.add_argument("--threads", type=int, help="threads for every library (default: theirs, 2 cores here)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    rows, loads = run(args.quick, args.rounds, args.repeats, args.match, args.threads)
    print(f"load average (1 min) before each round: {', '.join(f'{x:.1f}' for x in loads)}")
    print(f"{'workload':38} {'competitor':15} {'median ms':>10} {'min-max ms':>17} {'x torch':>8} {'range':>12}")
    for r in rows:
        spread = f"{r['min_s'] * 1e3:.2f}-{r['max_s'] * 1e3:.2f}"
        ratio = f"{r['ratio_min']:.2f}-{r['ratio_max']:.2f}"
        print(f"{r['workload']:38} {r['competitor']:15} {r['step_s'] * 1e3:10.2f} {spread:>17} "
              f"{r['ratio_to_pytorch']:8.2f} {ratio:>12}")
    os.makedirs(args.out, exist_ok=True)
    name = "recurrent-quick.json" if args.quick else "recurrent.json"
    with open(os.path.join(args.out, name), "w") as f:
        json.dump({"loads": loads, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
