"""Two CPU processes (torchrun, gloo) running all three stages: one writer, whole-dev evaluation, a loadable result."""

import json
import socket
import subprocess
import sys

import pytest
from test_cli import bert_dir  # noqa: F401  (fixture)
from test_data import write_glue

from powerbert import PowerModel
from powerbert.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def glue_odd(tmp_path):
    """SST-2 with 24 training sentences and 9 dev sentences: an odd dev set, which two processes cannot split evenly."""
    words = ["a fine film", "dull and long", "fine and fine", "long and dull", "a dull film", "a film"]
    train = [[words[i % 6], str(i % 2)] for i in range(24)]
    dev = [[words[(i + 1) % 6], str((i + 1) % 2)] for i in range(9)]
    header = ["sentence", "label"]
    write_glue(tmp_path / "glue", "SST-2", header, train, files=("train.tsv",))
    write_glue(tmp_path / "glue", "SST-2", header, dev, files=("dev.tsv",))
    return tmp_path / "glue"


def test_two_processes_run_all_stages_and_the_result_reloads(tmp_path, glue_odd, bert_dir, capsys):  # noqa: F811
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               str(free_port()), "-m", "powerbert.cli", "run", "--task", "sst2", "--model", str(bert_dir),
               "--glue-dir", str(glue_odd), "--output-dir", str(out), "--epochs", "1", "--batch-size", "4",
               "--lr", "1e-3", "--allow-collapse"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stdout.count('"complete": true') == 1  # the result is printed by the main process alone
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and len(summary["retention"]) == 3  # the tiny BERT has 3 layers
    assert not list(out.glob("*.tmp")) and not list(out.glob("*.checkpoints"))
    # the evaluation after stage 1 (Trainer, two processes) covered the 9 dev sentences exactly once:
    # it equals a one-process evaluation of the saved model
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out / "finetuned"), "--task", "sst2", "--glue-dir", str(glue_odd)]) == 0
    single = json.loads(capsys.readouterr().out)
    assert summary["finetune_dev"]["accuracy"] == pytest.approx(single["accuracy"])
    power = PowerModel.from_pretrained(out / "power")
    assert power.power_config.retention == summary["retention"]
    # run again: every stage is finished and skipped, and the summary stays the same
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["retention"] == summary["retention"]
