"""`powerbert export`: a PoWER model (or its plain model) for ONNX Runtime or OpenVINO, in a self-contained folder.

Both runtimes start from one ONNX graph of the PoWER forward (`onnx_export`). The folder follows the layout
of optimum (ONNX Runtime: `model.onnx`, or `model_quantized.onnx` for int8) or optimum-intel (OpenVINO:
`openvino_model.xml` / `.bin`), with `config.json`, the tokenizer files, `power_config.json` and
`export_config.json` (what was exported, and how).
"""

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..algorithm.retention import CONFIG_NAME, PowerConfig
from ..architectures.adapters import max_input_length, uses_token_types
from ..errors import PowerBertError, first_line
from ..files import check_writable_folder, write_directory_atomic, write_json_atomic
from ..modeling import PowerModel, load_classifier, load_config
from .int8_check import disagreement_message, int8_agreement, sample_feeds
from .onnx_export import export_fused_plain_onnx, export_onnx_file, quantize_onnx_int8
from .openvino_export import OPENVINO_FILE, convert_to_openvino

logger = logging.getLogger("powerbert")

EXPORT_CONFIG = "export_config.json"
RUNTIMES = ("onnxruntime", "openvino")
QUANTIZATIONS = ("int8", "int8-w7")
ONNX_FILES = {"fp32": "model.onnx", "int8": "model_quantized.onnx"}


def check_export_options(runtime: str, quantize: str | None, calibrated: bool) -> None:
    """One line for a runtime, precision or calibration set that does not go together, before any work."""
    if runtime not in RUNTIMES:
        raise PowerBertError(f"--runtime {runtime!r} is not supported; choose {' or '.join(RUNTIMES)}")
    if quantize not in (None, *QUANTIZATIONS):
        raise PowerBertError(f"--quantize {quantize!r} is not supported; choose {' or '.join(QUANTIZATIONS)}")
    if quantize == "int8-w7" and runtime != "onnxruntime":
        raise PowerBertError("--quantize int8-w7 (7-bit weights) is ONNX Runtime's; OpenVINO takes --quantize int8")
    static = runtime == "openvino" and quantize == "int8"
    if static and not calibrated:
        raise PowerBertError("--runtime openvino --quantize int8 calibrates on real inputs: pass --calibration-task "
                             "(and --glue-dir) with --calibration-samples of at least 1")
    if calibrated and not static:
        raise PowerBertError("calibration inputs serve only --runtime openvino --quantize int8 "
                             "(ONNX Runtime's int8 is dynamic and needs none)")


def check_output_dir(output: Path) -> None:
    """Refuse an output that is a file, or a non-empty folder that is not an earlier export, before any work."""
    output = Path(output)
    check_writable_folder(output, "--output", replaced_whole=True)
    if output.is_dir() and any(output.iterdir()) and not (output / EXPORT_CONFIG).is_file():
        raise PowerBertError(f"--output {output} is a non-empty folder that is not an export; choose a new folder")


def is_embedding_folder(model_dir: str | os.PathLike) -> bool:
    """A sentence-transformers folder (modules.json): a PoWER embedding model, or its export."""
    return (Path(model_dir) / "modules.json").is_file()


def load_for_export(model_dir: str | os.PathLike, plain: bool) -> tuple[nn.Module, list[int] | None]:
    """The PoWER model of a folder and its retention (or, with plain=True, the classifier it wraps, or any
    fine-tuned classifier, and None). A PoWER embedding model's plain model keeps every vector, as does a plain
    sentence-transformers model's."""
    is_power = (Path(model_dir) / CONFIG_NAME).is_file()
    if is_embedding_folder(model_dir):
        from ..embedding import PowerEmbeddingModel, load_encoder, load_sentence_transformer, normalizes, pooling_of

        if not is_power:
            if not plain:
                raise PowerBertError(f"{model_dir} is a sentence-transformers folder without {CONFIG_NAME}: export "
                                     "the PoWER embedding model that `powerbert embed` wrote, or this one with --plain")
            teacher = load_sentence_transformer(model_dir)
            encoder = load_encoder(model_dir)
            keep_all = PowerEmbeddingModel.keep_all(encoder, max_input_length(encoder.config))
            keep_all.power_config.metadata.update(pooling=pooling_of(teacher), normalize=normalizes(teacher))
            return keep_all.eval(), None
        power = PowerEmbeddingModel.from_pretrained(model_dir).eval()
        if plain:
            keep_all = PowerConfig.keep_all(power.num_layers, max_input_length(power.config))
            keep_all.metadata.update(power.power_config.metadata)
            return PowerEmbeddingModel(power.model, keep_all).eval(), None
        return power, power.power_config.retention
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


