#!/usr/bin/env bash
# Fastest against fastest for embeddings: a PoWER embedding model (MODEL) and the plain model on every runtime
# (PyTorch; ONNX Runtime fp32 and dynamic int8, the plain one as ONNX Runtime's fused graph; with 7-bit weights as
# well on a CPU without VNNI). First the quality of each int8 variant and of the PoWER model against the plain
# PyTorch model (the fp32 graphs give PyTorch's embeddings: tests check it), then `encode` speed of every one in a
# process of its own, 3 rounds, medians. STS-B dev sentences by default, IMDB test reviews at 512 tokens with LONG=1;
# NO_QUALITY=1 times only; OUT names the reports. Needs the CPU to itself. E.g.
#   MODEL=runs/embed/more-text-merged-0.5/power OUT=docs/embeddings/zen3/stsb-fastest bash docs/embeddings/embed_fastest_speed.sh
#   MODEL=runs/embed/imdb-merged-0.5-r2000/power LONG=1 OUT=docs/embeddings/zen3/imdb-fastest bash docs/embeddings/embed_fastest_speed.sh
#   TEACHER=mpnet MODEL=runs/embed/stsb-mpnet-merged-0.5/power OUT=docs/embeddings/zen3/mpnet-stsb-fastest bash docs/embeddings/embed_fastest_speed.sh
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${THREADS:-2}
P=.venv/bin/powerbert
MODEL=${MODEL:?a PoWER embedding folder} TEACHER=${TEACHER:-minilm}  # TEACHER: the plain model (minilm, mpnet)
OUT=${OUT:?a path prefix for the reports}
E=runs/embed/exports/$(basename $(dirname $MODEL))
mkdir -p $(dirname $OUT) runs/embed/exports
if [ -n "${LONG:-}" ]; then  # IMDB test reviews at 512 tokens; 200 for timing
  DATA=(--max-seq-length 512 --corpus-file ../shared/imdb/test.tsv --text-columns sentence)
  QUALITY=(--max-samples 1000 --queries 100); TIMING=(--max-samples 200 --batch-sizes ${BATCH_SIZES:-1,32})
else  # STS-B dev sentences; 1,000 of them for timing
  DATA=(--corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2)
  QUALITY=(--sts-file ../shared/glue/STS-B/dev.tsv --max-samples 3000 --queries 300)
  TIMING=(--max-samples 1000 --batch-sizes 1,32,128)
fi
KINDS="int8"; grep -q avx512_vnni /proc/cpuinfo || KINDS="int8 int8-w7"
[ -d runs/embed/exports/$TEACHER-plain-onnx ] || $P export --model $TEACHER --plain --output runs/embed/exports/$TEACHER-plain-onnx > /dev/null
[ -d $E-onnx ] || $P export --model $MODEL --output $E-onnx > /dev/null
MODELS=$TEACHER,runs/embed/exports/$TEACHER-plain-onnx,$MODEL,$E-onnx
for q in $KINDS; do
  [ -d runs/embed/exports/$TEACHER-plain-$q ] || $P export --model runs/embed/exports/$TEACHER-plain-onnx --quantize $q --output runs/embed/exports/$TEACHER-plain-$q > /dev/null
  [ -d $E-$q ] || $P export --model $E-onnx --quantize $q --output $E-$q > /dev/null
  MODELS=$MODELS,runs/embed/exports/$TEACHER-plain-$q,$E-$q
done
for m in ${MODELS//,/ }; do  # quality against the plain PyTorch model (the fp32 graphs give PyTorch's embeddings)
  case $m in $TEACHER|*-onnx) continue;; esac
  [ -n "${NO_QUALITY:-}" ] && break  # timing only
  $P evaluate-embeddings --model $m --teacher $TEACHER "${DATA[@]}" "${QUALITY[@]}" --no-timing \
    --output $OUT.quality-$(basename $m).json > /dev/null || echo "quality of $m failed"
done
$P evaluate-embeddings --model $MODEL --teacher $TEACHER "${DATA[@]}" "${TIMING[@]}" --queries 10 --repeats 3 \
  --timing-models $MODELS --output $OUT.speed.json > /dev/null || echo "timing failed"
echo ALL DONE
