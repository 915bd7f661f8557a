"""The body of the `bnbench.run` task, free of Celery so tests can call it directly."""

from __future__ import annotations

import logging
import threading
import traceback

from core.bench_errors import BenchError, Cancelled
from core.formats import DataError
from core.lifecycle import claim, create_rejected_job, heartbeat, release_worker
from core.logs import job_context
from core.spec import BenchSpec
from core.store import create_job, mark_failed, save_result
from worker.payload import PayloadError, parse, valid_job_id
from worker.settings import Settings

log = logging.getLogger("bnbench.worker")


class Heartbeat(threading.Thread):
    """Keeps the job's heartbeat and progress fresh, and notices cancels and lost claims."""

    def __init__(self, job_id: str, worker: str, interval_s: float):
        super().__init__(name=f"heartbeat-{job_id[:8]}", daemon=True)
        self.job_id, self.worker, self.interval_s = job_id, worker, interval_s
        self.stop = threading.Event()
        self.state = "ok"
        self._progress: tuple[int | None, float | None] = (None, None)

    def progress(self, epoch: int, step: int, fraction: float) -> None:
        self._progress = (epoch, fraction)

    def should_cancel(self) -> bool:
        return self.state != "ok"

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            try:
                self.state = heartbeat(self.job_id, self.worker, *self._progress)
            except Exception:  # a database hiccup must not kill the job; retry next beat
                log.warning(
                    "heartbeat for %s failed", self.job_id, exc_info=True,
                    extra={"job_id": self.job_id},
                )  # fmt: skip
            if self.state != "ok":
                return


def describe_failure(exc: BaseException, spec: BenchSpec, settings: Settings) -> tuple[str, str]:
    """(error_type, message) that say what went wrong and what to change."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if name == "SoftTimeLimitExceeded":
        return "TimeLimit", (
            f"ran past the job time limit of {settings.job_time_limit_s:.0f} s; shorten the "
            "spec (epochs, timed_steps, sizes) or raise BNBENCH_JOB_TIME_LIMIT_S"
        )
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        size, field = (
            (spec.shape[0], "shape[0]") if spec.kind == "layer" else (spec.batch_size, "batch_size")
        )
        return "OutOfMemory", (
            f"out of memory at {field}={size} ({text[:300]}); try {field}={max(size // 2, 2)}"
            " or a smaller model or dataset"
        )
    if isinstance(exc, BenchError | DataError):
        return name, str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    return name, f"{text[:1000]}{at}"


def execute(args: tuple, kwargs: dict, worker: str, queue: str, settings: Settings) -> str:
    """Run one delivery of a job. Returns the outcome; never raises for a job's own failure,
    so the message is acknowledged and the worker goes on."""
    try:
        payload = parse(args, kwargs)
    except PayloadError as e:
        job_id = create_rejected_job(
            {"args": list(args), "kwargs": kwargs},
            "InvalidPayload",
            str(e),
            queue,
            job_id=valid_job_id(args, kwargs),
        )
        log.warning("job %s rejected: %s", job_id, e, extra={"job_id": job_id})
        return "rejected"
    spec = payload.spec
    job_id = payload.job_id or create_job(spec, queue=queue)
    if payload.job_id is not None:
        _ensure_row(job_id, spec, queue)
    with job_context(job_id):
        return _run(job_id, spec, worker, settings)


def _run(job_id: str, spec: BenchSpec, worker: str, settings: Settings) -> str:
    if not claim(job_id, worker, settings.stale_after_s):
        log.info("job %s already taken or finished; delivery ignored", job_id)
        return "duplicate"
    log.info("job %s started on %s", job_id, worker, extra={"worker": worker})
    beat = Heartbeat(job_id, worker, settings.heartbeat_s)
    beat.start()
    try:
        from core.bench import run

        result = run(spec, progress=beat.progress, should_cancel=beat.should_cancel)
    except Cancelled:
        if beat.state == "lost":
            log.info("job %s was reclaimed elsewhere; this attempt stops", job_id)
            return "lost"
        mark_failed(job_id, "Cancelled", "cancelled while running", status="cancelled")
        log.info("job %s cancelled", job_id)
        return "cancelled"
    except BaseException as e:
        error_type, message = describe_failure(e, spec, settings)
        mark_failed(job_id, error_type, message)
        log.warning("job %s failed: %s: %s", job_id, error_type, message)
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        return "failed"
    finally:
        beat.stop.set()
        release_worker(worker)
    saved = save_result(job_id, result)
    log.info("job %s succeeded%s", job_id, "" if saved else " (result already recorded)")
    return "succeeded"


def _ensure_row(job_id: str, spec: BenchSpec, queue: str) -> None:
    """A raw client may pick its own job id; give it a row the first time it is seen."""
    from sqlalchemy.exc import IntegrityError

    from core.db import session_scope
    from core.dbmodels import Job
    from core.store import new_job

    with session_scope() as s:
        if s.get(Job, job_id) is not None:
            return
    try:
        with session_scope() as s:
            s.add(new_job(spec, queue=queue, job_id=job_id))
    except IntegrityError:
        pass  # a concurrent delivery created it
