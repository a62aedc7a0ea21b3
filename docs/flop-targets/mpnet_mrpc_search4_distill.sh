#!/usr/bin/env bash
# MPNet on MRPC at 0.4 of the FLOPs: the hard model of mpnet_mrpc_search4.sh re-trained on the outputs of the
# search's own model (its Soft-Extract layers as learned, F1 89.95 on dev) instead of the labels. Needs that
# script's runs/mpnet-mrpc-s4/search. Same re-training schedule (3 epochs, lr 3e-5, batch 32, best dev epoch kept).
# Both cores; resumable.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
.venv/bin/powerbert retrain --task mrpc --model runs/mpnet-mrpc-s4/search --distill-from runs/mpnet-mrpc-s4/search \
  --output-dir runs/mpnet-mrpc-s4/power-soft-teacher --lr 3e-5 --batch-size 32 --epochs 3 --checkpoint-minutes 10 \
  || exit 1
echo ALL DONE
