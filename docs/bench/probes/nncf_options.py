"""NNCF int8 settings for an exported PoWER (or plain) graph, calibrated on 300 MRPC training pairs (seed 0).

    python docs/bench/probes/nncf_options.py ONNX_EXPORT_DIR OUT_DIR {base,biascorr,noattn,nosq,sq05}
    python docs/bench/probes/ab_exports.py OUT_DIR      # F1 and seconds per pass on MRPC dev

base: the transformer preset; biascorr: full bias correction (fast_bias_correction=False, powerbert's setting);
noattn: attention products left in fp32; nosq / sq05: SmoothQuant off / alpha 0.5.
"""
import json, shutil, sys
from pathlib import Path

import nncf, numpy as np, openvino as ov, pandas as pd
from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, AdvancedSmoothQuantParameters
from transformers import AutoTokenizer

src, out, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
tok = AutoTokenizer.from_pretrained(src)
train = pd.read_csv("../shared/glue/MRPC/train.tsv", sep="\t", quoting=3).sample(300, random_state=0)
calibration = []
for a, b in zip(train.iloc[:, 3], train.iloc[:, 4]):
    e = tok(a, b, truncation=True, max_length=128, return_tensors="np")
    calibration.append({k: e[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")})
options = {
    "base": {},
    "biascorr": {"fast_bias_correction": False},
    "noattn": {"ignored_scope": nncf.IgnoredScope(patterns=["node_matmul.*"], validate=False)},
    "nosq": {"advanced_parameters": AdvancedQuantizationParameters(
        smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=-1))},
    "sq05": {"advanced_parameters": AdvancedQuantizationParameters(
        smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=0.5))},
}[mode]
model = nncf.quantize(ov.convert_model(f"{src}/model.onnx"), nncf.Dataset(calibration),
                      model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration), **options)
out.mkdir(exist_ok=True)
ov.save_model(model, str(out / "openvino_model.xml"), compress_to_fp16=False)
for f in Path(src).glob("*.json"):
    if f.name != "export_config.json":
        shutil.copy(f, out / f.name)
config = json.loads((Path(src) / "export_config.json").read_text())
config.update(runtime="openvino", format="openvino", file_name="openvino_model.xml", precision="int8")
(out / "export_config.json").write_text(json.dumps(config))
