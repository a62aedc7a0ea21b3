#!/usr/bin/env bash
# Two replicas of one thread each behind HAProxy (and the admission front where it is on), PoWER and plain in turn:
# MRPC pairs, 16 clients, 30 s. SERVE_EXTRA: more serve options (e.g. --admission off); KINDS, OUT, TAG.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
OUT=${OUT:-runs/serve/ingress} TAG=${TAG:-}; mkdir -p $OUT
for kind in ${KINDS:-power plain}; do
  $P serve --model runs/serve/$kind-int8 --port 8600 --replicas 2 --threads 1 ${SERVE_EXTRA:-} > $OUT/server-replicas2-$kind.log 2>&1 &
  SERVER=$!
  up=0; for i in $(seq 1 200); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && { up=1; break; }; done
  echo "$kind up=$up after $i s"
  [ $up = 1 ] && $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 30 --output $OUT/haproxy-replicas2-$kind$TAG.json > /dev/null
  kill -TERM $SERVER; wait $SERVER
  python3 -c "import json; r=json.load(open('$OUT/haproxy-replicas2-$kind$TAG.json')); print('$kind', r['throughput_rps'], r['p50_ms'], r['p99_ms'], r['ok'], r['requests'])"
done
