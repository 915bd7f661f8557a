"""Task messages refused without a job row of their own: recorded, never silently dropped.

A record is built where the message is refused (a worker's main process, or the task body)
and written here. Its id is fixed when it is built, so writing the same record twice, as a
retried flush does, stores it once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.storable import storable
from core.store.db import session_scope
from core.store.jobs import INVALID_KIND, create_rejected_job
from core.store.tables import Job, RejectedMessage, utcnow

KEPT_BYTES = 4096  # of the body, and of the headers


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value)[:KEPT_BYTES].decode("utf-8", "backslashreplace")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=repr)
        except (TypeError, ValueError):
            text = repr(value)
    return storable(text[:KEPT_BYTES])[:KEPT_BYTES]


@dataclass(frozen=True)
class Rejection:
    """One refused message: what it was, where it came in, and why it was refused."""

    reason: str
    headers: str
    body: str
    queue: str | None = None
    worker: str | None = None
    task_id: str | None = None
    job_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: str = field(default_factory=lambda: utcnow().isoformat())

    @classmethod
    def of(
        cls,
        reason: str,
        headers: Any,
        body: Any,
        *,
        queue: str | None = None,
        worker: str | None = None,
        job_id: str | None = None,
    ) -> Rejection:
        """A record of a message, its headers and body kept as escaped text, 4 KB each."""
        task_id = headers.get("id") if isinstance(headers, dict) else None
        return cls(
            reason=storable(reason)[:4000],
            headers=_text(headers),
            body=_text(body),
            task_id=_text(task_id)[:200] if isinstance(task_id, str) else None,
            queue=queue,
            worker=worker,
            job_id=job_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_rejection(r: Rejection, url: str | None = None) -> bool:
    """Store the record; False when it was already stored."""
    with session_scope(url) as s:
        if s.get(RejectedMessage, r.id) is not None:
            return False
        values = r.to_dict()
        values["received_at"] = datetime.fromisoformat(r.received_at)
        s.add(RejectedMessage(**values))
    return True


def file_refusal(r: Rejection, error_type: str = "InvalidMessage", url: str | None = None) -> str:
    """File a refused message where its sender will look: as a failed job under the job id
    it names, when no such job exists yet; otherwise as a rejected_messages record, leaving
    the job it named untouched. Returns "job", "record", or "duplicate" for a redelivery
    of a message already filed."""
    if r.job_id:
        if create_rejected_job(r.job_id, r.body, error_type, r.reason, r.queue or "unknown", url):
            return "job"
        with session_scope(url, readonly=True) as s:
            job = s.get(Job, r.job_id)
            if job is not None and job.kind == INVALID_KIND and job.error_message == r.reason:
                return "duplicate"
    return "record" if record_rejection(r, url) else "duplicate"


def recent_rejections(limit: int = 50, url: str | None = None) -> list[Rejection]:
    """The newest records first."""
    with session_scope(url, readonly=True) as s:
        rows = s.scalars(
            select(RejectedMessage).order_by(RejectedMessage.received_at.desc()).limit(limit)
        ).all()
        return [
            Rejection(
                reason=r.reason,
                headers=r.headers,
                body=r.body,
                queue=r.queue,
                worker=r.worker,
                task_id=r.task_id,
                job_id=r.job_id,
                id=r.id,
                received_at=r.received_at.isoformat(),
            )
            for r in rows
        ]


def rejection_count(within_s: float | None = None, url: str | None = None) -> int:
    """How many messages were refused, in all or in the last `within_s` seconds."""
    q = select(func.count()).select_from(RejectedMessage)
    if within_s is not None:
        q = q.where(RejectedMessage.received_at >= utcnow() - timedelta(seconds=within_s))
    with session_scope(url, readonly=True) as s:
        return s.scalar(q) or 0
