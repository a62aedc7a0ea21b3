"""Cost of one 384 -> 1536 linear layer at 1-106 tokens (batch 1), this CPU. Run: python docs/bench/probes/linear_cost.py"""
import torch, time
l = torch.nn.Linear(384, 1536)
with torch.inference_mode():
    for M in (1, 4, 15, 25, 53, 106):
        h = torch.randn(1, M, 384)
        for _ in range(50): l(h)
        t = time.perf_counter()
        for _ in range(1000): l(h)
        dt = (time.perf_counter() - t) / 1000
        print(M, f"{dt*1e6:.0f} us", f"{2*M*384*1536/dt/1e9:.1f} GFLOP/s")
