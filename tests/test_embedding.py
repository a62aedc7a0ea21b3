"""PoWER sentence embeddings on a tiny random BERT: pooling over what is left, the sentence-transformers folder,
and search + re-training by distillation from the plain model."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import padded_batch, tiny_classifier
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import (
    Normalize,
    Pooling,
    Transformer,
)
from test_cli import assert_one_line
from transformers import AutoConfig, AutoModel, BertTokenizerFast

from powerbert import PowerBertError, PowerConfig
from powerbert.cli import main
from powerbert.embedding import PowerEmbeddingModel, PowerTransformer
from powerbert.training.distill import run_distillation
from powerbert.training.stages import StageOptions

WORDS = ["a", "fine", "film", "dull", "and", "long", "story", "good", "bad", "plot", "cast", "music"]


def tiny_encoder(seed: int = 0):
    torch.manual_seed(seed)
    config = AutoConfig.for_model("bert", vocab_size=120, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                  intermediate_size=64, max_position_embeddings=66, pad_token_id=0)
    return AutoModel.from_config(config).eval()


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    """A tiny plain sentence-transformers model (BERT, mean pooling, Normalize) with a real tokenizer."""
    root = tmp_path_factory.mktemp("teacher")
    (root / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]))
    tiny_encoder().save_pretrained(root / "hf")
    BertTokenizerFast(vocab_file=str(root / "vocab.txt")).save_pretrained(root / "hf")
    transformer = Transformer(str(root / "hf"), max_seq_length=32)
    SentenceTransformer(modules=[transformer, Pooling(32, pooling_mode="mean"), Normalize()]).save(str(root / "st"))
    # as all-MiniLM-L6-v2 ships: the tokenizer allows more tokens than the sentence-transformers setting uses
    settings = root / "st" / "tokenizer_config.json"
    settings.write_text(json.dumps({**json.loads(settings.read_text()), "model_max_length": 66}))
    return root / "st"


def texts(count: int, seed: int = 0) -> list[str]:
    generator = torch.Generator().manual_seed(seed)
    return [" ".join(WORDS[i] for i in torch.randint(0, len(WORDS), (int(n),), generator=generator))
            for n in torch.randint(12, 30, (count,), generator=generator)]


def test_keeping_every_vector_gives_the_plain_models_mean_pooling():
    encoder = tiny_encoder()
    power = PowerEmbeddingModel.keep_all(encoder, 64).eval()
    ids, mask = padded_batch([11, 5, 8])
    with torch.no_grad():
        hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        expected = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        torch.testing.assert_close(power(ids, mask).embeddings, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pool_weights", ["absorbed", "kept", "merged"])
def test_pooling_weights_count_every_token_once_or_every_kept_vector_once(pool_weights):
    power = PowerEmbeddingModel(tiny_encoder(), PowerConfig([6, 4, 3], metadata={"pool_weights": pool_weights})).eval()
    lengths = [11, 5, 8]
    ids, mask = padded_batch(lengths)
    with torch.no_grad():
        hidden, weights = power.token_embeddings(ids, mask)
    assert hidden.shape == (3, 3, 32) and weights.shape == (3, 3)  # the last layer keeps 3 vectors
    expected = [3.0, 3.0, 3.0] if pool_weights == "kept" else [float(n) for n in lengths]
    torch.testing.assert_close(weights.sum(1), torch.tensor(expected))
    assert (weights > 0).all()


def test_merging_averages_each_eliminated_vector_into_the_kept_one_most_like_it():
    from powerbert.algorithm.extract import merge_weights

    sizes = torch.tensor([[1.0, 2.0, 1.0, 3.0, 0.0, 1.0]])  # position 4 is padding
    vectors = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.1], [0.1, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0],
                             [1.0, 0.1, 0.0]]])
    kept = torch.tensor([[0, 2, 5]])  # [CLS], and two vectors unlike each other
    mix, new_sizes = merge_weights(sizes, vectors, kept)
    torch.testing.assert_close(new_sizes, torch.tensor([[1.0, 1.0 + 2.0 + 3.0, 1.0]]))  # 1 and 3 are like 2
    torch.testing.assert_close(mix.sum(-1), torch.ones(1, 3))  # each kept vector: an average
    torch.testing.assert_close(mix[0, 1], torch.tensor([0.0, 2.0, 1.0, 3.0, 0.0, 0.0]) / 6)
    torch.testing.assert_close(mix[0, 0], torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]))  # nothing into [CLS]
    assert mix[0, :, 4].abs().max() == 0  # padding merges into nothing


def test_merged_pooling_answers_an_input_alone_as_in_a_padded_batch():
    power = PowerEmbeddingModel(tiny_encoder(), PowerConfig([6, 4, 3], metadata={"pool_weights": "merged"})).eval()
    ids, mask = padded_batch([11, 5, 8])
    with torch.no_grad():
        batched = power(ids, mask).embeddings
        alone = torch.cat([power(ids[i:i + 1, :n], mask[i:i + 1, :n]).embeddings for i, n in enumerate([11, 5, 8])])
        kept = PowerEmbeddingModel(power.model, PowerConfig([6, 4, 3])).eval()(ids, mask).embeddings
    torch.testing.assert_close(batched, alone, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(batched, kept, atol=1e-3)  # merging changes what the later layers see
    with pytest.raises(PowerBertError, match="count mode"):
        PowerEmbeddingModel(tiny_encoder(), PowerConfig([0.5, 0.4, 0.3], mode="fraction",
                                                         metadata={"pool_weights": "merged"}))
    with pytest.raises(PowerBertError, match="count mode"):  # before any work: the teacher is not even loaded
        run_distillation("no-such-teacher", ["a"], ["b"], Path("no-such-folder"), StageOptions(1, 1e-3, 8),
                         StageOptions(1, 1e-3, 8), 0.5, 0.0, None, mode="fraction", pool_weights="merged")
    assert not Path("no-such-folder").exists()


def test_carried_pooling_averages_every_token_each_as_it_was_when_eliminated():
    encoder = tiny_encoder()
    carried = PowerEmbeddingModel(encoder, PowerConfig([6, 4, 3], metadata={"pool_weights": "carried"})).eval()
    kept = PowerEmbeddingModel(encoder, PowerConfig([6, 4, 3])).eval()
    lengths = [11, 5, 8]
    ids, mask = padded_batch(lengths)
    with torch.no_grad():
        hidden, weights = carried.token_embeddings(ids, mask)
        final, _ = kept.token_embeddings(ids, mask)
        embedded = encoder.embeddings(input_ids=ids)
    assert hidden.shape == (3, 11, 32) and torch.equal(weights, mask.float())  # every input position, once
    for row, n in enumerate(lengths):
        # layer 1 removes n - 6 vectors (none of an input of 5): they reach pooling as they entered layer 1
        from_layer_1 = torch.isclose(hidden[row, :n], embedded[row, :n], atol=1e-6).all(-1).sum()
        assert from_layer_1 == max(n - 6, 0)
        # the 3 vectors the last layer keeps are there as the last layer gives them
        assert all((hidden[row, :n] - vector).abs().amax(-1).min() < 1e-5 for vector in final[row])


def test_cls_pooling_keeps_cls_alone_in_the_last_layer():
    power = PowerEmbeddingModel(tiny_encoder(), PowerConfig([6, 4, 3], metadata={"pooling": "cls"})).eval()
    ids, mask = padded_batch([11, 5])
    with torch.no_grad():
        hidden, _ = power.token_embeddings(ids, mask)
    assert hidden.shape == (2, 1, 32)


def test_the_saved_folder_is_a_sentence_transformer_that_encodes_like_the_model(tmp_path, teacher_dir):
    tokenizer = SentenceTransformer(str(teacher_dir), device="cpu").tokenizer
    power = PowerEmbeddingModel(tiny_encoder(), PowerConfig([6, 4, 3])).eval()
    power.save_pretrained(tmp_path / "power", tokenizer, max_seq_length=64)
    model = SentenceTransformer(str(tmp_path / "power"), device="cpu", trust_remote_code=True)
    assert isinstance(model[0], PowerTransformer) and [type(m) for m in model][1:] == [Pooling, Normalize]
    sample = texts(5)
    got = model.encode(sample, batch_size=2, normalize_embeddings=True, show_progress_bar=False, convert_to_tensor=True)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(power(**tokenizer(sample, padding=True, return_tensors="pt")).embeddings)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    reloaded = PowerEmbeddingModel.from_pretrained(tmp_path / "power")
    assert reloaded.power_config.retention == [6, 4, 3] and reloaded.power_config.metadata["pool_weights"] == "kept"


def test_distillation_meets_its_target_and_writes_a_sentence_transformer(tmp_path, teacher_dir):
    # 66 tokens: above the sentence-transformers setting (32), within the model's limit
    summary = run_distillation(str(teacher_dir), texts(96), texts(16, seed=1), tmp_path / "out",
                               StageOptions(2, 1e-3, 8), StageOptions(1, 1e-3, 8), target_flops=0.6, lambda_=0.0,
                               lr_retention=None, max_seq_length=66)
    assert summary["max_seq_length"] == 66
    assert abs(summary["flop_budget"]["reached_flops"] - 0.6) < 0.05 and summary["flop_budget"]["scaled_on"] == "validation"
    assert summary["retention"] == sorted(summary["retention"], reverse=True)
    assert 0 < summary["retrain_dev"]["cosine"] <= 1 and summary["pooling"] == "mean" and summary["normalize"]
    model = SentenceTransformer(str(tmp_path / "out" / "power"), device="cpu", trust_remote_code=True)
    embeddings = model.encode(texts(3), normalize_embeddings=True, show_progress_bar=False)
    assert embeddings.shape == (3, 32)
    # resumable: both stages done, nothing is trained again and the summary stays
    again = run_distillation(str(teacher_dir), texts(96), texts(16, seed=1), tmp_path / "out",
                             StageOptions(2, 1e-3, 8), StageOptions(1, 1e-3, 8), 0.6, 0.0, None)
    assert again["retention"] == summary["retention"] and again["stage_seconds"] == summary["stage_seconds"]
    # the same search re-trained with other pooling weights: the re-trained model pools as asked now
    assert summary["pool_weights"] == "merged"  # the default in count mode
    shutil.copytree(tmp_path / "out" / "search", tmp_path / "kept" / "search")
    kept = run_distillation(str(teacher_dir), texts(96), texts(16, seed=1), tmp_path / "kept",
                            StageOptions(2, 1e-3, 8), StageOptions(1, 1e-3, 8), 0.6, 0.0, None, pool_weights="kept")
    assert kept["retention"] == summary["retention"] and "search" not in kept["stage_seconds"]
    assert PowerEmbeddingModel.from_pretrained(tmp_path / "kept" / "power").power_config.metadata["pool_weights"] == "kept"


def test_embed_and_evaluate_cli_give_one_line_errors(tmp_path, teacher_dir, capsys):
    (tmp_path / "texts.csv").write_text("body\n" + "\n".join(texts(10)) + "\n")
    status = main(["embed", "--model", str(teacher_dir), "--train-file", str(tmp_path / "texts.csv"), "--output-dir",
                   str(tmp_path / "out")])
    assert_one_line(status, capsys.readouterr().err, "has no column 'text'")
    status = main(["evaluate-embeddings", "--model", str(teacher_dir), "--teacher", str(teacher_dir), "--sts-file",
                   str(tmp_path / "texts.csv")])
    assert_one_line(status, capsys.readouterr().err, "is not a PoWER embedding model")


def test_evaluate_embeddings_reports_sts_agreement_and_speed(tmp_path, teacher_dir, capsys):
    tokenizer = SentenceTransformer(str(teacher_dir), device="cpu").tokenizer
    PowerEmbeddingModel(tiny_encoder(), PowerConfig([10, 6, 4])).save_pretrained(tmp_path / "power", tokenizer, 64)
    pairs = list(zip(texts(12), texts(12, seed=2)))
    (tmp_path / "sts.tsv").write_text("sentence1\tsentence2\tscore\n" + "".join(
        f"{a}\t{b}\t{i % 5}\n" for i, (a, b) in enumerate(pairs)))
    capsys.readouterr()
    assert main(["evaluate-embeddings", "--model", str(tmp_path / "power"), "--teacher", str(teacher_dir), "--sts-file",
                 str(tmp_path / "sts.tsv"), "--corpus-file", str(tmp_path / "sts.tsv"), "--text-columns",
                 "sentence1,sentence2", "--queries", "5", "--repeats", "1", "--batch-sizes", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sts"]["pairs"] == 12 and -100 <= report["sts"]["spearman_power"] <= 100
    assert 0 <= report["corpus"]["recall_at_10"] <= 1 and report["corpus"]["flop_fraction"] < 1
    assert [h["batch_size"] for h in report["throughput"]["headline"]] == [4]
    assert report["throughput"]["headline"][0]["fastest_plain"] == str(teacher_dir)
    # any PoWER and plain models, PyTorch folders or exports, each timed in a process of its own
    from powerbert.deploy import export

    export(tmp_path / "power", tmp_path / "power-onnx")
    export(teacher_dir, tmp_path / "plain-onnx", plain=True)
    models = [str(teacher_dir), str(tmp_path / "plain-onnx"), str(tmp_path / "power"), str(tmp_path / "power-onnx")]
    assert main(["evaluate-embeddings", "--model", str(tmp_path / "power"), "--teacher", str(teacher_dir),
                 "--corpus-file", str(tmp_path / "sts.tsv"), "--text-columns", "sentence1,sentence2", "--queries", "5",
                 "--repeats", "2", "--batch-sizes", "1,4", "--timing-models", ",".join(models)]) == 0
    timing = json.loads(capsys.readouterr().out)["throughput"]
    assert [(r["model"], r["power"], r["runtime"]) for r in timing["models"]] == [
        (models[0], False, "pytorch"), (models[1], False, "onnxruntime fp32"), (models[2], True, "pytorch"),
        (models[3], True, "onnxruntime fp32")]
    assert all(r["texts_per_s"]["1"] > 0 and r["texts_per_s"]["4"] > 0 for r in timing["models"])
    fastest = max(timing["models"][2:], key=lambda r: r["texts_per_s"]["4"])
    assert timing["headline"][1]["fastest_power"] == fastest["model"] and timing["headline"][1]["speedup"] > 0
    status = main(["evaluate-embeddings", "--model", str(tmp_path / "power"), "--teacher", str(teacher_dir),
                   "--corpus-file", str(tmp_path / "sts.tsv"), "--text-columns", "sentence1,sentence2", "--queries",
                   "5", "--repeats", "1", "--batch-sizes", "4", "--timing-models", str(tmp_path / "no-such-model")])
    assert_one_line(status, capsys.readouterr().err, "no-such-model")


def test_the_export_encodes_like_pytorch_on_onnx_runtime_and_openvino(tmp_path, teacher_dir, capsys):
    from powerbert.deploy import export
    from powerbert.deploy.exported_embedding import ExportedPowerTransformer

    tokenizer = SentenceTransformer(str(teacher_dir), device="cpu").tokenizer
    PowerEmbeddingModel(tiny_encoder(), PowerConfig([10, 6, 4])).save_pretrained(tmp_path / "power", tokenizer, 64)
    record = export(tmp_path / "power", tmp_path / "onnx")
    assert record["task"] == "sentence-embedding" and record["retention"] == [10, 6, 4]
    export(tmp_path / "onnx", tmp_path / "openvino", runtime="openvino")  # converted, not traced again
    sample = texts(6)
    expected = SentenceTransformer(str(tmp_path / "power"), device="cpu", trust_remote_code=True).encode(
        sample, convert_to_tensor=True)
    for runtime in ("onnx", "openvino"):
        model = SentenceTransformer(str(tmp_path / runtime), device="cpu", trust_remote_code=True)
        assert isinstance(model[0], ExportedPowerTransformer) and [type(m) for m in model][1:] == [Pooling, Normalize]
        got = model.encode(sample, batch_size=4, convert_to_tensor=True, normalize_embeddings=True)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
        assert model[0].retention == [10, 6, 4] and 0 < model[0].flop_fraction([20, 12]) < 1
    # OpenVINO int8 from the command line, NNCF calibrated on the user's texts
    (tmp_path / "texts.csv").write_text("body\n" + "\n".join(texts(8, seed=3)) + "\n")
    assert main(["export", "--model", str(tmp_path / "onnx"), "--output", str(tmp_path / "ov-int8"), "--runtime",
                 "openvino", "--quantize", "int8", "--train-file", str(tmp_path / "texts.csv"), "--text-columns",
                 "body", "--calibration-samples", "8"]) == 0
    assert json.loads((tmp_path / "ov-int8" / "export_config.json").read_text())["calibration_samples"] == 8
    int8 = SentenceTransformer(str(tmp_path / "ov-int8"), device="cpu", trust_remote_code=True)
    got = int8.encode(sample, convert_to_tensor=True, normalize_embeddings=True)
    assert (got * expected).sum(-1).min() > 0.9  # int8: close in direction, not equal


def test_the_plain_model_exports_as_onnx_runtimes_fused_graph_that_encodes_like_it(tmp_path, teacher_dir):
    from powerbert.deploy import export

    with pytest.raises(PowerBertError, match="--plain"):
        export(teacher_dir, tmp_path / "not-plain")
    record = export(teacher_dir, tmp_path / "plain", plain=True)
    assert record["task"] == "sentence-embedding" and not record["power"]
    assert record["fused_operators"]["Attention"] == 3 and record["fused_operators"]["SkipLayerNormalization"] >= 3
    sample = texts(6)
    expected = SentenceTransformer(str(teacher_dir), device="cpu").encode(sample, convert_to_tensor=True)
    model = SentenceTransformer(str(tmp_path / "plain"), device="cpu", trust_remote_code=True)
    assert [type(m) for m in model][1:] == [Pooling, Normalize] and model[0].flop_fraction([20, 12]) == 1.0
    got = model.encode(sample, batch_size=4, convert_to_tensor=True)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    int8 = export(tmp_path / "plain", tmp_path / "int8", quantize="int8")  # from the fused graph, QAttention
    assert int8["fused_operators"] == record["fused_operators"]
    assert int8["int8_check"]["agrees"] and int8["int8_check"]["mean_cosine"] > 0.95  # recorded at export
    got = SentenceTransformer(str(tmp_path / "int8"), device="cpu", trust_remote_code=True).encode(
        sample, convert_to_tensor=True)
    assert (got * expected).sum(-1).min() > 0.9  # int8: close in direction, not equal


@pytest.mark.parametrize("pool_weights", ["carried", "merged"])
def test_carried_and_merged_pooling_export_to_onnx_runtime(tmp_path, teacher_dir, pool_weights):
    from powerbert.deploy import export

    tokenizer = SentenceTransformer(str(teacher_dir), device="cpu").tokenizer
    power = PowerEmbeddingModel(tiny_encoder(), PowerConfig([10, 6, 4], metadata={"pool_weights": pool_weights}))
    power.save_pretrained(tmp_path / "power", tokenizer, 64)
    export(tmp_path / "power", tmp_path / "onnx")
    sample = texts(6)
    expected = SentenceTransformer(str(tmp_path / "power"), device="cpu", trust_remote_code=True).encode(
        sample, convert_to_tensor=True)
    got = SentenceTransformer(str(tmp_path / "onnx"), device="cpu", trust_remote_code=True).encode(
        sample, batch_size=4, convert_to_tensor=True)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model_type", ["bert", "distilbert"])
def test_an_exported_embedding_model_counts_flops_as_the_pytorch_one(model_type):
    """The export's FLOP count reads the feed-forward width from the config alone (DistilBERT: hidden_dim)."""
    from types import SimpleNamespace

    from powerbert.deploy.exported_embedding import ExportedPowerTransformer

    encoder = tiny_classifier(model_type).base_model
    if model_type == "distilbert":  # as a real DistilBERT config: no intermediate_size (the tiny one sets it)
        del encoder.config.intermediate_size
    power = PowerEmbeddingModel(encoder, PowerConfig([6, 4, 3]))
    exported = object.__new__(ExportedPowerTransformer)  # the graph is not needed to count
    exported.exported = SimpleNamespace(config=encoder.config, power_config=power.power_config)
    lengths = [5, 9, 20, 30]
    assert exported.flop_fraction(lengths) == pytest.approx(power.flop_fraction(lengths))
    assert power.flop_fraction(lengths) < 0.9
