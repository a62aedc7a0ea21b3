#!/usr/bin/env bash
# IMDB (MiniLM, 512 tokens): three stages on 5,000 training reviews (2 epochs each), dev carved from train (2 %),
# final figures on all 25,000 test reviews. Several hours on 2 cores: resumable across sessions (a finished stage
# is skipped, a killed one resumes from its checkpoint, written every 10 minutes).
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
.venv/bin/powerbert run --model minilm --train-file ../shared/imdb/train.tsv --test-file ../shared/imdb/test.tsv \
  --text-columns sentence --label-column label --max-seq-length 512 --validation-split-percentage 2 \
  --max-train-samples 5000 --output-dir runs/imdb-5k --lr 1e-4 --batch-size 16 --checkpoint-minutes 10 \
  --finetune-epochs 2 --search-epochs 2 --retrain-epochs 2 --target-flops 0.3
echo ALL DONE
