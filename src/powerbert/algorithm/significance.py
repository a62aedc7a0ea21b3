"""Significance of each word vector: the attention it receives from the other tokens.

PoWER-BERT (Goyal et al. 2020, Sec. 3.2): from one layer's softmax attention probabilities
A_h[q, k] (rows = queries), mean over heads, sum over the query rows, minus the diagonal.
Unlike the original code, padded query rows are masked out so padding never adds to a real
token's score, and padded keys score -1 so they rank after every real token.
"""

import torch

PAD_SCORE = -1.0


@torch.no_grad()
def significance_scores(probs: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Scores (batch, seq) from attention probabilities (batch, heads, seq, seq) and a 0/1 mask (batch, seq)."""
    mask = attention_mask.to(probs.dtype)
    received = torch.einsum("bq,bhqk->bk", mask, probs)  # sum over heads and real query rows, one pass
    own = probs.diagonal(dim1=2, dim2=3).sum(dim=1)
    scores = (received - own) / probs.shape[1]  # mean over heads
    return scores.masked_fill(attention_mask == 0, PAD_SCORE)


def random_scores(attention_mask: torch.Tensor) -> torch.Tensor:
    """Random scores for the paper's ablation (random elimination); padding still ranks last."""
    scores = torch.rand(attention_mask.shape, device=attention_mask.device)
    return scores.masked_fill(attention_mask == 0, PAD_SCORE)
