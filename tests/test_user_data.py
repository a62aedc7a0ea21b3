"""A user's own data: CSV, TSV, JSON lines and Parquet files, pairs, string labels, regression, a carved
validation split, and one line for every kind of bad input."""

import json

import pandas as pd
import pytest
from test_cli import assert_one_line, bert_dir, run_cli  # noqa: F401  (fixtures)

from powerbert import PowerBertError
from powerbert.training.tasks import compute_metrics
from powerbert.training.user_data import DataOptions, load_user_task

WORDS = {"billing": "a fine film", "login": "dull and long", "other": "a long film and a dull film"}


def intents(n: int = 24) -> pd.DataFrame:
    names = list(WORDS)
    return pd.DataFrame({"text": [WORDS[names[i % 3]] for i in range(n)], "intent": [names[i % 3] for i in range(n)]})


def write(frame: pd.DataFrame, path):
    path = str(path)
    if path.endswith(".csv"):
        frame.to_csv(path, index=False)
    elif path.endswith(".tsv"):
        frame.to_csv(path, index=False, sep="\t")
    elif path.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("extension", ["csv", "tsv", "jsonl", "parquet"])
def test_every_file_format_reads_with_string_labels_as_classes(tmp_path, extension):
    train = write(intents(), tmp_path / f"train.{extension}")
    task = load_user_task(DataOptions(train_file=train, text_columns="text", label_column="intent"))
    assert task.labels == ("billing", "login", "other") and task.num_labels == 3
    assert task.name == tmp_path.name  # a file named for its split is called by its folder's name
    other = write(intents(), tmp_path / f"tickets.{extension}")
    assert load_user_task(DataOptions(train_file=other, text_columns="text", label_column="intent")).name == "tickets"
    assert len(task.splits["validation"]) == 3 and len(task.splits["train"]) == 21  # 10 % carved, rounded up
    row = task.splits["train"][0]
    assert set(row) == {"text_a", "label"} and row["label"] == task.labels.index(
        next(k for k, v in WORDS.items() if v == row["text_a"]))


def test_the_carved_validation_split_is_the_same_for_the_same_seed(tmp_path):
    train = write(intents(40), tmp_path / "train.csv")
    splits = [load_user_task(DataOptions(train_file=train, label_column="intent", seed=s)).splits for s in (1, 1, 2)]
    assert splits[0]["validation"]["text_a"] == splits[1]["validation"]["text_a"]
    assert splits[0]["validation"]["label"] != splits[2]["validation"]["label"] or \
        splits[0]["train"]["text_a"] != splits[2]["train"]["text_a"]


def test_a_pair_with_integer_labels_and_a_test_file(tmp_path):
    frame = pd.DataFrame({"q": ["a fine film"] * 6, "d": ["dull", "fine"] * 3, "y": [0, 1] * 3})
    task = load_user_task(DataOptions(train_file=write(frame, tmp_path / "t.jsonl"),
                                      validation_file=write(frame, tmp_path / "v.jsonl"),
                                      test_file=write(frame, tmp_path / "x.jsonl"), text_columns="q,d", label_column="y"))
    assert task.labels == ("0", "1") and set(task.splits) == {"train", "validation", "test"}
    assert set(task.splits["test"].column_names) == {"text_a", "text_b", "label"}


def test_float_labels_make_a_regression_and_regression_metrics(tmp_path):
    frame = pd.DataFrame({"text": ["a fine film", "dull", "a long film", "fine"] * 3, "score": [4.5, 0.5, 2.25, 3.0] * 3})
    task = load_user_task(DataOptions(train_file=write(frame, tmp_path / "t.parquet"), label_column="score"))
    assert task.is_regression and task.num_labels == 1 and task.metric == "spearman"
    as_classes = load_user_task(DataOptions(train_file=write(frame.assign(score=[1, 2, 3, 4] * 3), tmp_path / "c.csv"),
                                            label_column="score"))
    assert as_classes.labels == ("1", "2", "3", "4")
    forced = load_user_task(DataOptions(train_file=str(tmp_path / "c.csv"), label_column="score", regression=True))
    assert forced.is_regression
    metrics = compute_metrics(task, [[0.1], [0.9], [0.5]], [0.0, 1.0, 0.4])
    assert metrics["spearman"] == pytest.approx(1.0) and "pearson" in metrics


