"""The PoWER forward (or the plain classifier's) traced into one ONNX graph, and ONNX Runtime's int8 quantizer.

The graph holds the whole elimination: explicit attention probabilities, significance scores, top-k and
gather, with dynamic batch and length (`PowerModel.forward` keeps the retained width symbolic while
exporting). Both runtimes start from this graph: ONNX Runtime runs it, OpenVINO converts it.

The plain classifier for ONNX Runtime is exported the way optimum builds its fastest graph (`--optimize O2`):
the TorchScript exporter on eager attention, then ONNX Runtime's transformer optimizer, which fuses one
Attention operator per layer, SkipLayerNormalization, BiasGelu and EmbedLayerNormalization. That optimizer
does not fuse graphs from torch.export, so the baseline a user would deploy is this one, not ours.
"""

import contextlib
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from ..algorithm.extract import gather_rows
from ..algorithm.retention import fraction_count
from ..architectures import attention as attention_ops
from ..errors import PowerBertError, first_line


class _LogitsOnly(nn.Module):
    """Named tensor inputs in, logits out: what the ONNX graph's signature should be."""

    def __init__(self, model: nn.Module, token_types: bool) -> None:
        super().__init__()
        self.model, self.token_types = model, token_types

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {"token_type_ids": token_type_ids} if self.token_types else {}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


class _TokenEmbeddings(nn.Module):
    """An embedding model's graph: the last layer's kept vectors and their pooling weights out (what
    sentence-transformers' Pooling module reads as token embeddings and attention mask)."""

    def __init__(self, model: nn.Module, token_types: bool) -> None:
        super().__init__()
        self.model, self.token_types = model, token_types

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.token_embeddings(input_ids, attention_mask, token_type_ids if self.token_types else None)


EMBEDDING_OUTPUTS = ["token_embeddings", "pool_weights"]


class _PlainTokenEmbeddings(nn.Module):
    """A plain encoder's graph with an embedding export's signature: every token's vector, the attention mask
    as pooling weights."""

    def __init__(self, encoder: nn.Module, token_types: bool) -> None:
        super().__init__()
        self.encoder, self.token_types = encoder, token_types

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        extra = {"token_type_ids": token_type_ids} if self.token_types else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        return hidden, attention_mask.to(hidden.dtype)


def _gather_rows(values, index):
    """Extract's gather (`extract.gather_rows`) in ONNX: each input's rows at its own positions, one GatherND."""
    from onnxscript import opset18 as op

    return op.GatherND(values, op.Unsqueeze(index, op.Constant(value_ints=[-1])), batch_dims=1)


def _attention(query, key, value, key_mask, bias, heads, scale):
    """`architectures.attention.fused_attention` in ONNX: ONNX Runtime's MultiHeadAttention."""
    return _multi_head_attention(query, key, value, key_mask, bias, heads, scale, outputs=1)[0]


def _attention_probs(query, key, value, key_mask, bias, heads, scale):
    """`fused_attention_probs` in ONNX: MultiHeadAttention and a Softmax over its `qk` output (the masked, biased
    logits)."""
    from onnxscript import opset18 as op

    context, *_, logits = _multi_head_attention(query, key, value, key_mask, bias, heads, scale, outputs=4)
    return context, op.Softmax(logits, axis=-1)


def _multi_head_attention(query, key, value, key_mask, bias, heads, scale, outputs):
    from onnxscript import opset18 as op
    from onnxscript.values import Op, Opset

    mask = None if key_mask is None else op.Cast(key_mask, to=6)  # int32, as the operator takes it
    multi_head_attention = Op(Opset("com.microsoft", 1), "MultiHeadAttention", _multi_head_attention_schema())
    return multi_head_attention(query, key, value, None, mask, bias, num_heads=heads, scale=scale, _outputs=outputs)


