"""torch.compile(dynamic=True) of the MRPC PoWER model at batch 1 against eager. Run from the repository root."""
import torch, time, numpy as np
from powerbert import PowerModel
from powerbert.training.data import TaskData
from powerbert.training.tasks import get_task
p = PowerModel.from_pretrained("runs/mrpc/power").eval()
m = p.model
data = TaskData.for_model(get_task("mrpc"), "runs/mrpc/power", glue_dir="../shared/glue", max_seq_length=128)
rows = [{k: torch.tensor([r[k]]) for k in ("input_ids", "attention_mask", "token_type_ids")} for r in data.dev.select(range(150))]
t = time.time()
cp = torch.compile(p, dynamic=True)
with torch.inference_mode():
    for r in rows[:20]: cp(**r)
print("compile+warm", time.time() - t)
def run(model):
    t = time.perf_counter()
    for r in rows: model(**r)
    return (time.perf_counter() - t) / len(rows) * 1000
with torch.inference_mode():
    for _ in range(2):
        print("plain", run(m), "power", run(p), "power compiled", run(cp))
