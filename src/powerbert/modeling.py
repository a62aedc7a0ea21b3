"""PowerModel: a Hugging Face encoder classifier that eliminates word vectors layer by layer.

The wrapped model keeps its own weights and modules; PowerModel runs its own layer loop through a thin
adapter (adapters.py) so that, in every layer, the Extract step sits after the attention block and
before the feed-forward block (in fact before the attention's output projection, which works row by row).
Eliminated vectors are gathered away, not masked, and only layers that eliminate compute explicit attention
probabilities; the others use the fused `scaled_dot_product_attention` kernel.
"""

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from .algorithm.budget import FlopBudget
from .algorithm.extract import SoftExtract, absorb_weights, gather_positions, hard_extract, merge_weights, select_kept
from .algorithm.retention import CONFIG_NAME, FRACTION_BINS, PowerConfig, flop_fraction, fraction_count, validate_retention
from .algorithm.significance import random_scores, significance_scores
from .architectures.adapters import check_supported, get_adapter, max_input_length
from .architectures.attention import (
    additive_mask,
    explicit_attention,
    fused_attention,
    fused_attention_probs,
    use_fused_attention,
)
from .errors import PowerBertError, first_line
from .pipeline_support import register_for_pipelines
from .files import write_directory_atomic

LOGITS_PER_STEP = 1 << 22  # attention logits computed at once at inference where probabilities are needed (16 MB)


