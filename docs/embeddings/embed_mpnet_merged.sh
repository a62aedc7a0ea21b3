#!/usr/bin/env bash
# Token merging on MPNet (all-mpnet-base-v2): count mode, the same sizes as the fraction-mode run of embed_v2.sh
# (3,000 STS-B sentences, 1 + 1 epochs, batch 16), then quality against the plain model.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
SHAPE=${SHAPE:-paper}  # the FLOP budget's --budget-shape
D=runs/embed/stsb-mpnet-merged-0.5$([ $SHAPE = paper ] || echo -$SHAPE)
$P embed --model mpnet --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --max-train-samples 3000 \
  --search-epochs 1 --retrain-epochs 1 --batch-size 16 --target-flops 0.5 --budget-shape $SHAPE --output-dir $D > $D.log 2>&1 || echo "embed failed"
$P evaluate-embeddings --model $D/power --teacher mpnet --sts-file ../shared/glue/STS-B/dev.tsv \
  --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
  --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate failed"
echo ALL DONE
