"""`powerbert sweep`: PoWER's accuracy / speed trade-off against baselines at matched cost.

From one stage-1 model: configuration search + re-training for several lambdas (one folder per point), and
the baselines (a) static truncation to the first k tokens, (b) random elimination with a PoWER point's
configuration (the paper's ablation), (c) the first m layers, fine-tuned, (d) the plain model. Every point
writes points/<name>.json when done, so a killed sweep skips what is finished when started again. Then
all points are timed interleaved on the dev set and results.json, results.md and results.png are written.
"""

import functools
import itertools
import json
import logging
import statistics
from pathlib import Path

import torch

from ..algorithm.budget import DEFAULT_SHAPE, LR_MULTIPLIER
from ..algorithm.retention import PowerConfig, encoder_flops, is_collapsed
from ..distributed import is_main_process, on_main_process
from ..files import save_figure_atomic, write_json_atomic, write_text_atomic
from ..modeling import PowerModel, load_classifier, load_power_or_plain
from ..training.data import TaskData
from ..training.stages import (
    StageOptions,
    evaluate,
    finetune,
    retrain,
    search,
)
from .timing import environment, make_batches, time_interleaved

logger = logging.getLogger("powerbert")


TIMING_BATCH_SIZE = 32  # the paper's and issue 3's batch size: its pages are results.*


def results_stem(batch_size: int) -> str:
    """File stem of a sweep's pages timed at this batch size, so that timing at batch 1 keeps the batch-32 pages."""
    return "results" if batch_size == TIMING_BATCH_SIZE else f"results-batch{batch_size}"


