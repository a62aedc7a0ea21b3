"""PoWER for sentence-embedding models: elimination in the encoder, the model's own pooling over what is left.

`PowerEmbeddingModel` wraps a bare encoder (`AutoModel`, e.g. the BertModel inside all-MiniLM-L6-v2) and pools
what is left: mean pooling over the kept vectors with each eliminated one averaged into the kept vector most
like it (`pool_weights` "merged", token merging as in ToMe: what `powerbert embed` trains in count mode, the best
measured), over every token, each eliminated one as it was when removed ("carried", fraction mode's), or over the
last layer's kept vectors alone, each once ("kept", a folder's default where its power_config names none) or
weighted by the tokens it stands for ("absorbed": each eliminated vector's weight moved onto the kept vectors it
attended to); [CLS] pooling reads [CLS] alone, so the last layer keeps it alone, as in a classifier.

It saves as a sentence-transformers folder whose first module is `PowerTransformer`, followed by the original
model's own Pooling (and Normalize) modules: `SentenceTransformer(folder).encode(texts)` runs it with its usual
options, and the Pooling module averages the vectors it hands on, with their pooling weights as attention mask.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Module
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
from transformers import AutoModel, AutoTokenizer, PreTrainedModel
from transformers.utils import ModelOutput

from .algorithm.retention import PowerConfig
from .errors import PowerBertError, first_line
from .files import write_directory_atomic
from .modeling import PowerModel, load_classifier

POOLINGS = ("mean", "cls")
POOL_WEIGHTS = ("kept", "absorbed", "carried", "merged")


def check_pool_weights(pool_weights: str, mode: str) -> None:
    """One line for pooling weights that do not exist or do not fit the retention mode (merging needs count mode:
    in fraction mode each input keeps its own count, which a batch-wide mix cannot follow)."""
    if pool_weights not in POOL_WEIGHTS:
        raise PowerBertError(f"pool weights {pool_weights!r}: choose from {', '.join(POOL_WEIGHTS)}")
    if pool_weights == "merged" and mode == "fraction":
        raise PowerBertError("--pool-weights merged needs count mode (--retention-mode count)")


@dataclass
class EmbeddingOutput(ModelOutput):
    """What PowerEmbeddingModel returns: the distillation loss (with teacher embeddings as labels) and the pooled
    embeddings, not normalized (the sentence-transformers Normalize module does that where the model has one)."""

    loss: torch.Tensor | None = None
    embeddings: torch.Tensor | None = None


class PowerEmbeddingModel(PowerModel):
    """A sentence-embedding encoder with PoWER-BERT elimination; pooling and pooling weights in power_config.metadata."""

    is_classifier = False

    def __init__(self, model: PreTrainedModel, power_config: PowerConfig) -> None:
        power_config.metadata.setdefault("pooling", "mean")
        power_config.metadata.setdefault("pool_weights", "kept")
        if power_config.metadata["pooling"] not in POOLINGS:
            raise PowerBertError(f"pooling {power_config.metadata['pooling']!r} is not supported; choose from "
                                 f"{', '.join(POOLINGS)}")
        check_pool_weights(power_config.metadata["pool_weights"], power_config.mode)
        super().__init__(model, power_config)

    @property
    def pooling(self) -> str:
        return self.power_config.metadata["pooling"]

    @property
    def reads_cls_only(self) -> bool:
        return self.pooling == "cls"

    def token_embeddings(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                         token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The last layer's kept vectors (batch, kept, hidden) and their pooling weights (batch, kept)."""
        hidden, _, weights = self.encode(input_ids, attention_mask, token_type_ids,
                                         pool_weights=self.power_config.metadata["pool_weights"])
        return hidden, weights

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> EmbeddingOutput:
        """Pooled embeddings; with labels (the plain model's embeddings of the same texts), the distillation loss
        1 - cosine similarity, averaged over the batch."""
        hidden, weights = self.token_embeddings(input_ids, attention_mask, token_type_ids)
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            pooled = (hidden * weights[..., None]).sum(dim=1) / weights.sum(dim=1, keepdim=True).clamp_min(1e-9)
        loss = None if labels is None else (1 - F.cosine_similarity(pooled, labels.to(pooled.dtype), dim=-1)).mean()
        return EmbeddingOutput(loss=loss, embeddings=pooled)

    def save_pretrained(self, directory: str | os.PathLike, tokenizer=None, max_seq_length: int | None = None,
                        normalize: bool | None = None) -> None:
        """Write a sentence-transformers folder (PowerTransformer, Pooling, and Normalize where the plain model
        had one: power_config.metadata["normalize"]), atomically."""
        normalize = self.power_config.metadata.get("normalize", True) if normalize is None else normalize
        if tokenizer is None:
            raise PowerBertError("an embedding model is saved with its tokenizer (a sentence-transformers folder)")
        limit = max_seq_length or self.power_config.metadata.get("max_seq_length") or tokenizer.model_max_length
        modules = [PowerTransformer(self, tokenizer, int(limit)),
                   Pooling(self.config.hidden_size, pooling_mode=self.pooling)]
        if normalize:
            modules.append(Normalize())
        write_directory_atomic(Path(directory), lambda tmp: SentenceTransformer(modules=modules).save(str(tmp)))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, **kwargs) -> "PowerEmbeddingModel":
        """The PoWER embedding model of a folder written by save_pretrained (its encoder and power_config.json)."""
        return cls(load_encoder(directory, **kwargs), PowerConfig.from_pretrained(directory))


