#!/usr/bin/env bash
# 5 minutes at 70 % of PoWER's sustainable rate behind HAProxy (powerbert serve's default), 16 clients, open loop.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
OUT=runs/serve/ingress
$P serve --model runs/serve/power-int8 --port 8600 > $OUT/server-soak.log 2>&1 &
SERVER=$!
for i in $(seq 1 200); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && break; done
RATE=$(python3 -c "import json; print(round(0.7 * json.load(open('$OUT/haproxy-power.json'))['throughput_rps'], 1))")
$P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --rate $RATE --duration 300 --output $OUT/haproxy-power-soak-5min.json > /dev/null
curl -s localhost:8600/metrics > $OUT/haproxy-power-soak-metrics.txt
kill -TERM $SERVER; wait $SERVER
