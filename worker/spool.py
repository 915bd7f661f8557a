"""A worker's outbox for the records its main process must neither lose nor wait for.

The main process refuses malformed messages and notices hard time limits. It must never
block on the database, nor crash when it is away, so it writes each record to a file here
and a flusher thread moves the records into the database, retrying until it answers.
The files outlive a crash: a worker restarted under the same name flushes them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.config import bnbench_home
from core.store.jobs import mark_failed
from core.store.rejections import Rejection, file_refusal

log = logging.getLogger("bnbench.spool")


def _write_rejection(rec: dict[str, Any]) -> None:
    file_refusal(Rejection(**rec))


def _write_job_failure(rec: dict[str, Any]) -> None:
    mark_failed(rec["job_id"], rec["error_type"], rec["message"])


WRITERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "rejection": _write_rejection,
    "job_failed": _write_job_failure,
}


def spool_dir(worker: str) -> Path:
    override = os.environ.get("BNBENCH_SPOOL_DIR")
    base = Path(override).expanduser() if override else bnbench_home() / "spool"
    return base / re.sub(r"[^A-Za-z0-9._@-]", "_", worker)


class Spool:
    def __init__(self, directory: Path):
        self.directory = directory
        self.wake = threading.Event()
        self._lock = threading.Lock()

    def append(self, kind: str, record: dict[str, Any]) -> Path:
        """Write one record durably (temporary file, fsync, rename) and wake the flusher."""
        if kind not in WRITERS:
            raise ValueError(f"unknown spool record kind {kind!r}")
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.{kind}.json"  # sorts by time
        tmp = self.directory / f".{name}.tmp"
        with open(tmp, "w") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        final = self.directory / name
        os.replace(tmp, final)
        self.wake.set()
        return final

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(".json"))

    def flush(self) -> int:
        """Write pending records to the database in order; stop at the first failure (the
        database is away) and leave the rest for the next flush. Returns how many it wrote."""
        written = 0
        with self._lock:
            for path in self.pending():
                kind = path.name.split(".")[1]
                try:
                    record = json.loads(path.read_text())
                except (OSError, ValueError):
                    log.error("spool: unreadable record %s moved aside", path, exc_info=True)
                    path.rename(path.with_suffix(".bad"))
                    continue
                WRITERS[kind](record)
                path.unlink()
                written += 1
        return written


class Flusher(threading.Thread):
    """Flushes the spool when a record arrives, and every `interval_s` while any are left."""

    def __init__(self, spool: Spool, interval_s: float):
        super().__init__(name="bnbench-spool", daemon=True)
        self.spool, self.interval_s = spool, interval_s
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.spool.wake.wait(self.interval_s)
            self.spool.wake.clear()
            try:
                self.spool.flush()
            except Exception:  # the database is away: keep the records, try again later
                log.warning("spool flush failed; %d records kept", len(self.spool.pending()),
                            exc_info=True)  # fmt: skip
