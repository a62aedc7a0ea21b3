#!/usr/bin/env bash
# Token merging: the paper-shaped search of embed_paper_shape.sh re-trained 2 epochs with each eliminated vector
# averaged into the kept ones it attended to (--pool-weights merged); then quality against the plain model.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
D=runs/embed/stsb-kept-0.5-paper-merged${VARIANT:-}
mkdir -p $D; [ -d $D/search ] || cp -r runs/embed/stsb-kept-0.5-paper/search $D/search
$P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
  --retrain-epochs ${EPOCHS:-2} --target-flops 0.5 --budget-shape paper --pool-weights merged --output-dir $D > $D.log 2>&1 || echo "embed failed"
$P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
  --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
  --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate failed"
echo ALL DONE
