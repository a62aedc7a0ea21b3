#!/usr/bin/env bash
# Speed of the merged models of the AVX2 machine (targets 0.5, 0.7 and 0.85, embed_merged_targets.sh):
# SentenceTransformer.encode on the 2,910 STS-B dev sentences at batch 1 and 32, 3 rounds alternating with the
# plain model, 2 threads. Needs the CPU to itself.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=2
for D in stsb-merged-e2 stsb-merged-t07-e2 stsb-merged-t085-e2; do
  .venv/bin/powerbert evaluate-embeddings --model runs/embed/$D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
    --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
    --batch-sizes 1,32 --repeats 3 --output docs/embeddings/zen3/$D.eval-speed-torch.json > /dev/null
done
