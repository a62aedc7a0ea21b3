#!/usr/bin/env bash
# MPNet on MRPC at a FLOP target of 0.4 (search 3 epochs, re-trained 2): every runtime's fastest graphs, the plain
# ONNX Runtime variants as ONNX Runtime's fused transformer graph; a process per variant, 3 rounds.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR=${GLUE_DIR:-../shared/glue}
.venv/bin/powerbert bench --model runs/mpnet-mrpc-t04-search3/power --task mrpc --calibration-samples 100 \
  --variants plain,power,plain-ort-int8,power-ort-int8,plain-ov-int8,power-ov-int8 \
  --batch-sizes 1,32 --repeats 3 --output docs/bench/mpnet-mrpc-target0.4.json
echo BENCH DONE
