# Sourced by the IMDB 3k scripts (from the repository root): where the run lives, the data options, the training
# options of docs/sweep/imdb-run-3k.sh.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
RUN=runs/imdb-3k
DATA="--train-file ../shared/imdb/train.tsv --text-columns sentence --label-column label --max-seq-length 512 \
  --validation-split-percentage 2"
TRAIN="--max-train-samples 3000 --lr 1e-4 --batch-size 16 --checkpoint-minutes 10"
