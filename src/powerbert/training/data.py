"""GLUE data: from a folder in the standard layout, or from the Hugging Face hub, tokenized for training."""

import csv
import functools
import os
import sys
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict
from transformers import AutoTokenizer, DataCollatorWithPadding, PreTrainedTokenizerBase

from ..errors import PowerBertError, first_line
from ..modeling import load_config
from .tasks import GlueTask, compute_metrics

TEXT_COLUMNS = ("text_a", "text_b")


def resolve_glue_dir(glue_dir: str | os.PathLike | None) -> Path | None:
    """The GLUE folder from the argument, else from the GLUE_DIR environment variable, else None (use the hub)."""
    chosen = glue_dir or os.environ.get("GLUE_DIR")
    return Path(chosen) if chosen else None


def load_glue(task: GlueTask, glue_dir: str | os.PathLike | None = None) -> DatasetDict:
    """Train and validation splits with columns text_a[, text_b], label."""
    folder = resolve_glue_dir(glue_dir)
    if folder is not None:
        return DatasetDict(
            train=read_glue_tsv(folder / task.folder / "train.tsv", task),
            validation=read_glue_tsv(folder / task.folder / task.dev_file, task),
        )
    return _load_from_hub(task)


def _load_from_hub(task: GlueTask) -> DatasetDict:
    from datasets import load_dataset

    try:
        hub = load_dataset("nyu-mll/glue", task.hub_config)
    except Exception as err:  # any failure to reach or read the hub gets the same advice
        raise PowerBertError(
            f"no GLUE data for {task.name}: pass --glue-dir or set GLUE_DIR to a folder in the standard GLUE "
            f"layout, or allow access to the Hugging Face hub (it failed: {first_line(err)})"
        ) from None
    splits = {"train": hub["train"], "validation": hub[task.hub_validation]}
    renames = dict(zip(task.hub_text_columns, TEXT_COLUMNS))
    return DatasetDict(
        {name: split.rename_columns(renames).select_columns([*renames.values(), "label"]) for name, split in splits.items()}
    )


def read_glue_tsv(path: Path, task: GlueTask) -> Dataset:
    """Read one GLUE TSV file (tab-separated, no quoting, optional UTF-8 byte-order mark)."""
    if not path.is_file():
        raise PowerBertError(f"missing GLUE file {path} (expected the standard layout <glue-dir>/{task.folder}/...)")
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise PowerBertError(f"{path} is empty")
    header = rows.pop(0) if task.has_header else [str(i) for i in range(len(rows[0]))]
    wanted = [*task.text_columns, task.label_column]
    missing = [name for name in wanted if name not in header]
    if missing:
        raise PowerBertError(f"{path} has no column {missing[0]!r} (its header: {header})")
    index = [header.index(name) for name in wanted]
    columns: dict[str, list] = {name: [] for name in [*TEXT_COLUMNS[: len(task.text_columns)], "label"]}
    for line_number, row in enumerate(rows, start=2 if task.has_header else 1):
        if len(row) <= max(index):
            raise PowerBertError(f"{path} line {line_number}: expected {len(header)} columns, found {len(row)}")
        *texts, label = (row[i] for i in index)
        for name, source, text in zip(TEXT_COLUMNS, task.text_columns, texts):
            if not text.strip():
                raise PowerBertError(f"{path} line {line_number}: empty text in column {source!r}")
            columns[name].append(text)
        columns["label"].append(_parse_label(label, task, path, line_number))
    return Dataset.from_dict(columns)


def _parse_label(value: str, task: GlueTask, path: Path, line_number: int) -> int | float:
    if task.is_regression:
        try:
            return float(value)
        except ValueError:
            raise PowerBertError(f"{path} line {line_number}: label {value!r} is not a number") from None
    if value not in task.labels:
        raise PowerBertError(f"{path} line {line_number}: unknown label {value!r} (expected one of {task.labels})")
    return task.labels.index(value)


def raw_splits(task, glue_dir: str | os.PathLike | None = None) -> DatasetDict:
    """A task's untokenized splits (text_a[, text_b], label): a GLUE task's from its folder or the hub, a user's
    data set as `load_user_task` read it."""
    return load_glue(task, glue_dir) if isinstance(task, GlueTask) else task.splits


def model_max_length(tokenizer: PreTrainedTokenizerBase, config) -> int:
    """The longest input the model accepts, in tokens."""
    limit = config.max_position_embeddings
    if config.model_type in ("roberta", "xlm-roberta", "camembert"):
        limit -= 2  # positions start after the padding index
    return min(limit, tokenizer.model_max_length or limit)


