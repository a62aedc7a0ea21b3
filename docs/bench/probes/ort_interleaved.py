"""Two or more ONNX Runtime export folders timed in one process on MRPC dev at batch 1, batch by batch in turn (the
order alternating), 2 threads each without spinning worker threads so the sessions do not compete; 4 passes each.
    python docs/bench/probes/ort_interleaved.py EXPORT_DIR_A EXPORT_DIR_B
"""
import sys, time, numpy as np, pandas as pd, onnxruntime as ort, glob
from transformers import AutoTokenizer
paths = sys.argv[1:]
tok = AutoTokenizer.from_pretrained(paths[0])
df = pd.read_csv("../shared/glue/MRPC/dev.tsv", sep="\t", quoting=3)
encs = [tok(a, b, truncation=True, max_length=128, return_tensors="np") for a, b in zip(df.iloc[:, 3], df.iloc[:, 4])]
sess = []
for p in paths:
    so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = ort.InferenceSession(glob.glob(p + "/*.onnx")[0], so, providers=["CPUExecutionProvider"])
    sess.append((s, [i.name for i in s.get_inputs()]))
feeds = [[{n: e[n].astype(np.int64) for n in names} for e in encs] for _, names in sess]
tot = [[] for _ in paths]
for r in range(4):
    t = [0.0] * len(paths)
    for i in range(len(encs)):
        for k in ((0, 1) if (i + r) % 2 == 0 else (1, 0)):
            s = sess[k][0]; t0 = time.perf_counter(); s.run(None, feeds[k][i]); t[k] += time.perf_counter() - t0
    for k in range(len(paths)): tot[k].append(round(t[k], 3))
print(dict(zip(paths, tot)))