def run_sweep(finetuned: str, task, output_dir: Path, stages: dict[str, StageOptions], lambdas: list[float],
              lr_retention: float, truncations: list[int], layer_counts: list[int], random_baseline: bool = True,
              glue_dir: str | None = None, seed: int = 42, batch_size: int = TIMING_BATCH_SIZE, repeats: int = 3,
              seeds: list[int] | None = None, retrained_truncation: bool = True, mode: str = "count",
              max_train_samples: int | None = None, targets: list[float] = (), head_tails: list[int] = (),
              lr_multiplier: float = LR_MULTIPLIER, budget_shape: str = DEFAULT_SHAPE) -> dict:
    """Train and evaluate every point not yet done, time them all, and write the results page and plot.

    Every trained point (PoWER, random, fewer layers, re-trained truncation) is trained once per seed in
    `seeds` (default: `seed` alone); the report shows each configuration's mean over its seeds with the spread.
    mode "fraction": the PoWER points (and their random twins) use fraction retention, named power-fraction-*
    and random-fraction-*, so that one sweep folder holds and plots both modes.
    max_train_samples: every trained point sees the same first N shuffled training examples (as stage 1 did).
    targets: PoWER points searched with a FLOP budget instead of a lambda (power-target<F>), beside any lambdas.
    head_tails: baselines re-trained at k tokens, each text keeping its first k/4 and last 3k/4 tokens.
    """
    kind, prefix = ("power", "") if mode == "count" else ("power-fraction", "-fraction")
    output_dir = Path(output_dir)
    seeds = seeds or [seed]
    data = TaskData.for_model(task, finetuned, glue_dir=glue_dir, seed=seed,  # bad model or data: fail before any output
                              max_train_samples=max_train_samples)
    lengths = data.lengths("dev")
    on_main_process(lambda: (output_dir / "points").mkdir(parents=True, exist_ok=True))
    log = logging.FileHandler(output_dir / "sweep.log") if is_main_process() else logging.NullHandler()
    log.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(log)
    try:

        def point(group: str, make, point_seed: int = seed) -> None:
            """Make one point unless its JSON exists; a seed other than the default one is part of its name."""
            name = group if point_seed == seed else f"{group}-seed{point_seed}"
            path = output_dir / "points" / f"{name}.json"
            if path.is_file():
                logger.info("skip %s: done", name)
                return
            logger.info("start %s", name)
            result = make(output_dir / name, point_seed)
            record = {"name": name, "group": group, "seed": point_seed, **result}
            on_main_process(lambda: write_json_atomic(path, record))
            logger.info("done %s: %s", name, result)

        point("plain", lambda _, __: {"kind": "plain", "model": finetuned, **evaluate(finetuned, data)})
        # a PoWER point per lambda and per FLOP target: (name, what names it, lambda, target)
        strengths = [(f"lambda{x:g}", {"lambda": x}, x, None) for x in lambdas]
        strengths += [(f"target{x:g}", {"target_flops": x}, 0.0, x) for x in targets]
        for (label, named, lambda_, target), point_seed in itertools.product(strengths, seeds):
            def power_point(point_dir: Path, s: int, lambda_=lambda_, target=target, named=named) -> dict:
                if not (point_dir / "search").is_dir():
                    search(finetuned, data, point_dir / "search", stages["search"], lambda_,
                           lr_retention if target is None else None, s, mode, target, lr_multiplier,
                           budget_shape=budget_shape)
                config = PowerConfig.from_pretrained(point_dir / "search")
                if is_collapsed(config):
                    return {"kind": kind, **named, "collapsed": True, "retention": config.retention}
                if not (point_dir / "power").is_dir():
                    retrain(str(point_dir / "search"), data, point_dir / "power", stages["retrain"], s)
                return {"kind": kind, "mode": mode, **named, "model": str(point_dir / "power"),
                        "retention": config.retention, **evaluate(str(point_dir / "power"), data)}

            point(f"power{prefix}-{label}", power_point, point_seed)
            if random_baseline:
                def random_point(point_dir: Path, s: int, named=named) -> dict:
                    power_dir = output_dir / point_dir.name.replace("random-", "power-", 1)
                    config = PowerConfig.from_pretrained(power_dir / "search")
                    if is_collapsed(config):  # its PoWER twin was not re-trained either
                        return {"kind": "random", **named, "collapsed": True, "retention": config.retention}
                    retrain(str(power_dir / "search"), data, point_dir, stages["retrain"], s,
                            PowerConfig(config.retention, scoring="random", mode=config.mode))
                    return {"kind": "random", "mode": mode, **named, "model": str(point_dir),
                            "retention": config.retention, **evaluate(str(point_dir), data)}

                point(f"random{prefix}-{label}", random_point, point_seed)
        probe = PowerModel.keep_all(load_classifier(finetuned), 1)
        num_layers = probe.num_layers
        dims = (probe.config.hidden_size, probe.adapter.ffn_size, num_layers)
        plain_flops = sum(encoder_flops(n, *dims) for n in lengths)
        for m, point_seed in itertools.product(layer_counts, seeds):
            def layers_point(layers_dir: Path, s: int, m=m) -> dict:
                finetune(finetuned, data, layers_dir, stages["finetune"], s, num_hidden_layers=m)
                metrics = evaluate(str(layers_dir), data)
                metrics["flop_fraction"] = m / num_layers  # every layer costs the same on the same tokens
                return {"kind": "layers", "layers": m, "model": str(layers_dir), **metrics}

            point(f"layers{m}", layers_point, point_seed)
        @functools.cache
        def truncated(k: int, head_tail: bool = False) -> TaskData:
            """The task's data cut to k tokens, tokenized only when a truncation point still needs it."""
            return TaskData.for_model(task, finetuned, glue_dir=glue_dir, max_seq_length=k, seed=seed,
                                      max_train_samples=max_train_samples, head_tail=head_tail)

        for k in truncations:
            flops = {"flop_fraction": sum(encoder_flops(min(n, k), *dims) for n in lengths) / plain_flops}
            point(f"truncate{k}", lambda _, __, k=k, flops=flops: {
                "kind": "truncation", "max_length": k, "model": finetuned, **evaluate(finetuned, truncated(k)), **flops})
            if not retrained_truncation:
                continue
            for point_seed in seeds:
                def retrained_point(point_dir: Path, s: int, k=k, flops=flops) -> dict:
                    finetune(finetuned, truncated(k), point_dir, stages["retrain"], s)
                    return {"kind": "truncation-retrained", "max_length": k, "model": str(point_dir),
                            **evaluate(str(point_dir), truncated(k)), **flops}

                point(f"truncate{k}-retrained", retrained_point, point_seed)
        for k, point_seed in itertools.product(head_tails, seeds):
            flops = {"flop_fraction": sum(encoder_flops(min(n, k), *dims) for n in lengths) / plain_flops}

            def head_tail_point(point_dir: Path, s: int, k=k, flops=flops) -> dict:
                finetune(finetuned, truncated(k, True), point_dir, stages["retrain"], s)
                return {"kind": "head-tail-retrained", "max_length": k, "head_tail": True, "model": str(point_dir),
                        **evaluate(str(point_dir), truncated(k, True)), **flops}

            point(f"headtail{k}-retrained", head_tail_point, point_seed)
        # timing on the main process alone, so that no other process shares the CPU or GPU meanwhile
        on_main_process(lambda: time_and_report(output_dir, task, finetuned, glue_dir, batch_size, repeats))
        return json.loads((output_dir / f"{results_stem(batch_size)}.json").read_text())
    finally:
        logger.removeHandler(log)