def _multi_head_attention_schema():
    """The part of ONNX Runtime's MultiHeadAttention schema these graphs use: onnx itself knows no schema for
    ONNX Runtime's operators, and the exporter builds a call from one."""
    from onnx.defs import OpSchema

    def parameter(name, type_name):
        return OpSchema.FormalParameter(name, type_name, param_option=OpSchema.FormalParameterOption.Optional)

    return OpSchema(
        "MultiHeadAttention", "com.microsoft", 1,
        inputs=[OpSchema.FormalParameter("query", "T"), OpSchema.FormalParameter("key", "T"),
                OpSchema.FormalParameter("value", "T"), parameter("bias", "T"), parameter("key_padding_mask", "M"),
                parameter("attention_bias", "T")],
        outputs=[OpSchema.FormalParameter("output", "T"), parameter("present_key", "T"),
                 parameter("present_value", "T"), parameter("qk", "T")],
        type_constraints=[("T", ["tensor(float)"], "float tensors"), ("M", ["tensor(int32)"], "the key mask")],
        attributes=[OpSchema.Attribute("num_heads", OpSchema.AttrType.INT, "heads"),
                    OpSchema.Attribute("scale", OpSchema.AttrType.FLOAT, "factor of the logits")],
    )


def example_length(model: nn.Module) -> int:
    """Tokens in the tracing example: 5, or more where a fraction-mode layer would keep a single vector of 5. The
    tracer takes a size that is 1 in the example for one that is always 1, and the graph would then run at the
    example's length only."""
    config = getattr(model, "power_config", None)
    limit = getattr(model.config, "max_position_embeddings", 512) - 2
    length = 5
    while (config is not None and config.mode == "fraction" and length < limit
           and any(fraction_count(rho, length) < 2 for rho in config.retention)):
        length += 1
    return length


def export_onnx_file(model: nn.Module, path: Path, token_types: bool, fused: bool = False) -> dict[str, int]:
    """Trace `model` with torch.export into one ONNX file with dynamic batch and length; logits out (an
    embedding model: its kept vectors and their pooling weights).

    fused (a graph for ONNX Runtime only): each attention as ONNX Runtime's MultiHeadAttention operator, and
    the products that read the same vectors joined into one. Returns the counts of both (empty if not fused)."""
    tokens = example_length(model)
    ids = 3 + (997 + torch.arange(tokens)) % (model.config.vocab_size - 3)  # real tokens: no pad or special ids
    mask = torch.ones(2, tokens, dtype=torch.long)
    mask[1, 3:] = 0  # a padded second input
    example = {"input_ids": torch.stack([ids, ids.flip(0)]) * mask, "attention_mask": mask}
    if token_types:
        example["token_type_ids"] = torch.zeros_like(example["input_ids"])
    batch, length = torch.export.Dim("batch"), torch.export.Dim("sequence", min=2, max=4096)
    dynamic = {name: {0: batch, 1: length} for name in example}
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # e.g. "torchvision is not installed": not the user's concern
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            classifier = getattr(model, "is_classifier", True)
            wrapped = (_LogitsOnly if classifier else _TokenEmbeddings)(model, token_types)
            translations = {gather_rows._opoverload: _gather_rows,
                            attention_ops.fused_attention._opoverload: _attention,
                            attention_ops.fused_attention_probs._opoverload: _attention_probs}
            with attention_ops.fused_attention_export() if fused else contextlib.nullcontext():
                program = torch.onnx.export(wrapped, (), kwargs=example, dynamo=True, dynamic_shapes=dynamic,
                                            custom_translation_table=translations,
                                            input_names=list(example),
                                            output_names=["logits"] if classifier else EMBEDDING_OUTPUTS,
                                            external_data=False, verbose=False)
    except Exception as err:  # the exporter raises many types from deep inside torch.export
        raise PowerBertError(f"ONNX export of {type(model).__name__} failed: {first_line(err)}") from err
    finally:
        exporter_log.setLevel(level)
    # torch.onnx falls back to strict tracing when the first attempt fails, and that may specialise a dimension to
    # the example's size: a graph that runs only at one length must not be written as if it ran at every length
    for value in program.model_proto.graph.input:
        if any(dim.HasField("dim_value") for dim in value.type.tensor_type.shape.dim):
            raise PowerBertError(f"ONNX export of {type(model).__name__} fixed the shape of {value.name!r} to the "
                                 "example's; the graph would not take other batch sizes or lengths")
    import onnx

    proto = program.model_proto  # a copy, serialised from the exporter's own representation
    constant_reshape_targets(proto)
    counts = {}
    if fused:
        tidy_attention_outputs(proto)
        counts = {"MultiHeadAttention": sum(node.op_type == "MultiHeadAttention" for node in proto.graph.node),
                  "EmbedLayerNormalization": fuse_embeddings(proto),
                  "projections_joined": join_projections(proto),
                  "products_folded": fold_products(proto)}
    onnx.save(proto, str(path))
    return {name: n for name, n in counts.items() if n}


