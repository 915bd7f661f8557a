"""A suite run on record: its first round of jobs, and each next round, decided exactly once.

A suite run is a row of `suite_runs` whose id is its jobs' group id. When a round's last job
ends, whoever notices (the worker that finished it, the reconciler as a backstop, or the CLI
running it with --local) calls `advance`. That analyses the round and, in one transaction,
moves the run's round forward only if it is still the round it analysed, and inserts the
next round's job rows. Two workers finishing at the same moment both analyse; one update
wins, and the other inserts nothing. Job ids are derived from (run, label, seed), so even a
round written twice could not hold a job twice.

The caller sends the returned jobs to the broker; a send that never happens leaves queued
rows that the reconciler re-sends.

The suites and their statistics (pandas, scipy, statsmodels) are imported only where a round
is judged: a worker checks after every job whether it ended a round, and that check must
stay a single query.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.spec.schema import BenchSpec
from core.store.db import rows_changed, session_scope
from core.store.jobs import new_job
from core.store.tables import FINAL_STATUSES, Job, SuiteRun, utcnow

if TYPE_CHECKING:
    from core.suites import Suite

SUITE_JOB_NAMESPACE = uuid.UUID("0b7c4d1e-5a9f-4e59-9d43-6c1f1bde2a11")

# (spec, queue given at submission, gpu model given at submission) -> the queue to send to
Placement = Callable[[BenchSpec, str | None, str | None], str]


def run_id_for(suite: str, profile: str) -> str:
    from core.suites.report import group_prefix

    return f"{group_prefix(suite, profile)}{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


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

    def as_json(self) -> dict:
        return {"look": self.look, "looks": self.looks, "seeds": self.seeds,
                "verdict": self.verdict, "why": self.why, "at": self.at}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict) -> Stop:
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

    def undecided(self) -> list[str]:
        """Chosen experiments with no stop yet (the chosen keys alone if this process does
        not know the suite: BNBENCH_SUITES differs from the submitter's)."""
        from core.suites import suites

        try:
            keys = [e.key for e in suites()[self.suite].experiments]
        except Exception:
            keys = list(self.experiments)
        chosen = [k for k in keys if not self.experiments or k in self.experiments]
        return [k for k in chosen if k not in self.stops]


def _state(row: SuiteRun) -> RunState:
    stops = {k: Stop.from_json(v) for k, v in (row.stops or {}).items()}
    return RunState(row.id, row.suite, row.profile, list(row.experiments or []), row.round,
                    row.looks, row.state, row.mode, stops, row.created_at,
                    row.updated_at)  # fmt: skip


def get_run(run_id: str, url: str | None = None) -> RunState | None:
    with session_scope(url, readonly=True) as s:
        row = s.get(SuiteRun, run_id)
        return None if row is None else _state(row)


def recent_runs(limit: int = 50, url: str | None = None) -> list[RunState]:
    """Suite runs, newest first."""
    with session_scope(url, readonly=True) as s:
        rows = s.scalars(select(SuiteRun).order_by(SuiteRun.created_at.desc()).limit(limit))
        return [_state(r) for r in rows]


def _jobs(run_id: str, pairs: list[tuple[str, BenchSpec]], place, queue, gpu_model) -> list[Job]:
    return [
        new_job(spec, queue=place(spec, queue, gpu_model), group_id=run_id, label=label,
                job_id=suite_job_id(run_id, label, spec.seed))
        for label, spec in pairs
    ]  # fmt: skip


def start(
    suite: Suite,
    profile: str,
    keys: list[str],
    place: Placement,
    mode: str = "queue",
    queue: str | None = None,
    gpu_model: str | None = None,
    url: str | None = None,
) -> tuple[str, list[str]]:
    """Record a new run and its first round of jobs, all in one transaction; returns the run
    id and the job ids to send."""
    from core.suites import PROFILES

    run_id = run_id_for(suite.name, profile)
    pairs = suite.specs(keys, PROFILES[profile])
    with session_scope(url) as s:
        s.add(SuiteRun(id=run_id, suite=suite.name, profile=profile, experiments=list(keys),
                       round=1, looks=PROFILES[profile].looks, state="running", mode=mode,
                       queue=queue, gpu_model=gpu_model, stops={}))  # fmt: skip
        jobs = _jobs(run_id, pairs, place, queue, gpu_model)
        s.add_all(jobs)
    return run_id, [j.id for j in jobs]


def _open_jobs(s, run_id: str) -> tuple[int, bool]:
    """(jobs not final, whether any was cancelled)."""
    rows = dict(
        s.execute(
            select(Job.status, func.count()).where(Job.group_id == run_id).group_by(Job.status)
        ).all()
    )
    pending = sum(n for st, n in rows.items() if st not in FINAL_STATUSES)
    return pending, rows.get("cancelled", 0) > 0


def advance(run_id: str, place: Placement, url: str | None = None) -> list[str]:
    """If the run's current round has ended, judge it and submit the next round (or close the
    run). Returns the new jobs' ids to send; empty when there is nothing to do, when the
    round has not ended, or when another process advanced it first."""
    from core.suites import PROFILES, suites
    from core.suites.report import results_by_experiment
    from core.suites.sequential import close, look, next_round

    with session_scope(url, readonly=True) as s:
        row = s.get(SuiteRun, run_id)
        if row is None or row.state != "running":
            return []
        pending, cancelled = _open_jobs(s, run_id)
        run = _state(row)
    if pending:
        return []
    suite, profile = suites()[run.suite], PROFILES[run.profile]
    results = results_by_experiment(run_id, url)
    noisy = [] if cancelled else _noisy_timings(suite, run, results, url)
    if noisy:
        return _rerun(run_id, noisy, place, url)
    at = utcnow().isoformat()
    stops = look(suite, run.experiments, profile, results, run.round, run.stops, at)
    pairs = [] if cancelled else next_round(suite, run.experiments, profile, run.round, stops)
    if not pairs:
        why = "a job of the run was cancelled" if cancelled else "no more seeds to add"
        stops = close(suite, run.experiments, run.round, run.looks,
                      profile.seed_rounds[run.round - 1], stops, why, at)  # fmt: skip
    with session_scope(url) as s:
        won = rows_changed(
            s,
            update(SuiteRun)
            .where(SuiteRun.id == run_id, SuiteRun.round == run.round, SuiteRun.state == "running")
            .values(
                round=run.round + 1 if pairs else run.round,
                state="running" if pairs else "done",
                stops={k: v.as_json() for k, v in stops.items()},
                updated_at=utcnow(),
            ),
        )
        if won != 1:
            return []
        row = s.get(SuiteRun, run_id)
        jobs = _jobs(run_id, pairs, place, row.queue, row.gpu_model)
        s.add_all(jobs)
    return [j.id for j in jobs]


def _noisy_timings(suite: Suite, run: RunState, results: dict, url: str | None) -> list:
    """(job id, label, seed) of the runs of undecided timing experiments whose timings are
    noisy and that have no re-run yet, in any state: each is re-run once, never twice."""
    from core.suites.report import TIMING_EVIDENCE

    todo, undecided = [], run.undecided()
    for e in suite.experiments:
        df = results.get(e.key)
        if e.evidence not in TIMING_EVIDENCE or df is None or e.key not in undecided:
            continue
        for r in df[df["noisy"] & ~df["rerun"]].to_dict("records"):
            todo.append((r["job_id"], r["label"], int(r.get("spec.seed", 0))))
    if not todo:
        return []
    with session_scope(url, readonly=True) as s:
        have = set(s.scalars(select(Job.id).where(Job.group_id == run.id)))
    return [t for t in todo if rerun_job_id(run.id, t[1], t[2]) not in have]


def _rerun(run_id: str, noisy: list, place: Placement, url: str | None) -> list[str]:
    """Queue one re-run of each noisy run, same spec and label; the round is judged when
    they end. Two processes doing this at once collide on the derived ids: one inserts."""
    try:
        with session_scope(url) as s:
            row = s.get(SuiteRun, run_id)
            specs = dict(s.execute(select(Job.id, Job.spec_json)
                                   .where(Job.id.in_([j for j, _, _ in noisy]))).all())  # fmt: skip
            jobs = []
            for job_id, label, seed in noisy:
                spec = BenchSpec.model_validate(specs[job_id])
                jobs.append(new_job(spec, queue=place(spec, row.queue, row.gpu_model),
                                    group_id=run_id, label=label,
                                    job_id=rerun_job_id(run_id, label, seed)))  # fmt: skip
            s.add_all(jobs)
    except IntegrityError:
        return []
    return [j.id for j in jobs]


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
