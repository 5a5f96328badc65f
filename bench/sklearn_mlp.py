"""glassnet.sklearn.MLPClassifier against scikit-learn's MLPClassifier, same parameters.

Run from the repository root:  python bench/sklearn_mlp.py            (full, ~5 minutes)
                               python bench/sklearn_mlp.py --quick    (tiny, proves it runs)
Writes bench/results/sklearn_mlp.json and prints the table.

Both estimators get scikit-learn's default parameters (one hidden layer of 100 relu units,
Adam, batch min(200, n), max_iter=200, tol=1e-4, n_iter_no_change=10) on digits, breast
cancer and a 20,000-sample make_classification, each standardised and split 75/25 once
(random_state=0). Each of 5 seeds is the estimators' random_state (initial weights and
shuffling). Each competitor runs alone in its own process per data set (see NOTES.md: on
this 2-core machine idle BLAS threads of a previous competitor slow the next one), after a
warm-up fit of 2 epochs, with one BLAS thread for both (``--blas-threads``): these products
are small, and on the shared machine two-thread BLAS made both competitors several times
slower and far noisier. scikit-learn computes in float64 on float64 data; glassnet in float32
(its default). Reported: test accuracy (mean and min-max over the seeds), fit time (mean and
min-max), epochs run, and the fit time per epoch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = ("digits", "breast_cancer", "make_classification_20000")
COMPETITORS = ("glassnet", "sklearn")


def load(name, quick):
    from sklearn.datasets import load_breast_cancer, load_digits, make_classification  # noqa: PLC0415
    from sklearn.model_selection import train_test_split  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    if name == "digits":
        x, y = load_digits(return_X_y=True)
    elif name == "breast_cancer":
        x, y = load_breast_cancer(return_X_y=True)
    else:
        x, y = make_classification(2000 if quick else 20000, 20, n_informative=10, random_state=0)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test), y_train, y_test


def worker(competitor, dataset, seeds, quick):
    """Fit one competitor on one data set for each seed, in this process; a list of results."""
    if competitor == "glassnet":
        from glassnet.sklearn import MLPClassifier  # noqa: PLC0415
    else:
        from sklearn.neural_network import MLPClassifier  # noqa: PLC0415
    from sklearn.exceptions import ConvergenceWarning  # noqa: PLC0415

    x_train, x_test, y_train, y_test = load(dataset, quick)
    max_iter = 5 if quick else 200
    warnings.simplefilter("ignore", ConvergenceWarning)
    MLPClassifier(max_iter=2, random_state=0).fit(x_train, y_train)  # warm-up
    out = []
    for seed in range(seeds):
        clf = MLPClassifier(max_iter=max_iter, random_state=seed)
        start, cpu = time.perf_counter(), time.process_time()
        clf.fit(x_train, y_train)
        fit_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
        out.append({"seed": seed, "fit_s": fit_s, "cpu_s": cpu_s, "epochs": clf.n_iter_,
                    "accuracy": clf.score(x_test, y_test)})
    return out


def _worker(competitor, dataset, seeds, quick, blas_threads):
    cmd = [sys.executable, __file__, "--worker", competitor, dataset, "--seeds", str(seeds)]
    env = dict(os.environ)
    if blas_threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(blas_threads)
    out = subprocess.run(cmd + (["--quick"] if quick else []), capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(values):
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def run(quick=False, seeds=5, rounds=1, blas_threads=1):
    """Every data set, each competitor alone in its own process; ``rounds`` repeats of the
    whole comparison (the machine is shared: timings move from run to run)."""
    seeds = 1 if quick else seeds
    rows = []
    for dataset in ("breast_cancer",) if quick else DATASETS:  # quick: the smallest, to prove it runs
        for _ in range(rounds):
            fits = {c: _worker(c, dataset, seeds, quick, blas_threads) for c in COMPETITORS}
            for competitor, results in fits.items():
                fit_s = [r["fit_s"] for r in results]
                rows.append({"dataset": dataset, "competitor": competitor,
                             "accuracy": _summary([r["accuracy"] for r in results]), "fit_s": _summary(fit_s),
                             "epochs": _summary([r["epochs"] for r in results]),
                             "per_epoch_s": statistics.fmean(r["fit_s"] / r["epochs"] for r in results),
                             "cpu_s": _summary([r["cpu_s"] for r in results]),
                             "time_ratio": statistics.fmean(fit_s) / statistics.fmean(
                                 r["fit_s"] for r in fits["sklearn"])})
    return {"seeds": seeds, "rounds": rounds, "blas_threads": blas_threads, "rows": rows}


def table(result):
    lines = [f"{'data set':26} {'competitor':10} {'accuracy mean [min-max]':>26} {'fit s mean [min-max]':>24} "
             f"{'epochs':>7} {'ms/epoch':>9} {'cpu s':>7} {'time / sklearn':>15}"]
    for r in result["rows"]:
        a, f = r["accuracy"], r["fit_s"]
        lines.append(f"{r['dataset']:26} {r['competitor']:10} {a['mean']:8.4f} [{a['min']:.4f}-{a['max']:.4f}] "
                     f"{f['mean']:8.3f} [{f['min']:.3f}-{f['max']:.3f}] {r['epochs']['mean']:7.1f} "
                     f"{r['per_epoch_s'] * 1e3:9.2f} {r['cpu_s']['mean']:7.3f} {r['time_ratio']:15.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="glassnet's MLPClassifier against scikit-learn's")
    parser.add_argument("--quick", action="store_true", help="tiny data, one seed: proves the benchmark runs")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole comparison")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads of both competitors (0: the library default)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--worker", nargs=2, metavar=("COMPETITOR", "DATASET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.seeds, args.quick)))
        return None
    result = run(args.quick, args.seeds, args.rounds, args.blas_threads)
    print(table(result))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "sklearn_mlp-quick.json" if args.quick else "sklearn_mlp.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
