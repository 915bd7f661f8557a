"""A job's own log: the records written while it runs (by bnbench, torch's warnings, the
heartbeat thread), kept in job_logs so they can be read next to the job instead of in a
worker's log file on some node."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from core.store.db import session_scope
from core.store.tables import Job, JobLog

log = logging.getLogger("bnbench.worker")
MAX_LINES = 2000  # a runaway loop of warnings must not fill the database
MAX_MESSAGE = 4000


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[dict[str, Any]] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) >= MAX_LINES:
            self.dropped += 1
            return
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append({
            "logged_at": datetime.fromtimestamp(record.created, UTC), "level": record.levelname,
            "logger": record.name[:100], "message": message[:MAX_MESSAGE],
        })  # fmt: skip


@contextlib.contextmanager
def captured(job_id: str) -> Iterator[Capture]:
    """Collect the records logged in this process while the job runs, at the worker's log
    level (--loglevel), then store them."""
    capture = Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    logging.captureWarnings(True)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        try:
            store(job_id, capture)
        except Exception:  # the job's outcome is on record already; its log is a nicety
            log.warning("could not store the log of job %s", job_id, exc_info=True)


def store(job_id: str, capture: Capture, url: str | None = None) -> None:
    lines = list(capture.lines)
    if capture.dropped:
        note = f"{capture.dropped} more lines dropped (over {MAX_LINES})"
        lines.append({"logged_at": datetime.now(UTC), "level": "WARNING", "logger": "bnbench",
                      "message": note})  # fmt: skip
    if not lines:
        return
    with session_scope(url) as s:
        attempt = s.scalar(select(Job.attempt).where(Job.id == job_id))
        if attempt is None:  # deleted meanwhile
            return
        s.add_all([JobLog(job_id=job_id, attempt=attempt, **line) for line in lines])
