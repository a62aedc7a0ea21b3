"""powerbert: faster transformer encoders by progressive word-vector elimination (PoWER-BERT)."""

from .algorithm.retention import PowerConfig, flop_fraction, retention_from_masses
from .algorithm.significance import significance_scores
from .errors import PowerBertError
from .modeling import PowerModel, get_power_model

__all__ = [
    "PowerBertError",
    "PowerConfig",
    "PowerModel",
    "flop_fraction",
    "get_power_model",
    "retention_from_masses",
    "significance_scores",
]
