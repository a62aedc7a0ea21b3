"""The nine GLUE tasks: where their data lies, their labels, their metric and the original's hyperparameters."""

from dataclasses import dataclass

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from ..errors import PowerBertError


@dataclass(frozen=True)
class Hyperparameters:
    """Per-task defaults of the original PoWER-BERT code (shared/reference/power-bert-notes.md)."""

    lr: float  # LR_BERT: encoder weights, every stage
    lr_retention: float  # LR_SOFT_EXTRACT: the retention parameters r_j
    lambda_: float  # weight of the retention regulariser
    batch_size: int
    max_seq_length: int


class Labels:
    """What a task's `labels` (class names in id order, or None for a regression) say about its head."""

    labels: tuple[str, ...] | None

    @property
    def num_labels(self) -> int:
        return 1 if self.labels is None else len(self.labels)

    @property
    def is_regression(self) -> bool:
        return self.labels is None


@dataclass(frozen=True)
class GlueTask(Labels):
    """One GLUE task in the standard folder layout and on the Hugging Face hub (nyu-mll/glue)."""

    name: str
    folder: str
    text_columns: tuple[str, ...]  # TSV header names (or column numbers for header-less files)
    label_column: str
    labels: tuple[str, ...] | None  # label strings in id order; None for regression
    metric: str  # the main metric, the one reported and used to pick the best epoch
    hyper: Hyperparameters
    hub_config: str
    hub_text_columns: tuple[str, ...]
    dev_file: str = "dev.tsv"
    hub_validation: str = "validation"
    has_header: bool = True
    label_names: tuple[str, ...] | None = None  # readable names for id2label, when the file's labels are 0/1

    always_f1 = False  # user data sets report F1 beside accuracy; GLUE tasks report their own metric


_BINARY = ("0", "1")
_NLI = ("entailment", "not_entailment")

TASKS: dict[str, GlueTask] = {
    task.name: task
    for task in [
        GlueTask("cola", "CoLA", ("3",), "1", _BINARY, "matthews_correlation",
                 Hyperparameters(2e-5, 1.5e-3, 7e-3, 32, 64), "cola", ("sentence",), has_header=False,
                 label_names=("unacceptable", "acceptable")),
        GlueTask("sst2", "SST-2", ("sentence",), "label", _BINARY, "accuracy",
                 Hyperparameters(3e-5, 5e-4, 2e-4, 64, 64), "sst2", ("sentence",),
                 label_names=("negative", "positive")),
        GlueTask("mrpc", "MRPC", ("#1 String", "#2 String"), "Quality", _BINARY, "f1",
                 Hyperparameters(6e-5, 3e-3, 3e-3, 64, 128), "mrpc", ("sentence1", "sentence2"),
                 label_names=("not_equivalent", "equivalent")),
        GlueTask("stsb", "STS-B", ("sentence1", "sentence2"), "score", None, "spearman",
                 Hyperparameters(3e-5, 3e-3, 1e-3, 64, 64), "stsb", ("sentence1", "sentence2")),
        GlueTask("qqp", "QQP", ("question1", "question2"), "is_duplicate", _BINARY, "f1",
                 Hyperparameters(3e-5, 1e-4, 3e-4, 64, 128), "qqp", ("question1", "question2"),
                 label_names=("not_duplicate", "duplicate")),
        GlueTask("mnli", "MNLI", ("sentence1", "sentence2"), "gold_label", ("entailment", "neutral", "contradiction"),
                 "accuracy", Hyperparameters(3e-5, 2e-4, 1e-4, 64, 128), "mnli", ("premise", "hypothesis"),
                 dev_file="dev_matched.tsv", hub_validation="validation_matched"),
        GlueTask("mnli-mm", "MNLI", ("sentence1", "sentence2"), "gold_label", ("entailment", "neutral", "contradiction"),
                 "accuracy", Hyperparameters(3e-5, 1e-4, 1e-4, 64, 128), "mnli", ("premise", "hypothesis"),
                 dev_file="dev_mismatched.tsv", hub_validation="validation_mismatched"),
        GlueTask("qnli", "QNLI", ("question", "sentence"), "label", _NLI, "accuracy",
                 Hyperparameters(3e-5, 2e-4, 1.5e-4, 16, 128), "qnli", ("question", "sentence")),
        GlueTask("rte", "RTE", ("sentence1", "sentence2"), "label", _NLI, "accuracy",
                 Hyperparameters(3e-5, 3e-3, 1e-3, 16, 256), "rte", ("sentence1", "sentence2")),
        # WNLI is not in the original's table; RTE's values (the closest task) are used.
        GlueTask("wnli", "WNLI", ("sentence1", "sentence2"), "label", _BINARY, "accuracy",
                 Hyperparameters(3e-5, 3e-3, 1e-3, 16, 128), "wnli", ("sentence1", "sentence2"),
                 label_names=("not_entailment", "entailment")),
    ]
}

_ALIASES = {"sst-2": "sst2", "sts-b": "stsb", "mnli-m": "mnli", "mnli_mismatched": "mnli-mm"}


def get_task(name: str) -> GlueTask:
    """Look a task up by name, case-insensitively (`SST-2`, `sst2`, `MRPC`, ...)."""
    key = name.lower()
    key = _ALIASES.get(key, key)
    if key not in TASKS:
        raise PowerBertError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[key]


def compute_metrics(task, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The task's usual metrics from logits (or regression outputs) and gold labels (a GLUE task or a user's)."""
    if task.is_regression:
        preds = np.asarray(predictions).reshape(-1)
        return {
            "pearson": float(pearsonr(preds, labels)[0]),
            "spearman": float(spearmanr(preds, labels)[0]),
        }
    preds = np.asarray(predictions).argmax(axis=-1)
    metrics = {"accuracy": float(accuracy_score(labels, preds))}
    if task.metric == "f1" or task.always_f1:  # the positive class's F1 for two classes, else macro-F1
        metrics["f1"] = float(f1_score(labels, preds, average="binary" if task.num_labels == 2 else "macro"))
    if task.metric == "matthews_correlation":
        metrics["matthews_correlation"] = float(matthews_corrcoef(labels, preds))
    return metrics
