"""`powerbert bench` runs and writes a well-formed report (timings themselves are never asserted)."""

import json

from conftest import tiny_classifier
from test_cli import bert_dir, glue  # noqa: F401  (fixtures)

from powerbert import PowerConfig, PowerModel
from powerbert.cli import main


def test_bench_on_a_task_writes_json_markdown_and_plot(tmp_path, glue, bert_dir):  # noqa: F811
    power_dir = tmp_path / "power"
    model = PowerModel(tiny_classifier("bert"), PowerConfig([3, 2, 1]))
    from transformers import AutoTokenizer

    model.save_pretrained(power_dir, AutoTokenizer.from_pretrained(bert_dir))
    out = tmp_path / "report" / "bench.json"
    assert main(["bench", "--model", str(power_dir), "--task", "sst2", "--glue-dir", str(glue),
                 "--batch-sizes", "1,2", "--repeats", "2", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [row["batch_size"] for row in report["results"]] == [1, 2]
    for row in report["results"]:
        assert set(row["variants"]) == {"plain-dynamic", "plain-padded", "power"}
        assert len(row["variants"]["power"]["pass_seconds_all"]) == 2
        assert row["speedup_vs_plain-dynamic"] > 0 and row["flop_ratio_vs_plain-padded"] > 1
        assert "accuracy" in row["dev_metrics"]["power"]
    assert report["same_predictions_across_batch_sizes"]
    assert report["environment"]["torch_threads"] >= 1
    assert out.with_suffix(".md").read_text().count("\n| ") == 3  # header + two rows
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_synthetic_bench_derives_a_configuration_for_the_flop_target(tmp_path):
    arch = tmp_path / "arch"
    tiny_classifier("bert").config.save_pretrained(arch)
    out = tmp_path / "syn.json"
    assert main(["bench", "--synthetic", "--arch", str(arch), "--seq-lengths", "16,32", "--examples", "4",
                 "--batch-sizes", "2", "--repeats", "1", "--flop-fraction", "0.5", "--output", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert [row["seq_length"] for row in rows] == [16, 32]
    for row in rows:
        assert abs(row["flop_fraction"] - 0.5) < 0.1
        assert row["retention"] == sorted(row["retention"], reverse=True)
