"""`powerbert sweep` on a tiny random BERT: every kind of point, the report, and skipping finished points."""

import json

from test_cli import bert_dir, glue  # noqa: F401  (fixtures)
from test_data import write_glue

from powerbert.cli import main
from powerbert.tools.sweep import aggregate, baseline_at, headline_point


def test_sweep_runs_every_baseline_writes_the_report_and_resumes(tmp_path, glue, bert_dir):  # noqa: F811
    write_glue(glue, "SST-2", ["sentence", "label"], [["a fine film and long", "1"], ["dull and long", "0"]] * 8)
    argv = ["sweep", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue), "--output-dir",
            str(tmp_path / "sweep"), "--lambdas", "1e-2", "--truncations", "3", "--layers", "1", "--epochs", "1",
            "--batch-size", "8", "--lr-retention", "0.1", "--max-seq-length", "8", "--repeats", "1", "--seeds", "42,7"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "sweep" / "results.json").read_text())
    kinds = {p["name"]: p["kind"] for p in report["points"]}
    assert kinds == {"plain": "plain", "power-lambda0.01": "power", "random-lambda0.01": "random",
                     "layers1": "layers", "truncate3": "truncation", "truncate3-retrained": "truncation-retrained"}
    # every trained point ran once per seed (the default seed keeps the plain name) and is reported as their mean
    runs = {r["name"] for r in report["runs"]}
    assert {"power-lambda0.01", "power-lambda0.01-seed7", "truncate3-retrained-seed7", "layers1-seed7"} <= runs
    assert len(runs) == 10
    trained = [p for p in report["points"] if p["kind"] not in ("plain", "truncation")]
    assert all(p["seeds"] == [7, 42] and "accuracy_std" in p for p in trained)
    by_name = {p["name"]: p for p in report["points"]}
    assert by_name["plain"]["flop_fraction"] == 1.0 and by_name["layers1"]["flop_fraction"] == 1 / 3
    assert by_name["truncate3"]["flop_fraction"] < 1.0
    assert by_name["random-lambda0.01"]["retention"] == by_name["power-lambda0.01"]["retention"]
    assert all(p["dev_seconds"] > 0 for p in report["points"])
    page = (tmp_path / "sweep" / "results.md").read_text()
    assert page.split("## Every point")[1].count("\n| ") == 7  # header + six configurations
    assert " +- " in page
    assert "\n| sst2 | " in page.split("## At matched inference time")[0]  # the paper-layout row
    assert "\n| power-lambda0.01 | " in page.split("## At matched inference time")[1]
    assert (tmp_path / "sweep" / "results.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["-q", *argv]) == 0  # again, quiet: every point is skipped, and sweep.log still records it
    assert (tmp_path / "sweep" / "sweep.log").read_text().count("skip ") == 10
    # fraction mode into the same folder: its own PoWER and random points beside the count-mode ones
    fraction = [*argv[:-2], "--seeds", "42", "--retention-mode", "fraction"]
    assert main(fraction) == 0
    report = json.loads((tmp_path / "sweep" / "results.json").read_text())
    by_name = {p["name"]: p for p in report["points"]}
    assert by_name["power-fraction-lambda0.01"]["kind"] == "power-fraction"
    assert all(0 < rho <= 1 for rho in by_name["power-fraction-lambda0.01"]["retention"])
    assert by_name["random-fraction-lambda0.01"]["retention"] == by_name["power-fraction-lambda0.01"]["retention"]
    page = (tmp_path / "sweep" / "results.md").read_text()
    assert "\n| sst2 (fraction mode) | " in page
    row = next(line for line in page.splitlines() if line.startswith("| power-fraction-lambda0.01 |"))
    assert "| PoWER, other mode |" in page and row.count("|") == 10  # a column for the count-mode curve
    # timing again at batch 1 writes its own pages and keeps the batch-32 ones
    assert main([*fraction, "--timing-batch-size", "1"]) == 0
    assert json.loads((tmp_path / "sweep" / "results-batch1.json").read_text())["batch_size"] == 1
    assert json.loads((tmp_path / "sweep" / "results.json").read_text())["batch_size"] == 32
    assert (tmp_path / "sweep" / "results-batch1.png").is_file()


def test_sweep_takes_flop_targets_as_its_grid_and_the_head_tail_baseline(tmp_path, glue, bert_dir):  # noqa: F811
    write_glue(glue, "SST-2", ["sentence", "label"], [["a fine film and long and a fine film", "1"],
                                                      ["dull and long and dull and long", "0"]] * 8)
    argv = ["sweep", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue), "--output-dir",
            str(tmp_path / "sweep"), "--target-flops", "0.6,0.4", "--truncations", "", "--head-tail", "8",
            "--layers", "", "--no-random", "--epochs", "1", "--batch-size", "8", "--repeats", "1"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "sweep" / "results.json").read_text())
    by_name = {p["name"]: p for p in report["points"]}
    assert set(by_name) == {"plain", "power-target0.6", "power-target0.4", "headtail8-retrained"}
    for target in (0.6, 0.4):  # every point lands where it was asked for (tiny inputs: within a whole vector)
        assert abs(by_name[f"power-target{target:g}"]["flop_fraction"] - target) < 0.1
        assert by_name[f"power-target{target:g}"]["target_flops"] == target
    assert by_name["headtail8-retrained"]["kind"] == "head-tail-retrained" and by_name["headtail8-retrained"]["head_tail"]
    assert "head+tail" in (tmp_path / "sweep" / "results.md").read_text()


