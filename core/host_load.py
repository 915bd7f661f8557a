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


@dataclass
class LoadWindow:
    """Start one before the run; `finish()` gives (load average 1 min, steal share)."""

    start: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.start = _cpu_times()

    def finish(self) -> tuple[float | None, float | None]:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = None
        end = _cpu_times()
        if self.start is None or end is None or end[1] <= self.start[1]:
            return load, None
        return load, (end[0] - self.start[0]) / (end[1] - self.start[1])
