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

The record itself (rows, ids, and the one-query checks a worker makes after every job) is
core.store.suite_runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.spec.schema import BenchSpec
from core.store.db import rows_changed, session_scope
from core.store.jobs import new_job
from core.store.suite_runs import (
    RunState,
    open_jobs,
    rerun_job_id,
    state_of,
    suite_job_id,
)
from core.store.tables import Job, SuiteRun, utcnow
from core.suites import PROFILES, suites
from core.suites.report import TIMING_EVIDENCE, group_prefix, results_by_experiment
from core.suites.sequential import close, look, next_round

if TYPE_CHECKING:
    from core.suites import Suite

# (spec, queue given at submission, gpu model given at submission) -> the queue to send to
Placement = Callable[[BenchSpec, str | None, str | None], str]


def run_id_for(suite: str, profile: str) -> str:
    return f"{group_prefix(suite, profile)}{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def undecided(run: RunState) -> list[str]:
    """Chosen experiments with no stop yet (the chosen keys alone if this process does
    not know the suite: BNBENCH_SUITES differs from the submitter's)."""
    try:
        keys = [e.key for e in suites()[run.suite].experiments]
    except Exception:
        keys = list(run.experiments)
    chosen = [k for k in keys if not run.experiments or k in run.experiments]
    return [k for k in chosen if k not in run.stops]


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
    run_id = run_id_for(suite.name, profile)
    pairs = suite.specs(keys, PROFILES[profile])
    with session_scope(url) as s:
        s.add(SuiteRun(id=run_id, suite=suite.name, profile=profile, experiments=list(keys),
                       round=1, looks=PROFILES[profile].looks, state="running", mode=mode,
                       queue=queue, gpu_model=gpu_model, stops={}))  # fmt: skip
        jobs = _jobs(run_id, pairs, place, queue, gpu_model)
        s.add_all(jobs)
    return run_id, [j.id for j in jobs]


def advance(run_id: str, place: Placement, url: str | None = None) -> list[str]:
    """If the run's current round has ended, judge it and submit the next round (or close the
    run). Returns the new jobs' ids to send; empty when there is nothing to do, when the
    round has not ended, or when another process advanced it first."""
    with session_scope(url, readonly=True) as s:
        row = s.get(SuiteRun, run_id)
        if row is None or row.state != "running":
            return []
        pending, cancelled = open_jobs(s, run_id)
        run = state_of(row)
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
    todo, undecided_ = [], undecided(run)
    for e in suite.experiments:
        df = results.get(e.key)
        if e.evidence not in TIMING_EVIDENCE or df is None or e.key not in undecided_:
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
