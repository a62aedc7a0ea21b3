#!/usr/bin/env bash
# IMDB 3k run: the same searched configuration re-trained 3 epochs instead of 2 (distilled from stage 1), then
# dev and all 25,000 test reviews. Run after docs/sweep/imdb-run-3k.sh.
set -u
cd "$(dirname "$0")/../.."
source docs/sweep/imdb-3k-env.sh
[ -d $RUN/power-retrain3 ] || .venv/bin/powerbert retrain --model $RUN/search $DATA $TRAIN \
  --output-dir $RUN/power-retrain3 --retrain-epochs 3 --distill-from $RUN/finetuned
.venv/bin/powerbert evaluate --model $RUN/power-retrain3 $DATA --test-file ../shared/imdb/test.tsv \
  > $RUN/power-retrain3.eval.json.tmp && mv $RUN/power-retrain3.eval.json.tmp $RUN/power-retrain3.eval.json
cp $RUN/power-retrain3.eval.json docs/sweep/imdb-3k-retrain3.eval.json
echo ALL DONE
