#!/usr/bin/env bash
# Serving: PoWER (MRPC, FLOP target 0.3) against the plain model, both ONNX Runtime int8, 16 clients; then a
# 5-minute soak and a 10x overload on PoWER. Needs the CPU to itself.
set -u
cd "$(dirname "$0")/../.."
export GLUE_DIR="$(cd .. && pwd)/shared/glue" RAY_USAGE_STATS_ENABLED=0
P=.venv/bin/powerbert
M=${M:-runs/mrpc/target0.3/power}
OUT=docs/serve; mkdir -p $OUT
[ -d runs/serve/power-int8 ] || { $P export --model $M --output runs/serve/power-onnx && $P export --model runs/serve/power-onnx --output runs/serve/power-int8 --quantize int8; }
[ -d runs/serve/plain-int8 ] || { $P export --model runs/mrpc/finetuned --plain --output runs/serve/plain-onnx && $P export --model runs/serve/plain-onnx --output runs/serve/plain-int8 --quantize int8; }
serve_and_wait() {  # model port
  $P serve --model $1 --port $2 > runs/serve/server-$2.log 2>&1 &
  SERVER=$!
  for i in $(seq 1 200); do sleep 2; curl -s -m 2 localhost:$2/health > /dev/null && return 0; done
  return 1
}
stop() { kill -TERM $SERVER; wait $SERVER; }
for kind in plain power; do
  serve_and_wait runs/serve/$kind-int8 8600 || { echo "server did not start"; exit 1; }
  $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --duration 60 --output $OUT/mrpc-$kind-16clients.json > /dev/null
  if [ $kind = power ]; then
    RPS=$(python3 -c "import json; print(json.load(open('$OUT/mrpc-power-16clients.json'))['throughput_rps'])")
    SOAK=$(python3 -c "print(round(0.7 * $RPS, 1))"); OVER=$(python3 -c "print(round(10 * $RPS, 1))")
    $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 16 --rate $SOAK --duration 300 --output $OUT/mrpc-power-soak-5min.json > /dev/null
    $P -q loadtest --url http://127.0.0.1:8600/predict --task mrpc --concurrency 256 --rate $OVER --duration 30 --timeout 5 --output $OUT/mrpc-power-overload-10x.json > /dev/null
  fi
  curl -s localhost:8600/metrics > $OUT/mrpc-$kind-metrics.txt
  stop
done
echo SERVE DONE
