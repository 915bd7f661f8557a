"""The body of the `bnbench.run` task, free of Celery so tests can call it directly."""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from core.engine.errors import Cancelled
from core.errors import FieldError
from core.logs import job_context
from core.spec.schema import BenchSpec
from core.store.annotations import was_deleted
from core.store.jobs import (
    INVALID_KIND,
    Beat,
    admit,
    claim,
    heartbeat,
    mark_cancelled,
    mark_failed,
    stored_spec,
)
from core.store.rejections import Rejection, file_refusal
from core.store.workers import release_worker
from core.store.write import save_result
from worker.envelope import job_id_for
from worker.job_logs import captured
from worker.memory_budget import worker_limits
from worker.payload import PayloadError, parse
from worker.settings import Settings

log = logging.getLogger("bnbench.worker")

TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
FINAL_WRITE_RETRY_S = 600.0


class DatabaseUnavailable(Exception):
    """The database did not answer before the job was on record: retry the message later,
    never acknowledge it as done."""


class Heartbeat(threading.Thread):
    """Keeps the job's heartbeat and progress fresh, and notices cancels and lost claims."""

    def __init__(self, job_id: str, worker: str, interval_s: float):
        super().__init__(name=f"heartbeat-{job_id[:8]}", daemon=True)
        self.job_id, self.worker, self.interval_s = job_id, worker, interval_s
        self.stop = threading.Event()
        self.state = Beat.OK
        self._progress: tuple[int | None, float | None] = (None, None)
        self._epochs: list = []  # finished epochs not yet written: the live learning curve
        self._lock = threading.Lock()

    def progress(self, epoch: int, step: int, fraction: float) -> None:
        self._progress = (epoch, fraction)

    def epoch_done(self, metrics) -> None:
        with self._lock:
            self._epochs.append(metrics)

    def finish(self) -> None:
        """Stop beating, and wait for a beat in flight, before the result is written."""
        self.stop.set()
        if self.is_alive():
            self.join(timeout=30)

    def should_cancel(self) -> bool:
        return self.state != Beat.OK

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            with self._lock:
                epochs, self._epochs = self._epochs, []
            try:
                self.state = heartbeat(self.job_id, self.worker, *self._progress, epochs=epochs)
            except Exception:
                with self._lock:  # kept for the next beat
                    self._epochs[:0] = epochs  # a database hiccup must not kill the job
                log.warning(
                    "heartbeat for %s failed", self.job_id, exc_info=True,
                    extra={"job_id": self.job_id},
                )  # fmt: skip
            if self.state != Beat.OK:
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
    if isinstance(exc, FieldError):
        return name, str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    return name, f"{text[:1000]}{at}"


def hard_limit_failure(task_id: str, kwargs: dict, settings: Settings) -> dict:
    """The failure to record for a delivery the pool killed at the hard time limit."""
    return {
        "job_id": job_id_for(kwargs, task_id),
        "error_type": "TimeLimit",
        "message": f"killed at the hard time limit of {settings.hard_time_limit_s:.0f} s after "
        f"ignoring the soft limit of {settings.job_time_limit_s:.0f} s; shorten the spec "
        "(epochs, timed_steps, sizes) or raise BNBENCH_JOB_TIME_LIMIT_S",
    }


def execute(
    args: tuple,
    kwargs: dict,
    worker: str,
    queue: str,
    settings: Settings,
    task_id: str | None = None,
    headers: dict | None = None,
) -> str:
    """Run one delivery of a job. Returns the outcome; never raises for a job's own failure,
    so the message is acknowledged and the worker goes on. Raises DatabaseUnavailable when
    the database did not answer before the job's row existed and was claimed."""
    task_id = task_id or str(uuid.uuid4())
    job_id = job_id_for(kwargs, task_id)
    where = {"queue": queue, "worker": worker, "job_id": job_id}
    headers = headers if headers is not None else {"id": task_id}
    with job_context(job_id):
        try:
            admitted = _admit(args, kwargs, job_id, task_id, headers, where, settings)
        except TRANSIENT_DB_ERRORS as e:
            raise DatabaseUnavailable(f"{type(e).__name__}: {str(e)[:300]}") from e
        if isinstance(admitted, str):
            if admitted == "rejected":  # the job failed: it may have ended its suite's round
                _next_round(job_id)
            return admitted
        with captured(job_id):
            return _run(job_id, admitted, worker, settings)


