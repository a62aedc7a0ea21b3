"""Batch-1 A/B of two powerbert checkouts: plain and PoWER PyTorch fp32 over the MRPC dev set, 3 passes, median.

Run it once per checkout, alternating, e.g.
    PYTHONPATH=/tmp/old/src python docs/bench/probes/ab_batch1.py before; python docs/bench/probes/ab_batch1.py after
(it reads runs/mrpc/power and ../shared/glue; imports follow either package layout).
"""
import torch, time, sys, numpy as np, powerbert
from powerbert import PowerModel
try:
    from powerbert.training.data import TaskData; from powerbert.training.tasks import get_task
except ImportError:
    from powerbert.data import TaskData; from powerbert.tasks import get_task
p = PowerModel.from_pretrained("runs/mrpc/power").eval(); m = p.model
data = TaskData.for_model(get_task("mrpc"), "runs/mrpc/power", glue_dir="../shared/glue", max_seq_length=128)
rows = [{k: torch.tensor([r[k]]) for k in ("input_ids", "attention_mask", "token_type_ids")} for r in data.dev]
def run(model):
    t = time.perf_counter()
    for r in rows: model(**r)
    return time.perf_counter() - t
with torch.inference_mode():
    for r in rows[:10]: m(**r); p(**r)
    res = {"plain": [], "power": []}
    for _ in range(3):
        res["plain"].append(run(m)); res["power"].append(run(p))
print(sys.argv[1], {k: round(np.median(v), 3) for k, v in res.items()}, "speedup", round(np.median(res["plain"]) / np.median(res["power"]), 3))
