"""One input of 48 random tokens through the fused plain graph and a PoWER graph, and the plain graph at the
widths each PoWER layer works at, all in one process taking turns (15 rounds of 40 runs, medians): what the
plain graph's own cost per layer adds up to at PoWER's widths, a floor for the PoWER graph at batch 1.
    python docs/bench/probes/per_width_floor.py PLAIN_EXPORT/model_quantized.onnx POWER_EXPORT/model_quantized.onnx
The widths (46, 30, 18, 2, 1, 1) are MRPC's [44, 24, 13, 1, 1, 1] on 48 tokens, averaging each layer's attention
and feed-forward widths.
"""
import sys
import time

import numpy as np
import onnxruntime as ort

WIDTHS = (46, 30, 18, 2, 1, 1)


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


plain, power = session(sys.argv[1]), session(sys.argv[2])
rng = np.random.default_rng(0)


def feed(width):
    ids = rng.integers(1000, 20000, (1, width))
    ids[0, 0], ids[0, -1] = 101, 102
    return {"input_ids": ids, "attention_mask": np.ones((1, width), np.int64),
            "token_type_ids": np.zeros((1, width), np.int64)}


cases = [("plain", plain, w) for w in sorted(set(WIDTHS) | {48})] + [("power", power, 48)]
feeds = {w: feed(w) for _, _, w in cases}
times = {(name, w): [] for name, _, w in cases}
for _, s, _ in cases:
    for _ in range(20):
        s.run(None, feeds[48])
for _ in range(15):
    for name, s, w in cases:
        start = time.perf_counter()
        for _ in range(40):
            s.run(None, feeds[w])
        times[(name, w)].append((time.perf_counter() - start) / 40 * 1000)
median = {k: float(np.median(v)) for k, v in times.items()}
for (name, w), ms in median.items():
    print(f"{name} at {w} tokens: {ms:.3f} ms")
floor = sum(median[("plain", w)] for w in WIDTHS) / len(WIDTHS)
print(f"plain per-layer cost at PoWER's widths: {floor:.3f} ms ({median[('plain', 48)] / floor:.2f}x under plain at 48); "
      f"PoWER {median[('power', 48)]:.3f} ms ({median[('plain', 48)] / median[('power', 48)]:.2f}x)")