def export(model_dir: str | os.PathLike, output: str | os.PathLike, quantize: str | None = None,
           plain: bool = False, runtime: str = "onnxruntime",
           calibration: list[dict[str, np.ndarray]] | None = None, fuse: bool = True) -> dict:
    """Export a PoWER model folder for `runtime` (fp32, or int8 with `quantize="int8"`) into a self-contained folder.

    int8 is ONNX Runtime's dynamic quantization ("int8-w7": with 7-bit weights), or for OpenVINO NNCF's static
    quantization calibrated on `calibration` (one tokenized input per item, (1, length) int64 arrays). plain=True
    exports the wrapped classifier without elimination (or an embedding folder's encoder, a plain
    sentence-transformers model's included): the baseline to compare against; for ONNX Runtime (fuse=True) as ONNX
    Runtime's fused transformer graph, the fastest plain graph. model_dir may also be an fp32
    ONNX Runtime export: its graph is then quantized or converted to OpenVINO as it is, without tracing the model
    again.
    Returns what export_config.json records.
    """
    output = Path(output)
    check_export_options(runtime, quantize, bool(calibration))
    check_output_dir(output)
    source = _fp32_onnx_export(model_dir)
    if source is not None and runtime == "openvino" and "MultiHeadAttention" in source.get("fused_operators", {}):
        # OpenVINO reads ONNX Runtime's attention operator, but its `qk` output without the mask and bias
        if not Path(source["source"]).is_dir():
            raise PowerBertError(f"{model_dir} runs attention as ONNX Runtime's own operator, which OpenVINO does "
                                 f"not read alike, and its model folder {source['source']} is gone: export the "
                                 "PoWER model folder with --runtime openvino")
        logger.info("tracing %s again for OpenVINO (the ONNX Runtime graph's attention is ONNX Runtime's own)",
                    source["source"])
        model_dir, source = source["source"], None
    if source is not None:  # an fp32 ONNX export: quantize or convert its graph, no second trace
        if plain:
            raise PowerBertError(f"{model_dir} is an export already; --plain applies to model folders")
        if runtime == "onnxruntime" and not quantize:
            raise PowerBertError(f"{model_dir} is an fp32 ONNX Runtime export already; copy it, or ask for "
                                 "--quantize int8 or --runtime openvino")
        model, retention = None, source.get("retention")
        config = load_config(model_dir)
        power_config = PowerConfig.from_pretrained(model_dir) if retention is not None else None
    else:
        model, retention = load_for_export(model_dir, plain)
        config, power_config = model.config, (model.power_config if retention is not None else None)
    token_types = uses_token_types(config)
    embedding = is_embedding_folder(model_dir)
    precision = "int8" if quantize else "fp32"
    file_name = ONNX_FILES[precision] if runtime == "onnxruntime" else OPENVINO_FILE
    quantization = {"onnxruntime": "dynamic", "openvino": "nncf static"}[runtime] if quantize else None
    if quantize == "int8-w7":
        quantization += ", 7-bit weights"
    record = {
        "format": "onnx" if runtime == "onnxruntime" else "openvino", "runtime": runtime, "file_name": file_name,
        "precision": precision, "quantization": quantization,
        "calibration_samples": len(calibration) if calibration else None, "power": retention is not None,
        "retention": retention, "inputs": ["input_ids", "attention_mask", "token_type_ids"][: 3 if token_types else 2],
        "max_length": max_input_length(config), "source": str(model_dir), "torch": torch.__version__,
        "fused_operators": (source or {}).get("fused_operators", {}),
        "task": "sentence-embedding" if embedding else "text-classification",
    }

    tokenizer = _load_tokenizer(model_dir)

    def write(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        with tempfile.TemporaryDirectory(dir=tmp.parent) as scratch:
            graph = Path(scratch) / ONNX_FILES["fp32"]
            if source is not None:
                shutil.copyfile(Path(model_dir) / source["file_name"], graph)
            elif plain and fuse and runtime == "onnxruntime" and _fused(model_dir, graph, token_types, record,
                                                                       embedding):
                pass
            else:
                logger.info("exporting %s to ONNX", "the plain model" if plain else "the PoWER model")
                fused = runtime == "onnxruntime" and not plain  # the plain one's fusions: ONNX Runtime's optimizer
                record["fused_operators"] = export_onnx_file(model, graph, token_types, fused)
            if runtime == "openvino":
                logger.info("converting to OpenVINO IR")
                convert_to_openvino(graph, tmp / file_name, calibration)
            elif quantize:
                logger.info("quantizing to int8 (ONNX Runtime dynamic quantization)")
                quantize_onnx_int8(graph, tmp / file_name, reduce_range=quantize == "int8-w7")
                _check_int8(tokenizer, graph, tmp / file_name, record, quantize)
            else:
                os.replace(graph, tmp / file_name)
        config.save_pretrained(tmp)
        if power_config is not None:
            power_config.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if embedding:
            _copy_sentence_transformer_files(model_dir, tmp)
        write_json_atomic(tmp / EXPORT_CONFIG, record)

    write_directory_atomic(output, write)
    return record


def _check_int8(tokenizer, fp32_graph: Path, int8_graph: Path, record: dict, quantize: str) -> None:
    """Record how closely the int8 graph follows the fp32 one on a few sample texts; warn where it does not."""
    if tokenizer is None:
        return  # _load_tokenizer warned already
    try:
        feeds = sample_feeds(tokenizer, record["inputs"], record["max_length"])
    except Exception as err:  # tokenizers raise their own types (a test's toy vocabulary without [UNK]): no check
        logger.warning("the int8 graph was not compared with the fp32 graph: %s", first_line(err))
        return
    logger.info("comparing the int8 graph with the fp32 graph on %d sample texts", len(feeds))
    check = int8_agreement(fp32_graph, int8_graph, feeds, record["task"] == "sentence-embedding")
    record["int8_check"] = check
    if not check["agrees"]:
        logger.warning(disagreement_message(check, quantize))


def _fused(model_dir, graph: Path, token_types: bool, record: dict, embedding: bool) -> bool:
    """Write the plain model (an embedding model's encoder, with an embedding export's outputs) as ONNX Runtime's
    fused graph; False (and a warning) where the architecture's TorchScript export fails, so that the caller
    exports it unfused."""
    logger.info("exporting the plain model as ONNX Runtime's fused transformer graph")
    try:
        record["fused_operators"] = export_fused_plain_onnx(model_dir, graph, token_types, embedding)
    except PowerBertError as err:
        logger.warning("%s; exporting it without ONNX Runtime's fusions", err)
        return False
    return True


EXPORTED_EMBEDDING_MODULE = "powerbert.deploy.exported_embedding.ExportedPowerTransformer"


def _copy_sentence_transformer_files(model_dir: str | os.PathLike, target: Path) -> None:
    """The sentence-transformers files beside the graph, the first module now the exported one: the export
    folder loads with SentenceTransformer(folder, trust_remote_code=True) and encodes on its runtime."""
    source = Path(model_dir)
    modules = json.loads((source / "modules.json").read_text())
    modules[0]["type"] = EXPORTED_EMBEDDING_MODULE
    write_json_atomic(target / "modules.json", modules)
    for module in modules[1:]:
        if (source / module["path"]).is_dir():  # a module without settings (Normalize) may have no folder
            shutil.copytree(source / module["path"], target / module["path"])
    for name in ("sentence_bert_config.json", "config_sentence_transformers.json"):
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)


def _fp32_onnx_export(model_dir: str | os.PathLike) -> dict | None:
    """The export_config of an fp32 ONNX Runtime export folder (whose graph can be quantized or converted as it
    is), None for a model folder; one line for other exports."""
    if not (Path(model_dir) / EXPORT_CONFIG).is_file():
        return None
    record = read_export_config(model_dir)
    if record.get("runtime") != "onnxruntime" or record.get("precision") != "fp32":
        raise PowerBertError(f"{model_dir} is a {record.get('runtime')} {record.get('precision')} export; export "
                             "from the model folder, or from an fp32 ONNX Runtime export")
    return record


def _load_tokenizer(model_dir: str | os.PathLike):
    """The source folder's tokenizer (saved beside the graph, so the export folder serves on its own), or None
    and a warning where the folder has none."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError) as err:
        logger.warning("no tokenizer in %s (%s); the export folder will need one passed in", model_dir,
                       first_line(err))
        return None


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
