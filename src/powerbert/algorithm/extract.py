"""Extract layers: Soft-Extract for the configuration search, hard Extract for re-training and inference."""

import torch
from torch import nn


def ranks_from_scores(scores: torch.Tensor) -> torch.Tensor:
    """Rank of each position (0 = most significant), shape (batch, seq)."""
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    return torch.argsort(order, dim=1)


class SoftExtract(nn.Module):
    """Multiplies the vector ranked i-th by a learned retention parameter r[i] in [0, 1]."""

    def __init__(self, max_length: int) -> None:
        super().__init__()
        self.retention = nn.Parameter(torch.ones(max_length))

    def forward(self, hidden: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        width = hidden.shape[1]
        if width > self.retention.numel():
            raise ValueError(f"input of {width} tokens is longer than the search's maximum length {self.retention.numel()}")
        weights = self.retention[ranks_from_scores(scores)]  # (batch, seq)
        return hidden * weights[..., None].to(hidden.dtype)

    def mass(self) -> float:
        """sum_i r[i]: the number of vectors this layer should keep."""
        return float(self.retention.detach().sum())

    @torch.no_grad()
    def clip_(self) -> None:
        """Project back onto [0, 1] (called after every optimizer step)."""
        self.retention.clamp_(0.0, 1.0)


def select_kept(scores: torch.Tensor, keep: int) -> torch.Tensor:
    """Positions to keep (batch, keep): [CLS] plus the keep-1 most significant others, in original order."""
    scores = scores.clone()
    scores[:, 0] = float("inf")
    top = torch.topk(scores, keep, dim=1, sorted=False).indices
    return torch.sort(top, dim=1).values


def hard_extract(
    hidden: torch.Tensor, attention_mask: torch.Tensor | None, scores: torch.Tensor, keep: int,
    positions: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Gather the kept vectors, their mask (None: no padding) and their original positions (None: not tracked).

    The eliminated vectors are gone from the tensors. Padding scores lowest, so an input shorter than `keep`
    keeps all its real tokens, and since the order is kept the mask stays right-padded. Encoders whose
    attention depends on position (relative bias, rotary) read each kept vector's original position.
    """
    index = select_kept(scores, keep)
    hidden = torch.gather(hidden, 1, index[..., None].expand(-1, -1, hidden.shape[-1]))
    mask = None if attention_mask is None else torch.gather(attention_mask, 1, index)
    return hidden, mask, None if positions is None else torch.gather(positions, 1, index)
