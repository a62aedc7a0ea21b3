"""Export to ONNX Runtime and OpenVINO on a tiny BERT, the runtime classes (pipeline, bad input, threads), and
int8 and bf16 on every path (every architecture's export: test_export_architectures.py)."""

import json
import shutil
from types import SimpleNamespace

import pytest
import torch
from conftest import padded_batch, tiny_classifier
from test_cli import assert_one_line, bert_dir, glue, run_cli  # noqa: F401  (fixtures)
from test_modeling import _kept_positions
from transformers import AutoTokenizer, pipeline

from powerbert import PowerBertError, PowerConfig, PowerModel, get_power_model
from powerbert.architectures.adapters import uses_token_types
from powerbert.cli import main
from powerbert.deploy import (
    Bf16Autocast,
    ORTModelForSequenceClassification,
    OVModelForSequenceClassification,
    OneDNNLinear,
    export,
    load_exported,
    quantize_int8,
    use_onednn_linears,
)
from powerbert.deploy.onnx_export import export_onnx_file


def mixed_batch(model_type: str):
    """Mixed lengths, padded wider than the longest input, with token types where the architecture reads them."""
    ids, mask = padded_batch([12, 7, 3, 20], width=24)
    types = (torch.arange(24)[None, :] >= 5).long().expand(4, -1) * mask
    return ids, mask, (types if uses_token_types(tiny_classifier(model_type).config) else None)


@pytest.fixture(scope="module")
def bert_export(tmp_path_factory, shared_bert_export):
    """A tiny PoWER BERT (with a real tokenizer) and its fp32 ONNX export, in a folder of this module's own."""
    root = tmp_path_factory.mktemp("export") / "bert"
    shutil.copytree(shared_bert_export, root)
    return PowerModel.from_pretrained(root / "power").eval(), root


@pytest.fixture(scope="module")
def fraction_export(tmp_path_factory):
    """A tiny fraction-mode PoWER BERT and its fp32 ONNX export, traced once for both runtimes."""
    root = tmp_path_factory.mktemp("fraction")
    power = get_power_model(tiny_classifier("bert", initializer_range=0.5),
                            PowerConfig([0.6, 0.3, 0.3], mode="fraction"))
    power.save_pretrained(root / "power")
    export(root / "power", root / "onnxruntime")
    return power, root


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_fraction_mode_exports_with_per_input_counts_inside_the_graph(tmp_path, fraction_export, runtime):
    power, root = fraction_export
    if runtime == "openvino":  # the ONNX Runtime export's folder: export traces its model folder again
        export(root / "onnxruntime", tmp_path / "export", runtime=runtime)
    exported = load_exported(root / "onnxruntime" if runtime == "onnxruntime" else tmp_path / "export")
    ids, mask, types = mixed_batch("bert")
    with torch.no_grad():
        expected = power(ids, mask, types).logits
    torch.testing.assert_close(exported(input_ids=ids, attention_mask=mask, token_type_ids=types).logits, expected,
                               rtol=1e-4, atol=1e-4)


def test_fraction_mode_keeping_one_vector_on_the_example_still_exports_every_length(tmp_path):
    """Shares small enough that a middle layer keeps one vector of the exporter's 5-token example: the graph must
    still take any length (it was once fixed at the example's 5 tokens)."""
    power = get_power_model(tiny_classifier("bert", initializer_range=0.5),
                            PowerConfig([0.2, 0.1, 0.1], mode="fraction")).eval()
    power.save_pretrained(tmp_path / "power")
    export(tmp_path / "power", tmp_path / "onnx")
    exported = load_exported(tmp_path / "onnx")
    ids, mask, types = mixed_batch("bert")
    with torch.no_grad():
        expected = power(ids, mask, types).logits
    torch.testing.assert_close(exported(input_ids=ids, attention_mask=mask, token_type_ids=types).logits, expected,
                               rtol=1e-4, atol=1e-4)


