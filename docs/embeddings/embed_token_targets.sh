#!/usr/bin/env bash
# Token targets: the STS-B training sentences (10,010), a search of 2 epochs at 0.5 of the FLOPs (paper-shaped
# budget), re-trained EPOCHS (default 2) with merged pooling, once on the pooled embedding alone and once with
# every kept vector also pulled towards the plain model's mean over the tokens it stands for (--token-targets);
# then quality against the plain model on STS-B dev. Both cores; resumable.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
P=.venv/bin/powerbert
EPOCHS=${EPOCHS:-2}
for variant in merged tokens; do
  D=runs/embed/stsb-$variant-e$EPOCHS
  mkdir -p $D
  [ $variant = tokens ] && { [ -d $D/search ] || cp -r runs/embed/stsb-merged-e$EPOCHS/search $D/search; }
  $P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
    --retrain-epochs $EPOCHS --target-flops 0.5 --pool-weights merged $([ $variant = tokens ] && echo --token-targets) \
    --output-dir $D > $D.log 2>&1 || { echo "embed $variant failed"; exit 1; }
  $P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
    --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
    --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate $variant failed"
done
echo ALL DONE
