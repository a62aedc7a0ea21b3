"""`powerbert embed` (a PoWER embedding model by distillation from a sentence-transformers model) and
`powerbert evaluate-embeddings` (STS Spearman, agreement of nearest neighbours, texts per second: plain against
PoWER, both through `SentenceTransformer.encode`, each model timed in a process of its own)."""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ..algorithm.budget import EMBED_SHAPE, SHAPES, speedup_to_flop_fraction
from ..errors import PowerBertError
from ..files import write_json_atomic


def add_embedding_parsers(commands) -> None:
    embed = commands.add_parser("embed", help="a faster sentence-embedding model: configuration search and "
                                "re-training by distillation from the plain model, on your unlabeled texts")
    embed.add_argument("--model", default="minilm", help="the plain sentence-transformers model (folder, hub name, "
                       "or minilm / mpnet)")
    embed.add_argument("--train-file", required=True, help="texts: .csv, .tsv, .jsonl or .parquet")
    embed.add_argument("--validation-file", help="held-out texts (default: 5 %% of the training texts, at most 1000)")
    embed.add_argument("--text-columns", default="text", help="the text column, or several (a,b): every text of each")
    embed.add_argument("--max-train-samples", type=int, help="train on a seeded sample of this many texts")
    embed.add_argument("--max-seq-length", type=int, help="tokens per text (default: the model's own setting)")
    embed.add_argument("--target-flops", type=float, help="fraction of the plain encoder's FLOPs (default 0.5)")
    embed.add_argument("--target-speedup", type=float, help="the same as --target-flops 1/S")
    embed.add_argument("--retention-mode", choices=["count", "fraction"], default="count")
    embed.add_argument("--budget-shape", choices=SHAPES, default=EMBED_SHAPE,
                       help=f"how the FLOP target pulls on the layers (default {EMBED_SHAPE}: the paper's regulariser, "
                       "later layers charged more, only while the expected FLOPs are above the target; paper: the "
                       "same without stopping; flops: each layer charged its vectors' cost)")
    embed.add_argument("--pool-weights", choices=["merged", "carried", "kept", "absorbed"],
                       help="what mean pooling averages: merged (count mode's default): each eliminated vector "
                       "averaged into the kept one most like it, weighted by the tokens each stands for; carried "
                       "(fraction mode's default): every token, each eliminated one as it was when removed; kept: "
                       "the kept vectors only; absorbed: each kept vector weighted by the tokens it absorbed")
    embed.add_argument("--search-epochs", type=float, default=2.0)
    embed.add_argument("--retrain-epochs", type=float, default=2.0)
    embed.add_argument("--lr", type=float, default=5e-5, help="learning rate of the encoder weights (default 5e-5)")
    embed.add_argument("--batch-size", type=int, default=32)
    embed.add_argument("--seed", type=int, default=42)
    embed.add_argument("--checkpoint-minutes", type=float, default=30.0,
                       help="a checkpoint every this many minutes of training as well as after each epoch")
    embed.add_argument("--output-dir", required=True, type=Path)

    evaluate = commands.add_parser("evaluate-embeddings", help="a PoWER embedding model against its plain model: "
                                   "STS Spearman, nearest-neighbour agreement, texts per second")
    evaluate.add_argument("--model", required=True, help="the PoWER embedding model (folder written by embed)")
    evaluate.add_argument("--teacher", default="minilm", help="the plain model it was made from")
    evaluate.add_argument("--sts-file", help="sentence pairs with a similarity score (columns sentence1, "
                          "sentence2, score), e.g. GLUE's STS-B dev.tsv")
    evaluate.add_argument("--corpus-file", help="texts for the nearest-neighbour agreement (recall@10 of PoWER's "
                          "neighbours against the plain model's) and the timing")
    evaluate.add_argument("--text-columns", default="text", help="the corpus's text column(s)")
    evaluate.add_argument("--max-samples", type=int, default=2000, help="corpus texts (a seeded sample)")
    evaluate.add_argument("--queries", type=int, default=200, help="corpus texts used as queries")
    evaluate.add_argument("--max-seq-length", type=int, help="tokens per text for both models (default: the PoWER "
                          "model's)")
    evaluate.add_argument("--batch-sizes", default="32", help="timing: batch sizes of encode (e.g. 1,32,128)")
    evaluate.add_argument("--repeats", type=int, default=3, help="timing: rounds, the models alternating")
    evaluate.add_argument("--timing-models", help="timing: these folders (comma-separated: PoWER and plain models, "
                          "PyTorch folders or exports) instead of --teacher and --model; the headline is the "
                          "fastest PoWER one over the fastest plain one")
    evaluate.add_argument("--no-timing", action="store_true", help="quality only (timing needs the CPU to itself)")
    evaluate.add_argument("--seed", type=int, default=42)
    evaluate.add_argument("--output", type=Path, help="write the report as JSON here too")


