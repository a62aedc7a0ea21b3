#!/usr/bin/env bash
# MPNet on MRPC at 0.4 of the FLOPs, re-trained gradually: the 4-epoch search of mpnet_mrpc_search4.sh
# (runs/mpnet-mrpc-s4/search) re-trained 1 epoch at 0.6 of the FLOPs, then 1 at 0.5, then 2 at 0.4, each from
# the last (LAST_EPOCHS=3: 3 at 0.4, into gradual-0.4-e3). FINE=1: after 0.5, 1 epoch at 0.45 and then
# LAST_EPOCHS at 0.4 (into gradual-0.4-fine[-eN]). The configurations are the search's masses scaled to each
# fraction on the dev inputs (as the search scales them for its own target): 0.6 [87 x 5, 56, 32, 12, 5, 3, 2, 2],
# 0.5 [87, 76, 68, 68, 59, 23, 13, 5, 2, 1, 1, 1], 0.45 [69, 58, 52, 52, 46, 18, 10, 4, 1, 1, 1, 1], 0.4 the
# search's own [57, 49, 43, 43, 38, 15, 8, 3, 1, 1, 1, 1]. SEED: the seed of the steps after 0.5 (the 0.6 and 0.5
# steps are shared; another seed writes its folders with -sSEED). Both cores; resumable.
set -u
LAST_EPOCHS=${LAST_EPOCHS:-2} FINE=${FINE:-0} SEED=${SEED:-42}
TAIL=$([ $SEED = 42 ] || echo -s$SEED)
LAST=gradual-0.4$([ $FINE = 1 ] && echo -fine)$([ $LAST_EPOCHS = 2 ] || echo -e$LAST_EPOCHS)$TAIL
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
O=runs/mpnet-mrpc-s4
step() {  # FROM TO EPOCHS RETENTION [SEED]
  [ -f $O/$2.json ] && [ -d $O/$2 ] && return 0
  .venv/bin/powerbert retrain --task mrpc --model $O/$1 --output-dir $O/$2 --lr 3e-5 --batch-size 32 --epochs $3 \
    --retention $4 --checkpoint-minutes 10 --seed ${5:-42} > $O/$2.json.tmp && mv $O/$2.json.tmp $O/$2.json
}
BEFORE_LAST=gradual-0.5
step search gradual-0.6 1 87,87,87,87,87,56,32,12,5,3,2,2 &&
step gradual-0.6 gradual-0.5 1 87,76,68,68,59,23,13,5,2,1,1,1 || exit 1
if [ $FINE = 1 ]; then
  step gradual-0.5 gradual-0.45$TAIL 1 69,58,52,52,46,18,10,4,1,1,1,1 $SEED || exit 1
  BEFORE_LAST=gradual-0.45$TAIL
fi
step $BEFORE_LAST $LAST $LAST_EPOCHS 57,49,43,43,38,15,8,3,1,1,1,1 $SEED || exit 1
echo ALL DONE
