#!/usr/bin/env bash
# powerbert serve's defaults as they are now (the admission front, the deployment's code on the replica's HTTP
# event loop), after serve_admission.sh compared them: ROUNDS throughput rounds, PoWER and plain in turn, then the
# 10x overload with small queues. Needs the CPU to itself and the exports serve_admission.sh makes.
# Reports in OUT (default docs/serve/admission/default).
set -u
cd "$(dirname "$0")/../.."
export OUT=${OUT:-$(pwd)/docs/serve/admission/default}
mkdir -p $OUT
for round in ${ROUNDS:-1 2 3}; do TAG=-round$round bash docs/serve/serve_replicas.sh; done
ONGOING=8 QUEUED=8 bash docs/serve/serve_overload.sh
echo ALL DONE
