"""Every job state change, each one atomic, over JobStatus. No broker here: callers dispatch.

new_job/create_job --> queued --claim--> running --mark_succeeded--> succeeded
                         |                  |------mark_failed------> failed | cancelled
                         |--request_cancel-----------------------> cancelled
                         |--mark_failed (refused before it ran)--> failed
running (stale heartbeat) --requeue_stale--> queued   (or failed after max attempts)
failed | cancelled --prepare_retry--> queued
a payload that never became a spec --create_rejected_job--> failed
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.engine.result import EpochMetrics
from core.spec.schema import BenchSpec
from core.storable import storable
from core.store.db import rows_changed, session_scope
from core.store.result_rows import epoch_row
from core.store.tables import INDEXED_SPEC_FIELDS, EpochMetric, Job, JobStatus, Worker, utcnow

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = JobStatus
RAW_PAYLOAD_MAX = 8192  # bytes of a rejected payload kept for the record
ERROR_MESSAGE_MAX = 4000
INVALID_KIND = "invalid"  # jobs.kind of a payload that never became a valid spec


class Beat(StrEnum):
    """What a running job's heartbeat found."""

    OK = "ok"
    CANCEL = "cancel"  # a cancel was requested: stop between steps
    LOST = "lost"  # the job is no longer this worker's: reclaimed, or finished


@dataclass(frozen=True)
class Dispatch:
    """What a sender needs to put a job on the queue: an id and its spec, nothing else."""

    job_id: str
    spec: dict[str, Any]
    queue: str
    priority: int
    task_id: str


def new_job(
    spec: BenchSpec,
    *,
    queue: str = "local",
    priority: int = 0,
    group_id: str | None = None,
    label: str | None = None,
    status: JobStatus = QUEUED,
    job_id: str | None = None,
    worker: str | None = None,
) -> Job:
    """An unsaved Job row for `spec`."""
    now = utcnow()
    running = status == RUNNING
    return Job(
        id=job_id or str(uuid.uuid4()),
        spec_json=spec.model_dump(mode="json"),
        spec_hash=spec.spec_hash(),
        repeat_key=spec.repeat_key(),
        spec_version=spec.spec_version,
        **{f"spec_{k}": getattr(spec, k) for k in INDEXED_SPEC_FIELDS},
        kind=spec.kind,
        status=status,
        queue=queue,
        priority=priority,
        group_id=group_id,
        label=label,
        created_at=now,
        started_at=now if running else None,
        attempt=1 if running else 0,
        worker=worker,
        heartbeat_at=now if running else None,
        progress=0.0,
        cancel_requested=False,
    )


def create_job(spec: BenchSpec, url: str | None = None, **kw: Any) -> str:
    """Insert a job row and return its id."""
    job = new_job(spec, **kw)
    with session_scope(url) as s:
        s.add(job)
    return job.id


def record_progress(job_id: str, epoch: int, fraction: float, url: str | None = None) -> None:
    with session_scope(url) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING)
            .values(progress=fraction, progress_epoch=epoch or None, heartbeat_at=utcnow())
        )


def mark_failed(
    job_id: str,
    error_type: str,
    message: str,
    url: str | None = None,
    unless_running: bool = False,
) -> bool:
    """queued | running -> failed with its error; False if already final. With
    unless_running, only a queued job: one refused before it ran."""
    moves_from = (QUEUED,) if unless_running else (QUEUED, RUNNING)
    return _finish(job_id, FAILED, error_type, message, moves_from, url)


def mark_cancelled(
    job_id: str, message: str, url: str | None = None, error_type: str = "Cancelled"
) -> bool:
    """queued | running -> cancelled, once it has stopped; False if already final."""
    return _finish(job_id, CANCELLED, error_type, message, (QUEUED, RUNNING), url)


def _finish(
    job_id: str,
    status: JobStatus,
    error_type: str,
    message: str,
    moves_from: tuple[JobStatus, ...],
    url: str | None,
) -> bool:
    with session_scope(url) as s:
        res = rows_changed(
            s,
            update(Job)
            .where(Job.id == job_id, Job.status.in_(moves_from))
            .values(
                status=status,
                finished_at=utcnow(),
                error_type=error_type[:100],
                error_message=storable(message)[:ERROR_MESSAGE_MAX],
            ),
        )
        return res == 1