class _BranchesOnLength(torch.nn.Module):
    """A classifier whose output depends on a Python test of the input's length: the tracer can only fix it."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = tiny_classifier("bert")
        self.config = self.inner.config

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        logits = self.inner(input_ids=input_ids, attention_mask=attention_mask).logits
        return SimpleNamespace(logits=logits * 2 if input_ids.shape[1] == 5 else logits)


def test_an_export_that_fixes_the_input_length_is_refused(tmp_path):
    with pytest.raises(PowerBertError, match="fixed the shape of 'input_ids'"):
        export_onnx_file(_BranchesOnLength(), tmp_path / "model.onnx", token_types=False)
    assert not (tmp_path / "model.onnx").exists()


def test_reshape_targets_computed_from_shapes_become_constants_and_their_arithmetic_goes():
    """x (batch, length, 6) -> (batch, length, 2, 3), the target built at run time from Shape and Concat as
    torch.export writes it: after the pass a constant [0, 0, 2, 3], no Shape or Concat left, same output."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from powerbert.deploy.onnx_export import constant_reshape_targets

    nodes = [helper.make_node("Shape", ["x"], ["batch"], start=0, end=1),
             helper.make_node("Shape", ["x"], ["length"], start=1, end=2),
             helper.make_node("Concat", ["batch", "length", "heads"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"], allowzero=1)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", 2, 3])],
        [numpy_helper.from_array(np.asarray([2, 3], dtype=np.int64), "heads")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    x = np.random.default_rng(0).standard_normal((2, 5, 6)).astype(np.float32)
    assert constant_reshape_targets(model) == 3
    assert [node.op_type for node in model.graph.node] == ["Reshape"]
    target = numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == model.graph.node[0].input[1]))
    assert target.tolist() == [0, 0, 2, 3] and [t.name for t in model.graph.initializer] == [model.graph.node[0].input[1]]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], x.reshape(2, 5, 2, 3))


