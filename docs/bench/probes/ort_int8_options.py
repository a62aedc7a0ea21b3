"""MRPC dev F1 of the PoWER ONNX graph under ONNX Runtime int8 quantizer options, at batch 1 and 32.

"per-channel, MatMul only" is what `powerbert.deploy.onnx_export.quantize_onnx_int8` ships; "defaults" is what
it shipped before.

Run from the repository root after `powerbert export --model runs/mrpc/power --output runs/probe-ort`:
python docs/bench/probes/ort_int8_options.py runs/probe-ort
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from onnxruntime.quantization import QuantType, quantize_dynamic

from powerbert.deploy import load_exported
from powerbert.training.data import TaskData
from powerbert.training.stages import predict
from powerbert.training.tasks import get_task

folder = Path(sys.argv[1])
data = TaskData.for_model(get_task("mrpc"), str(folder), glue_dir="../shared/glue")
labels = np.asarray(data.dev["labels"])
config = json.loads((folder / "export_config.json").read_text())
options = {
    "dynamic, ORT defaults": {},
    "dynamic, per-channel": {"per_channel": True},
    "dynamic, MatMul only": {"op_types_to_quantize": ["MatMul"]},
    "dynamic, per-channel, MatMul only": {"per_channel": True, "op_types_to_quantize": ["MatMul"]},
    "dynamic, per-channel, MatMul with weights only": {"per_channel": True, "op_types_to_quantize": ["MatMul"],
                                                       "extra_options": {"MatMulConstBOnly": True}},
}
if len(sys.argv) > 2:  # only the options named
    options = {k: v for k, v in options.items() if k in sys.argv[2:]}
for name, extra in options.items():
    trial = folder.parent / (folder.name + "-trial")
    shutil.rmtree(trial, ignore_errors=True)
    shutil.copytree(folder, trial)
    quantize_dynamic(str(folder / "model.onnx"), str(trial / "model_quantized.onnx"), weight_type=QuantType.QInt8, **extra)
    (trial / "model.onnx").unlink()
    (trial / "export_config.json").write_text(json.dumps({**config, "file_name": "model_quantized.onnx"}))
    model = load_exported(trial)
    scores = [data.metrics(predict(model, data, b), labels)["f1"] for b in (1, 32)]
    print(f"{name}: F1 batch 1 {100 * scores[0]:.2f}, batch 32 {100 * scores[1]:.2f}")
