#!/usr/bin/env bash
# Carried pooling: the "kept 0.5" search (FLOP-charged shape) and the paper-shaped search, each re-trained with
# every eliminated vector carried to the mean as it was when removed (2 epochs; the paper-shaped one also 6);
# then quality against the plain model.
set -u
cd /work/main
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
for run in "stsb-kept-0.5 flops 2 carried" "stsb-kept-0.5-paper paper 2 carried" \
           "stsb-kept-0.5-paper paper 6 carried-retrain6"; do
  set -- $run
  D=runs/embed/$1-$4
  mkdir -p $D; [ -d $D/search ] || cp -r runs/embed/$1/search $D/search
  $P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
    --retrain-epochs $3 --target-flops 0.5 --budget-shape $2 --pool-weights carried --output-dir $D > $D.log 2>&1 || echo "embed failed"
  $P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
    --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
    --no-timing --output $D.eval-quality.json > /dev/null || echo "evaluate failed"
  echo "$run DONE $(date)"
done
echo ALL DONE
