#!/usr/bin/env bash
# IMDB (MiniLM, 512 tokens) sized to finish in about 1.5 hours on 2 cores: three stages on 3,000 training reviews
# (2 + 1 + 2 epochs), re-training on the stage-1 model's soft targets (--distill), dev carved from train (2 %),
# final figures on all 25,000 test reviews. Resumable (a finished stage is skipped, a killed one resumes from its
# checkpoint, written every 10 minutes).
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
.venv/bin/powerbert run --model minilm --train-file ../shared/imdb/train.tsv --test-file ../shared/imdb/test.tsv \
  --text-columns sentence --label-column label --max-seq-length 512 --validation-split-percentage 2 \
  --max-train-samples 3000 --output-dir runs/imdb-3k --lr 1e-4 --batch-size 16 --checkpoint-minutes 10 \
  --finetune-epochs 2 --search-epochs 1 --retrain-epochs 2 --target-flops 0.3 --distill
echo ALL DONE
