"""A user's own text-classification or regression data: files (CSV, TSV, JSON lines, Parquet) or a hub data set,
read by `datasets`, with the options of transformers' text-classification example scripts.

`load_user_task` reads and checks the data once and returns a `UserTask`: the same interface as a GLUE task
(name, labels, metric, default hyperparameters), holding its splits with columns text_a[, text_b], label.
"""

import math
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset, DatasetDict

from ..errors import PowerBertError, first_line
from .tasks import Hyperparameters, Labels

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
# Defaults for data that is not GLUE, from the paper's stated search ranges (LR_BERT 2e-5..6e-5, lambda
# 1e-4..1e-3); a FLOP target replaces lambda and the retention learning rate (see DEFAULT_TARGET_FLOPS).
# max_seq_length 0: the model's own limit (no silent truncation of long documents).
USER_HYPER = Hyperparameters(lr=5e-5, lr_retention=1e-3, lambda_=5e-4, batch_size=32, max_seq_length=0)
DEFAULT_TARGET_FLOPS = 0.5
CLASS_METRICS = ("accuracy", "f1")
REGRESSION_METRICS = ("pearson", "spearman")


@dataclass
class DataOptions:
    """Where a user's data lie and which columns hold what (the CLI's data options)."""

    train_file: str | None = None
    validation_file: str | None = None
    test_file: str | None = None
    dataset_name: str | None = None
    dataset_config: str | None = None
    text_columns: str = "text"
    label_column: str = "label"
    regression: bool = False
    validation_split_percentage: float = 10.0
    max_test_samples: int | None = None
    metric: str | None = None
    seed: int = 42


@dataclass
class UserTask(Labels):
    """A user's data set with a GLUE task's interface; `splits` holds train, validation (and test) already read."""

    name: str
    labels: tuple[str, ...] | None  # class names in id order; None for a regression
    metric: str
    splits: DatasetDict
    hyper: Hyperparameters = USER_HYPER
    always_f1 = True  # report F1 beside accuracy (macro-F1 for more than two classes)

    @property
    def label_names(self) -> tuple[str, ...] | None:
        return self.labels


SPLIT_NAMES = {"train", "training", "dev", "valid", "validation", "val", "test"}


def _data_set_name(train_file: Path) -> str:
    """What reports call the data: the file's name, or its folder's where the file is named for its split
    (imdb/train.tsv is "imdb", not "train")."""
    stem = train_file.stem
    return (train_file.resolve().parent.name or stem) if stem.lower() in SPLIT_NAMES else stem


def load_user_task(options: DataOptions) -> UserTask:
    """Read, check and label-encode the user's data; one clear line for anything wrong with it."""
    text_columns = [c.strip() for c in options.text_columns.split(",") if c.strip()]
    if not 1 <= len(text_columns) <= 2:
        raise PowerBertError(f"--text-columns {options.text_columns!r} must name one text column or a pair (a,b)")
    if options.train_file and options.dataset_name:
        raise PowerBertError("give --train-file or --dataset-name, not both")
    if options.dataset_name:
        raw, name = _read_hub(options.dataset_name, options.dataset_config), options.dataset_name
    else:
        if not options.train_file:
            raise PowerBertError("give --task (GLUE), or your own data with --train-file or --dataset-name")
        files = {"train": options.train_file, "validation": options.validation_file, "test": options.test_file}
        raw = DatasetDict({s: read_data_file(Path(f), s) for s, f in files.items() if f})
        name = _data_set_name(Path(options.train_file))
    for split, data in raw.items():
        _check_columns(data, [*text_columns, options.label_column], split)
    if "validation" not in raw:
        raw = _carve_validation(raw, options.validation_split_percentage, options.seed)
    if options.max_test_samples and "test" in raw and options.max_test_samples < len(raw["test"]):
        # a fixed, seeded sample: the same rows for every model evaluated with the same seed
        raw["test"] = raw["test"].shuffle(seed=options.seed).select(range(options.max_test_samples))
    splits = DatasetDict({split: _check_texts(data, text_columns, split).rename_columns(
        {c: f"text_{'ab'[i]}" for i, c in enumerate(text_columns)}) for split, data in raw.items()})
    splits = DatasetDict({s: d.select_columns([*(f"text_{'ab'[i]}" for i in range(len(text_columns))),
                                              options.label_column]) for s, d in splits.items()})
    labels, encoded = _encode_labels(splits, options.label_column, options.regression)
    metric = options.metric or ("spearman" if labels is None else "accuracy")
    allowed = REGRESSION_METRICS if labels is None else CLASS_METRICS
    if metric not in allowed:
        raise PowerBertError(f"--metric {metric!r} does not fit a {'regression' if labels is None else 'classification'}; "
                             f"choose from {', '.join(allowed)}")
    return UserTask(name=name, labels=labels, metric=metric, splits=encoded)


def read_data_file(path: Path, split: str) -> Dataset:
    """One CSV, TSV (no quoting), JSON lines or Parquet file, by extension; one line for anything wrong with it
    (split names the option in the message: --{split}-file)."""
    if not path.is_file():
        raise PowerBertError(f"--{split}-file {path} does not exist")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise PowerBertError(f"--{split}-file {path}: unknown extension {path.suffix!r}; use one of {', '.join(FORMATS)}")
    if path.stat().st_size == 0:
        raise PowerBertError(f"--{split}-file {path} is empty")
    if kind != "parquet":
        _check_utf8(path, split)
    from datasets import load_dataset

    # TSV: no quoting, as GLUE's and IMDB's files are written (a review may start with a quote mark)
    extra = dict(sep="\t", quoting=3) if path.suffix.lower() == ".tsv" else {}
    try:
        data = load_dataset(kind, data_files={"data": str(path)}, split="data", **extra)
    except Exception as err:  # pandas, pyarrow and datasets raise many types for malformed files
        raise PowerBertError(f"--{split}-file {path} cannot be read as {path.suffix[1:].upper()}: "
                             f"{_reason(err)}") from None
    if len(data) == 0:
        raise PowerBertError(f"--{split}-file {path} has no rows")
    return data


