"""Significance of each word vector: the attention it receives from the other tokens.

PoWER-BERT (Goyal et al. 2020, Sec. 3.2): from one layer's softmax attention probabilities
A_h[q, k] (rows = queries), mean over heads, sum over the query rows, minus the diagonal.
Unlike the original code, padded query rows are masked out so padding never adds to a real
token's score, and padded keys score -1 so they rank after every real token.
"""

import torch

PAD_SCORE = -1.0


@torch.no_grad()
def significance_scores(probs: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Scores (batch, seq) from attention probabilities (batch, heads, seq, seq), or their mean over heads
    (batch, seq, seq), and a 0/1 mask (batch, seq). The sums come straight from the probabilities (a product per
    head), with no mean over heads written first: one pass over the layer's largest tensor.

    attention_mask=None says the batch has no padding (e.g. batch size 1): the same scores, fewer operations.
    """
    attention = probs if probs.dim() == 4 else probs[:, None]  # (batch, heads or 1, query, key)
    heads, width = attention.shape[1], attention.shape[-1]
    if attention_mask is None:
        received = attention.sum(dim=(1, 2))
    else:  # sum over the real query rows only
        received = (attention_mask[:, None, None, :].to(attention.dtype) @ attention).sum(dim=(1, 2))
    own = attention.flatten(2)[..., :: width + 1].sum(dim=1)  # the diagonals, as a strided slice: one Slice in ONNX
    scores = (received - own) / heads  # minus own attention; the mean over heads
    return scores if attention_mask is None else scores.masked_fill(attention_mask == 0, PAD_SCORE)


def random_scores(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Random scores (batch, seq) for the paper's ablation (random elimination); padding still ranks last."""
    scores = torch.rand(hidden.shape[:2], device=hidden.device)
    return scores if attention_mask is None else scores.masked_fill(attention_mask == 0, PAD_SCORE)
