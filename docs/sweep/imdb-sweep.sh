#!/usr/bin/env bash
# IMDB baselines at matched time: the first k tokens and head+tail (first k/4, last 3k/4), re-trained at k, beside
# the PoWER model of docs/sweep/imdb-run.sh (copy runs/imdb/search and runs/imdb/power into runs/imdb-sweep/power-target0.3/ first). Resumable; run it
# again once all points are done to time them with the CPU to itself.
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv/bin/powerbert sweep --model runs/imdb/finetuned --train-file ../shared/imdb/train.tsv --text-columns sentence \
  --label-column label --max-seq-length 512 --validation-split-percentage 2 --max-train-samples 1200 \
  --output-dir runs/imdb-sweep --target-flops 0.3 --truncations 64,128 --head-tail 64,128 --layers "" --no-random \
  --lr 1e-4 --batch-size 16 --retrain-epochs 1 --repeats ${REPEATS:-1}
echo SWEEP DONE
