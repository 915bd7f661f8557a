"""Pinned baselines: per spec (repeat key), the result set newer results are compared with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from core.store.db import rows_changed, session_scope
from core.store.read import JobNotFound, resolve_job_id
from core.store.tables import Baseline, Job, JobStatus, utcnow


def pin(ref: str, url: str | None = None) -> list[tuple[str, str]]:
    """Pin a group (every spec in it), or the set of one job (its group, or the job alone when
    it ran in no group). Returns the (repeat key, set ref) pairs pinned; a pin replaces the
    spec's previous one. JobNotFound names what `ref` matched nothing of."""
    with session_scope(url, readonly=True) as s:
        keys = sorted(
            set(
                s.scalars(
                    select(Job.repeat_key).where(
                        Job.group_id == ref, Job.status == JobStatus.SUCCEEDED
                    )
                )
            )
        )
    pairs = [(k, ref) for k in keys]
    if not pairs:
        try:
            job_id = resolve_job_id(ref, url)
        except JobNotFound as e:
            raise JobNotFound(f"{ref!r} is no group with a succeeded job, and {e}") from None
        with session_scope(url, readonly=True) as s:
            repeat_key, group_id, status = s.execute(
                select(Job.repeat_key, Job.group_id, Job.status).where(Job.id == job_id)
            ).one()
        if status != JobStatus.SUCCEEDED:
            raise JobNotFound(f"job {job_id[:8]} is {status}; pin a succeeded job or a group")
        pairs = [(repeat_key, group_id or job_id)]
    with session_scope(url) as s:
        s.execute(delete(Baseline).where(Baseline.repeat_key.in_([k for k, _ in pairs])))
        s.add_all(Baseline(repeat_key=k, set_ref=r, pinned_at=utcnow()) for k, r in pairs)
    return pairs


def pins(url: str | None = None) -> list[tuple[str, str, datetime]]:
    """(repeat key, set ref, pinned at), newest first."""
    with session_scope(url, readonly=True) as s:
        rows = s.execute(
            select(Baseline.repeat_key, Baseline.set_ref, Baseline.pinned_at).order_by(
                Baseline.pinned_at.desc(), Baseline.repeat_key
            )
        ).all()
    return [(k, r, t) for k, r, t in rows]


def unpin(repeat_key: str | None = None, url: str | None = None) -> int:
    """Remove the pin of one spec (a repeat key or its prefix), or every pin; returns how many."""
    stmt = delete(Baseline)
    if repeat_key is not None:
        stmt = stmt.where(Baseline.repeat_key.startswith(repeat_key, autoescape=True))
    with session_scope(url) as s:
        return rows_changed(s, stmt)
