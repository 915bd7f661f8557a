"""Job state transitions in the database, each one atomic. No broker here: callers dispatch.

queued --claim--> running --save_result--> succeeded
   |                 |----mark_failed----> failed | cancelled
   |--cancel-------> cancelled
running (stale heartbeat) --requeue_stale--> queued   (or failed after max attempts)
failed | cancelled --retry--> queued
"""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from core.db import session_scope
from core.dbmodels import Job, Worker, utcnow

RAW_PAYLOAD_MAX = 8192  # bytes of a rejected payload kept for the record


@dataclass(frozen=True)
class Dispatch:
    """What a sender needs to put a job on the queue: an id and its spec, nothing else."""

    job_id: str
    spec: dict
    queue: str
    priority: int
    task_id: str


def claim(job_id: str, worker: str, stale_after_s: float, url: str | None = None) -> bool:
    """queued -> running for this worker, only if still queued (or running with a dead
    heartbeat). A duplicate delivery of a live or finished job claims nothing."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    with session_scope(url) as s:
        res = s.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.cancel_requested.is_(False),
                or_(
                    Job.status == "queued", (Job.status == "running") & (Job.heartbeat_at < cutoff)
                ),
            )
            .values(
                status="running",
                worker=worker,
                attempt=Job.attempt + 1,
                started_at=now,
                heartbeat_at=now,
                progress=0.0,
                progress_epoch=None,
            )
        )
        if res.rowcount == 1:
            s.execute(update(Worker).where(Worker.name == worker).values(current_job_id=job_id))
        return res.rowcount == 1


def heartbeat(
    job_id: str, worker: str, epoch: int | None, fraction: float | None, url: str | None = None
) -> str:
    """Record life and progress. Returns "ok"; "cancel" when a cancel was requested; or
    "lost" when the job no longer belongs to this worker (reclaimed, or finished elsewhere)."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if fraction is not None:
        values.update(progress=fraction, progress_epoch=epoch or None)
    with session_scope(url) as s:
        res = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.worker == worker)
            .values(**values)
        )
        if res.rowcount != 1:
            return "lost"
        return "cancel" if s.scalar(select(Job.cancel_requested).where(Job.id == job_id)) else "ok"


def release_worker(worker: str, url: str | None = None) -> None:
    with session_scope(url) as s:
        s.execute(update(Worker).where(Worker.name == worker).values(current_job_id=None))


def request_cancel(job_id: str, url: str | None = None) -> str:
    """Cancel a queued job at once, or ask a running one to stop. Returns the new state:
    cancelled, cancelling, or the final status it already had."""
    now = utcnow()
    with session_scope(url) as s:
        queued = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(
                status="cancelled",
                finished_at=now,
                cancel_requested=True,
                cancel_requested_at=now,
                error_type="Cancelled",
                error_message="cancelled before it started",
            )
        )
        if queued.rowcount:
            return "cancelled"
        running = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.cancel_requested.is_(False))
            .values(cancel_requested=True, cancel_requested_at=now)
        )
        if running.rowcount:
            return "cancelling"
        return s.scalar(select(Job.status).where(Job.id == job_id)) or "missing"


def prepare_retry(job_id: str, url: str | None = None) -> Dispatch | None:
    """failed | cancelled -> queued with a fresh task id; None if the job is not retryable."""
    with session_scope(url) as s:
        res = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("failed", "cancelled")))
            .values(
                status="queued",
                finished_at=None,
                error_type=None,
                error_message=None,
                cancel_requested=False,
                cancel_requested_at=None,
                progress=0.0,
                worker=None,
            )
        )
        if not res.rowcount:
            return None
        return _mark_dispatched(s, job_id)


def _mark_dispatched(s, job_id: str) -> Dispatch:
    task_id = str(uuid.uuid4())
    s.execute(update(Job).where(Job.id == job_id).values(task_id=task_id, dispatched_at=utcnow()))
    job = s.get(Job, job_id)
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
                Job.status == "running", Job.heartbeat_at < cutoff
            )
        ).all()
        for job_id, attempt, worker in stale:
            base = update(Job).where(
                Job.id == job_id, Job.status == "running", Job.heartbeat_at < cutoff
            )
            if attempt >= max_attempts:
                res = s.execute(
                    base.values(
                        status="failed",
                        finished_at=utcnow(),
                        error_type="WorkerLost",
                        error_message=f"the worker running it stopped answering {attempt} times "
                        f"(last: {worker}); it may crash the worker or exceed its "
                        "memory or time limit; check that worker's log",
                    )
                )
                if res.rowcount:
                    failed.append(job_id)
                continue
            res = s.execute(base.values(status="queued", worker=None))
            if res.rowcount:
                resend.append(_mark_dispatched(s, job_id))
    return resend, failed


