"""powerbert: faster transformer encoders by progressive word-vector elimination (PoWER-BERT)."""

from .errors import PowerBertError
from .modeling import PowerModel, get_power_model
from .retention import PowerConfig, flop_fraction, retention_from_masses
from .significance import significance_scores

__all__ = [
    "PowerBertError",
    "PowerConfig",
    "PowerModel",
    "flop_fraction",
    "get_power_model",
    "retention_from_masses",
    "significance_scores",
]
