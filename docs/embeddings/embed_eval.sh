#!/usr/bin/env bash
# Embedding evaluation. quality: STS-B dev Spearman and recall@10 on the STS-B dev sentences (no timing);
# speed: texts per second of encode, plain against PoWER, PyTorch and ONNX Runtime (run with the CPU quiet).
set -u
cd /work/main
P=.venv/bin/powerbert
E=runs/embed
STS="--sts-file ../shared/glue/STS-B/dev.tsv --corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300"
case "$1" in
quality)
  for run in stsb-absorbed-0.5 stsb-kept-0.5 stsb-v2-absorbed-0.5 stsb-fraction-absorbed-0.5 stsb-fraction-kept-0.75; do
    [ -d $E/$run/power ] && [ ! -f $E/$run/eval-quality.json ] && \
      $P evaluate-embeddings --model $E/$run/power --teacher minilm $STS --no-timing --output $E/$run/eval-quality.json > /dev/null 2>> $E/eval.log
  done
  run=stsb-mpnet-fraction-absorbed-0.5
  [ -d $E/$run/power ] && [ ! -f $E/$run/eval-quality.json ] && \
    $P evaluate-embeddings --model $E/$run/power --teacher mpnet $STS --no-timing --output $E/$run/eval-quality.json > /dev/null 2>> $E/eval.log
  run=imdb-fraction-kept-0.5
  [ -d $E/$run/power ] && [ ! -f $E/$run/eval-quality.json ] && \
    $P evaluate-embeddings --model $E/$run/power --teacher minilm --max-seq-length 512 --corpus-file ../shared/imdb/test.tsv \
      --text-columns sentence --max-samples 1000 --queries 100 --no-timing --output $E/$run/eval-quality.json > /dev/null 2>> $E/eval.log
  ;;
exports)
  R=$E/stsb-kept-0.5
  [ -d $R/onnx ] || $P export --model $R/power --output $R/onnx 2>> $E/eval.log
  [ -d $R/plain-onnx ] || $P export --model $R/power --output $R/plain-onnx --plain 2>> $E/eval.log
  ;;
speed)
  R=$E/stsb-kept-0.5
  SPEED="--corpus-file ../shared/glue/STS-B/dev.tsv --text-columns sentence1,sentence2 --max-samples 3000 --queries 300 --batch-sizes 1,32,128 --repeats 3"
  $P evaluate-embeddings --model $R/power --teacher minilm $SPEED --output $R/eval-speed-torch.json > /dev/null 2>> $E/eval.log
  $P evaluate-embeddings --model $R/onnx --teacher $R/plain-onnx $SPEED --output $R/eval-speed-onnx.json > /dev/null 2>> $E/eval.log
  R=$E/imdb-fraction-kept-0.5
  [ -d $R/power ] && $P evaluate-embeddings --model $R/power --teacher minilm --max-seq-length 512 --corpus-file ../shared/imdb/test.tsv \
    --text-columns sentence --max-samples 300 --queries 50 --batch-sizes 32 --repeats 3 --output $R/eval-speed-torch.json > /dev/null 2>> $E/eval.log
  ;;
esac
echo "$1 DONE $(date)"
