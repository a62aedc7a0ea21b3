"""Thin per-architecture adapters: where PoWER's encoder loop finds each part of a Hugging Face classifier.

An adapter holds no weights and copies no model code: it only names the submodules (embeddings,
Q/K/V projections, attention output, feed-forward, classifier head) that `modeling.PowerModel` calls
in its own layer loop, so that the Extract step can sit between the attention and feed-forward blocks.
"""

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.models.deberta_v2.modeling_deberta_v2 import make_log_bucket_position

from ..errors import PowerBertError


class EncoderAdapter:
    """Post-LayerNorm encoder classifier in the BERT layout (BERT itself)."""

    model_types: tuple[str, ...] = ("bert",)
    # whether attention depends on where each vector stands (relative bias, rotary, local windows): PowerModel
    # then carries every kept vector's original position through each Extract for position_terms()
    uses_positions = False

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
        return ffn_size(self.config)

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.base.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)

    def layers(self) -> list[nn.Module]:
        """One module per layer application, in order (ALBERT repeats its shared layers)."""
        return list(self.base.encoder.layer)

    def qkv(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
        attention = layer.attention.self
        return attention.query, attention.key, attention.value

    def project(
        self, layer: nn.Module, hidden: torch.Tensor, cls_query_only: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries (of [CLS] alone if asked), keys and values, each (batch, length, heads * head size)."""
        project_query, project_key, project_value = self.qkv(layer)
        return project_query(hidden[:, :1] if cls_query_only else hidden), project_key(hidden), project_value(hidden)

    def value(self, layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        """Values alone: what a single vector's attention to itself returns."""
        return self.qkv(layer)[2](hidden)

    def attention_scale(self, head_size: int) -> float:
        """Factor of the query-key dot products."""
        return head_size**-0.5

    def position_terms(
        self, layer: nn.Module, query: torch.Tensor, key: torch.Tensor, query_positions: torch.Tensor,
        key_positions: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Query and key (batch, heads, length, head size) with position applied, and an additive bias on the
        scaled logits (broadcastable to batch, heads, queries, keys) or None. Positions are original ones."""
        return query, key, None

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


class MPNetAdapter(RobertaAdapter):
    """MPNet: BERT layers with a relative-position bias in every layer's attention logits."""

    model_types = ("mpnet",)
    uses_positions = True

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.base.embeddings(input_ids=input_ids)

    def qkv(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
        attention = layer.attention.attn
        return attention.q, attention.k, attention.v

    def attention_output(self, layer: nn.Module, context: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        attention = layer.attention
        return attention.LayerNorm(attention.dropout(attention.attn.o(context)) + hidden)

    def position_terms(self, layer, query, key, query_positions, key_positions):
        # Hugging Face's MPNetEncoder.compute_position_bias, from original positions instead of 0..n-1
        encoder = self.base.encoder
        relative = key_positions[:, None, :] - query_positions[:, :, None]  # (batch, queries, keys)
        bias = encoder.relative_attention_bias(encoder.relative_position_bucket(relative))
        return query, key, bias.permute(0, 3, 1, 2)


class DebertaV2Adapter(EncoderAdapter):
    """DeBERTa-v2/v3: disentangled attention, whose content-to-position and position-to-content terms are
    a bias on the logits that depends on each query and key and on their relative position."""

    model_types = ("deberta-v2",)
    uses_positions = True

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__(model)
        if getattr(self.config, "conv_kernel_size", 0):
            raise PowerBertError("DeBERTa-v2 with a convolution layer (conv_kernel_size > 0) is not supported")
        self.pos_att_type = self.config.pos_att_type or []

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.base.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)

    def qkv(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
        attention = layer.attention.self
        return attention.query_proj, attention.key_proj, attention.value_proj

    def attention_scale(self, head_size: int) -> float:
        return (head_size * (1 + len(self.pos_att_type))) ** -0.5

    def position_terms(self, layer, query, key, query_positions, key_positions):
        attention = layer.attention.self
        if not attention.relative_attention or not self.pos_att_type:  # no disentangled term: plain attention
            return query, key, None
        # Hugging Face's disentangled_attention_bias, with relative positions from original positions
        relative = query_positions[:, :, None] - key_positions[:, None, :]  # (batch, queries, keys)
        if attention.position_buckets > 0 and attention.max_relative_positions > 0:
            relative = make_log_bucket_position(relative, attention.position_buckets, attention.max_relative_positions)
        span = attention.pos_ebd_size
        index = torch.clamp(relative.long() + span, 0, 2 * span - 1)[:, None]  # (batch, 1, queries, keys)
        embeddings = attention.pos_dropout(self.base.encoder.get_rel_embedding()[: 2 * span])
        heads, size = query.shape[1], query.shape[-1]

        def per_head(linear: nn.Linear) -> torch.Tensor:  # (heads, 2 * span, head size)
            return linear(embeddings).view(2 * span, heads, size).transpose(0, 1)

        share = attention.share_att_key
        bias = 0
        if "c2p" in self.pos_att_type:  # query content to key position: q_i . Kr[delta(i, j)]
            c2p = query @ per_head(attention.key_proj if share else attention.pos_key_proj).transpose(-1, -2)
            bias = bias + torch.gather(c2p, -1, index.expand(-1, heads, -1, -1))
        if "p2c" in self.pos_att_type:  # query position to key content: k_j . Qr[delta(i, j)]
            p2c = key @ per_head(attention.query_proj if share else attention.pos_query_proj).transpose(-1, -2)
            bias = bias + torch.gather(p2c, -1, index.transpose(-1, -2).expand(-1, heads, -1, -1)).transpose(-1, -2)
        return query, key, bias * self.attention_scale(size)

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.model.classifier(self.model.dropout(self.model.pooler(hidden)))


class ModernBertAdapter(EncoderAdapter):
    """ModernBERT: pre-LayerNorm layers, a fused QKV projection, rotary positions, GLU feed-forward, and
    local attention windows (in original positions) in most layers."""

    model_types = ("modernbert",)
    uses_positions = True

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__(model)
        if self.config.classifier_pooling != "cls":
            raise PowerBertError(f"ModernBERT with classifier_pooling={self.config.classifier_pooling!r} reads every "
                                 "vector; PoWER needs a head that reads [CLS] (classifier_pooling='cls')")

    @property
    def attention_dropout(self) -> float:
        return self.config.attention_dropout

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.base.embeddings(input_ids=input_ids)

    def layers(self) -> list[nn.Module]:
        return list(self.base.layers)

    def project(self, layer, hidden, cls_query_only=False):
        query, key, value = layer.attn.Wqkv(layer.attn_norm(hidden)).chunk(3, dim=-1)
        return query[:, :1] if cls_query_only else query, key, value

    def value(self, layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        return self.project(layer, hidden)[2]

    def position_terms(self, layer, query, key, query_positions, key_positions):
        rotary = self.base.rotary_emb
        cos, sin = rotary(query, key_positions, layer.attention_type)
        key = _rotate(key, cos, sin)
        if query_positions is key_positions:
            query = _rotate(query, cos, sin)
        else:
            query = _rotate(query, *rotary(query, query_positions, layer.attention_type))
        if layer.attention_type != "sliding_attention":
            return query, key, None
        distance = (query_positions[:, :, None] - key_positions[:, None, :]).abs()
        outside = (distance > self.config.sliding_window)[:, None]  # (batch, 1, queries, keys)
        bias = torch.zeros(outside.shape, dtype=query.dtype, device=query.device)
        return query, key, bias.masked_fill(outside, torch.finfo(query.dtype).min)

    def attention_output(self, layer: nn.Module, context: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + layer.attn.out_drop(layer.attn.Wo(context))

    def feed_forward(self, layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + layer.mlp(layer.mlp_norm(hidden))

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        pooled = self.model.head(self.base.final_norm(hidden[:, 0]))
        return self.model.classifier(self.model.drop(pooled))


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of x (batch, heads, length, head size), as Hugging Face's apply_rotary_pos_emb."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return (x.float() * cos[:, None] + rotated.float() * sin[:, None]).to(x.dtype)


ADAPTERS: dict[str, type[EncoderAdapter]] = {
    model_type: adapter
    for adapter in (EncoderAdapter, RobertaAdapter, ElectraAdapter, AlbertAdapter, DistilBertAdapter, MPNetAdapter,
                    DebertaV2Adapter, ModernBertAdapter)
    for model_type in adapter.model_types
}


def ffn_size(config) -> int:
    """The feed-forward block's inner width, from a config alone (DistilBERT names it hidden_dim)."""
    return config.hidden_dim if config.model_type == "distilbert" else config.intermediate_size


def uses_token_types(config) -> bool:
    """Whether the architecture reads token_type_ids (BERT, ALBERT, ELECTRA do; RoBERTa, DistilBERT do not)."""
    return getattr(config, "type_vocab_size", 0) > 1


def max_input_length(config) -> int:
    """The longest input the model's position embeddings allow (RoBERTa reserves padding_idx + 1 of them)."""
    if config.model_type in ("roberta", "xlm-roberta", "camembert", "mpnet"):
        return config.max_position_embeddings - config.pad_token_id - 1
    return config.max_position_embeddings


def check_supported(config) -> None:
    """Raise a clear error listing the supported architectures unless config is one of them."""
    model_type = getattr(config, "model_type", None)
    if model_type not in ADAPTERS:
        supported = ", ".join(sorted(ADAPTERS))
        raise PowerBertError(f"model type {model_type!r} is not a supported encoder; supported: {supported}")


def get_adapter(model: nn.Module, classifier: bool = True) -> EncoderAdapter:
    """The adapter for a Hugging Face sequence-classification model (classifier=False: a bare encoder, as
    `AutoModel` loads it), or a clear error listing what is supported."""
    check_supported(getattr(model, "config", None))
    model_type = model.config.model_type
    if not classifier:
        if getattr(model, "base_model", None) is not model:
            raise PowerBertError(f"{type(model).__name__} is not a bare encoder; load it with AutoModel")
        return ADAPTERS[model_type](model)
    if not type(model).__name__.endswith("ForSequenceClassification"):
        raise PowerBertError(
            f"{type(model).__name__} is not a sequence-classification model; load it with "
            "AutoModelForSequenceClassification"
        )
    return ADAPTERS[model_type](model)
