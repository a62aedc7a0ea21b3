#!/usr/bin/env bash
# IMDB 3k run: the same searched configuration re-trained 3 epochs instead of 2 (distilled from stage 1), then
# dev and all 25,000 test reviews. Run after docs/sweep/imdb-run-3k.sh.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
DATA="--train-file ../shared/imdb/train.tsv --text-columns sentence --label-column label --max-seq-length 512 \
  --validation-split-percentage 2"
[ -d runs/imdb-3k/power-retrain3 ] || .venv/bin/powerbert retrain --model runs/imdb-3k/search $DATA \
  --max-train-samples 3000 --output-dir runs/imdb-3k/power-retrain3 --lr 1e-4 --batch-size 16 --retrain-epochs 3 \
  --checkpoint-minutes 10 --distill-from runs/imdb-3k/finetuned
.venv/bin/powerbert evaluate --model runs/imdb-3k/power-retrain3 $DATA --test-file ../shared/imdb/test.tsv \
  > runs/imdb-3k/power-retrain3.eval.json
cp runs/imdb-3k/power-retrain3.eval.json docs/sweep/imdb-3k-retrain3.eval.json
echo ALL DONE
