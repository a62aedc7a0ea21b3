#!/usr/bin/env bash
# 5 minutes at 70 % of PoWER's sustainable rate (the report RATE_FROM) behind HAProxy (powerbert serve's default),
# 16 clients, open loop; SERVE_OPTIONS e.g. "--replicas 2 --threads 1".
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
OUT=${OUT:-runs/serve/ingress} RATE_FROM=${RATE_FROM:-haproxy-power.json} SERVE_OPTIONS=${SERVE_OPTIONS:-}
$P serve --model runs/serve/power-int8 --port 8600 $SERVE_OPTIONS > $OUT/server-soak.log 2>&1 &
SERVER=$!
for i in $(seq 1 200); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && break; done
RATE=$(python3 -c "import json; print(round(0.7 * json.load(open('$OUT/$RATE_FROM'))['throughput_rps'], 1))")
$P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --rate $RATE --duration 300 --output $OUT/haproxy-power-soak-5min.json > /dev/null
curl -s localhost:8600/metrics > $OUT/haproxy-power-soak-metrics.txt
kill -TERM $SERVER; wait $SERVER
