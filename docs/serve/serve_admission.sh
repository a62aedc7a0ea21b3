#!/usr/bin/env bash
# Serving with the admission front (powerbert serve's default where HAProxy's binary is installed), on the machine
# at hand, in one go; needs the CPU to itself. Exports the MRPC models if they are missing (docs/bench/avx2-models.sh
# trains them), then: throughput rounds with the front, without it (--admission off), and with the deployment's code
# on the replica's HTTP event loop (RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD=0), PoWER and plain in turn;
# the 10x overload with small queues and with the defaults; a 5-minute soak at 70 % of PoWER's rate.
# Reports in OUT (default docs/serve/admission).
set -u
cd "$(dirname "$0")/../.."
P=.venv/bin/powerbert
export OUT=${OUT:-$(pwd)/docs/serve/admission}
mkdir -p $OUT runs/serve
[ -d runs/serve/power-int8 ] || { $P export --model runs/mrpc/target0.3/power --output runs/serve/power-onnx && \
  $P export --model runs/serve/power-onnx --output runs/serve/power-int8 --quantize int8; }
[ -d runs/serve/plain-int8 ] || { $P export --model runs/mrpc/finetuned --plain --output runs/serve/plain-onnx && \
  $P export --model runs/serve/plain-onnx --output runs/serve/plain-int8 --quantize int8; }
for round in ${ROUNDS:-1 2 3}; do
  TAG=-round$round bash docs/serve/serve_replicas.sh
  [ "${WITHOUT:-1}" = 1 ] && SERVE_EXTRA="--admission off" TAG=-off-round$round bash docs/serve/serve_replicas.sh
  # Ray Serve runs the deployment's code on the replica's HTTP event loop instead of a thread of its own
  [ "${SAMETHREAD:-1}" = 1 ] && RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD=0 TAG=-samethread-round$round \
    bash docs/serve/serve_replicas.sh
done
ONGOING=8 QUEUED=8 bash docs/serve/serve_overload.sh
ONGOING=64 QUEUED=64 bash docs/serve/serve_overload.sh
RATE_FROM=haproxy-replicas2-power-round1.json SERVE_OPTIONS="--replicas 2 --threads 1" bash docs/serve/serve_soak.sh
echo ALL DONE
