"""How models are timed: batches, the variants `powerbert bench` knows, and one timed pass per process.

Runtimes keep thread pools (PyTorch's, ONNX Runtime's) that slow each other when they share a process, so
`powerbert bench` times every variant in a process of its own: `python -m powerbert.tools.timing SPEC VARIANT
OUT` loads one variant and, at each batch size, runs one untimed pass over the inputs and times the next.
`time_interleaved` is the in-process alternative for models of one runtime (PyTorch), as the sweep and the
synthetic bench use.
"""

import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from tqdm.auto import tqdm

from ..algorithm.retention import PowerConfig, encoder_flops
from ..cpu_memory import keep_freed_memory
from ..errors import PowerBertError

# name -> (PoWER or plain, runtime, precision, padding); "-ov" is OpenVINO, whose bf16 is a run-time hint;
# "-int8w7" is ONNX Runtime's int8 with 7-bit weights (for CPUs without VNNI);
# "-onednn" is PyTorch with its fp32 Linear layers on oneDNN's kernels (deploy/torch_kernels.py)
VARIANTS: dict[str, tuple[str, str, str, str]] = {
    "plain-padded": ("plain", "torch", "fp32", "padded"),
    **{
        f"{kind}{suffix}": (kind, runtime, precision, "dynamic")
        for kind in ("plain", "power")
        for suffix, runtime, precision in (
            ("", "torch", "fp32"), ("-onednn", "torch-onednn", "fp32"), ("-int8", "torch", "int8"),
            ("-bf16", "torch", "bf16"),
            ("-ort", "onnxruntime", "fp32"), ("-ort-int8", "onnxruntime", "int8"),
            ("-ort-int8w7", "onnxruntime", "int8-w7"),
            ("-ov", "openvino", "fp32"), ("-ov-bf16", "openvino", "bf16"), ("-ov-int8", "openvino", "int8"),
        )
    },
}


def export_key(name: str) -> tuple[str, str, str | None] | None:
    """(kind, runtime, quantization) of the export folder a variant runs, or None for PyTorch variants.
    OpenVINO's fp32 and bf16 variants share one folder: bf16 is a hint given when it is loaded."""
    kind, runtime, precision, _ = VARIANTS[name]
    if runtime.startswith("torch"):
        return None
    return kind, runtime, precision if precision.startswith("int8") else None


def cpu_description() -> dict:
    """The CPU's model name and the vector / matrix extensions that decide int8 and bf16 speed (Linux)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model": platform.processor() or platform.machine(), "extensions": []}
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {"model": model, "extensions": [f for f in wanted if f in flags]}


def environment() -> dict:
    """What the numbers depend on: machine, threads, library versions."""
    import onnxruntime
    import openvino
    return {
        "machine": platform.processor() or platform.machine(),
        "cpu": cpu_description(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.__version__,
    }


def make_batches(examples: list[dict], batch_size: int, pad_id: int, pad_to: int | None) -> list[dict]:
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


def executed_flops(batches: list[dict], hidden: int, ffn: int, layers: int, config: PowerConfig | None) -> int:
    """Multiply-adds as run: every row of a batch pays for the batch's width (padding included)."""
    total = 0
    for batch in batches:
        rows, width = batch["input_ids"].shape
        if config is not None:  # the PoWER model first drops columns that are padding in every row
            width = int(batch["attention_mask"].sum(1).max())
        total += rows * encoder_flops(width, hidden, ffn, layers, config)
    return total


def latency_stats(latencies_s: list[float], pass_seconds: list[float], examples: int) -> dict:
    """Median and p10-p90 per-batch latency (ms), median pass time and the throughput it gives."""
    lat = np.asarray(latencies_s) * 1000
    median_pass = statistics.median(pass_seconds)
    return {
        "latency_ms_median": float(np.median(lat)),
        "latency_ms_p10": float(np.percentile(lat, 10)),
        "latency_ms_p90": float(np.percentile(lat, 90)),
        "pass_seconds_median": median_pass,
        "pass_seconds_all": list(pass_seconds),
        "throughput_per_s": examples / median_pass,
    }


def time_interleaved(runners: dict[str, tuple], repeats: int, device: torch.device, desc: str = "timing"):
    """Time several PyTorch models on their own batches of the same inputs, interleaved batch by batch.

    runners maps a name to (model, batches); every model gets batch i before any gets batch i+1, and who
    goes first rotates. Returns per-name latency/throughput statistics and the first pass's logits.
    """
    if device.type == "cpu":
        keep_freed_memory()
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
    stats = {name: latency_stats(latencies[name], pass_seconds[name], examples) for name in names}
    return stats, {name: np.concatenate(parts) for name, parts in logits.items()}


