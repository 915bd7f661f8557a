"""Logs as text for people or JSON lines for collectors (BNBENCH_LOG_FORMAT=text|json).

Every record logged while a job runs carries its job id, from a context variable, so a log
pipeline can follow one job across the worker, the engine and the reconciler.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from core.errors import ConfigError

_JOB = contextvars.ContextVar[str | None]("bnbench_job_id", default=None)
FIELDS = ("job_id", "worker")  # kept when passed as `extra`


@contextlib.contextmanager
def job_context(job_id: str) -> Iterator[None]:
    token = _JOB.set(job_id)
    try:
        yield
    finally:
        _JOB.reset(token)


class JobFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            record.job_id = _JOB.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        job = getattr(record, "job_id", None)
        return f"{line} [job {job}]" if job else line


def log_format() -> str:
    fmt = os.environ.get("BNBENCH_LOG_FORMAT", "text").strip().lower() or "text"
    if fmt not in ("text", "json"):
        raise ConfigError(f"BNBENCH_LOG_FORMAT={fmt!r} must be text or json")
    return fmt


def configure(level: int | str = "INFO", stream=None, logfile: str | None = None) -> None:
    """Route every logger (Celery's too) through one handler in the chosen format."""
    handler: logging.Handler = (
        logging.FileHandler(logfile) if logfile else logging.StreamHandler(stream or sys.stderr)
    )
    handler.setFormatter(JsonFormatter() if log_format() == "json" else TextFormatter())
    handler.addFilter(JobFilter())
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    logging.captureWarnings(True)
