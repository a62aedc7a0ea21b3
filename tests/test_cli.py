"""Bad input on the command line gets one clear line on stderr and exit status 2, never a traceback."""

import pytest
from conftest import tiny_classifier
from test_data import ROWS, write_glue
from transformers import GPT2Config, GPT2ForSequenceClassification

from powerbert.cli import main
from powerbert.modeling import PowerModel


def run_cli(capsys, *argv):
    capsys.readouterr()  # drop what the fixtures printed
    status = main(list(argv))
    err = capsys.readouterr().err.strip()
    return status, err


@pytest.fixture
def glue(tmp_path):
    write_glue(tmp_path / "glue", "SST-2", *ROWS["SST-2"])
    return tmp_path / "glue"


@pytest.fixture
def bert_dir(tmp_path):
    from transformers import BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "fine", "film", "dull", "and", "long"]))
    directory = tmp_path / "bert"
    tiny_classifier("bert").save_pretrained(directory)
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(directory)
    return directory


def assert_one_line(status, err, pattern):
    """Exit 2; the message is the last line of stderr (progress bars may come before it); no traceback."""
    assert status == 2
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("powerbert: error: ") and pattern in last, err


def test_unknown_task(capsys, glue, bert_dir):
    assert_one_line(*run_cli(capsys, "evaluate", "--task", "nope", "--model", str(bert_dir), "--glue-dir", str(glue)),
                    "unknown task 'nope'")


def test_missing_glue_folder(capsys, tmp_path, bert_dir):
    assert_one_line(*run_cli(capsys, "evaluate", "--task", "sst2", "--model", str(bert_dir),
                             "--glue-dir", str(tmp_path / "absent")), "missing GLUE file")


def test_missing_model_folder(capsys, tmp_path, glue):
    assert_one_line(*run_cli(capsys, "evaluate", "--task", "sst2", "--model", str(tmp_path / "absent"),
                             "--glue-dir", str(glue)), "cannot load a model")


def test_unsupported_model(capsys, tmp_path, glue):
    GPT2ForSequenceClassification(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)).save_pretrained(tmp_path / "gpt2")
    assert_one_line(*run_cli(capsys, "finetune", "--task", "sst2", "--model", str(tmp_path / "gpt2"),
                             "--glue-dir", str(glue), "--output-dir", str(tmp_path / "out")),
                    "'gpt2' is not a supported encoder; supported: albert, bert")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("retention, message", [("9,4,6", "non-increasing"), ("9,4", "model has 3 layers"),
                                                ("9,x", "comma-separated integers")])
def test_bad_retention_configuration(capsys, tmp_path, glue, bert_dir, retention, message):
    PowerModel.keep_all(tiny_classifier("bert"), 64).save_pretrained(tmp_path / "search")
    assert_one_line(*run_cli(capsys, "retrain", "--task", "sst2", "--model", str(tmp_path / "search"),
                             "--glue-dir", str(glue), "--output-dir", str(tmp_path / "out"),
                             "--retention", retention), message)


def test_empty_text(capsys, glue, bert_dir):
    write_glue(glue, "SST-2", ["sentence", "label"], [["a fine film", "1"], ["", "0"]])
    assert_one_line(*run_cli(capsys, "evaluate", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue)),
                    "empty text")


def test_max_seq_length_beyond_the_model(capsys, glue, bert_dir):
    assert_one_line(*run_cli(capsys, "evaluate", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue),
                             "--max-seq-length", "4096"), "exceeds the model's limit")


def test_evaluate_prints_metrics_as_json(capsys, glue, bert_dir):
    import json

    capsys.readouterr()
    assert main(["evaluate", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"accuracy", "flop_fraction"} and result["flop_fraction"] == 1.0