def claim(
    job_id: str,
    worker: str,
    stale_after_s: float,
    url: str | None = None,
    task_id: str | None = None,
) -> bool:
    """queued -> running for this worker, only if still queued (or running with a dead
    heartbeat). A duplicate delivery of a live or finished job claims nothing. The task id
    of the delivery that runs it is stored, so a cancel can terminate it."""
    now = utcnow()
    stamp = {"task_id": task_id} if task_id else {}
    cutoff = now - timedelta(seconds=stale_after_s)
    with session_scope(url) as s:
        res = rows_changed(
            s,
            update(Job)
            .where(
                Job.id == job_id,
                Job.cancel_requested.is_(False),
                or_(Job.status == QUEUED, (Job.status == RUNNING) & (Job.heartbeat_at < cutoff)),
            )
            .values(
                status=RUNNING,
                worker=worker,
                attempt=Job.attempt + 1,
                started_at=now,
                heartbeat_at=now,
                progress=0.0,
                progress_epoch=None,
                **stamp,
            ),
        )
        if res == 1:
            s.execute(update(Worker).where(Worker.name == worker).values(current_job_id=job_id))
        return res == 1


def admit(job_id: str, spec: BenchSpec, queue: str, url: str | None = None) -> str | None:
    """Give a delivery its job row, created as queued the first time a raw client's job is
    seen. Returns None when the row holds this spec (by spec hash), else the spec hash the row
    holds: the message names a job that is not its own and must not touch it."""
    with session_scope(url) as s:
        held = s.scalar(select(Job.spec_hash).where(Job.id == job_id))
    if held is None:
        try:
            with session_scope(url) as s:
                s.add(new_job(spec, queue=queue, job_id=job_id))
            return None
        except IntegrityError:  # a concurrent delivery created it
            with session_scope(url) as s:
                held = s.scalar(select(Job.spec_hash).where(Job.id == job_id))
    return None if held == spec.spec_hash() else held


def stored_spec(job_id: str, url: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(kind, spec JSON) of a job row, or None when there is no such job."""
    with session_scope(url, readonly=True) as s:
        row = s.execute(select(Job.kind, Job.spec_json).where(Job.id == job_id)).first()
    return None if row is None else (row[0], row[1])


def heartbeat(
    job_id: str,
    worker: str,
    epoch: int | None,
    fraction: float | None,
    url: str | None = None,
    epochs: list[EpochMetrics] | None = None,
) -> Beat:
    """Record life and progress, and the epochs finished since the last beat (their rows
    replace any an earlier attempt left). Returns OK; CANCEL when a cancel was requested;
    or LOST when the job no longer belongs to this worker (reclaimed, or finished)."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if fraction is not None:
        values.update(progress=fraction, progress_epoch=epoch or None)
    with session_scope(url) as s:
        res = rows_changed(
            s,
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.worker == worker)
            .values(**values),
        )
        if res != 1:
            return Beat.LOST
        if epochs:
            first = min(e.epoch for e in epochs)
            s.execute(
                delete(EpochMetric).where(EpochMetric.job_id == job_id, EpochMetric.epoch >= first)
            )
            s.add_all([epoch_row(job_id, e) for e in epochs])
        cancel = s.scalar(select(Job.cancel_requested).where(Job.id == job_id))
        return Beat.CANCEL if cancel else Beat.OK


def mark_succeeded(s: Session, finished: Iterable[tuple[str, datetime]]) -> None:
    """running -> succeeded for (job id, finished at) pairs, inside the caller's transaction:
    the one that writes their results, so no reader sees one without the other."""
    s.execute(
        update(Job),
        [
            {
                "id": job_id,
                "status": SUCCEEDED,
                "finished_at": at,
                "progress": 1.0,
                "error_type": None,
                "error_message": None,
            }
            for job_id, at in finished
        ],
    )