def load_encoder(name_or_path: str | os.PathLike, **kwargs) -> PreTrainedModel:
    """AutoModel.from_pretrained (the bare encoder) with a one-line error for a missing or bad checkpoint."""
    return load_classifier(name_or_path, AutoModel, **kwargs)


def load_sentence_transformer(name_or_path: str | os.PathLike) -> SentenceTransformer:
    """A sentence-transformers model (the plain teacher, or a saved PoWER one) on the CPU, with a one-line error."""
    try:
        # trust_remote_code: a PoWER folder's first module is powerbert.embedding.PowerTransformer
        return SentenceTransformer(str(name_or_path), device="cpu", trust_remote_code=True)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise PowerBertError(f"cannot load a sentence-transformers model from {name_or_path}: {first_line(err)}") from None


def pooling_of(model: SentenceTransformer) -> str:
    """The pooling of a plain sentence-transformers model: mean or cls (others are not supported)."""
    pooling = next((m for m in model if isinstance(m, Pooling)), None)
    mode = getattr(pooling, "pooling_mode", None)
    mode = mode[0] if isinstance(mode, (list, tuple)) and len(mode) == 1 else mode
    if mode not in POOLINGS:
        raise PowerBertError(f"the model pools with {mode!r}; PoWER embeddings support {', '.join(POOLINGS)} pooling")
    return mode


def normalizes(model: SentenceTransformer) -> bool:
    return any(isinstance(m, Normalize) for m in model)


def tokenize_texts(tokenizer, inputs, prompt: str | None, max_length: int) -> dict[str, torch.Tensor]:
    """What a sentence-transformers input module's preprocess returns: texts (or pairs), the prompt in front of
    each single text, right-padded and truncated to max_length."""
    pairs = [tuple(t) for t in inputs if isinstance(t, (list, tuple))]
    if pairs and len(pairs) == len(inputs):
        first, second = zip(*pairs)
        return tokenizer(list(first), list(second), padding=True, truncation=True, max_length=max_length,
                         return_tensors="pt")
    texts = [prompt + text if prompt else text for text in inputs]
    return tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


class PowerTransformer(Module):
    """The sentence-transformers module of a PoWER embedding model: tokenizes, runs the encoder with elimination,
    and hands Pooling the kept vectors with their pooling weights as attention mask."""

    save_in_root = True

    def __init__(self, power: PowerEmbeddingModel, tokenizer, max_seq_length: int) -> None:
        super().__init__()
        self.power, self.tokenizer, self.max_seq_length = power, tokenizer, max_seq_length

    def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict[str, torch.Tensor]:
        return tokenize_texts(self.tokenizer, inputs, prompt, self.max_seq_length)

    def forward(self, features: dict, **kwargs) -> dict:
        hidden, weights = self.power.token_embeddings(features["input_ids"], features.get("attention_mask"),
                                                      features.get("token_type_ids"))
        features.update(token_embeddings=hidden, attention_mask=weights)
        return features

    @property
    def retention(self) -> list:
        return self.power.power_config.retention

    def flop_fraction(self, lengths: list[int]) -> float:
        """Encoder FLOPs of the configuration over the plain model's on inputs of these lengths."""
        return self.power.flop_fraction(lengths)

    def get_embedding_dimension(self) -> int:
        return self.power.config.hidden_size

    def save(self, output_path: str, *args, **kwargs) -> None:
        self.power.model.save_pretrained(output_path)
        self.power.power_config.save_pretrained(output_path)
        self.tokenizer.save_pretrained(output_path)
        (Path(output_path) / "sentence_bert_config.json").write_text(f'{{"max_seq_length": {self.max_seq_length}}}\n')

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs) -> "PowerTransformer":
        folder = Path(model_name_or_path) / subfolder
        settings = cls.load_config(str(folder), config_filename="sentence_bert_config.json")
        return cls(PowerEmbeddingModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder),
                   int(settings.get("max_seq_length", 512)))