def constant_reshape_targets(model) -> int:
    """Replace each Reshape target that the graph computes at run time from its input's shape by a constant where
    the exporter's symbolic shapes allow (0 keeps the input's size at that place, -1 infers one), then drop the
    shape arithmetic that nothing reads any more. At batch 1 every node costs a few microseconds whatever its
    size, and torch.export writes a Shape-Gather-Concat chain behind most reshapes. Returns the nodes removed."""
    import numpy as np
    from onnx import numpy_helper
    from onnxscript.optimizer import remove_unused_nodes

    def dims(value):  # sizes and symbols; None where unknown
        return [dim.dim_value if dim.HasField("dim_value") else dim.dim_param or None
                for dim in value.type.tensor_type.shape.dim]

    graph = model.graph
    shapes = {value.name: dims(value) for value in [*graph.value_info, *graph.input, *graph.output]
              if value.type.tensor_type.HasField("shape")}
    for node in graph.node:
        if node.op_type != "Reshape":
            continue
        source, target = shapes.get(node.input[0]), shapes.get(node.output[0])
        if not source or not target or 0 in source + target:
            continue
        constant = [d if isinstance(d, int) else 0 if d is not None and i < len(source) and source[i] == d else -1
                    for i, d in enumerate(target)]
        if constant.count(-1) > 1:
            continue
        name = f"{node.output[0]}_target"
        graph.initializer.append(numpy_helper.from_array(np.asarray(constant, dtype=np.int64), name))
        node.input[1] = name
        for attribute in node.attribute:
            if attribute.name == "allowzero":
                attribute.i = 0  # 0 now means "as in the input"; no size is 0 here
    before = len(graph.node)
    remove_unused_nodes(model)  # onnxscript's pass: it also drops initializers nothing reads, and sees subgraphs
    return before - len(model.graph.node)


