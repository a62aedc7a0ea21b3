#!/usr/bin/env bash
# IMDB (MiniLM, 512 tokens): three stages on 1,200 training reviews, dev carved from train (2 %), final figures
# on a seeded sample of 5,000 test reviews; resumable (a finished stage is skipped, a killed one resumes from its checkpoint).
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv/bin/powerbert run --model minilm --train-file ../shared/imdb/train.tsv --test-file ../shared/imdb/test.tsv \
  --text-columns sentence --label-column label --max-seq-length 512 --validation-split-percentage 2 \
  --max-train-samples 1200 --max-test-samples 5000 --output-dir runs/imdb --lr 1e-4 --batch-size 16 \
  --finetune-epochs 2 --search-epochs 1 --retrain-epochs 1 --target-flops 0.3
echo ALL DONE
