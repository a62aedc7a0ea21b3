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


@pytest.mark.parametrize("retention, mode, message", [
    ("9,4,6", "count", "non-increasing"), ("9,4", "count", "model has 3 layers"),
    ("9,x", "count", "comma-separated numbers"), ("0.5,0.3,0.2", "count", "need --retention-mode fraction"),
    ("0.5,0.6,0.2", "fraction", "non-increasing"), ("0.5,0.3,2", "fraction", "in (0, 1]")])
def test_bad_retention_configuration(capsys, tmp_path, glue, bert_dir, retention, mode, message):
    PowerModel.keep_all(tiny_classifier("bert"), 64).save_pretrained(tmp_path / "search")
    assert_one_line(*run_cli(capsys, "retrain", "--task", "sst2", "--model", str(tmp_path / "search"),
                             "--glue-dir", str(glue), "--output-dir", str(tmp_path / "out"),
                             "--retention", retention, "--retention-mode", mode), message)
    assert not (tmp_path / "out").exists()


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


def train_args(tmp_path, glue, model, *extra):
    return ("run", "--task", "sst2", "--model", str(model), "--glue-dir", str(glue),
            "--output-dir", str(tmp_path / "out"), *extra)


@pytest.mark.parametrize("extra, message", [
    (("--lr", "0"), "--lr 0.0 must be a positive number"),
    (("--lr", "nan"), "--lr nan must be a positive number"),
    (("--search-lr", "-0.00001"), "--search-lr -1e-05 must be a positive number"),
    (("--batch-size", "0"), "--batch-size 0 must be at least 1"),
    (("--retrain-batch-size", "-4"), "--retrain-batch-size -4 must be at least 1"),
    (("--epochs", "0"), "--epochs 0.0 must be a positive number"),
    (("--lambda", "-1"), "--lambda -1.0 must be a number >= 0"),
    (("--lr-retention", "inf"), "--lr-retention inf must be a positive number"),
    (("--max-train-samples", "0"), "--max-train-samples 0 must be at least 1"),
    (("--max-seq-length", "1"), "--max-seq-length 1 must be at least 2"),
    (("--seed", "-3"), "--seed -3 must be a number >= 0"),
    (("--gradual", "0.5,0.6"), "--gradual 0.5,0.6: give FLOP fractions from the highest down"),
    (("--gradual", "0.6,1.5"), "--gradual '0.6,1.5': 1.5 must be a fraction in (0, 1)"),
    (("--target-flops", "0.5", "--gradual", "0.6,0.4"), "each above the target 0.5"),
])
def test_out_of_range_numbers_are_one_line_and_make_no_folder(capsys, tmp_path, glue, bert_dir, extra, message):
    assert_one_line(*run_cli(capsys, *train_args(tmp_path, glue, bert_dir, *extra)), message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra, message", [
    (("--layers", "0,2"), "--layers '0,2': 0 must be at least 1"),
    (("--truncations", "16,0"), "--truncations '16,0': 0 must be at least 2"),
    (("--lambdas", "1e-3,0"), "--lambdas '1e-3,0': 0.0 must be a positive number"),
    (("--lambdas", ""), "--lambdas '' must list at least one value"),
    (("--lambdas", "1e-3,1e-3"), "names a value twice"),
    (("--lambdas", "1e-3;3e-3"), "must be comma-separated numbers"),
    (("--repeats", "0"), "--repeats 0 must be at least 1"),
])
def test_bad_sweep_lists_are_one_line_and_make_no_folder(capsys, tmp_path, glue, bert_dir, extra, message):
    assert_one_line(*run_cli(capsys, "sweep", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue),
                             "--output-dir", str(tmp_path / "out"), *extra), message)
    assert not (tmp_path / "out").exists()


def test_bench_rejects_bad_lists(capsys, tmp_path):
    assert_one_line(*run_cli(capsys, "bench", "--synthetic", "--batch-sizes", "1,0", "--output",
                             str(tmp_path / "b.json")), "--batch-sizes '1,0': 0 must be at least 1")
    assert_one_line(*run_cli(capsys, "bench", "--synthetic", "--output", str(tmp_path)), "is a folder")


def test_an_output_dir_that_is_a_file(capsys, tmp_path, glue, bert_dir):
    (tmp_path / "out").write_text("keep me")
    assert_one_line(*run_cli(capsys, *train_args(tmp_path, glue, bert_dir)), "--output-dir")
    assert (tmp_path / "out").read_text() == "keep me"


def half_copies(bert_dir, tmp_path):
    """What a careless copy of a model folder looks like: each case and the words its error must contain."""
    import shutil

    cases = {}
    for name, drop in (("no-config", "config.json"), ("no-weights", "model.safetensors")):
        shutil.copytree(bert_dir, tmp_path / name)
        (tmp_path / name / drop).unlink()
        cases[name] = "no config.json" if drop == "config.json" else "has no weights"
    for name, cut in (("truncated", 0.5), ("garbage", 0.0)):
        shutil.copytree(bert_dir, tmp_path / name)
        weights = tmp_path / name / "model.safetensors"
        data = weights.read_bytes()
        weights.write_bytes(data[: int(len(data) * cut)] if cut else b"\x00" * 64)
        cases[name] = "model.safetensors is corrupt or truncated"
    cases["a-file"] = "is a file"
    (tmp_path / "a-file").write_text("not a model")
    return cases


def test_half_copied_or_corrupt_model_folders_are_one_line_naming_the_problem(capsys, tmp_path, glue, bert_dir):
    for name, message in half_copies(bert_dir, tmp_path).items():
        for command in (train_args(tmp_path, glue, tmp_path / name),
                        ("evaluate", "--task", "sst2", "--model", str(tmp_path / name), "--glue-dir", str(glue)),
                        ("export", "--model", str(tmp_path / name), "--output", str(tmp_path / "out"), "--plain")):
            assert_one_line(*run_cli(capsys, *command), message)
            assert not (tmp_path / "out").exists()


def test_corrupt_files_inside_a_model_folder_are_one_line_naming_the_file(capsys, tmp_path, glue, bert_dir):
    import shutil

    for name, content, message in (("config.json", "{not json", "cannot load a model"),
                                   ("tokenizer.json", "{not json", "cannot load a tokenizer"),
                                   ("power_config.json", '{"retention": [3, 2', "power_config.json is corrupt")):
        broken = tmp_path / name
        shutil.copytree(bert_dir, broken)
        if name == "power_config.json":
            PowerModel.keep_all(tiny_classifier("bert"), 8).power_config.save_pretrained(broken)
        (broken / name).write_text(content)
        assert_one_line(*run_cli(capsys, "evaluate", "--task", "sst2", "--model", str(broken), "--glue-dir", str(glue)),
                        message)


def test_a_run_into_the_folder_of_another_run_is_refused(capsys, tmp_path, glue, bert_dir):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"task": "mrpc", "model": "elsewhere"}')
    assert_one_line(*run_cli(capsys, *train_args(tmp_path, glue, bert_dir)), "holds a run of task mrpc from elsewhere")
    (out / "summary.json").write_text('{"task": ')
    assert_one_line(*run_cli(capsys, *train_args(tmp_path, glue, bert_dir)), "summary.json is corrupt")
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
