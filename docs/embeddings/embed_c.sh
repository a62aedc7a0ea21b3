#!/usr/bin/env bash
# After queue a: MiniLM in fraction mode at 0.75 of the FLOPs (a gentler point on the STS-B sentences).
set -u
cd /work/main
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
while pgrep -f "embed_v2.sh a" > /dev/null; do sleep 15; done
D=runs/embed/stsb-fraction-kept-0.75
.venv/bin/powerbert embed --train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2 --retention-mode fraction \
  --search-epochs 2 --retrain-epochs 2 --target-flops 0.75 --output-dir $D > $D.log 2>&1
echo "c DONE $(date)"
