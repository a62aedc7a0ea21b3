"""`powerbert bench`: honest inference timing of a PoWER model against its plain model, on the runtimes users deploy.

Task mode (a trained PoWER model on its task's dev set): every variant (tools/timing.py: PoWER or plain,
PyTorch or ONNX Runtime, fp32 or int8) is timed in a process of its own, so no runtime's thread pool can
slow another; rounds alternate (every variant once per round, the order rotating), and medians over rounds
are reported with each variant's dev metric, because int8 can cost accuracy. The headline is the fastest
PoWER variant against the fastest plain variant at each batch size.

Synthetic mode (random weights from a config, no data): plain, plain-padded and power, interleaved batch by
batch in one PyTorch process, for size and length scaling.
"""

import argparse
import json
import resource
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..algorithm.retention import PowerConfig, encoder_flops
from ..errors import PowerBertError
from ..files import save_figure_atomic, write_json_atomic, write_text_atomic
from ..modeling import PowerModel
from .options import add_task_options, parse_names, parse_numbers, parse_retention, task_from_args
from .timing import (
    VARIANTS,
    cpu_description,
    environment,
    executed_flops,
    export_key,
    latency_stats,
    make_batches,
    process_context,
    run_in_fresh_process,
    run_variant,
    time_interleaved,
)

SYNTHETIC_VARIANTS = ("plain", "plain-padded", "power")


def default_variants() -> str:
    """Every variant but plain-padded; ONNX Runtime's int8 with 7-bit weights only on a CPU without VNNI, where it
    can keep accuracy that 8-bit weights lose (with VNNI both add up exactly, and 8-bit weights are finer)."""
    vnni = {"avx512_vnni", "avx_vnni"} & set(cpu_description()["extensions"])
    return ",".join(name for name in VARIANTS
                    if name != "plain-padded" and not (vnni and name.endswith("int8w7")))


def add_bench_parser(commands) -> None:
    bench = commands.add_parser("bench", help="time the PoWER model against the plain model on PyTorch, ONNX Runtime "
                                "and OpenVINO, fp32, bf16 and int8 (JSON, Markdown, PNG)")
    bench.add_argument("--model", help="folder of a PoWER model (from `powerbert run`/`retrain`)")
    add_task_options(bench)  # the dev set that is timed: a GLUE task's, or your own data's validation split
    bench.add_argument("--seed", type=int, default=42, help="your own data: the seed that carved its validation split")
    bench.add_argument("--variants", help=f"comma-separated, from {', '.join(VARIANTS)} (default: all but "
                       "plain-padded, and the -int8w7 ones only on a CPU without VNNI)")
    bench.add_argument("--calibration-samples", type=int, default=300,
                       help="training inputs that calibrate the OpenVINO int8 variants (default 300)")
    bench.add_argument("--max-seq-length", type=int, help="padded length of plain-padded (default: the model's search length)")
    bench.add_argument("--batch-sizes", default="1,8,32", help="comma-separated (default 1,8,32)")
    bench.add_argument("--repeats", type=int, default=3, help="rounds: timed passes over the inputs (default 3)")
    bench.add_argument("--max-examples", type=int, help="time only the first N dev examples")
    bench.add_argument("--output", type=Path, default=Path("bench.json"), help="JSON report; .md and .png beside it")
    bench.add_argument("--synthetic", action="store_true", help="random-weight model from a config, no data needed")
    bench.add_argument("--arch", default="bert-base", help="synthetic: bert-base or a hub/folder config")
    bench.add_argument("--seq-lengths", default="64,128,256,512", help="synthetic: input lengths")
    bench.add_argument("--flop-fraction", type=float, default=0.25, help="synthetic: configuration keeping this share of FLOPs")
    bench.add_argument("--retention", help="synthetic: explicit configuration instead, e.g. 100,80,60,...")
    bench.add_argument("--retention-mode", choices=["count", "fraction"], default="count",
                       help="synthetic: how --retention reads (fraction: 0.8,0.5,...)")
    bench.add_argument("--examples", type=int, default=64, help="synthetic: inputs per length")


