#!/usr/bin/env bash
# Overload: PoWER (MRPC, ONNX Runtime int8) behind HAProxy, two replicas of one thread, queues from ONGOING, QUEUED
# and QUEUE_MS (--max-queue-ms); its rate with
# 16 clients over 30 s, then 10x that rate from 256 clients for 30 s (5 s client timeout). The reports tell each
# answer's time from its schedule and from when it left the client (the generator shares the 2 cores).
# Needs the CPU to itself. Reports: docs/serve/ingress/overload-*.json.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
OUT=${OUT:-docs/serve/ingress}
ONGOING=${ONGOING:-32} QUEUED=${QUEUED:-8} QUEUE_MS=${QUEUE_MS:-0}
TAG=ongoing$ONGOING-queued$QUEUED$([ "$QUEUE_MS" = 0 ] || echo "-${QUEUE_MS}ms")
$P serve --model runs/serve/power-int8 --port 8600 --replicas 2 --threads 1 --max-queued $QUEUED \
  --max-ongoing $ONGOING --max-queue-ms $QUEUE_MS ${SERVE_EXTRA:-} > runs/serve/server-overload.log 2>&1 &
SERVER=$!
up=0; for i in $(seq 1 300); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && { up=1; break; }; done
echo "up=$up after $i s"
if [ $up = 1 ]; then
  $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 30 --output $OUT/overload-$TAG-rate.json > /dev/null
  OVER=$(python3 -c "import json; print(round(10 * json.load(open('$OUT/overload-$TAG-rate.json'))['throughput_rps'], 1))")
  $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 256 --rate $OVER --duration 30 --timeout 5 --output $OUT/overload-$TAG-10x.json > /dev/null
fi
kill -TERM $SERVER; wait $SERVER
