"""Command-line values shared by the CLI and the tools: parsers (number lists, retention, model names) and the
checks that run before any work: numbers in range, lists well formed, folders usable."""

import math
from pathlib import Path

from ..algorithm.retention import PowerConfig
from ..deploy.exporter import EXPORT_CONFIG
from ..errors import PowerBertError, first_line


def add_user_data_options(parser, title: str = "your own data, instead of --task") -> None:
    """--train-file ... --metric: a user's data set, with the flags of transformers' text-classification examples."""
    group = parser.add_argument_group(title)
    group.add_argument("--train-file", help="training data: .csv, .tsv, .jsonl/.json (JSON lines) or .parquet")
    group.add_argument("--validation-file", help="validation data (default: carved from training)")
    group.add_argument("--test-file", help="test data, evaluated at the end")
    group.add_argument("--dataset-name", help="a data set on the Hugging Face hub, instead of files")
    group.add_argument("--dataset-config", help="its configuration name")
    group.add_argument("--text-columns", help="one text column, or a pair: a,b (default: text)")
    group.add_argument("--label-column", help="label column (default: label); strings or integers are classes, "
                       "floats a regression")
    group.add_argument("--regression", action="store_true", help="treat numeric labels as a regression")
    group.add_argument("--validation-split-percentage", type=float,
                       help="without validation data: the share of training rows held out (default 10, by --seed)")
    group.add_argument("--max-test-samples", type=int, help="evaluate on a seeded sample of this many test rows")
    group.add_argument("--metric", help="metric that picks the best epoch: accuracy or f1 (classes, default "
                       "accuracy), pearson or spearman (regression, default spearman)")


def add_task_options(parser) -> None:
    """--task and --glue-dir for a GLUE task, or a user's own data."""
    parser.add_argument("--task", help="GLUE task: cola, sst2, mrpc, stsb, qqp, mnli, mnli-mm, qnli, rte, wnli")
    parser.add_argument("--glue-dir", help="GLUE folder in the standard layout (default: $GLUE_DIR, else the hub)")
    add_user_data_options(parser)


def user_data_given(args) -> bool:
    """Whether the command line names a user's data set (files or a hub data set)."""
    return bool(getattr(args, "train_file", None) or getattr(args, "dataset_name", None))


def task_from_args(args):
    """The GLUE task named by --task, or the user's data set read and checked (a UserTask)."""
    from ..training.tasks import get_task

    if user_data_given(args):
        if getattr(args, "task", None):
            raise PowerBertError("give --task (GLUE) or your own data (--train-file, --dataset-name), not both")
        from ..training.user_data import data_options_from, load_user_task

        return load_user_task(data_options_from(args))
    if not getattr(args, "task", None):
        raise PowerBertError("give --task (GLUE), or your own data with --train-file or --dataset-name")
    return get_task(args.task)


def parse_numbers(text: str, kind: type) -> list:
    """A comma-separated option as a list of numbers (empty text: no values)."""
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PowerBertError(f"{text!r} must be comma-separated numbers") from None


def parse_retention(text: str | None, mode: str = "count") -> PowerConfig | None:
    """`--retention 40,30,20` (count mode) or `0.8,0.5,0.3` (fraction mode) as a PowerConfig (validated), or None."""
    if not text:
        return None
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise PowerBertError(f"--retention {text!r} must be comma-separated numbers") from None
    return PowerConfig(values, mode=mode)  # validated: integers >= 1 (count) or fractions in (0, 1]


def parse_names(text: str, known, option: str) -> list[str]:
    """A comma-separated list of names, each one of `known`, without repeats."""
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise PowerBertError(f"{option} {text!r}: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(known)}")
    if len(set(names)) != len(names):
        raise PowerBertError(f"{option} {text!r} names a value twice")
    return names


def _positive(value) -> bool:
    return math.isfinite(value) and value > 0


