"""Suite runs on record: the suite_runs rows, their jobs' derived ids, and the questions a
worker asks after every job, one query each. Judging a round is core.suite_runs'."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.store.db import session_scope
from core.store.tables import FINAL_STATUSES, Job, JobStatus, SuiteRun, utcnow

SUITE_JOB_NAMESPACE = uuid.UUID("0b7c4d1e-5a9f-4e59-9d43-6c1f1bde2a11")


def suite_job_id(run_id: str, label: str, seed: int) -> str:
    return str(uuid.uuid5(SUITE_JOB_NAMESPACE, f"{run_id}/{label}/{seed}"))


def rerun_job_id(run_id: str, label: str, seed: int) -> str:
    """The one re-run a noisy timing of (label, seed) may get."""
    return suite_job_id(run_id, f"{label}#rerun", seed)


@dataclass(frozen=True)
class Stop:
    """Where one experiment's seeds stopped, and why. `at` is when the look was taken: a
    report reads only the runs that had finished by then, so a job retried later cannot
    change a verdict that was already drawn."""

    look: int
    looks: int
    seeds: int  # planned seeds at that look
    verdict: str | None  # the verdict at that look; None for a fixed design
    why: str
    at: str | None = None  # ISO time of the look

    def as_json(self) -> dict[str, Any]:
        return {"look": self.look, "looks": self.looks, "seeds": self.seeds,
                "verdict": self.verdict, "why": self.why, "at": self.at}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Stop:
        return cls(d["look"], d["looks"], d["seeds"], d.get("verdict"), d["why"], d.get("at"))


@dataclass(frozen=True)
class RunState:
    """What a watcher needs: the run's round and state, and which experiments have stopped."""

    id: str
    suite: str
    profile: str
    experiments: list[str]
    round: int
    looks: int
    state: str
    mode: str
    stops: dict[str, Stop]
    created_at: datetime
    updated_at: datetime


def state_of(row: SuiteRun) -> RunState:
    stops = {k: Stop.from_json(v) for k, v in (row.stops or {}).items()}
    return RunState(row.id, row.suite, row.profile, list(row.experiments or []), row.round,
                    row.looks, row.state, row.mode, stops, row.created_at,
                    row.updated_at)  # fmt: skip


def get_run(run_id: str, url: str | None = None) -> RunState | None:
    with session_scope(url, readonly=True) as s:
        row = s.get(SuiteRun, run_id)
        return None if row is None else state_of(row)


def recent_runs(limit: int = 50, url: str | None = None) -> list[RunState]:
    """Suite runs, newest first."""
    with session_scope(url, readonly=True) as s:
        rows = s.scalars(select(SuiteRun).order_by(SuiteRun.created_at.desc()).limit(limit))
        return [state_of(r) for r in rows]


def open_jobs(s: Session, run_id: str) -> tuple[int, bool]:
    """(jobs not final, whether any was cancelled)."""
    rows = dict(
        s.execute(
            select(Job.status, func.count()).where(Job.group_id == run_id).group_by(Job.status)
        ).all()
    )
    pending = sum(n for st, n in rows.items() if st not in FINAL_STATUSES)
    return pending, rows.get(JobStatus.CANCELLED, 0) > 0


def run_of_job(job_id: str, url: str | None = None) -> str | None:
    """The running queue-mode suite run a job belongs to, if any."""
    with session_scope(url, readonly=True) as s:
        return s.scalar(
            select(SuiteRun.id)
            .join(Job, Job.group_id == SuiteRun.id)
            .where(Job.id == job_id, SuiteRun.state == "running", SuiteRun.mode == "queue")
        )


def stalled_runs(quiet_s: float, url: str | None = None) -> list[str]:
    """Running queue-mode runs with no open job, whose last job ended quiet_s ago or more:
    a worker that should have advanced them did not (it died, or the database was away)."""
    cutoff = utcnow() - timedelta(seconds=quiet_s)
    open_jobs = (
        select(Job.id)
        .where(Job.group_id == SuiteRun.id, Job.status.not_in(FINAL_STATUSES))
        .exists()
    )
    recent = select(Job.id).where(Job.group_id == SuiteRun.id, Job.finished_at >= cutoff).exists()
    with session_scope(url, readonly=True) as s:
        return list(
            s.scalars(
                select(SuiteRun.id).where(
                    SuiteRun.state == "running", SuiteRun.mode == "queue", ~open_jobs, ~recent
                )
            )
        )
