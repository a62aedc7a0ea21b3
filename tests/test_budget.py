"""The FLOP budget: the soft configuration's expected FLOPs, the multipliers' ascent, and a search that meets a
target on a tiny model."""

import json
import logging
import random

import pytest
import torch
from test_cli import assert_one_line, bert_dir, glue, run_cli  # noqa: F401  (fixtures)
from test_data import write_glue
from transformers import AutoConfig

from powerbert import PowerConfig, flop_fraction
from powerbert.algorithm.budget import FlopBudget, config_for_target, expected_flop_fraction, min_flop_fraction
from powerbert.training.data import TaskData
from powerbert.training.tasks import get_task

LENGTHS = [random.Random(0).randint(8, 120) for _ in range(300)]
HIDDEN, FFN = 384, 1536  # MiniLM's sizes


@pytest.mark.parametrize("mode, masses", [("count", [90, 60, 41, 20, 7, 1]), ("fraction", [1.0, 0.5, 0.25, 0.25, 0.125, 0.0])])
def test_expected_fraction_of_whole_masses_is_the_hard_configurations(mode, masses):
    lengths = [8, 16, 32, 64, 120] if mode == "fraction" else LENGTHS  # rho * n whole: ceil changes nothing
    hard = PowerConfig([max(m, 0.001) for m in masses], mode=mode)
    histogram = torch.tensor(sorted(set(lengths))), torch.tensor([lengths.count(n) for n in sorted(set(lengths))])
    soft = expected_flop_fraction(torch.tensor(masses, dtype=torch.float64), *histogram, HIDDEN, FFN, mode)
    assert float(soft) == pytest.approx(flop_fraction(lengths, HIDDEN, FFN, hard), rel=1e-9)


def test_the_expected_fraction_falls_when_masses_fall_and_its_gradient_reaches_every_eliminating_layer():
    budget = FlopBudget(0.5, LENGTHS, HIDDEN, FFN, "count", warmup_steps=10)
    masses = torch.tensor([100.0, 70.0, 40.0, 20.0, 10.0, 5.0], requires_grad=True)
    fraction = budget.expected_fraction(masses)
    fraction.backward()
    assert (masses.grad > 0).all()
    assert float(budget.expected_fraction(masses.detach() * 0.5)) < float(fraction.detach())


@pytest.mark.parametrize("shape", ["flops", "paper", "hold"])
def test_the_multipliers_climb_while_the_constraint_is_violated(shape):
    budget = FlopBudget(0.3, LENGTHS, HIDDEN, FFN, "count", warmup_steps=4, shape=shape)
    assert [budget.current_target(s) for s in (0, 2, 4, 9)] == pytest.approx([1.0, 0.65, 0.3, 0.3])
    masses = torch.full((6,), 120.0, requires_grad=True)  # keeps everything: fraction 1.0, above every target
    regulariser = (torch.arange(1, 7) * masses).sum()  # the paper's sum_j j * mass_j
    budget.regulariser_scale = float(regulariser.detach())
    optimizer = torch.optim.Adam(budget.parameters(), lr=0.1)
    for step in range(1, 6):
        optimizer.zero_grad()
        budget.penalty(masses, step, regulariser).backward(retain_graph=True)
        optimizer.step()
    climbed = budget.multipliers if shape == "flops" else budget.multipliers[:1]  # "paper" has one multiplier
    assert (climbed > 0.4).all()  # ascent: five steps of about 0.1 up, not down
    if shape != "flops":  # the masses feel the paper's weights, later layers more
        pull = masses.grad.tolist()
        assert pull == sorted(pull) and pull[-1] == pytest.approx(6 * pull[0])


def test_hold_stops_pulling_once_the_target_holds_where_paper_goes_on_until_its_multiplier_turns():
    masses = torch.full((6,), 5.0, requires_grad=True)  # far below 0.5 of the FLOPs
    pulls = {}
    for shape in ("paper", "hold"):
        budget = FlopBudget(0.5, LENGTHS, HIDDEN, FFN, "count", warmup_steps=1, shape=shape)
        with torch.no_grad():
            budget.multipliers[0] = 1.0  # what the climb to the target left
        masses.grad = None
        regulariser = (torch.arange(1, 7) * masses).sum()
        budget.penalty(masses, 5, regulariser).backward()
        pulls[shape] = masses.grad.clone()
        assert float(budget.multipliers.grad[0]) > 0  # the multiplier still falls (gradients reversed: ascent)
    assert (pulls["paper"] > 0).all() and (pulls["hold"] == 0).all()


