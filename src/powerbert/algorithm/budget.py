"""A FLOP budget for the configuration search: ask for a FLOP fraction, not a lambda.

The search's soft configuration has an expected FLOP fraction that is differentiable in the retention
parameters (through each layer's mass, as `retention_from_masses` reads it). A Lagrange multiplier, learned by
gradient ascent alongside the retention parameters, drives that fraction to a target that warms up from 1.0
(CoFi, Xia et al. 2022; ToP, Li et al. 2023, constrain expected sparsity the same way). After the search, the
masses give each layer's share and one scale factor, found by bisection, sets the level so that the hard
configuration meets the target on the real lengths of the inputs the model is judged on (the validation split's).

Two shapes of the constraint's pull on the retention parameters: "paper" (the default) keeps the paper's
regulariser sum_j j * sum_i r_j[i] as the pull, later layers charged more, and learns its weight (the
multiplier, moved by the gap) instead of asking for a lambda; "flops" charges each layer's mass what its
vectors cost (through the expected FLOP fraction, whose gradient reaches the first layer to fall: that layer
takes most of the cut); "hold": the paper's pull, but only while the expected fraction is above the current
target, so that the search stops cutting once the target holds instead of overshooting it (the multiplier only
turns the pull off once it falls below zero, which a short search may never reach) and the hard configuration
needs little scaling.
"""

import math
from collections import Counter
from typing import Sequence

import torch
from torch import nn

from ..errors import PowerBertError
from .retention import PowerConfig, flop_fraction, fractions_from_means, retention_from_masses

LR_MULTIPLIER = 0.05  # learning rate of the Lagrange multipliers (Adam, gradient ascent)
WARMUP_SHARE = 1 / 3  # the target falls linearly from 1.0 to its value over this share of the search's steps
SHAPES = ("paper", "flops", "hold")
# MRPC, 3 seeds at 0.5: F1 84.99 +- 0.50 against 83.85 +- 1.02 for "flops"; embeddings with carried pooling (STS-B
# at 0.5): Spearman 79.76 against 79.09 (docs/results.md)
DEFAULT_SHAPE = "paper"
# `powerbert embed`: MPNet on STS-B at 0.5, where "paper" overshot to 0.12 and was scaled by 772: Spearman 79.62
# against 77.45, recall@10 0.458 against 0.420; IMDB (no overshoot) 0.555 against 0.544 (docs/results.md)
EMBED_SHAPE = "hold"


def expected_flop_fraction(masses: torch.Tensor, lengths: torch.Tensor, weights: torch.Tensor, hidden: int,
                           intermediate: int, mode: str = "count") -> torch.Tensor:
    """The soft configuration's encoder FLOPs over the plain model's, on inputs of the given real lengths.

    masses (layers,): vectors each layer keeps (count mode) or its share of each input (fraction mode);
    lengths, weights (K,): distinct input lengths and how many inputs have each. The same cost model as
    `retention.encoder_flops`, with counts relaxed to real numbers: for integer masses the two agree.
    """
    n = lengths.to(masses.dtype)
    width, total = n, torch.zeros_like(n)
    for mass in masses:
        keep = mass * n if mode == "fraction" else mass.expand_as(n)
        keep = torch.minimum(keep.clamp(min=1.0), width)
        total = total + 3 * width * hidden**2 + 2 * width**2 * hidden + keep * hidden**2 + 2 * keep * hidden * intermediate
        width = keep
    plain = len(masses) * (4 * n * hidden**2 + 2 * n**2 * hidden + 2 * n * hidden * intermediate)
    w = weights.to(masses.dtype)
    return (w * total).sum() / (w * plain).sum()


def _reverse_gradient(grad: torch.Tensor) -> torch.Tensor:
    return -grad


