"""Dev metric of ONNX Runtime dynamic int8 when some matrix products stay fp32, on a GLUE task, against fp32.

Which products lose the most on a CPU without VNNI: the feed-forward block's second product (its input, GELU's
output, has the widest range), its first, the attention projections, or none (what `powerbert export --quantize
int8` writes), 7-bit weights, and the feed-forward block of one layer at a time (every layer has one product of
each feed-forward shape, in layer order; [CLS]-only layers have fewer attention products, so those do not count
layers). Run from the repository root after `powerbert export --model MODEL --output DIR`:
python docs/bench/probes/int8_exclusions.py DIR TASK
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from powerbert.deploy import load_exported
from powerbert.training.data import TaskData
from powerbert.training.stages import predict
from powerbert.training.tasks import get_task

folder, task = Path(sys.argv[1]), get_task(sys.argv[2])
data = TaskData.for_model(task, str(folder), glue_dir="../shared/glue")
labels = np.asarray(data.dev["labels"])
config = json.loads((folder / "export_config.json").read_text())
graph = onnx.load(str(folder / "model.onnx")).graph
shapes = {t.name: numpy_helper.to_array(t).shape for t in graph.initializer}
matmuls = [(n.name, next((shapes[i] for i in n.input if i in shapes), None)) for n in graph.node if n.op_type == "MatMul"]
hidden = max(s[0] for _, s in matmuls if s is not None and len(s) == 2 and s[0] == s[1])
groups = {  # by weight shape: (hidden, 4 hidden) feeds GELU, (4 hidden, hidden) reads it
    "none": [],
    "ffn-out": [n for n, s in matmuls if s and s[0] > hidden],
    "ffn-in": [n for n, s in matmuls if s and len(s) == 2 and s[1] > hidden],
    "ffn-both": [n for n, s in matmuls if s and max(s) > hidden],
    "attention": [n for n, s in matmuls if s == (hidden, hidden)],
}
for layer, pair in enumerate(zip(groups["ffn-in"], groups["ffn-out"])):
    groups[f"ffn of layer {layer + 1}"] = list(pair)
fp32 = predict(load_exported(folder), data, 32)
print(f"fp32: {data.metrics(fp32, labels)}")
trial = folder.parent / (folder.name + "-trial")
for name, exclude in [*groups.items(), ("none, 7-bit weights", None)]:
    shutil.rmtree(trial, ignore_errors=True)
    shutil.copytree(folder, trial)
    quantize_dynamic(str(folder / "model.onnx"), str(trial / "model_quantized.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, reduce_range=exclude is None, op_types_to_quantize=["MatMul"],
                     nodes_to_exclude=exclude or [])
    (trial / "model.onnx").unlink()
    (trial / "export_config.json").write_text(json.dumps({**config, "file_name": "model_quantized.onnx"}))
    for batch in (1, 32):
        logits = predict(load_exported(trial), data, batch)
        same = (logits.argmax(-1) == fp32.argmax(-1)).mean()
        print(f"int8 except {name} ({len(exclude or [])} products fp32), batch {batch}: {data.metrics(logits, labels)}, "
              f"same predictions as fp32 {100 * same:.1f} %")