@pytest.mark.parametrize("mode, masses", [("count", [80.3, 61.2, 33.9, 12.4, 4.1, 1.7]),
                                          ("fraction", [0.9, 0.6, 0.31, 0.2, 0.05, 0.02])])
@pytest.mark.parametrize("target", [0.6, 0.45, 0.3])
def test_the_configuration_from_the_masses_meets_the_target(mode, masses, target):
    retention, scale, reached = config_for_target(masses, LENGTHS, HIDDEN, FFN, target, mode)
    assert abs(reached - target) < 0.03
    assert reached == pytest.approx(flop_fraction(LENGTHS, HIDDEN, FFN, PowerConfig(retention, mode=mode)))
    assert retention == sorted(retention, reverse=True)


def test_the_smallest_reachable_fraction_keeps_cls_alone():
    floor = min_flop_fraction(LENGTHS, HIDDEN, FFN, 6)
    assert 0 < floor < 1 / 6  # the first layer's attention, over six layers
    retention, _, reached = config_for_target([50.0] * 6, LENGTHS, HIDDEN, FFN, floor / 2, "count")
    assert retention == [1] * 6 and reached == pytest.approx(floor)


TINY_LENGTHS = [random.Random(1).randint(10, 60) for _ in range(48)]  # words, so tokens: +[CLS] +[SEP]


@pytest.fixture
def varied_glue(glue):  # noqa: F811
    """SST-2-shaped data whose inputs run from 12 to 62 tokens, so that elimination has work to do."""
    words = ["a", "fine", "film", "and", "long", "dull"]
    rng = random.Random(0)
    rows = []
    for i, length in enumerate(TINY_LENGTHS):
        label = i % 2
        rows.append([" ".join(rng.choice(words[:3] if label else words[3:]) for _ in range(length)), str(label)])
    write_glue(glue, "SST-2", ["sentence", "label"], rows)
    return glue


@pytest.mark.parametrize("mode,shape", [("count", "flops"), ("fraction", "flops"), ("count", "paper")])
def test_a_search_with_a_target_meets_it_on_a_tiny_model(capsys, tmp_path, varied_glue, bert_dir, mode, shape,  # noqa: F811
                                                         caplog):
    with caplog.at_level(logging.INFO, logger="powerbert"):
        status, err = run_cli(capsys, "search", "--task", "sst2", "--model", str(bert_dir), "--glue-dir",
                              str(varied_glue), "--output-dir", str(tmp_path / "search"), "--max-seq-length", "64",
                              "--target-flops", "0.5", "--epochs", "3", "--batch-size", "8",
                              "--retention-mode", mode, "--budget-shape", shape)
    assert status == 0, err
    config = PowerConfig.from_pretrained(tmp_path / "search")
    metadata = config.metadata
    assert metadata["target_flops"] == 0.5 and abs(metadata["reached_flops"] - 0.5) < 0.03
    assert metadata["scaled_on"] == "validation"
    assert metadata["budget_shape"] == shape
    if shape == "paper":  # the paper's pull: later layers keep no more than earlier ones, and fewer overall
        masses = config.masses
        assert masses[-1] < masses[0]
    assert metadata["expected_flops_soft"] < 0.9  # the multipliers pushed the soft configuration down
    path = metadata["multiplier_path"]
    assert path[-1]["target"] == 0.5 and path[-1]["lambda_1"] > 0
    assert "FLOP budget: target 0.500" in caplog.text
    assert "lambda" not in metadata  # no lambda was used
    retention = json.loads((tmp_path / "search" / "power_config.json").read_text())["retention"]
    assert retention == config.retention


def test_a_target_that_cannot_be_met_stops_with_one_line(capsys, tmp_path, varied_glue, bert_dir):  # noqa: F811
    assert_one_line(*run_cli(capsys, "search", "--task", "sst2", "--model", str(bert_dir), "--glue-dir",
                             str(varied_glue), "--output-dir", str(tmp_path / "search"), "--target-flops", "0.01"),
                    "--target-flops 0.01 cannot be reached")
    assert not (tmp_path / "search").exists()


