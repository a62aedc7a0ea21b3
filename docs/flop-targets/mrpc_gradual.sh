#!/usr/bin/env bash
# MiniLM on MRPC at FLOP target 0.3 (the search of docs/bench/avx2-models.sh, runs/mrpc/target0.3/search: [45, 24,
# 13, 1, 1, 1], re-trained directly 3 epochs: F1 84.16), re-trained gradually instead: 1 epoch at 0.6 of the
# FLOPs, 1 at 0.45, then LAST_EPOCHS (default 1: 3 epochs in all, as the direct re-training) at the search's own
# configuration, with `powerbert retrain --gradual`. One torch thread; resumable.
set -u
LAST_EPOCHS=${LAST_EPOCHS:-1} SEED=${SEED:-42}
cd "$(dirname "$0")/../.."
export GLUE_DIR=${GLUE_DIR:-../shared/glue} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
OUT=runs/mrpc-gradual/e$LAST_EPOCHS-seed$SEED
mkdir -p runs/mrpc-gradual
[ -f $OUT.json ] || .venv/bin/powerbert retrain --task mrpc --model runs/mrpc/target0.3/search --output-dir $OUT \
  --lr 1e-4 --batch-size 32 --epochs $LAST_EPOCHS --gradual 0.6,0.45 --seed $SEED > $OUT.json.tmp && mv $OUT.json.tmp $OUT.json
cat $OUT.json
