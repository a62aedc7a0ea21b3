"""Where the CPU goes while a server is under load: CPU seconds per process group between two snapshots. A process
that ends between them (the load generator) is not counted: generator_cpu.py measures that one apart.

python cpu_split.py snapshot FILE          # write every process's CPU seconds so far
python cpu_split.py diff BEFORE AFTER      # CPU seconds each group used in between
"""

import json
import os
import re
import sys

GROUPS = [("replica", r"ServeReplica"), ("haproxy", r"haproxy"), ("serve controller", r"ServeController"),
          ("raylet", r"raylet"), ("gcs", r"gcs_server"), ("training (paused)", r"powerbert (run|retrain)"),
          ("other ray", r"ray|Ray")]
TICK = os.sysconf("SC_CLK_TCK")


def snapshot() -> dict:
    """{pid: [command line, CPU seconds]} for every process readable now."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out[pid] = [cmd, (int(stat[11]) + int(stat[12])) / TICK]
    return out


def group(cmd: str) -> str:
    return next((name for name, pattern in GROUPS if re.search(pattern, cmd)), "other")


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        json.dump(snapshot(), open(sys.argv[2], "w"))
    else:
        before, after = (json.load(open(f)) for f in sys.argv[2:4])
        used: dict = {}
        for pid, (cmd, cpu) in after.items():
            name = group(cmd)
            used[name] = used.get(name, 0) + cpu - before.get(pid, [cmd, 0.0])[1]
        total = sum(used.values())
        for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]):
            print(f"{name:20s} {seconds:7.2f} s  {seconds / total:6.1%}")
        print(f"{'total':20s} {total:7.2f} s")
