#!/usr/bin/env bash
# MPNet on MRPC, continued from mpnet_mrpc_targets.sh (the same stage-1 model): the 3-epoch search at 0.4 re-trained
# 3 epochs by distillation from the stage-1 model, then targets 0.6 (search 2 epochs) and 0.3 (search 3 epochs);
# both cores, resumable (a finished stage is skipped, a killed one resumes from its last checkpoint).
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
P=.venv/bin/powerbert
STAGE1=runs/mpnet-mrpc-t04/finetuned
$P retrain --task mrpc --model runs/mpnet-mrpc-t04-search3/search --distill-from $STAGE1 \
  --output-dir runs/mpnet-mrpc-t04-search3/power-distill --lr 3e-5 --batch-size 32 --epochs 3
$P run --task mrpc --model $STAGE1 --skip-finetune --output-dir runs/mpnet-mrpc-target0.6 \
  --lr 3e-5 --batch-size 32 --search-epochs 2 --retrain-epochs 2 --target-flops 0.6
$P run --task mrpc --model $STAGE1 --skip-finetune --output-dir runs/mpnet-mrpc-target0.3 \
  --lr 3e-5 --batch-size 32 --search-epochs 3 --retrain-epochs 2 --target-flops 0.3
echo ALL DONE
