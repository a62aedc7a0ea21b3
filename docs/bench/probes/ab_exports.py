"""A/B of export folders on MRPC dev: seconds per pass at batch 1 and 32 (median of 3) and F1, one folder per process.

    python docs/bench/probes/ab_exports.py FOLDER [THREADS]
Run the folders alternately, a process each, with nothing else on the CPU.
"""
import os, sys, time, numpy as np, pandas as pd, torch
from sklearn.metrics import f1_score
from transformers import AutoTokenizer
from powerbert.deploy.loader import load_exported

folder, threads = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(threads)
model = load_exported(folder, threads=threads)
tok = AutoTokenizer.from_pretrained(folder)
dev = pd.read_csv("../shared/glue/MRPC/dev.tsv", sep="\t", quoting=3)
a, b, y = dev.iloc[:, 3].tolist(), dev.iloc[:, 4].tolist(), dev.iloc[:, 0].to_numpy()
result = {}
for bs in [int(size) for size in os.environ.get("BATCH_SIZES", "1,32").split(",")]:
    batches = [tok(a[i:i + bs], b[i:i + bs], padding=True, truncation=True, max_length=128, return_tensors="pt")
               for i in range(0, len(a), bs)]
    times, preds = [], None
    for _ in range(4):
        t = time.perf_counter()
        out = [model(**enc).logits for enc in batches]
        times.append(time.perf_counter() - t)
        preds = torch.cat(out).argmax(-1).numpy()
    result[bs] = (round(float(np.median(times[1:])), 3), round(100 * f1_score(y, preds), 2))
print(folder, {f"b{k}": v for k, v in result.items()})
