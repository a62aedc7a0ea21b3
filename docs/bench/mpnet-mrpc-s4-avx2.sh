#!/usr/bin/env bash
# MPNet on MRPC at a FLOP target of 0.4 with the 4-epoch search (docs/flop-targets/mpnet_mrpc_search4.sh), on the
# machine at hand: ONNX Runtime fp32 PoWER as the accuracy reference (exact to PyTorch), int8 and int8 with 7-bit
# weights for both models (plain: ONNX Runtime's fused graph); a process per variant, 3 rounds. Needs the CPU to
# itself.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR=${GLUE_DIR:-$(cd .. && pwd)/shared/glue}
.venv/bin/powerbert bench --model runs/mpnet-mrpc-s4/power --task mrpc \
  --variants ${VARIANTS:-power-ort,plain-ort-int8,power-ort-int8,plain-ort-int8w7,power-ort-int8w7} \
  --batch-sizes 1,32 --repeats 3 --output ${OUT:-docs/bench/mpnet-mrpc-s4-avx2.json}
echo BENCH DONE
