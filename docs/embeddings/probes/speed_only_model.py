"""A PoWER embedding folder for timing only: the plain MiniLM weights with a given retention and pooling weights.

Speed does not depend on what the weights learned, so the merge's cost can be timed on any machine without first
re-training: `python speed_only_model.py OUT 11,8,7,6,5,5 merged`, then `powerbert evaluate-embeddings --model OUT`.
"""

import sys

from powerbert.algorithm.retention import PowerConfig
from powerbert.embedding import PowerEmbeddingModel, load_encoder
from powerbert.pretrained import resolve_model
from transformers import AutoTokenizer

out, retention, pool_weights = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], sys.argv[3]
path = resolve_model("minilm")
config = PowerConfig(retention, metadata={"pool_weights": pool_weights, "pooling": "mean", "normalize": True,
                                          "max_seq_length": 256})
PowerEmbeddingModel(load_encoder(path), config).save_pretrained(out, tokenizer=AutoTokenizer.from_pretrained(path))
print(out)
