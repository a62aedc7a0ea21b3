#!/usr/bin/env bash
# IMDB 3k run, fraction mode: the same stage-1 model, a search in fraction mode (each review keeps a share of its
# own tokens in every layer, short reviews included) at the same 0.3 FLOP target, 3 epochs of re-training
# distilled from stage 1, then dev and all 25,000 test reviews. Run after docs/sweep/imdb-run-3k.sh. Resumable:
# a finished step is skipped. (Run once up to the search: its configuration was slower at batch 1 than count
# mode's at the same FLOPs, docs/results.md, so the re-training was stopped.)
set -u
cd "$(dirname "$0")/../.."
source docs/sweep/imdb-3k-env.sh
[ -f $RUN/search-fraction/power_config.json ] || .venv/bin/powerbert search --model $RUN/finetuned $DATA $TRAIN \
  --output-dir $RUN/search-fraction --search-epochs 1 --retention-mode fraction --target-flops 0.3
[ -f $RUN/power-fraction/power_config.json ] || .venv/bin/powerbert retrain --model $RUN/search-fraction $DATA \
  $TRAIN --output-dir $RUN/power-fraction --retrain-epochs 3 --distill-from $RUN/finetuned
[ -s $RUN/power-fraction.eval.json ] || .venv/bin/powerbert evaluate --model $RUN/power-fraction $DATA \
  --test-file ../shared/imdb/test.tsv > $RUN/power-fraction.eval.json.tmp && mv $RUN/power-fraction.eval.json.tmp \
  $RUN/power-fraction.eval.json
cp $RUN/power-fraction.eval.json docs/sweep/imdb-3k-fraction.eval.json
echo ALL DONE