def test_a_target_close_to_the_floor_warns(capsys, tmp_path, varied_glue, bert_dir, caplog):  # noqa: F811
    floor = min_flop_fraction([n + 2 for n in TINY_LENGTHS], 32, 64, 3)  # the tiny BERT: hidden 32, 3 layers
    with caplog.at_level(logging.WARNING, logger="powerbert"):
        status, _ = run_cli(capsys, "search", "--task", "sst2", "--model", str(bert_dir), "--glue-dir",
                            str(varied_glue), "--output-dir", str(tmp_path / "search"), "--target-speedup",
                            f"{1 / (floor + 0.01):.4f}", "--epochs", "1", "--batch-size", "16")
    assert status == 0
    assert "close to the least any configuration reaches" in caplog.text


def test_a_search_too_short_to_reach_the_target_warns(capsys, tmp_path, varied_glue, bert_dir, caplog):  # noqa: F811
    with caplog.at_level(logging.WARNING, logger="powerbert"):
        status, _ = run_cli(capsys, "search", "--task", "sst2", "--model", str(bert_dir), "--glue-dir",
                            str(varied_glue), "--output-dir", str(tmp_path / "search"), "--target-flops", "0.4",
                            "--epochs", "0.2", "--batch-size", "16")
    assert status == 0
    metadata = PowerConfig.from_pretrained(tmp_path / "search").metadata
    assert metadata["expected_flops_soft"] > 0.5 and abs(metadata["reached_flops"] - 0.4) < 0.03  # scaled down
    assert "a longer search (--search-epochs)" in caplog.text


@pytest.mark.parametrize("argv, message", [
    (["--target-flops", "0.5", "--lambda", "1e-3"], "give one"),
    (["--target-flops", "0.5", "--target-speedup", "2"], "say the same thing"),
    (["--target-flops", "1.5"], "a fraction in (0, 1)"),
    (["--target-speedup", "0.5"], "a number above 1")])
def test_conflicting_or_bad_targets(capsys, tmp_path, glue, bert_dir, argv, message):  # noqa: F811
    assert_one_line(*run_cli(capsys, "search", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue),
                             "--output-dir", str(tmp_path / "search"), *argv), message)


def test_the_configuration_meets_the_target_on_the_validation_inputs(capsys, tmp_path, glue, bert_dir):  # noqa: F811
    """Training inputs half as long as the validation inputs (as SST-2's phrases and sentences): the counts meet the
    target on the validation inputs, and on the shorter training inputs the same counts keep more."""
    rng = random.Random(2)

    def rows(low, high):
        return [[" ".join(rng.choice(["a", "fine", "film"] if i % 2 else ["and", "long", "dull"])
                          for _ in range(rng.randint(low, high))), str(i % 2)] for i in range(48)]
    write_glue(glue, "SST-2", ["sentence", "label"], rows(8, 24), files=("train.tsv",))
    write_glue(glue, "SST-2", ["sentence", "label"], rows(30, 60), files=("dev.tsv",))
    status, err = run_cli(capsys, "search", "--task", "sst2", "--model", str(bert_dir), "--glue-dir", str(glue),
                          "--output-dir", str(tmp_path / "search"), "--max-seq-length", "64", "--target-flops", "0.5",
                          "--epochs", "2", "--batch-size", "8")
    assert status == 0, err
    config = PowerConfig.from_pretrained(tmp_path / "search")
    data = TaskData.for_model(get_task("sst2"), str(bert_dir), glue_dir=str(glue), max_seq_length=64)
    bert = AutoConfig.from_pretrained(bert_dir)
    on_dev = flop_fraction(data.lengths("dev"), bert.hidden_size, bert.intermediate_size, config)
    on_train = flop_fraction(data.lengths("train"), bert.hidden_size, bert.intermediate_size, config)
    assert abs(on_dev - 0.5) < 0.03 and on_train > 0.55
    assert config.metadata["reached_flops"] == pytest.approx(on_dev, abs=1e-3)
    assert config.metadata["reached_flops_train"] == pytest.approx(on_train, abs=1e-3)
