#!/usr/bin/env bash
# RTE again at FLOP targets 0.6, 0.45, 0.3 with the defaults as they are now (the paper-shaped budget, the
# configuration scaled on the dev inputs), from the same stage 1 as rte-targets; resumable.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv/bin/powerbert sweep --task rte --model runs/rte/finetuned --output-dir runs/rte-targets-default --lr 1e-4 \
   --batch-size 32 --finetune-epochs 3 --search-epochs 2 --retrain-epochs 2 --target-flops 0.6,0.45,0.3 \
   --truncations '' --layers '' --no-random || echo "rte sweep failed"
echo "rte DONE $(date)"
