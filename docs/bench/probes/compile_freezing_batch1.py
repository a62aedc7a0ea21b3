"""torch.compile(dynamic=True) with inductor freezing (which packs fp32 linears for oneDNN) against eager, with and without
use_onednn_linears, plain and the MRPC PoWER model at batch 1 (200 dev inputs, 3 rounds, ms per input).
Run from the repository root: OMP_NUM_THREADS=2 python docs/bench/probes/compile_freezing_batch1.py"""
import torch, time, numpy as np, sys
import torch._inductor.config as ic
ic.freezing = True
from powerbert import PowerModel
from powerbert.deploy import use_onednn_linears
from powerbert.training.data import TaskData
from powerbert.training.tasks import get_task
p = PowerModel.from_pretrained("runs/mrpc/power").eval(); m = p.model
p2 = use_onednn_linears(PowerModel.from_pretrained("runs/mrpc/power")); m2 = p2.model
data = TaskData.for_model(get_task("mrpc"), "runs/mrpc/power", glue_dir="../shared/glue", max_seq_length=128)
rows = [{k: torch.tensor([r[k]]) for k in ("input_ids", "attention_mask", "token_type_ids")} for r in data.dev.select(range(200))]
def run(model):
    t = time.perf_counter()
    for r in rows: model(**r)
    return (time.perf_counter() - t) / len(rows) * 1000
with torch.inference_mode():
    t = time.time(); cp = torch.compile(p, dynamic=True)
    for r in rows[:30]: cp(**r)
    print("power compile+warm s", round(time.time() - t), flush=True)
    t = time.time(); cm = torch.compile(m, dynamic=True)
    for r in rows[:30]: cm(**r)
    print("plain compile+warm s", round(time.time() - t), flush=True)
    for _ in range(3):
        print({k: round(run(v), 2) for k, v in (("plain", m), ("power", p), ("plain_onednn", m2), ("power_onednn", p2), ("plain_c", cm), ("power_c", cp))}, flush=True)
