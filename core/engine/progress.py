"""Throttled progress reporting and the cooperative cancel check, called between steps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from core.engine.errors import Cancelled

ProgressFn = Callable[[int, int, float], None]
CancelFn = Callable[[], bool]
EpochFn = Callable[[Any], None]  # called with each epoch's core.engine.result.EpochMetrics


class Reporter:
    """Calls progress(epoch, step, fraction) and should_cancel() at most every `interval` s.

    The throttle keeps callbacks that touch a database or a terminal out of the hot loop.
    """

    def __init__(
        self,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
        interval: float = 0.25,
        on_epoch: EpochFn | None = None,
    ):
        self.progress = progress
        self.should_cancel = should_cancel
        self.on_epoch = on_epoch
        self.interval = interval
        self._last = -float("inf")

    def tick(self, epoch: int, step: int, fraction: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        if self.progress is not None:
            self.progress(epoch, step, min(max(fraction, 0.0), 1.0))
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled(f"cancelled at epoch {epoch}, step {step}")

    def epoch_done(self, metrics: Any) -> None:
        """An epoch's metrics, as soon as they are measured: for live learning curves."""
        if self.on_epoch is not None:
            self.on_epoch(metrics)
