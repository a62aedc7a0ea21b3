"""The FLOP budget's path on MRPC: the soft configuration's expected FLOP fraction and the warming target per step,
and the multipliers. python docs/flop-targets/plot_paths.py -> docs/flop-targets/mrpc-paths.png"""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

here = Path(__file__).parent
fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
for target, color in (("0.6", "C0"), ("0.45", "C1"), ("0.3", "C2")):
    summary = json.loads((here / f"mrpc-target{target}.json").read_text())
    path = summary["flop_budget"]["multiplier_path"]
    steps = [p["step"] for p in path]
    ax.plot(steps, [p["expected_fraction"] for p in path], color=color, label=f"soft configuration, target {target}")
    ax.plot(steps, [p["target"] for p in path], color=color, linestyle=":")
    ax.axhline(summary["flop_fraction"], color=color, linestyle="--", linewidth=0.8)
    bx.plot(steps, [p["lambda_1"] for p in path], color=color, label=f"lambda_1, target {target}")
    bx.plot(steps, [p["lambda_2"] for p in path], color=color, linestyle="--")
ax.set_xlabel("search step"), ax.set_ylabel("FLOP fraction")
ax.set_title("expected (solid), target schedule (dotted), hard config on dev (dashed)", fontsize=9)
bx.set_xlabel("search step"), bx.set_ylabel("multiplier"), bx.set_title("lambda_1 (solid), lambda_2 (dashed)", fontsize=9)
for a in (ax, bx):
    a.grid(alpha=0.3), a.legend(fontsize=8)
fig.suptitle("FLOP budget on MRPC (MiniLM-L6), 345 search steps")
fig.tight_layout()
fig.savefig(here / "mrpc-paths.png", dpi=110)