@register_for_pipelines
class PowerModel(nn.Module):
    """A sequence classifier with PoWER-BERT elimination; call it like the model it wraps."""

    is_classifier = True  # wraps a *ForSequenceClassification model (embedding.py's subclass: a bare encoder)

    def __init__(self, model: PreTrainedModel, power_config: PowerConfig) -> None:
        super().__init__()
        self.model = model
        self.adapter = get_adapter(model, classifier=self.is_classifier)
        self.encoder_layers = self.adapter.layers()  # a plain list: the weights stay registered under self.model
        validate_retention(power_config.retention, len(self.encoder_layers), power_config.mode)
        self.power_config = power_config
        self.soft_extract: nn.ModuleList | None = None
        self.flop_budget: FlopBudget | None = None
        self.train(model.training)  # follow the wrapped model's mode (from_pretrained gives eval)

    # --- what transformers' pipeline and Trainer read from a model -------------------------------
    @property
    def config(self):
        return self.model.config

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    def can_generate(self) -> bool:
        return False

    @property
    def num_layers(self) -> int:
        return len(self.encoder_layers)

    @property
    def reads_cls_only(self) -> bool:
        """Whether the head reads [CLS] alone, so that the last layer keeps [CLS] alone (the same output)."""
        return True

    def flop_fraction(self, lengths: list[int]) -> float:
        """Encoder FLOPs of this configuration over the plain model's, on inputs of these real lengths."""
        return flop_fraction(lengths, self.config.hidden_size, self.adapter.ffn_size, self.power_config)

    # --- configuration search (Soft-Extract) -----------------------------------------------------
    def enable_search(self, max_length: int, mode: str = "count", budget: FlopBudget | None = None) -> None:
        """Put a Soft-Extract layer with retention parameters r_j (all 1) into every layer: one per rank up to
        max_length (count mode), or FRACTION_BINS bins of relative rank (fraction mode). A FLOP budget, if
        given, travels with the model (its multipliers are trained and checkpointed with the r_j)."""
        relative = mode == "fraction"
        size = FRACTION_BINS if relative else max_length
        self.soft_extract = nn.ModuleList(SoftExtract(size, relative) for _ in range(self.num_layers))
        self.soft_extract.to(self.device)
        self.flop_budget = None if budget is None else budget.to(self.device)

    def retention_penalty(self) -> torch.Tensor:
        """sum_j j * sum_i r_j[i]: the search's regulariser, weighting later layers more."""
        if self.soft_extract is None:
            raise RuntimeError("retention_penalty needs enable_search() first")
        return sum((j + 1) * soft.retention.sum() for j, soft in enumerate(self.soft_extract))

    def soft_masses(self) -> torch.Tensor:
        """The masses as a tensor that carries gradients to the r_j (for a FLOP budget)."""
        if self.soft_extract is None:
            raise RuntimeError("soft_masses needs enable_search() first")
        return torch.stack([s.retention.mean() if s.relative else s.retention.sum() for s in self.soft_extract])

    def retention_masses(self) -> list[float]:
        """sum_i r_j[i] per layer: how many vectors the search says each layer needs (fraction mode: the mean
        over the bins, the share of each input)."""
        if self.soft_extract is None:
            raise RuntimeError("retention_masses needs enable_search() first")
        return [soft.mass() for soft in self.soft_extract]

    def set_retention(self, power_config: PowerConfig) -> None:
        """Switch to hard elimination with a new configuration (drops any Soft-Extract layers)."""
        validate_retention(power_config.retention, self.num_layers, power_config.mode)
        self.power_config = power_config
        self.soft_extract = None
        self.flop_budget = None

    # --- forward -----------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> SequenceClassifierOutput:
        hidden, _, _ = self.encode(input_ids, attention_mask, token_type_ids)
        logits = self.adapter.classify(hidden)
        loss = self._loss(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None, pool_weights: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The last layer's vectors (batch, kept, hidden), their mask (None: no padding) and, when pool_weights
        is asked for, a pooling weight per vector (batch, kept): "kept" weighs every kept vector 1; "absorbed"
        moves each eliminated vector's weight onto the kept ones it attended to; "merged" averages each eliminated
        vector itself into the kept vector most like it, weighs each by the tokens it stands for, and lets later
        layers attend to it in proportion (ToMe's merging and proportional attention); "carried" returns every input
        position (batch, seq, hidden), each eliminated vector as it entered the layer that removed it, weighed
        1 like the kept ones. In the search, all are the vectors' soft retention in the last layer."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        exporting = torch.compiler.is_exporting()
        if not exporting:  # these need concrete values; an exported graph's runtime class does the same outside it
            input_ids, attention_mask, token_type_ids = check_and_trim(
                input_ids, attention_mask, token_type_ids, max_input_length(self.config), self.config.vocab_size)
        # mask None: no padding in this batch (always so at batch size 1), and no masking work in any layer.
        no_padding = not exporting and bool(attention_mask.all())
        hidden, mask = self.adapter.embed(input_ids, token_type_ids), None if no_padding else attention_mask
        # each vector's original position, for encoders whose attention depends on it (relative bias, rotary)
        positions = None
        carry = torch.zeros_like(hidden) if pool_weights == "carried" and self.soft_extract is None else None
        if self.adapter.uses_positions or carry is not None:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device).expand(input_ids.shape[0], -1)
        # real tokens per input, only where counts depend on them (fraction mode, relative Soft-Extract) and differ
        by_length = self.power_config.mode == "fraction" if self.soft_extract is None else self.soft_extract[0].relative
        lengths = mask.sum(dim=1) if by_length and mask is not None else None
        weights = None if pool_weights is None else attention_mask.to(hidden.dtype)
        for j, layer in enumerate(self.encoder_layers):
            if self.soft_extract is not None:
                hidden, soft = self._soft_layer(j, layer, hidden, mask, positions, lengths)
                if weights is not None and j == self.num_layers - 1:
                    weights = weights * soft
            else:
                if carry is not None:  # every vector's state on entering layer j; the ones it keeps move on
                    carry = carry_forward(carry, positions, hidden, mask)
                hidden, mask, positions, weights = self._layer(j, layer, hidden, mask, positions, lengths,
                                                               input_ids.shape[1], exporting, weights,
                                                               pool_weights=pool_weights)
        if carry is not None:
            return carry_forward(carry, positions, hidden, mask), attention_mask, attention_mask.to(hidden.dtype)
        return hidden, mask, weights

    def _keep(self, j: int, lengths: torch.Tensor | None, input_width):
        """Vectors layer j keeps: the batch's count (the largest one in fraction mode, from the input's width,
        symbolic when exporting), and each input's own count where inputs differ (fraction mode), else None."""
        if j == self.num_layers - 1 and self.reads_cls_only:  # the head reads [CLS] alone: the same output
            return 1, None
        value = self.power_config.retention[j]
        if self.power_config.mode == "count":
            return value, None
        previous = self.power_config.retention[j - 1] if j else 1.0
        # inputs of different lengths keep different counts: only where this layer lowers the share
        rows = fraction_count(value, lengths) if lengths is not None and value < previous else None
        return fraction_count(value, input_width), rows

    def _layer(
        self, j: int, layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None,
        positions: torch.Tensor | None, lengths: torch.Tensor | None, input_width, exporting: bool,
        weights: torch.Tensor | None = None, pool_weights: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """One encoder layer with hard Extract between its attention and feed-forward blocks; pooling weights
        (if any) travel with the vectors."""
        retention, rows = self._keep(j, lengths, input_width)
        merge = pool_weights == "merged" and weights is not None
        # merged vectors get attention in proportion to the tokens they stand for
        size_bias = torch.log(weights.detach().clamp_min(torch.finfo(weights.dtype).tiny)) if merge else None
        if isinstance(retention, int) and retention == 1:  # only [CLS] goes on: no scores, queries from [CLS] alone
            context, _ = self._self_attention(layer, hidden, mask, positions, need_probs=False, cls_query_only=True,
                                              key_bias=size_bias)
            hidden = self.adapter.attention_output(layer, context, hidden[:, :1])
            cls_position = None if positions is None else positions[:, :1]
            weights = None if weights is None else weights.sum(dim=1, keepdim=True)
            return self.adapter.feed_forward(layer, hidden), None, cls_position, weights  # no padding left
        # sym_min keeps the width symbolic when exporting, so the graph eliminates for any input length.
        keep = torch.sym_min(retention, hidden.shape[1])
        eliminate = exporting or keep < hidden.shape[1] or rows is not None
        by_attention = eliminate and self.power_config.scoring == "attention"
        context, attention = self._self_attention(layer, hidden, mask, positions, need_probs=by_attention,
                                                  key_bias=size_bias)
        if eliminate:  # before the attention block's output projection, which works row by row: same result
            scores = significance_scores(attention, mask) if by_attention else random_scores(hidden, mask)
            if merge:  # a convex mix of the vectors: the output projection and the residual mix alike
                kept = select_kept(scores, keep)
                mix, weights = merge_weights(weights, hidden, kept)
                context, hidden = mix @ context, mix @ hidden
                mask, positions = gather_positions(kept, mask, positions)
            else:
                if weights is not None and pool_weights == "absorbed" and attention is not None:
                    weights = absorb_weights(weights, attention, select_kept(scores, keep))
                mask, context, hidden, positions, weights = hard_extract(mask, scores, keep, context, hidden,
                                                                         positions, weights, row_keep=rows)
            if weights is not None and mask is not None:
                weights = weights * mask  # fraction mode: vectors ranked beyond an input's own count are masked
        hidden = self.adapter.attention_output(layer, context, hidden)
        return self.adapter.feed_forward(layer, hidden), mask, positions, weights

    def _soft_layer(
        self, j: int, layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None, positions: torch.Tensor | None,
        lengths: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One encoder layer of the configuration search: Soft-Extract weighs every vector by its rank. Also
        returns each vector's weight r_j[rank] (batch, length)."""
        by_attention = self.power_config.scoring == "attention"
        context, attention = self._self_attention(layer, hidden, mask, positions, need_probs=by_attention)
        hidden = self.adapter.attention_output(layer, context, hidden)
        scores = significance_scores(attention, mask) if by_attention else random_scores(hidden, mask)
        soft = self.soft_extract[j].weights(scores, lengths).to(hidden.dtype)
        return self.adapter.feed_forward(layer, hidden * soft[..., None]), soft

    def _self_attention(
        self, layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None, positions: torch.Tensor | None,
        need_probs: bool, cls_query_only: bool = False, key_bias: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Multi-head attention with the layer's own projections, and, when asked for, its probabilities
        (batch, heads, queries, keys), or their mean over heads (batch, queries, keys) where long inputs are
        taken a few at a time.

        The adapter adds what depends on position (rotary, relative bias, local windows) from the vectors'
        original `positions`, so that elimination does not move any vector. key_bias (batch, keys), if given, is
        added to every query's logits.
        """
        batch, width, _ = hidden.shape
        heads = self.adapter.num_heads
        # [CLS] alone attends to itself with weight 1: no Q or K needed (a width known when tracing, not a symbolic
        # one: a test on that would fix the exported graph's input length)
        if isinstance(width, int) and width == 1 and not self.training:
            return self.adapter.value(layer, hidden), None
        projected = self.adapter.project(layer, hidden, cls_query_only)
        query, key, value = (x.view(batch, x.shape[1], heads, -1).transpose(1, 2) for x in projected)
        bias, rotated = None, False
        if positions is not None:
            query_positions = positions[:, :1] if cls_query_only else positions
            split = query, key
            query, key, bias = self.adapter.position_terms(layer, query, key, query_positions, positions)
            rotated = query is not split[0] or key is not split[1]
        if key_bias is not None:
            key_bias = key_bias[:, None, None, :].to(query.dtype)
            bias = key_bias if bias is None else bias + key_bias
        scale = self.adapter.attention_scale(query.shape[-1])
        if use_fused_attention() and not rotated:  # one operator in ONNX Runtime's graph (architectures.attention)
            if bias is not None:  # its bias has a row per query
                bias = bias.expand(*bias.shape[:2], query.shape[2], key.shape[2])
            if need_probs:
                return fused_attention_probs(*projected, mask, bias, heads, scale)
            return fused_attention(*projected, mask, bias, heads, scale), None
        dropout = self.adapter.attention_dropout if self.training else 0.0
        keep_keys = None if mask is None else mask[:, None, None, :].bool()
        if need_probs:
            additive = additive_mask(keep_keys, bias, query.dtype)
            context, attention = _attention_with_probs(query, key, value, additive, scale, dropout, self.training)
        else:
            attention = None
            attn_mask = keep_keys if bias is None else additive_mask(keep_keys, bias, bias.dtype)
            context = F.scaled_dot_product_attention(
                query, key, value, attn_mask=attn_mask, dropout_p=dropout, scale=scale)
        return context.transpose(1, 2).reshape(batch, query.shape[2], -1), attention

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on class ids, or on soft targets when labels are a teacher's logits (batch, classes);
        mean squared error for a regression (gold scores, or a teacher's)."""
        if self.config.num_labels == 1:
            return F.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
        if labels.is_floating_point() and labels.dim() == 2:
            return F.cross_entropy(logits, labels.softmax(dim=-1))
        return F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))

    # --- save / load -------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | os.PathLike, tokenizer=None) -> None:
        """Write the wrapped model, its power_config.json (and a tokenizer) to `directory`, atomically."""
        def write(tmp: Path) -> None:
            self.model.save_pretrained(tmp)
            self.power_config.save_pretrained(tmp)
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)

        write_directory_atomic(Path(directory), write)

    @classmethod
    def keep_all(cls, model: PreTrainedModel, max_length: int) -> "PowerModel":
        """A PoWER model that eliminates nothing (l_j = max_length in every layer): same outputs as `model`."""
        num_layers = len(get_adapter(model, classifier=cls.is_classifier).layers())
        return cls(model, PowerConfig.keep_all(num_layers, max_length))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, **kwargs) -> "PowerModel":
        """Load a directory written by save_pretrained; kwargs go to AutoModelForSequenceClassification."""
        power_config = PowerConfig.from_pretrained(directory)
        return cls(load_classifier(directory, **kwargs), power_config)


