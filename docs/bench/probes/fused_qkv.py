"""Three 384 -> 384 projections against one fused 384 -> 1152 projection at 53 tokens. Run: python docs/bench/probes/fused_qkv.py"""
import torch, time
torch.manual_seed(0)
h = torch.randn(1, 53, 384)
ws = [torch.nn.Linear(384, 384) for _ in range(3)]
W = torch.cat([l.weight for l in ws]); B = torch.cat([l.bias for l in ws])
def sep(): return [l(h) for l in ws]
def fused(): return torch.nn.functional.linear(h, W, B).split(384, -1)
with torch.inference_mode():
    for f in (sep, fused, sep, fused):
        for _ in range(50): f()
        t = time.perf_counter()
        for _ in range(2000): f()
        print(f.__name__, (time.perf_counter() - t) / 2000 * 1e6, "us")
