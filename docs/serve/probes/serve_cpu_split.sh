#!/usr/bin/env bash
# One model behind HAProxy (two replicas of one thread), 16 clients for 30 s, and the CPU seconds each group of
# processes used meanwhile (cpu_split.py). KIND: power or plain; ENVS: extra environment for the server, e.g.
# "RAY_SERVE_HAPROXY_METRICS_ENABLED=0"; SERVE_OPTIONS: the server's options (default two replicas of one
# thread). Needs the CPU to itself. Report: $OUT/cpu-split-$KIND$TAG.json and .txt.
set -u
cd "$(dirname "$0")/../../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert KIND=${KIND:-power} OUT=${OUT:-runs/serve/cpu-split} TAG=${TAG:-}; mkdir -p $OUT
env ${ENVS:-} $P serve --model runs/serve/$KIND-int8 --port 8600 ${SERVE_OPTIONS:---replicas 2 --threads 1} > $OUT/server-$KIND$TAG.log 2>&1 &
SERVER=$!
up=0; for i in $(seq 1 200); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && { up=1; break; }; done
if [ $up = 1 ]; then
  sleep 5
  .venv/bin/python docs/serve/probes/cpu_split.py snapshot $OUT/before.json
  $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 30 --output $OUT/cpu-split-$KIND$TAG.json > /dev/null
  .venv/bin/python docs/serve/probes/cpu_split.py snapshot $OUT/after.json
  .venv/bin/python docs/serve/probes/cpu_split.py diff $OUT/before.json $OUT/after.json > $OUT/cpu-split-$KIND$TAG.txt
  python3 -c "import json; r=json.load(open('$OUT/cpu-split-$KIND$TAG.json')); print('$KIND$TAG', r['throughput_rps'], r['p50_ms'], r['p99_ms'], r['ok'], r['requests'])"
  cat $OUT/cpu-split-$KIND$TAG.txt
fi
kill -TERM $SERVER; wait $SERVER
