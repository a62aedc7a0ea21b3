#!/usr/bin/env bash
# Embedding runs in fraction mode. Queue $1:
#   a: MPNet (3,000 STS-B sentences)
#   b: MiniLM on the STS-B sentences, then IMDB at 512 tokens (1,000 reviews)
set -u
cd /work/main
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=.venv/bin/powerbert
done_() { [ -f $1/summary.json ] && grep -q flop_fraction_dev $1/summary.json; }
STSB="--train-file ../shared/glue/STS-B/train.tsv --text-columns sentence1,sentence2"
run() { D=runs/embed/$1; shift; done_ $D || $P embed "$@" --target-flops 0.5 --output-dir $D > $D.log 2>&1; echo "$D DONE $(date)"; }
if [ "$1" = a ]; then
  run stsb-mpnet-fraction-absorbed-0.5 --model mpnet $STSB --max-train-samples 3000 --retention-mode fraction \
    --search-epochs 1 --retrain-epochs 1 --batch-size 16
else
  run stsb-fraction-absorbed-0.5 $STSB --retention-mode fraction --search-epochs 2 --retrain-epochs 2
  run imdb-fraction-absorbed-0.5 --train-file ../shared/imdb/train.tsv --text-columns sentence --max-train-samples 1000 \
    --max-seq-length 512 --retention-mode fraction --search-epochs 1 --retrain-epochs 1 --batch-size 16
fi
echo "queue $1 ALL DONE $(date)"
