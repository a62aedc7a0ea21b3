#!/usr/bin/env bash
# MRPC (MiniLM, FLOP target 0.3): every runtime's fastest graphs, the plain ONNX Runtime variants as ONNX Runtime's
# fused transformer graph, the PoWER ones with ONNX Runtime's MultiHeadAttention and joined projections; a process per
# variant, 5 rounds (batch 1 moves by a third between runs on a shared 2-core machine).
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR=${GLUE_DIR:-../shared/glue}
MODEL=${MODEL:-runs/mrpc/target0.3/power}
OUT=${OUT:-docs/bench/mrpc-fused.json}
# OpenVINO bf16 only where the CPU has it (AVX-512 BF16): VARIANTS without it on an AVX2 machine
.venv/bin/powerbert bench --model "$MODEL" --task mrpc --calibration-samples 300 \
  --variants "${VARIANTS:-plain,power,plain-ort,power-ort,plain-ort-int8,power-ort-int8,plain-ov-bf16,power-ov-bf16,plain-ov-int8,power-ov-int8}" \
  --batch-sizes 1,32 --repeats ${REPEATS:-5} --output "$OUT"
echo BENCH DONE