def run_bench(args: argparse.Namespace) -> dict:
    """Run the benchmark the CLI describes (its values checked by `check_option_values`) and write JSON, Markdown
    and PNG reports (atomically)."""
    batch_sizes = parse_numbers(args.batch_sizes, int)
    if args.output.is_dir():
        raise PowerBertError(f"--output {args.output} is a folder; give the JSON report's file name")
    report = _bench_synthetic(args, batch_sizes) if args.synthetic else _bench_task(args, batch_sizes)
    report["environment"] = environment()
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = _synthetic_table(report) if args.synthetic else _task_table(report)
    write_json_atomic(args.output, report)
    _write_markdown(report, table, args.output.with_suffix(".md"))
    _write_plot(report, args.output.with_suffix(".png"))
    return {"report": str(args.output), "table": table}


# --- task mode: a process per variant ------------------------------------------------------------------------
def _bench_task(args, batch_sizes: list[int]) -> dict:
    from ..training.data import TaskData
    if not args.model:
        raise PowerBertError("bench needs --model and --task or your own data (or --synthetic)")
    task = task_from_args(args)
    variants = parse_names(args.variants or default_variants(), VARIANTS, "--variants")
    power = PowerModel.from_pretrained(args.model).eval()
    pad_to = args.max_seq_length or power.power_config.metadata.get("max_seq_length") or task.hyper.max_seq_length
    data = TaskData.for_model(task, args.model, glue_dir=args.glue_dir, max_seq_length=pad_to)
    dev = data.dev.select(range(min(args.max_examples or len(data.dev), len(data.dev))))
    columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in dev.column_names]
    examples = [{c: row[c] for c in columns} for row in dev]
    labels = np.asarray(dev["labels"])

    with tempfile.TemporaryDirectory(prefix="powerbert-bench-") as scratch:
        scratch = Path(scratch)
        exports = _export_variants(args.model, variants, scratch, data, args.calibration_samples)
        spec = {"model": str(args.model), "exports": exports, "examples": str(scratch / "examples.json"),
                "batch_sizes": batch_sizes, "pad_to": pad_to, "pad_id": power.config.pad_token_id or 0}
        (scratch / "examples.json").write_text(json.dumps(examples))
        (scratch / "spec.json").write_text(json.dumps(spec))
        runs, logits = _run_rounds(variants, scratch, args.repeats)

    rows = []
    for batch_size in batch_sizes:
        stats = {}
        for name in variants:
            latencies = [s for run in runs[name] for s in run[str(batch_size)]["latencies"]]
            passes = [run[str(batch_size)]["pass_seconds"] for run in runs[name]]
            stats[name] = latency_stats(latencies, passes, len(examples))
            stats[name]["dev_metrics"] = data.metrics(logits[name][f"b{batch_size}"], labels)
            stats[name]["precision_run"] = runs[name][0].get("precision_run", VARIANTS[name][2])
        rows.append({"batch_size": batch_size, "variants": stats, **_compare(stats, logits, batch_size, power, examples)})
    report = {
        "mode": "task", "task": task.name, "metric": task.metric, "model": str(args.model), "examples": len(examples),
        "pad_to": pad_to, "retention": power.power_config.retention, "variants": {v: VARIANTS[v] for v in variants},
        "timing": "a process per variant and round, one untimed pass then a timed one; rounds alternate, the order "
                  "rotating; median over rounds",
        "flop_fraction_real_tokens": power.flop_fraction([len(e["input_ids"]) for e in examples]), "results": rows,
    }
    if "power" in variants:
        predictions = [_predictions(logits["power"][f"b{b}"]) for b in batch_sizes]
        report["same_predictions_across_batch_sizes"] = all(np.array_equal(predictions[0], p) for p in predictions)
    summary = Path(args.model).parent / "summary.json"
    if summary.is_file() and not args.max_examples:
        evaluated = json.loads(summary.read_text())
        report["retrain_dev_metric"] = (evaluated.get("retrain_dev") or evaluated.get("power_dev", {})).get(task.metric)
    return report