class Cancel(StrEnum):
    """What request_cancel did, or why it did nothing."""

    CANCELLED = "cancelled"  # it was queued and is cancelled now
    WAS_CANCELLED = "already cancelled"  # cancelled before: nothing to cancel
    CANCELLING = "cancelling"  # it is running and has been asked to stop
    ALREADY_ASKED = "running"  # it is running and was asked to stop before
    QUEUED = "queued"  # it went back to the queue meanwhile (a lost worker's job): ask again
    SUCCEEDED = "succeeded"  # it had already finished: nothing to cancel
    FAILED = "failed"
    MISSING = "missing"  # no such job


def request_cancel(job_id: str, url: str | None = None) -> Cancel:
    """Cancel a queued job at once, or ask a running one to stop."""
    now = utcnow()
    with session_scope(url) as s:
        queued = rows_changed(
            s,
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED)
            .values(
                status=CANCELLED,
                finished_at=now,
                cancel_requested=True,
                cancel_requested_at=now,
                error_type="Cancelled",
                error_message="cancelled before it started",
            ),
        )
        if queued:
            return Cancel.CANCELLED
        running = rows_changed(
            s,
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.cancel_requested.is_(False))
            .values(cancel_requested=True, cancel_requested_at=now),
        )
        if running:
            return Cancel.CANCELLING
        status = s.scalar(select(Job.status).where(Job.id == job_id))
        if status is None:
            return Cancel.MISSING
        return Cancel.WAS_CANCELLED if status == CANCELLED else Cancel(status)


def prepare_retry(job_id: str, url: str | None = None) -> Dispatch | None:
    """failed | cancelled -> queued with a fresh task id; None if the job is not retryable
    (not_retryable says why)."""
    with session_scope(url) as s:
        res = rows_changed(
            s,
            update(Job)
            .where(
                Job.id == job_id,
                Job.status.in_((FAILED, CANCELLED)),
                Job.kind != INVALID_KIND,
            )
            .values(
                status=QUEUED,
                finished_at=None,
                error_type=None,
                error_message=None,
                cancel_requested=False,
                cancel_requested_at=None,
                progress=0.0,
                worker=None,
            ),
        )
        if not res:
            return None
        return _mark_dispatched(s, job_id)


def not_retryable(job_id: str, url: str | None = None) -> str | None:
    """Why the job cannot be retried, or None when it can."""
    with session_scope(url, readonly=True) as s:
        row = s.execute(
            select(Job.status, Job.kind, Job.error_type).where(Job.id == job_id)
        ).first()
    if row is None:
        return f"{job_id[:8]}: no such job"
    status, kind, error_type = row
    if kind == INVALID_KIND:
        return (
            f"{job_id[:8]}: its spec never validated ({error_type}), so there is nothing to run "
            "again; fix the spec shown by `bnbench show` and submit it as a new job"
        )
    if status not in (FAILED, CANCELLED):
        return f"{job_id[:8]} is {status}; only failed or cancelled jobs can be retried"
    return None


def _mark_dispatched(s: Session, job_id: str) -> Dispatch:
    task_id = str(uuid.uuid4())
    s.execute(update(Job).where(Job.id == job_id).values(task_id=task_id, dispatched_at=utcnow()))
    job = s.get_one(Job, job_id)
    return Dispatch(job_id, job.spec_json, job.queue, job.priority, task_id)


def mark_dispatched(job_id: str, url: str | None = None) -> Dispatch:
    """Stamp a new task id and dispatch time on a job about to be sent."""
    with session_scope(url) as s:
        return _mark_dispatched(s, job_id)


