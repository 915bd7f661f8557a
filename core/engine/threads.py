"""How many CPU threads torch uses for a run, set explicitly every time.

Left alone, torch takes every core; two runs (or a run and a busy neighbour) on the same
cores then spin their thread pools against each other, and step times swing by tens of
percent. A count in the spec, else BNBENCH_THREADS, is used as given. Otherwise the run's
share of the cores (OMP_NUM_THREADS, which the worker launcher sets to the cores divided by
the CPU workers, else every core) is an upper bound: a CPU training run times a few steps
of a throwaway copy of its model at 1, 2, 4 ... threads up to the share, alternating, and
keeps the fastest, the way cudnn.benchmark picks a convolution algorithm. The count used is
recorded in the result's provenance, and the trial's medians in the result.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator

import torch

from core.spec.schema import BenchSpec

TRIAL_STEPS = 5  # timed steps per count in each round
TRIAL_ROUNDS = (2, 6)  # at least, at most
TRIAL_BUDGET_S = 1.0  # no round starts after this
TIE = 0.02  # a count within 2% of the fastest median is as fast: the fewer threads win


def _env_count(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def fixed_threads(spec: BenchSpec) -> int | None:
    """The count the spec or BNBENCH_THREADS asks for; None leaves it to the trial."""
    return spec.threads if spec.threads is not None else _env_count("BNBENCH_THREADS")


def thread_share() -> int:
    return _env_count("OMP_NUM_THREADS") or os.cpu_count() or 1


def threads_for(spec: BenchSpec) -> int:
    """The count a run starts with: the fixed one, else its share of the cores."""
    fixed = fixed_threads(spec)
    return fixed if fixed is not None else thread_share()


def candidates(share: int) -> list[int]:
    """1, 2, 4 ... and the share itself."""
    out, n = [], 1
    while n < share:
        out.append(n)
        n *= 2
    return [*out, share]


def trial(step: Callable[[], object], counts: list[int]) -> dict[int, float]:
    """Median ms of `step` at each thread count, in alternating rounds (one untimed step
    per count first), so that a change of load hits every count alike."""
    times: dict[int, list[float]] = {n: [] for n in counts}
    for n in counts:
        torch.set_num_threads(n)
        step()
    t0 = time.perf_counter()
    for r in range(TRIAL_ROUNDS[1]):
        if r >= TRIAL_ROUNDS[0] and time.perf_counter() - t0 > TRIAL_BUDGET_S:
            break
        for n in counts:
            torch.set_num_threads(n)
            for _ in range(TRIAL_STEPS):
                t = time.perf_counter()
                step()
                times[n].append((time.perf_counter() - t) * 1e3)
    return {n: statistics.median(ts) for n, ts in times.items()}


def fastest(medians: dict[int, float]) -> int:
    best = min(medians.values())
    return min(n for n, ms in medians.items() if ms <= best * (1 + TIE))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch.set_num_threads(n) for the block, then the count it had."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