def test_classification_metrics_give_macro_f1_beyond_two_classes(tmp_path):
    task = load_user_task(DataOptions(train_file=write(intents(), tmp_path / "t.csv"), label_column="intent"))
    logits = [[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]]
    metrics = compute_metrics(task, logits, [0, 1, 2, 2])
    assert metrics["accuracy"] == 0.75 and metrics["f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


@pytest.mark.parametrize("frame, options, message", [
    (pd.DataFrame({"text": ["a", "b"] * 4, "label": ["x", "y"] * 4}), dict(label_column="nope"), "no column 'nope'"),
    (pd.DataFrame({"text": ["a", "b"] * 4, "label": ["x", "y"] * 4}), dict(text_columns="text,a,b"), "one text column"),
    (pd.DataFrame({"text": ["a", ""] * 4, "label": ["x", "y"] * 4}), {}, "empty text in column 'text'"),
    (pd.DataFrame({"text": ["a", "b"] * 4, "label": ["x", "1"] * 4}), {}, "mixes numbers and names"),
    (pd.DataFrame({"text": ["a", "b"] * 4, "label": ["x"] * 8}), {}, "a single class"),
    (pd.DataFrame({"text": ["a", "b"] * 4, "label": ["x", None] * 4}), {}, "no label in column 'label'"),
    (pd.DataFrame({"text": ["a", "b"] * 4, "label": ["x", "y"] * 4}), dict(metric="spearman"), "does not fit"),
])
def test_bad_data_gets_one_line(tmp_path, frame, options, message):
    with pytest.raises(PowerBertError, match=message.replace("(", r"\(")):
        load_user_task(DataOptions(train_file=write(frame, tmp_path / "t.csv"), **options))


def test_bad_files_get_one_line(tmp_path):
    def fails(message, **options):
        with pytest.raises(PowerBertError, match=message):
            load_user_task(DataOptions(**options))

    fails("does not exist", train_file=str(tmp_path / "absent.csv"))
    (tmp_path / "empty.csv").write_text("")
    fails("is empty", train_file=str(tmp_path / "empty.csv"))
    (tmp_path / "header.csv").write_text("text,label\n")
    fails("has no rows|cannot be read", train_file=str(tmp_path / "header.csv"))
    (tmp_path / "t.xlsx").write_text("x")
    fails("unknown extension '.xlsx'", train_file=str(tmp_path / "t.xlsx"))
    (tmp_path / "latin.csv").write_bytes("text,label\ncaf\xe9,1\nfine,0\n".encode("latin-1"))
    fails("line 2 is not UTF-8", train_file=str(tmp_path / "latin.csv"))
    (tmp_path / "bad.jsonl").write_text('{"text": "a", "label": 1}\n{"text": \n')
    fails("cannot be read as JSONL", train_file=str(tmp_path / "bad.jsonl"))
    train = write(intents(), tmp_path / "train.csv")
    unseen = write(pd.DataFrame({"text": ["a"], "intent": ["refund"]}), tmp_path / "dev.csv")
    fails("label 'refund', never seen in training", train_file=train, validation_file=unseen, label_column="intent")
    fails("cannot load it from the Hugging Face hub", dataset_name=str(tmp_path / "no-such-dataset"))


def test_a_csv_with_string_labels_runs_all_stages_and_a_pipeline_shows_their_names(capsys, tmp_path, bert_dir):  # noqa: F811
    from transformers import AutoTokenizer, pipeline

    from powerbert import PowerModel

    train, dev = write(intents(48), tmp_path / "train.csv"), write(intents(12), tmp_path / "dev.csv")
    status, err = run_cli(capsys, "run", "--model", str(bert_dir), "--train-file", train, "--validation-file", dev,
                          "--text-columns", "text", "--label-column", "intent", "--output-dir", str(tmp_path / "out"),
                          "--epochs", "1", "--batch-size", "8")
    assert status == 0, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["task"] == tmp_path.name and summary["metric"] == "accuracy"
    assert summary["target_flops"] == 0.5 and summary["lambda"] is None  # your own data: a FLOP target by default
    assert {"accuracy", "f1"} <= set(summary["power_dev"])
    model = PowerModel.from_pretrained(tmp_path / "out" / "power")
    assert model.config.id2label == {0: "billing", 1: "login", 2: "other"}
    classify = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(tmp_path / "out" / "power"))
    assert classify("a fine film")[0]["label"] in WORDS


def test_the_cli_refuses_both_a_task_and_files_and_neither(capsys, tmp_path, bert_dir):  # noqa: F811
    train = write(intents(), tmp_path / "train.csv")
    assert_one_line(*run_cli(capsys, "evaluate", "--model", str(bert_dir), "--task", "sst2", "--train-file", train),
                    "not both")
    assert_one_line(*run_cli(capsys, "evaluate", "--model", str(bert_dir)), "give --task (GLUE), or your own data")
    assert_one_line(*run_cli(capsys, "evaluate", "--model", str(bert_dir), "--train-file", train,
                             "--text-columns", "text,x,y"), "one text column or a pair")
