#!/usr/bin/env bash
# Does longer re-training close the gap? The "kept 0.5" run's search, re-trained 6 epochs instead of 2; then its
# quality against the plain model; resumable.
set -u
cd /work/main
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
D=runs/embed/stsb-kept-0.5-retrain6
mkdir -p $D; [ -d $D/search ] || cp -r runs/embed/stsb-kept-0.5/search $D/search
$P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
  --retrain-epochs 6 --target-flops 0.5 --output-dir $D > $D.log 2>&1 || echo "embed failed"
$P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
  --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
  --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate failed"
echo "DONE $(date)"
