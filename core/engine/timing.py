"""Timing primitives: CUDA events on GPU, perf_counter on CPU, median with its spread."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from core.engine.result import TimingStats


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


def _order(i: int, k: int) -> list[int]:
    """A, B, ... then ..., B, A: neither side of a comparison always goes first."""
    return list(range(k)) if i % 2 == 0 else list(reversed(range(k)))


def alternating_per_call(
    fns: Sequence[Callable[[], object]], device: torch.device, warmup: int, n: int
) -> list[list[float]]:
    """Latency of n calls of each fn, synchronizing after every call. The fns take turns,
    call by call, so a busy moment of the host lands on all of them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    synchronize(device)
    out: list[list[float]] = [[] for _ in fns]
    for i in range(n):
        for k in _order(i, len(fns)):
            t0 = time.perf_counter()
            fns[k]()
            synchronize(device)
            out[k].append((time.perf_counter() - t0) * 1e3)
    return out


def alternating_rounds(
    fns: Sequence[Callable[[], object]], device: torch.device, warmup: int, calls: int, rounds: int
) -> list[list[float]]:
    """Mean time per call in each of `rounds` back-to-back blocks of `calls` calls, per fn.
    The fns take turns round by round (A B, then B A), so their ratio compares like with
    like."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    synchronize(device)
    timers = [IntervalTimer(device) for _ in fns]
    for r in range(rounds):
        for k in _order(r, len(fns)):
            timers[k].start()
            for _ in range(calls):
                fns[k]()
            timers[k].stop()
    return [[t / calls for t in timer.times_ms()] for timer in timers]


def time_rounds(
    fn: Callable[[], object], device: torch.device, warmup: int, calls: int, rounds: int
) -> list[float]:
    """Mean time per call in each of `rounds` back-to-back blocks of `calls` calls."""
    return alternating_rounds([fn], device, warmup, calls, rounds)[0]
