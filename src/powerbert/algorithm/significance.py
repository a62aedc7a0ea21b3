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
    """Scores (batch, seq) from attention probabilities (batch, heads, seq, seq) and a 0/1 mask (batch, seq).

    attention_mask=None says the batch has no padding (e.g. batch size 1): the same scores, fewer operations.
    """
    per_key = probs.sum(dim=1)  # (batch, query, key), summed over heads
    if attention_mask is None:
        received = per_key.sum(dim=1)
    else:  # sum over the real query rows only
        received = torch.bmm(attention_mask[:, None, :].to(probs.dtype), per_key).squeeze(1)
    scores = (received - per_key.diagonal(dim1=1, dim2=2)) / probs.shape[1]  # minus own attention; mean over heads
    return scores if attention_mask is None else scores.masked_fill(attention_mask == 0, PAD_SCORE)


def random_scores(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Random scores (batch, seq) for the paper's ablation (random elimination); padding still ranks last."""
    scores = torch.rand(hidden.shape[:2], device=hidden.device)
    return scores if attention_mask is None else scores.masked_fill(attention_mask == 0, PAD_SCORE)