def _attention_with_probs(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, additive: torch.Tensor | None,
                          scale: float, dropout: float, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention (batch, heads, queries, head size) and its probabilities (batch, heads, queries, keys). At
    inference a few inputs at a time where the logits would be large, keeping only the probabilities' mean over
    heads (batch, queries, keys), all the scores need: a batch of 32 inputs of 512 tokens would need 400 MB per
    pass over them."""
    if not (training or torch.compiler.is_exporting()):  # training keeps probs for backward; export: symbolic sizes
        batch, heads, width, keys = *query.shape[:3], key.shape[2]
        step = max(1, LOGITS_PER_STEP // (heads * width * keys))
        if step < batch:
            per_row = additive is not None and additive.shape[0] > 1
            parts = [explicit_attention(query[i:i + step], key[i:i + step], value[i:i + step],
                                        additive[i:i + step] if per_row else additive, scale, dropout, training)
                     for i in range(0, batch, step)]
            return torch.cat([context for context, _ in parts]), torch.cat([probs.mean(dim=1) for _, probs in parts])
    return explicit_attention(query, key, value, additive, scale, dropout, training)


def carry_forward(carry: torch.Tensor, positions: torch.Tensor, hidden: torch.Tensor,
                  mask: torch.Tensor | None) -> torch.Tensor:
    """carry (batch, seq, hidden) over original positions, with the vectors `hidden` (batch, width, hidden) written
    at their `positions`, except those masked out (fraction mode's vectors beyond an input's own count, padding),
    which keep what carry holds: the state they had when they were eliminated."""
    if mask is not None:
        hidden = torch.where(mask[..., None].bool(), hidden, gather_positions(positions, carry)[0])
    return carry.scatter(1, positions[..., None].expand_as(hidden), hidden)


def check_and_trim(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None, limit: int,
    vocab_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Refuse left padding, inputs longer than `limit` and token ids outside the vocabulary; drop the columns
    that are padding in every row.

    Shared by PowerModel and the runtime class of exported graphs, which cannot make these decisions inside.
    """
    if vocab_size is not None and input_ids.numel():
        low, high = int(input_ids.min()), int(input_ids.max())  # every call: one pass each, not two
        if low < 0 or high >= vocab_size:
            raise PowerBertError(f"token id {low if low < 0 else high} is outside the model's vocabulary of "
                                 f"{vocab_size}; tokenize with the model's own tokenizer")
    if not bool(attention_mask[:, 0].all()):
        raise PowerBertError("PoWER models need right padding: set tokenizer.padding_side = 'right'")
    if input_ids.shape[1] > limit:
        raise PowerBertError(f"input of {input_ids.shape[1]} tokens exceeds the model's limit of {limit}; "
                             "tokenize with truncation=True")
    width = int(attention_mask.sum(dim=1).max())
    if token_type_ids is not None:
        token_type_ids = token_type_ids[:, :width]
    return input_ids[:, :width], attention_mask[:, :width], token_type_ids


def get_power_model(model: PreTrainedModel, power_config: PowerConfig) -> PowerModel:
    """Turn a Hugging Face sequence-classification model into a PoWER model (the weights are shared, not copied)."""
    return PowerModel(model, power_config)


def load_config(name_or_path: str | os.PathLike) -> PretrainedConfig:
    """The checkpoint's config, checked to be a supported encoder, with a one-line error otherwise."""
    try:
        config = AutoConfig.from_pretrained(name_or_path)
    except (OSError, ValueError, KeyError) as err:
        raise PowerBertError(f"cannot load a model from {name_or_path}: {first_line(err)}") from None
    check_supported(config)
    return config


def load_classifier(name_or_path: str | os.PathLike, auto_class=AutoModelForSequenceClassification,
                    **kwargs) -> PreTrainedModel:
    """AutoModelForSequenceClassification.from_pretrained (or another auto class's: AutoModel for a bare encoder)
    with a one-line error for a missing or bad checkpoint."""
    load_config(name_or_path)
    try:
        return auto_class.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise PowerBertError(f"cannot load a model from {name_or_path}: {first_line(err)}") from None


def load_power_or_plain(model_dir: str | os.PathLike) -> PowerModel:
    """A saved PoWER model, or a plain fine-tuned classifier wrapped to keep every token (the same logits)."""
    if (Path(model_dir) / CONFIG_NAME).is_file():
        return PowerModel.from_pretrained(model_dir)
    return PowerModel.keep_all(load_classifier(model_dir), 1_000_000)


SEARCH_PARAMETERS = "retention_parameters.json"  # the r_j a search learned, beside the model it writes


def is_search_output(model_dir: str | os.PathLike) -> bool:
    """Whether model_dir was written by a search (it holds the learned retention parameters)."""
    return (Path(model_dir) / SEARCH_PARAMETERS).is_file()


def load_soft_search(model_dir: str | os.PathLike, max_length: int = 0) -> PowerModel:
    """The search's own model: its Soft-Extract layers restored with the r_j it learned, instead of the hard
    configuration derived from them (a distillation teacher that is already used to losing vectors).
    max_length: the longest input it will read; in count mode, ranks beyond those the search learned (its
    longest input) take the last rank's r_j."""
    power = PowerModel.from_pretrained(model_dir)
    try:
        parameters = json.loads((Path(model_dir) / SEARCH_PARAMETERS).read_text())
    except (OSError, ValueError) as err:
        raise PowerBertError(f"cannot read the search's retention parameters in {model_dir}: "
                             f"{first_line(err)}") from None
    if len(parameters) != power.num_layers:
        raise PowerBertError(f"{model_dir}: {len(parameters)} layers of retention parameters for a model of "
                             f"{power.num_layers} layers")
    if power.power_config.mode == "count":
        parameters = [layer + layer[-1:] * (max_length - len(layer)) for layer in parameters]
    power.enable_search(len(parameters[0]), power.power_config.mode)
    with torch.no_grad():
        for soft, values in zip(power.soft_extract, parameters):
            soft.retention.copy_(torch.tensor(values, dtype=soft.retention.dtype))
    return power
