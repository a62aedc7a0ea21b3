"""Retention configuration: the config object, its derivation from the search, and its FLOP cost.

Two modes. `count` (the paper's): layer j keeps l_j vectors, whatever the input's length. `fraction`
(beyond the paper, issue 11): layer j keeps max(1, ceil(rho_j * n)) vectors of an input of n real tokens,
so short inputs are shortened too and the configuration does not depend on the training inputs' lengths.
"""

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import PowerBertError
from ..files import write_json_atomic

CONFIG_NAME = "power_config.json"
SCORINGS = ("attention", "random")
MODES = ("count", "fraction")
FRACTION_BINS = 32  # Soft-Extract bins of relative rank in fraction mode (the regulariser counts them like ranks)
FRACTION_DIGITS = 3  # rho_j is stored to this many decimals, so that every runtime computes the same counts


def fraction_count(rho: float, length):
    """ceil(rho * length) in integer arithmetic (rho to FRACTION_DIGITS decimals), so that Python, PyTorch and
    an exported graph agree exactly; `length` may be an int, a symbolic int or a tensor of lengths. At least 1
    for any length >= 1, since rho > 0."""
    scale = 10**FRACTION_DIGITS
    return (round(rho * scale) * length + scale - 1) // scale


@dataclass
class PowerConfig:
    """How many word vectors each encoder layer keeps after its attention block.

    mode "count": `retention[j]` is l_{j+1}; a layer whose l_j is at least the input's length eliminates
    nothing. mode "fraction": `retention[j]` is rho_{j+1} in (0, 1], the share of the input's real tokens kept.
    """

    retention: list[int] | list[float]
    masses: list[float] | None = None  # raw sum_i r_j[i] (count) or mean r_j (fraction) from the search, if any
    metadata: dict = field(default_factory=dict)
    scoring: str = "attention"  # "random": the paper's ablation, random vectors eliminated instead
    mode: str = "count"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PowerBertError(f"retention mode {self.mode!r} is not one of {', '.join(MODES)}")
        validate_retention(self.retention, mode=self.mode)
        if self.scoring not in SCORINGS:
            raise PowerBertError(f"scoring {self.scoring!r} is not one of {', '.join(SCORINGS)}")
        if self.mode == "count":
            self.retention = [int(x) for x in self.retention]
        else:
            self.retention = [round(float(x), FRACTION_DIGITS) for x in self.retention]

    def counts(self, length: int) -> list[int]:
        """Vectors each layer keeps of an input of `length` real tokens (never more than it has)."""
        if self.mode == "fraction":
            return [min(fraction_count(rho, length), length) for rho in self.retention]  # min: rho = 1
        return [min(keep, length) for keep in self.retention]

    @classmethod
    def keep_all(cls, num_layers: int, max_length: int) -> "PowerConfig":
        """A configuration that eliminates nothing: the PoWER model equals the plain model."""
        return cls(retention=[max_length] * num_layers)

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        write_json_atomic(Path(directory) / CONFIG_NAME, asdict(self))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> "PowerConfig":
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            raise PowerBertError(f"{directory} is not a PoWER model: it has no {CONFIG_NAME}")
        try:
            return cls(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as err:
            raise PowerBertError(f"{path} is corrupt: {err}") from None


def validate_retention(retention: Sequence[float], num_layers: int | None = None, mode: str = "count") -> None:
    """Raise PowerBertError unless the configuration is non-increasing and fits the model: integers >= 1
    (count mode) or fractions in (0, 1] (fraction mode), one per layer."""
    if not retention:
        raise PowerBertError("retention configuration is empty")
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) for x in retention):
        raise PowerBertError(f"retention configuration {list(retention)} must hold numbers")
    if mode == "count" and any(not float(x).is_integer() or x < 1 for x in retention):
        raise PowerBertError(f"retention configuration {list(retention)} must hold integers >= 1 "
                             "(fractions of each input's length need --retention-mode fraction)")
    if mode == "fraction" and any(not 0 < round(x, FRACTION_DIGITS) <= 1 for x in retention):
        raise PowerBertError(f"fraction retention {list(retention)} must hold numbers in (0, 1] "
                             f"(at least {10**-FRACTION_DIGITS:g})")
    if any(b > a for a, b in zip(retention, retention[1:])):
        raise PowerBertError(f"retention configuration {list(retention)} must be non-increasing over layers")
    if num_layers is not None and len(retention) != num_layers:
        raise PowerBertError(
            f"retention configuration has {len(retention)} values but the model has {num_layers} layers"
        )


def retention_from_masses(masses: Sequence[float]) -> list[int]:
    """l_j = floor(mass_j), at least 1, then made non-increasing (as the original code does)."""
    retention: list[int] = []
    for mass in masses:
        keep = max(1, math.floor(mass + 1e-6))
        retention.append(min(keep, retention[-1]) if retention else keep)
    return retention


def fractions_from_means(means: Sequence[float]) -> list[float]:
    """rho_j = mean retention over the relative-rank bins, to FRACTION_DIGITS decimals, at least the smallest
    step, then made non-increasing (fraction mode's counterpart of retention_from_masses)."""
    fractions: list[float] = []
    for mean in means:
        rho = min(1.0, max(10**-FRACTION_DIGITS, round(mean, FRACTION_DIGITS)))
        fractions.append(min(rho, fractions[-1]) if fractions else rho)
    return fractions


COLLAPSE_LENGTH = 64  # fraction mode: a configuration is judged on an input of this many tokens


def is_collapsed(config: PowerConfig) -> bool:
    """True when the layers keep 2 vectors or fewer on average: the search's regulariser won over the task.

    An average, not a count of small layers: [8, 4, 1, 1, 1, 1] (short CoLA sentences) is a strong but
    usable configuration, since after a few layers [CLS] holds what the classifier needs.
    """
    kept = config.counts(COLLAPSE_LENGTH) if config.mode == "fraction" else config.retention
    return sum(kept) <= 2 * len(kept)


def encoder_flops(length: int, hidden: int, intermediate: int, num_layers: int,
                  config: PowerConfig | None = None) -> int:
    """Multiply-adds of the encoder on one input of `length` tokens (no padding), plain or with `config`.

    Layer j's queries, keys, values and attention run on the vectors it receives; the attention's output
    projection and the feed-forward block on the ones it keeps (both work row by row, after Extract).
    """
    counts = [length] * num_layers if config is None else config.counts(length)
    width, total = length, 0
    for j in range(num_layers):
        keep = min(counts[j], width)
        total += 3 * width * hidden**2 + 2 * width**2 * hidden + keep * hidden**2 + 2 * keep * hidden * intermediate
        width = keep
    return total


def flop_fraction(lengths: Sequence[int], hidden: int, intermediate: int, config: PowerConfig) -> float:
    """Encoder FLOPs of the PoWER model over the plain model, summed over inputs of the given real lengths."""
    layers = len(config.retention)
    power = sum(encoder_flops(n, hidden, intermediate, layers, config) for n in lengths)
    plain = sum(encoder_flops(n, hidden, intermediate, layers) for n in lengths)
    return power / plain