def _reason(err: BaseException) -> str:
    """The innermost cause's first line: datasets wraps the parser's own, clearer error."""
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__
    return first_line(err)


def _check_utf8(path: Path, split: str) -> None:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise PowerBertError(f"--{split}-file {path} line {number} is not UTF-8; save the file as UTF-8") from None


def _read_hub(name: str, config: str | None) -> DatasetDict:
    from datasets import load_dataset

    try:
        hub = load_dataset(name, config)
    except Exception as err:  # no network, unknown name, gated data set: one line either way
        raise PowerBertError(f"--dataset-name {name}: cannot load it from the Hugging Face hub ({_reason(err)}); "
                             "check the name, or download it and pass --train-file") from None
    splits = {"train": hub.get("train"), "validation": hub.get("validation") or hub.get("dev"), "test": hub.get("test")}
    if splits["train"] is None:
        raise PowerBertError(f"--dataset-name {name} has no train split (it has {', '.join(hub)})")
    return DatasetDict({k: v for k, v in splits.items() if v is not None})


def _check_columns(data: Dataset, wanted: list[str], split: str) -> None:
    missing = [c for c in wanted if c not in data.column_names]
    if missing:
        raise PowerBertError(f"the {split} data have no column {missing[0]!r} (columns: {', '.join(data.column_names)}); "
                             "set --text-columns and --label-column")


def _carve_validation(raw: DatasetDict, percentage: float, seed: int) -> DatasetDict:
    """A validation split carved from training: the same rows for the same seed, in every stage and run."""
    train = raw["train"]
    size = max(1, math.ceil(len(train) * percentage / 100))
    if size >= len(train):
        raise PowerBertError(f"--validation-split-percentage {percentage:g} leaves no training rows of {len(train)}")
    parts = train.train_test_split(test_size=size, seed=seed, shuffle=True)
    return DatasetDict({**raw, "train": parts["train"], "validation": parts["test"]})


def _check_texts(data: Dataset, columns: list[str], split: str) -> Dataset:
    for column in columns:
        for row, text in enumerate(data[column]):
            if not isinstance(text, str) or not text.strip():
                raise PowerBertError(f"the {split} data, row {row + 1}: empty text in column {column!r}")
    return data


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _encode_labels(splits: DatasetDict, column: str, regression: bool) -> tuple[tuple[str, ...] | None, DatasetDict]:
    """Float labels (or --regression): a regression. Otherwise every distinct value of the training labels is a
    class, in sorted order (numbers numerically), and the label becomes its index."""
    values = {split: list(data[column]) for split, data in splits.items()}
    for split, labels in values.items():
        missing = [i for i, v in enumerate(labels) if v is None or (isinstance(v, float) and math.isnan(v))]
        if missing:
            raise PowerBertError(f"the {split} data, row {missing[0] + 1}: no label in column {column!r}")
    train = values["train"]
    numeric = [_is_number(v) for v in train]
    if any(numeric) and not all(numeric):
        names = [v for v, n in zip(train, numeric) if not n][:1] + [v for v, n in zip(train, numeric) if n][:1]
        raise PowerBertError(f"column {column!r} mixes numbers and names (e.g. {names[1]!r} and {names[0]!r}); "
                             "use one kind of label")
    floats = all(numeric) and any(not float(v).is_integer() for v in train)
    if regression or floats:
        if not all(numeric):
            raise PowerBertError(f"--regression needs numeric labels in column {column!r}")
        for split, labels in values.items():
            if not all(_is_number(v) for v in labels):
                raise PowerBertError(f"the {split} data: column {column!r} holds labels that are not numbers")
        return None, DatasetDict({s: d.remove_columns(column).add_column("label", [float(v) for v in values[s]])
                                  for s, d in splits.items()})
    key = (lambda v: float(v)) if all(numeric) else str
    names = sorted({_name(v) for v in train}, key=lambda n: key(n))
    if len(names) < 2:
        raise PowerBertError(f"column {column!r} holds a single class ({names[0]!r}) in the training data: nothing "
                             "to learn")
    index = {n: i for i, n in enumerate(names)}
    for split, labels in values.items():
        unseen = sorted({_name(v) for v in labels} - set(index))
        if unseen:
            raise PowerBertError(f"the {split} data have label {unseen[0]!r}, never seen in training "
                                 f"(training labels: {', '.join(names)})")
    return tuple(names), DatasetDict({s: d.remove_columns(column).add_column("label", [index[_name(v)] for v in values[s]])
                                      for s, d in splits.items()})


def _name(value) -> str:
    """A label as its class name: 1 and 1.0 and '1' are the same class."""
    if _is_number(value) and float(value).is_integer():
        return str(int(float(value)))
    return str(value)


def data_options_from(args) -> DataOptions:
    """DataOptions from the CLI's namespace (options a command lacks keep their defaults)."""
    fields = DataOptions.__dataclass_fields__
    return DataOptions(**{k: getattr(args, k) for k in fields if getattr(args, k, None) is not None})

