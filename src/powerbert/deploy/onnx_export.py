"""`powerbert export`: a PoWER model (or its plain model) as an ONNX file in a self-contained folder.

The graph holds the whole elimination: explicit attention probabilities, significance scores, top-k and
gather, with dynamic batch and length (`PowerModel.forward` keeps the retained width symbolic while
exporting). The folder follows optimum's layout: `model.onnx` (or `model_quantized.onnx` for int8),
`config.json`, the tokenizer files, plus `power_config.json` and `export_config.json` (what was exported).
"""

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from ..algorithm.retention import CONFIG_NAME
from ..architectures.adapters import max_input_length, uses_token_types
from ..errors import PowerBertError
from ..files import write_directory_atomic, write_json_atomic
from ..modeling import PowerModel, load_classifier

logger = logging.getLogger("powerbert")

EXPORT_CONFIG = "export_config.json"
ONNX_FILES = {"fp32": "model.onnx", "int8": "model_quantized.onnx"}
PRECISIONS = tuple(ONNX_FILES)


class _LogitsOnly(nn.Module):
    """Named tensor inputs in, logits out: what the ONNX graph's signature should be."""

    def __init__(self, model: nn.Module, token_types: bool) -> None:
        super().__init__()
        self.model, self.token_types = model, token_types

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {"token_type_ids": token_type_ids} if self.token_types else {}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


def load_for_export(model_dir: str | os.PathLike, plain: bool) -> tuple[nn.Module, list[int] | None]:
    """The PoWER model of a folder and its retention (or, with plain=True, the classifier it wraps, or any
    fine-tuned classifier, and None)."""
    is_power = (Path(model_dir) / CONFIG_NAME).is_file()
    if not plain and not is_power:
        raise PowerBertError(
            f"{model_dir} is not a PoWER model (no {CONFIG_NAME}); export --plain exports a plain classifier"
        )
    power = PowerModel.from_pretrained(model_dir) if is_power else None
    if power is not None and power.power_config.scoring != "attention":
        raise PowerBertError(f"{model_dir} eliminates at random (a research ablation); only attention scoring exports")
    if plain:
        return (power.model if power is not None else load_classifier(model_dir)).eval(), None
    return power.eval(), power.power_config.retention


def export_onnx_file(model: nn.Module, path: Path, token_types: bool) -> None:
    """Trace `model` with torch.export into one ONNX file with dynamic batch and length; logits out."""
    ids = torch.tensor([[101, 2000, 2001, 2002, 102], [101, 2003, 102, 0, 0]]) % model.config.vocab_size
    example = {"input_ids": ids,
               "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])}
    if token_types:
        example["token_type_ids"] = torch.zeros_like(example["input_ids"])
    batch, length = torch.export.Dim("batch"), torch.export.Dim("sequence", min=2, max=4096)
    dynamic = {name: {0: batch, 1: length} for name in example}
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # e.g. "torchvision is not installed": not the user's concern
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(_LogitsOnly(model, token_types), (), kwargs=example, dynamo=True,
                                        dynamic_shapes=dynamic, input_names=list(example), output_names=["logits"],
                                        external_data=False, verbose=False)
    except Exception as err:  # the exporter raises many types from deep inside torch.export
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise PowerBertError(f"ONNX export of {type(model).__name__} failed: {first}") from err
    finally:
        exporter_log.setLevel(level)
    program.save(str(path), external_data=False)


def quantize_onnx_int8(source: Path, target: Path) -> None:
    """ONNX Runtime's dynamic int8 quantization: int8 weights, activations quantized per batch at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def check_output_dir(output: Path) -> None:
    """Refuse an output that is a file, or a non-empty folder that is not an earlier export, before any work."""
    output = Path(output)
    if output.is_file():
        raise PowerBertError(f"--output {output} is a file; give a folder to write the export into")
    if output.is_dir() and any(output.iterdir()) and not (output / EXPORT_CONFIG).is_file():
        raise PowerBertError(f"--output {output} is a non-empty folder that is not an export; choose a new folder")
    parent = output.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise PowerBertError(f"--output {output} cannot be written: no write permission in {parent}")


def export(model_dir: str | os.PathLike, output: str | os.PathLike, quantize: str | None = None,
           plain: bool = False) -> dict:
    """Export a PoWER model folder to ONNX (fp32, or int8 with `quantize="int8"`) in a self-contained folder.

    plain=True exports the wrapped classifier without elimination: the baseline to compare against.
    Returns what export_config.json records.
    """
    output = Path(output)
    precision = quantize or "fp32"
    if precision not in PRECISIONS:
        raise PowerBertError(f"--quantize {quantize!r} is not supported; choose int8")
    check_output_dir(output)
    model, retention = load_for_export(model_dir, plain)
    config = model.config
    token_types = uses_token_types(config)
    inputs = ["input_ids", "attention_mask", "token_type_ids"] if token_types else ["input_ids", "attention_mask"]
    record = {
        "format": "onnx", "runtime": "onnxruntime", "file_name": ONNX_FILES[precision], "precision": precision,
        "quantization": "dynamic" if precision == "int8" else None, "power": retention is not None,
        "retention": retention, "inputs": inputs, "max_length": max_input_length(config),
        "source": str(model_dir), "torch": torch.__version__,
    }

    def write(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        with tempfile.TemporaryDirectory(dir=tmp.parent) as scratch:
            fp32 = Path(scratch) / ONNX_FILES["fp32"]
            logger.info("exporting %s to ONNX", "the plain model" if plain else "the PoWER model")
            export_onnx_file(model, fp32, token_types)
            if precision == "int8":
                logger.info("quantizing to int8 (ONNX Runtime dynamic quantization)")
                quantize_onnx_int8(fp32, tmp / ONNX_FILES["int8"])
            else:
                os.replace(fp32, tmp / ONNX_FILES["fp32"])
        config.save_pretrained(tmp)
        if retention is not None:
            model.power_config.save_pretrained(tmp)
        _copy_tokenizer(model_dir, tmp)
        write_json_atomic(tmp / EXPORT_CONFIG, record)

    write_directory_atomic(output, write)
    return record


def _copy_tokenizer(model_dir: str | os.PathLike, target: Path) -> None:
    """Save the source folder's tokenizer beside the graph, so the export folder serves on its own."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError) as err:
        logger.warning("no tokenizer in %s (%s); the export folder will need one passed in", model_dir,
                       str(err).splitlines()[0])
        return
    tokenizer.save_pretrained(target)


def read_export_config(directory: str | os.PathLike) -> dict:
    """export_config.json of an export folder, with a one-line error for a folder that is not one."""
    path = Path(directory) / EXPORT_CONFIG
    if not path.is_file():
        raise PowerBertError(f"{directory} is not an exported model: it has no {EXPORT_CONFIG} "
                             "(make one with `powerbert export`)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise PowerBertError(f"{path} is corrupt: {err}") from None
