#!/usr/bin/env bash
# MPNet on MRPC at 0.4 of the FLOPs: the 3-epoch search (mpnet_mrpc_targets.sh) re-trained 4 epochs instead of 2
# (the best epoch on dev is kept, as in every stage); one torch thread beside another job; resumable.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv/bin/powerbert retrain --task mrpc --model runs/mpnet-mrpc-t04-search3/search \
  --output-dir runs/mpnet-mrpc-t04-search3/power-4epochs --lr 3e-5 --batch-size 32 --epochs 4 --checkpoint-minutes 10
echo ALL DONE
