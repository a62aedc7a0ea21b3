#!/usr/bin/env bash
# IMDB 3k run: the plain MiniLM trained 3 epochs instead of 2 (the same data, learning rate and batch as stage 1 of
# docs/sweep/imdb-run-3k.sh), so that PoWER's 3-epoch re-training is compared with a plain model trained as long
# in its last stage; then dev and all 25,000 test reviews. Resumable (a checkpoint every 10 minutes).
set -u
cd "$(dirname "$0")/../.."
source docs/sweep/imdb-3k-env.sh
[ -f $RUN/finetuned-3ep/config.json ] || .venv/bin/powerbert finetune --model minilm $DATA $TRAIN \
  --output-dir $RUN/finetuned-3ep --epochs 3 || exit 1
[ -s $RUN/finetuned-3ep.eval.json ] || { .venv/bin/powerbert evaluate --model $RUN/finetuned-3ep $DATA \
  --test-file ../shared/imdb/test.tsv > $RUN/finetuned-3ep.eval.json.tmp && mv $RUN/finetuned-3ep.eval.json.tmp \
  $RUN/finetuned-3ep.eval.json; } || exit 1
cp $RUN/finetuned-3ep.eval.json docs/sweep/imdb-3k-plain3.eval.json
echo ALL DONE