def join_projections(model) -> int:
    """Join the products that read the same vectors (a layer's query, key and value projections) into one wider
    product and a Split: one matrix product instead of three, which at batch size 1 runs on few rows and pays for
    each call. Each joined product is MatMul by a constant matrix then Add of a constant bias, as torch.export
    writes a Linear. Returns the number of products joined away."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    readers = _readers(graph)

    groups: dict[str, list] = {}
    for node in graph.node:
        pair = _linear(node, constants, readers)
        if pair is not None:
            groups.setdefault(node.input[0], []).append(pair)
    joined, removed, nodes = 0, set(), list(graph.node)
    for source, pairs in groups.items():
        if len(pairs) < 2:
            continue
        weights = [numpy_helper.to_array(constants[matmul.input[1]]) for matmul, _ in pairs]
        biases = [numpy_helper.to_array(constants[add.input[1]]) for _, add in pairs]
        name = f"{pairs[0][0].output[0]}_joined"
        graph.initializer.extend([numpy_helper.from_array(np.concatenate(weights, axis=1), f"{name}_weight"),
                                  numpy_helper.from_array(np.concatenate(biases), f"{name}_bias"),
                                  numpy_helper.from_array(np.asarray([w.shape[1] for w in weights], np.int64),
                                                          f"{name}_split")])
        new = [helper.make_node("MatMul", [source, f"{name}_weight"], [f"{name}_product"], name=f"{name}_matmul"),
               helper.make_node("Add", [f"{name}_product", f"{name}_bias"], [f"{name}_sum"], name=f"{name}_add"),
               helper.make_node("Split", [f"{name}_sum", f"{name}_split"], [add.output[0] for _, add in pairs],
                                axis=-1, name=f"{name}_split")]
        at = nodes.index(pairs[0][0])
        nodes[at:at] = new
        removed.update(id(node) for pair in pairs for node in pair)
        joined += len(pairs) - 1
    if joined:
        _replace_nodes(model, nodes, removed)  # and the separate matrices nothing reads any more
    return joined


def _readers(graph) -> dict[str, list]:
    """Each value's name to the nodes that read it."""
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def _replace_nodes(model, nodes: list, removed: set) -> None:
    """Make `nodes`, less those whose id is in `removed`, the graph's nodes; then drop what nothing reads any more
    (onnxscript's pass: it also drops initializers nothing reads, and sees subgraphs)."""
    from onnxscript.optimizer import remove_unused_nodes

    del model.graph.node[:]
    model.graph.node.extend(node for node in nodes if id(node) not in removed)
    remove_unused_nodes(model)


def _linear(node, constants: dict, readers: dict):
    """(MatMul, Add) where `node` is the product of a Linear as torch.export writes it (a constant matrix, then the
    only reader adds a constant bias), else None."""
    if node.op_type != "MatMul" or node.input[1] not in constants or len(constants[node.input[1]].dims) != 2:
        return None
    after = readers.get(node.output[0], [])
    if len(after) != 1 or after[0].op_type != "Add" or after[0].input[0] != node.output[0]:
        return None
    bias = constants.get(after[0].input[1])
    return (node, after[0]) if bias is not None and len(bias.dims) == 1 else None


