"""Unlabeled training text for distillation beyond STS-B's 10,000 sentences: every distinct sentence of the GLUE
training files at hand (STS-B, MRPC, CoLA, RTE, and SST-2's phrases of 6 words or more), no dev or test text, one
column "text". Usage: python more_text_corpus.py GLUE_DIR OUT.tsv"""
import csv
import sys
from pathlib import Path

import pandas as pd

glue, out = Path(sys.argv[1]), Path(sys.argv[2])
read = dict(sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False, on_bad_lines="skip")
texts: list[str] = []
stsb = pd.read_csv(glue / "STS-B/train.tsv", **read)
texts += list(stsb["sentence1"]) + list(stsb["sentence2"])
mrpc = pd.read_csv(glue / "MRPC/train.tsv", encoding="utf-8-sig", **read)
texts += list(mrpc["#1 String"]) + list(mrpc["#2 String"])
texts += list(pd.read_csv(glue / "CoLA/train.tsv", header=None, **read)[3])
rte = pd.read_csv(glue / "RTE/train.tsv", **read)
texts += list(rte["sentence1"]) + list(rte["sentence2"])
texts += [t for t in pd.read_csv(glue / "SST-2/train.tsv", **read)["sentence"] if len(t.split()) >= 6]
texts = list(dict.fromkeys(" ".join(t.split()) for t in texts if t.strip()))
tmp = out.with_suffix(".tmp")
tmp.write_text("text\n" + "".join(t + "\n" for t in texts), encoding="utf-8")  # TSV without quoting, as GLUE's
tmp.rename(out)
print(f"{len(texts)} distinct texts -> {out}")
