"""Writing results. Every write is one transaction, and writing a result is idempotent.

A job's result rows and its move to succeeded (core.store.jobs.mark_succeeded) are written
together, so a reader never sees a succeeded job without its figures. A redelivered task that
writes the same result again finds the unique constraint on results.job_id and leaves the
first copy in place.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.engine.result import BenchResult, Provenance
from core.store.db import session_scope
from core.store.jobs import mark_succeeded
from core.store.result_rows import detail_rows, result_row
from core.store.tables import Environment, EpochMetric, Job, Result, utcnow


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
    ids = [j for j, _, _ in items]
    # the live curve's rows, written while the job ran, give way to the result's
    s.execute(delete(EpochMetric).where(EpochMetric.job_id.in_(ids)))
    keys = {j: k for j, k in s.execute(select(Job.id, Job.repeat_key).where(Job.id.in_(ids)))}
    for job_id, env_id, r in items:
        values = result_row(job_id, env_id, r)
        values["created_at"] = now
        values["repeat_key"] = keys.get(job_id)
        tables.setdefault(Result.__table__, []).append(values)
        for table, row in detail_rows(job_id, r):
            tables.setdefault(table, []).append(row)
    for table, rows in tables.items():  # results first: insertion order is dict order
        s.execute(insert(table), rows)
    mark_succeeded(s, [(job_id, _parse(r.finished_at)) for job_id, _, r in items])
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
