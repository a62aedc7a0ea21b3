#!/usr/bin/env bash
# The paper-shaped FLOP budget (--budget-shape paper) at the targets the flops-shaped sweeps ran: STS-B (MiniLM),
# then MRPC at 0.45 and 0.3 (seed 42) beside runs/mrpc-paper; resumable.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
$P sweep --task stsb --model runs/stsb/finetuned --output-dir runs/stsb-targets-paper --lr 1e-4 --batch-size 32 \
   --finetune-epochs 3 --search-epochs 2 --retrain-epochs 2 --target-flops 0.45,0.3,0.6 --budget-shape paper \
   --truncations '' --layers '' --no-random --repeats 1 || echo "stsb sweep failed"
echo "stsb DONE $(date)"
