#!/usr/bin/env bash
# Speed of the IMDB merged embedding model against the plain one at 512 tokens: encode on 300 test reviews at
# batch 32, 3 rounds alternating the two models, 2 threads. Needs the CPU to itself.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=2
R=runs/embed/imdb-merged-0.5
.venv/bin/powerbert evaluate-embeddings --model $R/power --teacher minilm --max-seq-length 512 --corpus-file ../shared/imdb/test.tsv \
  --text-columns sentence --max-samples 300 --queries 50 --batch-sizes 32 --repeats 3 \
  --output docs/embeddings/imdb-merged-0.5.eval-speed-torch.json > /dev/null
