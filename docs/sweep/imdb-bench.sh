#!/usr/bin/env bash
# IMDB at 512 tokens: PoWER against plain on PyTorch fp32 and ONNX Runtime (fp32, int8), on 128 dev reviews.
set -u
cd "$(dirname "$0")/../.."
.venv/bin/powerbert bench --model runs/imdb/power --train-file ../shared/imdb/train.tsv --text-columns sentence \
  --label-column label --max-seq-length 512 --validation-split-percentage 2 --max-examples 128 --calibration-samples 100 \
  --variants plain,power,plain-ort,power-ort,plain-ort-int8,power-ort-int8,plain-ov-int8,power-ov-bf16 \
  --batch-sizes 1,32 --repeats 3 --output docs/bench/imdb-512.json
echo BENCH DONE
