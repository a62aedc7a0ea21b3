"""One fp32 linear layer on PyTorch's default kernel (MKL) against oneDNN's prepacked one (what
powerbert.deploy.use_onednn_linears swaps in), MiniLM's three shapes at 1-1,600 rows, median of 5 runs.
Run: python docs/bench/probes/linear_kernels.py [threads]"""
import sys
import time

import torch
import torch.nn.functional as F

from powerbert.deploy import OneDNNLinear

if len(sys.argv) > 1:
    torch.set_num_threads(int(sys.argv[1]))


def microseconds(f, calls: int) -> float:
    for _ in range(10):
        f()
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            f()
        runs.append((time.perf_counter() - start) / calls)
    return sorted(runs)[2] * 1e6


print(f"threads {torch.get_num_threads()}\n| in -> out | rows | MKL, us | oneDNN, us | oneDNN faster |\n|---|---|---|---|---|")
with torch.inference_mode():
    for inputs, outputs in ((384, 1536), (1536, 384), (384, 384)):
        linear = torch.nn.Linear(inputs, outputs)
        onednn = OneDNNLinear(linear)
        for rows in (1, 4, 15, 53, 1600):
            x = torch.randn(rows, inputs)
            calls = 50 if rows > 100 else 400
            mkl, dnn = microseconds(lambda: F.linear(x, linear.weight, linear.bias), calls), microseconds(lambda: onednn(x), calls)
            print(f"| {inputs} -> {outputs} | {rows} | {mkl:.1f} | {dnn:.1f} | {mkl / dnn:.2f}x |")