class FlopBudget(nn.Module):
    """The constraint term lambda_1 * gap + lambda_2 * gap^2 (gap: expected FLOP fraction minus the current
    target), whose multipliers the optimizer moves up the gradient (their gradients are reversed), so that the
    term grows until the constraint holds. Shape "paper": lambda_1 * the paper's regulariser (over its value
    with every r = 1) instead, with lambda_1 moved by the gap alone."""

    def __init__(self, target: float, lengths: Sequence[int], hidden: int, intermediate: int, mode: str,
                 warmup_steps: int, shape: str = DEFAULT_SHAPE) -> None:
        super().__init__()
        if shape not in SHAPES:
            raise PowerBertError(f"--budget-shape {shape}: choose one of {', '.join(SHAPES)}")
        self.target, self.hidden, self.intermediate, self.mode, self.shape = target, hidden, intermediate, mode, shape
        self.regulariser_scale = 1.0  # the paper's regulariser with every r = 1 (set when the search starts)
        self.warmup_steps = max(1, warmup_steps)
        histogram = Counter(int(n) for n in lengths)
        self.register_buffer("lengths", torch.tensor(sorted(histogram)), persistent=False)
        self.register_buffer("weights", torch.tensor([histogram[n] for n in sorted(histogram)]), persistent=False)
        self.multipliers = nn.Parameter(torch.zeros(2))
        self.multipliers.register_hook(_reverse_gradient)
        self.path: list[dict] = []  # (step, target, expected fraction, multipliers), recorded by the trainer

    def current_target(self, step: int) -> float:
        """The target at an optimizer step: from 1.0 down to `target` over the warm-up, then `target`."""
        return 1.0 - (1.0 - self.target) * min(1.0, step / self.warmup_steps)

    def expected_fraction(self, masses: torch.Tensor) -> torch.Tensor:
        return expected_flop_fraction(masses, self.lengths, self.weights, self.hidden, self.intermediate, self.mode)

    def penalty(self, masses: torch.Tensor, step: int, regulariser: torch.Tensor | None = None) -> torch.Tensor:
        """The term added to the loss; `regulariser` (sum_j j * sum_i r_j[i]) is what shape "paper" pulls with."""
        gap = self.expected_fraction(masses) - self.current_target(step)
        if self.shape in ("paper", "hold"):  # the multiplier sees only the gap; the r_j only the weighted regulariser
            weight = self.multipliers[0]
            pull = weight.detach() if self.shape == "paper" or gap.detach() > 0 else weight.detach().clamp(max=0.0)
            return weight * gap.detach() + pull * regulariser / self.regulariser_scale
        return self.multipliers[0] * gap + self.multipliers[1] * gap**2

    @torch.no_grad()
    def point(self, masses: torch.Tensor, step: int) -> dict:
        """Where the budget stands at a step: target, expected fraction, multipliers."""
        return {"step": step, "target": round(self.current_target(step), 4),
                "expected_fraction": round(float(self.expected_fraction(masses)), 4),
                "lambda_1": round(float(self.multipliers[0]), 4), "lambda_2": round(float(self.multipliers[1]), 4)}

    def record(self, masses: torch.Tensor, step: int) -> None:
        """Add the step's point to the multipliers' path (for summary.json)."""
        self.path.append(self.point(masses, step))


def min_flop_fraction(lengths: Sequence[int], hidden: int, intermediate: int, num_layers: int) -> float:
    """The smallest FLOP fraction any configuration reaches: [CLS] alone after the first attention block."""
    return flop_fraction(lengths, hidden, intermediate, PowerConfig([1] * num_layers))


def config_for_target(masses: Sequence[float], lengths: Sequence[int], hidden: int, intermediate: int,
                      target: float, mode: str = "count") -> tuple[list, float, float]:
    """The hard configuration whose FLOP fraction on `lengths` is closest to `target`, with each layer's share
    from the search's masses: the retention, the scale applied to the masses, and the fraction reached.

    The fraction grows with the scale, so bisection finds it; the closest of the two configurations that
    bracket the target wins (counts are integers, so the target is met up to one step of one layer)."""

    longest = max(lengths)

    def configure(scale: float) -> tuple[list, float]:
        scaled = [m * scale for m in masses]
        if mode == "count":  # no layer keeps more than the longest input has: the same counts, a readable config
            retention = [min(keep, longest) for keep in retention_from_masses(scaled)]
        else:
            retention = fractions_from_means(scaled)
        return retention, flop_fraction(lengths, hidden, intermediate, PowerConfig(retention, mode=mode))

    low, high = 0.0, 1.0
    while configure(high)[1] < target and high < 1e6:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        if configure(middle)[1] < target:
            low = middle
        else:
            high = middle
    candidates = [(abs(configure(s)[1] - target), s) for s in (low, high)]
    _, scale = min(candidates)
    retention, reached = configure(scale)
    return retention, scale, reached


def speedup_to_flop_fraction(speedup: float) -> float:
    """`--target-speedup S` as a FLOP fraction: 1/S (FLOPs, not seconds: the runtime decides the rest)."""
    if not math.isfinite(speedup) or speedup < 1:
        raise PowerBertError(f"--target-speedup {speedup} must be a number >= 1")
    return 1.0 / speedup
