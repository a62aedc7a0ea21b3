"""torch.compile(dynamic=True) of the plain and the MRPC PoWER model at batch 1 against eager (200 dev inputs, 3 rounds,
ms per input). With --freezing, inductor's freezing pass (which packs fp32 linears for oneDNN) is on, and eager models
with powerbert.deploy.use_onednn_linears are timed beside them.
Run from the repository root: OMP_NUM_THREADS=2 python docs/bench/probes/compile_batch1.py [--freezing]"""
import sys, time, torch
import torch._inductor.config
from powerbert import PowerModel
from powerbert.deploy import use_onednn_linears
from powerbert.training.data import TaskData
from powerbert.training.tasks import get_task
freezing = "--freezing" in sys.argv
torch._inductor.config.freezing = freezing
p = PowerModel.from_pretrained("runs/mrpc/power").eval(); m = p.model
data = TaskData.for_model(get_task("mrpc"), "runs/mrpc/power", glue_dir="../shared/glue", max_seq_length=128)
rows = [{k: torch.tensor([r[k]]) for k in ("input_ids", "attention_mask", "token_type_ids")} for r in data.dev.select(range(200))]
def run(model):
    t = time.perf_counter()
    for r in rows: model(**r)
    return (time.perf_counter() - t) / len(rows) * 1000
with torch.inference_mode():
    t = time.time(); cp = torch.compile(p, dynamic=True)
    for r in rows[:30]: cp(**r)
    print("power compile+warm s", round(time.time() - t))
    t = time.time(); cm = torch.compile(m, dynamic=True)
    for r in rows[:30]: cm(**r)
    print("plain compile+warm s", round(time.time() - t))
    models = [("plain", m), ("power", p)]
    if freezing:
        p2 = use_onednn_linears(PowerModel.from_pretrained("runs/mrpc/power"))
        models += [("plain_onednn", p2.model), ("power_onednn", p2)]
    models += [("plain_c", cm), ("power_c", cp)]
    for _ in range(3):
        print({k: round(run(v), 2) for k, v in models})
