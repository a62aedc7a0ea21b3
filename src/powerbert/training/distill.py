"""Faster sentence embeddings by distillation from the model itself: the configuration search and re-training of
a PoWER embedding model on unlabeled text, the plain model's embeddings of the same texts as targets.

The loss is 1 - cosine similarity between the PoWER embedding and the plain one (embedding.PowerEmbeddingModel),
plus the FLOP budget's constraint in the search. Any text column serves: a user's own corpus, reviews, queries.
"""

import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from datasets import Dataset
from transformers import DataCollatorWithPadding

from ..algorithm.budget import EMBED_SHAPE
from ..algorithm.retention import PowerConfig
from ..embedding import (
    PowerEmbeddingModel,
    check_pool_weights,
    load_encoder,
    load_sentence_transformer,
    normalizes,
    pooling_of,
)
from ..errors import PowerBertError
from ..files import write_json_atomic
from .data import load_tokenizer, model_max_length
from .stages import StageOptions, budget_report, retrain, search
from .user_data import read_data_file

logger = logging.getLogger("powerbert")


def read_texts(path: str, columns: str, max_samples: int | None = None, seed: int = 42, split: str = "train"
               ) -> list[str]:
    """The texts of one or more columns of a CSV, TSV, JSON lines or Parquet file (each column's texts in turn,
    without repeats), or a seeded sample of max_samples of them; one line for a missing column or empty text."""
    data = read_data_file(Path(path), split)
    texts: list[str] = []
    for column in [c.strip() for c in columns.split(",") if c.strip()]:
        if column not in data.column_names:
            raise PowerBertError(f"--{split}-file {path} has no column {column!r} (its columns: {data.column_names})")
        texts.extend(str(t) for t in data[column] if t is not None and str(t).strip())
    texts = list(dict.fromkeys(texts))
    if not texts:
        raise PowerBertError(f"--{split}-file {path}: no text in {columns}")
    if max_samples and max_samples < len(texts):
        order = np.random.default_rng(seed).permutation(len(texts))[:max_samples]
        texts = [texts[i] for i in sorted(order)]
    return texts


class EmbeddingData:
    """Texts tokenized for the student, with the teacher's embeddings as labels: what the training stages read
    from a task's data (train, dev, collator, tokenizer, lengths, metrics)."""

    def __init__(self, train: list[str], dev: list[str], teacher, max_seq_length: int, batch_size: int = 64) -> None:
        self.tokenizer = teacher.tokenizer
        self.max_seq_length = max_seq_length
        self.task = SimpleNamespace(metric="cosine", name="embeddings")
        self.collator = DataCollatorWithPadding(self.tokenizer)
        teacher.max_seq_length = max_seq_length
        self.train, self.dev = (self._encode(texts, teacher, batch_size, name) for texts, name in
                                ((train, "train"), (dev, "dev")))

    def _encode(self, texts: list[str], teacher, batch_size: int, name: str) -> Dataset:
        logger.info("embedding %d %s texts with the plain model (the targets)", len(texts), name)
        targets = teacher.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=True)
        tokens = self.tokenizer(texts, truncation=True, max_length=self.max_seq_length)
        return Dataset.from_dict({**tokens, "labels": targets.astype(np.float32).tolist()})

    def lengths(self, split: str = "dev") -> list[int]:
        return [len(ids) for ids in (self.train if split == "train" else self.dev)["input_ids"]]

    def metrics(self, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        """Mean cosine similarity between the PoWER embeddings and the plain model's."""
        return {"cosine": float(np.mean(cosines(predictions, labels)))}


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True).clip(1e-12)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True).clip(1e-12)
    return (a * b).sum(-1)


def run_distillation(teacher_path: str, train: list[str], dev: list[str], output_dir: Path,
                     search_stage: StageOptions, retrain_stage: StageOptions, target_flops: float | None,
                     lambda_: float, lr_retention: float | None, max_seq_length: int | None = None,
                     mode: str = "count", pool_weights: str | None = None, seed: int = 42,
                     budget_shape: str = EMBED_SHAPE) -> dict:
    """Search and re-train a PoWER embedding model from the plain sentence-transformers model at teacher_path;
    resumable (a finished stage is skipped). Writes <output_dir>/search, /power (sentence-transformers folders)
    and summary.json. pool_weights None: "merged" in count mode (the best measured), "carried" in fraction mode."""
    pool_weights = pool_weights or ("carried" if mode == "fraction" else "merged")
    check_pool_weights(pool_weights, mode)  # before any work, not after the teacher's encodings
    teacher = load_sentence_transformer(teacher_path)
    encoder = load_encoder(teacher_path)
    # the tokenizer as saved: sentence-transformers lowers a loaded tokenizer's limit to its max_seq_length
    limit = model_max_length(load_tokenizer(teacher_path), encoder.config)
    max_seq_length = max_seq_length or min(teacher.max_seq_length or limit, limit)
    if max_seq_length > limit:
        raise PowerBertError(f"--max-seq-length {max_seq_length} exceeds the model's limit of {limit} tokens")
    metadata = {"pooling": pooling_of(teacher), "pool_weights": pool_weights, "normalize": normalizes(teacher)}
    data = EmbeddingData(train, dev, teacher, max_seq_length)
    output_dir.mkdir(parents=True, exist_ok=True)
    summary_path = output_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    summary.update(teacher=str(teacher_path), max_seq_length=max_seq_length, train_texts=len(train),
                   dev_texts=len(dev), target_flops=target_flops, budget_shape=budget_shape, seed=seed, **metadata)
    seconds = summary.setdefault("stage_seconds", {})
    search_dir, power_dir = output_dir / "search", output_dir / "power"
    if not (search_dir / "power_config.json").is_file():
        start = time.time()
        plain = PowerEmbeddingModel.keep_all(encoder, max_seq_length)
        plain.power_config.metadata.update(metadata)
        search(teacher_path, data, search_dir, search_stage, lambda_, lr_retention, seed, mode, target_flops,
               start=plain, budget_shape=budget_shape)
        seconds["search"] = round(time.time() - start, 1)
        write_json_atomic(summary_path, summary)
    if not (power_dir / "power_config.json").is_file():
        start = time.time()
        searched = PowerConfig.from_pretrained(search_dir)
        searched.metadata.update(metadata)  # the pooling asked for now: a search can be re-trained with another
        summary["retrain_dev"] = retrain(str(search_dir), data, power_dir, retrain_stage, seed, searched,
                                         model_class=PowerEmbeddingModel)
        seconds["retrain"] = round(time.time() - start, 1)
    power = PowerEmbeddingModel.from_pretrained(power_dir)
    summary["retention"] = power.power_config.retention
    summary["flop_fraction_dev"] = power.flop_fraction(data.lengths("dev"))
    summary["flop_budget"] = budget_report(power.power_config)
    write_json_atomic(summary_path, summary)
    return summary



def calibration_texts(model_dir: str, path: str, columns: str, samples: int, seed: int = 42) -> list[dict]:
    """A seeded sample of texts, each tokenized alone as (1, length) int64 arrays: what NNCF calibrates an
    embedding model's OpenVINO int8 graph on."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = []
    for text in read_texts(path, columns, samples, seed):
        encoded = tokenizer(text, truncation=True, max_length=tokenizer.model_max_length, return_tensors="np")
        rows.append({name: encoded[name].astype(np.int64) for name in ("input_ids", "attention_mask", "token_type_ids")
                     if name in encoded})
    return rows
