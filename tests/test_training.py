"""The Trainer-based stages on a tiny random BERT: resume after a kill, atomic outputs, search bookkeeping."""

import json
import logging

import numpy as np
import pytest
from test_cli import bert_dir, glue  # noqa: F401  (fixtures)
from test_data import write_glue
from transformers import TrainerCallback

import powerbert.training.stages as training
from powerbert import PowerConfig, PowerModel
from powerbert.training.data import TaskData
from powerbert.training.stages import (
    StageOptions,
    finetune,
    retrain,
    retrain_gradually,
    retention_reach,
    search,
    warn_if_retention_cannot_reach_zero,
)
from powerbert.training.tasks import get_task


@pytest.fixture
def data(glue, bert_dir):  # noqa: F811
    rows = [["a fine film", "1"], ["dull and long", "0"]] * 8
    write_glue(glue, "SST-2", ["sentence", "label"], rows)
    return TaskData.for_model(get_task("sst2"), str(bert_dir), glue_dir=str(glue), max_seq_length=16)


class Killed(Exception):
    pass


class KillAfterFirstCheckpoint(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        raise Killed


# an epoch is 2 steps: the first checkpoint comes at its end, or after step 1 when checkpoints are timed that often
@pytest.mark.parametrize("minutes, checkpoint", [(30.0, "checkpoint-2"), (1e-6, "checkpoint-1")])
def test_a_killed_stage_resumes_from_its_last_checkpoint(tmp_path, monkeypatch, caplog, data, bert_dir,  # noqa: F811
                                                         minutes, checkpoint):
    stage = StageOptions(epochs=2, learning_rate=1e-3, batch_size=8, checkpoint_minutes=minutes)
    make_trainer = training._trainer
    monkeypatch.setattr(training, "_trainer", lambda *a, **k: make_trainer(*a, callbacks=[KillAfterFirstCheckpoint()], **k))
    with pytest.raises(Killed):
        finetune(str(bert_dir), data, tmp_path / "finetuned", stage)
    assert not (tmp_path / "finetuned").exists()  # no half-written output
    assert list((tmp_path / "finetuned.checkpoints").glob("checkpoint-*"))
    monkeypatch.setattr(training, "_trainer", make_trainer)
    with caplog.at_level(logging.INFO, logger="powerbert"):
        metrics = finetune(str(bert_dir), data, tmp_path / "finetuned", stage)
    assert "resuming from" in caplog.text and f"{checkpoint}\n" in caplog.text
    assert "accuracy" in metrics and (tmp_path / "finetuned" / "config.json").is_file()
    assert not (tmp_path / "finetuned.checkpoints").exists()


def test_search_writes_a_loadable_power_model_with_masses(tmp_path, data, bert_dir, caplog):  # noqa: F811
    stage = StageOptions(epochs=1, learning_rate=1e-4, batch_size=4)
    with caplog.at_level(logging.WARNING, logger="powerbert"):
        config = search(str(bert_dir), data, tmp_path / "search", stage, lambda_=1e-2, lr_retention=0.1)
    assert len(config.masses) == 3 and all(0 <= m <= 16 for m in config.masses)
    # 4 steps at up to 0.1 per step: unreached ranks fall, the mass drops below the maximum length
    assert config.masses[-1] < 16
    # ... but no parameter can get near 0 in 4 steps, and the search said so before training
    assert "the search has 4 steps" in caplog.text and "--lr-retention 0.75 or more" in caplog.text
    reach = retention_reach(0.1, 4)
    parameters = json.loads((tmp_path / "search" / "retention_parameters.json").read_text())
    assert min(min(layer) for layer in parameters) >= 1 - 1.5 * reach
    loaded = PowerModel.from_pretrained(tmp_path / "search")
    assert loaded.power_config.retention == config.retention
    metrics = retrain(str(tmp_path / "search"), data, tmp_path / "power", stage, power_config=PowerConfig([6, 4, 2]))
    assert "accuracy" in metrics
    assert PowerModel.from_pretrained(tmp_path / "power").power_config.retention == [6, 4, 2]


def test_a_search_folder_loads_as_its_soft_model_and_teaches_with_it(tmp_path, data, bert_dir):  # noqa: F811
    from powerbert.modeling import load_soft_search
    from powerbert.training.stages import predict, soft_targets

    search(str(bert_dir), data, tmp_path / "search", StageOptions(1, 1e-4, 4), lambda_=1e-2, lr_retention=0.1)
    parameters = json.loads((tmp_path / "search" / "retention_parameters.json").read_text())
    soft = load_soft_search(tmp_path / "search")
    assert [s.retention.tolist() for s in soft.soft_extract] == [pytest.approx(layer) for layer in parameters]
    # inputs longer than the search's longest (another training subset): the ranks beyond take the last one's r
    longer = load_soft_search(tmp_path / "search", max_length=20).soft_extract[0].retention.tolist()
    assert longer == pytest.approx(parameters[0] + parameters[0][-1:] * 4)
    teacher_logits = predict(soft, data, split="train")
    targets = np.array(soft_targets(str(tmp_path / "search"), data)["labels"])
    np.testing.assert_array_equal(targets, teacher_logits)  # the soft model teaches, not the hard one:
    hard = predict(PowerModel.from_pretrained(tmp_path / "search"), data, split="train")
    assert np.abs(hard - teacher_logits).max() > 1e-7  # (a tiny random model's logits differ little)
    # every r_j at 1: the soft model is the search's weights keeping every vector
    (tmp_path / "search" / "retention_parameters.json").write_text(json.dumps([[1.0] * len(p) for p in parameters]))
    keep_all = PowerModel.from_pretrained(tmp_path / "search")
    keep_all.set_retention(PowerConfig([16, 16, 16]))
    np.testing.assert_allclose(predict(load_soft_search(tmp_path / "search"), data, split="train"),
                               predict(keep_all, data, split="train"), atol=1e-5)
    (tmp_path / "search" / "retention_parameters.json").write_text("[[1.0")
    with pytest.raises(training.PowerBertError, match="cannot read the search's retention parameters"):
        load_soft_search(tmp_path / "search")


def test_gradual_retraining_steps_down_through_the_fractions_to_the_final_configuration(tmp_path, glue, bert_dir,  # noqa: F811
                                                                                        caplog):
    search_dir = tmp_path / "search"
    rows = [["a fine film with a long and winding plot", "1"], ["dull and long and slow and grey", "0"]] * 8
    write_glue(glue, "SST-2", ["sentence", "label"], rows)
    longer = TaskData.for_model(get_task("sst2"), str(bert_dir), glue_dir=str(glue), max_seq_length=16)
    search(str(bert_dir), longer, search_dir, StageOptions(1, 1e-4, 4), lambda_=1e-2, lr_retention=0.3)
    final = PowerConfig([6, 3, 1])
    with caplog.at_level(logging.INFO, logger="powerbert"):
        metrics = retrain(str(search_dir), longer, tmp_path / "power", StageOptions(1, 1e-4, 4), power_config=final,
                          gradual=[0.9, 0.75])
    steps = metrics["gradual"]
    assert [s["flop_fraction"] for s in steps] == sorted((s["flop_fraction"] for s in steps), reverse=True)
    assert steps[0]["flop_fraction"] == pytest.approx(0.9, abs=0.1) and "accuracy" in steps[1]["dev"]
    assert caplog.text.count("gradual re-training: 1 epoch at") == 2
    assert PowerModel.from_pretrained(tmp_path / "power").power_config.retention == [6, 3, 1]
    assert not (tmp_path / "power.gradual").exists()  # the steps' folders are gone once the last is published
    for fractions in ([0.75, 0.9], [0.9, 0.2]):  # not from the highest down; below the final configuration's
        with pytest.raises(training.PowerBertError, match="give FLOP fractions from the highest down"):
            retrain(str(search_dir), longer, tmp_path / "again", StageOptions(1, 1e-4, 4), power_config=final,
                    gradual=fractions)
    with pytest.raises(training.PowerBertError, match="holds no search masses"):
        retrain(str(tmp_path / "power"), longer, tmp_path / "again", StageOptions(1, 1e-4, 4), gradual=[0.9])
    # a step already done (a killed run) is not trained again
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="powerbert"):
        first = retrain_gradually(str(search_dir), longer, tmp_path / "steps", StageOptions(1, 1e-4, 4), 42, final, [0.9])
        again = retrain_gradually(str(search_dir), longer, tmp_path / "steps", StageOptions(1, 1e-4, 4), 42, final, [0.9])
    assert caplog.text.count("gradual re-training: 1 epoch at") == 1 and again == first


