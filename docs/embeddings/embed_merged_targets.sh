#!/usr/bin/env bash
# Merged pooling at several FLOP targets on the STS-B training sentences (search 2 epochs, re-training 2, the
# paper-shaped budget), then quality against the plain model on STS-B dev; and the 0.5 search re-trained from the
# plain model's weights instead of the search's (plain_start.py). The figures in results.md ran 0.5 on both cores,
# the others on one thread beside another job (THREADS). Resumable: a finished stage is skipped.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${THREADS:-1}
P=.venv/bin/powerbert
run() {  # folder, then embed's options
  D=runs/embed/$1; shift
  $P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
    --retrain-epochs 2 --pool-weights merged "$@" --output-dir $D > $D.log 2>&1 || { echo "embed $D failed"; return 1; }
  $P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
    --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
    --no-timing --output $D.eval-quality.json > /dev/null
}
for target in ${TARGETS:-0.5 0.7 0.85}; do
  name=stsb-merged-t$(echo $target | tr -d .)-e2; [ $target = 0.5 ] && name=stsb-merged-e2
  run $name --target-flops $target || exit 1
done
[ -d runs/embed/stsb-plainstart-e2/search ] || .venv/bin/python docs/embeddings/plain_start.py \
  runs/embed/stsb-merged-e2/search runs/embed/stsb-plainstart-e2/search
run stsb-plainstart-e2 --target-flops 0.5
echo ALL DONE