def overdue_queued(requeue_after_s: float, url: str | None = None) -> dict[str, list[str]]:
    """Queued jobs sent longer ago than requeue_after_s, by queue: candidates for re-sending
    when the broker shows their queue empty (it lost them, e.g. on a restart)."""
    cutoff = utcnow() - timedelta(seconds=requeue_after_s)
    with session_scope(url, readonly=True) as s:
        rows = s.execute(
            select(Job.queue, Job.id).where(
                Job.status == "queued",
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < cutoff),
            )
        ).all()
    out: dict[str, list[str]] = {}
    for queue, job_id in rows:
        out.setdefault(queue, []).append(job_id)
    return out


def redispatch_if_still_overdue(
    job_id: str, requeue_after_s: float, url: str | None = None
) -> Dispatch | None:
    """Take the job for re-sending unless another reconciler just did."""
    cutoff = utcnow() - timedelta(seconds=requeue_after_s)
    with session_scope(url) as s:
        res = s.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == "queued",
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < cutoff),
            )
            .values(dispatched_at=utcnow())
        )
        return _mark_dispatched(s, job_id) if res.rowcount else None


def overdue_cancels(grace_s: float, url: str | None = None) -> list[tuple[str, str | None]]:
    """Running jobs asked to cancel more than grace_s ago: (job id, task id) to terminate."""
    cutoff = utcnow() - timedelta(seconds=grace_s)
    with session_scope(url, readonly=True) as s:
        return [
            tuple(r)
            for r in s.execute(
                select(Job.id, Job.task_id).where(
                    Job.status == "running",
                    Job.cancel_requested.is_(True),
                    Job.cancel_requested_at < cutoff,
                )
            ).all()
        ]


def create_rejected_job(
    raw: Any,
    error_type: str,
    message: str,
    queue: str,
    job_id: str | None = None,
    url: str | None = None,
) -> str:
    """Record a payload that could not become a valid job, as a failed job that says why."""
    try:
        text = json.dumps(raw, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        text = repr(raw)
    kept = text[:RAW_PAYLOAD_MAX]
    now = utcnow()
    job = Job(
        id=job_id or str(uuid.uuid4()),
        spec_json={"rejected_payload": kept, "truncated": len(text) > RAW_PAYLOAD_MAX},
        spec_hash=hashlib.sha256(text.encode()).hexdigest()[:16],
        repeat_key="rejected",
        spec_version=0,
        kind="invalid",
        status="failed",
        queue=queue,
        priority=0,
        created_at=now,
        finished_at=now,
        attempt=0,
        progress=0.0,
        cancel_requested=False,
        error_type=error_type,
        error_message=message[:4000],
    )
    with session_scope(url) as s:
        existing = s.get(Job, job.id)
        if existing is None:
            s.add(job)
        elif existing.status in ("queued", "running"):
            existing.status, existing.finished_at = "failed", now
            existing.error_type, existing.error_message = error_type, message[:4000]
    return job.id


def register_worker(
    name: str, queues: list[str], gpu_model: str | None, url: str | None = None
) -> None:
    now = utcnow()
    with session_scope(url) as s:
        row = s.get(Worker, name)
        if row is None:
            s.add(
                Worker(
                    name=name,
                    host=socket.gethostname(),
                    gpu_model=gpu_model,
                    queues=queues,
                    started_at=now,
                    heartbeat_at=now,
                )
            )
        else:
            row.host, row.gpu_model, row.queues = socket.gethostname(), gpu_model, queues
            row.started_at = row.heartbeat_at = now
            row.current_job_id = None


def worker_heartbeat(name: str, url: str | None = None) -> None:
    with session_scope(url) as s:
        s.execute(update(Worker).where(Worker.name == name).values(heartbeat_at=utcnow()))


def unregister_worker(name: str, url: str | None = None) -> None:
    with session_scope(url) as s:
        s.execute(delete(Worker).where(Worker.name == name))


def list_workers(url: str | None = None) -> list[dict[str, Any]]:
    with session_scope(url, readonly=True) as s:
        rows = s.scalars(select(Worker).order_by(Worker.name)).all()
        now = utcnow()
        return [
            {
                "name": w.name,
                "host": w.host,
                "gpu_model": w.gpu_model,
                "queues": w.queues,
                "started_at": w.started_at,
                "heartbeat_at": w.heartbeat_at,
                "heartbeat_age_s": (now - _aware(w.heartbeat_at)).total_seconds(),
                "current_job_id": w.current_job_id,
            }
            for w in rows
        ]


def queue_counts(url: str | None = None) -> dict[str, int]:
    with session_scope(url, readonly=True) as s:
        return dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all())


def _aware(ts: datetime) -> datetime:
    from datetime import UTC

    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
