#!/usr/bin/env bash
# IMDB at 512 tokens: PoWER against plain on every runtime, 128 dev reviews, a process per variant, 3 rounds.
# MODEL: the PoWER model folder (its stage-1 model is the plain side); OUT: the report's JSON path.
set -u
cd "$(dirname "$0")/../.."
MODEL=${MODEL:-runs/imdb-3k/power}
OUT=${OUT:-docs/bench/imdb-512.json}
# OpenVINO bf16 only where the CPU has it (AVX-512 BF16); int8 on both
VARIANTS=${VARIANTS:-plain,power,plain-ort,power-ort,plain-ort-int8,power-ort-int8,plain-ov-int8,power-ov-int8}
.venv/bin/powerbert bench --model "$MODEL" --train-file ../shared/imdb/train.tsv --text-columns sentence \
  --label-column label --max-seq-length 512 --validation-split-percentage 2 --max-examples 128 --calibration-samples 100 \
  --variants "$VARIANTS" \
  --batch-sizes 1,32 --repeats ${REPEATS:-3} --output "$OUT"
echo BENCH DONE
