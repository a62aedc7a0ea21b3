"""Mean cosine between the embeddings of exported (or other sentence-transformers) folders and the plain PyTorch
model's, on the first 40 STS-B dev sentences: a quick check that an export, above all an int8 one, still embeds
like the model. Usage: python docs/embeddings/probes/export_cosine.py mpnet FOLDER [FOLDER ...]"""

import csv
import sys

from sentence_transformers import SentenceTransformer

from powerbert.pretrained import resolve_model

rows = list(csv.reader(open("../shared/glue/STS-B/dev.tsv"), delimiter="\t", quoting=csv.QUOTE_NONE))[1:41]
texts = [r[7] for r in rows]
reference = SentenceTransformer(resolve_model(sys.argv[1]), device="cpu").encode(texts, normalize_embeddings=True)
for folder in sys.argv[2:]:
    model = SentenceTransformer(folder, device="cpu", trust_remote_code=True)
    embeddings = model.encode(texts, normalize_embeddings=True)
    print(f"{folder}: mean cosine to the plain PyTorch model {float((embeddings * reference).sum(-1).mean()):.4f}")
