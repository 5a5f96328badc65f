"""What a new user pays the first time: ``glassnet train`` in a fresh process, cold and warm.

Run from the repository root:  python bench/cold_start.py [--runs 3] [--quick] [-- extra train args]

Conditions, interleaved run by run so a change of load hits all three alike, each run a fresh
``python -m glassnet train`` process:

- cold: Numba's disk cache empty (a new temporary ``NUMBA_CACHE_DIR`` per run), as after a fresh
  install: every kernel the run calls is compiled;
- warm: the same cache directory every run, filled by one untimed run first (what every later
  run pays; glassnet's kernels are ``cache=True``, see glassnet/kernels);
- numpy: ``GLASSNET_KERNELS=numpy``, no Numba at all (Numba is not even imported);
- before (with ``--before SRC``): the ``src`` folder of a checkout from before the compiled kernels
  (``git worktree add /tmp/before 618170a^`` then ``--before /tmp/before/src``), on PYTHONPATH:
  the "today" the issue's "warm no slower than today" compares with.

Reported per condition: total wall time of the process (import, compile, train, plots and
files), the child's CPU time (user + system: less sensitive to other processes on a shared
machine), the training time the CLI itself prints, and for the cold runs the number of compiled
kernels that landed in the cache. Medians and min-max over the runs. Writes
bench/results/cold_start.json.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONDITIONS = ("cold", "warm", "numpy")


def _cpu_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _train(train_args, env, out_dir):
    """One fresh ``glassnet train`` process: (wall s, CPU s, the CLI's own training seconds)."""
    cpu, start = _cpu_children(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "glassnet", "train", "--quiet", "--out", out_dir, *train_args],
                          capture_output=True, text=True, env=env, timeout=900)
    wall, cpu = time.perf_counter() - start, _cpu_children() - cpu
    if done.returncode:
        raise RuntimeError(f"glassnet train failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    trained = re.search(r"epochs in ([0-9.]+) s", done.stdout)
    return wall, cpu, float(trained.group(1)) if trained else None


def _kernels_cached(cache_dir):
    """How many compiled kernels (Numba index files) a cache directory holds."""
    return sum(name.endswith(".nbi") for _, _, names in os.walk(cache_dir) for name in names)


def run(train_args, runs=3, before=None):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "GLASSNET_KERNELS")}
    conditions = CONDITIONS + (("before",) if before else ())
    results = {c: [] for c in conditions}
    loads = []
    with tempfile.TemporaryDirectory(prefix="glassnet-cold-start-") as tmp:
        warm_cache = os.path.join(tmp, "warm-cache")
        _train(train_args, {**env, "NUMBA_CACHE_DIR": warm_cache}, os.path.join(tmp, "fill"))  # fills it
        for r in range(runs):
            loads.append(os.getloadavg()[0])
            print(f"run {r + 1}/{runs}, load {loads[-1]:.1f}", file=sys.stderr)
            for condition in conditions:
                cache = os.path.join(tmp, f"cold-cache-{r}") if condition == "cold" else warm_cache
                run_env = {**env, "NUMBA_CACHE_DIR": cache}
                if condition == "numpy":
                    run_env["GLASSNET_KERNELS"] = "numpy"
                if condition == "before":
                    run_env["PYTHONPATH"] = os.path.abspath(before)
                wall, cpu, trained = _train(train_args, run_env, os.path.join(tmp, f"{condition}-{r}"))
                results[condition].append({"wall_s": wall, "cpu_s": cpu, "train_s": trained,
                                           "kernels_compiled": _kernels_cached(cache) if condition == "cold" else 0})
    return results, loads


def _summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of a tiny training (a smoke test)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--before", metavar="SRC", help="an earlier checkout's src folder: one more condition")
    args, train_args = parser.parse_known_args(argv)
    train_args = [a for a in train_args if a != "--"]
    if args.quick:
        train_args = ["--dataset", "xor", "--epochs", "1", *train_args]
    results, loads = run(train_args, 1 if args.quick else args.runs, args.before)
    print(f"glassnet train {' '.join(train_args) or '(defaults)'}; load average (1 min) before each run: "
          f"{', '.join(f'{x:.1f}' for x in loads)}")
    print(f"{'condition':10} {'wall s':>20} {'CPU s':>20} {'train s (CLI)':>20} {'kernels compiled':>17}")
    for condition, rows in results.items():
        compiled = ", ".join(str(r["kernels_compiled"]) for r in rows) if condition == "cold" else "-"
        print(f"{condition:10} {_summary([r['wall_s'] for r in rows]):>20} {_summary([r['cpu_s'] for r in rows]):>20} "
              f"{_summary([r['train_s'] for r in rows]):>20} {compiled:>17}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cold_start-quick.json" if args.quick else "cold_start.json"), "w") as f:
        json.dump({"train_args": train_args, "loads": loads, "runs": results}, f, indent=2)
    return results


if __name__ == "__main__":
    main()