def process_context():
    """Fresh processes that start in milliseconds: forked from a server that imported torch and transformers once
    and has run nothing (so no thread pool exists yet); spawned where the platform has no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["powerbert.tools.timing"])
    return context


# --- one variant in a process of its own ------------------------------------------------------------------
def load_variant(name: str, spec: dict):
    """The model a variant times: the PoWER model or its plain classifier, in PyTorch or from an export folder."""
    from ..deploy.loader import load_exported
    from ..deploy.torch_kernels import use_onednn_linears
    from ..deploy.torch_precision import with_precision
    from ..modeling import PowerModel

    kind, runtime, precision, _ = VARIANTS[name]
    if not runtime.startswith("torch"):
        return load_exported(spec["exports"][name], dtype="bf16" if precision == "bf16" else "fp32")
    power = PowerModel.from_pretrained(spec["model"]).eval()
    model = with_precision(power if kind == "power" else power.model, precision)
    return use_onednn_linears(model) if runtime == "torch-onednn" else model


def precision_run(model, precision: str) -> str:
    """The precision a variant actually ran at: OpenVINO may ignore a bf16 hint on a CPU without bf16 units."""
    return precision if precision.startswith("int8") else getattr(model, "inference_precision", precision)


def time_pass(model, batches: list[dict]) -> tuple[list[float], np.ndarray]:
    """Per-batch latencies (s) of one pass over `batches` after an untimed one, and the logits.

    The untimed pass shows the runtime every batch shape once: OpenVINO and ONNX Runtime prepare kernels per
    shape the first time they meet it, a cost a running server pays once, so the timed pass is the steady state.
    """
    latencies, logits = [], []
    with torch.inference_mode():
        for batch in batches:
            model(**batch)
        for batch in batches:
            start = time.perf_counter()
            out = model(**batch).logits
            latencies.append(time.perf_counter() - start)
            logits.append(out.float().numpy())
    return latencies, np.concatenate(logits)


def run_variant(spec_path: str, name: str, out_prefix: str) -> None:
    """Worker: time one variant at every batch size of the spec; write <out_prefix>.json and .npz (logits)."""
    spec = json.loads(Path(spec_path).read_text())
    examples = json.loads(Path(spec["examples"]).read_text())
    keeps_freed_memory = keep_freed_memory()  # as training and evaluation do: the plain model gains most (long inputs)
    model = load_variant(name, spec)
    padding = VARIANTS[name][3]
    result, logits = {}, {}
    for batch_size in spec["batch_sizes"]:
        pad_to = spec["pad_to"] if padding == "padded" else None
        batches = make_batches(examples, batch_size, spec["pad_id"], pad_to)
        latencies, logits[f"b{batch_size}"] = time_pass(model, batches)
        result[str(batch_size)] = {"latencies": latencies, "pass_seconds": sum(latencies)}
    result["torch_threads"] = torch.get_num_threads()
    result["keeps_freed_memory"] = keeps_freed_memory
    result["precision_run"] = precision_run(model, VARIANTS[name][2])
    np.savez(out_prefix + ".npz", **logits)
    Path(out_prefix + ".json").write_text(json.dumps(result))


def run_in_fresh_process(context, target, args: tuple, error_path: Path, what: str) -> None:
    """target(*args) in a fresh process of `context` (process_context()), its stdout sent to stderr (the CLI's
    stdout is its JSON answer); a failure there becomes one line here: "timing <what> failed: <reason>"."""
    worker = context.Process(target=_child_entry, args=(target, args, str(error_path)))
    worker.start()
    worker.join()
    if worker.exitcode != 0:
        reason = error_path.read_text() if error_path.is_file() else f"exit code {worker.exitcode}"
        raise PowerBertError(f"timing {what} failed: {reason}")


def _child_entry(target, args: tuple, error_path: str) -> None:
    """Entry point of a timing process: a failure leaves its one-line reason in error_path for the parent."""
    os.dup2(2, 1)
    try:
        target(*args)
    except Exception as error:  # noqa: BLE001  (any failure becomes the parent's one-line error)
        Path(error_path).write_text(f"{type(error).__name__}: {error}".splitlines()[0])
        sys.exit(1)


if __name__ == "__main__":
    run_variant(*sys.argv[1:4])
