"""The whole benchmark suite in one command: python bench/run.py [--quick]

Runs bench/mlp.py (MLP epochs, predict, `glassnet train`), bench/networks.py (CNN, LSTM and
GAN steps), bench/sklearn_mlp.py (glassnet.sklearn.MLPClassifier against scikit-learn's) and
bench/distributed.py (1, 2 and 4 MPI ranks; not with --quick, whose run the test suite makes:
`python bench/distributed.py --quick` proves that one alone), printing the tables and writing
their JSON (and PNG) to bench/results/.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import distributed  # noqa: E402
import mlp  # noqa: E402
import networks  # noqa: E402
import sklearn_mlp  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, once: proves the suite runs")
    parser.add_argument("--out", default=os.path.join(mlp.HERE, "results"))
    args = parser.parse_args(argv)
    extra = ["--quick"] if args.quick else []
    mlp.main([*extra, "--out", args.out])
    print()
    networks.main([*extra, "--out", args.out])
    print()
    sklearn_mlp.main([*extra, "--out", args.out])
    if not args.quick:
        print()
        distributed.main(["--out", args.out])


if __name__ == "__main__":
    main()
