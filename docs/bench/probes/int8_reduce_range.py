"""Dev accuracy of ONNX Runtime dynamic int8 with 8-bit and with 7-bit weights (`reduce_range`), on IMDB at 512.

On CPUs without VNNI (AVX2, AVX-512 without VNNI) ONNX Runtime's u8 x s8 kernels add products in pairs into
16 bits, which can saturate; 7-bit weights leave room. Run from the repository root after
`powerbert export --model runs/imdb-3k/power --output runs/probe-imdb-onnx` (and the same with --plain):
python docs/bench/probes/int8_reduce_range.py runs/probe-imdb-onnx [MAX_DEV]
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from powerbert.deploy import load_exported
from powerbert.deploy.onnx_export import quantize_onnx_int8
from powerbert.training.data import TaskData
from powerbert.training.stages import predict
from powerbert.training.user_data import DataOptions, load_user_task

folder = Path(sys.argv[1])
task = load_user_task(DataOptions(train_file="../shared/imdb/train.tsv", text_columns="sentence",
                                  validation_split_percentage=2))
data = TaskData.for_model(task, str(folder), max_seq_length=512)
labels = np.asarray(data.dev["labels"])
config = json.loads((folder / "export_config.json").read_text())
fp32 = predict(load_exported(folder), data, 32)
print(f"fp32: accuracy {100 * data.metrics(fp32, labels)['accuracy']:.2f}")
for reduce_range in (False, True):
    trial = folder.parent / (folder.name + "-trial")
    shutil.rmtree(trial, ignore_errors=True)
    shutil.copytree(folder, trial)
    quantize_onnx_int8(folder / "model.onnx", trial / "model_quantized.onnx", reduce_range=reduce_range)
    (trial / "model.onnx").unlink()
    (trial / "export_config.json").write_text(json.dumps({**config, "file_name": "model_quantized.onnx"}))
    logits = predict(load_exported(trial), data, 32)
    same = (logits.argmax(-1) == fp32.argmax(-1)).mean()
    print(f"int8, reduce_range={reduce_range}: accuracy {100 * data.metrics(logits, labels)['accuracy']:.2f}, "
          f"same predictions as fp32 {100 * same:.1f} %, max logit diff {np.abs(logits - fp32).max():.3f}")
