"""The PoWER graph for ONNX Runtime before and after onnxscript's fusions, and what a graph per width class
would add (layers whose l_j is at least the input's width keep every vector: fused attention, no scores).

    python docs/bench/probes/fused_power_graph.py runs/mrpc-paper/seed42/power 2   # model folder, class c

Builds, in /tmp/fused_power_graph: the graph as traced (unfused), with onnxscript's fusions, and the class-c graph
(layers 1..c keep every vector; valid for inputs no wider than l_c), each fp32 and int8; then times each in a
process of its own over the MRPC dev pairs at batch 1, 3 passes, median (the class graph, and its fused
baseline again, on the pairs it is valid for). The CPU must be otherwise idle.
"""
import subprocess
import sys
import warnings
from pathlib import Path

OUT = Path("/tmp/fused_power_graph")

TIMER = r'''
import sys, csv, time, numpy as np, onnxruntime as ort
from transformers import AutoTokenizer
path, model_dir, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
tok = AutoTokenizer.from_pretrained(model_dir)
rows = list(csv.reader(open("../shared/glue/MRPC/dev.tsv"), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
options = ort.SessionOptions(); options.intra_op_num_threads = 2
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
names = [i.name for i in session.get_inputs()]
feeds = [{k: v.astype(np.int64) for k, v in tok(r[3], r[4], return_tensors="np").items() if k in names} for r in rows]
feeds = [f for f in feeds if f["input_ids"].shape[1] <= limit]
for f in feeds[:20]: session.run(None, f)
passes = []
for _ in range(3):
    start = time.perf_counter(); [session.run(None, f) for f in feeds]; passes.append(time.perf_counter() - start)
print(f"{path.split('/')[-1]:28s} {len(feeds)} pairs  pass s {sorted(passes)[1]:.3f}")
'''


def fuse_for_onnxruntime(path: Path) -> dict[str, int]:
    """onnxscript's ONNX Runtime fusions on a torch.export graph, in place; the fused operators' counts."""
    import onnx_ir as ir
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    model = ir.load(str(path))
    optimize_for_ort(model)
    ir.save(model, str(path))
    counts: dict[str, int] = {}
    for node in model.graph:
        if node.domain == "com.microsoft":
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def build(model_dir: str, keep_all_layers: int) -> int:
    """Write the six graphs; returns the widest input the class graph is valid for."""
    import torch

    from powerbert.deploy.onnx_export import _LogitsOnly, export_onnx_file, quantize_onnx_int8
    from powerbert.modeling import load_power_or_plain

    OUT.mkdir(exist_ok=True)
    model = load_power_or_plain(model_dir).eval()
    export_onnx_file(model, OUT / "unfused.onnx", token_types=True)
    (OUT / "fused.onnx").write_bytes((OUT / "unfused.onnx").read_bytes())
    print("fused operators", fuse_for_onnxruntime(OUT / "fused.onnx"))
    # the class graph: layers below keep_all_layers traced as not exporting, so they keep every vector
    layer, limit = model._layer, model.power_config.retention[keep_all_layers - 1]
    model._layer = lambda j, *a, **k: layer(j, *a[:6], a[6] and j >= keep_all_layers, *a[7:], **k)
    ids = torch.tensor([[101, 2000, 2001, 2002, 102], [101, 2003, 102, 0, 0]])
    example = {"input_ids": ids, "attention_mask": (ids > 0).long(), "token_type_ids": torch.zeros_like(ids)}
    batch, width = torch.export.Dim("batch"), torch.export.Dim("sequence", min=2, max=limit)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_LogitsOnly(model, True), (), kwargs=example, dynamo=True, input_names=list(example),
                          dynamic_shapes={k: {0: batch, 1: width} for k in example}, output_names=["logits"],
                          external_data=False).save(str(OUT / "class.onnx"))
    print("class graph fused operators", fuse_for_onnxruntime(OUT / "class.onnx"))
    for name in ("unfused", "fused", "class"):
        quantize_onnx_int8(OUT / f"{name}.onnx", OUT / f"{name}_int8.onnx")
    return limit


if __name__ == "__main__":
    model_dir, keep_all_layers = sys.argv[1], int(sys.argv[2])
    limit = build(model_dir, keep_all_layers)
    for suffix in ("", "_int8"):
        for name, widest in (("unfused", 10**6), ("fused", 10**6), ("fused", limit), ("class", limit)):
            subprocess.run([sys.executable, "-c", TIMER, str(OUT / f"{name}{suffix}.onnx"), model_dir, str(widest)])
