#!/usr/bin/env bash
# What answers HTTP in front of the replica: Ray Serve's Python proxy (proxy), its direct ingress (direct: each
# replica serves HTTP itself, RAY_SERVE_THROUGHPUT_OPTIMIZED=1) and HAProxy (haproxy, powerbert serve's default).
# MRPC pairs, 16 clients, 30 s, PoWER and plain (ONNX Runtime int8 both); PoWER at 10x its rate where
# OVERLOAD_MODES says. Needs the CPU to itself. The reports go to runs/serve/ingress/<mode>-<kind>.json.
set -u
cd /work/main
export GLUE_DIR=/work/shared/glue RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
OUT=runs/serve/ingress; mkdir -p $OUT
for mode in ${MODES:-direct proxy haproxy}; do
  for kind in power plain; do
    if [ $mode = direct ]; then export RAY_SERVE_THROUGHPUT_OPTIMIZED=1; else unset RAY_SERVE_THROUGHPUT_OPTIMIZED; fi
    $P serve --model runs/serve/$kind-int8 --port 8600 --ingress $([ $mode = haproxy ] && echo haproxy || echo proxy) \
      > $OUT/server-$mode-$kind.log 2>&1 &
    SERVER=$!
    up=0; for i in $(seq 1 200); do sleep 1; curl -s -m 2 -X POST localhost:8600/predict -d '{"inputs": ["a", "b"]}' | grep -q label && { up=1; break; }; done
    echo "$mode $kind up=$up after $i s"
    if [ $up = 1 ]; then
      $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 30 --output $OUT/$mode-$kind.json > /dev/null
      if [ $kind = power ] && [[ " ${OVERLOAD_MODES:-haproxy} " == *" $mode "* ]]; then
        OVER=$(python3 -c "import json; print(round(10 * json.load(open('$OUT/$mode-power.json'))['throughput_rps'], 1))")
        $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 256 --rate $OVER --duration 30 --timeout 5 --output $OUT/$mode-power-overload-10x.json > /dev/null
      fi
    fi
    kill -TERM $SERVER; wait $SERVER
  done
done
