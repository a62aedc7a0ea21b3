#!/usr/bin/env bash
# MiniLM embeddings by distillation on the STS-B training sentences (both columns): pooling weights and targets.
set -u
cd /work/main
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
T="--train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --search-epochs 2 --retrain-epochs 2"
for run in "absorbed 0.5" "kept 0.5" "absorbed 0.35"; do
  set -- $run
  D=runs/embed/stsb-$1-$2
  [ -f $D/power/power_config.json ] && [ -f $D/summary.json ] && grep -q flop_fraction_dev $D/summary.json && continue
  $P embed $T --pool-weights $1 --target-flops $2 --output-dir $D > $D.log 2>&1 || echo "$run failed"
  echo "$run DONE $(date)"
done
echo ALL DONE
