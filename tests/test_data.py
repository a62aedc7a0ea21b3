import numpy as np
import pytest

from powerbert import PowerBertError
from powerbert.training.data import load_glue
from powerbert.training.tasks import TASKS, compute_metrics, get_task

# Two rows per task in each task's own GLUE layout (header-less for CoLA, a byte-order mark for MRPC).
ROWS = {
    "CoLA": (None, [["gj04", "1", "", "The book is red."], ["gj04", "0", "*", "Book the red is."]]),
    "SST-2": (["sentence", "label"], [["a fine film", "1"], ["dull and long", "0"]]),
    "MRPC": (["\ufeffQuality", "#1 ID", "#2 ID", "#1 String", "#2 String"],
             [["1", "1", "2", "He left.", "He went away."], ["0", "3", "4", "It rains.", "Cats sleep."]]),
    "STS-B": (["index", "genre", "sentence1", "sentence2", "score"],
              [["0", "main", "A man sings.", "A man is singing.", "4.8"], ["1", "main", "A dog.", "Rain.", "0.2"]]),
    "QQP": (["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
            [["0", "1", "2", "How old?", "What age?", "1"], ["1", "3", "4", "Why?", "Where?", "0"]]),
    "MNLI": (["index", "sentence1", "sentence2", "gold_label"],
             [["0", "A cat naps.", "An animal rests.", "entailment"], ["1", "A cat naps.", "A dog runs.", "neutral"]]),
    "QNLI": (["index", "question", "sentence", "label"],
             [["0", "Who won?", "Ann won.", "entailment"], ["1", "Who won?", "It rained.", "not_entailment"]]),
    "RTE": (["index", "sentence1", "sentence2", "label"],
            [["0", "Ann won.", "Ann lost.", "not_entailment"], ["1", "Ann won.", "Ann won it.", "entailment"]]),
    "WNLI": (["index", "sentence1", "sentence2", "label"],
             [["0", "It fell.", "The cup fell.", "1"], ["1", "It fell.", "The man fell.", "0"]]),
}


def write_glue(root, folder, header, rows, files=("train.tsv", "dev.tsv", "dev_matched.tsv", "dev_mismatched.tsv")):
    (root / folder).mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + rows
    for name in files:
        (root / folder / name).write_text("".join("\t".join(row) + "\n" for row in lines), encoding="utf-8")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_glue_task_loads_from_its_folder(tmp_path, name):
    task = TASKS[name]
    write_glue(tmp_path, task.folder, *ROWS[task.folder])
    data = load_glue(task, tmp_path)
    assert len(data["train"]) == 2 and len(data["validation"]) == 2
    assert ("text_b" in data["train"].column_names) == (len(task.text_columns) == 2)
    labels = data["train"]["label"]
    assert labels == [4.8, 0.2] if task.is_regression else all(0 <= y < task.num_labels for y in labels)


def test_glue_dir_from_environment(tmp_path, monkeypatch):
    write_glue(tmp_path, "SST-2", *ROWS["SST-2"])
    monkeypatch.setenv("GLUE_DIR", str(tmp_path))
    assert load_glue(get_task("SST-2"))["train"]["text_a"] == ["a fine film", "dull and long"]


def test_missing_file_empty_text_and_bad_label_are_clear_errors(tmp_path):
    task = get_task("sst2")
    with pytest.raises(PowerBertError, match="missing GLUE file .*SST-2/train.tsv"):
        load_glue(task, tmp_path)
    write_glue(tmp_path, "SST-2", ["sentence", "label"], [["ok", "1"], ["  ", "0"]])
    with pytest.raises(PowerBertError, match="line 3: empty text"):
        load_glue(task, tmp_path)
    write_glue(tmp_path, "SST-2", ["sentence", "label"], [["ok", "positive"]])
    with pytest.raises(PowerBertError, match="unknown label 'positive'"):
        load_glue(task, tmp_path)


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(PowerBertError, match="unknown task 'sst3'; known tasks: cola, sst2, mrpc"):
        get_task("sst3")


def test_metrics_per_task():
    logits = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.9]])
    labels = np.array([0, 1, 1, 1])
    assert compute_metrics(get_task("sst2"), logits, labels) == {"accuracy": 0.75}
    mrpc = compute_metrics(get_task("mrpc"), logits, labels)
    assert mrpc["f1"] == pytest.approx(0.8)
    cola = compute_metrics(get_task("cola"), logits, labels)
    assert cola["matthews_correlation"] == pytest.approx(0.5773502691896258)
    stsb = compute_metrics(get_task("stsb"), np.array([[1.0], [2.0], [3.0]]), np.array([1.5, 2.0, 4.0]))
    assert stsb["spearman"] == pytest.approx(1.0) and 0.9 < stsb["pearson"] < 1.0
