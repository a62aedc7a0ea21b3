"""The trivial way to a cheaper embedding of long texts, as a yardstick for PoWER's: the plain model with its
inputs truncated to fewer tokens, against the same model at the full length. Recall@10 of the truncated model's
nearest neighbours against the full model's (the evaluate-embeddings measure: the same corpus sample, queries and
seed), its mean cosine to the full embeddings, and its FLOP fraction on the corpus's real lengths.

`python docs/embeddings/probes/truncation_baseline.py OUT.json [128,192,256] [minilm] [512]`
(IMDB test reviews, 1,000 of them, 100 queries: the sample of embed_imdb_merged.sh's evaluation).
"""

import json
import sys

from powerbert.algorithm.retention import encoder_flops
from powerbert.embedding import load_sentence_transformer
from powerbert.files import write_json_atomic
from powerbert.pretrained import resolve_model
from powerbert.tools.embeddings import neighbour_agreement
from powerbert.training.distill import read_texts

out = sys.argv[1]
cuts = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "128,192,256").split(",")]
name = sys.argv[3] if len(sys.argv) > 3 else "minilm"
full = int(sys.argv[4]) if len(sys.argv) > 4 else 512
corpus = read_texts("../shared/imdb/test.tsv", "sentence", 1000, 42, split="corpus")
plain, truncated = (load_sentence_transformer(resolve_model(name)) for _ in range(2))
plain.max_seq_length = full
config = plain[0].auto_model.config
lengths = [len(ids) for ids in plain.tokenizer(corpus, truncation=True, max_length=full)["input_ids"]]


class Encoded:
    """The full-length model's embeddings, encoded once, where neighbour_agreement asks the model to encode."""

    def __init__(self, embeddings) -> None:
        self.embeddings = embeddings

    def encode(self, texts, **options):
        return self.embeddings


full_model = Encoded(plain.encode(corpus, batch_size=32, normalize_embeddings=True, show_progress_bar=True))


def flops(n: int) -> int:
    return encoder_flops(n, config.hidden_size, config.intermediate_size, config.num_hidden_layers)


report = {"model": name, "full_length": full, "texts": len(corpus), "mean_tokens": sum(lengths) / len(lengths),
          "truncations": []}
for cut in cuts:
    truncated.max_seq_length = cut
    row = {"max_seq_length": cut,
           "flop_fraction": sum(flops(min(n, cut)) for n in lengths) / sum(flops(n) for n in lengths)}
    row.update(neighbour_agreement(full_model, truncated, corpus, 100, 42))
    report["truncations"].append(row)
    print(json.dumps(row), flush=True)
write_json_atomic(out, report)
