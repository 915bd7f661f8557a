"""Writing jobs and results. Every write is one transaction, and writing a result is idempotent.

A job's result rows and its final status are written together, so a reader never sees a
succeeded job without its figures. A redelivered task that writes the same result again
finds the unique constraint on results.job_id and leaves the first copy in place.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.engine.result import BenchResult, Provenance
from core.spec.schema import BenchSpec
from core.storable import storable
from core.store.db import rows_changed, session_scope
from core.store.result_rows import detail_rows, result_row
from core.store.tables import (
    INDEXED_SPEC_FIELDS,
    Environment,
    EpochMetric,
    Job,
    Result,
    utcnow,
)

ERROR_MESSAGE_MAX = 4000


def new_job(
    spec: BenchSpec,
    *,
    queue: str = "local",
    priority: int = 0,
    group_id: str | None = None,
    label: str | None = None,
    status: str = "queued",
    job_id: str | None = None,
    worker: str | None = None,
) -> Job:
    """An unsaved Job row for `spec`."""
    now = utcnow()
    running = status == "running"
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
            .where(Job.id == job_id, Job.status == "running")
            .values(progress=fraction, progress_epoch=epoch or None, heartbeat_at=utcnow())
        )


def mark_failed(
    job_id: str,
    error_type: str,
    message: str,
    url: str | None = None,
    status: str = "failed",
    unless_running: bool = False,
) -> bool:
    """Move an unfinished job to failed (or cancelled) with its error; False if already final.
    With unless_running, only a queued job: one refused before it ran."""
    moves_from = ("queued",) if unless_running else ("queued", "running")
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


def env_hash(p: Provenance) -> str:
    return hashlib.sha256(json.dumps(p.model_dump(), sort_keys=True).encode()).hexdigest()


def environment_id(s: Session, p: Provenance) -> int:
    """Get or create the environments row for this provenance."""
    h = env_hash(p)
    found = s.scalar(select(Environment.id).where(Environment.env_hash == h))
    if found is not None:
        return found
    try:
        with s.begin_nested():
            env = Environment(env_hash=h, **p.model_dump())
            s.add(env)
        return env.id
    except IntegrityError:  # another writer inserted it first
        return s.scalars(select(Environment.id).where(Environment.env_hash == h)).one()


def write_results(s: Session, items: list[tuple[str, int, BenchResult]]) -> None:
    """Insert the result and detail rows of (job id, environment id, result) items, and mark
    the jobs succeeded. Core executemany: no unit of work, no RETURNING per row."""
    now = utcnow()
    sqlite = s.get_bind().dialect.name == "sqlite"
    # new rowids follow the largest one
    before = (s.scalar(select(func.max(Result.id))) or 0) if sqlite else 0
    tables: dict[Any, list[dict[str, Any]]] = {}
    # the live curve's rows, written while the job ran, give way to the result's
    s.execute(delete(EpochMetric).where(EpochMetric.job_id.in_([j for j, _, _ in items])))
    for job_id, env_id, r in items:
        values = result_row(job_id, env_id, r)
        values["created_at"] = now
        tables.setdefault(Result.__table__, []).append(values)
        for table, row in detail_rows(job_id, r):
            tables.setdefault(table, []).append(row)
    for table, rows in tables.items():  # results first: insertion order is dict order
        s.execute(insert(table), rows)
    s.execute(
        update(Job),
        [
            {
                "id": job_id,
                "status": "succeeded",
                "finished_at": _parse(r.finished_at),
                "progress": 1.0,
                "error_type": None,
                "error_message": None,
            }
            for job_id, _, r in items
        ],
    )
    if sqlite:
        refresh_sqlite_statistics(s, before, before + len(items))


STATISTICS_FROM = 64  # results; below this any plan is fast


def refresh_sqlite_statistics(s: Session, before: int, after: int) -> None:
    """ANALYZE (bounded by analysis_limit) each time the results grow past a power of two.

    SQLite plans with statistics only where ANALYZE has run, and never runs it by itself;
    without them it reads each result's table row instead of ix_results_compare. PostgreSQL's
    autovacuum does the same job there."""
    if after >= STATISTICS_FROM and after.bit_length() > before.bit_length():
        s.execute(text("PRAGMA analysis_limit=400"))
        s.execute(text("ANALYZE"))


def save_results(items: list[tuple[str, BenchResult]], url: str | None = None) -> int:
    """Write many results in one transaction; jobs that already have one are skipped.
    Returns how many were written."""
    with session_scope(url) as s:
        ids = [job_id for job_id, _ in items]
        done = set(s.scalars(select(Result.job_id).where(Result.job_id.in_(ids))).all())
        todo = [(j, r) for j, r in items if j not in done]
        envs: dict[str, int] = {}
        for _, r in todo:
            h = env_hash(r.provenance)
            if h not in envs:
                envs[h] = environment_id(s, r.provenance)
        if todo:
            write_results(s, [(j, envs[env_hash(r.provenance)], r) for j, r in todo])
        return len(todo)


def save_result(job_id: str, result: BenchResult, url: str | None = None) -> bool:
    """Write the result rows and mark the job succeeded, in one transaction.

    Returns False, changing nothing, when the job already has a result.
    """
    try:
        return save_results([(job_id, result)], url) == 1
    except IntegrityError:  # a concurrent delivery wrote it between our check and insert
        with session_scope(url, readonly=True) as s:
            if s.scalar(select(Result.id).where(Result.job_id == job_id)) is not None:
                return False
        raise


def load_result(job_id: str, url: str | None = None) -> BenchResult | None:
    with session_scope(url, readonly=True) as s:
        data = s.scalar(select(Result.result_json).where(Result.job_id == job_id))
    return None if data is None else BenchResult.model_validate(data)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)
