"""SST-2 dev accuracy of the PoWER model in torch int8: all Linear layers, or Q/K kept in fp32. Run from the repository root."""
import torch, numpy as np, warnings
warnings.filterwarnings("ignore")
from powerbert import PowerModel
from powerbert.training.data import TaskData
from powerbert.training.tasks import get_task
from powerbert.training.stages import predict
data = TaskData.for_model(get_task("sst2"), "runs/sst2/power", glue_dir="../shared/glue", max_seq_length=64)
labels = np.asarray(data.dev["labels"])
for mode in ("all", "keep-qk-fp32", "keep-qk-fp32-scoring-layers"):
    p = PowerModel.from_pretrained("runs/sst2/power").eval()
    names = set()
    for j, layer in enumerate(p.encoder_layers):
        if mode == "keep-qk-fp32-scoring-layers" and p.power_config.retention[j] == 1: continue
        q, k, _ = p.adapter.qkv(layer)
        names |= {n for n, mod in p.named_modules() if mod is q or mod is k}
    spec = {n: torch.ao.quantization.default_dynamic_qconfig for n, mod in p.named_modules() if isinstance(mod, torch.nn.Linear) and (mode == "all" or n not in names)}
    torch.ao.quantization.quantize_dynamic(p, spec, dtype=torch.qint8, inplace=True)
    print(mode, data.metrics(predict(p, data, 32), labels))
