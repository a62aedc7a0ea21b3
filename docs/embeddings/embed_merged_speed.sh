#!/usr/bin/env bash
# Speed of the merged embedding model against the plain one: SentenceTransformer.encode on the STS-B dev
# sentences at batch 1 and 32, 3 rounds alternating the two models, 2 threads. Needs the CPU to itself.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=2
D=runs/embed/stsb-kept-0.5-paper-merged
.venv/bin/powerbert evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
  --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
  --batch-sizes 1,32 --repeats 3 --output docs/embeddings/stsb-kept-0.5-paper-merged.eval-speed-torch.json > /dev/null
