#!/usr/bin/env bash
# The MRPC and SST-2 (8,000 sentences) MiniLM models of the fused-graph benches, trained again on the machine at
# hand (the recipes of docs/flop-targets/mrpc_targets.sh and glue_targets.sh, FLOP target 0.3), one after the
# other on one torch thread (another job beside it); resumable (a finished stage is skipped). Summaries of the
# run on the Zen 3 EPYC: docs/bench/avx2-models/.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR=${GLUE_DIR:-../shared/glue} OMP_NUM_THREADS=1
P=.venv/bin/powerbert
mrpc() {
  [ -f runs/mrpc/finetuned/config.json ] || $P finetune --task mrpc --model minilm --output-dir runs/mrpc/finetuned \
    --lr 1e-4 --batch-size 32 --epochs 4 || return 1
  $P run --task mrpc --model runs/mrpc/finetuned --skip-finetune --output-dir runs/mrpc/target0.3 \
    --target-flops 0.3 --lr 1e-4 --batch-size 32 --search-epochs 3 --retrain-epochs 3
}
sst2() {
  [ -f runs/sst2/finetuned/config.json ] || $P finetune --task sst2 --model minilm --output-dir runs/sst2/finetuned \
    --lr 1e-4 --batch-size 32 --epochs 3 --max-train-samples 8000 || return 1
  $P run --task sst2 --model runs/sst2/finetuned --skip-finetune --output-dir runs/sst2-targets/power-target0.3 \
    --target-flops 0.3 --lr 1e-4 --batch-size 32 --search-epochs 2 --retrain-epochs 2 --max-train-samples 8000
}
mrpc > runs/avx2-mrpc.log 2>&1
sst2 > runs/avx2-sst2.log 2>&1
echo ALL DONE