def time_and_report(output_dir: Path, task, finetuned: str, glue_dir: str | None, batch_size: int,
                    repeats: int) -> dict:
    """Time every finished point interleaved on the dev set, then write results.json, .md and .png.

    At a batch size other than the default, the files are results-batch{B}.*, beside the default ones.
    """
    points = [json.loads(p.read_text()) for p in sorted((output_dir / "points").glob("*.json"))]
    points = [p for p in points if not p.get("collapsed")]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    runners, datas = {}, {}
    for p in points:
        key = (p.get("max_length"), p.get("head_tail", False))
        if key not in datas:
            datas[key] = TaskData.for_model(task, finetuned, glue_dir=glue_dir, max_seq_length=key[0], head_tail=key[1])
        data = datas[key]
        columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in data.dev.column_names]
        examples = [{c: row[c] for c in columns} for row in data.dev]
        model = load_power_or_plain(p["model"]).eval().to(device)
        runners[p["name"]] = (model, make_batches(examples, batch_size, model.config.pad_token_id or 0, None))
    stats, _ = time_interleaved(runners, repeats, device, desc=f"sweep timing, batch {batch_size}")
    plain_seconds = stats["plain"]["pass_seconds_median"]
    for p in points:
        p["dev_seconds"] = stats[p["name"]]["pass_seconds_median"]
        p["speedup"] = plain_seconds / p["dev_seconds"]
    report = {"task": task.name, "metric": task.metric, "batch_size": batch_size, "repeats": repeats,
              "environment": environment(), "points": aggregate(points), "runs": points}
    stem = results_stem(batch_size)
    write_json_atomic(output_dir / f"{stem}.json", report)
    _write_table(report, output_dir / f"{stem}.md")
    _write_plot(report, output_dir / f"{stem}.png")
    return report



TOLERANCE = 1.0  # points of dev metric: the paper's "under 1 % loss"
POWER_KINDS = ("power", "power-fraction")  # count mode (the paper's) and fraction mode (issue 11)
BASELINE_KINDS = ("truncation", "truncation-retrained", "head-tail-retrained", "layers", "random")
PER_CONFIGURATION = ("seed", "lambda", "target_flops", "layers", "max_length")  # numbers that name a point, not measure it


