"""CPU per input of tokenizing and padding MRPC dev pairs in batches of 6, as the server does it (one tokenizer call
per input, then `tokenizer.pad`) against one tokenizer call per batch and numpy padding; CPU time, so it can run
beside other work. Needs the served export: python docs/serve/probes/tokenize_batch.py runs/serve/power-int8
"""
import csv
import sys
import time

import numpy as np
from transformers import AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
rows = list(csv.reader(open("../shared/glue/MRPC/dev.tsv"), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
pairs = [(row[3], row[4]) for row in rows]


def one_call_per_input(batch):
    return tokenizer.pad([tokenizer(*pair, verbose=False) for pair in batch], return_tensors="pt")


def one_call_per_batch(batch):
    tokens = tokenizer([a for a, _ in batch], [b for _, b in batch], verbose=False)
    width = max(len(ids) for ids in tokens["input_ids"])
    out = {}
    for name in tokens:
        array = np.zeros((len(batch), width), dtype=np.int64)
        for k, values in enumerate(tokens[name]):
            array[k, : len(values)] = values
        out[name] = array
    return out


for way in (one_call_per_input, one_call_per_batch) * 2:
    start = time.process_time()
    for i in range(0, 3000, 6):
        way([pairs[(i + j) % len(pairs)] for j in range(6)])
    print(f"{way.__name__}: {(time.process_time() - start) / 3:.3f} ms of CPU per input")
