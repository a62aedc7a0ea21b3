#!/usr/bin/env bash
# Does more unlabeled text close the gap? Merged pooling at target 0.5 (paper-shaped budget), distilled on every
# distinct sentence of the GLUE training files (more_text_corpus.py: 68,377 texts, STS-B's 10,010 among them; a
# seeded sample of TEXTS of them, 40,000 by default) instead of STS-B's alone; search 1 epoch, re-training 2; then quality on STS-B dev against the plain model, as
# embed_merged_targets.sh does for STS-B's sentences alone. Resumable: a finished stage is skipped.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${THREADS:-1}
P=.venv/bin/powerbert
TEXTS=${TEXTS:-40000}
D=runs/embed/more-text-merged-0.5
mkdir -p runs/embed
[ -f runs/more-text.tsv ] || .venv/bin/python docs/embeddings/more_text_corpus.py ${GLUE_DIR:-../shared/glue} runs/more-text.tsv
$P embed --train-file runs/more-text.tsv --text-columns text --max-train-samples $TEXTS --search-epochs 1 --retrain-epochs 2 \
  --pool-weights merged --target-flops 0.5 --output-dir $D > $D.log 2>&1 || { echo "embed failed"; exit 1; }
$P evaluate-embeddings --model $D/power --teacher minilm --sts-file ../shared/glue/STS-B/dev.tsv \
  --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 \
  --no-timing --output docs/embeddings/more-text-merged-0.5.eval-quality.json > /dev/null || { echo "evaluate failed"; exit 1; }
cp $D/summary.json docs/embeddings/more-text-merged-0.5.summary.json
echo ALL DONE
