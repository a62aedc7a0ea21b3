"""Retention configuration (l_1..l_L): the config object, its derivation from the search, and its FLOP cost."""

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


@dataclass
class PowerConfig:
    """How many word vectors each encoder layer keeps after its attention block.

    `retention[j]` is l_{j+1}; a layer whose l_j is at least the input's length eliminates nothing.
    """

    retention: list[int]
    masses: list[float] | None = None  # raw sum_i r_j[i] from the configuration search, if any
    metadata: dict = field(default_factory=dict)
    scoring: str = "attention"  # "random": the paper's ablation, random vectors eliminated instead

    def __post_init__(self) -> None:
        validate_retention(self.retention)
        if self.scoring not in SCORINGS:
            raise PowerBertError(f"scoring {self.scoring!r} is not one of {', '.join(SCORINGS)}")
        self.retention = [int(x) for x in self.retention]

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


def validate_retention(retention: Sequence[int], num_layers: int | None = None) -> None:
    """Raise PowerBertError unless the configuration is a non-increasing list of positive integers fitting the model."""
    if not retention:
        raise PowerBertError("retention configuration is empty")
    if any(isinstance(x, bool) or not float(x).is_integer() or x < 1 for x in retention):
        raise PowerBertError(f"retention configuration {list(retention)} must hold integers >= 1")
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


def is_collapsed(retention: Sequence[int]) -> bool:
    """True when most layers keep only 1 or 2 vectors: the search's regulariser won over the task."""
    return sum(keep <= 2 for keep in retention) > len(retention) / 2


def encoder_flops(length: int, hidden: int, intermediate: int, num_layers: int, retention: Sequence[int] | None = None) -> int:
    """Multiply-adds of the encoder on one input of `length` real tokens (no padding).

    Layer j's attention block runs on the vectors it receives; its feed-forward block on the ones it keeps.
    """
    width, total = length, 0
    for j in range(num_layers):
        keep = width if retention is None else min(retention[j], width)
        total += 4 * width * hidden**2 + 2 * width**2 * hidden + 2 * keep * hidden * intermediate
        width = keep
    return total


def flop_fraction(lengths: Sequence[int], hidden: int, intermediate: int, retention: Sequence[int]) -> float:
    """Encoder FLOPs of the PoWER model over the plain model, summed over inputs of the given real lengths."""
    layers = len(retention)
    power = sum(encoder_flops(n, hidden, intermediate, layers, retention) for n in lengths)
    plain = sum(encoder_flops(n, hidden, intermediate, layers) for n in lengths)
    return power / plain
