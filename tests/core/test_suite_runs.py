"""A suite run on record: rounds are decided once, by whoever sees a round end, and a run
whose round ended unnoticed is found by the reconciler's query."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.store.db import session_scope
from core.store.suite_runs import get_run, stalled_runs, suite_job_id
from core.store.tables import Job, utcnow
from core.suite_runs import advance, start, undecided
from core.suites import suites


@pytest.fixture
def rounds(monkeypatch):
    monkeypatch.setenv("BNBENCH_SUITES", "tests.rounds_suite:SUITE")
    return suites()["rounds"]


def cpu(spec, queue, gpu_model) -> str:
    return queue or "cpu"


def finish(url, run_id, status="failed", ago_s=0.0) -> None:
    """End every open job of the run (without results: each look then finds nothing to
    compare, so every experiment stays undecided)."""
    with session_scope(url) as s:
        s.execute(
            update(Job)
            .where(Job.group_id == run_id, Job.status.in_(("queued", "running")))
            .values(status=status, finished_at=utcnow() - timedelta(seconds=ago_s))
        )


def jobs_of(url, run_id) -> list[tuple[str, str, int]]:
    with session_scope(url, readonly=True) as s:
        rows = s.execute(select(Job.id, Job.label, Job.spec_json).where(Job.group_id == run_id))
        return [(i, label, spec["seed"]) for i, label, spec in rows]


def test_a_run_starts_with_its_first_round_and_ids_derived_from_run_label_and_seed(db_url, rounds):
    run_id, ids = start(rounds, "ci", [], cpu, url=db_url)
    jobs = jobs_of(db_url, run_id)
    assert len(ids) == len(jobs) == 8  # 2 experiments x 2 arms x 2 seeds
    assert all(i == suite_job_id(run_id, label, seed) for i, label, seed in jobs)
    run = get_run(run_id, db_url)
    assert (run.round, run.looks, run.state, undecided(run)) == (
        1,
        2,
        "running",
        ["decided", "undecided"],
    )
    assert advance(run_id, cpu, db_url) == []  # the round has not ended


def test_an_ended_round_gets_the_next_one_once_then_the_run_is_done(db_url, rounds):
    run_id, _ = start(rounds, "ci", [], cpu, url=db_url)
    finish(db_url, run_id)
    second = advance(run_id, cpu, db_url)
    assert len(second) == 8 and advance(run_id, cpu, db_url) == []  # not twice
    assert sorted({seed for _, _, seed in jobs_of(db_url, run_id)}) == [0, 1, 2, 3]
    assert get_run(run_id, db_url).round == 2
    finish(db_url, run_id)
    assert advance(run_id, cpu, db_url) == []  # the last look
    run = get_run(run_id, db_url)
    assert run.state == "done" and undecided(run) == []
    assert run.stops["undecided"].why.startswith("still inconclusive at the last look")


def test_two_workers_ending_the_round_at_once_submit_it_once(db_url, rounds):
    run_id, _ = start(rounds, "ci", [], cpu, url=db_url)
    finish(db_url, run_id)
    barrier, results = threading.Barrier(4), []

    def worker():
        barrier.wait()
        results.append(advance(run_id, cpu, db_url))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 8]
    assert len(jobs_of(db_url, run_id)) == 16


def test_a_cancelled_job_ends_the_run_without_another_round(db_url, rounds):
    run_id, _ = start(rounds, "ci", [], cpu, url=db_url)
    finish(db_url, run_id, status="cancelled")
    assert advance(run_id, cpu, db_url) == []
    run = get_run(run_id, db_url)
    assert run.state == "done" and run.stops["undecided"].why == "a job of the run was cancelled"


def test_the_reconciler_finds_a_round_that_ended_unnoticed(db_url, rounds):
    run_id, _ = start(rounds, "ci", [], cpu, url=db_url)
    assert stalled_runs(10, db_url) == []  # jobs still open
    finish(db_url, run_id, ago_s=1)
    assert stalled_runs(10, db_url) == []  # the worker that ended it may still be advancing
    finish(db_url, run_id, ago_s=30)
    with session_scope(db_url) as s:
        s.execute(update(Job).where(Job.group_id == run_id)
                  .values(finished_at=utcnow() - timedelta(seconds=30)))  # fmt: skip
    assert stalled_runs(10, db_url) == [run_id]
    advance(run_id, cpu, db_url)
    assert stalled_runs(10, db_url) == []  # its new round is open


def test_charts_get_the_runs_their_verdict_rests_on(db_url, rounds):
    import pandas as pd

    from core.store.tables import SuiteRun
    from core.suites.report import as_judged
    from core.suites.sequential import Stop

    run_id, _ = start(rounds, "ci", [], cpu, url=db_url)
    stop = Stop(1, 2, 2, "supported", "decided", "2026-01-01T00:00:00+00:00")
    with session_scope(db_url) as s:
        s.execute(update(SuiteRun).where(SuiteRun.id == run_id)
                  .values(stops={"decided": stop.as_json()}))  # fmt: skip
    df = pd.DataFrame({"spec.seed": [0, 1, 2, 3], "finished_at": "2025-12-31T00:00:00+00:00"})
    data = as_judged(rounds, run_id, {"decided": df, "undecided": df}, db_url)
    assert list(data["decided"]["spec.seed"]) == [0, 1]
    assert len(data["undecided"]) == 4  # not stopped yet: everything finished so far


def test_suite_runs_lists_a_run_in_every_format(rounds, db_url):
    import json

    from click.testing import CliRunner

    from cli import main

    run_id, _ = start(rounds, "ci", [], cpu, url=db_url)
    runner = CliRunner()
    [row] = json.loads(runner.invoke(main, ["suite", "runs", "--format", "json"]).stdout)
    assert (row["group"], row["state"], row["round"]) == (run_id, "running", "1 of at most 2")
    md = runner.invoke(main, ["suite", "runs", "--format", "markdown"]).stdout
    assert f"| {run_id} | running |" in md


@pytest.fixture
def timed(monkeypatch):
    monkeypatch.setenv("BNBENCH_SUITES", "tests.rounds_suite:TIMED_SUITE")
    return suites()["timed"]


def spread(url, job_ids, frac: float) -> None:
    """Set the jobs' stored layer timings' IQR to `frac` of their median: 0.4 as a busy host
    gives, 0.01 as a quiet one (a CPU timing of a few microseconds is noisy either way)."""
    from core.store.tables import LayerMetric

    with session_scope(url) as s:
        s.execute(update(LayerMetric).where(LayerMetric.job_id.in_(job_ids))
                  .values(iqr_ms=frac * LayerMetric.median_ms))  # fmt: skip


def test_a_timing_experiment_re_runs_a_noisy_run_once_before_judging(db_url, timed):
    from core.local_run import run_queued
    from core.store.suite_runs import rerun_job_id
    from core.suites.report import results_by_experiment

    run_id, ids = start(timed, "ci", [], cpu, url=db_url)
    for job_id in ids:
        run_queued(job_id, url=db_url)
    noisy, label, seed = next(j for j in jobs_of(db_url, run_id) if j[0] == ids[0])
    spread(db_url, ids, 0.01)
    spread(db_url, [noisy], 0.4)

    again = advance(run_id, cpu, db_url)
    assert again == [rerun_job_id(run_id, label, seed)]  # that run only, not a round
    assert get_run(run_id, db_url).round == 1 and advance(run_id, cpu, db_url) == []

    run_queued(again[0], url=db_url)
    spread(db_url, again, 0.4)  # noisy again: judged now all the same, not re-run twice
    rows = results_by_experiment(run_id, db_url)["timed"]
    assert noisy not in set(rows["job_id"]) and again[0] in set(rows["job_id"])
    assert len(rows) == len(ids) and rows["rerun"].sum() == 1 and rows["noisy"].sum() == 1
    nxt, run = advance(run_id, cpu, db_url), get_run(run_id, db_url)
    judged = "timed" in run.stops or run.round == 2  # decided at this look, or seeds added
    assert judged and len(nxt) in (0, len(ids)) and again[0] not in nxt
