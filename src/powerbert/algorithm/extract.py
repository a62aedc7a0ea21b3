"""Extract layers: Soft-Extract for the configuration search, hard Extract for re-training and inference."""

import torch
import torch.nn.functional as F
from torch import nn


def ranks_from_scores(scores: torch.Tensor) -> torch.Tensor:
    """Rank of each position (0 = most significant), shape (batch, seq)."""
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    return torch.argsort(order, dim=1)


class SoftExtract(nn.Module):
    """Multiplies the vector ranked i-th by a learned retention parameter r[i] in [0, 1].

    relative=True (fraction mode): r holds `size` bins of relative rank, and the vector ranked i-th of an input
    of n real tokens gets r[floor(i * size / n)], so that what is learned does not depend on how long the
    training inputs are.
    """

    def __init__(self, size: int, relative: bool = False) -> None:
        super().__init__()
        self.retention = nn.Parameter(torch.ones(size))
        self.relative = relative

    def forward(self, hidden: torch.Tensor, scores: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """lengths: real tokens per input (batch,), needed in relative mode (None: no padding)."""
        return hidden * self.weights(scores, lengths)[..., None].to(hidden.dtype)

    def weights(self, scores: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """r[rank] of every vector (batch, seq): what forward multiplies it by."""
        width, size = scores.shape[1], self.retention.numel()
        ranks = ranks_from_scores(scores)  # (batch, seq)
        if self.relative:
            lengths = torch.full_like(ranks[:, 0], width) if lengths is None else lengths
            index = (ranks * size // lengths[:, None]).clamp(max=size - 1)  # padding ranks last: the last bin
        elif width > size:
            raise ValueError(f"input of {width} tokens is longer than the search's maximum length {size}")
        else:
            index = ranks
        return self.retention[index]

    def mass(self) -> float:
        """sum_i r[i]: the number of vectors this layer should keep; relative: the mean, the share it should keep."""
        values = self.retention.detach()
        return float(values.mean() if self.relative else values.sum())

    @torch.no_grad()
    def clip_(self) -> None:
        """Project back onto [0, 1] (called after every optimizer step)."""
        self.retention.clamp_(0.0, 1.0)


def select_kept(scores: torch.Tensor, keep: int) -> torch.Tensor:
    """Positions to keep (batch, keep): [CLS] first, then the keep-1 most significant others, in rank order.

    Rank order, not original order: attention does not depend on where a vector sits (positions travel with the
    vectors where an encoder needs them), and an exported graph then needs one top-k and no sort.
    """
    scores = F.pad(scores[:, 1:], (1, 0), value=float("inf"))  # [CLS] first: one Pad in an exported graph
    return torch.topk(scores, keep, dim=1).indices


def hard_extract(
    attention_mask: torch.Tensor | None, scores: torch.Tensor, keep: int, *tensors: torch.Tensor | None,
    row_keep: torch.Tensor | None = None,
) -> tuple[torch.Tensor | None, ...]:
    """The kept positions' mask (None: no padding), then each of `tensors` gathered at the kept positions.

    tensors are (batch, seq) or (batch, seq, dim): the vectors, and whatever travels with them (the attention
    context, original positions); None stays None. The eliminated vectors are gone from the tensors. Padding
    scores lowest, so an input shorter than `keep` keeps all its real tokens. row_keep (batch,), with a mask:
    each input keeps only its own count; the batch keeps `keep` (the largest) and the vectors ranked beyond an
    input's count are masked.
    """
    mask, *gathered = gather_positions(select_kept(scores, keep), attention_mask, *tensors)
    if row_keep is not None:  # the kept vectors are in rank order: the first row_keep of each input stay
        rank = torch.arange(mask.shape[1], device=mask.device)
        mask = mask * (rank[None, :] < row_keep[:, None]).to(mask.dtype)
    return (mask, *gathered)


def gather_positions(index: torch.Tensor, *tensors: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
    """Each of `tensors` (batch, seq) or (batch, seq, dim) at the positions `index` (batch, keep); None stays None.

    One row lookup in the flattened batch rather than GatherElements with an index expanded over dim, which
    OpenVINO runs on a slow generic kernel; when exporting, one GatherND per tensor (`gather_rows`).
    """
    if torch.compiler.is_exporting():  # one GatherND per tensor in the graph (onnx_export), no index arithmetic
        return tuple(None if x is None else gather_rows(x, index) for x in tensors)
    batch, keep = index.shape
    width = next((x.shape[1] for x in tensors if x is not None), None)
    if width is None:
        return tuple(None for _ in tensors)
    flat = (index + torch.arange(batch, device=index.device)[:, None] * width).reshape(-1)
    return tuple(None if x is None else x.flatten(0, 1).index_select(0, flat).view(batch, keep, *x.shape[2:])
                 for x in tensors)


@torch.library.custom_op("powerbert::gather_rows", mutates_args=())
def gather_rows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (batch, seq, ...) at the positions index (batch, keep): an operator of its own when exporting, which
    the ONNX export writes as one GatherND over the batch (rather than a flattened gather and its arithmetic)."""
    return gather_positions(index, values)[0]  # not exporting here: the eager gather


@gather_rows.register_fake
def _(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return values.new_empty(*index.shape, *values.shape[2:])


def absorb_weights(weights: torch.Tensor, attention: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Pooling weights (batch, seq) after an Extract that keeps positions `kept` (batch, keep): each eliminated
    vector's weight moves onto the kept vectors in proportion to the attention it paid them in this layer
    (attention: the probabilities, batch, heads, seq, seq, or their mean over heads, batch, seq, seq), so that a
    mean over the kept vectors still counts every token once."""
    attention = attention.mean(dim=1) if attention.dim() == 4 else attention
    is_kept = torch.zeros_like(weights).scatter(1, kept, 1.0)
    attention = attention * is_kept[:, None, :]  # attention to kept vectors only
    attention = attention / attention.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(attention.dtype).tiny)
    moved = torch.bmm((weights * (1 - is_kept))[:, None, :], attention.to(weights.dtype)).squeeze(1)
    return weights * is_kept + moved


def merge_weights(sizes: torch.Tensor, vectors: torch.Tensor, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Token merging at an Extract that keeps positions `kept` (batch, keep): each eliminated vector is averaged
    into the kept vector most like it (cosine of the layer's input vectors, batch, seq, hidden; never [CLS], to
    which attention-based choices send most of the mass), weighted by the tokens each already stands for
    (sizes: batch, seq; padding 0).

    Returns the mixing matrix (batch, keep, seq), whose rows sum to 1 (a kept vector's new value is its row times
    the layer's vectors), and the kept vectors' new sizes (batch, keep), which still count every token once.
    """
    unit = F.normalize(vectors.detach(), dim=-1)
    # similarity of every vector to the kept ones only (batch, seq, keep): keep x seq products, not seq x seq
    similar = unit @ gather_positions(kept, unit)[0].transpose(1, 2)
    similar = similar.masked_fill((kept == 0)[:, None, :], -2.0)  # nothing merges into [CLS]
    similar = similar.scatter(1, kept[:, None, :], 3.0)  # a kept vector stays itself, whatever its twins
    into = similar.argmax(dim=-1)  # (batch, seq): the kept vector each vector goes into
    # (batch, keep, from): each vector's size in the row of the kept vector it goes into
    mix = sizes.new_zeros(kept.shape + sizes.shape[1:]).scatter(1, into[:, None, :], sizes[:, None, :])
    new_sizes = mix.sum(dim=-1)
    return mix / new_sizes.clamp_min(torch.finfo(sizes.dtype).tiny)[..., None], new_sizes