def _admit(
    args: tuple,
    kwargs: dict,
    job_id: str,
    task_id: str,
    headers: dict,
    where: dict,
    settings: Settings,
) -> BenchSpec | str:
    """The job row this delivery runs under, claimed: its spec, or the outcome when it
    does not run (rejected, refused, duplicate)."""
    try:
        spec = parse(args, kwargs, worker_limits()).spec
    except PayloadError as e:
        return _refuse_payload(e, args, kwargs, headers, where)
    if was_deleted(job_id):
        log.info("job %s was deleted; delivery dropped", job_id)
        return "deleted"
    held = admit(job_id, spec, where["queue"])
    if held is not None:
        return _refuse(
            f"job {job_id} holds another spec (hash {held}, this message's {spec.spec_hash()}); "
            "the job is left as it is; send a new job_id, or none, for a different spec",
            args, kwargs, headers, where,
        )  # fmt: skip
    if not claim(job_id, where["worker"], settings.stale_after_s, task_id=task_id):
        log.info("job %s already taken or finished; delivery ignored", job_id)
        return "duplicate"
    return spec


def _refuse_payload(e: PayloadError, args, kwargs, headers: dict, where: dict) -> str:
    job_id = where["job_id"]
    if e.spec is not None:  # a valid spec, refused by a limit or for extra payload fields
        if (held := admit(job_id, e.spec, where["queue"])) is None:
            mark_failed(job_id, "InvalidPayload", str(e), unless_running=True)
            log.warning("job %s rejected: %s", job_id, e)
            return "rejected"
        return _refuse(f"{e} (and job {job_id} holds another spec, hash {held})",
                       args, kwargs, headers, where)  # fmt: skip
    stored = stored_spec(job_id)
    if stored is not None and stored[0] != INVALID_KIND and stored[1] == kwargs.get("spec"):
        # the job's own stored spec no longer validates (written by an older version)
        mark_failed(job_id, "InvalidPayload", str(e), unless_running=True)
        return "rejected"
    return _refuse(str(e), args, kwargs, headers, where)


def _refuse(reason: str, args, kwargs, headers: dict, where: dict) -> str:
    raw = {"args": list(args), "kwargs": kwargs}
    filed = file_refusal(Rejection.of(reason, headers, raw, **where), error_type="InvalidPayload")
    log.warning("delivery for job %s refused (%s): %s", where["job_id"], filed, reason)
    return "rejected" if filed == "job" else "refused"


def _run(job_id: str, spec: BenchSpec, worker: str, settings: Settings) -> str:
    log.info("job %s started on %s", job_id, worker, extra={"worker": worker})
    beat = Heartbeat(job_id, worker, settings.heartbeat_s)
    beat.start()
    try:
        outcome = _outcome(job_id, spec, beat, settings)
    finally:
        beat.stop.set()
        try:
            release_worker(worker)
        except TRANSIENT_DB_ERRORS:
            log.warning("could not clear %s's current job; its next job will", worker)
    if outcome != "lost":
        _next_round(job_id)
    return outcome


def _next_round(job_id: str) -> None:
    """The job may have ended its suite run's round: judging it never fails the job."""
    from worker.suite_rounds import after_job  # lazy: the suites' statistics, in the pool only

    try:
        after_job(job_id)
    except Exception:
        log.warning("could not advance the suite run of job %s; the reconciler will", job_id,
                    exc_info=True)  # fmt: skip


def _outcome(job_id: str, spec: BenchSpec, beat: Heartbeat, settings: Settings) -> str:
    try:
        from core.engine.run import run  # lazy: torch only in the pool child

        result = run(spec, progress=beat.progress, should_cancel=beat.should_cancel,
                     on_epoch=beat.epoch_done)  # fmt: skip
    except Cancelled:
        if beat.state == Beat.LOST:
            log.info("job %s was reclaimed elsewhere; this attempt stops", job_id)
            return "lost"
        _durably(mark_cancelled, job_id, "cancelled while running")
        log.info("job %s cancelled", job_id)
        return "cancelled"
    except BaseException as e:
        error_type, message = describe_failure(e, spec, settings)
        _durably(mark_failed, job_id, error_type, message)
        log.warning("job %s failed: %s: %s", job_id, error_type, message)
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        return "failed"
    beat.finish()
    saved = _durably(save_result, job_id, result)
    log.info("job %s succeeded%s", job_id, "" if saved else " (result already recorded)")
    return "succeeded"


def _durably(write, *args, **kwargs):
    """A job's final write, retried through a database outage of up to FINAL_WRITE_RETRY_S
    while the heartbeat keeps the claim; past that the error propagates, the job's row stays
    running, and the reconciler runs the job again once its heartbeat is stale."""
    deadline = time.monotonic() + FINAL_WRITE_RETRY_S
    delay = 1.0
    while True:
        try:
            return write(*args, **kwargs)
        except TRANSIENT_DB_ERRORS:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable; final write retried in %.0f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
