#!/usr/bin/env bash
# MRPC (MiniLM), the FLOP-target 0.45 search: re-training on the stage-1 model's soft targets against the labels,
# seeds 42, 1, 2 (the labels at seed 42 is runs/mrpc/target0.45/power); resumable.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
S=runs/mrpc/target0.45/search
for seed in 42 1 2; do
  for kind in distill labels; do
    [ $kind = labels ] && [ $seed = 42 ] && continue
    D=runs/mrpc-distill/$kind-seed$seed
    [ -d $D ] && continue
    EXTRA=""; [ $kind = distill ] && EXTRA="--distill-from runs/mrpc/finetuned"
    $P retrain --task mrpc --model $S --output-dir $D --lr 1e-4 --batch-size 32 --epochs 3 --seed $seed $EXTRA \
      > $D.json 2> $D.log || echo "$kind $seed failed"
    echo "$kind $seed DONE $(date)"
  done
done
echo ALL DONE