def run_embed(args: argparse.Namespace) -> dict:
    """`powerbert embed`: read the texts, then search and re-train by distillation (training/distill.py)."""
    from ..pretrained import resolve_model
    from ..training.distill import read_texts, run_distillation
    from ..training.stages import StageOptions

    if args.target_flops is not None and args.target_speedup is not None:
        raise PowerBertError("--target-flops and --target-speedup say the same thing; give one")
    target = speedup_to_flop_fraction(args.target_speedup) if args.target_speedup else (args.target_flops or 0.5)
    texts = read_texts(args.train_file, args.text_columns, args.max_train_samples, args.seed)
    if args.validation_file:
        dev = read_texts(args.validation_file, args.text_columns, 1000, args.seed, split="validation")
    else:
        order = np.random.default_rng(args.seed).permutation(len(texts))
        held = set(order[: min(1000, max(1, len(texts) // 20))].tolist())
        dev = [t for i, t in enumerate(texts) if i in held]
        texts = [t for i, t in enumerate(texts) if i not in held]
    stage = lambda epochs: StageOptions(epochs, args.lr, args.batch_size, args.checkpoint_minutes)  # noqa: E731
    return run_distillation(resolve_model(args.model), texts, dev, args.output_dir, stage(args.search_epochs),
                            stage(args.retrain_epochs), target, 0.0, None, args.max_seq_length, args.retention_mode,
                            args.pool_weights, args.seed, args.budget_shape)


def run_evaluate_embeddings(args: argparse.Namespace) -> dict:
    """`powerbert evaluate-embeddings`: every measure the options ask for, plain against PoWER."""
    from ..embedding import load_sentence_transformer
    from ..pretrained import resolve_model
    from ..training.distill import read_texts
    from .options import parse_numbers

    if not args.sts_file and not args.corpus_file:
        raise PowerBertError("give --sts-file, --corpus-file or both")
    power = load_sentence_transformer(resolve_model(args.model))
    if not hasattr(power[0], "flop_fraction"):  # PowerTransformer, or ExportedPowerTransformer for an export
        raise PowerBertError(f"{args.model} is not a PoWER embedding model (written by powerbert embed or export)")
    plain = load_sentence_transformer(resolve_model(args.teacher))
    limit = args.max_seq_length or power.max_seq_length
    plain.max_seq_length = power.max_seq_length = limit
    report = {"model": str(args.model), "teacher": str(args.teacher), "max_seq_length": limit,
              "retention": power[0].retention}
    if args.sts_file:
        report["sts"] = sts_spearman(plain, power, args.sts_file)
    if args.corpus_file:
        corpus = read_texts(args.corpus_file, args.text_columns, args.max_samples, args.seed, split="corpus")
        lengths = [len(ids) for ids in power.tokenizer(corpus, truncation=True, max_length=limit)["input_ids"]]
        report["corpus"] = {"texts": len(corpus), "mean_tokens": float(np.mean(lengths)),
                            "flop_fraction": power[0].flop_fraction(lengths)}
        report["corpus"].update(neighbour_agreement(plain, power, corpus, args.queries, args.seed))
        if not args.no_timing:
            models = [m.strip() for m in (args.timing_models or f"{args.teacher},{args.model}").split(",") if m.strip()]
            if not models or len(set(models)) != len(models):
                raise PowerBertError(f"--timing-models {args.timing_models!r}: give each folder once")
            report["throughput"] = throughput([str(resolve_model(m)) for m in models], corpus, limit,
                                              parse_numbers(args.batch_sizes, int), args.repeats)
    if args.output:
        write_json_atomic(args.output, report)
    return report


def sts_spearman(plain, power, path: str) -> dict:
    """Spearman correlation (x100) of the cosine similarity of each pair with its gold score, both models."""
    from scipy.stats import spearmanr

    from ..training.user_data import read_data_file

    rows = read_data_file(Path(path), "sts")
    missing = {"sentence1", "sentence2", "score"} - set(rows.column_names)
    if missing:
        raise PowerBertError(f"--sts-file {path} has no column {sorted(missing)[0]!r} (its columns: {rows.column_names})")
    first, second, gold = list(map(str, rows["sentence1"])), list(map(str, rows["sentence2"])), rows["score"]
    result = {"pairs": len(gold)}
    for name, model in (("plain", plain), ("power", power)):
        a, b = (model.encode(t, batch_size=64, normalize_embeddings=True, show_progress_bar=False) for t in (first, second))
        result[f"spearman_{name}"] = float(spearmanr((a * b).sum(-1), gold).statistic * 100)
    result["difference"] = result["spearman_power"] - result["spearman_plain"]
    return result


def neighbour_agreement(plain, power, corpus: list[str], queries: int, seed: int, k: int = 10) -> dict:
    """recall@k: of each query's k nearest corpus texts by the plain model (itself excluded), the share that PoWER's
    k nearest also hold; with the mean cosine between each text's two embeddings."""
    embeddings = {name: model.encode(corpus, batch_size=32, normalize_embeddings=True, show_progress_bar=True)
                  for name, model in (("plain", plain), ("power", power))}
    chosen = np.random.default_rng(seed).permutation(len(corpus))[: min(queries, len(corpus))]
    recalls = []
    for i in chosen:
        top = {}
        for name, e in embeddings.items():
            similarity = e @ e[i]
            similarity[i] = -np.inf
            top[name] = set(np.argpartition(-similarity, k)[:k].tolist())
        recalls.append(len(top["plain"] & top["power"]) / k)
    return {f"recall_at_{k}": float(np.mean(recalls)), "queries": len(chosen),
            "cosine_to_plain": float(np.mean((embeddings["plain"] * embeddings["power"]).sum(-1)))}


def throughput(models: list[str], texts: list[str], max_seq_length: int, batch_sizes: list[int],
               repeats: int) -> dict:
    """Texts per second of each model's `encode` at each batch size, every model in a fresh process once per round
    (the order rotating), medians over the rounds; the headline per batch size is the fastest PoWER model over
    the fastest plain one."""
    from tqdm.auto import tqdm

    from .timing import process_context, run_in_fresh_process

    runs: dict[str, list[dict]] = {m: [] for m in models}
    context = process_context()
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "texts.json"
        corpus.write_text(json.dumps(texts))
        with tqdm(total=repeats * len(models), desc="timing (a process per model)") as progress:
            for round_ in range(repeats):
                shift = round_ % len(models)
                for index, model in enumerate(models[shift:] + models[:shift]):
                    out = Path(scratch) / f"{round_}-{index}.json"
                    run_in_fresh_process(context, _time_encode, (model, str(corpus), max_seq_length, batch_sizes,
                                                                 str(out)), out.with_suffix(".error"), model)
                    runs[model].append(json.loads(out.read_text()))
                    progress.update()
    rows = [{"model": model, "power": done[0]["power"], "runtime": done[0]["runtime"],
             "texts_per_s": {str(b): len(texts) / statistics.median(r["seconds"][str(b)] for r in done)
                             for b in batch_sizes}} for model, done in runs.items()]
    headline = []
    for b in map(str, batch_sizes):
        fastest = {kind: max((r for r in rows if r["power"] == kind), key=lambda r: r["texts_per_s"][b], default=None)
                   for kind in (True, False)}
        if fastest[True] and fastest[False]:
            headline.append({"batch_size": int(b), "fastest_power": fastest[True]["model"],
                             "fastest_plain": fastest[False]["model"],
                             "speedup": fastest[True]["texts_per_s"][b] / fastest[False]["texts_per_s"][b]})
    return {"texts": len(texts), "rounds": repeats, "models": rows, "headline": headline}


def _time_encode(model_path: str, texts_path: str, max_seq_length: int, batch_sizes: list[int], out_path: str) -> None:
    """Worker: one model's `encode` over the texts at each batch size, an untimed pass (a runtime prepares kernels
    for each input width the first time it meets it, a cost a running service pays once) then a timed one;
    seconds, kind and runtime to out_path."""
    from ..cpu_memory import keep_freed_memory
    from ..embedding import load_sentence_transformer

    keep_freed_memory()
    texts = json.loads(Path(texts_path).read_text())
    model = load_sentence_transformer(model_path)
    model.max_seq_length = max_seq_length
    seconds = {}
    for batch_size in batch_sizes:
        model.encode(texts, batch_size=batch_size, show_progress_bar=False)
        start = time.perf_counter()
        model.encode(texts, batch_size=batch_size, show_progress_bar=False)
        seconds[str(batch_size)] = time.perf_counter() - start
    exported = getattr(model[0], "exported", None)
    runtime = "pytorch" if exported is None else f"{exported.runtime} {exported.export_config.get('precision')}"
    write_json_atomic(Path(out_path), {"seconds": seconds, "power": getattr(model[0], "retention", None) is not None,
                                       "runtime": runtime})
