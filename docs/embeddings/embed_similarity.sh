#!/usr/bin/env bash
# Token merging with near-duplicates eliminated first (--scoring similarity, ToMe's bipartite matching) instead of
# the attention they receive: the Zen 3 merged run (embed_merged_targets.sh, target 0.5) otherwise unchanged.
# The option was taken out again (no gain); run this at commit 817b709.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=2
P=.venv/bin/powerbert
run() {
  D=runs/embed/$1; shift
  $P embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 \
    --retrain-epochs 2 --pool-weights merged "$@" --output-dir $D > $D.log 2>&1 || { echo "embed $D failed"; return 1; }
  $P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
    --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
    --no-timing --output $D.eval-quality.json > /dev/null
}
run stsb-similarity-e2 --target-flops 0.5 --budget-shape paper --scoring similarity
echo DONE
