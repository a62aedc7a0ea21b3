#!/usr/bin/env bash
# MRPC (MiniLM), FLOP target 0.5, 3 seeds, with the budget shape SHAPE (paper or flops; runs both by default)
# into runs/mrpc-<shape>/seed<S>; resumable (run skips finished stages).
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for SHAPE in ${SHAPES:-paper flops}; do
  for S in 42 1 2; do
    .venv/bin/powerbert run --task mrpc --model runs/mrpc/finetuned --skip-finetune --output-dir runs/mrpc-$SHAPE/seed$S \
      --target-flops 0.5 --budget-shape $SHAPE --lr 1e-4 --batch-size 32 --search-epochs 3 --retrain-epochs 3 --seed $S \
      || echo "$SHAPE seed $S failed"
  done
done