def _export_variants(model_dir: str, variants: list[str], scratch: Path, data, calibration_samples: int) -> dict:
    """Export each folder the variants need once (OpenVINO fp32 and bf16 share one); variant -> folder.

    The model is traced once per kind (plain, PoWER): its fp32 ONNX export is what the int8 exports quantize
    and the OpenVINO exports convert. The plain model's ONNX Runtime graph is ONNX Runtime's fused one (the
    fastest plain graph); its OpenVINO graph is converted from the unfused export, for OpenVINO fuses itself."""
    from ..deploy.exporter import export

    folders = {}
    keys = sorted({export_key(name) for name in variants} - {None}, key=str)
    calibrated = any(runtime == "openvino" and quantize for _, runtime, quantize in keys)
    calibration = data.calibration_inputs(calibration_samples) if calibrated else None  # plain and PoWER: the same inputs
    for kind, runtime, quantize in tqdm(keys, desc="exporting"):
        folder = scratch / f"{kind}-{runtime}-{quantize or 'fp32'}"
        traced = scratch / f"{kind}-onnxruntime-fp32"
        calibrated = calibration if runtime == "openvino" and quantize else None
        if kind == "plain" and runtime == "openvino":
            export(model_dir, folder, quantize=quantize, plain=True, runtime=runtime, calibration=calibrated)
            folders[kind, runtime, quantize] = str(folder)
            continue
        if not traced.is_dir():
            export(model_dir, traced, plain=kind == "plain")
        if folder != traced:
            export(traced, folder, quantize=quantize, runtime=runtime, calibration=calibrated)
        folders[kind, runtime, quantize] = str(folder)
    return {name: folders[export_key(name)] for name in variants if export_key(name)}


def _run_rounds(variants: list[str], scratch: Path, repeats: int) -> tuple[dict, dict]:
    """Every variant once per round, each in a fresh process, the order rotating; logits from the first round."""
    runs = {name: [] for name in variants}
    logits = {}
    context = process_context()
    progress = tqdm(total=repeats * len(variants), desc="timing (a process per variant)")
    for round_ in range(repeats):
        shift = round_ % len(variants)
        for name in variants[shift:] + variants[:shift]:
            prefix = scratch / f"{name}-{round_}"
            run_in_fresh_process(context, run_variant, (str(scratch / "spec.json"), name, str(prefix)),
                                 prefix.with_suffix(".error"), f"variant {name}")
            runs[name].append(json.loads(prefix.with_suffix(".json").read_text()))
            if round_ == 0:
                with np.load(prefix.with_suffix(".npz")) as saved:
                    logits[name] = dict(saved)
            progress.update()
    progress.close()
    return runs, logits


def _predictions(logits: np.ndarray) -> np.ndarray:
    return logits.argmax(-1) if logits.shape[-1] > 1 else logits[:, 0]


def _compare(stats: dict, logits: dict, batch_size: int, power: PowerModel, examples: list[dict]) -> dict:
    """Speedups over the plain PyTorch model, the FLOP ratio, agreement of each export with PyTorch, the headline."""
    out = {}
    if "plain" in stats:
        base = stats["plain"]["pass_seconds_median"]
        for name, s in stats.items():
            s["speedup_vs_plain"] = base / s["pass_seconds_median"]
        if "power" in stats:
            batches = make_batches(examples, batch_size, power.config.pad_token_id or 0, None)
            dims = (power.config.hidden_size, power.adapter.ffn_size, power.num_layers)
            ratio = executed_flops(batches, *dims, None) / executed_flops(batches, *dims, power.power_config)
            out["flop_ratio_power_vs_plain"] = ratio
            out["efficiency_power_vs_plain"] = stats["power"]["speedup_vs_plain"] / ratio
    for name in stats:  # each export and int8 model against the fp32 PyTorch model of the same kind
        reference = VARIANTS[name][0]
        if name != reference and reference in logits:
            ours, theirs = logits[name][f"b{batch_size}"], logits[reference][f"b{batch_size}"]
            stats[name]["vs_torch_fp32"] = {
                "max_abs_logit_diff": float(np.abs(ours - theirs).max()),
                "same_predictions": float(np.mean(_predictions(ours) == _predictions(theirs))),
            }
    fastest = {kind: min((n for n in stats if VARIANTS[n][0] == kind), default=None,
                         key=lambda n: stats[n]["pass_seconds_median"]) for kind in ("plain", "power")}
    if fastest["plain"] and fastest["power"]:
        out["fastest_plain"], out["fastest_power"] = fastest["plain"], fastest["power"]
        out["fastest_power_vs_fastest_plain"] = (stats[fastest["plain"]]["pass_seconds_median"]
                                                 / stats[fastest["power"]]["pass_seconds_median"])
        if "flop_ratio_power_vs_plain" in out:
            out["efficiency_fastest"] = out["fastest_power_vs_fastest_plain"] / out["flop_ratio_power_vs_plain"]
    return out


