#!/usr/bin/env bash
# The fused-graph benches end to end on the machine at hand, for a CPU of the other kind: the MRPC and SST-2
# (8,000 sentences) MiniLM models at FLOP target 0.3 (avx2-models.sh; the recipe fits any CPU, about 40 minutes on
# 2 cores), then the MRPC bench (5 rounds) and the SST-2 bench (3 rounds), each variant in its own process, with
# reports named for the CPU kind (avx512 where it has VNNI, else avx2). Run it with nothing else on the machine.
set -u
cd "$(dirname "$0")/../.."
KIND=$(grep -q avx512_vnni /proc/cpuinfo && echo avx512 || echo avx2)
bash docs/bench/avx2-models.sh
[ -f runs/mrpc/target0.3/power/config.json ] && [ -f runs/sst2-targets/power-target0.3/power/config.json ] \
  || { echo "training failed: runs/avx2-*.log"; exit 1; }
V=plain,power,plain-ort,power-ort,plain-ort-int8,power-ort-int8,plain-ov-int8,power-ov-int8
[ $KIND = avx512 ] && V=$V,plain-ov-bf16,power-ov-bf16 || V=$V,plain-ort-int8w7,power-ort-int8w7
OUT=docs/bench/mrpc-fused-$KIND-leaner.json VARIANTS=$V bash docs/bench/mrpc-fused.sh
OUT=docs/bench/sst2-fused-$KIND-leaner.json VARIANTS=$V bash docs/bench/sst2-fused.sh
echo ALL DONE
