#!/usr/bin/env bash
# MRPC (MiniLM): stage 1 once, then search + re-train at FLOP targets 0.6, 0.45, 0.3; resumable.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
[ -d runs/mrpc/finetuned ] || $P finetune --task mrpc --model minilm --output-dir runs/mrpc/finetuned \
  --lr 1e-4 --batch-size 32 --epochs 4 || exit 1
for t in 0.45 0.3 0.6; do
  $P run --task mrpc --model runs/mrpc/finetuned --skip-finetune --output-dir runs/mrpc/target$t \
    --target-flops $t --lr 1e-4 --batch-size 32 --search-epochs 3 --retrain-epochs 3 || echo "target $t failed"
done
echo ALL DONE