def fuse_embeddings(model) -> int:
    """Write the embeddings as ONNX Runtime's EmbedLayerNormalization where they are its math: a LayerNormalization
    of the sum of a word lookup (by input_ids), a position lookup at positions 0..n-1 and, optionally, a segment
    lookup (by token_type_ids); what ONNX Runtime's transformer optimizer writes into the plain graph. One operator
    instead of eight at every input. Encoders whose positions depend on padding (RoBERTa, MPNet) keep theirs.
    Returns the number of operators written (0 or 1)."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    producer = {name: node for node in graph.node for name in node.output}
    readers, inputs = _readers(graph), {value.name for value in graph.input}

    def constant(name):
        return numpy_helper.to_array(constants[name]) if name in constants else None

    def positions_from_zero(name):  # a Slice of a constant 0, 1, 2, ... from 0 in steps of 1
        node = producer.get(name)
        if node is None or node.op_type != "Slice" or constant(node.input[0]) is None:
            return False
        table, starts = constant(node.input[0]).reshape(-1), constant(node.input[1])
        steps = constant(node.input[4]) if len(node.input) > 4 and node.input[4] else np.ones(1)
        return (starts is not None and not starts.any() and steps is not None and (steps == 1).all()
                and np.array_equal(table, np.arange(table.size)))

    def lookups(name, nodes):  # the Gathers an Add tree sums, or None if it sums anything else
        node = producer.get(name)
        if node is None or len(readers.get(name, [])) != 1:
            return None
        if node.op_type == "Add":
            parts = [lookups(part, nodes + [node]) for part in node.input]
            return None if None in parts else parts[0] + parts[1]
        if node.op_type == "Gather" and node.input[0] in constants and all(a.i == 0 for a in node.attribute):
            return [(node, nodes)]
        return None

    def embedding(norm):  # {role: Gather} and the nodes it replaces, where `norm` ends BERT's embeddings
        axis = next((a.i for a in norm.attribute if a.name == "axis"), -1)
        found = lookups(norm.input[0], []) if len(norm.input) == 3 and axis in (-1, 2) else None
        roles = {}
        for gather, _ in found or []:
            index = gather.input[1]
            role = ("word" if index == "input_ids" else "segment" if index == "token_type_ids" and index in inputs
                    else "position" if positions_from_zero(index) else None)
            if role is None or role in roles:
                return None
            roles[role] = gather
        if not {"word", "position"} <= set(roles):
            return None
        return roles, {id(norm)} | {id(node) for gather, adds in found for node in [gather, *adds]}

    norm, match = next(((node, match) for node in graph.node if node.op_type == "LayerNormalization"
                        for match in [embedding(node)] if match), (None, None))
    if match is None:
        return 0
    roles, removed = match
    epsilon = next((a.f for a in norm.attribute if a.name == "epsilon"), 1e-5)
    segment = roles.get("segment")
    new = [helper.make_node("Cast", ["input_ids"], ["input_ids_int32"], to=6, name="input_ids_int32")]
    if segment is not None:
        new.append(helper.make_node("Cast", ["token_type_ids"], ["token_type_ids_int32"], to=6,
                                    name="token_type_ids_int32"))
    new.append(helper.make_node(
        "EmbedLayerNormalization",
        ["input_ids_int32", "token_type_ids_int32" if segment is not None else "", roles["word"].input[0],
         roles["position"].input[0], segment.input[0] if segment is not None else "", norm.input[1], norm.input[2]],
        [norm.output[0], "embedding_mask_index"],  # the second output unread, but its type inference needs it
        domain="com.microsoft", epsilon=epsilon, name="EmbedLayerNormalization"))
    nodes = list(graph.node)
    at = nodes.index(norm)
    nodes[at:at + 1] = new
    if not any(entry.domain == "com.microsoft" for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    _replace_nodes(model, nodes, removed)  # and the position Slice's shape arithmetic, where nothing else reads it
    return 1


def fold_products(model) -> int:
    """Fold a Linear that only feeds another Linear into one product: x W1 + b1 then W2, b2 is x (W1 W2) +
    (b1 W2 + b2). A layer that sees a single vector has attention equal to its values, so its value and output
    projections follow each other; folded, that layer runs one product fewer. Only where the folded matrix is no
    larger than the two. Returns the number of products folded away."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    readers = _readers(graph)

    folded, removed = 0, set()
    for node in list(graph.node):
        first = None if id(node) in removed else _linear(node, constants, readers)
        if first is None:
            continue
        after = readers.get(first[1].output[0], [])
        second = _linear(after[0], constants, readers) if len(after) == 1 else None
        if second is None:
            continue
        w1, b1, w2, b2 = (numpy_helper.to_array(constants[n.input[1]]).astype(np.float64)
                          for n in (*first, *second))
        if w1.shape[0] * w2.shape[1] > w1.size + w2.size:
            continue
        name = f"{second[0].output[0]}_folded"
        graph.initializer.extend([numpy_helper.from_array((w1 @ w2).astype(np.float32), f"{name}_weight"),
                                  numpy_helper.from_array((b1 @ w2 + b2).astype(np.float32), f"{name}_bias")])
        first[0].input[1], second[1].input[1] = f"{name}_weight", f"{name}_bias"
        second[1].input[0] = first[0].output[0]  # x (W1 W2), plus the folded bias, into the second's output
        removed.update({id(first[1]), id(second[0])})
        folded += 1
    if folded:
        _replace_nodes(model, list(graph.node), removed)  # and the separate matrices
    return folded


