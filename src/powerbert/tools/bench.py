"""`powerbert bench`: honest inference timing of a PoWER model against the plain model it came from.

Three variants run interleaved batch by batch, in one process, on the same inputs, after warm-up:
  plain-dynamic  the PoWER model's own weights, every token kept, Hugging Face's SDPA attention, each batch
                 padded to its longest input (what a modern server runs);
  plain-padded   the same, every batch padded to the maximum length (the paper's setting);
  power          the PoWER model (elimination by gather, dynamic padding).
Medians over repeats are reported with their spread; efficiency = measured speedup / FLOP-ideal speedup.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from tqdm.auto import tqdm

from ..algorithm.retention import PowerConfig, encoder_flops
from ..errors import PowerBertError
from ..files import save_figure_atomic, write_json_atomic, write_text_atomic
from ..modeling import PowerModel
from .options import parse_numbers, parse_retention

VARIANTS = ("plain-dynamic", "plain-padded", "power")


def add_bench_parser(commands) -> None:
    bench = commands.add_parser("bench", help="time the PoWER model against the plain model (JSON, Markdown, PNG)")
    bench.add_argument("--model", help="folder of a PoWER model (from `powerbert run`/`retrain`)")
    bench.add_argument("--task", help="GLUE task whose dev set is timed")
    bench.add_argument("--glue-dir", help="GLUE folder (default: $GLUE_DIR, else the hub)")
    bench.add_argument("--max-seq-length", type=int, help="padded length of plain-padded (default: the model's search length)")
    bench.add_argument("--batch-sizes", default="1,8,32", help="comma-separated (default 1,8,32)")
    bench.add_argument("--repeats", type=int, default=3, help="timed passes over the inputs (default 3)")
    bench.add_argument("--max-examples", type=int, help="time only the first N dev examples")
    bench.add_argument("--output", type=Path, default=Path("bench.json"), help="JSON report; .md and .png beside it")
    bench.add_argument("--synthetic", action="store_true", help="random-weight model from a config, no data needed")
    bench.add_argument("--arch", default="bert-base", help="synthetic: bert-base or a hub/folder config")
    bench.add_argument("--seq-lengths", default="64,128,256,512", help="synthetic: input lengths")
    bench.add_argument("--flop-fraction", type=float, default=0.25, help="synthetic: configuration keeping this share of FLOPs")
    bench.add_argument("--retention", help="synthetic: explicit configuration instead, e.g. 100,80,60,...")
    bench.add_argument("--examples", type=int, default=64, help="synthetic: inputs per length")


def environment() -> dict:
    """What the numbers depend on: machine, threads, library versions."""
    return {
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def _batches(examples: list[dict], batch_size: int, pad_id: int, pad_to: int | None) -> list[dict]:
    """Right-padded batches of consecutive examples (to the longest in the batch, or to pad_to)."""
    batches = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        width = pad_to or max(len(e["input_ids"]) for e in chunk)
        batch = {}
        for key in chunk[0]:
            fill = pad_id if key == "input_ids" else 0
            batch[key] = torch.tensor([e[key] + [fill] * (width - len(e[key])) for e in chunk])
        batches.append(batch)
    return batches


def _executed_flops(batches: list[dict], hidden: int, ffn: int, layers: int, retention: list[int] | None) -> int:
    """FLOPs as run: every row of a batch pays for the batch's width (padding included)."""
    total = 0
    for batch in batches:
        rows, width = batch["input_ids"].shape
        if retention is not None:  # the PoWER model first drops columns that are padding in every row
            width = int(batch["attention_mask"].sum(1).max())
        total += rows * encoder_flops(width, hidden, ffn, layers, retention)
    return total


def time_interleaved(runners: dict[str, tuple], repeats: int, device: torch.device, desc: str = "timing"):
    """Time several models on their own batches of the same inputs, interleaved batch by batch, after warm-up.

    runners maps a name to (model, batches); every model gets batch i before any gets batch i+1, and who
    goes first rotates. Returns per-name latency/throughput statistics and the first pass's logits.
    """
    names = list(runners)
    latencies = {name: [] for name in names}
    pass_seconds = {name: [] for name in names}
    logits = {name: [] for name in names}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    n = len(next(iter(runners.values()))[1])
    with torch.inference_mode():
        for i in range(min(2, n)):  # warm-up
            for model, batches in runners.values():
                model(**{k: t.to(device) for k, t in batches[i].items()})
        for repeat in range(repeats):
            totals = dict.fromkeys(names, 0.0)
            for i in tqdm(range(n), desc=f"{desc}, pass {repeat + 1}/{repeats}", leave=False):
                for name in names[i % len(names):] + names[: i % len(names)]:
                    model, batches = runners[name]
                    batch = {k: t.to(device) for k, t in batches[i].items()}
                    sync()
                    start = time.perf_counter()
                    out = model(**batch).logits
                    sync()
                    elapsed = time.perf_counter() - start
                    latencies[name].append(elapsed)
                    totals[name] += elapsed
                    if repeat == 0:
                        logits[name].append(out.float().cpu().numpy())
            for name in names:
                pass_seconds[name].append(totals[name])
    examples = sum(len(b["input_ids"]) for b in next(iter(runners.values()))[1])
    stats = {}
    for name in names:
        lat = np.asarray(latencies[name]) * 1000
        median_pass = statistics.median(pass_seconds[name])
        stats[name] = {
            "latency_ms_median": float(np.median(lat)),
            "latency_ms_p10": float(np.percentile(lat, 10)),
            "latency_ms_p90": float(np.percentile(lat, 90)),
            "pass_seconds_median": median_pass,
            "pass_seconds_all": pass_seconds[name],
            "throughput_per_s": examples / median_pass,
        }
    return stats, {name: np.concatenate(parts) for name, parts in logits.items()}


