"""Ablation (batch 1 only): an fp32 PoWER ONNX Runtime graph whose Extract layers keep the first k vectors
instead of the k most significant (no probabilities, scores or top-k), to time what significance costs:
    python docs/bench/probes/power_without_scores.py EXPORT/model.onnx OUT/model.onnx
then quantize OUT/model.onnx (deploy.onnx_export.quantize_onnx_int8) and time it against the export with
docs/bench/probes/ort_paired.py. Its predictions mean nothing. Each eliminating layer has one TopK (the kept
vectors in rank order); its indices become 0..k-1.
"""
import sys, onnx
from onnx import helper, numpy_helper
import numpy as np
from powerbert.deploy.onnx_export import tidy_attention_outputs
from onnxscript.optimizer import remove_unused_nodes
m = onnx.load(sys.argv[1]); g = m.graph
nodes = list(g.node)
topks = [n for n in nodes if n.op_type == "TopK"]
g.initializer.extend([numpy_helper.from_array(np.array(0, np.int64), "abl_zero"), numpy_helper.from_array(np.array(1, np.int64), "abl_one"),
                      numpy_helper.from_array(np.array([0], np.int64), "abl_axes")])
for i, topk in enumerate(topks):
    k = topk.input[1]  # 1-D [k]
    new = [helper.make_node("Squeeze", [k], [f"abl_k{i}"]),
           helper.make_node("Range", ["abl_zero", f"abl_k{i}", "abl_one"], [f"abl_r{i}"]),
           helper.make_node("Unsqueeze", [f"abl_r{i}", "abl_axes"], [f"abl_idx{i}"])]
    target = topk.output[1]  # the indices
    for n in nodes:
        for j, name in enumerate(n.input):
            if name == target: n.input[j] = f"abl_idx{i}"
    at = nodes.index(topk); nodes[at+1:at+1] = new
del g.node[:]; g.node.extend(nodes)
remove_unused_nodes(m)
tidy_attention_outputs(m)
remove_unused_nodes(m)
print(len(m.graph.node), [n.op_type for n in m.graph.node if n.op_type in ("TopK", "Softmax")])
onnx.save(m, sys.argv[2])