def tidy_attention_outputs(model) -> None:
    """Unname the outputs of MultiHeadAttention that nothing reads (its key and value caches, and `qk` where no
    probabilities are needed), so that ONNX Runtime does not write them; type the `qk` outputs that are read,
    which ONNX Runtime's type inference leaves open."""
    from onnx import TensorProto, helper

    graph = model.graph
    read = {name for node in graph.node for name in node.input} | {value.name for value in graph.output}
    dropped = set()
    for node in graph.node:
        if node.op_type == "MultiHeadAttention":
            for i, name in enumerate(node.output):
                if i and name not in read:
                    node.output[i] = ""
                    dropped.add(name)
            if len(node.output) > 3 and node.output[3]:
                graph.value_info.append(helper.make_tensor_value_info(node.output[3], TensorProto.FLOAT, None))
    kept = [value for value in graph.value_info if value.name not in dropped]
    del graph.value_info[:]
    graph.value_info.extend(kept)


def quantize_onnx_int8(source: Path, target: Path, reduce_range: bool = False) -> None:
    """ONNX Runtime's dynamic int8 quantization of the matrix products: int8 weights with a scale per output
    channel, activations quantized per batch at run time.

    Per-channel scales and fp32 embedding tables (only MatMul nodes are quantized, not the embeddings' Gather)
    kept MRPC's F1 within 0.3-0.7 points of fp32, where ONNX Runtime's defaults lost 1.9-2.1
    (docs/bench/probes/ort_int8_options.py). reduce_range (7-bit weights, ONNX Runtime's advice for CPUs without
    VNNI, whose u8 x s8 products are added in pairs into 16 bits) is a choice, not the default: on such a CPU it
    lost a point on IMDB (docs/bench/probes/int8_reduce_range.py) and kept SST-2 within the point where 8-bit
    weights lost 1.3-2.1 (docs/bench/probes/int8_exclusions.py, docs/benchmark.md).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = onnx.load(str(source), load_external_data=False).graph.node
    # a fused graph holds its attention projections in Attention operators: quantized as QAttention
    attention = any(node.op_type == "Attention" for node in nodes)
    # shape inference knows no types behind ONNX Runtime's own (com.microsoft) operators: they are float
    fused = any(node.domain == "com.microsoft" for node in nodes)
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=reduce_range,
                     op_types_to_quantize=["MatMul", *(["Attention"] if attention else [])],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT} if fused else None)


def export_fused_plain_onnx(model_dir: str | Path, path: Path, token_types: bool,
                            embedding: bool = False) -> dict[str, int]:
    """The plain classifier of a folder (or, for an embedding folder, its bare encoder, with an embedding export's
    outputs) as ONNX Runtime's fused transformer graph; returns the count of each fused operator (empty where the
    optimizer knows no fusion for the architecture)."""
    from onnxruntime.transformers import optimizer

    from ..modeling import load_classifier

    if embedding:
        from transformers import AutoModel

        model = load_classifier(model_dir, AutoModel, attn_implementation="eager").eval()
        wrapped, outputs = _PlainTokenEmbeddings(model, token_types), EMBEDDING_OUTPUTS
        output_axes = {name: {0: "batch", 1: "sequence"} for name in outputs}
    else:
        model = load_classifier(model_dir, attn_implementation="eager").eval()
        wrapped, outputs = _LogitsOnly(model, token_types), ["logits"]
        output_axes = {"logits": {0: "batch"}}
    names = ["input_ids", "attention_mask", *(["token_type_ids"] if token_types else [])]
    ids = torch.tensor([[101, 2000, 2001, 2002, 102], [101, 2003, 102, 0, 0]]) % model.config.vocab_size
    example = (ids, torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]), torch.zeros_like(ids))
    raw = path.with_name(path.stem + ".torchscript.onnx")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapped, example[: len(names)], str(raw), dynamo=False,
                              input_names=names, output_names=outputs, opset_version=17,
                              dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names}, **output_axes})
        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=model.config.num_attention_heads,
                                         hidden_size=model.config.hidden_size)
    except Exception as err:  # the TorchScript exporter and the optimizer raise many types
        raise PowerBertError(f"fused ONNX export of {model.config.model_type} failed: {first_line(err)}") from err
    finally:
        raw.unlink(missing_ok=True)
    fused.save_model_to_file(str(path))
    return {op: n for op, n in fused.get_fused_operator_statistics().items() if n}