def time_variants(power: PowerModel, examples: list[dict], batch_size: int, pad_to: int, repeats: int,
                  device: torch.device) -> tuple[dict, dict]:
    """The three variants (plain-dynamic, plain-padded, power) timed interleaved, with FLOP ratios and efficiency."""
    pad_id = power.config.pad_token_id or 0
    dynamic = _batches(examples, batch_size, pad_id, None)
    padded = _batches(examples, batch_size, pad_id, pad_to)
    runners = {"plain-dynamic": (power.model, dynamic), "plain-padded": (power.model, padded), "power": (power, dynamic)}
    stats, logits = time_interleaved(runners, repeats, device, desc=f"batch {batch_size}")
    layers, hidden, ffn = power.num_layers, power.config.hidden_size, power.adapter.ffn_size
    flops = {
        "plain-dynamic": _executed_flops(dynamic, hidden, ffn, layers, None),
        "plain-padded": _executed_flops(padded, hidden, ffn, layers, None),
        "power": _executed_flops(dynamic, hidden, ffn, layers, power.power_config.retention),
    }
    for name, value in flops.items():
        stats[name]["executed_gflops"] = 2 * value / 1e9  # a multiply-add is two FLOPs
    result = {"batch_size": batch_size, "variants": stats}
    for base in ("plain-dynamic", "plain-padded"):
        speedup = stats[base]["pass_seconds_median"] / stats["power"]["pass_seconds_median"]
        ideal = flops[base] / flops["power"]
        result[f"speedup_vs_{base}"] = speedup
        result[f"flop_ratio_vs_{base}"] = ideal
        result[f"efficiency_vs_{base}"] = speedup / ideal
    return result, logits


def config_for_flop_fraction(length: int, target: float, hidden: int, ffn: int, layers: int) -> list[int]:
    """A geometric configuration l_j = length * q^j whose FLOPs on `length` tokens are about `target` of the plain model's."""
    low, high = 0.0, 1.0
    plain = encoder_flops(length, hidden, ffn, layers)
    for _ in range(50):
        q = (low + high) / 2
        retention = [max(1, round(length * q ** (j + 1))) for j in range(layers)]
        if encoder_flops(length, hidden, ffn, layers, retention) / plain > target:
            high = q
        else:
            low = q
    return [max(1, round(length * low ** (j + 1))) for j in range(layers)]


def _synthetic_model(arch: str):
    from transformers import AutoConfig, AutoModelForSequenceClassification, BertConfig

    config = BertConfig(num_labels=2) if arch == "bert-base" else AutoConfig.from_pretrained(arch, num_labels=2)
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config).eval()


