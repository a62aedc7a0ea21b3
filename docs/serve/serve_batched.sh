#!/usr/bin/env bash
# Serving with 8 pairs per request (a client that batches), PoWER against plain, 16 clients, 60 s each.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
for kind in plain power; do
  $P serve --model runs/serve/$kind-int8 --port 8601 > runs/serve/server-batched-$kind.log 2>&1 &
  SERVER=$!
  for i in $(seq 1 200); do sleep 2; curl -s -m 2 localhost:8601/health > /dev/null && break; done
  $P -q loadtest --url http://127.0.0.1:8601/predict --task mrpc --concurrency 16 --duration 60 --inputs-per-request 8 \
    --output docs/serve/mrpc-$kind-16clients-8pairs.json > /dev/null
  kill -TERM $SERVER; wait $SERVER
done
echo BATCHED DONE
