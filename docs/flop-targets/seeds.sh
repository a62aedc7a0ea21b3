#!/usr/bin/env bash
# 3 seeds at the headline FLOP target (0.45) for a task whose target sweep ran (glue_targets.sh): seeds 1 and 2
# trained into runs/T-seeds beside a copy of the seed-42 point (from runs/T-targets, or the sweep folder SRC
# names); resumable.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
T=$1; SRC=${SRC:-runs/$T-targets}; EXTRA=""; [ $T = sst2 ] && EXTRA="--max-train-samples 8000"
mkdir -p runs/$T-seeds/points
[ -f runs/$T-seeds/points/power-target0.45.json ] || { cp -r $SRC/power-target0.45 runs/$T-seeds/ &&
  cp $SRC/points/power-target0.45.json $SRC/points/plain.json runs/$T-seeds/points/; }
.venv/bin/powerbert sweep --task $T --model runs/$T/finetuned --output-dir runs/$T-seeds --lr 1e-4 --batch-size 32 \
   --finetune-epochs 3 --search-epochs 2 --retrain-epochs 2 --target-flops 0.45 --seeds 42,1,2 \
   --truncations '' --layers '' --no-random --repeats 1 $EXTRA || echo "$T seeds failed"
echo "$T SEEDS DONE $(date)"
