#!/usr/bin/env bash
# Token merging: a search of embed_paper_shape.sh (SEARCH=stsb-kept-0.5-paper, the paper-shaped budget) or of
# embed_stsb.sh (SEARCH=stsb-kept-0.5 SHAPE=flops) re-trained EPOCHS epochs (default 2) with each eliminated vector
# averaged into the kept vector most like it (--pool-weights merged); then quality against the plain model.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
SEARCH=${SEARCH:-stsb-kept-0.5-paper}
D=runs/embed/$SEARCH-merged${VARIANT:-}
mkdir -p $D; [ -d $D/search ] || cp -r runs/embed/$SEARCH/search $D/search
$P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
  --retrain-epochs ${EPOCHS:-2} --target-flops 0.5 --budget-shape ${SHAPE:-paper} --pool-weights merged --output-dir $D > $D.log 2>&1 || echo "embed failed"
$P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
  --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
  --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate failed"
echo ALL DONE
