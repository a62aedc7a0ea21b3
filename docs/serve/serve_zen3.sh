#!/usr/bin/env bash
# Serving on the machine at hand, in one go (needs the CPU to itself): two replicas of one thread, PoWER and plain
# in turn, two rounds of 30 s; then a 10x overload with small queues; then a 5-minute soak at 70 % of PoWER's
# rate. Reports in OUT (default docs/serve/zen3).
set -u
cd "$(dirname "$0")"
export OUT=${OUT:-$(cd ../.. && pwd)/docs/serve/zen3}
mkdir -p $OUT
TAG=-round1 bash serve_replicas.sh
TAG=-round2 bash serve_replicas.sh
ONGOING=8 QUEUED=8 bash serve_overload.sh
ONGOING=16 QUEUED=8 QUEUE_MS=250 bash serve_overload.sh
RATE_FROM=haproxy-replicas2-power-round2.json SERVE_OPTIONS="--replicas 2 --threads 1" bash serve_soak.sh
