"""The three PoWER-BERT stages on the Hugging Face Trainer: fine-tune, configuration search, re-train.

Each stage checkpoints every epoch under <stage dir>.checkpoints and resumes from the last checkpoint when
started again; its result directory is written under a temporary name and renamed when complete.
"""

import json
import logging
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import (
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from ..algorithm.budget import (
    DEFAULT_SHAPE,
    LR_MULTIPLIER,
    WARMUP_SHARE,
    FlopBudget,
    config_for_target,
    min_flop_fraction,
)
from ..algorithm.retention import PowerConfig, flop_fraction, fractions_from_means, is_collapsed, retention_from_masses
from ..cpu_memory import keep_freed_memory
from ..distributed import cpu_only, is_main_process, on_main_process, world_size
from ..errors import PowerBertError
from ..files import write_directory_atomic, write_json_atomic
from ..modeling import (SEARCH_PARAMETERS, PowerModel, is_search_output, load_classifier, load_power_or_plain,
                        load_soft_search)
from .data import TaskData
from .tasks import GlueTask

logger = logging.getLogger("powerbert")


@dataclass
class StageOptions:
    """Epochs, learning rate of the encoder weights, and batch size of one stage; a checkpoint every
    checkpoint_minutes of training besides each epoch's end (a killed long stage resumes from there)."""

    epochs: float
    learning_rate: float
    batch_size: int
    checkpoint_minutes: float = 30.0


class TimedCheckpoints(TrainerCallback):
    """Asks the Trainer for a checkpoint once `minutes` of training have passed since the last one, so that an
    epoch longer than a session (512-token documents on a CPU) is not lost when the run is killed."""

    def __init__(self, minutes: float) -> None:
        self.seconds, self.last = minutes * 60, time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() - self.last >= self.seconds:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        self.last = time.monotonic()


class SearchTrainer(Trainer):
    """Trainer for the configuration search: loss + lambda * regulariser (or the FLOP budget's constraint term),
    r_j and the budget's multipliers at their own learning rates."""

    def __init__(self, *args, lambda_: float, lr_retention: float, lr_multiplier: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lambda_, self.lr_retention, self.lr_multiplier = lambda_, lr_retention, lr_multiplier

    def create_optimizer(self, model=None):
        if self.optimizer is None:
            opt_model = self.model if model is None else model
            named = [(n, p) for n, p in opt_model.named_parameters() if p.requires_grad]
            groups = [
                {"params": [p for n, p in named if not n.startswith(("soft_extract.", "flop_budget."))]},
                {"params": [p for n, p in named if n.startswith("soft_extract.")], "lr": self.lr_retention},
            ]
            budget = [p for n, p in named if n.startswith("flop_budget.")]
            if budget:
                groups.append({"params": budget, "lr": self.lr_multiplier})
            optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
            self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        power = self.accelerator.unwrap_model(model)
        if self.lambda_:
            loss = loss + self.lambda_ * power.retention_penalty()
        if power.flop_budget is not None:
            loss = loss + power.flop_budget.penalty(power.soft_masses(), self.state.global_step,
                                                    power.retention_penalty())
        return (loss, outputs) if return_outputs else loss


class ClipRetention(TrainerCallback):
    """Projects every r_j back onto [0, 1] after each optimizer step, records the FLOP budget's path, and logs
    the masses each epoch."""

    def on_step_end(self, args, state, control, model=None, **kwargs):
        for soft in model.soft_extract:
            soft.clip_()
        if model.flop_budget is not None and (state.global_step % 10 == 0 or state.global_step == state.max_steps):
            model.flop_budget.record(model.soft_masses(), state.global_step)

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        masses = ", ".join(f"{m:.1f}" for m in model.retention_masses())
        budget = ""
        if model.flop_budget is not None:
            point = model.flop_budget.point(model.soft_masses(), state.global_step)
            budget = (f"; expected FLOP fraction {point['expected_fraction']:.3f} (target now {point['target']:.3f}, "
                      f"multipliers {point['lambda_1']:.3f}, {point['lambda_2']:.3f})")
        logger.info("epoch %.0f retention masses: %s%s", state.epoch, masses, budget)


def _trainer(model, data: TaskData, stage: StageOptions, work_dir: Path, seed: int, keep_best: bool,
             trainer_cls=Trainer, callbacks: tuple = (), **extra) -> Trainer:
    if cpu_only():
        keep_freed_memory()  # about 2x faster steps at 512 tokens (powerbert/cpu_memory.py)
    args = TrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=stage.epochs,
        per_device_train_batch_size=stage.batch_size,
        per_device_eval_batch_size=max(64, stage.batch_size),
        learning_rate=stage.learning_rate,
        warmup_steps=0.1,  # a fraction: 10% linear warm-up, then linear decay (as the original)
        lr_scheduler_type="linear",
        weight_decay=0.0,
        # batches of inputs of similar length: every padded position costs as much as a real one on a CPU, and
        # RTE's or MRPC's lengths vary several-fold (RTE: 70 tokens on average, 289 at most)
        train_sampling_strategy="group_by_length",
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=keep_best,
        metric_for_best_model=data.task.metric,
        greater_is_better=True,
        seed=seed,
        data_seed=seed,
        logging_steps=50,
        report_to="none",
        disable_tqdm=False,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=cpu_only(),  # so that torchrun / accelerate launch on a CPU-only machine run DDP over gloo
    )
    return trainer_cls(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.dev,
        data_collator=data.collator,
        processing_class=data.tokenizer,
        compute_metrics=lambda p: data.metrics(p.predictions, p.label_ids),
        callbacks=[TimedCheckpoints(stage.checkpoint_minutes), *callbacks],
        **extra,
    )


def _train(trainer: Trainer, work_dir: Path) -> None:
    """Train, resuming from the last checkpoint in work_dir when a killed run left one."""
    last = get_last_checkpoint(str(work_dir)) if work_dir.is_dir() else None
    if last:
        logger.info("resuming from %s", last)
    trainer.train(resume_from_checkpoint=last)


def _publish(output_dir: Path, work_dir: Path, write) -> None:
    """Write a stage's result folder atomically (`write` fills a temporary folder) and drop its checkpoints."""
    write_directory_atomic(output_dir, write)
    shutil.rmtree(work_dir, ignore_errors=True)


def _dev_metrics(trainer: Trainer) -> dict[str, float]:
    metrics = trainer.evaluate()
    return {k.removeprefix("eval_"): v for k, v in metrics.items() if not k.endswith(("runtime", "per_second", "epoch"))}


def finetune(model_name_or_path: str, data: TaskData, output_dir: Path, stage: StageOptions, seed: int = 42,
             **model_kwargs) -> dict:
    """Stage 1: fine-tune a Hugging Face encoder on the task; keeps the best dev epoch.

    model_kwargs override the model's config, e.g. num_hidden_layers=3 keeps only the first three layers.
    """
    task = data.task
    torch.manual_seed(seed)
    labels = dict(enumerate(task.label_names or task.labels or ("score",)))
    model = load_classifier(
        model_name_or_path,
        num_labels=task.num_labels,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        problem_type="regression" if task.is_regression else "single_label_classification",
        ignore_mismatched_sizes=True,  # a classifier of other labels (a hub checkpoint, say) gets a new head
        **model_kwargs,
    )
    work_dir = Path(str(output_dir) + ".checkpoints")
    trainer = _trainer(model, data, stage, work_dir, seed, keep_best=True)
    _train(trainer, work_dir)
    metrics = _dev_metrics(trainer)
    on_main_process(lambda: _publish(output_dir, work_dir, lambda tmp: (trainer.model.save_pretrained(tmp),
                                                                           data.tokenizer.save_pretrained(tmp))))
    return metrics


def search(model_dir: str, data: TaskData, output_dir: Path, stage: StageOptions, lambda_: float,
           lr_retention: float | None, seed: int = 42, mode: str = "count", target_flops: float | None = None,
           lr_multiplier: float = LR_MULTIPLIER, start: PowerModel | None = None,
           budget_shape: str = DEFAULT_SHAPE) -> PowerConfig:
    """Stage 2: learn retention parameters with Soft-Extract layers and derive the configuration from them:
    l_j from their masses (count mode), or rho_j from their means over relative-rank bins (fraction mode).
    start: the PoWER model that keeps every vector to search from (default: the classifier in model_dir).

    target_flops: instead of a fixed lambda, a FLOP budget (budget.py) drives the soft configuration's expected
    FLOP fraction to this target, and the hard configuration is scaled to meet it on the validation inputs'
    lengths (the training inputs' where there is no validation split);
    budget_shape: how the budget pulls on the layers (budget.SHAPES).
    lr_retention None: chosen from the number of steps, so that every r_j can fall to 0.
    Keeps the last epoch (as the original). Writes the search weights with the derived configuration
    (a loadable PoWER model) and the raw retention parameters to output_dir.
    """
    torch.manual_seed(seed)
    power = PowerModel.keep_all(load_classifier(model_dir), data.max_seq_length) if start is None else start
    hidden, ffn = power.config.hidden_size, power.adapter.ffn_size
    train_lengths, dev_lengths = data.lengths("train"), data.lengths("dev")
    judged_lengths, scaled_on = judged_inputs(data)
    # optimizer steps from the data set's size (building the length-grouped loader here would sort it twice)
    per_epoch = math.ceil(len(data.train) / (stage.batch_size * world_size()))
    steps = max(1, round(per_epoch * stage.epochs))
    if lr_retention is None:
        lr_retention = auto_lr_retention(steps)
    budget = None
    if target_flops is not None:
        check_target_reachable(target_flops, judged_lengths, hidden, ffn, power.num_layers)
        budget = FlopBudget(target_flops, train_lengths, hidden, ffn, mode, round(steps * WARMUP_SHARE), budget_shape)
        # ranks no input reaches would keep r = 1 (no gradient) and inflate the masses
        longest = max(train_lengths + dev_lengths)
        power.enable_search(min(data.max_seq_length, longest), mode, budget)
        budget.regulariser_scale = float(power.retention_penalty().detach())
    else:
        power.enable_search(data.max_seq_length, mode)
    work_dir = Path(str(output_dir) + ".checkpoints")
    trainer = _trainer(power, data, stage, work_dir, seed, keep_best=False, trainer_cls=SearchTrainer,
                       lambda_=0.0 if budget else lambda_, lr_retention=lr_retention, lr_multiplier=lr_multiplier,
                       callbacks=(ClipRetention(),))
    warn_if_retention_cannot_reach_zero(lr_retention, steps)
    _train(trainer, work_dir)
    masses = power.retention_masses()
    retention_parameters = [soft.retention.detach().cpu().tolist() for soft in power.soft_extract]
    metadata = {**power.power_config.metadata, "lr_retention": lr_retention, "max_seq_length": data.max_seq_length}
    if budget is None:
        metadata["lambda"] = lambda_
        retention = retention_from_masses(masses) if mode == "count" else fractions_from_means(masses)
    else:
        retention, scale, reached = config_for_target(masses, judged_lengths, hidden, ffn, target_flops, mode)
        on_train = flop_fraction(train_lengths, hidden, ffn, PowerConfig(retention, mode=mode))
        expected = float(budget.expected_fraction(power.soft_masses().detach()))
        metadata.update(target_flops=target_flops, budget_shape=budget_shape, reached_flops=round(reached, 4),
                        scaled_on=scaled_on, reached_flops_train=round(on_train, 4),
                        expected_flops_soft=round(expected, 4), mass_scale=round(scale, 4),
                        lr_multiplier=lr_multiplier, multiplier_path=budget.path)
        logger.info("FLOP budget: target %.3f, soft configuration at %.3f, hard configuration %s at %.3f on the "
                    "%s inputs (%.3f on the training inputs; masses scaled by %.3f)", target_flops, expected,
                    retention, reached, scaled_on, on_train, scale)
        if expected - target_flops > SHORT_SEARCH_GAP:
            logger.warning("the search ended at %.3f of the FLOPs, above the target %.3f: the configuration was "
                           "scaled by %.2f to meet it, further than the search trained for, and may lose accuracy "
                           "in re-training; a longer search (--search-epochs) lets it reach the target first",
                           expected, target_flops, scale)
        if abs(reached - target_flops) > TARGET_TOLERANCE:
            logger.warning("the configuration reaches %.3f of the FLOPs, not the target %.3f: counts are whole "
                           "vectors and these inputs are short; the nearest configuration was kept",
                           reached, target_flops)
    config = PowerConfig(retention=retention, masses=masses, metadata=metadata, mode=mode)
    power.set_retention(config)

    def write(tmp: Path) -> None:
        power.save_pretrained(tmp, data.tokenizer)
        write_json_atomic(tmp / SEARCH_PARAMETERS, retention_parameters)

    on_main_process(lambda: _publish(output_dir, work_dir, write))
    return config


TARGET_TOLERANCE = 0.03  # a reached FLOP fraction further than this from the target is warned about
# a soft configuration this far above the target at the search's end is warned about: MPNet on MRPC ended 0.2
# above it after 1 epoch and lost 3.7 F1 once scaled down (docs/results.md)
SHORT_SEARCH_GAP = 0.1


def auto_lr_retention(steps: int) -> float:
    """A retention learning rate at which every r_j can fall from 1 to 0 in the search (twice over, so that the
    schedule's warm-up and decay leave room): what the search uses when it is not given one."""
    return min(0.1, 4 / steps)


def check_target_reachable(target: float, lengths: list[int], hidden: int, ffn: int, num_layers: int) -> None:
    """Stop before training when no configuration can reach the target on these inputs."""
    floor = min_flop_fraction(lengths, hidden, ffn, num_layers)
    if target < floor:
        raise PowerBertError(f"--target-flops {target:g} cannot be reached: on these inputs even [CLS] alone after "
                             f"the first attention block needs {floor:.3f} of the FLOPs; ask for {floor:.2f} or more")
    if target < floor + TARGET_TOLERANCE:
        logger.warning("--target-flops %g is close to the least any configuration reaches on these inputs (%.3f): "
                       "the search will keep little more than [CLS]", target, floor)


def retention_reach(lr_retention: float, steps: int) -> float:
    """How far one retention parameter can fall in a search of `steps` optimizer steps: Adam moves a parameter
    by about its learning rate per step at most, and the schedule (10 % warm-up, linear decay) averages half."""
    return 0.5 * lr_retention * steps


def warn_if_retention_cannot_reach_zero(lr_retention: float, steps: int) -> None:
    """A short search (a small data set, few epochs) cannot lower any r_j to 0: the masses then stay high
    whatever lambda says, and the configuration eliminates little. Say so, with the fix, before training."""
    reach = retention_reach(lr_retention, steps)
    if reach < 1:
        logger.warning("the search has %d steps: at lr-retention %g each retention parameter can fall by %.2f at "
                       "most, not to 0, so the configuration will eliminate little whatever lambda is; use "
                       "--lr-retention %.2g or more, or more --search-epochs", steps, lr_retention, reach, 3 / steps)


def check_not_collapsed(config: PowerConfig) -> None:
    """Stop with the likely fix when the search eliminated nearly everything."""
    if is_collapsed(config):
        masses = ", ".join(f"{m:.2f}" for m in config.masses or [])
        raise PowerBertError(
            f"the configuration search collapsed: retention {config.retention} (masses {masses}) keeps 2 or fewer "
            "vectors per layer on average; re-run the search with a smaller --lambda or --lr-retention "
            "(or pass --allow-collapse to re-train anyway)"
        )


BUDGET_REPORT = ("target_flops", "budget_shape", "reached_flops", "scaled_on", "reached_flops_train",
                 "expected_flops_soft", "mass_scale", "lr_multiplier", "multiplier_path")


def budget_report(config: PowerConfig) -> dict:
    """What a search at a FLOP target recorded about it (target, reached, the multiplier's path), for summaries."""
    return {k: config.metadata[k] for k in BUDGET_REPORT if k in config.metadata}


def judged_inputs(data: TaskData) -> tuple[list[int], str]:
    """The lengths a configuration's FLOP fraction is judged on, and their split: the validation inputs (SST-2's
    training phrases are half as long as its dev sentences: counts scaled on the phrases gave 0.43 of the FLOPs on
    the dev set for 0.6), the training inputs where there is no validation split."""
    dev_lengths = data.lengths("dev")
    return (dev_lengths, "validation") if dev_lengths else (data.lengths("train"), "training")


def retrain(search_dir: str, data: TaskData, output_dir: Path, stage: StageOptions, seed: int = 42,
            power_config: PowerConfig | None = None, model_class: type[PowerModel] = PowerModel,
            teacher: str | None = None, gradual: Sequence[float] = ()) -> dict:
    """Stage 3: re-train with hard Extract layers from the search weights; keeps the best dev epoch.
    model_class: the kind of PoWER model the search wrote (a classifier, or embedding.PowerEmbeddingModel).
    teacher: a model folder (the stage-1 model) whose outputs on the training inputs are the targets instead of
    the gold labels (knowledge distillation: soft targets for classes, its scores for a regression).
    gradual: FLOP fractions to re-train through first, one epoch each, highest first (retrain_gradually)."""
    power_config = power_config or PowerConfig.from_pretrained(search_dir)
    start, steps = search_dir, []
    if gradual:
        start, steps = retrain_gradually(search_dir, data, output_dir, stage, seed, power_config, gradual,
                                         model_class, teacher)
    torch.manual_seed(seed)
    power = model_class.from_pretrained(start)
    power.set_retention(power_config)
    work_dir = Path(str(output_dir) + ".checkpoints")
    trainer = _trainer(power, data, stage, work_dir, seed, keep_best=True)
    if teacher is not None:
        trainer.train_dataset = soft_targets(teacher, data)
    _train(trainer, work_dir)
    metrics = _dev_metrics(trainer)
    on_main_process(lambda: _publish(output_dir, work_dir, lambda tmp: power.save_pretrained(tmp, data.tokenizer)))
    if steps:
        metrics["gradual"] = steps
        on_main_process(lambda: shutil.rmtree(_gradual_dir(output_dir), ignore_errors=True))
    return metrics


def retrain_gradually(search_dir: str, data: TaskData, output_dir: Path, stage: StageOptions, seed: int,
                      final: PowerConfig, fractions: Sequence[float], model_class: type[PowerModel] = PowerModel,
                      teacher: str | None = None) -> tuple[str, list[dict]]:
    """Re-train one epoch at each FLOP fraction, each from the last, before the final configuration: the
    search's masses scaled to the fraction on the judged inputs, as the search scales them to its target. The
    step to the final configuration is then a small one (MPNet on MRPC at 0.4 of the FLOPs: 89.55 through 0.6,
    0.5 and 0.45, against 88.65 re-trained directly; docs/results.md). Returns the last step's folder and each
    step's fraction, configuration and dev metrics; finished steps are kept (in <output_dir>.gradual) and skipped."""
    searched = PowerConfig.from_pretrained(search_dir)
    if not searched.masses:
        raise PowerBertError(f"{search_dir} holds no search masses to scale; --gradual re-trains a search's folder")
    probe = model_class.from_pretrained(search_dir)
    hidden, ffn = probe.config.hidden_size, probe.adapter.ffn_size
    del probe
    lengths, _ = judged_inputs(data)
    end = flop_fraction(lengths, hidden, ffn, final)
    if list(fractions) != sorted(set(fractions), reverse=True) or min(fractions) <= end:
        raise PowerBertError(f"--gradual {','.join(f'{f:g}' for f in fractions)}: give FLOP fractions from the highest "
                             f"down, each above the final configuration's {end:.3f}")
    previous, steps = search_dir, []
    for fraction in fractions:
        retention, _, reached = config_for_target(searched.masses, lengths, hidden, ffn, fraction, searched.mode)
        step_dir = _gradual_dir(output_dir) / f"{fraction:g}"
        record = _gradual_dir(output_dir) / f"{fraction:g}.json"
        if record.is_file():
            step = json.loads(record.read_text())
        else:
            logger.info("gradual re-training: 1 epoch at %.3f of the FLOPs, %s", reached, retention)
            one_epoch = StageOptions(1.0, stage.learning_rate, stage.batch_size, stage.checkpoint_minutes)
            metrics = retrain(previous, data, step_dir, one_epoch, seed, PowerConfig(retention, mode=searched.mode),
                              model_class, teacher)
            step = {"flop_fraction": round(reached, 4), "retention": retention, "dev": metrics}
            on_main_process(lambda: write_json_atomic(record, step))
        steps.append(step)
        previous = str(step_dir)
    return previous, steps


def _gradual_dir(output_dir: Path) -> Path:
    return Path(str(output_dir) + ".gradual")


def soft_targets(teacher: str, data: TaskData):
    """The training split with the teacher's outputs as labels: logits (classes) or scores (a regression)."""
    soft = is_search_output(teacher)
    logger.info("distillation: the outputs of %s%s on the training inputs are the targets", teacher,
                " (the search's model, with its Soft-Extract layers)" if soft else "")
    model = load_soft_search(teacher, max(data.lengths("train"))) if soft else load_power_or_plain(teacher)
    outputs = predict(model, data, split="train")
    targets = outputs[:, 0] if outputs.shape[1] == 1 else outputs
    return data.train.remove_columns("labels").add_column("labels", targets.astype(np.float32).tolist())


@torch.inference_mode()
def predict(model: torch.nn.Module, data: TaskData, batch_size: int = 64, split: str = "dev") -> np.ndarray:
    """Logits on the dev (or test) set, in the split's order, with a progress bar.

    Batches are formed from inputs of similar length (dynamic padding): on long documents of mixed length
    (IMDB: 269 tokens on average at 512) a random batch is as wide as its longest input, and every padded
    position costs as much as a real one. The longest batch goes first: the memory that later batches need
    then fits in what it freed. Shortest first, each batch's blocks were a little larger than any freed one, and
    with freed memory kept in the process (cpu_memory.py) the heap grew with every batch: 24 GB, killed, at the
    4/5 mark of the 25,000 IMDB test reviews on the plain model.
    """
    model.eval()
    if model.device.type == "cpu":
        keep_freed_memory()
    rows_of = data.split(split)
    columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in rows_of.column_names]
    order = np.argsort(data.lengths(split), kind="stable")[::-1]
    outputs = []
    for start in tqdm(range(0, len(order), batch_size), desc=f"evaluate {split}", unit="batch",
                      disable=not is_main_process()):
        rows = rows_of[order[start : start + batch_size]]
        batch = data.collator([{c: rows[c][i] for c in columns} for i in range(len(rows["input_ids"]))])
        batch = {k: v.to(model.device) for k, v in batch.items()}
        outputs.append(model(**batch).logits.float().cpu().numpy())
    return np.concatenate(outputs)[np.argsort(order, kind="stable")]


