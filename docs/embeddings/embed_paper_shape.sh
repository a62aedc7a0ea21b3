#!/usr/bin/env bash
# MiniLM embeddings with the paper-shaped FLOP budget (--budget-shape paper) at the "kept 0.5" run's settings,
# then its quality against the plain model; resumable.
set -u
cd /work/main
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
D=runs/embed/stsb-kept-0.5-paper
$P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
  --retrain-epochs 2 --target-flops 0.5 --budget-shape paper --output-dir $D > $D.log 2>&1 || echo "embed failed"
$P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
  --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
  --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate failed"
echo "DONE $(date)"
