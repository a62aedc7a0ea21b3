"""Several processes (torchrun, accelerate launch): the main process writes, the others wait for it.

Every process runs the same stages (the Trainer spreads the batches); results, summaries and configurations
are written by the main process alone, and every process waits at a barrier before anyone reads them.
Without a distributed launch these are no-ops.
"""

from typing import Callable

import torch
from accelerate import PartialState


def cpu_only() -> bool:
    """No GPU or other accelerator: processes then train on the CPU with the gloo backend. Accelerate and the
    Trainer treat a torchrun launch on such a machine as distributed only when told the run is on the CPU."""
    return not torch.accelerator.is_available()


def process_state() -> PartialState:
    """Accelerate's view of the launched processes (one process, no launcher: a single main process)."""
    return PartialState(cpu=cpu_only())


def world_size() -> int:
    """How many processes train together (1 without a distributed launch)."""
    return process_state().num_processes


def is_main_process() -> bool:
    """True in a single process and in the main process of a distributed launch."""
    return process_state().is_main_process


def wait_for_everyone() -> None:
    """A barrier across the launched processes."""
    process_state().wait_for_everyone()


def on_main_process(work: Callable[[], object]) -> None:
    """Run `work` (a write) on the main process only, then make every process wait until it is done."""
    if is_main_process():
        work()
    wait_for_everyone()