AT_LEAST_1 = (lambda v: v >= 1, "at least 1")
# option attribute (or its suffix, e.g. finetune_lr) -> (test, what the value must be)
VALUE_RULES = {
    **{name: AT_LEAST_1 for name in ("batch_size", "max_train_samples", "max_test_samples", "calibration_samples",
                                     "repeats", "examples", "max_examples", "replicas", "max_queued", "max_ongoing",
                                     "max_inputs", "max_requests", "inputs_per_request")},
    "lr": (_positive, "a positive number"),
    "lr_retention": (_positive, "a positive number"),
    "epochs": (_positive, "a positive number"),
    "checkpoint_minutes": (_positive, "a positive number"),
    "lambda_": (lambda v: math.isfinite(v) and v >= 0, "a number >= 0"),
    "flop_fraction": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "target_flops": (lambda v: 0 < v < 1, "a fraction in (0, 1)"),
    "target_speedup": (lambda v: math.isfinite(v) and v > 1, "a number above 1"),
    "threads": (lambda v: v >= 0, "0 (automatic) or more"),
    "port": (lambda v: 0 < v < 65536, "a port number"),
    "max_wait_ms": (lambda v: 0 <= v <= 10_000, "between 0 and 10000"),
    "max_body_bytes": (lambda v: v >= 100, "at least 100"),
    "concurrency": (lambda v: 1 <= v <= 1024, "between 1 and 1024"),
    "rate": (lambda v: math.isfinite(v) and v >= 0, "a number >= 0"),
    "duration": (lambda v: 0 < v <= 3600, "in (0, 3600] seconds"),
    "timeout": (lambda v: 0 < v <= 600, "in (0, 600] seconds"),
    "max_seq_length": (lambda v: v >= 2, "at least 2 ([CLS] and [SEP])"),
    "validation_split_percentage": (lambda v: 0 < v < 100, "in (0, 100)"),
    "seed": (lambda v: v >= 0, "a number >= 0"),
}
# comma-separated list options -> (element type, test, what each element must be)
LIST_RULES = {
    "lambdas": (float, _positive, "a positive number"),
    "truncations": (int, lambda v: v >= 2, "at least 2"),
    "layers": (int, lambda v: v >= 1, "at least 1"),
    "batch_sizes": (int, lambda v: v >= 1, "at least 1"),
    "seq_lengths": (int, lambda v: v >= 2, "at least 2"),
    "seeds": (int, lambda v: v >= 0, "a number >= 0"),
    "target_flops": (float, lambda v: 0 < v < 1, "a fraction in (0, 1)"),
    "head_tail": (int, lambda v: v >= 8, "at least 8"),
    "gradual": (float, lambda v: 0 < v < 1, "a fraction in (0, 1)"),
}
REQUIRED_LISTS = ("lambdas", "batch_sizes", "seq_lengths")


def _option(name: str) -> str:
    return "--" + name.rstrip("_").replace("_", "-")


def check_option_values(args) -> None:
    """Every number in range and every list well formed, before any work or any folder is made."""
    for name, value in vars(args).items():
        rule = next((r for key, r in VALUE_RULES.items() if name == key or name.endswith("_" + key)), None)
        if rule is not None and isinstance(value, (int, float)) and not rule[0](value):
            raise PowerBertError(f"{_option(name)} {value} must be {rule[1]}")
        if name in LIST_RULES and isinstance(value, str):
            kind, test, what = LIST_RULES[name]
            values = parse_numbers(value, kind)
            if not values and name in REQUIRED_LISTS:
                raise PowerBertError(f"{_option(name)} {value!r} must list at least one value")
            bad = [v for v in values if not test(v)]
            if bad:
                raise PowerBertError(f"{_option(name)} {value!r}: {bad[0]} must be {what}")
            if len(set(values)) != len(values):
                raise PowerBertError(f"{_option(name)} {value!r} names a value twice")


def check_model_folder(path: str) -> None:
    """A local model folder that is complete: config, weights whose header reads, one line naming what is wrong.

    Hub names (no such folder here) are left to the loader, export folders to their runtime class."""
    if not path.strip():
        raise PowerBertError("--model is empty; give a model folder or a hub name")
    folder = Path(path)
    if not folder.is_dir():
        if folder.exists():
            raise PowerBertError(f"--model {path} is a file; give a model folder or a hub name")
        return
    if (folder / EXPORT_CONFIG).is_file():
        return  # an export folder: its runtime class checks the graph file when it opens it
    if not (folder / "config.json").is_file():
        raise PowerBertError(f"--model {path} has no config.json: not a model folder, or copied only in part")
    weights = [folder / name for name in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                                          "pytorch_model.bin.index.json")]
    if not any(w.is_file() for w in weights):
        raise PowerBertError(f"--model {path} has no weights (model.safetensors): copied only in part?")
    if weights[0].is_file():
        from safetensors import safe_open

        try:
            with safe_open(str(weights[0]), framework="pt") as handle:
                handle.keys()
        except Exception as err:  # safetensors raises its own error type for a truncated or corrupt file
            raise PowerBertError(f"{weights[0]} is corrupt or truncated: {first_line(err)}") from None
