"""`glassnet train` and `glassnet tune`: the seed-000 workflow (glassnet.workflow) from the command line."""
import os
import time

from .options import _config


def cmd_train(args):
    from .. import distributed  # noqa: PLC0415
    from ..workflow import train  # noqa: PLC0415

    if args.ranks > 1 and not distributed.launched_by_mpiexec():  # start the ranks, each running this command
        return distributed.launch(args.ranks, ["-m", "glassnet", *args.argv])
    out = args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    config = _config(args)
    config.distributed = distributed.launched_by_mpiexec()
    result = train(config, out=out)
    if result.rank != 0:
        return 0
    metric = "accuracy" if "accuracy" in result.test else "mae"
    ranks = f" on {result.ranks} ranks" if result.ranks > 1 else ""
    print(f"trained {result.model.count_params():,} parameters on {config.csv or config.dataset} for "
          f"{result.epochs_run} epochs in {result.seconds:.2f} s{ranks}")
    print(f"test {metric}: {result.test[metric]:.4f}   test loss: {result.test['loss']:.4f}")
    for kind, path in result.files.items():
        print(f"{kind:>9}: {path}")
    return 0


def cmd_tune(args):
    from ..workflow import tune  # noqa: PLC0415

    config = _config(args)
    sizes = args.hidden
    print(f"trying hidden sizes {', '.join(map(str, sizes))} on {config.csv or config.dataset} "
          "(best chosen on the validation split)")
    rows = tune(config, sizes)
    key = "val_accuracy" if "val_accuracy" in rows[0] else "val_loss"
    test_key = "test_accuracy" if "test_accuracy" in rows[0] else "test_loss"
    print(f"{'hidden':>7} {'params':>8} {key:>13} {test_key:>14} {'epochs':>7} {'seconds':>8}")
    for r in rows:
        print(f"{r['hidden']:>7} {r['params']:>8,} {r[key]:>13.4f} {r[test_key]:>14.4f} {r['epochs']:>7} "
              f"{r['seconds']:>8.2f}{'  <- best' if r['best'] else ''}")
    return 0