def _bench_synthetic(args, batch_sizes: list[int], device: torch.device) -> dict:
    model = _synthetic_model(args.arch).to(device)
    lengths = parse_numbers(args.seq_lengths, int)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for length in tqdm(lengths, desc="lengths"):
        probe = PowerModel.keep_all(model, length)
        if args.retention:
            retention = parse_retention(args.retention).retention
        else:
            retention = config_for_flop_fraction(length, args.flop_fraction, model.config.hidden_size,
                                                 probe.adapter.ffn_size, probe.num_layers)
        power = PowerModel(model, PowerConfig(retention))
        ids = torch.randint(min(1000, model.config.vocab_size // 2), model.config.vocab_size, (args.examples, length), generator=generator)
        examples = [{"input_ids": row.tolist(), "attention_mask": [1] * length} for row in ids]
        for batch_size in batch_sizes:
            result, _ = time_variants(power, examples, batch_size, length, args.repeats, device)
            result.update(seq_length=length, retention=retention,
                          flop_fraction=power.flop_fraction([length] * args.examples))
            rows.append(result)
    return {"mode": "synthetic", "arch": args.arch, "results": rows}


def _bench_task(args, batch_sizes: list[int], device: torch.device) -> dict:
    from ..training.data import TaskData
    from ..training.tasks import get_task

    if not args.model or not args.task:
        raise PowerBertError("bench needs --model and --task (or --synthetic)")
    task = get_task(args.task)
    power = PowerModel.from_pretrained(args.model).eval().to(device)
    pad_to = args.max_seq_length or power.power_config.metadata.get("max_seq_length") or task.hyper.max_seq_length
    data = TaskData.for_model(task, args.model, glue_dir=args.glue_dir, max_seq_length=pad_to)
    dev = data.dev.select(range(min(args.max_examples or len(data.dev), len(data.dev))))
    columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in dev.column_names]
    examples = [{c: row[c] for c in columns} for row in dev]
    labels = np.asarray(dev["labels"])
    rows, predictions = [], {}
    for batch_size in batch_sizes:
        result, logits = time_variants(power, examples, batch_size, pad_to, args.repeats, device)
        result["dev_metrics"] = {v: data.metrics(logits[v], labels) for v in VARIANTS}
        predictions[batch_size] = logits["power"].argmax(-1) if logits["power"].shape[-1] > 1 else logits["power"]
        rows.append(result)
    report = {
        "mode": "task", "task": task.name, "model": str(args.model), "examples": len(examples), "pad_to": pad_to,
        "retention": power.power_config.retention, "flop_fraction_real_tokens": power.flop_fraction(
            [len(e["input_ids"]) for e in examples]), "results": rows,
    }
    first = predictions[batch_sizes[0]]
    report["same_predictions_across_batch_sizes"] = all(np.array_equal(first, p) for p in predictions.values())
    summary = Path(args.model).parent / "summary.json"
    if summary.is_file() and not args.max_examples:
        evaluated = json.loads(summary.read_text())
        evaluated = evaluated.get("retrain_dev") or evaluated.get("power_dev", {})
        report["retrain_dev_metric"] = evaluated.get(task.metric)
        report["bench_dev_metric"] = {row["batch_size"]: row["dev_metrics"]["power"][task.metric] for row in rows}
    return report


def run_bench(args: argparse.Namespace) -> dict:
    """Run the benchmark the CLI describes and write JSON, Markdown and PNG reports (atomically)."""
    batch_sizes = parse_numbers(args.batch_sizes, int)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    report = _bench_synthetic(args, batch_sizes, device) if args.synthetic else _bench_task(args, batch_sizes, device)
    report["environment"] = environment()
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device.type == "cuda":
        report["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    write_json_atomic(args.output, report)
    _write_markdown(report, args.output.with_suffix(".md"))
    _write_plot(report, args.output.with_suffix(".png"))
    return {"report": str(args.output), "table": _table(report)}


def _latency_cell(variant: dict) -> str:
    """Median latency with its p10-p90 spread, in ms."""
    return f"{variant['latency_ms_median']:.1f} ({variant['latency_ms_p10']:.1f}-{variant['latency_ms_p90']:.1f})"


def _table(report: dict) -> list[str]:
    head = ("| length | batch | plain-dynamic ms | plain-padded ms | power ms | power ex/s | speedup vs dynamic | vs padded "
            "| FLOP ratio vs dynamic | efficiency |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for row in report["results"]:
        v = row["variants"]
        cell = {name: _latency_cell(variant) for name, variant in v.items()}
        lines.append(
            f"| {row.get('seq_length', 'dev')} | {row['batch_size']} | {cell['plain-dynamic']} | {cell['plain-padded']} | "
            f"{cell['power']} | {v['power']['throughput_per_s']:.1f} | {row['speedup_vs_plain-dynamic']:.2f}x | "
            f"{row['speedup_vs_plain-padded']:.2f}x | {row['flop_ratio_vs_plain-dynamic']:.2f}x | "
            f"{row['efficiency_vs_plain-dynamic']:.2f} |"
        )
    return lines


def _write_markdown(report: dict, path: Path) -> None:
    env = report["environment"]
    lines = [f"# powerbert bench ({report['mode']})", "",
             f"{env['device']}, {env['torch_threads']} threads, torch {env['torch']}, transformers {env['transformers']}.",
             "Latency: median (p10-p90) per batch in ms over all timed passes; speedup: ratio of median pass times.", ""]
    if report["mode"] == "task":
        lines += [f"Task {report['task']}, {report['examples']} dev examples, retention {report['retention']}, "
                  f"FLOP fraction on real tokens {report['flop_fraction_real_tokens']:.3f}.", ""]
    lines += _table(report)
    write_text_atomic(path, "\n".join(lines) + "\n")


def _write_plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["results"]
    labels = [f"L{r['seq_length']} b{r['batch_size']}" if "seq_length" in r else f"b{r['batch_size']}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 4))
    for k, v in enumerate(VARIANTS):
        ax.bar(x + (k - 1) * 0.27, [r["variants"][v]["throughput_per_s"] for r in rows], 0.27, label=v)
    for i, r in enumerate(rows):
        ax.annotate(f"{r['speedup_vs_plain-dynamic']:.2f}x", (x[i] + 0.27, r["variants"]["power"]["throughput_per_s"]),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylabel("examples / s (higher is better)")
    ax.set_title(f"powerbert bench: {report.get('task', report.get('arch'))}, {report['environment']['device']}")
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
