#!/usr/bin/env bash
# Token merging on long texts: IMDB reviews at 512 tokens, count mode (merging's), REVIEWS training reviews (600 by
# default: the sizes of the fraction-mode run of embed_v2.sh; 5 % of them held out), 1 + 1 epochs, then quality on
# 1,000 test reviews against the plain model. Summary and report into docs/embeddings/.
set -u
REVIEWS=${REVIEWS:-600} SHAPE=${SHAPE:-paper}  # SHAPE: the FLOP budget's --budget-shape
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
NAME=imdb-merged-0.5$([ $REVIEWS = 600 ] || echo -r$REVIEWS)$([ $SHAPE = paper ] || echo -$SHAPE)
D=runs/embed/$NAME
mkdir -p runs/embed
$P embed --train-file ../shared/imdb/train.tsv --text-columns sentence --max-train-samples $REVIEWS --max-seq-length 512 \
  --search-epochs 1 --retrain-epochs 1 --batch-size 16 --target-flops 0.5 --budget-shape $SHAPE --output-dir $D > $D.log 2>&1 || echo "embed failed"
$P evaluate-embeddings --model $D/power --teacher minilm --max-seq-length 512 --corpus-file ../shared/imdb/test.tsv \
  --text-columns sentence --max-samples 1000 --queries 100 --no-timing --output docs/embeddings/$NAME.eval-quality.json \
  > /dev/null || echo "evaluate failed"
cp $D/summary.json docs/embeddings/$NAME.summary.json
echo ALL DONE
