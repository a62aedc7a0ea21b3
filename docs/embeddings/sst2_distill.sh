#!/usr/bin/env bash
# SST-2 (MiniLM, 8,000 training sentences, the stage 1 of docs/flop-targets/glue_targets.sh): one search at the
# headline FLOP target 0.45 (2 epochs), then re-training 2 epochs on three kinds of targets, seeds 42, 1, 2:
# the labels, the stage-1 model's logits, and the search's own model's logits (its Soft-Extract layers as
# learned). Resumable: a finished run is skipped. Writes runs/sst2-distill/KIND-seedN.json (the dev metrics).
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
P=.venv/bin/powerbert
O=runs/sst2-distill
COMMON="--task sst2 --max-train-samples 8000 --lr 1e-4 --batch-size 32 --epochs 2"
mkdir -p $O
[ -f $O/search/power_config.json ] || $P search $COMMON --model runs/sst2/finetuned --output-dir $O/search \
  --target-flops 0.45 > $O/search.json 2> $O/search.log || { echo "search failed"; exit 1; }
for seed in 42 1 2; do
  for kind in labels stage1 search; do
    D=$O/$kind-seed$seed
    [ -f $D.json ] && [ -d $D ] && continue
    EXTRA=""; [ $kind = stage1 ] && EXTRA="--distill-from runs/sst2/finetuned"
    [ $kind = search ] && EXTRA="--distill-from $O/search"
    $P retrain $COMMON --model $O/search --output-dir $D --seed $seed $EXTRA > $D.json.tmp 2> $D.log \
      && mv $D.json.tmp $D.json || echo "$kind $seed failed"
    echo "$kind $seed DONE $(date)"
  done
done
echo ALL DONE
