"""A search folder whose weights are the plain model's and whose configuration is another search's: re-training
from it tells what the search's own weight updates are worth (Soft-Extract trains the weights on scaled vectors).
python docs/embeddings/plain_start.py SEARCH_DIR OUT_DIR
"""
import sys

from transformers import AutoTokenizer

from powerbert import PowerConfig
from powerbert.embedding import PowerEmbeddingModel, load_encoder
from powerbert.pretrained import minilm_path

config = PowerConfig.from_pretrained(sys.argv[1])
PowerEmbeddingModel(load_encoder(minilm_path()), config).save_pretrained(sys.argv[2], AutoTokenizer.from_pretrained(sys.argv[1]))
print("wrote", sys.argv[2], config.retention)