def tokenize(dataset: DatasetDict | Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int,
             head_tail: bool = False):
    """Tokenize text_a[, text_b] (truncated to max_length) and keep labels; padding is left to the collator.

    head_tail: a text longer than max_length keeps its first quarter and its last three quarters of the room
    (Sun et al. 2019, "How to fine-tune BERT for text classification": a strong baseline on long reviews)
    instead of its first max_length tokens."""
    columns = dataset.column_names
    columns = columns["train"] if isinstance(columns, dict) else columns
    pair = "text_b" in columns
    if head_tail and pair:
        raise PowerBertError("head+tail truncation applies to a single text column, not to pairs")

    def encode(batch: dict) -> dict:
        texts = (batch["text_a"], batch["text_b"]) if pair else (batch["text_a"],)
        if head_tail:
            return {k: [_head_tail(v, max_length) for v in values]
                    for k, values in tokenizer(*texts, truncation=False, verbose=False).items()}
        return tokenizer(*texts, truncation=True, max_length=max_length)

    tokenized = dataset.map(encode, batched=True, remove_columns=[c for c in columns if c != "label"], desc="tokenize")
    return tokenized.rename_column("label", "labels")


def _head_tail(values: list, max_length: int) -> list:
    """The first and last special tokens, the first quarter of the room from the text's head, the rest from its tail."""
    if len(values) <= max_length:
        return values
    room = max_length - 2
    head = room // 4
    return [values[0], *values[1 : 1 + head], *values[len(values) - 1 - (room - head) : -1], values[-1]]


class TaskData:
    """A task's train and dev splits, tokenized for one tokenizer, and the dynamic-padding collator."""

    def __init__(
        self,
        task: GlueTask,
        tokenizer,
        model_config,
        glue_dir: str | None = None,
        max_seq_length: int | None = None,
        max_train_samples: int | None = None,
        seed: int = 42,
        head_tail: bool = False,
    ) -> None:
        self.task, self.tokenizer = task, tokenizer
        limit = model_max_length(tokenizer, model_config)
        default = min(task.hyper.max_seq_length, limit) if task.hyper.max_seq_length else limit  # 0: the model's
        self.max_seq_length = max_seq_length or default
        if self.max_seq_length > limit:
            raise PowerBertError(f"--max-seq-length {self.max_seq_length} exceeds the model's limit of {limit} tokens")
        raw = raw_splits(task, glue_dir)
        if max_train_samples:
            raw = DatasetDict({**raw, "train": raw["train"].shuffle(seed=seed).select(
                range(min(max_train_samples, len(raw["train"]))))})
        self._raw_train, self._head_tail = raw["train"], head_tail
        self.dev = tokenize(raw["validation"], tokenizer, self.max_seq_length, head_tail)
        # user data with a --test-file
        self.test = tokenize(raw["test"], tokenizer, self.max_seq_length, head_tail) if "test" in raw else None
        self.collator = DataCollatorWithPadding(tokenizer)

    @classmethod
    def for_model(cls, task: GlueTask, model_dir: str, **kwargs) -> "TaskData":
        """TaskData tokenized with the tokenizer that lies in (or is named by) model_dir."""
        config = load_config(model_dir)
        return cls(task, load_tokenizer(model_dir), config, **kwargs)

    @functools.cached_property
    def train(self) -> Dataset:
        """The training split, tokenized when first used: evaluation and timing never pay for it."""
        return tokenize(self._raw_train, self.tokenizer, self.max_seq_length, self._head_tail)

    def split(self, name: str) -> Dataset:
        """The tokenized train, dev or test split by name."""
        if name == "test" and self.test is None:
            raise PowerBertError("these data have no test split; pass --test-file")
        if name == "train":
            return self.train  # tokenized here if not yet
        return self.test if name == "test" else self.dev

    def lengths(self, split: str = "dev") -> list[int]:
        """Real (unpadded) token count of every input of a split."""
        return [len(ids) for ids in self.split(split)["input_ids"]]

    def calibration_inputs(self, samples: int | None = None, seed: int = 42) -> list[dict[str, np.ndarray]]:
        """Training inputs (all, or `samples` drawn at random), each as (1, length) int64 arrays: what post-training
        quantizers calibrate on."""
        rows = self.train if samples is None else self.train.shuffle(seed=seed).select(range(min(samples, len(self.train))))
        columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in rows.column_names]
        return [{c: np.asarray([row[c]], dtype=np.int64) for c in columns} for row in rows]

    def metrics(self, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        return compute_metrics(self.task, predictions, labels)


def load_tokenizer(name_or_path: str):
    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as err:
        raise PowerBertError(f"cannot load a tokenizer from {name_or_path}: {first_line(err)}") from None
