"""Several ONNX Runtime graphs of one model in one process, passes over MRPC dev at batch 1 taken in turn, so that
each round compares them in the same spell of a noisy shared machine; the first graph is the reference:
    python docs/bench/probes/ort_paired.py 16 PLAIN_EXPORT/model_quantized.onnx POWER_EXPORT/model_quantized.onnx ...

Prints each graph's largest logit difference to the first, its median pass, and the median over rounds of the
first graph's pass divided by its own (the paired ratio). The tokenizer is read from the first graph's folder.
"""
import csv
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from transformers import AutoTokenizer

rounds, paths = int(sys.argv[1]), sys.argv[2:]
tokenizer = AutoTokenizer.from_pretrained(Path(paths[0]).parent)
rows = list(csv.reader(open("../shared/glue/MRPC/dev.tsv"), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
feeds = [{k: v.astype(np.int64) for k, v in tokenizer(r[3], r[4], return_tensors="np").items()} for r in rows]
sessions = []
for path in paths:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    sessions.append(ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]))
logits = [np.concatenate([s.run(None, f)[0] for f in feeds]) for s in sessions]  # also the untimed pass
times = {path: [] for path in paths}
for _ in range(rounds):
    for path, session in zip(paths, sessions):
        start = time.perf_counter()
        for feed in feeds:
            session.run(None, feed)
        times[path].append(time.perf_counter() - start)
reference = np.array(times[paths[0]])
for path, out in zip(paths, logits):
    print(f"{path}: max |logit - first's| {np.abs(out - logits[0]).max():.2e}, median pass {np.median(times[path]):.3f} s, "
          f"paired ratio first / this {np.median(reference / np.array(times[path])):.3f}")
