"""Freed memory stays in the process: re-allocating a large block does not fault its pages in again."""

import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from powerbert.cpu_memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
for _ in range(3):  # the first blocks: fault in either way while the heap grows
    torch.ones(64 * 2**20 // 4)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    torch.ones(64 * 2**20 // 4)
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_blocks_are_reused_without_page_faults():
    applied, kept = _faults("keep")
    assert applied
    _, default = _faults("default")
    pages = 30 * 64 * 2**20 // 4096
    assert default > pages / 2  # glibc: each 64 MB block is a fresh mmap, faulted in page by page
    assert kept < default / 4  # a few blocks while the heap settles (more beside other tests), not one each time
