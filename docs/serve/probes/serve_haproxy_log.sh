#!/usr/bin/env bash
# The 10x overload of serve_overload.sh (PoWER int8, two replicas of one thread, ONGOING / QUEUED / QUEUE_MS) with
# HAProxy's log caught on a local UDP port (haproxy_log.py), so that each answer's time inside the server (HAProxy's
# Ta) can be told from the co-located load generator's delays. Needs the CPU to itself.
# Output: $OUT/haproxy-log-$TAG.txt (the log's summary) and the two load reports beside it.
set -u
cd "$(dirname "$0")/../../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" RAY_USAGE_STATS_ENABLED=0 RAY_SERVE_HAPROXY_LOG_TARGET=127.0.0.1:5514
P=.venv/bin/powerbert OUT=${OUT:-runs/serve/haproxy-log}; mkdir -p $OUT  # the raw logs are large (tens of MB a run)
ONGOING=${ONGOING:-8} QUEUED=${QUEUED:-8} QUEUE_MS=${QUEUE_MS:-0}
TAG=ongoing$ONGOING-queued$QUEUED$([ "$QUEUE_MS" = 0 ] || echo "-${QUEUE_MS}ms")
.venv/bin/python docs/serve/probes/haproxy_log.py listen 5514 $OUT/haproxy-$TAG.log &
LISTENER=$!
$P serve --model runs/serve/power-int8 --port 8600 --replicas 2 --threads 1 --max-queued $QUEUED \
  --max-ongoing $ONGOING --max-queue-ms $QUEUE_MS > $OUT/server-$TAG.log 2>&1 &
SERVER=$!
up=0; for i in $(seq 1 300); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && { up=1; break; }; done
if [ $up = 1 ]; then
  $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 30 --output $OUT/rate-$TAG.json > /dev/null
  OVER=$(python3 -c "import json; print(round(10 * json.load(open('$OUT/rate-$TAG.json'))['throughput_rps'], 1))")
  START=$(wc -l < $OUT/haproxy-$TAG.log)
  $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 256 --rate $OVER --duration 30 --timeout 5 --output $OUT/10x-$TAG.json > /dev/null
  sleep 2
  tail -n +$((START + 1)) $OUT/haproxy-$TAG.log > $OUT/haproxy-$TAG-10x.log
  { echo "10x overload ($OVER requests / s offered), HAProxy's log:"; .venv/bin/python docs/serve/probes/haproxy_log.py summary $OUT/haproxy-$TAG-10x.log
    python3 -c "import json; r=json.load(open('$OUT/10x-$TAG.json')); print('load generator:', {k: r[k] for k in r if not isinstance(r[k], (list, dict))})"; } | tee $OUT/haproxy-log-$TAG.txt
fi
kill -TERM $SERVER; wait $SERVER; kill -TERM $LISTENER