def aggregate(runs: list[dict]) -> list[dict]:
    """One point per configuration (its `group`): every measured number averaged over the seeds it was trained
    with, and `<number>_std` (sample standard deviation over seeds, 0 for one seed) beside each."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run.get("group", run["name"]), []).append(run)
    points = []
    for name, members in groups.items():
        members.sort(key=lambda m: m["name"] != name)  # the default seed's run first: its configuration is shown
        point = {**members[0], "name": name, "seeds": sorted(m.get("seed", 0) for m in members)}
        point.pop("seed", None)
        for key, value in members[0].items():
            if isinstance(value, float) and key not in PER_CONFIGURATION:
                values = [m[key] for m in members]
                point[key] = statistics.fmean(values)
                point[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        if len(members) > 1 and "retention" in point:
            point["retentions"] = [m["retention"] for m in members]
        points.append(point)
    return points


def _with_spread(point: dict, key: str, scale: float = 100.0, digits: int = 2) -> str:
    """A number of a point, with +- its spread over seeds where it was trained with more than one."""
    text = f"{scale * point[key]:.{digits}f}"
    if len(point.get("seeds", [])) > 1:
        text += f" +- {scale * point[f'{key}_std']:.{digits}f}"
    return text


def headline_point(points: list[dict], metric: str, kind: str = "power") -> tuple[dict, str]:
    """The PoWER point for the paper-style row: the fastest within TOLERANCE of plain, else the most accurate."""
    plain = next(p for p in points if p["kind"] == "plain")
    power = [p for p in points if p["kind"] == kind]
    close = [p for p in power if 100 * (plain[metric] - p[metric]) <= TOLERANCE]
    if close:
        return min(close, key=lambda p: p["dev_seconds"]), f"the fastest PoWER point within {TOLERANCE:g} point of plain"
    return max(power, key=lambda p: p[metric]), f"no PoWER point is within {TOLERANCE:g} point of plain: the most accurate"


def curve(points: list[dict], kind: str, key: str = "dev_seconds") -> list[dict]:
    """The points of one kind sorted by `key`; truncation and fewer layers end at the plain model (k = all, m = all)."""
    chosen = [p for p in points if p["kind"] == kind]
    if chosen and kind in ("truncation", "truncation-retrained", "head-tail-retrained", "layers"):
        chosen += [p for p in points if p["kind"] == "plain"]
    return sorted(chosen, key=lambda p: p[key])


def baseline_at(points: list[dict], kind: str, seconds: float, metric: str) -> float | None:
    """A baseline's dev metric at `seconds`, linear along its curve; None outside the curve's time range.

    Random elimination runs PoWER's own configurations, so its points are compared one to one, not read here.
    """
    for left, right in itertools.pairwise(curve(points, kind)):
        if left["dev_seconds"] <= seconds <= right["dev_seconds"]:
            span = right["dev_seconds"] - left["dev_seconds"]
            weight = (seconds - left["dev_seconds"]) / span if span else 0.0
            return left[metric] + weight * (right[metric] - left[metric])
    return None


def _write_table(report: dict, path: Path) -> None:
    metric, points = report["metric"], report["points"]
    plain = next(p for p in points if p["kind"] == "plain")
    lines = [f"# {report['task']}: PoWER against the baselines",
             "",
             f"Dev set, batch {report['batch_size']}, median of {report['repeats']} interleaved timed passes; "
             f"{report['environment']['device']} ({report['environment']['torch_threads']} torch threads), "
             f"torch {report['environment']['torch']}.",
             ""]
    kinds = [k for k in POWER_KINDS if any(p["kind"] == k for p in points)]
    if kinds:
        lines += ["## In the paper's layout", "",
                  f"| task ({metric}) | plain | time (s) | PoWER | time (s) | speedup | FLOP ratio | configuration |",
                  "|---|---|---|---|---|---|---|---|"]
        notes = []
        for kind in kinds:
            best, why = headline_point(points, metric, kind)
            mode = "" if kind == "power" else " (fraction mode)"
            lines.append(f"| {report['task']}{mode} | {100 * plain[metric]:.2f} | {plain['dev_seconds']:.2f} | "
                         f"{_with_spread(best, metric)} | {best['dev_seconds']:.2f} | {best['speedup']:.2f}x | "
                         f"{1 / best['flop_fraction']:.2f}x | {best['retention']} |")
            notes.append(f"PoWER point{mode}: {best['name']}, {why}; seeds {best.get('seeds')} (mean +- sample "
                         "standard deviation where more than one).")
        lines += ["", *notes, "",
                  "## At matched inference time", "",
                  f"Dev {metric} of each baseline at each PoWER point's time, read linearly along the baseline's "
                  "curve (truncation, re-trained truncation and fewer layers end at the plain model); random "
                  "elimination uses the same "
                  "configuration, so it is compared point to point. \"faster than all\": the PoWER point is "
                  "faster than every point of that baseline, compared with its fastest. A dash: no such baseline "
                  "was run. The last column: the other retention mode's PoWER curve at the same time.", "",
                  "| PoWER point | time (s) | PoWER | truncation | truncation, re-trained at k | head+tail, re-trained "
                  "at k | fewer layers | random, same configuration | PoWER, other mode |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in sorted((p for p in points if p["kind"] in POWER_KINDS), key=lambda p: p["dev_seconds"]):
            other = next(k for k in POWER_KINDS if k != p["kind"])
            cells = [_baseline_cell(points, kind, p, metric) for kind in (*BASELINE_KINDS, other)]
            lines.append(f"| {p['name']} | {p['dev_seconds']:.2f} | {_with_spread(p, metric)} | " + " | ".join(cells) + " |")
        lines += ["", "(in brackets: PoWER minus the baseline)", ""]
    lines += ["## Every point", "",
              f"| point | kind | seeds | dev {metric} | FLOP fraction | dev time (s) | speedup vs plain |",
              "|---|---|---|---|---|---|---|"]
    for p in sorted(points, key=lambda p: p["dev_seconds"]):
        lines.append(f"| {p['name']} | {p['kind']} | {len(p.get('seeds', [None]))} | {_with_spread(p, metric)} | "
                     f"{p['flop_fraction']:.3f} | {p['dev_seconds']:.2f} | {p['speedup']:.2f}x |")
    write_text_atomic(path, "\n".join(lines) + "\n")


def _same_configuration(random: dict, power: dict) -> bool:
    """A random-elimination point twins the PoWER point of its lambda (older sweeps: of its retention)."""
    if random.get("mode", "count") != power.get("mode", "count"):
        return False
    for key in ("lambda", "target_flops"):
        if key in random and key in power:
            return random[key] == power[key]
    return random["retention"] == power["retention"]


def _baseline_cell(points: list[dict], kind: str, power: dict, metric: str) -> str:
    """One cell of the matched-time table: the baseline's metric at the PoWER point's time, and the difference."""
    prefix = ""
    if kind == "random":
        twin = next((p for p in points if p["kind"] == "random" and _same_configuration(p, power)), None)
        value = None if twin is None else twin[metric]
    else:
        value = baseline_at(points, kind, power["dev_seconds"], metric)
        fastest = next(iter(curve(points, kind)), None)
        if value is None and fastest is not None and power["dev_seconds"] < fastest["dev_seconds"]:
            prefix, value = f"faster than all; {fastest['name']}: ", fastest[metric]
    if value is None:
        return "-"
    return f"{prefix}{100 * value:.2f} ({100 * (power[metric] - value):+.2f})"


def _write_plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = report["metric"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    styles = (("power", "o-", "PoWER (lambda or FLOP target)"),
              ("power-fraction", "D-", "PoWER, fraction mode (lambda or FLOP target)"),
              ("random", "x--", "random elimination, same configuration"),
              ("layers", "s--", "first m layers, fine-tuned (m)"), ("truncation", "^--", "first k tokens (k)"),
              ("truncation-retrained", "v--", "first k tokens, re-trained at k (k)"),
              ("head-tail-retrained", "<--", "first k/4 + last 3k/4 tokens, re-trained at k (k)"),
              ("plain", "*", "plain"))
    tags = {"power": "lambda", "power-fraction": "lambda", "layers": "layers", "truncation": "max_length",
            "truncation-retrained": "max_length", "head-tail-retrained": "max_length"}
    for ax, key in zip(axes, ("dev_seconds", "flop_fraction"), strict=True):
        for kind, marker, label in styles:
            chosen = curve(report["points"], kind, key)
            if not chosen:
                continue
            ax.errorbar([p[key] for p in chosen], [100 * p[metric] for p in chosen], fmt=marker, label=label,
                        yerr=[100 * p.get(f"{metric}_std", 0.0) for p in chosen], capsize=3,
                        markersize=10 if kind == "plain" else 6)
            for p in chosen:
                tag = "target_flops" if "target_flops" in p else tags.get(kind)
                if tag in p:
                    ax.annotate(f"{p[tag]:g}", (p[key], 100 * p[metric]), textcoords="offset points",
                                xytext=(4, 4), fontsize=7)
    plain = next(p for p in report["points"] if p["kind"] == "plain")
    for ax in axes:
        ax.axhline(100 * plain[metric] - TOLERANCE, color="grey", linestyle=":", linewidth=1,
                   label=f"plain - {TOLERANCE:g} point")
    axes[0].set_xlabel(f"dev-set inference time, s (batch {report['batch_size']}, median of {report['repeats']})")
    axes[1].set_xlabel("fraction of the plain model's encoder FLOPs (real tokens)")
    for ax in axes:
        ax.set_ylabel(f"dev {metric} (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{report['task']}: accuracy against cost, {report['environment']['device']}")
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
