"""The commands on a saved model file: summary, export, evaluate and predict."""
import csv
import io
import os

import numpy as np

from .options import DATASET_NAMES


def _load(path):
    from .. import load_model  # noqa: PLC0415

    return load_model(path)


def cmd_summary(args):
    model = _load(args.model)
    model.summary()
    meta = model.metadata
    if meta.get("dataset"):
        print(f"trained on: {meta['dataset']} ({meta.get('task')}, classes: {', '.join(meta.get('target_names', []))})")
    if model.compiled:
        print(f"optimizer: {type(model.optimizer).__name__}, loss: {type(model.loss).__name__}, "
              f"updates so far: {model.optimizer.iterations}")
    return 0


def cmd_export(args):
    from ..onnx import export  # noqa: PLC0415 - needs the optional onnx package

    model = _load(args.model)
    export(model, args.onnx, opset=args.opset, input_shape=args.input_shape)
    print(f"wrote {args.onnx} (ONNX opset {args.opset}, input 'input', output 'output', dynamic batch)")
    return 0


def cmd_evaluate(args):
    from ..workflow import TrainConfig, encode_targets, load_split  # noqa: PLC0415

    model = _load(args.model)
    meta = model.metadata
    dataset = args.csv or args.dataset or meta.get("dataset")
    if not dataset:
        raise ValueError("the model file does not say which data it was trained on; pass --dataset or --csv")
    is_csv = bool(args.csv) or (not args.dataset and dataset not in DATASET_NAMES)
    config = TrainConfig(dataset=dataset if not is_csv else "digits", csv=dataset if is_csv else None,
                         target=args.target or meta.get("target"), test_size=meta.get("test_size", 0.2),
                         seed=meta.get("split_seed", 42))
    split = load_split(config)
    result = model.evaluate(split.x_test, encode_targets(split.y_test, split.info), batch_size=256, return_dict=True)
    print(f"test split of {dataset} ({len(split.x_test)} samples): "
          + "   ".join(f"{k}: {v:.4f}" for k, v in result.items()))
    return 0


def cmd_predict(args):
    from ..saving import atomic_write  # noqa: PLC0415

    model = _load(args.model)
    meta = model.metadata
    x = _read_rows(args.csv, meta, _input_width(model))
    y = model.predict(x, batch_size=256)
    names = meta.get("target_names") or []
    buf = io.StringIO()
    writer = csv.writer(buf)
    if meta.get("task", "classification") == "classification":
        probs = y if y.shape[1] > 1 else np.concatenate([1 - y, y], axis=1)
        labels = names or [str(i) for i in range(probs.shape[1])]
        writer.writerow(["prediction", *[f"p_{n}" for n in labels]])
        for p in probs:
            writer.writerow([labels[int(p.argmax())], *(f"{v:.6f}" for v in p)])
    else:
        writer.writerow(["prediction"])
        writer.writerows([[f"{v:.6g}"] for v in y.reshape(len(y), -1)[:, 0]])
    out = args.out or os.path.splitext(args.csv)[0] + ".predictions.csv"
    atomic_write(out, buf.getvalue().encode())
    print(f"wrote {len(y)} predictions to {out}")
    return 0


def _input_width(model):
    """The number of features one sample of ``model`` has (None when it takes images)."""
    shape = tuple(getattr(model, "_input_shape", None) or ())  # one sample's shape
    return shape[0] if len(shape) == 1 else None


def _read_rows(path, meta, width):
    """The feature matrix of the CSV file at ``path``, with clear errors for the usual mistakes."""
    from ..datasets import _is_number  # noqa: PLC0415

    with open(path, "rb") as f:
        raw = f.read()
    nul = raw.find(b"\0")
    if nul >= 0:
        raise ValueError(f"{path} holds a NUL byte at offset {nul}: it is not a text CSV file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    if not rows:
        raise ValueError(f"{path} is empty")
    header = rows[0]
    features = meta.get("feature_names") or []
    if features and all(name in header for name in features):
        columns, data = [header.index(name) for name in features], rows[1:]
    elif all(_is_number(v) for v in header):
        columns = list(range(len(header)))
        # NOTE: pandas writes 0,1,...,n-1 as the header of an unnamed frame: that row is a header.
        is_index_header = [v.strip() for v in header] == [str(i) for i in range(len(header))]
        data = rows[1:] if is_index_header and len(rows) > 1 else rows
    else:
        columns = [i for i, h in enumerate(header) if h != meta.get("target")]
        data = rows[1:]
    if not data:
        raise ValueError(f"{path} has a header row but no data rows")
    if width is not None and len(columns) != width:
        target = meta.get("target")
        hint = (f" (does it still hold the label column{f' {target!r}' if target else ''}?)"
                if len(columns) == width + 1 else "")
        raise ValueError(f"{path} has {len(columns)} feature columns; the model expects {width}{hint}")
    try:
        return np.array([[float(r[c]) for c in columns] for r in data], dtype=np.float32)
    except (ValueError, IndexError) as err:
        raise ValueError(f"{path}: every row needs {len(columns)} numeric values in the feature columns ({err})") \
            from None