def test_a_search_long_enough_to_reach_zero_gives_no_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="powerbert"):
        warn_if_retention_cannot_reach_zero(1e-2, 230)  # MRPC: 2 epochs of 115 steps
    assert caplog.text == ""
    with caplog.at_level(logging.WARNING, logger="powerbert"):
        warn_if_retention_cannot_reach_zero(1e-2, 156)  # RTE: 2 epochs of 78 steps
    assert "can fall by 0.78 at most" in caplog.text


def test_a_collapsed_search_stops_with_the_likely_fix():
    with pytest.raises(training.PowerBertError, match="collapsed.*smaller --lambda or --lr-retention"):
        training.check_not_collapsed(PowerConfig([3, 1, 1], masses=[3.2, 0.4, 0.1]))
    training.check_not_collapsed(PowerConfig([30, 20, 2], masses=[30.5, 20.1, 2.2]))


def test_run_pipeline_writes_the_summary_and_skips_finished_stages(tmp_path, glue, bert_dir, caplog):  # noqa: F811
    rows = [["a fine film", "1"], ["dull and long", "0"]] * 8
    write_glue(glue, "SST-2", ["sentence", "label"], rows)
    stage = StageOptions(epochs=1, learning_rate=1e-4, batch_size=8)
    stages = {"finetune": stage, "search": stage, "retrain": stage}
    args = (str(bert_dir), get_task("sst2"), tmp_path / "out", stages, 1e-3, 1e-3)
    summary = training.run_pipeline(*args, glue_dir=str(glue), max_seq_length=16)
    for key in ("finetune_dev", "retrain_dev", "power_dev", "retention", "retention_masses", "flop_fraction"):
        assert key in summary, key
    assert summary["complete"] and set(summary["stage_seconds"]) == {"finetune", "search", "retrain"}
    assert summary["power_dev"]["accuracy"] == summary["retrain_dev"]["accuracy"]
    with caplog.at_level(logging.INFO, logger="powerbert"):
        again = training.run_pipeline(*args, glue_dir=str(glue), max_seq_length=16)
    assert again["stage_seconds"] == summary["stage_seconds"]  # nothing re-ran


