#!/usr/bin/env bash
# The merge's cost before and after computing similarities to the kept vectors only: `encode` speed of a
# speed-only MiniLM model ([11, 8, 7, 6, 5, 5], merged; the plain weights, see probes/speed_only_model.py)
# against the plain model, on the STS-B dev sentences, at batch 1 and 32, 3 rounds alternating the two models.
# OLD_SRC: a checkout of the code before the change (git worktree add /tmp/old 2e58a48). CPU to itself.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=2
M=runs/embed/speed-merged
[ -d $M ] || .venv/bin/python docs/embeddings/probes/speed_only_model.py $M 11,8,7,6,5,5 merged
run() {  # $1: label, $2: PYTHONPATH
  PYTHONPATH=$2 .venv/bin/powerbert evaluate-embeddings --model $M --teacher minilm \
    --sts-file ../shared/glue/STS-B/dev.tsv --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 \
    --max-samples 3000 --queries 300 --batch-sizes 1,32 --repeats 3 \
    --output docs/embeddings/merge-speed-$1.eval-speed-torch.json > /dev/null
}
run new ""
run old "${OLD_SRC:-/tmp/old}/src"
echo DONE
