#!/usr/bin/env bash
# MRPC (MiniLM), FLOP target 0.5 with the FLOP-charged budget (--budget-shape flops), 3 seeds: beside
# mrpc_paper.sh's runs; resumable (run skips finished stages).
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for S in 42 1 2; do
  .venv/bin/powerbert run --task mrpc --model runs/mrpc/finetuned --skip-finetune --output-dir runs/mrpc-flops/seed$S \
    --target-flops 0.5 --budget-shape flops --lr 1e-4 --batch-size 32 --search-epochs 3 --retrain-epochs 3 --seed $S \
    || echo "seed $S failed"
done
