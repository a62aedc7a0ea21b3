#!/usr/bin/env bash
# MPNet on MRPC, speed only, on a machine without the trained 0.4-FLOP model: its configuration on the plain
# weights (mpnet_speed_model.py), ONNX Runtime int8 with 8- and 7-bit weights, the plain variants as ONNX Runtime's
# fused graph; a process per variant, 3 rounds. Needs the CPU to itself. The dev metrics of this run mean nothing.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR=${GLUE_DIR:-../shared/glue}
[ -f runs/mpnet-speed/power/power_config.json ] || .venv/bin/python docs/bench/mpnet_speed_model.py runs/mpnet-speed/power
.venv/bin/powerbert bench --model runs/mpnet-speed/power --task mrpc \
  --variants ${VARIANTS:-plain-ort-int8,power-ort-int8,plain-ort-int8w7,power-ort-int8w7} \
  --batch-sizes 1,32 --repeats 3 --output ${OUT:-docs/bench/mpnet-mrpc-avx2-speed.json}
echo BENCH DONE