def test_head_tail_keeps_the_first_quarter_and_the_last_three_quarters():
    from powerbert.training.data import _head_tail

    assert _head_tail(list(range(20)), 10) == [0, 1, 2, 13, 14, 15, 16, 17, 18, 19]  # [CLS] 2 head, 6 tail, [SEP]
    assert _head_tail(list(range(8)), 10) == list(range(8))


def point(name: str, kind: str, seconds: float, accuracy: float, **extra) -> dict:
    return {"name": name, "kind": kind, "dev_seconds": seconds, "accuracy": accuracy, **extra}


def test_baselines_are_read_along_their_curves_which_end_at_the_plain_model():
    points = [point("plain", "plain", 10.0, 0.90), point("layers2", "layers", 4.0, 0.80),
              point("truncate8", "truncation", 2.0, 0.60), point("truncate16", "truncation", 6.0, 0.80)]
    assert abs(baseline_at(points, "layers", 7.0, "accuracy") - 0.85) < 1e-9  # halfway from layers2 to plain
    assert abs(baseline_at(points, "truncation", 4.0, "accuracy") - 0.70) < 1e-9
    assert baseline_at(points, "layers", 3.0, "accuracy") is None  # faster than any layers point
    assert baseline_at(points, "random", 5.0, "accuracy") is None  # no random points


def test_headline_is_the_fastest_power_point_within_one_point_else_the_most_accurate():
    plain = point("plain", "plain", 10.0, 0.900)
    fast, close = point("fast", "power", 2.0, 0.850), point("close", "power", 4.0, 0.895)
    assert headline_point([plain, fast, close, point("closer", "power", 5.0, 0.899)], "accuracy")[0] is close
    assert headline_point([plain, fast, point("worse", "power", 3.0, 0.80)], "accuracy")[0] is fast


def test_a_power_point_faster_than_a_whole_baseline_is_compared_with_its_fastest_point():
    from powerbert.tools.sweep import _baseline_cell

    points = [point("plain", "plain", 10.0, 0.90), point("layers2", "layers", 4.0, 0.80),
              point("power", "power", 3.0, 0.85, retention=[4, 2]), point("random", "random", 2.9, 0.70, retention=[4, 2])]
    assert _baseline_cell(points, "layers", points[2], "accuracy") == "faster than all; layers2: 80.00 (+5.00)"
    assert _baseline_cell(points, "random", points[2], "accuracy") == "70.00 (+15.00)"
    assert _baseline_cell(points, "truncation", points[2], "accuracy") == "-"


def test_seeds_of_one_configuration_become_one_point_with_mean_and_spread():
    runs = [point("power-lambda0.01-seed1", "power", 4.0, 0.84, group="power-lambda0.01", seed=1, retention=[9, 3],
                  **{"lambda": 0.01}),
            point("power-lambda0.01", "power", 2.0, 0.80, group="power-lambda0.01", seed=42, retention=[9, 4],
                  **{"lambda": 0.01}),
            point("plain", "plain", 10.0, 0.90, group="plain", seed=42)]
    merged = {p["name"]: p for p in aggregate(runs)}
    assert set(merged) == {"power-lambda0.01", "plain"}
    power = merged["power-lambda0.01"]
    assert power["seeds"] == [1, 42] and abs(power["accuracy"] - 0.82) < 1e-12 and power["dev_seconds"] == 3.0
    assert abs(power["accuracy_std"] - 0.02828427) < 1e-6  # sample standard deviation of 0.80 and 0.84
    assert merged["plain"]["accuracy_std"] == 0.0 and "seed" not in merged["plain"]
    assert power["lambda"] == 0.01 and "lambda_std" not in power  # a configuration value, not a measurement
    assert power["retention"] == [9, 4] and power["retentions"] == [[9, 4], [9, 3]]  # the default seed's first
