"""How many CPU threads torch uses for a run, set explicitly every time.

Left alone, torch takes every core; two runs (or a run and a busy neighbour) on the same
cores then spin their thread pools against each other, and step times swing by tens of
percent. The count comes from the spec, else BNBENCH_THREADS, else OMP_NUM_THREADS (which
the worker launcher sets to the cores divided by the CPU workers), else every core, and is
recorded in the result's provenance.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from core.spec import BenchSpec


def threads_for(spec: BenchSpec) -> int:
    if spec.threads is not None:
        return spec.threads
    for name in ("BNBENCH_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch.set_num_threads(n) for the block, then the count it had."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
