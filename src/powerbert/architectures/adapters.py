"""Thin per-architecture adapters: where PoWER's encoder loop finds each part of a Hugging Face classifier.

An adapter holds no weights and copies no model code: it only names the submodules (embeddings,
Q/K/V projections, attention output, feed-forward, classifier head) that `modeling.PowerModel` calls
in its own layer loop, so that the Extract step can sit between the attention and feed-forward blocks.
"""

import torch
from torch import nn
from transformers import PreTrainedModel

from ..errors import PowerBertError


class EncoderAdapter:
    """Post-LayerNorm encoder classifier in the BERT layout (BERT itself)."""

    model_types: tuple[str, ...] = ("bert",)

    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model
        self.base = model.base_model
        self.config = model.config

    @property
    def num_heads(self) -> int:
        return self.config.num_attention_heads

    @property
    def attention_dropout(self) -> float:
        return self.config.attention_probs_dropout_prob

    @property
    def ffn_size(self) -> int:
        return self.config.intermediate_size

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.base.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)

    def layers(self) -> list[nn.Module]:
        """One module per layer application, in order (ALBERT repeats its shared layers)."""
        return list(self.base.encoder.layer)

    def qkv(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
        attention = layer.attention.self
        return attention.query, attention.key, attention.value

    def attention_output(self, layer: nn.Module, context: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """Output projection, dropout, residual and LayerNorm of the attention block."""
        return layer.attention.output(context, hidden)

    def feed_forward(self, layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        """Feed-forward block with its residual and LayerNorm."""
        return layer.output(layer.intermediate(hidden), hidden)

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits from the final hidden states (only position 0, [CLS], is read)."""
        return self.model.classifier(self.model.dropout(self.base.pooler(hidden)))


class RobertaAdapter(EncoderAdapter):
    """RoBERTa (and XLM-R): BERT layers, a head that reads <s> itself."""

    model_types = ("roberta", "xlm-roberta", "camembert")

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.model.classifier(hidden)


class ElectraAdapter(RobertaAdapter):
    """ELECTRA: BERT layers, an optional embedding projection, a head that reads [CLS] itself."""

    model_types = ("electra",)

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        hidden = super().embed(input_ids, token_type_ids)
        project = getattr(self.base, "embeddings_project", None)
        return project(hidden) if project is not None else hidden


class AlbertAdapter(EncoderAdapter):
    """ALBERT: layers shared across depth; the retention configuration is still per layer application."""

    model_types = ("albert",)

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        hidden = self.base.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        return self.base.encoder.embedding_hidden_mapping_in(hidden)

    def layers(self) -> list[nn.Module]:
        groups = self.base.encoder.albert_layer_groups
        per_group = self.config.num_hidden_layers / self.config.num_hidden_groups
        return [
            layer
            for i in range(self.config.num_hidden_layers)
            for layer in groups[int(i / per_group)].albert_layers
        ]

    def qkv(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
        return layer.attention.query, layer.attention.key, layer.attention.value

    def attention_output(self, layer: nn.Module, context: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        attention = layer.attention
        return attention.LayerNorm(hidden + attention.output_dropout(attention.dense(context)))

    def feed_forward(self, layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        return layer.full_layer_layer_norm(layer.ff_chunk(hidden) + hidden)

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        pooled = self.base.pooler_activation(self.base.pooler(hidden[:, 0]))
        return self.model.classifier(self.model.dropout(pooled))


class DistilBertAdapter(EncoderAdapter):
    """DistilBERT: no token types, its own names for the same post-LayerNorm layer."""

    model_types = ("distilbert",)

    @property
    def attention_dropout(self) -> float:
        return self.config.attention_dropout

    @property
    def ffn_size(self) -> int:
        return self.config.hidden_dim

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.base.embeddings(input_ids)

    def layers(self) -> list[nn.Module]:
        return list(self.base.transformer.layer)

    def qkv(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
        return layer.attention.q_lin, layer.attention.k_lin, layer.attention.v_lin

    def attention_output(self, layer: nn.Module, context: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        return layer.sa_layer_norm(layer.attention.out_lin(context) + hidden)

    def feed_forward(self, layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        return layer.output_layer_norm(layer.ffn(hidden) + hidden)

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        pooled = torch.relu(self.model.pre_classifier(hidden[:, 0]))
        return self.model.classifier(self.model.dropout(pooled))


ADAPTERS: dict[str, type[EncoderAdapter]] = {
    model_type: adapter
    for adapter in (EncoderAdapter, RobertaAdapter, ElectraAdapter, AlbertAdapter, DistilBertAdapter)
    for model_type in adapter.model_types
}


def uses_token_types(config) -> bool:
    """Whether the architecture reads token_type_ids (BERT, ALBERT, ELECTRA do; RoBERTa, DistilBERT do not)."""
    return getattr(config, "type_vocab_size", 0) > 1


def max_input_length(config) -> int:
    """The longest input the model's position embeddings allow (RoBERTa reserves padding_idx + 1 of them)."""
    if config.model_type in ("roberta", "xlm-roberta", "camembert"):
        return config.max_position_embeddings - config.pad_token_id - 1
    return config.max_position_embeddings


def check_supported(config) -> None:
    """Raise a clear error listing the supported architectures unless config is one of them."""
    model_type = getattr(config, "model_type", None)
    if model_type not in ADAPTERS:
        supported = ", ".join(sorted(ADAPTERS))
        raise PowerBertError(f"model type {model_type!r} is not a supported encoder; supported: {supported}")


def get_adapter(model: nn.Module) -> EncoderAdapter:
    """The adapter for a Hugging Face sequence-classification model, or a clear error listing what is supported."""
    check_supported(getattr(model, "config", None))
    model_type = model.config.model_type
    if not type(model).__name__.endswith("ForSequenceClassification"):
        raise PowerBertError(
            f"{type(model).__name__} is not a sequence-classification model; load it with "
            "AutoModelForSequenceClassification"
        )
    return ADAPTERS[model_type](model)
