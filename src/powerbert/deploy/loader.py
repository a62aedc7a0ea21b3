"""`load_exported`: the one loader that picks ONNX Runtime or OpenVINO from what an export folder holds.

It sits above the runtime classes (which import only their base class), so nothing in deploy/ imports in a circle.
"""

import os
from pathlib import Path

from ..errors import PowerBertError
from .exported_model import ExportedModelForSequenceClassification
from .exporter import read_export_config
from .openvino_model import OVModelForSequenceClassification
from .ort_model import ORTModelForSequenceClassification


def load_exported(model_dir: str | os.PathLike, dtype: str = "fp32",
                  threads: int | None = None) -> ExportedModelForSequenceClassification:
    """The runtime class an export folder was made for (ONNX Runtime or OpenVINO), opened for inference.

    dtype="bf16" asks OpenVINO for bf16 inference (a run-time hint, not a file); ONNX Runtime runs the precision
    the folder was exported at. threads: the runtime's compute threads (default: $OMP_NUM_THREADS where set,
    else the runtime's own choice, every core).
    """
    runtime = read_export_config(model_dir).get("runtime")
    if runtime == "openvino":
        return OVModelForSequenceClassification.from_pretrained(model_dir, dtype=dtype, threads=threads)
    if runtime == "onnxruntime":
        if dtype != "fp32":
            raise PowerBertError(f"{model_dir} is an ONNX Runtime export: it runs at the precision it was exported "
                                 f"at; --dtype {dtype} applies to OpenVINO exports and PyTorch models")
        return ORTModelForSequenceClassification.from_pretrained(model_dir, threads=threads)
    raise PowerBertError(f"{model_dir}: unknown runtime {runtime!r} in its export_config.json; export it again")


def load_for_inference(model_dir: str | os.PathLike, dtype: str = "fp32", threads: int | None = None):
    """Whatever a folder holds, ready to serve: an export on its runtime, a PoWER model, or a plain classifier
    (wrapped to keep every token: the same logits, and the same input checks). threads: an export's runtime
    threads (PyTorch's are the process's, `torch.set_num_threads`)."""
    from ..modeling import load_power_or_plain
    from .exporter import EXPORT_CONFIG
    from .torch_precision import with_precision

    if (Path(model_dir) / EXPORT_CONFIG).is_file():
        return load_exported(model_dir, dtype, threads)
    model = load_power_or_plain(model_dir).eval()
    return model if dtype == "fp32" else with_precision(model, dtype)