def requeue_stale(
    stale_after_s: float, max_attempts: int, url: str | None = None
) -> tuple[list[Dispatch], list[str]]:
    """Running jobs whose heartbeat stopped: back to queued for re-sending, or failed when
    they have used up their attempts. Each job is taken by one reconciler only."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    resend: list[Dispatch] = []
    failed: list[str] = []
    with session_scope(url) as s:
        stale = s.execute(
            select(Job.id, Job.attempt, Job.worker).where(
                Job.status == RUNNING, Job.heartbeat_at < cutoff
            )
        ).all()
        for job_id, attempt, worker in stale:
            base = update(Job).where(
                Job.id == job_id, Job.status == RUNNING, Job.heartbeat_at < cutoff
            )
            if attempt >= max_attempts:
                res = rows_changed(
                    s,
                    base.values(
                        status=FAILED,
                        finished_at=utcnow(),
                        error_type="WorkerLost",
                        error_message=f"the worker running it stopped answering {attempt} times "
                        f"(last: {worker}); it may crash the worker or exceed its "
                        "memory or time limit; check that worker's log",
                    ),
                )
                if res:
                    failed.append(job_id)
                continue
            res = rows_changed(s, base.values(status=QUEUED, worker=None))
            if res:
                resend.append(_mark_dispatched(s, job_id))
    return resend, failed


def overdue_queued(
    requeue_after_s: float, url: str | None = None
) -> dict[str, list[tuple[str, str | None]]]:
    """Queued jobs sent longer ago than requeue_after_s, by queue, as (job id, task id):
    candidates for re-sending when the broker no longer holds their message."""
    cutoff = utcnow() - timedelta(seconds=requeue_after_s)
    with session_scope(url, readonly=True) as s:
        rows = s.execute(
            select(Job.queue, Job.id, Job.task_id).where(
                Job.status == QUEUED,
                Job.queue != "local",  # a CLI process runs these itself
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < cutoff),
            )
        ).all()
    out: dict[str, list[tuple[str, str | None]]] = {}
    for queue, job_id, task_id in rows:
        out.setdefault(queue, []).append((job_id, task_id))
    return out


def redispatch_if_still_overdue(
    job_id: str, requeue_after_s: float, url: str | None = None
) -> Dispatch | None:
    """Take the job for re-sending unless another reconciler just did."""
    cutoff = utcnow() - timedelta(seconds=requeue_after_s)
    with session_scope(url) as s:
        res = rows_changed(
            s,
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == QUEUED,
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < cutoff),
            )
            .values(dispatched_at=utcnow()),
        )
        return _mark_dispatched(s, job_id) if res else None


def overdue_cancels(grace_s: float, url: str | None = None) -> list[tuple[str, str | None]]:
    """Running jobs asked to cancel more than grace_s ago: (job id, task id) to terminate."""
    cutoff = utcnow() - timedelta(seconds=grace_s)
    with session_scope(url, readonly=True) as s:
        return [
            (r[0], r[1])
            for r in s.execute(
                select(Job.id, Job.task_id).where(
                    Job.status == RUNNING,
                    Job.cancel_requested.is_(True),
                    Job.cancel_requested_at < cutoff,
                )
            ).all()
        ]


def create_rejected_job(
    job_id: str,
    raw_text: str,
    error_type: str,
    message: str,
    queue: str,
    url: str | None = None,
) -> bool:
    """Record a payload that could not become a valid job, as a failed job that says why.

    A job row that exists already is never touched (a message must not fail a job it does
    not belong to); returns False then."""
    kept = storable(raw_text[:RAW_PAYLOAD_MAX])
    now = utcnow()
    job = Job(
        id=job_id,
        spec_json={"rejected_payload": kept, "truncated": len(raw_text) > RAW_PAYLOAD_MAX},
        spec_hash=hashlib.sha256(raw_text.encode("utf-8", "backslashreplace")).hexdigest()[:16],
        repeat_key="rejected",
        spec_version=0,
        kind=INVALID_KIND,
        status=FAILED,
        queue=storable(queue)[:64],
        priority=0,
        created_at=now,
        finished_at=now,
        attempt=0,
        progress=0.0,
        cancel_requested=False,
        error_type=error_type,
        error_message=storable(message)[:4000],
    )
    try:
        with session_scope(url) as s:
            if s.get(Job, job_id) is not None:
                return False
            s.add(job)
    except IntegrityError:  # a concurrent delivery created it
        return False
    return True


def queues_with_queued_jobs(url: str | None = None) -> set[str]:
    with session_scope(url, readonly=True) as s:
        return set(s.scalars(select(Job.queue).where(Job.status == QUEUED).distinct()))


def queue_counts(url: str | None = None) -> dict[str, int]:
    with session_scope(url, readonly=True) as s:
        return dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all())
