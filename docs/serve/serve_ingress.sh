#!/usr/bin/env bash
# Ray Serve's proxy against its direct ingress (RAY_SERVE_THROUGHPUT_OPTIMIZED=1): MRPC pairs, 16 clients, 30 s,
# PoWER and plain, ONNX Runtime int8 both. Needs the CPU to itself.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
OUT=runs/serve/ingress; mkdir -p $OUT
for mode in direct proxy; do
  for kind in power plain; do
    if [ $mode = direct ]; then export RAY_SERVE_THROUGHPUT_OPTIMIZED=1; else unset RAY_SERVE_THROUGHPUT_OPTIMIZED; fi
    $P serve --model runs/serve/$kind-int8 --port 8600 > $OUT/server-$mode-$kind.log 2>&1 &
    SERVER=$!
    up=0; for i in $(seq 1 90); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && { up=1; break; }; done
    echo "$mode $kind up=$up after $i s"
    [ $up = 1 ] && $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 30 --output $OUT/$mode-$kind.json > /dev/null
    kill -TERM $SERVER; wait $SERVER
    python3 -c "import json; r=json.load(open('$OUT/$mode-$kind.json')); print('$mode $kind', {k: r[k] for k in ('throughput_rps','requests','ok') if k in r}, r.get('latency_ms', {}))" 2>/dev/null
  done
done
