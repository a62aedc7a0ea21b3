"""`powerbert bench` runs and writes a well-formed report (timings themselves are never asserted)."""

import json

import pytest
from conftest import tiny_classifier
from test_cli import bert_dir, glue  # noqa: F401  (fixtures)

from powerbert import PowerConfig, PowerModel
from powerbert.cli import main


def test_bench_times_each_variant_in_its_own_process_and_reports_metric_and_agreement(tmp_path, glue, bert_dir):  # noqa: F811
    power_dir = tmp_path / "power"
    model = PowerModel(tiny_classifier("bert"), PowerConfig([3, 2, 1]))
    from transformers import AutoTokenizer

    model.save_pretrained(power_dir, AutoTokenizer.from_pretrained(bert_dir))
    out = tmp_path / "report" / "bench.json"
    variants = ["plain", "power", "power-onednn", "power-int8", "power-ort", "power-ov-bf16", "power-ov-int8"]
    assert main(["bench", "--model", str(power_dir), "--task", "sst2", "--glue-dir", str(glue), "--variants",
                 ",".join(variants), "--batch-sizes", "1,2", "--repeats", "2", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [row["batch_size"] for row in report["results"]] == [1, 2]
    for row in report["results"]:
        assert list(row["variants"]) == variants
        for stats in row["variants"].values():
            assert len(stats["pass_seconds_all"]) == 2  # one pass per round, each round a new process
            assert "accuracy" in stats["dev_metrics"]
        # PyTorch on oneDNN's kernels and the ONNX export of the PoWER model agree with PyTorch
        assert row["variants"]["power-onednn"]["vs_torch_fp32"]["max_abs_logit_diff"] < 1e-4
        assert row["variants"]["power-ort"]["vs_torch_fp32"]["max_abs_logit_diff"] < 1e-4
        assert row["variants"]["power-ort"]["vs_torch_fp32"]["same_predictions"] == 1.0
        # OpenVINO: bf16 is a hint the report checks (fp32 on a CPU without bf16 units); int8 is calibrated NNCF
        ov = row["variants"]["power-ov-bf16"]
        assert ov["precision_run"] in ("bf16", "fp32")
        assert ov["vs_torch_fp32"]["max_abs_logit_diff"] < (1e-4 if ov["precision_run"] == "fp32" else 0.1)
        assert row["variants"]["power-ov-int8"]["vs_torch_fp32"]["max_abs_logit_diff"] < 0.05
        assert row["fastest_plain"] == "plain" and row["fastest_power"] in variants[1:]
        assert row["flop_ratio_power_vs_plain"] > 1 and row["fastest_power_vs_fastest_plain"] > 0
        assert row["efficiency_fastest"] == pytest.approx(
            row["fastest_power_vs_fastest_plain"] / row["flop_ratio_power_vs_plain"])
    assert report["same_predictions_across_batch_sizes"]
    markdown = out.with_suffix(".md").read_text()
    assert markdown.count("\n| ") == 1 + 2 * len(variants)  # header + a row per variant and batch size
    assert "fastest PoWER variant" in markdown
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_bench_rejects_an_unknown_variant(tmp_path, capsys):
    assert main(["bench", "--model", str(tmp_path), "--task", "sst2", "--variants", "plain,power-tpu"]) == 2
    assert "unknown power-tpu" in capsys.readouterr().err


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


def test_a_variant_that_fails_in_its_process_gives_a_one_line_error(tmp_path):
    from powerbert.errors import PowerBertError
    from powerbert.tools.bench import _run_rounds

    (tmp_path / "examples.json").write_text("[]")
    (tmp_path / "spec.json").write_text(json.dumps({"model": str(tmp_path / "missing"), "exports": {},
                                                    "examples": str(tmp_path / "examples.json"), "batch_sizes": [1]}))
    with pytest.raises(PowerBertError, match=r"^timing variant power failed: \w+Error: .*missing"):
        _run_rounds(["power"], tmp_path, repeats=1)


@pytest.mark.parametrize("extensions, with_7bit", [(["avx2"], True), (["avx2", "avx512f", "avx512_vnni"], False),
                                                   (["avx2", "avx_vnni"], False)])
def test_default_variants_take_7bit_int8_only_on_a_cpu_without_vnni(monkeypatch, extensions, with_7bit):
    from powerbert.tools import bench

    monkeypatch.setattr(bench, "cpu_description", lambda: {"model": "test", "extensions": extensions})
    variants = bench.default_variants().split(",")
    assert ("power-ort-int8w7" in variants and "plain-ort-int8w7" in variants) == with_7bit
    assert "plain-padded" not in variants and {"plain", "power", "plain-ort-int8", "power-ort-int8"} <= set(variants)
