"""Multi-head attention as one operator in an exported graph, for ONNX Runtime.

torch.export writes attention as some fifteen small operators (reshapes, transposes, the scaled product, the
mask, softmax, the weighted sum). At batch size 1 each costs a few microseconds whatever its size, so ONNX
Runtime's fused MultiHeadAttention pays off there. Its optional `qk` output is the masked, biased logits, from
which one Softmax gives the probabilities that significance needs. These operators exist only while tracing
an ONNX Runtime export (`fused_attention_export`); in PyTorch and in OpenVINO's graph attention stays as it is.
"""

import contextlib
import contextvars

import torch

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


def _reference(query, key, value, key_mask, bias, heads, scale):
    """The math of both operators on (batch, length, heads * head size) inputs: context and probabilities."""
    def split(x):
        return x.view(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)

    logits = (split(query) * scale) @ split(key).transpose(-1, -2)
    if bias is not None:
        logits = logits + bias
    if key_mask is not None:
        logits = logits.masked_fill(key_mask[:, None, None, :] == 0, torch.finfo(logits.dtype).min)
    probs = logits.softmax(dim=-1)
    context = (probs @ split(value)).transpose(1, 2).reshape(query.shape[0], query.shape[1], -1)
    return context, probs


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
def fused_attention_probs(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_mask: torch.Tensor | None,
                    bias: torch.Tensor | None, heads: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`fused_attention` and its probabilities (batch, heads, queries, keys)."""
    context, probs = _reference(query, key, value, key_mask, bias, heads, scale)
    return context, probs.contiguous()


@fused_attention_probs.register_fake
def _(query, key, value, key_mask, bias, heads, scale):
    batch, queries, keys = query.shape[0], query.shape[1], key.shape[1]
    return query.new_empty(batch, queries, value.shape[2]), query.new_empty(batch, heads, queries, keys)
