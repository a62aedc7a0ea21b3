"""Keep freed memory in the process on CPU (glibc), so that each training step does not fault its activations in anew.

glibc serves every block over 32 MB with its own mmap and hands it back to the kernel when freed. A training step
at 512 tokens frees and re-allocates gigabytes of such blocks (attention probabilities: 16 x 12 x 512 x 512 floats
per layer), and the kernel zeroes every page again: on a 2-core EPYC, 130,000 page faults a second and three
quarters of the CPU time in the kernel. Serving big blocks from the heap, and never trimming it, is what PyTorch's
CPU tuning guides get by preloading jemalloc or tcmalloc; glibc's own `mallopt` does it without a new dependency.
The cost: the process keeps its peak memory until it ends.
"""

import ctypes
import ctypes.util
import functools
import logging

logger = logging.getLogger("powerbert")

_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_MAX = -4


@functools.cache  # once per process: the setting is the allocator's, not a caller's
def keep_freed_memory() -> bool:
    """Serve large blocks from the heap and never give it back (glibc only; elsewhere nothing). True when applied."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        # gnu_get_libc_version exists only in glibc: musl and macOS's libc have their own allocators
        libc.gnu_get_libc_version
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    if applied:
        logger.debug("glibc: large blocks from the heap, no trimming")
    return applied
