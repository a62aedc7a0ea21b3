#!/usr/bin/env bash
# SST-2 (MiniLM, 8,000 training sentences, FLOP target 0.3): PoWER against the fastest plain graphs (ONNX Runtime's
# fused transformer graph, OpenVINO), fp32, bf16 and int8; a process per variant, 3 rounds. Needs the CPU to itself.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR=${GLUE_DIR:-../shared/glue}
MODEL=${MODEL:-runs/sst2-targets/power-target0.3/power}
OUT=${OUT:-docs/bench/sst2-fused.json}
# OpenVINO bf16 only where the CPU has it (AVX-512 BF16): VARIANTS without it on an AVX2 machine
.venv/bin/powerbert bench --model "$MODEL" --task sst2 --calibration-samples 300 \
  --variants "${VARIANTS:-plain,power,plain-ort,power-ort,plain-ort-int8,power-ort-int8,plain-ov-bf16,power-ov-bf16,plain-ov-int8,power-ov-int8}" \
  --batch-sizes 1,32 --repeats 3 --output "$OUT"
echo BENCH DONE
