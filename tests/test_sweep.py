"""`powerbert sweep` on a tiny random BERT: every kind of point, the report, and skipping finished points."""

import json

from test_cli import bert_dir, glue  # noqa: F401  (fixtures)
from test_data import write_glue

from powerbert.cli import main


def test_sweep_runs_every_baseline_writes_the_report_and_resumes(tmp_path, glue, bert_dir):  # noqa: F811
    write_glue(glue, "SST-2", ["sentence", "label"], [["a fine film and long", "1"], ["dull and long", "0"]] * 8)
    argv = ["sweep", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue), "--output-dir",
            str(tmp_path / "sweep"), "--lambdas", "1e-2", "--truncations", "3", "--layers", "1", "--epochs", "1",
            "--batch-size", "8", "--lr-retention", "0.1", "--max-seq-length", "8", "--repeats", "1"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "sweep" / "results.json").read_text())
    kinds = {p["name"]: p["kind"] for p in report["points"]}
    assert kinds == {"plain": "plain", "power-lambda0.01": "power", "random-lambda0.01": "random",
                     "layers1": "layers", "truncate3": "truncation"}
    by_name = {p["name"]: p for p in report["points"]}
    assert by_name["plain"]["flop_fraction"] == 1.0 and by_name["layers1"]["flop_fraction"] == 1 / 3
    assert by_name["truncate3"]["flop_fraction"] < 1.0
    assert by_name["random-lambda0.01"]["retention"] == by_name["power-lambda0.01"]["retention"]
    assert all(p["dev_seconds"] > 0 for p in report["points"])
    assert (tmp_path / "sweep" / "results.md").read_text().count("\n| ") == 5
    assert (tmp_path / "sweep" / "results.png").read_bytes()[:4] == b"\x89PNG"
    assert main(argv) == 0  # again: every point is skipped
    assert (tmp_path / "sweep" / "sweep.log").read_text().count("skip ") == 5
