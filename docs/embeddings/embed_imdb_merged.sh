#!/usr/bin/env bash
# Token merging on long texts: IMDB reviews at 512 tokens, count mode (merging's), the same sizes as the fraction-mode
# run of embed_v2.sh (600 reviews, 1 + 1 epochs), then quality on 1,000 test reviews against the plain model.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
D=runs/embed/imdb-merged-0.5
$P embed --train-file ../shared/imdb/train.tsv --text-columns sentence --max-train-samples 600 --max-seq-length 512 \
  --search-epochs 1 --retrain-epochs 1 --batch-size 16 --target-flops 0.5 --output-dir $D > $D.log 2>&1 || echo "embed failed"
$P evaluate-embeddings --model $D/power --teacher minilm --max-seq-length 512 --corpus-file ../shared/imdb/test.tsv \
  --text-columns sentence --max-samples 1000 --queries 100 --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate failed"
echo ALL DONE
