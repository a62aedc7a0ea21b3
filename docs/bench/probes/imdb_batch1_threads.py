"""ONNX Runtime export folders timed in one process on the first 64 IMDB test reviews (512 tokens) at batch 1, review
by review in turn (the order alternating), 3 rounds, at THREADS intra-op threads without spinning worker threads
(so that the idle sessions do not compete with the running one); the seconds per round, then their median.
    python docs/bench/probes/imdb_batch1_threads.py THREADS EXPORT_DIR [EXPORT_DIR ...]
Other texts: DATA=FILE.tsv (a "sentence" column) N=COUNT, e.g. DATA=../shared/glue/SST-2/dev.tsv N=400.
Folders: `powerbert export --model M --output D` then `powerbert export --model D --output D-int8 --quantize int8`
(`--plain` for the plain model's fused graph); a search folder exports too (speed depends on the configuration only).
"""
import csv
import glob
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from transformers import AutoTokenizer

threads, paths = int(sys.argv[1]), sys.argv[2:]
tok = AutoTokenizer.from_pretrained(paths[0])
data, count = os.environ.get("DATA", "../shared/imdb/test.tsv"), int(os.environ.get("N", 64))
quoting = csv.QUOTE_NONE if "glue" in data else csv.QUOTE_MINIMAL  # GLUE's files quote nothing; IMDB as before
rows = list(csv.DictReader(open(data), delimiter="\t", quoting=quoting))[:count]
encs = [tok(r["sentence"], truncation=True, max_length=512, return_tensors="np") for r in rows]
sessions = []
for p in paths:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = ort.InferenceSession(glob.glob(p + "/*.onnx")[0], so, providers=["CPUExecutionProvider"])
    sessions.append((s, [{i.name: e[i.name].astype(np.int64) for i in s.get_inputs()} for e in encs]))
for s, feeds in sessions:
    s.run(None, feeds[0])
totals = [[] for _ in paths]
for r in range(3):
    spent = [0.0] * len(paths)
    for i in range(len(encs)):
        order = list(range(len(paths)))[:: -1 if (i + r) % 2 else 1]
        for k in order:
            s, feeds = sessions[k]
            t0 = time.perf_counter()
            s.run(None, feeds[i])
            spent[k] += time.perf_counter() - t0
    for k in range(len(paths)):
        totals[k].append(round(spent[k], 3))
for p, t in zip(paths, totals):
    print(p, t, "median", sorted(t)[1])
