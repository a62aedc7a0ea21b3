#!/usr/bin/env bash
# MiniLM on RTE, STS-B, CoLA, SST-2 (8k): stage 1, then one sweep per task at FLOP targets 0.6, 0.45, 0.3
# (search 2 epochs, re-train 2, as the lambda sweeps of docs/results.md); resumable (sweep skips finished points).
# Tasks as arguments (default: all four), e.g. `glue_targets.sh cola` beside `glue_targets.sh sst2`.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
for T in ${@:-rte stsb cola sst2}; do
  EXTRA=""; [ $T = sst2 ] && EXTRA="--max-train-samples 8000"
  [ -f runs/$T/finetuned/config.json ] || $P finetune --task $T --model minilm --output-dir runs/$T/finetuned \
     --lr 1e-4 --batch-size 32 --epochs 3 $EXTRA || { echo "$T finetune failed"; continue; }
  $P sweep --task $T --model runs/$T/finetuned --output-dir runs/$T-targets --lr 1e-4 --batch-size 32 \
     --finetune-epochs 3 --search-epochs 2 --retrain-epochs 2 --target-flops 0.6,0.45,0.3 \
     --truncations '' --layers '' --no-random $EXTRA || echo "$T sweep failed"
  echo "$T DONE $(date)"
done
echo ALL DONE