# --- synthetic mode: one PyTorch process, interleaved ----------------------------------------------------------
def config_for_flop_fraction(length: int, target: float, hidden: int, ffn: int, layers: int) -> list[int]:
    """A geometric configuration l_j = length * q^j whose FLOPs on `length` tokens are about `target` of the plain model's."""
    low, high = 0.0, 1.0
    plain = encoder_flops(length, hidden, ffn, layers)
    for _ in range(50):
        q = (low + high) / 2
        retention = [max(1, round(length * q ** (j + 1))) for j in range(layers)]
        if encoder_flops(length, hidden, ffn, layers, PowerConfig(retention)) / plain > target:
            high = q
        else:
            low = q
    return [max(1, round(length * low ** (j + 1))) for j in range(layers)]


def _synthetic_model(arch: str):
    from transformers import AutoConfig, AutoModelForSequenceClassification, BertConfig

    config = BertConfig(num_labels=2) if arch == "bert-base" else AutoConfig.from_pretrained(arch, num_labels=2)
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config).eval()


def _bench_synthetic(args, batch_sizes: list[int]) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = _synthetic_model(args.arch).to(device)
    lengths = parse_numbers(args.seq_lengths, int)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for length in tqdm(lengths, desc="lengths"):
        probe = PowerModel.keep_all(model, length)
        dims = (model.config.hidden_size, probe.adapter.ffn_size, probe.num_layers)
        config = (parse_retention(args.retention, args.retention_mode) if args.retention
                  else PowerConfig(config_for_flop_fraction(length, args.flop_fraction, *dims)))
        retention = config.retention
        power = PowerModel(model, config)
        ids = torch.randint(min(1000, model.config.vocab_size // 2), model.config.vocab_size, (args.examples, length),
                            generator=generator)
        examples = [{"input_ids": row.tolist(), "attention_mask": [1] * length} for row in ids]
        for batch_size in batch_sizes:
            batches = {v: make_batches(examples, batch_size, 0, length if v == "plain-padded" else None)
                       for v in SYNTHETIC_VARIANTS}
            runners = {"plain": (model, batches["plain"]), "plain-padded": (model, batches["plain-padded"]),
                       "power": (power, batches["power"])}
            stats, _ = time_interleaved(runners, args.repeats, device, desc=f"length {length}, batch {batch_size}")
            power_flops = executed_flops(batches["power"], *dims, power.power_config)
            row = {"seq_length": length, "batch_size": batch_size, "retention": retention, "variants": stats,
                   "flop_fraction": power.flop_fraction([length] * args.examples)}
            for base in ("plain", "plain-padded"):
                speedup = stats[base]["pass_seconds_median"] / stats["power"]["pass_seconds_median"]
                ratio = executed_flops(batches[base], *dims, None) / power_flops
                row[f"speedup_vs_{base}"], row[f"flop_ratio_vs_{base}"] = speedup, ratio
                row[f"efficiency_vs_{base}"] = speedup / ratio
            rows.append(row)
    return {"mode": "synthetic", "arch": args.arch, "results": rows}


# --- reports --------------------------------------------------------------------------------------------------
def _latency_cell(variant: dict) -> str:
    """Median latency with its p10-p90 spread, in ms."""
    return f"{variant['latency_ms_median']:.1f} ({variant['latency_ms_p10']:.1f}-{variant['latency_ms_p90']:.1f})"


def _synthetic_table(report: dict) -> list[str]:
    head = ("| length | batch | plain ms | plain-padded ms | power ms | power ex/s | speedup vs plain | vs padded "
            "| FLOP ratio vs plain | efficiency |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for row in report["results"]:
        v = row["variants"]
        lines.append(
            f"| {row['seq_length']} | {row['batch_size']} | {_latency_cell(v['plain'])} | "
            f"{_latency_cell(v['plain-padded'])} | {_latency_cell(v['power'])} | {v['power']['throughput_per_s']:.1f} | "
            f"{row['speedup_vs_plain']:.2f}x | {row['speedup_vs_plain-padded']:.2f}x | "
            f"{row['flop_ratio_vs_plain']:.2f}x | {row['efficiency_vs_plain']:.2f} |"
        )
    return lines


def _task_table(report: dict) -> list[str]:
    metric = report["metric"]
    head = (f"| batch | variant | runtime | precision | ms / batch, median (p10-p90) | pass s | examples / s "
            f"| speedup vs plain | dev {metric} | same predictions as PyTorch fp32 |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for row in report["results"]:
        for name, v in row["variants"].items():
            kind, runtime, precision, _ = VARIANTS[name]
            if v["precision_run"] != precision:
                precision = f"{precision} hint, ran {v['precision_run']}"
            best = name in (row.get("fastest_plain"), row.get("fastest_power"))
            label = f"**{name}**" if best else name
            speedup = f"{v['speedup_vs_plain']:.2f}x" if "speedup_vs_plain" in v else "-"
            agree = v.get("vs_torch_fp32")
            agree = f"{100 * agree['same_predictions']:.1f} % (max logit diff {agree['max_abs_logit_diff']:.1e})" \
                if agree else "-"
            lines.append(f"| {row['batch_size']} | {label} | {runtime} | {precision} | {_latency_cell(v)} | "
                         f"{v['pass_seconds_median']:.3f} | {v['throughput_per_s']:.1f} | {speedup} | "
                         f"{100 * v['dev_metrics'][metric]:.2f} | {agree} |")
    return lines


def _headlines(report: dict) -> list[str]:
    lines = []
    for row in report["results"]:
        if "fastest_power_vs_fastest_plain" in row:
            lines.append(f"- batch {row['batch_size']}: fastest PoWER variant **{row['fastest_power']}** is "
                         f"**{row['fastest_power_vs_fastest_plain']:.2f}x** faster than the fastest plain variant "
                         f"**{row['fastest_plain']}**"
                         + (f" (efficiency {row['efficiency_fastest']:.2f})." if "efficiency_fastest" in row else "."))
        if "efficiency_power_vs_plain" in row:
            lines.append(f"  PyTorch fp32: power vs plain {row['variants']['power']['speedup_vs_plain']:.2f}x at a FLOP "
                         f"ratio of {row['flop_ratio_power_vs_plain']:.2f}x: efficiency {row['efficiency_power_vs_plain']:.2f}.")
    return lines


def _write_markdown(report: dict, table: list[str], path: Path) -> None:
    env = report["environment"]
    lines = [f"# powerbert bench ({report['mode']})", "",
             f"{env['device']}: {env['cpu']['model']} ({env['cpu_count']} cores; {', '.join(env['cpu']['extensions'])}), "
             f"torch {env['torch']}, transformers {env['transformers']}, onnxruntime {env['onnxruntime']}, "
             f"openvino {env.get('openvino')}.",
             "Latency: median (p10-p90) per batch over all timed passes; speedup: ratio of median pass times.", ""]
    if report["mode"] == "task":
        lines += [f"Task {report['task']}, {report['examples']} dev examples, retention {report['retention']}, "
                  f"FLOP fraction on real tokens {report['flop_fraction_real_tokens']:.3f}. Timing: {report['timing']}.",
                  "", *_headlines(report), ""]
    lines += table
    write_text_atomic(path, "\n".join(lines) + "\n")


def _write_plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["results"]
    names = list(rows[0]["variants"])
    labels = [f"L{r['seq_length']} b{r['batch_size']}" if "seq_length" in r else f"batch {r['batch_size']}" for r in rows]
    x, width = np.arange(len(rows)), 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(rows) + 0.5 * len(names)), 4.5))
    setups = list(dict.fromkeys(VARIANTS[name][1:] for name in names))  # runtime, precision, padding: one colour each
    colours = plt.get_cmap("tab10")
    for k, name in enumerate(names):
        ax.bar(x + (k - (len(names) - 1) / 2) * width, [r["variants"][name]["throughput_per_s"] for r in rows], width,
               label=name, color=colours(setups.index(VARIANTS[name][1:]) % 10), edgecolor="black", linewidth=0.4,
               hatch="//" if VARIANTS[name][0] == "power" else None)
    ax.set_xticks(x, labels)
    ax.set_yscale("log")
    ax.set_ylabel("examples / s (log scale, higher is better)")
    ax.set_title(f"powerbert bench: {report.get('task', report.get('arch'))}, {report['environment']['device']}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