def test_the_graph_eliminates_inside_it(bert_export):
    """Different retentions give different graphs' outputs: elimination is in the graph, not a keep-all copy."""
    power, root = bert_export
    onnx = ORTModelForSequenceClassification.from_pretrained(root / "onnx")
    ids, mask, types = mixed_batch("bert")
    keep_all = PowerModel.keep_all(power.model, 64)
    with torch.no_grad():
        plain, eliminating = keep_all(ids, mask, types).logits, power(ids, mask, types).logits
    logits = onnx(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert (logits - plain).abs().max() > 100 * (logits - eliminating).abs().max()
    assert onnx.power_config.retention == [6, 3, 2]
    import onnx as onnx_format

    nodes = onnx_format.load(str(root / "onnx" / "model.onnx")).graph.node
    gathers = [node for node in nodes if node.op_type == "GatherND"]  # Extract: one per gathered tensor and layer
    assert gathers and all(attribute.i == 1 for node in gathers for attribute in node.attribute)


def test_onnx_runtimes_graph_runs_attention_as_one_operator_and_joins_the_projections(tmp_path):
    """Layer 1 eliminates (MultiHeadAttention with its logits out, for the scores), layer 2 keeps [CLS] alone
    (MultiHeadAttention of one query, no logits), layer 3 sees one vector (no attention; its value and output
    products folded into one); the embeddings one operator: PyTorch's logits, with and without padding."""
    import onnx

    power = get_power_model(tiny_classifier("bert"), PowerConfig([6, 1, 1])).eval()
    power.save_pretrained(tmp_path / "power")
    record = export(tmp_path / "power", tmp_path / "onnx")
    assert record["fused_operators"] == {"MultiHeadAttention": 2, "EmbedLayerNormalization": 1,
                                         "projections_joined": 3, "products_folded": 1}  # Q, K, V; then K, V
    nodes = onnx.load(str(tmp_path / "onnx" / "model.onnx")).graph.node
    products = [node for node in nodes if node.op_type == "MatMul"]
    # layer 1: joined projections, output, two feed-forward, the scores' sum over the query rows; layer 2: the
    # same and the query of [CLS], no scores; layer 3: value and output folded into one, two feed-forward
    assert len(products) == 5 + 5 + 3 and [n.op_type for n in nodes].count("LayerNormalization") == 2 * 3
    attention = [node for node in nodes if node.op_type == "MultiHeadAttention"]
    # outputs: the context, no key or value caches, and the logits only where the layer scores
    assert [sum(map(bool, node.output)) for node in attention] == [2, 1] and attention[0].output[3]
    ids, mask, types = mixed_batch("bert")
    with torch.no_grad():
        expected, single = power(ids, mask, types).logits, power(ids[:1, :12], None, types[:1, :12]).logits
    model = load_exported(tmp_path / "onnx")
    torch.testing.assert_close(model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits, expected,
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model(input_ids=ids[:1, :12], attention_mask=mask[:1, :12],
                                     token_type_ids=types[:1, :12]).logits, single, rtol=1e-4, atol=1e-5)
    # OpenVINO's `qk` holds neither mask nor bias: asked to convert this graph, export traces the model folder again
    assert export(tmp_path / "onnx", tmp_path / "openvino", runtime="openvino")["fused_operators"] == {}
    shutil.move(tmp_path / "power", tmp_path / "gone")
    with pytest.raises(PowerBertError, match="is gone: export the PoWER model folder"):
        export(tmp_path / "onnx", tmp_path / "openvino-2", runtime="openvino")
    assert not (tmp_path / "openvino-2").exists()


def test_plain_and_int8_exports(bert_export, tmp_path):
    power, root = bert_export
    ids, mask, types = mixed_batch("bert")
    export(root / "power", tmp_path / "plain", plain=True)
    plain = ORTModelForSequenceClassification.from_pretrained(tmp_path / "plain")
    assert plain.power_config is None
    with torch.no_grad():
        expected_plain = power.model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        expected_power = power(ids, mask, types).logits
    torch.testing.assert_close(plain(input_ids=ids, attention_mask=mask, token_type_ids=types).logits, expected_plain,
                               rtol=1e-4, atol=1e-5)
    record = export(root / "onnx", tmp_path / "int8", quantize="int8")  # the fp32 export's graph, quantized
    assert record["file_name"] == "model_quantized.onnx" and record["quantization"] == "dynamic"
    import onnx

    graph = onnx.load(str(tmp_path / "int8" / "model_quantized.onnx")).graph
    ops = {node.op_type for node in graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops and {"TopK", "GatherElements"} & ops
    # the embedding table stays fp32, and each quantized weight has a zero point (and scale) per output channel
    shapes = {init.name: (init.data_type, list(init.dims)) for init in graph.initializer}
    assert (onnx.TensorProto.FLOAT, [power.config.vocab_size, power.config.hidden_size]) in shapes.values()
    zero_points = [shapes[node.input[3]][1] for node in graph.node if node.op_type == "MatMulInteger"]
    assert zero_points and all(len(dims) == 1 and dims[0] > 1 for dims in zero_points)
    int8 = ORTModelForSequenceClassification.from_pretrained(tmp_path / "int8")
    logits = int8(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert (logits - expected_power).abs().max() < 0.05  # int8 weights: close, not equal
    assert record["int8_check"]["texts"] == 16 and 0 <= record["int8_check"]["logit_error"] < 0.5
    # 7-bit weights: every quantized weight within [-64, 64] (ONNX Runtime's symmetric 7-bit range), still close
    record = export(root / "onnx", tmp_path / "int8-w7", quantize="int8-w7")
    assert record["precision"] == "int8" and record["quantization"] == "dynamic, 7-bit weights"
    graph = onnx.load(str(tmp_path / "int8-w7" / "model_quantized.onnx")).graph
    weights = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    quantized = [weights[node.input[1]] for node in graph.node if node.op_type == "MatMulInteger"]
    assert quantized and all(w.min() >= -64 and w.max() <= 64 for w in quantized)
    assert max(int(abs(w).max()) for w in quantized) > 32  # the range is used, not a coarser scale by accident
    logits = ORTModelForSequenceClassification.from_pretrained(tmp_path / "int8-w7")(
        input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert (logits - expected_power).abs().max() < 0.05
    with pytest.raises(PowerBertError, match="OpenVINO takes"):
        export(root / "onnx", tmp_path / "ov-w7", quantize="int8-w7", runtime="openvino")


def test_the_int8_check_flags_a_graph_that_does_not_follow_the_fp32_graph(bert_export, tmp_path):
    import onnx

    from powerbert.deploy.int8_check import disagreement_message, int8_agreement, sample_feeds

    _, root = bert_export
    tokenizer, names = AutoTokenizer.from_pretrained(root / "onnx"), ["input_ids", "attention_mask", "token_type_ids"]
    graph = root / "onnx" / "model.onnx"
    feeds = sample_feeds(tokenizer, names, 64)
    same = int8_agreement(graph, graph, feeds, embedding=False)
    assert same == {"texts": 16, "same_prediction": 1.0, "logit_error": 0.0, "agrees": True}
    broken = onnx.load(str(graph))  # the classifier's output layer negated: every prediction the other class
    head = {node.input[1] for node in broken.graph.node if node.op_type in ("MatMul", "Gemm")}
    head_bias = {node.input[2] for node in broken.graph.node if node.op_type == "Gemm" and len(node.input) > 2}
    classifier = [init for init in broken.graph.initializer if init.name in head | head_bias
                  and "classifier" in init.name]
    assert classifier
    for init in classifier:
        init.CopyFrom(onnx.numpy_helper.from_array(-onnx.numpy_helper.to_array(init), init.name))
    onnx.save(broken, str(tmp_path / "broken.onnx"))
    check = int8_agreement(graph, tmp_path / "broken.onnx", feeds, embedding=False)
    assert check["same_prediction"] == 0.0 and check["logit_error"] > 1.9 and not check["agrees"]
    assert "int8-w7" in disagreement_message(check, "int8") and "fp32" in disagreement_message(check, "int8-w7")


def test_the_onnx_model_runs_in_a_transformers_pipeline(bert_export):
    power, root = bert_export
    tokenizer = AutoTokenizer.from_pretrained(root / "onnx")
    texts = ["a fine film", "dull and dull and dull", "a"]
    expected = pipeline("text-classification", model=power, tokenizer=tokenizer)(texts)
    onnx = ORTModelForSequenceClassification.from_pretrained(root / "onnx")
    got = pipeline("text-classification", model=onnx, tokenizer=tokenizer)(texts)
    assert [g["label"] for g in got] == [e["label"] for e in expected]
    assert [g["score"] for g in got] == pytest.approx([e["score"] for e in expected], abs=1e-5)


def test_an_input_longer_than_the_limit_is_one_clear_error(bert_export):
    _, root = bert_export
    onnx = ORTModelForSequenceClassification.from_pretrained(root / "onnx")
    ids = torch.full((1, 70), 5)
    with pytest.raises(PowerBertError, match="input of 70 tokens exceeds the model's limit of 66"):
        onnx(input_ids=ids, attention_mask=torch.ones_like(ids))
    with pytest.raises(PowerBertError, match="right padding"):
        onnx(input_ids=ids[:, :5], attention_mask=torch.tensor([[0, 1, 1, 1, 1]]))


def test_a_corrupt_or_missing_graph_is_one_line_naming_the_file(bert_export, tmp_path):

    _, root = bert_export
    broken = tmp_path / "broken"
    shutil.copytree(root / "onnx", broken)
    (broken / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(PowerBertError, match="model.onnx cannot be loaded by ONNX Runtime"):
        ORTModelForSequenceClassification.from_pretrained(broken)
    (broken / "model.onnx").unlink()
    with pytest.raises(PowerBertError, match="model.onnx is missing"):
        ORTModelForSequenceClassification.from_pretrained(broken)
    with pytest.raises(PowerBertError, match="not an exported model"):
        ORTModelForSequenceClassification.from_pretrained(root / "power")


def test_export_cli_bad_inputs_leave_nothing_behind(capsys, tmp_path, bert_dir):  # noqa: F811
    out = tmp_path / "out"
    status, err = run_cli(capsys, "export", "--model", str(bert_dir), "--output", str(out))
    assert_one_line(status, err, "is not a PoWER model")
    assert not out.exists()
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    status, err = run_cli(capsys, "export", "--model", str(bert_dir), "--output", str(a_file), "--plain")
    assert_one_line(status, err, "is a file")
    assert a_file.read_text() == "x"
    status, err = run_cli(capsys, "export", "--model", str(tmp_path / "nowhere"), "--output", str(out))
    assert_one_line(status, err, "not a PoWER model")
    assert not out.exists() and not list(tmp_path.glob("out*"))


def test_export_cli_writes_a_self_contained_folder_that_evaluate_serves(capsys, tmp_path, bert_export, glue):  # noqa: F811
    _, root = bert_export
    out = tmp_path / "deploy"
    # the fp32 export's graph, quantized: no second trace
    assert run_cli(capsys, "export", "--model", str(root / "onnx"), "--output", str(out), "--quantize", "int8")[0] == 0
    record = json.loads((out / "export_config.json").read_text())
    assert record["precision"] == "int8" and record["power"] and record["retention"] == [6, 3, 2]
    assert (out / "tokenizer.json").is_file() and (out / "power_config.json").is_file()
    assert not list(tmp_path.glob("deploy.*"))  # no temporary folder left
    capsys.readouterr()
    for model, extra in ((out, []), (root / "power", ["--quantize", "int8"])):
        assert main(["evaluate", "--model", str(model), "--task", "sst2", "--glue-dir", str(glue), *extra]) == 0
        assert 0.0 <= json.loads(capsys.readouterr().out)["accuracy"] <= 1.0
    status, err = run_cli(capsys, "evaluate", "--model", str(out), "--task", "sst2", "--glue-dir", str(glue),
                          "--quantize", "int8")
    assert_one_line(status, err, "is an export")


def test_torch_int8_power_model_still_eliminates_and_stays_close(model_type):
    power = get_power_model(tiny_classifier(model_type), PowerConfig([10, 6, 2]))
    ids, mask, types = mixed_batch(model_type)
    with torch.no_grad():
        expected = power(ids, mask, types).logits
    quantized = quantize_int8(power)
    assert quantized is power
    assert not any(isinstance(m, torch.nn.Linear) for m in power.modules())  # every Linear swapped for int8
    assert any(type(m).__module__.startswith("torch.ao.nn.quantized.dynamic") for m in power.modules())
    with torch.no_grad():
        logits = power(ids, mask, types).logits
    assert logits.shape == expected.shape and (logits - expected).abs().max() < 0.05


def test_onednn_linears_keep_pytorchs_logits_kept_tokens_and_saved_weights(model_type, tmp_path, monkeypatch):
    power = get_power_model(tiny_classifier(model_type), PowerConfig([10, 6, 2]))
    ids, mask, types = mixed_batch(model_type)
    with torch.no_grad():
        expected = power(ids, mask, types).logits
        expected_kept = _kept_positions(power, ids, mask, monkeypatch)
    keys = set(power.state_dict())
    linears = sum(type(m) is torch.nn.Linear for m in power.modules())
    assert use_onednn_linears(power) is power
    assert not any(type(m) is torch.nn.Linear for m in power.modules())
    assert sum(isinstance(m, OneDNNLinear) for m in power.modules()) == linears
    with torch.inference_mode():
        assert (power(ids, mask, types).logits - expected).abs().max() < 1e-5
        kept = _kept_positions(power, ids, mask, monkeypatch)
    assert len(kept) == len(expected_kept) > 0 and all(torch.equal(a, b) for a, b in zip(kept, expected_kept))
    assert set(power.state_dict()) == keys  # the same weights under the same names: saves and reloads as before
    power.save_pretrained(tmp_path / "saved")
    with torch.no_grad():
        assert (PowerModel.from_pretrained(tmp_path / "saved")(ids, mask, types).logits - expected).abs().max() < 1e-5


def test_onednn_linear_serves_gradients_and_other_dtypes_as_a_plain_linear():
    linear = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8, requires_grad=True)
    linear(x).sum().backward()
    expected = x.grad.clone()
    x.grad = None
    swapped = OneDNNLinear(linear)
    swapped(x).sum().backward()
    assert torch.allclose(x.grad, expected)
    with torch.no_grad():  # after .to(bfloat16) the fp32 packed copy cannot serve: F.linear on the bf16 weights
        assert torch.equal(swapped.to(torch.bfloat16)(x.bfloat16()), linear.to(torch.bfloat16)(x.bfloat16()))


def test_onednn_swap_without_onednn_says_so_in_one_line(monkeypatch):
    import powerbert.deploy.torch_kernels as torch_kernels

    monkeypatch.setattr(torch_kernels, "onednn_linear_available", lambda: False)
    with pytest.raises(PowerBertError, match="no oneDNN"):
        use_onednn_linears(torch.nn.Sequential(torch.nn.Linear(4, 2)))


def test_a_failed_export_leaves_no_folder_behind(bert_export, tmp_path, monkeypatch):
    import powerbert.deploy.exporter as exporter

    _, root = bert_export

    def fail(*args, **kwargs):
        raise PowerBertError("ONNX export of PowerModel failed: simulated")

    monkeypatch.setattr(exporter, "export_onnx_file", fail)
    with pytest.raises(PowerBertError, match="simulated"):
        export(root / "power", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def openvino_export(bert_export):
    power, root = bert_export
    export(root / "onnx", root / "openvino", runtime="openvino")  # converted from the fp32 ONNX export
    return power, root / "openvino"


def test_the_openvino_model_runs_in_a_pipeline_and_says_what_precision_it_ran(openvino_export):
    power, folder = openvino_export
    tokenizer = AutoTokenizer.from_pretrained(folder)
    texts = ["a fine film", "dull and dull and dull", "a"]
    expected = pipeline("text-classification", model=power, tokenizer=tokenizer)(texts)
    model = OVModelForSequenceClassification.from_pretrained(folder)
    got = pipeline("text-classification", model=model, tokenizer=tokenizer)(texts)
    assert [g["score"] for g in got] == pytest.approx([e["score"] for e in expected], abs=1e-5)
    assert model.inference_precision == "fp32" and model.power_config.retention == [6, 3, 2]
    bf16 = OVModelForSequenceClassification.from_pretrained(folder, dtype="bf16")
    assert bf16.inference_precision in ("bf16", "fp32")  # fp32 on a CPU without bf16 units
    ids, mask, types = mixed_batch("bert")
    assert bf16(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.shape == (4, 2)


def test_one_loader_picks_the_runtime_and_refuses_what_does_not_fit(bert_export, openvino_export, tmp_path):
    _, root = bert_export
    assert isinstance(load_exported(root / "onnx"), ORTModelForSequenceClassification)
    assert isinstance(load_exported(root / "openvino", dtype="bf16"), OVModelForSequenceClassification)
    with pytest.raises(PowerBertError, match="ONNX Runtime export: it runs at the precision it was exported"):
        load_exported(root / "onnx", dtype="bf16")
    with pytest.raises(PowerBertError, match="exported for openvino, not onnxruntime"):
        ORTModelForSequenceClassification.from_pretrained(root / "openvino")

    broken = tmp_path / "broken"
    shutil.copytree(root / "openvino", broken)
    (broken / "openvino_model.xml").write_text("<net")
    with pytest.raises(PowerBertError, match="openvino_model.xml cannot be loaded by OpenVINO"):
        load_exported(broken)
    (broken / "openvino_model.bin").unlink()
    with pytest.raises(PowerBertError, match="openvino_model.bin is missing"):
        load_exported(broken)


def test_openvino_int8_is_calibrated_static_quantization(bert_export, tmp_path):
    power, root = bert_export
    ids, mask, types = mixed_batch("bert")
    calibration = [{"input_ids": ids[i : i + 1, :n].numpy(), "attention_mask": mask[i : i + 1, :n].numpy(),
                    "token_type_ids": types[i : i + 1, :n].numpy()} for i, n in enumerate([12, 7, 3, 20])]
    record = export(root / "onnx", tmp_path / "int8", quantize="int8", runtime="openvino", calibration=calibration)
    assert record["quantization"] == "nncf static" and record["calibration_samples"] == 4
    assert "FakeQuantize" in (tmp_path / "int8" / "openvino_model.xml").read_text()
    with torch.no_grad():
        expected = power(ids, mask, types).logits
    logits = load_exported(tmp_path / "int8")(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert (logits - expected).abs().max() < 0.05  # int8: close, not equal
    with pytest.raises(PowerBertError, match="calibrates on real inputs"):
        export(root / "power", tmp_path / "nocal", quantize="int8", runtime="openvino")
    with pytest.raises(PowerBertError, match="serve only --runtime openvino --quantize int8"):
        export(root / "power", tmp_path / "nocal", runtime="openvino", calibration=calibration)
    assert not (tmp_path / "nocal").exists()


def test_bf16_autocast_keeps_the_model_and_its_attributes(model_type):
    power = get_power_model(tiny_classifier(model_type), PowerConfig([10, 6, 2])).eval()
    bf16 = Bf16Autocast(power)
    ids, mask, types = mixed_batch(model_type)
    with torch.no_grad():
        expected, logits = power(ids, mask, types).logits, bf16(ids, mask, types).logits
    assert bf16.config is power.config and bf16.power_config.retention == [10, 6, 2]
    assert logits.dtype == torch.float32 or logits.dtype == torch.bfloat16
    assert (logits.float() - expected).abs().max() < 0.1 and not torch.equal(logits.float(), expected)


def test_export_and_evaluate_cli_for_openvino_and_bf16(capsys, tmp_path, bert_export, glue):  # noqa: F811
    _, root = bert_export
    out = tmp_path / "ov8"
    status, err = run_cli(capsys, "export", "--model", str(root / "power"), "--output", str(out), "--runtime",
                          "openvino", "--quantize", "int8")
    assert_one_line(status, err, "pass --calibration-task")
    status, err = run_cli(capsys, "export", "--model", str(root / "power"), "--output", str(out), "--runtime",
                          "openvino", "--quantize", "int8", "--calibration-task", "sst2", "--glue-dir", str(glue),
                          "--calibration-samples", "0")
    assert_one_line(status, err, "--calibration-samples 0 must be at least 1")
    assert not out.exists()
    assert main(["export", "--model", str(root / "onnx"), "--output", str(out), "--runtime", "openvino",
                 "--quantize", "int8", "--calibration-task", "sst2", "--glue-dir", str(glue),
                 "--calibration-samples", "8"]) == 0
    assert json.loads((out / "export_config.json").read_text())["calibration_samples"] == 2  # the fixture's train set
    capsys.readouterr()
    for model, extra in ((out, ["--dtype", "bf16"]), (root / "power", ["--dtype", "bf16"])):
        assert main(["evaluate", "--model", str(model), "--task", "sst2", "--glue-dir", str(glue), *extra]) == 0
        assert 0.0 <= json.loads(capsys.readouterr().out)["accuracy"] <= 1.0
    status, err = run_cli(capsys, "evaluate", "--model", str(root / "power"), "--task", "sst2", "--glue-dir", str(glue),
                          "--quantize", "int8", "--dtype", "bf16")
    assert_one_line(status, err, "do not combine")
    status, err = run_cli(capsys, "evaluate", "--model", str(root / "onnx"), "--task", "sst2", "--glue-dir", str(glue),
                          "--dtype", "bf16")
    assert_one_line(status, err, "runs at the precision it was exported at")


def test_every_runtime_serves_many_threads_at_once_with_the_single_thread_answers(bert_export, openvino_export):
    """OpenVINO's infer request serves one call at a time; the model keeps a pool, so 4 threads never collide."""
    from concurrent.futures import ThreadPoolExecutor

    power, root = bert_export
    ids, mask, types = mixed_batch("bert")
    models = {"torch": power, "onnxruntime": load_exported(root / "onnx"), "openvino": load_exported(root / "openvino")}
    for name, model in models.items():
        with torch.inference_mode():
            expected = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits

        def call(i, model=model):
            with torch.inference_mode():
                return model(input_ids=ids[i % 4 :], attention_mask=mask[i % 4 :], token_type_ids=types[i % 4 :]).logits

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(call, range(64)))
        for i, logits in enumerate(results):
            torch.testing.assert_close(logits, expected[i % 4 :], rtol=1e-4, atol=1e-4, msg=f"{name}, call {i}")


@pytest.mark.parametrize("bad_id", [-1, 120, 10_000])
def test_token_ids_outside_the_vocabulary_get_one_line_on_every_runtime(bert_export, openvino_export, bad_id):
    power, root = bert_export
    ids, mask, _ = mixed_batch("bert")
    ids[1, 2] = bad_id
    for model in (power, load_exported(root / "onnx"), load_exported(root / "openvino")):
        with pytest.raises(PowerBertError, match=f"token id {bad_id} is outside the model's vocabulary of 120"):
            model(input_ids=ids, attention_mask=mask)


def test_pipelines_take_every_model_class_without_the_not_supported_message(bert_export, openvino_export, capfd):
    power, root = bert_export
    tokenizer = AutoTokenizer.from_pretrained(root / "onnx")
    for model in (power, load_exported(root / "onnx"), load_exported(root / "openvino")):
        capfd.readouterr()
        pipeline("text-classification", model=model, tokenizer=tokenizer)("a fine film")
        assert "is not supported for text-classification" not in capfd.readouterr().err, type(model).__name__


def test_load_exported_gives_each_runtime_its_thread_count(bert_export, openvino_export):
    _, root = bert_export
    assert load_exported(root / "onnx", threads=1).session.get_session_options().intra_op_num_threads == 1
    assert int(load_exported(root / "openvino", threads=1).compiled.get_property("INFERENCE_NUM_THREADS")) == 1


def test_without_a_thread_count_the_runtimes_follow_omp_num_threads(bert_export, openvino_export, monkeypatch):
    _, root = bert_export
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert load_exported(root / "onnx").session.get_session_options().intra_op_num_threads == 1
    assert int(load_exported(root / "openvino").compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert load_exported(root / "onnx", threads=2).session.get_session_options().intra_op_num_threads == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert load_exported(root / "onnx").session.get_session_options().intra_op_num_threads == 0  # ONNX Runtime's choice
