"""A/B of two source trees on PoWER's IMDB model, PyTorch fp32, batch 32, 128 test reviews; run alternately, e.g.
    git worktree add /tmp/oldtree <rev>; for i in 1 2 3 4 5; do python THIS /tmp/oldtree/src; python THIS src; done
"""
import csv, sys, time
sys.path.insert(0, sys.argv[1])
import torch
from transformers import AutoTokenizer
from powerbert.modeling import load_power_or_plain
d = "runs/imdb/power"
m = load_power_or_plain(d).eval(); tok = AutoTokenizer.from_pretrained(d)
csv.field_size_limit(10**9)
rows = list(csv.DictReader(open("../shared/imdb/test.tsv"), delimiter="\t", quoting=csv.QUOTE_NONE))[:128]
texts = sorted((r["sentence"] for r in rows), key=len)
batches = [tok(texts[i:i+32], truncation=True, max_length=512, padding=True, return_tensors="pt") for i in range(0, 128, 32)]
for b in batches: b.pop("token_type_ids", None)
with torch.inference_mode():
    m(**batches[0])
    start = time.perf_counter()
    for b in batches: m(**b)
    print(sys.argv[1], f"{time.perf_counter() - start:.3f}")
