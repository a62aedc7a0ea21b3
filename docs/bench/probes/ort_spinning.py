"""One ONNX Runtime session on MRPC dev at batch 1, 2 threads, with or without spinning worker threads; 3 timed
passes after one untimed. Run one process per setting, alternating:
    python docs/bench/probes/ort_spinning.py EXPORT_DIR 1    # spinning (ONNX Runtime's default)
    python docs/bench/probes/ort_spinning.py EXPORT_DIR 0
"""
import sys, time, numpy as np, pandas as pd, onnxruntime as ort, glob
from transformers import AutoTokenizer
path, spin = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(path)
df = pd.read_csv("../shared/glue/MRPC/dev.tsv", sep="\t", quoting=3)
encs = [tok(a, b, truncation=True, max_length=128, return_tensors="np") for a, b in zip(df.iloc[:, 3], df.iloc[:, 4])]
so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.add_session_config_entry("session.intra_op.allow_spinning", spin)
s = ort.InferenceSession(glob.glob(path + "/*.onnx")[0], so, providers=["CPUExecutionProvider"])
names = [i.name for i in s.get_inputs()]
feeds = [{n: e[n].astype(np.int64) for n in names} for e in encs]
ts = []
for r in range(4):
    t0 = time.perf_counter()
    for f in feeds: s.run(None, f)
    ts.append(time.perf_counter() - t0)
print(path, "spin", spin, [round(t, 3) for t in ts[1:]], "median", round(float(np.median(ts[1:])), 3))