def evaluate(model_dir: str, data: TaskData, batch_size: int = 64, model=None, split: str = "dev") -> dict:
    """Dev (or test) metrics of a saved model (or of `model`, loaded from it some other way, e.g. int8 or exported),
    with the fraction of encoder FLOPs it needs on those inputs where the model can count them."""
    model = load_power_or_plain(model_dir) if model is None else model
    logits = predict(model, data, batch_size, split)
    metrics = data.metrics(logits, np.asarray(data.split(split)["labels"]))
    if isinstance(model, PowerModel):
        metrics["flop_fraction"] = model.flop_fraction(data.lengths(split))
    return metrics


def run_pipeline(
    model_name_or_path: str,
    task: GlueTask,
    output_dir: Path,
    stages: dict[str, StageOptions],
    lambda_: float,
    lr_retention: float | None,
    glue_dir: str | None = None,
    seed: int = 42,
    max_seq_length: int | None = None,
    max_train_samples: int | None = None,
    skip_finetune: bool = False,
    allow_collapse: bool = False,
    mode: str = "count",
    target_flops: float | None = None,
    lr_multiplier: float = LR_MULTIPLIER,
    distill: bool = False,
    budget_shape: str = DEFAULT_SHAPE,
    gradual: Sequence[float] = (),
) -> dict:
    """All three stages into output_dir/{finetuned,search,power} and summary.json; finished stages are skipped.
    distill: re-train on the stage-1 model's outputs instead of the labels; gradual: FLOP fractions to re-train
    through first (retrain_gradually)."""
    output_dir = Path(output_dir)
    summary_path = output_dir / "summary.json"
    previous = _load_summary(summary_path)
    if previous is not None and (previous.get("task"), previous.get("model")) != (task.name, str(model_name_or_path)):
        raise PowerBertError(f"{output_dir} holds a run of task {previous.get('task')} from {previous.get('model')}; "
                             "give another --output-dir (or that --task and --model to resume it)")
    summary = previous or {
        "task": task.name, "model": str(model_name_or_path), "metric": task.metric, "seed": seed,
        "lambda": None if target_flops else lambda_, "target_flops": target_flops, "lr_retention": lr_retention,
        "max_train_samples": max_train_samples, "retention_mode": mode, "distill": distill,
        "stages": {name: vars(options) for name, options in stages.items()}, "stage_seconds": {},
    }
    data = TaskData.for_model(task, model_name_or_path, glue_dir=glue_dir, max_seq_length=max_seq_length,
                              max_train_samples=max_train_samples, seed=seed)
    summary["max_seq_length"] = data.max_seq_length

    def timed(name: str, work):
        start = time.perf_counter()
        result = work()
        summary["stage_seconds"][name] = round(time.perf_counter() - start, 1)
        return result

    finetuned = output_dir / "finetuned"
    if skip_finetune:
        finetuned = Path(model_name_or_path)
    elif not finetuned.is_dir():
        summary["finetune_dev"] = timed("finetune", lambda: finetune(model_name_or_path, data, finetuned,
                                                                     stages["finetune"], seed))
        on_main_process(lambda: write_json_atomic(summary_path, summary))
    if "finetune_dev" not in summary:  # an already fine-tuned checkpoint: measure it as it is
        summary["finetune_dev"] = evaluate(str(finetuned), data)

    search_dir = output_dir / "search"
    if not search_dir.is_dir():
        timed("search", lambda: search(str(finetuned), data, search_dir, stages["search"], lambda_, lr_retention, seed,
                                       mode, target_flops, lr_multiplier, budget_shape=budget_shape))
    config = PowerConfig.from_pretrained(search_dir)
    summary["retention"], summary["retention_masses"] = config.retention, config.masses
    summary["lr_retention"] = config.metadata.get("lr_retention", lr_retention)
    if target_flops is not None:
        summary["flop_budget"] = budget_report(config)
    on_main_process(lambda: write_json_atomic(summary_path, summary))
    logger.info("retention configuration %s from masses %s", config.retention,
                ", ".join(f"{m:.2f}" for m in config.masses or []))
    if not allow_collapse:
        check_not_collapsed(config)

    power_dir = output_dir / "power"
    if not power_dir.is_dir():
        summary["retrain_dev"] = timed("retrain", lambda: retrain(str(search_dir), data, power_dir, stages["retrain"],
                                                                  seed, teacher=str(finetuned) if distill else None,
                                                                  gradual=gradual))
    summary["power_dev"] = evaluate(str(power_dir), data)
    summary["flop_fraction"] = summary["power_dev"].pop("flop_fraction")
    summary["finetune_dev"].pop("flop_fraction", None)
    if data.test is not None:  # a --test-file: the final figures of both models on it
        for name, folder in (("finetune_test", finetuned), ("power_test", power_dir)):
            if name not in summary:
                summary[name] = evaluate(str(folder), data, split="test")
                on_main_process(lambda: write_json_atomic(summary_path, summary))
    summary["complete"] = True
    on_main_process(lambda: write_json_atomic(summary_path, summary))
    return summary


def _load_summary(path: Path) -> dict | None:
    """The summary of an earlier run in the same folder (to resume it), or None."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise PowerBertError(f"{path} is corrupt ({err}); delete it to run the stages again") from None