def test_distillation_trains_on_the_teachers_outputs_not_the_labels(tmp_path, data, bert_dir):  # noqa: F811
    import torch

    from powerbert.modeling import load_classifier
    from powerbert.training.stages import predict

    teacher = load_classifier(bert_dir)
    with torch.no_grad():  # a teacher that says "negative" to everything, whatever the labels say
        teacher.classifier.weight.zero_()
        teacher.classifier.bias.copy_(torch.tensor([4.0, -4.0]))
    teacher.save_pretrained(tmp_path / "teacher")
    PowerModel.keep_all(load_classifier(bert_dir), 16).save_pretrained(tmp_path / "search", data.tokenizer)
    retrain(str(tmp_path / "search"), data, tmp_path / "power", StageOptions(4, 1e-3, 8),
            teacher=str(tmp_path / "teacher"))
    student = PowerModel.from_pretrained(tmp_path / "power")
    assert (predict(student, data, split="train").argmax(-1) == 0).all()  # the labels are half positive
    # soft targets: cross-entropy against the teacher's probabilities
    logits, targets = torch.randn(3, 2), torch.randn(3, 2)
    expected = -(targets.softmax(-1) * logits.log_softmax(-1)).sum(-1).mean()
    torch.testing.assert_close(student._loss(logits, targets), expected)


def test_predict_batches_by_length_and_answers_in_the_splits_order(glue, bert_dir):  # noqa: F811
    import numpy as np
    import torch

    from powerbert.modeling import load_classifier
    from powerbert.training.stages import predict

    rows = [["word " * n, str(n % 2)] for n in (9, 1, 5, 12, 3, 7, 2)]  # lengths out of order
    write_glue(glue, "SST-2", ["sentence", "label"], rows)
    data = TaskData.for_model(get_task("sst2"), str(bert_dir), glue_dir=str(glue), max_seq_length=16)
    model = load_classifier(bert_dir)
    widths = []
    model.register_forward_pre_hook(lambda _, args, kwargs: widths.append(kwargs["input_ids"].shape[1]),
                                    with_kwargs=True)
    batched = predict(model, data, batch_size=3)
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]  # longest first: memory fits in freed
    with torch.inference_mode():
        alone = np.concatenate([model(**data.collator([row])).logits.numpy()
                                for row in data.split("dev").select_columns(["input_ids", "attention_mask",
                                                                             "token_type_ids"])])
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    assert not np.allclose(batched[0], batched[1])  # the rows differ, so the order is checked
