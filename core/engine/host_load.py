"""How busy the host was during a run: the 1-minute load average and the CPU steal share.

A timing taken on a loaded or oversubscribed host (a noisy neighbour, a shared VM) reads slow;
these two figures, stored with every result, let a reader tell such a run from a regression.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


def _cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot; None where /proc/stat is missing."""
    try:
        first = PROC_STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    values = [int(v) for v in first[1:]]
    steal = values[7] if len(values) > 7 else 0
    return steal, sum(values[:8])


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


@dataclass
class LoadWindow:
    """Start one before the run (it keeps the load average then, `start_load`); `finish()`
    gives (load average 1 min at the end, steal share over the window)."""

    start: tuple[int, int] | None = None
    start_load: float | None = None

    def __post_init__(self) -> None:
        self.start = _cpu_times()
        self.start_load = _load()

    def finish(self) -> tuple[float | None, float | None]:
        load = _load()
        end = _cpu_times()
        if self.start is None or end is None or end[1] <= self.start[1]:
            return load, None
        return load, (end[0] - self.start[0]) / (end[1] - self.start[1])
