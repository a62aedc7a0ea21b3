"""Attention with its probabilities, as PowerModel computes it where a layer scores, and the same attention as
one operator in an exported graph for ONNX Runtime.

torch.export writes attention as some fifteen small operators (reshapes, transposes, the scaled product, the
mask, softmax, the weighted sum); ONNX Runtime's MultiHeadAttention is one. Its optional `qk` output is the
masked, biased logits, from which one Softmax gives the probabilities that significance needs. The two custom
operators here exist only while tracing an ONNX Runtime export (`fused_attention_export`); in PyTorch and in
OpenVINO's graph attention stays explicit.
"""

import contextlib
import contextvars

import torch
import torch.nn.functional as F

_FUSED = contextvars.ContextVar("powerbert_fused_attention", default=False)


@contextlib.contextmanager
def fused_attention_export():
    """Within this block an exported PowerModel writes each attention as one MultiHeadAttention operator."""
    token = _FUSED.set(True)
    try:
        yield
    finally:
        _FUSED.reset(token)


def use_fused_attention() -> bool:
    """Whether the model is being traced for a graph that runs attention as one operator."""
    return _FUSED.get() and torch.compiler.is_exporting()


def explicit_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, additive: torch.Tensor | None,
                       scale: float, dropout: float, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention on (batch, heads, length, head size) inputs, and its probabilities. The scale goes on the
    queries and the mask and bias in one addition in place, since every pass over the logits costs as much as
    the product itself on long inputs."""
    logits = (query * scale) @ key.transpose(-1, -2)
    if additive is not None:
        logits += additive  # in place: the product's backward does not need its output
    probs = logits.softmax(dim=-1)
    return F.dropout(probs, dropout, training) @ value, probs


def additive_mask(keep_keys: torch.Tensor | None, bias: torch.Tensor | None,
                  dtype: torch.dtype) -> torch.Tensor | None:
    """What attention adds to its logits: the position bias (or zeros) with masked keys at the lowest number, not
    -inf, so that no row can turn into NaN; the bias alone (or None) where no key is masked."""
    if keep_keys is None:
        return bias
    return torch.where(keep_keys, 0.0 if bias is None else bias, torch.finfo(dtype).min).to(dtype)


def _reference(query, key, value, key_mask, bias, heads, scale):
    """What both operators compute, on (batch, length, heads * head size) inputs: context and probabilities."""
    def split(x):
        return x.view(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)

    keep_keys = None if key_mask is None else key_mask[:, None, None, :].bool()
    context, probs = explicit_attention(split(query), split(key), split(value),
                                        additive_mask(keep_keys, bias, query.dtype), scale, 0.0, False)
    return context.transpose(1, 2).reshape(query.shape[0], query.shape[1], -1), probs


@torch.library.custom_op("powerbert::attention", mutates_args=())
def fused_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_mask: torch.Tensor | None,
                    bias: torch.Tensor | None, heads: int, scale: float) -> torch.Tensor:
    """Context (batch, queries, hidden) from unsplit projections; key_mask (batch, keys) 1 = attend, or None;
    bias on the scaled logits (batch or 1, heads or 1, queries, keys), or None."""
    return _reference(query, key, value, key_mask, bias, heads, scale)[0]


@fused_attention.register_fake
def _(query, key, value, key_mask, bias, heads, scale):
    return query.new_empty(query.shape[0], query.shape[1], value.shape[2])


@torch.library.custom_op("powerbert::attention_probs", mutates_args=())
def fused_attention_probs(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                          key_mask: torch.Tensor | None, bias: torch.Tensor | None, heads: int,
                          scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`fused_attention` and its probabilities (batch, heads, queries, keys)."""
    context, probs = _reference(query, key, value, key_mask, bias, heads, scale)
    return context, probs.contiguous()


@fused_attention_probs.register_fake
def _(query, key, value, key_mask, bias, heads, scale):
    batch, queries, keys = query.shape[0], query.shape[1], key.shape[1]
    return query.new_empty(batch, queries, value.shape[2]), query.new_empty(batch, heads, queries, keys)
