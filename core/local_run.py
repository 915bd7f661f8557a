"""A local run recorded like a queued job: running, then succeeded with results, or failed."""

from __future__ import annotations

import socket
import time

from core.engine.errors import Cancelled
from core.engine.progress import ProgressFn
from core.engine.result import BenchResult
from core.engine.run import run
from core.spec.parse import validate_spec
from core.spec.schema import BenchSpec
from core.store.jobs import (
    claim,
    create_job,
    mark_cancelled,
    mark_failed,
    record_progress,
    stored_spec,
)
from core.store.migrate import ensure_schema
from core.store.write import save_result

PROGRESS_WRITE_INTERVAL_S = 2.0


def run_recorded(
    spec: BenchSpec,
    progress: ProgressFn | None = None,
    label: str | None = None,
    group_id: str | None = None,
    url: str | None = None,
) -> tuple[str, BenchResult]:
    """Run `spec` here and record it; returns (job id, result). Failures are recorded, then
    re-raised."""
    ensure_schema(url)
    job_id = create_job(
        spec,
        url=url,
        status="running",
        queue="local",
        worker=socket.gethostname(),
        label=label,
        group_id=group_id,
    )
    return job_id, _record(job_id, spec, progress, url)


def run_queued(job_id: str, progress: ProgressFn | None = None, url: str | None = None):
    """Run a queued job row here (a local suite run's next round), recorded the same way.
    Returns its result, or None when another process had already taken it."""
    stored = stored_spec(job_id, url)
    if stored is None or not claim(job_id, socket.gethostname(), 1e9, url):
        return None
    return _record(job_id, validate_spec(stored[1]), progress, url)


def _record(
    job_id: str, spec: BenchSpec, progress: ProgressFn | None, url: str | None
) -> BenchResult:
    last_write = time.monotonic()

    def on_progress(epoch: int, step: int, fraction: float) -> None:
        nonlocal last_write
        if progress is not None:
            progress(epoch, step, fraction)
        if time.monotonic() - last_write >= PROGRESS_WRITE_INTERVAL_S:
            record_progress(job_id, epoch, fraction, url)
            last_write = time.monotonic()

    try:
        result = run(spec, progress=on_progress)
    except (Cancelled, KeyboardInterrupt) as e:
        mark_cancelled(job_id, str(e) or "interrupted", url, error_type=type(e).__name__)
        raise
    except BaseException as e:
        mark_failed(job_id, type(e).__name__, str(e) or repr(e), url)
        raise
    save_result(job_id, result, url)
    return result
