#!/usr/bin/env bash
# Ray Serve behind HAProxy (RAY_SERVE_ENABLE_HA_PROXY=1) against its Python proxy: MRPC pairs, 16 clients, 30 s,
# PoWER and plain (ONNX Runtime int8 both); then PoWER at 10x its sustainable rate. Needs the CPU to itself.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
OUT=runs/serve/ingress; mkdir -p $OUT
MODES=${MODES:-haproxy}
for mode in $MODES; do
  for kind in power plain; do
    if [ $mode = haproxy ]; then export RAY_SERVE_ENABLE_HA_PROXY=1; else unset RAY_SERVE_ENABLE_HA_PROXY; fi
    $P serve --model runs/serve/$kind-int8 --port 8600 > $OUT/server-$mode-$kind.log 2>&1 &
    SERVER=$!
    up=0; for i in $(seq 1 200); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && { up=1; break; }; done
    echo "$mode $kind up=$up after $i s"
    if [ $up = 1 ]; then
      $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 30 --output $OUT/$mode-$kind.json > /dev/null
      if [ $kind = power ]; then
        OVER=$(python3 -c "import json; print(round(10 * json.load(open('$OUT/$mode-power.json'))['throughput_rps'], 1))")
        $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 256 --rate $OVER --duration 30 --timeout 5 --output $OUT/$mode-power-overload-10x.json > /dev/null
      fi
    fi
    kill -TERM $SERVER; wait $SERVER
    for f in $OUT/$mode-$kind.json $OUT/$mode-$kind-overload-10x.json; do
      [ -f $f ] && python3 -c "import json; r=json.load(open('$f')); print('$f', {k: v for k, v in r.items() if not isinstance(v, (list, dict))}, r.get('statuses'))"
    done
  done
done
