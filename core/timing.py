"""Timing primitives: CUDA events on GPU, perf_counter on CPU, median with its spread."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from core.result import TimingStats


def summarize(times_ms: Sequence[float]) -> TimingStats:
    if len(times_ms) == 0:
        raise ValueError("no timings to summarize")
    a = np.asarray(times_ms, dtype=np.float64)
    p25, med, p75, p95 = np.percentile(a, [25, 50, 75, 95])
    return TimingStats(
        median_ms=float(med),
        p25_ms=float(p25),
        p75_ms=float(p75),
        p95_ms=float(p95),
        mean_ms=float(a.mean()),
        n=int(a.size),
    )


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class IntervalTimer:
    """Records start/stop intervals without synchronizing between them.

    On CUDA each interval is a pair of events read back once in `times_ms`, so timing adds
    no host-device round trip per step. On CPU it is perf_counter.
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.device = device
        self._pairs: list[tuple[object, object]] = []
        self._open: object | None = None

    def start(self) -> None:
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self._open = ev
        else:
            self._open = time.perf_counter()

    def stop(self) -> None:
        if self._open is None:
            raise RuntimeError("stop() without start()")
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self._pairs.append((self._open, ev))
        else:
            self._pairs.append((self._open, time.perf_counter()))
        self._open = None

    def times_ms(self) -> list[float]:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            return [a.elapsed_time(b) for a, b in self._pairs]  # type: ignore[attr-defined]
        return [(b - a) * 1e3 for a, b in self._pairs]  # type: ignore[operator]

    def __len__(self) -> int:
        return len(self._pairs)


def time_per_call(
    fn: Callable[[], object], device: torch.device, warmup: int, n: int
) -> list[float]:
    """Latency of each of n calls after warmup, synchronizing after every call."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def time_rounds(
    fn: Callable[[], object], device: torch.device, warmup: int, calls: int, rounds: int
) -> list[float]:
    """Mean time per call in each of `rounds` back-to-back blocks of `calls` calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    timer = IntervalTimer(device)
    for _ in range(rounds):
        timer.start()
        for _ in range(calls):
            fn()
        timer.stop()
    return [t / calls for t in timer.times_ms()]
